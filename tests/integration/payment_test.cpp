// Payments and top-ups against a real PostgreSQL, through the write paths the
// server runs (SyncBookings).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "booking/pg_store.h"
#include "store_fixture.h"

namespace {

using namespace resv;
using namespace resv::test;

struct Payments : StoreTest {
  Payments() : StoreTest({.seats = 10, .seat_price = 1000, .users = 3, .balance = 100000}) {}

  Result<resv::Payment> pay(int64_t reservation, int user_offset) {
    return bookings.pay({reservation, user(user_offset), {}, {}});
  }
  int64_t ledger_lines(int offset) const {
    return db.count("SELECT count(*) FROM balance_ledger WHERE user_id = " + uid(offset));
  }
};

TEST_F(Payments, PayingDebitsOnceAndConfirms) {
  auto id = hold(0, {0, 1});
  auto p = pay(id, 0);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->status, "CONFIRMED");
  EXPECT_EQ(p->reservation_id, id);
  EXPECT_EQ(p->amount, 2000);
  EXPECT_EQ(p->balance, 98000);
  EXPECT_FALSE(p->replayed);

  auto pid = std::to_string(p->payment_id);
  EXPECT_EQ(balance(0), 98000);
  EXPECT_EQ(payments_of(id), 1);
  EXPECT_EQ(db.scalar("SELECT id || ' ' || user_id || ' ' || amount || ' ' || status FROM payments"
                      " WHERE reservation_id = " + std::to_string(id)),
            pid + " " + uid(0) + " 2000 PAID");
  EXPECT_EQ(ledger_lines(0), 1);
  EXPECT_EQ(db.scalar("SELECT delta || ' ' || balance_after || ' ' || reason || ' ' || reservation_id || ' ' ||"
                      " payment_id FROM balance_ledger WHERE user_id = " + uid(0)),
            "-2000 98000 PAYMENT " + std::to_string(id) + " " + pid);
  EXPECT_EQ(status_of(id), "CONFIRMED");
  EXPECT_EQ(events("ReservationConfirmed", id), 1);
  EXPECT_EQ(db.scalar("SELECT payload->>'paymentId' FROM outbox WHERE event_type = 'ReservationConfirmed'"), pid);
  EXPECT_EQ(seats_of(id), 2) << "paid seats stay with the reservation";
  auto b = bookings.balance(user(0));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->balance, 98000);
}

TEST_F(Payments, PayingTwiceChargesOnce) {
  auto id = hold(0, {0, 1});
  auto first = pay(id, 0);
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto second = pay(id, 0);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_TRUE(second->replayed);
  EXPECT_EQ(second->payment_id, first->payment_id);
  EXPECT_EQ(second->amount, 2000);
  EXPECT_EQ(second->balance, 98000);
  EXPECT_EQ(second->status, "CONFIRMED");

  EXPECT_EQ(balance(0), 98000);
  EXPECT_EQ(payments_of(id), 1);
  EXPECT_EQ(ledger_lines(0), 1);
  EXPECT_EQ(events("ReservationConfirmed", id), 1);
}

TEST_F(Payments, InsufficientBalanceChangesNothing) {
  db.exec("UPDATE users SET balance = 1500 WHERE id = " + uid(0));
  auto id = hold(0, {0, 1});
  auto p = pay(id, 0);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(code_of(p), "INSUFFICIENT_BALANCE");
  auto d = nlohmann::json::parse(p.status().details_json());
  EXPECT_EQ(d["balance"], 1500);
  EXPECT_EQ(d["amount"], 2000);

  EXPECT_EQ(balance(0), 1500);
  EXPECT_EQ(payments_of(id), 0);
  EXPECT_EQ(ledger_lines(0), 0);
  EXPECT_EQ(status_of(id), "HELD");
  EXPECT_EQ(seats_of(id), 2);
  EXPECT_EQ(events("ReservationConfirmed", id), 0);
}

TEST_F(Payments, ExactlyTheBalanceIsEnoughAndLeavesZero) {
  db.exec("UPDATE users SET balance = 1500 WHERE id = " + uid(0));
  auto id = hold(0, {0, 1});
  ASSERT_EQ(code_of(pay(id, 0)), "INSUFFICIENT_BALANCE");
  auto topped = bookings.top_up({user(0), 500, {}, {}});
  ASSERT_TRUE(topped.ok()) << topped.status().message();
  EXPECT_EQ(topped->balance, 2000);
  auto p = pay(id, 0);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->balance, 0);
  EXPECT_EQ(balance(0), 0);
  EXPECT_EQ(status_of(id), "CONFIRMED");
  EXPECT_EQ(db.scalar("SELECT balance_after FROM balance_ledger WHERE reason = 'PAYMENT'"), "0");
}

