// The HTTP/1.1 connection itself, through the real server with raw bytes:
// pipelined requests, HTTP/1.0 keep-alive, and the idle timeout.
#include <gtest/gtest.h>

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

}  // namespace
