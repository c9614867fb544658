// Graceful shutdown: SIGTERM stops accepting, lets the request in flight
// finish with a complete answer, then exits 0.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "e2e_util.h"
#include "test_seed.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;

bool refuses_connections(uint16_t port) {
  HttpClient probe("127.0.0.1", port);
  return probe.get("/api/concerts").status == 0;
}

TEST(Shutdown, SigtermLetsTheRequestInFlightFinishThenExitsZeroAndRefusesConnections) {
  TestDatabase db;
  auto s = seed(db, {.seats = 2, .users = 2});
  ServerProcess server(db.url(), {"--shutdown-timeout-s", "120"});
  const int64_t seat = s.seat_ids[0];

  // Hold the seat's row lock from outside, so the reservation blocks in the
  // database. The server gives up on a row lock after 2 s (its lock_timeout),
  // so the steps below only wait for events, never for time.
  pqxx::connection locker(db.url());
  pqxx::work lock_tx(locker);
  lock_tx.exec("SELECT id FROM seats WHERE id = " + str(seat) + " FOR UPDATE");

  HttpResult answer;
  std::atomic<bool> answered{false};
  std::thread client([&] {
    HttpClient http("127.0.0.1", server.port());
    answer = http.post("/api/reservations", seat_body(s.first_user_id, s.schedule_id, {seat}));
    answered = true;
  });
  struct Joiner {
    std::thread& t;
    ~Joiner() {
      if (t.joinable()) t.join();
    }
  } joiner{client};

  pqxx::connection watcher(db.url());
  bool blocked = eventually([&] { return answered || backends_waiting_for_lock(watcher, db.name()) >= 1; }, 30, 5);
  ASSERT_TRUE(blocked && !answered) << "the reservation should be waiting for the row lock; "
                                    << (answered ? "answered " + std::to_string(answer.status) + " " + answer.body
                                                 : std::string("it never arrived"));

  // The server reports the request as in flight.
  HttpClient admin("127.0.0.1", server.admin_port());
  auto status = admin.get("/admin/status", admin_auth());
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_GE(json::parse(status.body)["inFlight"].get<int64_t>(), 1) << status.body;
  EXPECT_GE(metric_sum(metrics_text(server), "resv_http_in_flight"), 1);

  server.signal(SIGTERM);
  ASSERT_TRUE(eventually([&] { return server.log().find("shutting down") != std::string::npos; }, 30, 5))
      << server.log();
  // Draining: no new connections, while the request in flight is still waiting.
  EXPECT_TRUE(eventually([&] { return refuses_connections(server.port()); }, 30, 5))
      << "the API listener still accepts connections while draining";
  EXPECT_FALSE(answered) << "answered before the lock was released: " << answer.status << " " << answer.body;

  lock_tx.commit();
  client.join();
  EXPECT_EQ(answer.status, 201) << answer.body << answer.error;
  EXPECT_EQ(header(answer, "connection"), "close") << "a draining server closes the connection after the answer";
  auto held = parse_or_null(answer.body);
  ASSERT_TRUE(held.is_object() && held.contains("reservationId")) << answer.body;
  EXPECT_EQ(held["status"], "HELD");

  EXPECT_EQ(server.wait(), 0) << server.log();
  EXPECT_EQ(server.log().find("abandoning in-flight"), std::string::npos) << server.log();
  EXPECT_TRUE(refuses_connections(server.port()));
  EXPECT_TRUE(refuses_connections(server.admin_port()));
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE id = " + str(seat) + " AND reservation_id = " +
                     str(held["reservationId"].get<int64_t>())),
            1)
      << "the answered reservation is committed";
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 1);
}

TEST(Shutdown, IdleKeepAliveConnectionsDoNotHoldUpShutdown) {
  TestDatabase db;
  auto s = seed(db, {.seats = 2, .users = 2});
  ServerProcess server(db.url());
  std::vector<std::unique_ptr<HttpClient>> idle;
  for (int i = 0; i < 5; ++i) {
    idle.push_back(std::make_unique<HttpClient>("127.0.0.1", server.port()));
    auto r = idle.back()->get("/api/concerts");
    ASSERT_EQ(r.status, 200);
    ASSERT_NE(header(r, "connection"), "close") << "the connection stays open";
  }
  HttpClient admin("127.0.0.1", server.admin_port());
  ASSERT_EQ(admin.get("/healthz").status, 200);

  EXPECT_EQ(server.terminate(), 0) << server.log();
  EXPECT_EQ(server.log().find("shutdown timeout"), std::string::npos)
      << "idle connections are not requests in flight: " << server.log();
  EXPECT_TRUE(refuses_connections(server.port()));
  EXPECT_EQ(idle.front()->get("/api/concerts").status, 0) << "kept-alive connections are closed too";
}

}  // namespace
