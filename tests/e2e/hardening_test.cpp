// What an outside probe found held well, kept so: request smuggling shapes
// refused, many idle connections not costing service, a client trickling
// its request closed at the idle timeout, and SQL-looking input taken as
// data.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "e2e_util.h"
#include "test_seed.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;
using nlohmann::json;
using namespace std::chrono_literals;

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct Hardening : ::testing::Test {
  TestDatabase db;
  Seeded s = seed(db, {.seats = 4, .users = 2});
};

TEST_F(Hardening, RequestSmugglingShapesAreRefusedWith400AndTheConnectionClosed) {
  ServerProcess server{db.url()};
  for (const std::string& bytes : {
           // Both framings: which one a proxy in front used is unknowable.
           std::string("POST /api/users/1/balance HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/concerts HTTP/1.1\r\nHost: x\r\n\r\n"),
           // A transfer coding other than chunked last.
           std::string("POST /api/users/1/balance HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n"
                       "\r\n0\r\n\r\n"),
           // A space before the colon.
           std::string("GET /api/concerts HTTP/1.1\r\nHost : x\r\n\r\n"),
       }) {
    SCOPED_TRACE(bytes);
    HttpClient raw("127.0.0.1", server.port());
    std::string answer = raw.raw(bytes);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
    EXPECT_EQ(answer.find("HTTP/1.1 200"), std::string::npos) << "a second request was read: " << answer;
  }
  EXPECT_EQ(db.count("SELECT count(*) FROM balance_ledger"), 0) << "no smuggled top-up ran";
}

TEST_F(Hardening, FifteenHundredIdleConnectionsDoNotStopTheServerFromAnswering) {
  rlimit fds{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &fds), 0);
  if (fds.rlim_max < 4000) GTEST_SKIP() << "the hard limit of open files (" << fds.rlim_max << ") is below 4,000";
  rlimit raised{fds.rlim_max, fds.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &raised), 0);
  ServerProcess server{db.url()};
  std::vector<int> idle;
  for (int i = 0; i < 1500; ++i) {
    int fd = connect_to(server.port());
    ASSERT_GE(fd, 0) << "connection " << i << " refused";
    idle.push_back(fd);
  }
  HttpClient http("127.0.0.1", server.port(), 10s);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(http.get("/api/concerts").status, 200);
  EXPECT_EQ(http.post("/api/users/" + std::to_string(s.first_user_id) + "/balance", R"({"amount":5})").status, 200);
  for (int fd : idle) ::close(fd);
  EXPECT_EQ(server.log().find("accept failed"), std::string::npos) << server.log();
}

TEST_F(Hardening, AClientTricklingItsRequestIsClosedAtTheIdleTimeout) {
  ServerProcess server{db.url(), {"--idle-timeout-s", "1"}};
  int fd = connect_to(server.port());
  ASSERT_GE(fd, 0);
  // One byte every 200 ms: activity that must not keep the request open.
  const std::string head = "GET /api/concerts HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {  // up to 20 s
    std::this_thread::sleep_for(200ms);
    closed = ::send(fd, "a", 1, MSG_NOSIGNAL) < 0;
    char c;
    if (!closed) closed = ::recv(fd, &c, 1, MSG_DONTWAIT) == 0;
  }
  ::close(fd);
  EXPECT_TRUE(closed) << "the server kept a trickling request open for 20 s (idle timeout 1 s)";
}

TEST_F(Hardening, SqlLookingInputIsTakenAsDataAndChangesNothing) {
  ServerProcess server{db.url()};
  HttpClient http("127.0.0.1", server.port());
  const std::string evil = "1; DROP TABLE users; --";
  const std::string quoted = "x' OR '1'='1";
  EXPECT_EQ(http.get("/api/concerts/1%3B%20DROP%20TABLE%20users").status, 400);
  EXPECT_EQ(http.get("/api/schedules/" + std::to_string(s.schedule_id) + "/seats?status=" + "x%27%20OR%20%271%27%3D%271")
                .status,
            400);
  json body{{"userId", s.first_user_id}, {"scheduleId", s.schedule_id}, {"seatIds", {s.seat_ids[0]}}};
  auto held = http.post("/api/reservations", body.dump(), {{"Idempotency-Key", quoted}});
  EXPECT_TRUE(held.status == 201 || held.status == 400) << held.status << " " << held.body;
  EXPECT_EQ(http.post("/api/reservations", json{{"userId", evil}, {"scheduleId", s.schedule_id}}.dump()).status, 400);
  EXPECT_EQ(http.post("/api/queue/tokens", json{{"userId", s.first_user_id}, {"concertId", quoted}}.dump()).status,
            400);
  EXPECT_EQ(http.post("/api/reservations", body.dump(), {{"Queue-Token", quoted}}).status / 100, 4);
  EXPECT_EQ(db.count("SELECT count(*) FROM users"), 2) << "the users table is intact";
  EXPECT_EQ(db.count("SELECT count(*) FROM seats"), 4);
}

}  // namespace
