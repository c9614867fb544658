// The transactional outbox: every state change writes exactly one event in
// the same transaction; refusals and replays write none.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "booking/pg_store.h"
#include "store_fixture.h"

namespace {

using namespace resv;
using namespace resv::test;

struct Outbox : StoreTest {
  Outbox() : StoreTest({.seats = 10, .seat_price = 1000, .users = 4, .balance = 100000}) {}

  int64_t rows() const { return db.count("SELECT count(*) FROM outbox"); }
  // "type aggregate_type aggregate_id" of the newest outbox row.
  std::string last() const {
    return db.scalar("SELECT event_type || ' ' || aggregate_type || ' ' || aggregate_id FROM outbox"
                     " ORDER BY id DESC LIMIT 1");
  }
  std::string last_payload(const std::string& field) const {
    return db.scalar("SELECT payload->>'" + field + "' FROM outbox ORDER BY id DESC LIMIT 1");
  }
  // The outbox row was written in the same transaction as `table`'s row:
  // now() is the transaction's start time, so both timestamps are equal.
  bool same_tx(const std::string& table_ts_sql) const {
    return db.scalar("SELECT (SELECT created_at FROM outbox ORDER BY id DESC LIMIT 1) = (" + table_ts_sql + ")") ==
           "t";
  }
};

TEST_F(Outbox, EveryStateChangeWritesExactlyOneEventInItsTransaction) {
  ASSERT_EQ(rows(), 0);

  auto id = hold(0, {0, 1});
  auto rid = std::to_string(id);
  EXPECT_EQ(rows(), 1);
  EXPECT_EQ(last(), "ReservationHeld reservation " + rid);
  EXPECT_EQ(last_payload("userId"), uid(0));
  EXPECT_EQ(last_payload("scheduleId"), std::to_string(s.schedule_id));
  EXPECT_EQ(last_payload("amount"), "2000");
  EXPECT_EQ(db.scalar("SELECT payload->'seatIds' FROM outbox ORDER BY id DESC LIMIT 1"),
            "[" + std::to_string(s.seat_ids[0]) + ", " + std::to_string(s.seat_ids[1]) + "]");
  EXPECT_TRUE(same_tx("SELECT created_at FROM reservations WHERE id = " + rid));

  auto p = bookings.pay({id, user(0), {}, {}});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(rows(), 2);
  EXPECT_EQ(last(), "ReservationConfirmed reservation " + rid);
  EXPECT_EQ(last_payload("paymentId"), std::to_string(p->payment_id));
  EXPECT_EQ(last_payload("amount"), "2000");
  EXPECT_TRUE(same_tx("SELECT created_at FROM payments WHERE reservation_id = " + rid));

  ASSERT_TRUE(bookings.cancel(id, user(0)).ok());
  EXPECT_EQ(rows(), 3);
  EXPECT_EQ(last(), "ReservationCancelled reservation " + rid);
  EXPECT_EQ(last_payload("refunded"), "2000");
  EXPECT_TRUE(same_tx("SELECT created_at FROM balance_ledger WHERE reason = 'REFUND'"));

  auto to_expire = hold(1, {2});
  EXPECT_EQ(rows(), 4);
  db.exec("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = " + std::to_string(to_expire));
  auto n = store.expire_holds(10);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(n.value(), 1);
  EXPECT_EQ(rows(), 5);
  EXPECT_EQ(last(), "ReservationExpired reservation " + std::to_string(to_expire));
  EXPECT_TRUE(same_tx("SELECT updated_at FROM reservations WHERE id = " + std::to_string(to_expire)));

  ASSERT_TRUE(bookings.top_up({user(2), 300, {}, {}}).ok());
  EXPECT_EQ(rows(), 6);
  EXPECT_EQ(last(), "BalanceToppedUp user " + uid(2));
  EXPECT_EQ(last_payload("balance"), "100300");
  EXPECT_TRUE(same_tx("SELECT created_at FROM balance_ledger WHERE reason = 'TOP_UP'"));

  int64_t pool = add_pool(db, s.schedule_id, 5, 2, 2);
  auto ph = bookings.hold_pool({user(3), s.schedule_id, pool, 2, {}, {}});
  ASSERT_TRUE(ph.ok());
  EXPECT_EQ(rows(), 7);
  EXPECT_EQ(last(), "ReservationHeld reservation " + std::to_string(ph->reservation_id));
  EXPECT_EQ(last_payload("poolId"), std::to_string(pool));

  // Paying an expired-but-unswept hold expires it: one ReservationExpired, nothing else.
  db.exec("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = " +
          std::to_string(ph->reservation_id));
  EXPECT_EQ(code_of(bookings.pay({ph->reservation_id, user(3), {}, {}})), "HOLD_EXPIRED");
  EXPECT_EQ(rows(), 8);
  EXPECT_EQ(last(), "ReservationExpired reservation " + std::to_string(ph->reservation_id));
}

TEST_F(Outbox, RefusalsAndReplaysWriteNoEvent) {
  auto id = hold(0, {0});
  ASSERT_TRUE(bookings.pay({id, user(0), {}, {}}).ok());
  auto cancelled = hold(1, {1});
  ASSERT_TRUE(bookings.cancel(cancelled, user(1)).ok());
  int64_t pool = add_pool(db, s.schedule_id, 2, 2, 2);
  ASSERT_TRUE(bookings.hold_pool({user(2), s.schedule_id, pool, 2, {}, {}}).ok());
  db.exec("UPDATE users SET balance = 10 WHERE id = " + uid(3));
  auto poor = hold(3, {5});
  auto keyed = bookings.hold_seats({user(3), s.schedule_id, {s.seat_ids[6]}, "k", "h"});
  ASSERT_TRUE(keyed.ok());
  auto before = rows();

  EXPECT_EQ(code_of(bookings.hold_seats({user(1), s.schedule_id, {s.seat_ids[0]}, {}, {}})), "SEAT_TAKEN");
  EXPECT_EQ(code_of(bookings.hold_seats({user(1), s.schedule_id,
                                      {s.seat_ids[2], s.seat_ids[3], s.seat_ids[4], s.seat_ids[7], s.seat_ids[8]},
                                      {}, {}})),
            "LIMIT_EXCEEDED");
  EXPECT_EQ(code_of(bookings.hold_pool({user(1), s.schedule_id, pool, 1, {}, {}})), "SOLD_OUT");
  EXPECT_EQ(code_of(bookings.pay({poor, user(3), {}, {}})), "INSUFFICIENT_BALANCE");
  EXPECT_EQ(code_of(bookings.pay({id, user(1), {}, {}})), "NOT_FOUND");
  EXPECT_EQ(code_of(bookings.pay({cancelled, user(1), {}, {}})), "RESERVATION_CANCELLED");
  EXPECT_EQ(code_of(bookings.top_up({user(0) + 1000, 5, {}, {}})), "NOT_FOUND");
  // Replays: paying again, cancelling again, the same Idempotency-Key again.
  EXPECT_TRUE(bookings.pay({id, user(0), {}, {}}).ok());
  EXPECT_TRUE(bookings.cancel(cancelled, user(1)).ok());
  auto replayed = bookings.hold_seats({user(3), s.schedule_id, {s.seat_ids[6]}, "k", "h"});
  ASSERT_TRUE(replayed.ok());
  EXPECT_TRUE(replayed->replayed);
  auto swept = store.expire_holds(10);
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(swept.value(), 0);

  EXPECT_EQ(rows(), before);
}

TEST_F(Outbox, WhenTheEventCannotBeWrittenTheStateChangeRollsBack) {
  auto id = hold(0, {0});
  auto expiring = hold(1, {1});
  db.exec("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = " + std::to_string(expiring));
  // Test-only sabotage: any outbox insert fails from now on.
  db.exec("CREATE FUNCTION test_reject() RETURNS trigger LANGUAGE plpgsql AS"
          " $$ BEGIN RAISE EXCEPTION 'outbox unavailable'; END $$");
  db.exec("CREATE TRIGGER test_reject BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION test_reject()");
  auto before = rows();

  EXPECT_EQ(code_of(bookings.hold_seats({user(2), s.schedule_id, {s.seat_ids[2]}, {}, {}})), "INTERNAL");
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 2);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE id = " + std::to_string(s.seat_ids[2]) +
                     " AND reservation_id IS NOT NULL"),
            0);

  EXPECT_EQ(code_of(bookings.pay({id, user(0), {}, {}})), "INTERNAL");
  EXPECT_EQ(db.scalar("SELECT status FROM reservations WHERE id = " + std::to_string(id)), "HELD");
  EXPECT_EQ(db.count("SELECT count(*) FROM payments"), 0);
  EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = " + uid(0)), 100000);
  EXPECT_EQ(db.count("SELECT count(*) FROM balance_ledger"), 0);

  EXPECT_EQ(code_of(bookings.cancel(id, user(0))), "INTERNAL");
  EXPECT_EQ(db.scalar("SELECT status FROM reservations WHERE id = " + std::to_string(id)), "HELD");
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id = " + std::to_string(id)), 1);

  EXPECT_EQ(code_of(store.expire_holds(10)), "INTERNAL");
  EXPECT_EQ(db.scalar("SELECT status FROM reservations WHERE id = " + std::to_string(expiring)), "HELD");
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id = " + std::to_string(expiring)), 1);

  EXPECT_EQ(code_of(bookings.top_up({user(3), 100, {}, {}})), "INTERNAL");
  EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = " + uid(3)), 100000);
  EXPECT_EQ(rows(), before);
}

