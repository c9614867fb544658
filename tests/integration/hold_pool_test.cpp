// Capacity pool holds (general admission, restaurant slots, coupons) against
// a real PostgreSQL, through the write paths the server runs (SyncBookings).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "booking/pg_store.h"
#include "eventually.h"
#include "store_fixture.h"

#include <chrono>
#include <thread>

namespace {

using namespace resv;
using namespace resv::test;

struct HoldPool : StoreTest {
  HoldPool() : StoreTest({.seats = 10}) {}

  // capacity 10, parties of 1..4, at most 6 units per user, 500 per unit
  int64_t pool = add_pool(db, s.schedule_id, 10, 4, 6, 500);

  HoldPoolRequest req(int64_t user_offset, int64_t quantity) {
    return {s.first_user_id + user_offset, s.schedule_id, pool, quantity, {}, {}};
  }
  int64_t taken(int64_t pool_id) const {
    return db.count("SELECT count(*) FROM pool_units WHERE pool_id = " + std::to_string(pool_id) +
                    " AND reservation_id IS NOT NULL");
  }
  int64_t taken() const { return taken(pool); }
  int64_t reservations() const { return db.count("SELECT count(*) FROM reservations"); }
};

TEST_F(HoldPool, HoldTakesExactlyTheRequestedUnits) {
  auto h = bookings.hold_pool(req(0, 3));
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->status, "HELD");
  EXPECT_EQ(h->amount, 1500);
  auto id = std::to_string(h->reservation_id);
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE reservation_id = " + id), 3);
  EXPECT_EQ(taken(), 3);
  EXPECT_EQ(db.scalar("SELECT pool_id || ' ' || quantity || ' ' || amount || ' ' || status FROM reservations"
                      " WHERE id = " + id),
            std::to_string(pool) + " 3 1500 HELD");
  EXPECT_EQ(db.scalar("SELECT resv_ts(expires_at) FROM reservations WHERE id = " + id), h->expires_at);
  EXPECT_EQ(db.scalar("SELECT (payload->>'poolId') || ' ' || (payload->>'quantity') FROM outbox"
                      " WHERE event_type = 'ReservationHeld' AND aggregate_id = " + id),
            std::to_string(pool) + " 3");

  auto second = bookings.hold_pool(req(1, 4));
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE reservation_id = " + std::to_string(second->reservation_id)),
            4);
  EXPECT_EQ(taken(), 7) << "the two holds took different units";
}

TEST_F(HoldPool, FewerUnitsLeftThanRequestedIsSoldOutWithRemaining) {
  ASSERT_TRUE(bookings.hold_pool(req(0, 4)).ok());
  ASSERT_TRUE(bookings.hold_pool(req(1, 4)).ok());
  auto r = bookings.hold_pool(req(2, 4));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r), "SOLD_OUT");
  EXPECT_EQ(nlohmann::json::parse(r.status().details_json())["remaining"], 2);
  EXPECT_EQ(taken(), 8);
  EXPECT_EQ(reservations(), 2);

  auto rest = bookings.hold_pool(req(2, 2));
  ASSERT_TRUE(rest.ok()) << "what is left can still be held: " << rest.status().message();
  EXPECT_EQ(taken(), 10);
  auto none = bookings.hold_pool(req(3, 1));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(code_of(none), "SOLD_OUT");
  EXPECT_EQ(nlohmann::json::parse(none.status().details_json())["remaining"], 0);
  EXPECT_EQ(reservations(), 3);
}

TEST_F(HoldPool, PartySizeOutsideMinAndMaxIsInvalidRequest) {
  EXPECT_EQ(code_of(bookings.hold_pool(req(0, 5))), "INVALID_REQUEST");
  EXPECT_EQ(code_of(bookings.hold_pool(req(0, 0))), "INVALID_REQUEST");
  db.exec("UPDATE pools SET min_party = 2 WHERE id = " + std::to_string(pool));
  EXPECT_EQ(code_of(bookings.hold_pool(req(0, 1))), "INVALID_REQUEST");
  EXPECT_EQ(taken(), 0);
  EXPECT_EQ(reservations(), 0);

  auto at_min = bookings.hold_pool(req(0, 2));
  ASSERT_TRUE(at_min.ok()) << at_min.status().message();
  auto at_max = bookings.hold_pool(req(1, 4));
  ASSERT_TRUE(at_max.ok()) << at_max.status().message();
  EXPECT_EQ(taken(), 6);
}

