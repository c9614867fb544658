// Idempotency-Key handling of the write functions against a real PostgreSQL.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <chrono>

#include "booking/pg_store.h"
#include "store_fixture.h"

namespace {

using namespace resv;
using namespace resv::test;

struct Idempotency : StoreTest {
  Idempotency() : StoreTest({.seats = 10, .seat_price = 1000, .users = 3, .balance = 100000}) {}

  int64_t reservations() const { return db.count("SELECT count(*) FROM reservations"); }
  int64_t keys() const { return db.count("SELECT count(*) FROM idempotency_keys"); }
  // Takes the advisory lock resv_idem_begin uses for (user, key) in an open
  // transaction of another connection, as an in-flight request would.
  static void lock_key(pqxx::work& tx, int64_t user_id, const std::string& key) {
    tx.exec_params("SELECT pg_advisory_xact_lock(1919251305, hashtext($1::text || '/' || $2))", user_id, key);
  }
};

TEST_F(Idempotency, SameKeyAndHashReplaysTheStoredHold) {
  auto first = bookings.hold_seats(hold_req(0, {0, 1}, "key-1", "hash-a"));
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_FALSE(first->replayed);
  auto second = bookings.hold_seats(hold_req(0, {0, 1}, "key-1", "hash-a"));
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_TRUE(second->replayed);
  EXPECT_EQ(second->reservation_id, first->reservation_id);
  EXPECT_EQ(second->expires_at, first->expires_at);
  EXPECT_EQ(second->amount, first->amount);

  EXPECT_EQ(reservations(), 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 2);
  EXPECT_EQ(db.count("SELECT count(*) FROM outbox WHERE event_type = 'ReservationHeld'"), 1);
  EXPECT_EQ(db.scalar("SELECT user_id || ' ' || key || ' ' || request_hash || ' ' || (response->>'reservationId')"
                      " FROM idempotency_keys"),
            uid(0) + " key-1 hash-a " + std::to_string(first->reservation_id));
}

TEST_F(Idempotency, SameKeyWithADifferentRequestIsRefused) {
  auto first = bookings.hold_seats(hold_req(0, {0}, "key-1", "hash-a"));
  ASSERT_TRUE(first.ok());
  auto other = bookings.hold_seats(hold_req(0, {5}, "key-1", "hash-b"));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(code_of(other), "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(reservations(), 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE id = " + std::to_string(s.seat_ids[5]) +
                     " AND reservation_id IS NOT NULL"),
            0);
  EXPECT_EQ(db.scalar("SELECT request_hash FROM idempotency_keys"), "hash-a") << "the stored answer is kept";
  EXPECT_EQ(keys(), 1);
}

TEST_F(Idempotency, KeysArePerUser) {
  auto a = bookings.hold_seats(hold_req(0, {0}, "shared", "hash-a"));
  auto b = bookings.hold_seats(hold_req(1, {1}, "shared", "hash-a"));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_FALSE(b->replayed);
  EXPECT_NE(a->reservation_id, b->reservation_id);
  EXPECT_EQ(reservations(), 2);
  EXPECT_EQ(keys(), 2);
}

TEST_F(Idempotency, KeyInFlightOnAnotherConnectionIsDuplicateRequest) {
  pqxx::connection other(db.url());
  pqxx::work tx(other);
  lock_key(tx, user(0), "key-1");

  auto r = bookings.hold_seats(hold_req(0, {0}, "key-1", "hash-a"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r), "DUPLICATE_REQUEST");
  EXPECT_EQ(reservations(), 0);
  EXPECT_EQ(keys(), 0) << "an in-flight answer is not stored";

  auto p = bookings.top_up({user(0), 100, "key-1", "hash-t"});
  EXPECT_EQ(code_of(p), "DUPLICATE_REQUEST") << "the key is per user, whatever the operation";
  EXPECT_EQ(balance(0), 100000);

  auto unrelated = bookings.hold_seats(hold_req(0, {1}, "key-2", "hash-a"));
  EXPECT_TRUE(unrelated.ok()) << "only that key is blocked: " << unrelated.status().message();

  tx.abort();
  auto after = bookings.hold_seats(hold_req(0, {0}, "key-1", "hash-a"));
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_FALSE(after->replayed) << "DUPLICATE_REQUEST was not stored, so the retry really runs";
  EXPECT_EQ(reservations(), 2);
}