TEST_F(Payments, PayingAnExpiredHoldIsHoldExpiredAndReleasesItsSeats) {
  auto id = hold(0, {2, 3});
  db.exec("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = " + std::to_string(id));
  auto p = pay(id, 0);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(code_of(p), "HOLD_EXPIRED");

  EXPECT_EQ(status_of(id), "EXPIRED");
  EXPECT_EQ(seats_of(id), 0);
  EXPECT_EQ(payments_of(id), 0);
  EXPECT_EQ(balance(0), 100000);
  EXPECT_EQ(ledger_lines(0), 0);
  EXPECT_EQ(events("ReservationExpired", id), 1);

  auto again = pay(id, 0);
  EXPECT_EQ(code_of(again), "HOLD_EXPIRED");
  EXPECT_EQ(events("ReservationExpired", id), 1) << "an expired hold is released once";
  auto other = bookings.hold_seats({user(1), s.schedule_id, {s.seat_ids[2], s.seat_ids[3]}, {}, {}});
  EXPECT_TRUE(other.ok()) << "the seats are free at once: " << other.status().message();
}

TEST_F(Payments, PayingAnExpiredPoolHoldReleasesItsUnits) {
  int64_t pool = add_pool(db, s.schedule_id, 5, 3, 3, 700);
  auto h = bookings.hold_pool({user(0), s.schedule_id, pool, 3, {}, {}});
  ASSERT_TRUE(h.ok()) << h.status().message();
  auto id = std::to_string(h->reservation_id);
  db.exec("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = " + id);
  EXPECT_EQ(code_of(pay(h->reservation_id, 0)), "HOLD_EXPIRED");
  EXPECT_EQ(status_of(h->reservation_id), "EXPIRED");
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE reservation_id IS NOT NULL"), 0);
  EXPECT_EQ(balance(0), 100000);
}

TEST_F(Payments, PayingAPoolHoldChargesPriceTimesQuantity) {
  int64_t pool = add_pool(db, s.schedule_id, 5, 3, 3, 700);
  auto h = bookings.hold_pool({user(0), s.schedule_id, pool, 3, {}, {}});
  ASSERT_TRUE(h.ok()) << h.status().message();
  auto p = pay(h->reservation_id, 0);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->amount, 2100);
  EXPECT_EQ(balance(0), 100000 - 2100);
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE reservation_id = " + std::to_string(h->reservation_id)), 3);
  EXPECT_EQ(status_of(h->reservation_id), "CONFIRMED");
}

TEST_F(Payments, PayingACancelledReservationIsReservationCancelled) {
  auto id = hold(0, {0});
  ASSERT_TRUE(bookings.cancel(id, user(0)).ok());
  auto p = pay(id, 0);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(code_of(p), "RESERVATION_CANCELLED");
  EXPECT_EQ(status_of(id), "CANCELLED");
  EXPECT_EQ(payments_of(id), 0);
  EXPECT_EQ(balance(0), 100000);
  EXPECT_EQ(ledger_lines(0), 0);
  EXPECT_EQ(seats_of(id), 0);
}

TEST_F(Payments, PayingAnotherUsersReservationIsNotFound) {
  auto id = hold(0, {0});
  auto p = pay(id, 1);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(code_of(p), "NOT_FOUND");
  EXPECT_EQ(status_of(id), "HELD");
  EXPECT_EQ(payments_of(id), 0);
  EXPECT_EQ(balance(0), 100000);
  EXPECT_EQ(balance(1), 100000);
  EXPECT_EQ(db.count("SELECT count(*) FROM balance_ledger"), 0);
  EXPECT_EQ(events("ReservationConfirmed", id), 0);
}