TEST_F(HoldPool, MoreThanMaxPerUserIsLimitExceeded) {
  ASSERT_TRUE(bookings.hold_pool(req(0, 4)).ok());
  auto over = bookings.hold_pool(req(0, 3));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(code_of(over), "LIMIT_EXCEEDED");
  auto d = nlohmann::json::parse(over.status().details_json());
  EXPECT_EQ(d["limit"], 6);
  EXPECT_EQ(d["held"], 4);
  EXPECT_EQ(taken(), 4);
  EXPECT_EQ(reservations(), 1);

  auto up_to = bookings.hold_pool(req(0, 2));
  ASSERT_TRUE(up_to.ok()) << up_to.status().message();
  EXPECT_EQ(db.count("SELECT sum(quantity) FROM reservations WHERE user_id = " + std::to_string(s.first_user_id)), 6);
  EXPECT_EQ(taken(), 6);
}

TEST_F(HoldPool, PoolOfAnotherScheduleIsNotFound) {
  auto other = std::stoll(db.scalar("INSERT INTO schedules (concert_id, starts_at) VALUES (" +
                                    std::to_string(s.concert_id) + ", now() + interval '9 days') RETURNING id"));
  int64_t other_pool = add_pool(db, other, 5, 2, 2);
  auto r = bookings.hold_pool({s.first_user_id, s.schedule_id, other_pool, 1, {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r), "NOT_FOUND");
  auto swapped = bookings.hold_pool({s.first_user_id, other, pool, 1, {}, {}});
  ASSERT_FALSE(swapped.ok());
  EXPECT_EQ(code_of(swapped), "NOT_FOUND");
  EXPECT_EQ(taken(other_pool), 0);
  EXPECT_EQ(taken(), 0);
  EXPECT_EQ(reservations(), 0);
}

TEST_F(HoldPool, UnknownPoolAndUnknownUserAreNotFound) {
  EXPECT_EQ(code_of(bookings.hold_pool({s.first_user_id, s.schedule_id, pool + 1000, 1, {}, {}})), "NOT_FOUND");
  auto no_user = bookings.hold_pool({s.first_user_id + 1000, s.schedule_id, pool, 1, {}, {}});
  ASSERT_FALSE(no_user.ok());
  EXPECT_EQ(code_of(no_user), "NOT_FOUND");
  EXPECT_NE(no_user.status().message().find("user"), std::string::npos) << no_user.status().message();
  EXPECT_EQ(taken(), 0);
  EXPECT_EQ(reservations(), 0);
}

TEST_F(HoldPool, PoolUnitsAndSeatsHaveSeparateLimits) {
  ASSERT_TRUE(bookings.hold_seats({s.first_user_id, s.schedule_id, {s.seat_ids[0], s.seat_ids[1], s.seat_ids[2],
                                                                   s.seat_ids[3]},
                                {}, {}})
                  .ok());
  auto h = bookings.hold_pool(req(0, 4));
  ASSERT_TRUE(h.ok()) << "the seat limit must not count pool units: " << h.status().message();
  EXPECT_EQ(taken(), 4);
}

TEST_F(HoldPool, ExpiredButUnsweptPoolHoldKeepsItsUnitsUntilSwept) {
  int64_t small = add_pool(db, s.schedule_id, 2, 2, 2);
  auto first = bookings.hold_pool({s.first_user_id, s.schedule_id, small, 2, {}, {}});
  ASSERT_TRUE(first.ok());
  db.exec("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = " +
          std::to_string(first->reservation_id));
  auto blocked = bookings.hold_pool({s.first_user_id + 1, s.schedule_id, small, 1, {}, {}});
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(code_of(blocked), "SOLD_OUT");
  EXPECT_EQ(taken(small), 2);

  auto swept = store.expire_holds(10);
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(swept.value(), 1);
  EXPECT_EQ(taken(small), 0);
  auto now_free = bookings.hold_pool({s.first_user_id + 1, s.schedule_id, small, 1, {}, {}});
  ASSERT_TRUE(now_free.ok()) << now_free.status().message();
  EXPECT_EQ(taken(small), 1);
}

TEST_F(HoldPool, UnitsLockedByABuyerInFlightAreSkipped) {
  // Another buyer's transaction has locked units 1..3 (as an in-flight hold
  // does): a new buyer takes other units without waiting for it.
  pqxx::connection other(db.url());
  pqxx::work tx(other);
  tx.exec("SELECT unit_no FROM pool_units WHERE pool_id = " + std::to_string(pool) + " AND unit_no <= 3 FOR UPDATE");
  auto h = bookings.hold_pool(req(0, 4));
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE unit_no <= 3 AND reservation_id IS NOT NULL"), 0);
  EXPECT_EQ(taken(), 4);
  tx.abort();
}

TEST_F(HoldPool, UnitsLockedLongerThanTheLockTimeoutCountAsSold) {
  // 8 of 10 units stay locked by a transaction that neither commits nor gives
  // up: the buyer waits for it at most lock_timeout, then only 2 can be had.
  pqxx::connection other(db.url());
  pqxx::work tx(other);
  tx.exec("SELECT unit_no FROM pool_units WHERE pool_id = " + std::to_string(pool) + " AND unit_no <= 8 FOR UPDATE");
  auto r = bookings.hold_pool(req(0, 4));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r), "SOLD_OUT");
  EXPECT_EQ(nlohmann::json::parse(r.status().details_json())["remaining"], 2);
  EXPECT_EQ(taken(), 0);
  EXPECT_EQ(reservations(), 0);

  tx.abort();  // that buyer gave up: the units are back
  auto retry = bookings.hold_pool(req(0, 4));
  ASSERT_TRUE(retry.ok()) << retry.status().message();
  EXPECT_EQ(taken(), 4);
}