TEST_F(Idempotency, BusinessFailureIsReplayedToo) {
  auto taker = bookings.hold_seats(hold_req(1, {2}, "", ""));
  ASSERT_TRUE(taker.ok());
  auto failed = bookings.hold_seats(hold_req(0, {2}, "key-1", "hash-a"));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(code_of(failed), "SEAT_TAKEN");

  ASSERT_TRUE(bookings.cancel(taker->reservation_id, user(1)).ok());
  auto replay = bookings.hold_seats(hold_req(0, {2}, "key-1", "hash-a"));
  ASSERT_FALSE(replay.ok()) << "the stored failure is answered even though the seat is free now";
  EXPECT_EQ(code_of(replay), "SEAT_TAKEN");
  EXPECT_EQ(nlohmann::json::parse(replay.status().details_json())["seatIds"], nlohmann::json::array({s.seat_ids[2]}));
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE user_id = " + uid(0)), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 0);
  EXPECT_EQ(db.scalar("SELECT response->>'code' FROM idempotency_keys WHERE user_id = " + uid(0)), "SEAT_TAKEN");
}

TEST_F(Idempotency, BusyIsNotStoredSoARetryRunsAgain) {
  // A lock timeout aborts the whole call, its idempotency record included.
  SyncBookings impatient{db.url(), {.lock_timeout_ms = 100}};
  pqxx::connection other(db.url());
  pqxx::work tx(other);
  tx.exec("SELECT id FROM users WHERE id = " + uid(0) + " FOR UPDATE");
  auto busy = impatient.hold_seats(hold_req(0, {0}, "key-1", "hash-a"));
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(code_of(busy), "BUSY");
  EXPECT_EQ(keys(), 0);
  EXPECT_EQ(reservations(), 0);
  tx.abort();

  auto retry = impatient.hold_seats(hold_req(0, {0}, "key-1", "hash-a"));
  ASSERT_TRUE(retry.ok()) << retry.status().message();
  EXPECT_FALSE(retry->replayed) << "the retry really ran";
  EXPECT_EQ(reservations(), 1);
  EXPECT_EQ(keys(), 1);
}

TEST_F(Idempotency, PoolHoldWithTheSameKeyIsReplayed) {
  int64_t pool = add_pool(db, s.schedule_id, 10, 4, 4);
  auto first = bookings.hold_pool({user(0), s.schedule_id, pool, 3, "key-p", "hash-p"});
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto second = bookings.hold_pool({user(0), s.schedule_id, pool, 3, "key-p", "hash-p"});
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_TRUE(second->replayed);
  EXPECT_EQ(second->reservation_id, first->reservation_id);
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE reservation_id IS NOT NULL"), 3);
  EXPECT_EQ(reservations(), 1);
}

TEST_F(Idempotency, PaymentWithTheSameKeyIsReplayedAndChargedOnce) {
  auto h = bookings.hold_seats(hold_req(0, {0, 1}, "", ""));
  ASSERT_TRUE(h.ok());
  auto first = bookings.pay({h->reservation_id, user(0), "pay-1", "hash-pay"});
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_FALSE(first->replayed);
  auto second = bookings.pay({h->reservation_id, user(0), "pay-1", "hash-pay"});
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_TRUE(second->replayed);
  EXPECT_EQ(second->payment_id, first->payment_id);
  EXPECT_EQ(balance(0), 98000);
  EXPECT_EQ(db.count("SELECT count(*) FROM payments"), 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM balance_ledger"), 1);
  EXPECT_EQ(code_of(bookings.pay({h->reservation_id, user(0), "pay-1", "other"})), "IDEMPOTENCY_KEY_REUSED");
}

TEST_F(Idempotency, TopUpWithTheSameKeyCreditsOnce) {
  auto first = bookings.top_up({user(0), 700, "top-1", "hash-t"});
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto second = bookings.top_up({user(0), 700, "top-1", "hash-t"});
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->balance, first->balance);
  EXPECT_EQ(balance(0), 100700);
  EXPECT_EQ(db.count("SELECT count(*) FROM balance_ledger WHERE reason = 'TOP_UP'"), 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM outbox WHERE event_type = 'BalanceToppedUp'"), 1);

  auto reused = bookings.top_up({user(0), 900, "top-1", "hash-other"});
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(code_of(reused), "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(balance(0), 100700);
}

TEST_F(Idempotency, WithoutAKeyEveryCallRuns) {
  ASSERT_TRUE(bookings.top_up({user(0), 100, "", ""}).ok());
  ASSERT_TRUE(bookings.top_up({user(0), 100, "", ""}).ok());
  EXPECT_EQ(balance(0), 100200);
  EXPECT_EQ(keys(), 0);
}

}  // namespace