TEST_F(Payments, PayingAnUnknownReservationIsNotFound) {
  auto p = bookings.pay({999999, user(0), {}, {}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(code_of(p), "NOT_FOUND");
  EXPECT_EQ(db.count("SELECT count(*) FROM payments"), 0);
  EXPECT_EQ(balance(0), 100000);
}

TEST_F(Payments, TopUpCreditsAndRecordsALedgerLine) {
  auto t = bookings.top_up({user(0), 2500, {}, {}});
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->user_id, user(0));
  EXPECT_EQ(t->balance, 102500);
  EXPECT_EQ(balance(0), 102500);
  EXPECT_EQ(db.scalar("SELECT delta || ' ' || balance_after || ' ' || reason || ' ' || (reservation_id IS NULL)"
                      " FROM balance_ledger WHERE user_id = " + uid(0)),
            "2500 102500 TOP_UP true");
  EXPECT_EQ(db.count("SELECT count(*) FROM outbox WHERE event_type = 'BalanceToppedUp' AND aggregate_type = 'user'"
                     " AND aggregate_id = " + uid(0)),
            1);
  EXPECT_EQ(balance(1), 100000) << "other users are untouched";
}

TEST_F(Payments, UnknownUserHasNoBalanceAndCannotTopUp) {
  EXPECT_EQ(code_of(bookings.balance(user(0) + 1000)), "NOT_FOUND");
  auto t = bookings.top_up({user(0) + 1000, 100, {}, {}});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(code_of(t), "NOT_FOUND");
  EXPECT_EQ(db.count("SELECT count(*) FROM balance_ledger"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM outbox"), 0);
}

TEST_F(Payments, ATopUpPastTheLargestBalanceIsLimitExceededAndChangesNothing) {
  const int64_t max = db.count("SELECT resv_max_balance()");
  db.exec("UPDATE users SET balance = resv_max_balance() - 5 WHERE id = " + uid(0));
  auto t = bookings.top_up({user(0), 6, {}, {}});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(code_of(t), "LIMIT_EXCEEDED") << t.status().message();
  EXPECT_NE(t.status().message().find("maximum"), std::string::npos) << t.status().message();
  EXPECT_EQ(balance(0), max - 5);
  EXPECT_EQ(ledger_lines(0), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM outbox"), 0);
  auto exact = bookings.top_up({user(0), 5, {}, {}});
  ASSERT_TRUE(exact.ok()) << exact.status().message();
  EXPECT_EQ(exact->balance, max) << "up to the largest balance itself";
  // Through SQL, past what bigint holds: refused, not an overflow error.
  EXPECT_EQ(db.scalar("SELECT resv_top_up(" + uid(1) + ", 9223372036854775807)->>'code'"), "INVALID_REQUEST");
}

TEST_F(Payments, ARefundPastTheLargestBalanceIsLimitExceededAndTheReservationStaysPaid) {
  auto id = hold(0, {0});
  ASSERT_TRUE(pay(id, 0).ok());
  db.exec("UPDATE users SET balance = resv_max_balance() - 999 WHERE id = " + uid(0));
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto c = bookings.cancel(id, user(0));
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(code_of(c), "LIMIT_EXCEEDED") << c.status().message();
  }
  EXPECT_EQ(status_of(id), "CONFIRMED");
  EXPECT_EQ(db.scalar("SELECT status FROM payments WHERE reservation_id = " + std::to_string(id)), "PAID");
  EXPECT_EQ(ledger_lines(0), 1) << "the payment's line only";
  db.exec("UPDATE users SET balance = resv_max_balance() - 1000 WHERE id = " + uid(0));
  ASSERT_TRUE(bookings.cancel(id, user(0)).ok()) << "a refund up to the largest balance itself";
  EXPECT_EQ(balance(0), db.count("SELECT resv_max_balance()"));
}

TEST_F(Payments, LedgerIsARunningTotalOfTheBalance) {
  auto a = hold(0, {0});
  auto b = hold(0, {1, 2});
  ASSERT_TRUE(bookings.top_up({user(0), 300, {}, {}}).ok());
  ASSERT_TRUE(pay(a, 0).ok());
  ASSERT_TRUE(pay(b, 0).ok());
  ASSERT_TRUE(bookings.cancel(a, user(0)).ok());
  ASSERT_TRUE(bookings.top_up({user(0), 50, {}, {}}).ok());

  EXPECT_EQ(balance(0), 100000 + 300 - 1000 - 2000 + 1000 + 50);
  EXPECT_EQ(db.count("SELECT sum(delta) FROM balance_ledger WHERE user_id = " + uid(0)), balance(0) - 100000);
  // Every line's balance_after is the opening balance plus the deltas so far.
  EXPECT_EQ(db.count("SELECT count(*) FROM (SELECT balance_after, 100000 + sum(delta) OVER (ORDER BY id) AS run"
                     " FROM balance_ledger WHERE user_id = " + uid(0) + ") x WHERE balance_after <> run"),
            0);
  EXPECT_EQ(ledger_lines(0), 5);
}

}  // namespace