TEST_F(HoldPool, ABuyerQueuesForTheLastUnitsAndGetsThemWhenTheirBuyerGivesUp) {
  // 8 of 10 units are locked by a buyer in flight. A buyer of 4 does not give
  // up at once: it waits for that buyer, and gets the units when it aborts.
  pqxx::connection other(db.url());
  pqxx::work tx(other);
  tx.exec("SELECT unit_no FROM pool_units WHERE pool_id = " + std::to_string(pool) + " AND unit_no <= 8 FOR UPDATE");
  Result<Hold> held = Status::Internal("not run");
  std::thread buyer([&] { held = bookings.hold_pool(req(0, 4)); });
  // Wait until the buyer is blocked on the locked units (well within its
  // lock_timeout), then let the units go.
  bool blocked = eventually(
      [&] {
        return db.count("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = "
                        "current_database()") > 0;
      },
      30, 2);
  tx.abort();
  buyer.join();
  ASSERT_TRUE(blocked) << "the buyer never waited for the locked units";
  ASSERT_TRUE(held.ok()) << held.status().message();
  EXPECT_EQ(taken(), 4);
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE reservation_id IS NOT NULL AND unit_no <= 8"), 4)
      << "it took units the other buyer had locked";
}

TEST_F(HoldPool, APoolOrScheduleWithReservationsCannotBeDeletedButAnEmptyPoolCan) {
  int64_t unused = add_pool(db, s.schedule_id, 5, 1, 1, 100);
  ASSERT_TRUE(bookings.hold_pool(req(0, 2)).ok());
  auto refused = [&](const std::string& sql) {
    try {
      db.exec(sql);
      return false;
    } catch (const pqxx::sql_error& e) {
      return std::string(e.what()).find("has reservations and cannot be deleted") != std::string::npos;
    }
  };
  EXPECT_TRUE(refused("DELETE FROM pools WHERE id = " + std::to_string(pool)));
  EXPECT_TRUE(refused("DELETE FROM schedules WHERE id = " + std::to_string(s.schedule_id)));
  EXPECT_EQ(db.count("SELECT count(*) FROM pools WHERE id = " + std::to_string(pool)), 1);
  db.exec("DELETE FROM pools WHERE id = " + std::to_string(unused));
  EXPECT_EQ(db.count("SELECT count(*) FROM pools WHERE id = " + std::to_string(unused)), 0);
}

}  // namespace
