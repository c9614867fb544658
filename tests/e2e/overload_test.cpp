// Load shedding: when every database connection is busy and the wait queue
// is full, a database-bound request is refused at once with 503 OVERLOADED
// and Retry-After instead of waiting; the busy work still completes.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "e2e_util.h"
#include "test_seed.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;

// One server connection kept busy: a reservation for a seat whose row lock
// is held by the test. The server gives up on a row lock after 2 s (its
// lock_timeout), so tests release it as soon as they have looked.
struct BlockedReservation {
  const TestDatabase& db;
  pqxx::connection locker;
  pqxx::work lock_tx;
  HttpResult answer;
  std::atomic<bool> answered{false};
  std::thread client;

  BlockedReservation(const TestDatabase& database, const ServerProcess& server, const Seeded& s, int64_t seat)
      : db(database), locker(database.url()), lock_tx(locker) {
    lock_tx.exec("SELECT id FROM seats WHERE id = " + str(seat) + " FOR UPDATE");
    client = std::thread([this, port = server.port(), body = seat_body(s.first_user_id, s.schedule_id, {seat})] {
      HttpClient http("127.0.0.1", port);
      answer = http.post("/api/reservations", body);
      answered = true;
    });
  }
  ~BlockedReservation() {
    if (client.joinable()) client.join();
  }

  // True once the reservation waits for the lock in the database; false if
  // it was answered instead (then `answer` says how).
  std::string what_happened() const {
    return answered ? "it was answered " + std::to_string(answer.status) + " " + answer.body
                    : std::string("it never reached the database");
  }
  bool wait_until_blocked() {
    pqxx::connection watcher(db.url());
    eventually([&] { return answered || backends_waiting_for_lock(watcher, db.name()) >= 1; }, 30, 5);
    return !answered && backends_waiting_for_lock(watcher, db.name()) >= 1;
  }
  HttpResult release() {
    lock_tx.commit();
    client.join();
    return answer;
  }
};

void expect_overloaded(const HttpResult& r) {
  EXPECT_EQ(r.status, 503) << r.body << r.error;
  EXPECT_EQ(error_code(r), "OVERLOADED") << r.body;
  EXPECT_FALSE(header(r, "retry-after").empty()) << "503 carries Retry-After";
}

TEST(Overload, WithOneConnectionAndNoQueueAnotherRequestIsRefusedWithOverloaded) {
  TestDatabase db;
  auto s = seed(db, {.seats = 4, .users = 3});
  ServerProcess server(db.url(), {"--db-pool-size", "1", "--db-queue-limit", "0"});
  HttpClient http("127.0.0.1", server.port());
  const std::string balance = "/api/users/" + str(s.first_user_id + 1) + "/balance";

  BlockedReservation blocked(db, server, s, s.seat_ids[0]);
  ASSERT_TRUE(blocked.wait_until_blocked())
      << "the reservation should hold the only connection, waiting for the row lock; " << blocked.what_happened();

  expect_overloaded(http.get(balance));
  expect_overloaded(http.post("/api/reservations", seat_body(s.first_user_id + 2, s.schedule_id, {s.seat_ids[1]})));
  EXPECT_GE(metric_sum(metrics_text(server), "resv_db_pool_rejected_total"), 2);

  auto first = blocked.release();
  EXPECT_EQ(first.status, 201) << "the blocked request completes: " << first.body << first.error;
  // The refused requests changed nothing and succeed when retried.
  EXPECT_EQ(http.get(balance).status, 200);
  auto retried = http.post("/api/reservations", seat_body(s.first_user_id + 2, s.schedule_id, {s.seat_ids[1]}));
  EXPECT_EQ(retried.status, 201) << retried.body;
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 2);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 2);
}

TEST(Overload, WithOneConnectionAndAQueueOfOneTheNextRequestWaitsAndTheOneAfterIsRefused) {
  TestDatabase db;
  auto s = seed(db, {.seats = 4, .users = 3});
  ServerProcess server(db.url(), {"--db-pool-size", "1", "--db-queue-limit", "1", "--db-max-wait-ms", "60000"});
  HttpClient http("127.0.0.1", server.port());
  HttpClient admin("127.0.0.1", server.admin_port());
  const std::string balance = "/api/users/" + str(s.first_user_id + 1) + "/balance";

  BlockedReservation blocked(db, server, s, s.seat_ids[0]);
  ASSERT_TRUE(blocked.wait_until_blocked())
      << "the reservation should hold the only connection; " << blocked.what_happened();

  // The next request waits in the queue...
  HttpResult queued;
  std::thread waiter([&] {
    HttpClient c("127.0.0.1", server.port());
    queued = c.get(balance);
  });
  struct Joiner {
    std::thread& t;
    ~Joiner() {
      if (t.joinable()) t.join();
    }
  } joiner{waiter};
  EXPECT_TRUE(eventually([&] {
    auto st = admin.get("/admin/status", admin_auth());
    return st.status == 200 && parse_or_null(st.body)["dbPool"]["waiting"] == 1;
  }, 30, 5))
      << "the second request should be waiting for the connection";

  // ...and the one after that is refused at once.
  expect_overloaded(http.get(balance));

  auto first = blocked.release();
  waiter.join();
  EXPECT_EQ(first.status, 201) << first.body << first.error;
  EXPECT_EQ(queued.status, 200) << "the queued request completes: " << queued.body << queued.error;
  EXPECT_EQ(http.get(balance).status, 200);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 1);
}

}  // namespace
