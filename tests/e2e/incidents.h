#pragma once
// Incidents staged on a test database, shared by the doctor's and the
// runbooks' end-to-end tests (each stages the same condition, then one
// diagnoses it and the other ends it).
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "db/pg_text.h"
#include "test_db.h"
#include "test_seed.h"

namespace resv::e2e {

// A reservation of `seat` held and paid through the SQL functions; its id.
inline int64_t pay_one(const test::TestDatabase& db, const test::Seeded& s, int64_t user, int64_t seat) {
  using test::str;
  const int64_t id = db.count("SELECT (resv_hold_seats_do(" + str(user) + ", " + str(s.schedule_id) + ", ARRAY[" +
                              str(seat) + "]::bigint[]) ->> 'reservationId')::bigint");
  EXPECT_EQ(db.scalar("SELECT resv_pay_do(" + str(id) + ", " + str(user) + ") ->> 'status'"), "CONFIRMED");
  return id;
}

// A second CONFIRMED reservation written straight into the tables, and the
// seat moved to it: the seat is sold twice. Returns its id.
inline int64_t sell_seat_again(const test::TestDatabase& db, const test::Seeded& s, int64_t seat) {
  using test::str;
  const int64_t other = db.count("INSERT INTO reservations (user_id, schedule_id, quantity, amount, status, expires_at)"
                                 " VALUES (" + str(s.first_user_id + 1) + ", " + str(s.schedule_id) +
                                 ", 1, 1000, 'CONFIRMED', now()) RETURNING id");
  db.exec("UPDATE seats SET reservation_id = " + str(other) + " WHERE id = " + str(seat));
  return other;
}

// A psql-like session idle in its transaction after locking `seat`, and a
// buyer's session waiting for that row. The buyer ends once the holder does
// (join() waits for it).
class IdleBlocker {
 public:
  IdleBlocker(const test::TestDatabase& db, int64_t seat)
      : holder_(with_application_name(db.url(), "psql")),
        pid_(pqxx::nontransaction(holder_).exec1("SELECT pg_backend_pid()")[0].as<int>()),
        held_(holder_),
        buyer_(db.url()) {
    held_.exec("SELECT id FROM seats WHERE id = " + test::str(seat) + " FOR UPDATE");
    wait_ = std::thread([this, seat] {
      try {
        pqxx::nontransaction(buyer_).exec("UPDATE seats SET label = label WHERE id = " + test::str(seat));
      } catch (const std::exception&) {
        // The test's assertions say what went wrong; the thread must only end.
      }
    });
  }
  // Ends the holder's transaction if the test did not, so the buyer ends.
  ~IdleBlocker() {
    try {
      held_.abort();
    } catch (const std::exception&) {
      // Terminated by the test: nothing left to end.
    }
    join();
  }
  IdleBlocker(const IdleBlocker&) = delete;
  IdleBlocker& operator=(const IdleBlocker&) = delete;

  int pid() const { return pid_; }
  void join() {
    if (wait_.joinable()) wait_.join();
  }

 private:
  pqxx::connection holder_;
  int pid_;
  pqxx::work held_;
  pqxx::connection buyer_;
  std::thread wait_;
};

}  // namespace resv::e2e