TEST_F(Outbox, BacklogCountsUnpublishedEvents) {
  hold(0, {0});
  hold(1, {1});
  ASSERT_TRUE(bookings.top_up({user(2), 5, {}, {}}).ok());
  auto backlog = store.outbox_backlog();
  ASSERT_TRUE(backlog.ok());
  EXPECT_EQ(backlog->unpublished, 3);
  db.exec("UPDATE outbox SET created_at = now() - interval '90 seconds' WHERE id = (SELECT min(id) FROM outbox)");
  EXPECT_GE(store.outbox_backlog()->oldest_age_s, 90) << "the oldest unpublished row's age";
  // The relay publishes the oldest one (as relay.cpp calls these).
  const int64_t oldest = db.count("SELECT id FROM resv_outbox_next(1, 0)");
  EXPECT_EQ(oldest, db.count("SELECT min(id) FROM outbox"));
  db.exec("SELECT resv_outbox_mark_published(0, " + std::to_string(oldest) + ", 1)");
  auto after = store.outbox_backlog();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->unpublished, 2);
  EXPECT_LT(after->oldest_age_s, 90) << "the published one no longer counts";
  EXPECT_EQ(rows(), 3);
}

TEST_F(Outbox, APageOfABacklogReadsItsOwnRowsNotEveryRowAfterIt) {
  // 10,000 events committed at once, before any ANALYZE: the planner's
  // guess for the window's snapshot tests made it read (and sort) every row
  // after a page, so a backlog was read in time proportional to its square.
  db.exec("SELECT resv_outbox('reservation', g % 100, 'Bulk', '{}') FROM generate_series(1, 10000) g");
  ASSERT_EQ(db.count("SELECT count(*) FROM resv_outbox_next(1, 0)"), 1) << "the window starts";
  pqxx::connection conn(db.url());
  pqxx::work tx(conn);
  const int64_t first = tx.exec1("SELECT min(id) FROM outbox")[0].as<int64_t>();
  const auto page = tx.exec_params("SELECT id FROM resv_outbox_next(2000, $1)", first + 1999);
  ASSERT_EQ(page.size(), 2000u);
  EXPECT_EQ(page[0][0].as<int64_t>(), first + 2000) << "the page after the one in flight";
  EXPECT_EQ(page[1999][0].as<int64_t>(), first + 3999);
  const auto fetched =
      tx.exec1("SELECT idx_tup_fetch + seq_tup_read FROM pg_stat_xact_user_tables WHERE relname = 'outbox'")[0]
          .as<int64_t>();
  EXPECT_LE(fetched, 2100) << "rows of the outbox read for a page of 2,000 of the 8,000 after it";
}

}  // namespace
