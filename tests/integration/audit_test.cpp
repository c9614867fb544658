// resv audit's invariants on a real PostgreSQL: a history made by resv's own
// functions passes all of them; each condition staged by direct SQL is
// found with the exact rows, and undoing it passes again.
#include "ops/audit.h"

#include <gtest/gtest.h>

#include "test_db.h"
#include "test_seed.h"

namespace {

using namespace resv;
using namespace resv::test;
using nlohmann::json;

AuditOptions of_concert(int64_t id) {
  AuditOptions o;
  o.concert = id;
  return o;
}
AuditOptions since(const std::string& t) {
  AuditOptions o;
  o.since = t;
  return o;
}
AuditOptions only(std::vector<std::string> names) {
  AuditOptions o;
  o.only = std::move(names);
  return o;
}

class AuditTest : public ::testing::Test {
 protected:
  TestDatabase db;
  Seeded s = seed(db, {.seats = 10, .users = 10});
  int64_t pool = add_pool(db, s.schedule_id, 4, 2, 2);

  int64_t user(int i) const { return s.first_user_id + i; }
  int64_t hold_seats(int u, std::vector<int64_t> seats) {
    std::string list;
    for (auto id : seats) list += (list.empty() ? "" : ",") + str(id);
    return db.count("SELECT (resv_hold_seats_do(" + str(user(u)) + ", " + str(s.schedule_id) + ", ARRAY[" + list +
                    "]::bigint[]) ->> 'reservationId')::bigint");
  }
  int64_t hold_pool(int u, int qty) {
    return db.count("SELECT (resv_hold_pool(" + str(user(u)) + ", " + str(s.schedule_id) + ", " + str(pool) + ", " +
                    std::to_string(qty) + ") ->> 'reservationId')::bigint");
  }
  void pay(int64_t res, int u) {
    ASSERT_EQ(db.scalar("SELECT resv_pay_do(" + str(res) + ", " + str(user(u)) + ") ->> 'status'"), "CONFIRMED");
  }

  AuditReport audit(AuditOptions o = {}) {
    auto r = run_audit(db.url(), o);
    if (!r.ok()) throw std::runtime_error(r.status().message());
    return r.value();
  }
  static const InvariantResult& find(const AuditReport& r, const std::string& name) {
    for (const auto& i : r.results)
      if (i.name == name) return i;
    throw std::runtime_error("no invariant " + name);
  }
  // The names of the invariants with violations.
  static std::vector<std::string> broken(const AuditReport& r) {
    std::vector<std::string> names;
    for (const auto& i : r.results)
      if (i.violations > 0) names.push_back(i.name);
    return names;
  }

