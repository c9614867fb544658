// The HTTP/1.1 connection itself, through the real server with raw bytes:
// pipelined requests, HTTP/1.0 keep-alive, the idle timeout, and what
// RFC 9110/9112 ask of a server (Host, Allow, WWW-Authenticate, HEAD,
// Expect: 100-continue).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "e2e_util.h"
#include "test_seed.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;

size_t count_of(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

struct HttpConnection : ::testing::Test {
  TestDatabase db;
  Seeded s = seed(db, {.seats = 2, .users = 2});
};

TEST_F(HttpConnection, PipelinedRequestsAreAnsweredInOrderOnOneConnection) {
  ServerProcess server{db.url()};
  HttpClient raw("127.0.0.1", server.port());
  // Three requests in one write: the second and third are already buffered
  // when the first is answered.
  std::string answer = raw.raw(
      "GET /api/concerts HTTP/1.1\r\nHost: x\r\nX-Request-Id: first\r\n\r\n"
      "GET /api/nowhere HTTP/1.1\r\nHost: x\r\nX-Request-Id: second\r\n\r\n"
      "GET /api/concerts HTTP/1.1\r\nHost: x\r\nX-Request-Id: third\r\nConnection: close\r\n\r\n");
  auto first = answer.find("X-Request-Id: first"), second = answer.find("X-Request-Id: second"),
       third = answer.find("X-Request-Id: third");
  ASSERT_NE(first, std::string::npos) << answer;
  ASSERT_NE(second, std::string::npos) << answer;
  ASSERT_NE(third, std::string::npos) << answer;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_EQ(count_of(answer, "HTTP/1.1 200 OK\r\n"), 2u) << answer;
  EXPECT_EQ(count_of(answer, "HTTP/1.1 404 Not Found\r\n"), 1u) << answer;
  EXPECT_EQ(count_of(answer, "Connection: close\r\n"), 1u) << "only the last answer closes: " << answer;
}

// The server keeps a request's header fields in a small per-connection
// buffer and takes the heap beyond it: a large header block between small
// ones must be read whole, and the next request must not see its fields.
TEST_F(HttpConnection, AHeaderBlockLargerThanTheConnectionsBufferIsReadWholeAndForgottenAfter) {
  ServerProcess server{db.url()};
  HttpClient raw("127.0.0.1", server.port());
  std::string big;
  for (int i = 0; i < 40; ++i) big += "X-Filler-" + std::to_string(i) + ": " + std::string(100, 'a' + i % 26) + "\r\n";
  std::string answer = raw.raw(
      "GET /api/concerts HTTP/1.1\r\nHost: x\r\nX-Request-Id: small-1\r\n\r\n"
      "GET /api/concerts HTTP/1.1\r\nHost: x\r\n" + big + "X-Request-Id: big\r\n\r\n"
      "GET /api/concerts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(count_of(answer, "HTTP/1.1 200 OK\r\n"), 3u) << answer;
  auto small = answer.find("X-Request-Id: small-1"), large = answer.find("X-Request-Id: big");
  ASSERT_NE(small, std::string::npos) << answer;
  ASSERT_NE(large, std::string::npos) << "the id after 4 KB of headers was read: " << answer;
  EXPECT_LT(small, large);
  EXPECT_EQ(count_of(answer, "X-Request-Id: big"), 1u) << "the third request got its own id: " << answer;
}

TEST_F(HttpConnection, Http10KeepsTheConnectionOnlyWhenAsked) {
  ServerProcess server{db.url()};
  HttpClient raw("127.0.0.1", server.port());
  // Keep-alive asked for the first request, not for the second: two answers,
  // then the server closes (raw() returns at the close).
  std::string answer = raw.raw(
      "GET /api/concerts HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
      "GET /api/concerts HTTP/1.0\r\n\r\n");
  EXPECT_EQ(count_of(answer, "HTTP/1.0 200 OK\r\n"), 2u) << answer;
  EXPECT_EQ(count_of(answer, "Connection: keep-alive\r\n"), 1u) << answer;
  EXPECT_EQ(count_of(answer, "Connection: close\r\n"), 1u) << answer;
}

TEST_F(HttpConnection, AnIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  ServerProcess server{db.url(), {"--idle-timeout-s", "1"}};
  HttpClient raw("127.0.0.1", server.port());
  // A keep-alive request and then silence: raw() reads until the server
  // closes, which only the idle timeout does (its own read timeout is 30 s).
  std::string answer = raw.raw("GET /api/concerts HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_EQ(answer.find("Connection: close"), std::string::npos) << "closed by the timeout, not the answer";
  EXPECT_EQ(answer.find("error:"), std::string::npos) << answer;
}

TEST_F(HttpConnection, AnHttp11RequestWithoutExactlyOneHostIsRefusedWith400) {
  ServerProcess server{db.url()};
  for (const std::string& bytes : {std::string("GET /api/concerts HTTP/1.1\r\n\r\n"),
                                   std::string("GET /api/concerts HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")}) {
    SCOPED_TRACE(bytes);
    HttpClient raw("127.0.0.1", server.port());
    std::string answer = raw.raw(bytes);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
    EXPECT_NE(answer.find("Host header"), std::string::npos) << "the message says what is missing: " << answer;
    EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  }
}

TEST_F(HttpConnection, AWrongMethodIsAnsweredWithTheMethodsThePathAllows) {
  ServerProcess server{db.url()};
  HttpClient http("127.0.0.1", server.port());
  auto r = http.request("PUT", "/api/concerts", "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET, HEAD");
  r = http.request("GET", "/api/reservations");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "POST");
}

TEST_F(HttpConnection, Unauthorized401sNameTheSchemeAndTheBearerSchemeIsCaseInsensitive) {
  ServerProcess server{db.url()};
  HttpClient admin("127.0.0.1", server.admin_port());
  auto r = admin.get("/admin/status");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers["www-authenticate"], "Bearer realm=\"resv-admin\"");
  for (const char* scheme : {"bearer ", "BEARER ", "Bearer  "}) {
    SCOPED_TRACE(scheme);
    EXPECT_EQ(admin.get("/admin/status", {{"Authorization", scheme + std::string(ServerProcess::kAdminToken)}}).status,
              200);
  }
  EXPECT_EQ(admin.get("/admin/status", {{"Authorization", std::string("Basic ") + ServerProcess::kAdminToken}}).status,
            401);
}

TEST_F(HttpConnection, HeadOnAGetRouteAnswersItsHeadWithoutTheBody) {
  ServerProcess server{db.url()};
  HttpClient http("127.0.0.1", server.port());
  auto get = http.get("/api/concerts");
  ASSERT_EQ(get.status, 200);
  HttpClient raw("127.0.0.1", server.port());
  std::string answer = raw.raw("HEAD /api/concerts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Content-Length: " + std::to_string(get.body.size()) + "\r\n"), std::string::npos)
      << "the GET answer's length: " << answer;
  EXPECT_EQ(answer.size(), answer.find("\r\n\r\n") + 4) << "nothing after the head: " << answer;
}

TEST_F(HttpConnection, ExpectContinueIsAnsweredBeforeTheBodyIsSent) {
  ServerProcess server{db.url()};
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval patience{10, 0};  // a server that never answers fails the test instead of hanging it
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  const std::string body = R"({"amount":5})";
  const std::string head = "POST /api/users/1/balance HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           "Expect: 100-continue\r\nConnection: close\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  char buf[4096];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0) << "no interim answer to Expect: 100-continue";
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_EQ(::send(fd, body.data(), body.size(), 0), static_cast<ssize_t>(body.size()));
  std::string answer;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) answer.append(buf, static_cast<size_t>(n));
  ::close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << "the body was read and the top-up made: " << answer;
}

}  // namespace