  // A history of every kind: seats held and paid, a pool hold paid, a
  // paid reservation cancelled (refunded), a hold still running, an expired
  // one swept, a top-up.
  int64_t paid_seats = 0, paid_pool = 0, refunded = 0, running = 0, swept = 0;
  void SetUp() override {
    paid_seats = hold_seats(0, {s.seat_ids[0], s.seat_ids[1]});
    pay(paid_seats, 0);
    paid_pool = hold_pool(1, 2);
    pay(paid_pool, 1);
    refunded = hold_seats(2, {s.seat_ids[2]});
    pay(refunded, 2);
    db.exec("SELECT resv_cancel(" + str(refunded) + ", " + str(user(2)) + ")");
    running = hold_seats(3, {s.seat_ids[3]});
    swept = hold_seats(4, {s.seat_ids[4]});
    db.exec("UPDATE reservations SET expires_at = now() - interval '1 minute' WHERE id = " + str(swept));
    db.exec("SELECT resv_expire_holds(10)");
    db.exec("SELECT resv_top_up_do(" + str(user(5)) + ", 700)");
  }
};

TEST_F(AuditTest, AHistoryMadeByResvsOwnFunctionsBreaksNoInvariant) {
  auto r = audit();
  EXPECT_EQ(r.results.size(), audit_invariants().size());
  EXPECT_TRUE(broken(r).empty()) << testing::PrintToString(broken(r));
  EXPECT_EQ(find(r, "seat_sold_twice").checked, 2) << "the paid seat hold and the running one";
  EXPECT_EQ(find(r, "pool_units_match").checked, 1);
  EXPECT_EQ(find(r, "confirmed_paid").checked, 2);
  EXPECT_EQ(find(r, "payment_has_reservation").checked, 3);
  EXPECT_EQ(find(r, "charged_once").checked, 3);
  EXPECT_EQ(find(r, "balance_matches_ledger").checked, 4) << "users 0, 1, 2 paid; user 5 topped up";
  EXPECT_EQ(find(r, "outbox_complete").checked, 5);
  EXPECT_FALSE(r.snapshot_at.empty());
}

TEST_F(AuditTest, ASeatOfAPaidReservationSoldAgainNamesBothReservations) {
  const int64_t seat = s.seat_ids[0];
  const int64_t other = db.count("INSERT INTO reservations (user_id, schedule_id, quantity, amount, status, expires_at)"
                                 " VALUES (" + str(user(6)) + ", " + str(s.schedule_id) +
                                 ", 1, 1000, 'CONFIRMED', now()) RETURNING id");
  db.exec("UPDATE seats SET reservation_id = " + str(other) + " WHERE id = " + str(seat));
  auto r = audit();
  const auto& sold = find(r, "seat_sold_twice");
  ASSERT_EQ(sold.violations, 1);
  const json& e = sold.examples.at(0);
  EXPECT_EQ(e["reservationId"], paid_seats);
  EXPECT_EQ(e["status"], "CONFIRMED");
  EXPECT_EQ(e["seatsHeld"], 1);
  EXPECT_EQ(e["quantity"], 2);
  EXPECT_EQ(e["seatsNowHeldBy"], json::parse(R"([{"seatId": )" + str(seat) + R"(, "reservationId": )" + str(other) +
                                             "}]"));

  db.exec("UPDATE seats SET reservation_id = " + str(paid_seats) + " WHERE id = " + str(seat));
  db.exec("DELETE FROM reservations WHERE id = " + str(other));
  EXPECT_TRUE(broken(audit()).empty());
}

TEST_F(AuditTest, ASeatLeftToACancelledReservationIsNamed) {
  db.exec("UPDATE seats SET reservation_id = " + str(refunded) + " WHERE id = " + str(s.seat_ids[2]));
  auto r = audit();
  EXPECT_EQ(broken(r), std::vector<std::string>{"seat_released"});
  EXPECT_EQ(find(r, "seat_released").examples.at(0),
            json({{"seatId", s.seat_ids[2]}, {"reservationId", refunded}, {"status", "CANCELLED"}}));
  db.exec("UPDATE seats SET reservation_id = NULL WHERE id = " + str(s.seat_ids[2]));
  EXPECT_TRUE(broken(audit()).empty());
}

TEST_F(AuditTest, APoolSoldBeyondItsCapacityIsNamedWithItsUnits) {
  const int64_t extra = db.count("INSERT INTO reservations (user_id, schedule_id, pool_id, quantity, amount, status,"
                                 " expires_at) VALUES (" + str(user(7)) + ", " + str(s.schedule_id) + ", " + str(pool) +
                                 ", 3, 1500, 'HELD', now() + interval '5 minutes') RETURNING id");
  auto r = audit();
  const auto& over = find(r, "pool_over_capacity");
  ASSERT_EQ(over.violations, 1);
  EXPECT_EQ(over.examples.at(0), json({{"poolId", pool}, {"capacity", 4}, {"unitsSold", 5}}));
  const auto& units = find(r, "pool_units_match");
  ASSERT_EQ(units.violations, 1);
  EXPECT_EQ(units.examples.at(0)["unitsTaken"], 2);
  EXPECT_EQ(units.examples.at(0)["unitsOfLiveReservations"], 5);
  db.exec("DELETE FROM reservations WHERE id = " + str(extra));
  EXPECT_TRUE(broken(audit()).empty());
}

TEST_F(AuditTest, ABalanceChangedWithoutALedgerLineIsNamedWithBothFigures) {
  const int64_t balance = db.count("SELECT balance FROM users WHERE id = " + str(user(0)));
  db.exec("UPDATE users SET balance = balance + 500 WHERE id = " + str(user(0)));
  auto r = audit();
  EXPECT_EQ(broken(r), std::vector<std::string>{"balance_matches_ledger"});
  const json& e = find(r, "balance_matches_ledger").examples.at(0);
  EXPECT_EQ(e["userId"], user(0));
  EXPECT_EQ(e["balance"], balance + 500);
  EXPECT_EQ(e["ledgerBalance"], balance);
  db.exec("UPDATE users SET balance = balance - 500 WHERE id = " + str(user(0)));
  EXPECT_TRUE(broken(audit()).empty());
}

TEST_F(AuditTest, APaymentWithoutAConfirmedReservationIsNamed) {
  const int64_t payment = db.count("INSERT INTO payments (reservation_id, user_id, amount) VALUES (" + str(running) +
                                   ", " + str(user(3)) + ", 1000) RETURNING id");
  auto r = audit();
  const auto& orphan = find(r, "payment_has_reservation");
  ASSERT_EQ(orphan.violations, 1);
  EXPECT_EQ(orphan.examples.at(0)["paymentId"], payment);
  EXPECT_EQ(orphan.examples.at(0)["reservationId"], running);
  EXPECT_EQ(orphan.examples.at(0)["reservationStatus"], "HELD");
  EXPECT_EQ(find(r, "charged_once").violations, 1) << "and it charged nobody";
  db.exec("DELETE FROM payments WHERE id = " + str(payment));
  EXPECT_TRUE(broken(audit()).empty());
}

TEST_F(AuditTest, ADoubleChargeIsNamedByItsPayment) {
  const int64_t payment = db.count("SELECT id FROM payments WHERE reservation_id = " + str(paid_seats));
  // A second charge, with the balance and its ledger kept in step: only
  // the charge itself is wrong.
  db.exec("UPDATE users SET balance = balance - 2000 WHERE id = " + str(user(0)));
  db.exec("INSERT INTO balance_ledger (user_id, delta, balance_after, reason, reservation_id, payment_id)"
          " SELECT id, -2000, balance, 'PAYMENT', " + str(paid_seats) + ", " + str(payment) +
          " FROM users WHERE id = " + str(user(0)));
  auto r = audit();
  EXPECT_EQ(broken(r), std::vector<std::string>{"charged_once"});
  const json& e = find(r, "charged_once").examples.at(0);
  EXPECT_EQ(e["paymentId"], payment);
  EXPECT_EQ(e["reservationId"], paid_seats);
  EXPECT_EQ(e["charges"], 2);
  db.exec("DELETE FROM balance_ledger WHERE id = (SELECT max(id) FROM balance_ledger)");
  db.exec("UPDATE users SET balance = balance + 2000 WHERE id = " + str(user(0)));
  EXPECT_TRUE(broken(audit()).empty());
}

TEST_F(AuditTest, AConfirmedReservationWithoutItsPaymentIsNamed) {
  db.exec("UPDATE reservations SET status = 'CONFIRMED' WHERE id = " + str(running));
  auto r = audit();
  const auto& unpaid = find(r, "confirmed_paid");
  ASSERT_EQ(unpaid.violations, 1);
  EXPECT_EQ(unpaid.examples.at(0)["reservationId"], running);
  EXPECT_TRUE(unpaid.examples.at(0)["paymentId"].is_null());
  db.exec("UPDATE reservations SET status = 'HELD' WHERE id = " + str(running));
  EXPECT_TRUE(broken(audit()).empty());
}

TEST_F(AuditTest, HoldsLeftPastTheirExpiryMeanNoSweeperRuns) {
  db.exec("UPDATE reservations SET expires_at = now() - interval '1 minute' WHERE id = " + str(running));
  auto r = audit();
  EXPECT_EQ(broken(r), std::vector<std::string>{"holds_released"});
  EXPECT_EQ(find(r, "holds_released").examples.at(0)["reservationId"], running);
  EXPECT_GE(find(r, "holds_released").examples.at(0)["expiredSecondsAgo"].get<double>(), 60);
  db.exec("UPDATE reservations SET expires_at = now() + interval '5 minutes' WHERE id = " + str(running));
  EXPECT_TRUE(broken(audit()).empty());
}

TEST_F(AuditTest, AStateChangeWithoutItsOutboxEventIsNamed) {
  const int64_t event = db.count("SELECT id FROM outbox WHERE aggregate_type = 'reservation' AND aggregate_id = " +
                                 str(refunded) + " AND event_type = 'ReservationCancelled'");
  db.exec("CREATE TABLE kept_event AS SELECT * FROM outbox WHERE id = " + str(event));
  db.exec("DELETE FROM outbox WHERE id = " + str(event));
  auto r = audit();
  EXPECT_EQ(broken(r), std::vector<std::string>{"outbox_complete"});
  EXPECT_EQ(find(r, "outbox_complete").examples.at(0),
            json({{"reservationId", refunded}, {"status", "CANCELLED"}, {"missingEvents", {"ReservationCancelled"}}}));
  db.exec("INSERT INTO outbox SELECT * FROM kept_event");
  EXPECT_TRUE(broken(audit()).empty());
}

TEST_F(AuditTest, AConcertAndASinceNarrowTheRowsChecked) {
  const int64_t seat = s.seat_ids[0];
  db.exec("UPDATE seats SET reservation_id = NULL WHERE id = " + str(seat));  // a violation in this concert
  auto other = seed(db, {.seats = 2, .users = 2});
  EXPECT_EQ(find(audit(of_concert(s.concert_id)), "seat_sold_twice").violations, 1);
  auto elsewhere = audit(of_concert(other.concert_id));
  EXPECT_TRUE(broken(elsewhere).empty());
  EXPECT_EQ(find(elsewhere, "seat_sold_twice").checked, 0);
  auto later = audit(since("2999-01-01T00:00:00Z"));
  EXPECT_EQ(find(later, "seat_sold_twice").checked, 0) << "nothing changed since";
  db.exec("UPDATE seats SET reservation_id = " + str(paid_seats) + " WHERE id = " + str(seat));
}

TEST_F(AuditTest, OnlyTheNamedInvariantsRunAndAnUnknownNameIsRefused) {
  auto r = audit(only({"charged_once", "seat_sold_twice"}));
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].name, "seat_sold_twice") << "in the file's order";
  auto bad = run_audit(db.url(), only({"sold_twice"}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::InvalidRequest);
  EXPECT_NE(bad.status().message().find("seat_sold_twice"), std::string::npos) << "names the known ones";
}

TEST_F(AuditTest, AnUnknownConcertAndAnUnreadableSinceAreRefused) {
  auto none = run_audit(db.url(), of_concert(987654));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::NotFound);
  auto unreadable = run_audit(db.url(), since("last tuesday-ish"));
  ASSERT_FALSE(unreadable.ok());
  EXPECT_EQ(unreadable.status().code(), ErrorCode::InvalidRequest);
}

TEST(AuditUnreachable, ADatabaseThatRefusesIsDbUnavailable) {
  auto r = run_audit("postgresql://nobody@127.0.0.1:1/none", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::DbUnavailable);
}

}  // namespace
