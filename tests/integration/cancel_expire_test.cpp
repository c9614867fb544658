// Cancellation, refunds and the expiry sweeper against a real PostgreSQL.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "base/metrics.h"
#include "booking/pg_store.h"
#include "booking/sweeper.h"
#include "db/migrations.h"
#include "store_fixture.h"

namespace {

using namespace resv;
using namespace resv::test;

SweeperOptions sweep_options(std::chrono::milliseconds interval, int batch) {
  SweeperOptions o;
  o.interval = interval;
  o.batch = batch;
  return o;
}

struct Lifecycle : StoreTest {
  Lifecycle() : StoreTest({.seats = 10, .seat_price = 1000, .users = 6, .balance = 100000}) {}

  void expire(int64_t reservation, int seconds_ago = 1) const {
    db.exec("UPDATE reservations SET expires_at = now() - interval '" + std::to_string(seconds_ago) +
            " seconds' WHERE id = " + std::to_string(reservation));
  }
};

struct Cancel : Lifecycle {};
struct Expiry : Lifecycle {};

TEST_F(Cancel, CancellingAHoldFreesItsSeats) {
  auto id = hold(0, {0, 1});
  auto c = bookings.cancel(id, user(0));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->status, "CANCELLED");
  EXPECT_EQ(c->reservation_id, id);
  EXPECT_EQ(c->refunded, 0);

  EXPECT_EQ(status_of(id), "CANCELLED");
  EXPECT_EQ(seats_of(id), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 0);
  EXPECT_EQ(balance(0), 100000);
  EXPECT_EQ(db.count("SELECT count(*) FROM balance_ledger"), 0);
  EXPECT_EQ(events("ReservationCancelled", id), 1);
  EXPECT_EQ(db.scalar("SELECT payload->>'refunded' FROM outbox WHERE event_type = 'ReservationCancelled'"), "0");
  EXPECT_TRUE(bookings.hold_seats({user(1), s.schedule_id, {s.seat_ids[0], s.seat_ids[1]}, {}, {}}).ok())
      << "the seats can be held again";
}

TEST_F(Cancel, CancellingAPoolHoldReturnsItsUnits) {
  int64_t pool = add_pool(db, s.schedule_id, 4, 4, 4);
  auto h = bookings.hold_pool({user(0), s.schedule_id, pool, 4, {}, {}});
  ASSERT_TRUE(h.ok()) << h.status().message();
  auto c = bookings.cancel(h->reservation_id, user(0));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(status_of(h->reservation_id), "CANCELLED");
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE reservation_id IS NOT NULL"), 0);
  EXPECT_TRUE(bookings.hold_pool({user(1), s.schedule_id, pool, 4, {}, {}}).ok()) << "the units can be held again";
}

TEST_F(Cancel, CancellingAConfirmedReservationRefunds) {
  auto id = hold(0, {0, 1});
  auto p = bookings.pay({id, user(0), {}, {}});
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(balance(0), 98000);

  auto c = bookings.cancel(id, user(0));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->status, "CANCELLED");
  EXPECT_EQ(c->refunded, 2000);

  EXPECT_EQ(balance(0), 100000);
  EXPECT_EQ(db.scalar("SELECT status FROM payments WHERE reservation_id = " + std::to_string(id)), "REFUNDED");
  EXPECT_EQ(db.scalar("SELECT delta || ' ' || balance_after || ' ' || reservation_id || ' ' || payment_id"
                      " FROM balance_ledger WHERE reason = 'REFUND' AND user_id = " + uid(0)),
            "2000 100000 " + std::to_string(id) + " " + std::to_string(p->payment_id));
  EXPECT_EQ(status_of(id), "CANCELLED");
  EXPECT_EQ(seats_of(id), 0);
  EXPECT_EQ(db.scalar("SELECT payload->>'refunded' FROM outbox WHERE event_type = 'ReservationCancelled'"), "2000");
}

TEST_F(Cancel, CancellingTwiceRefundsOnce) {
  auto id = hold(0, {0, 1});
  ASSERT_TRUE(bookings.pay({id, user(0), {}, {}}).ok());
  auto first = bookings.cancel(id, user(0));
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto second = bookings.cancel(id, user(0));
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->status, first->status);
  EXPECT_EQ(second->reservation_id, id);
  EXPECT_EQ(second->refunded, first->refunded) << "a retried cancel repeats the first answer";
  EXPECT_EQ(first->refunded, 2000);

  EXPECT_EQ(balance(0), 100000) << "refunded once, not twice";
  EXPECT_EQ(db.count("SELECT count(*) FROM balance_ledger WHERE reason = 'REFUND'"), 1);
  EXPECT_EQ(events("ReservationCancelled", id), 1);
  EXPECT_EQ(status_of(id), "CANCELLED");
}

TEST_F(Cancel, CancellingAHoldTwiceAnswersTheSame) {
  auto id = hold(0, {3});
  auto first = bookings.cancel(id, user(0));
  auto second = bookings.cancel(id, user(0));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->status, "CANCELLED");
  EXPECT_EQ(second->refunded, 0);
  EXPECT_EQ(events("ReservationCancelled", id), 1);
}

TEST_F(Cancel, CancellingAnotherUsersReservationIsNotFound) {
  auto id = hold(0, {0});
  ASSERT_TRUE(bookings.pay({id, user(0), {}, {}}).ok());
  auto c = bookings.cancel(id, user(1));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(code_of(c), "NOT_FOUND");
  EXPECT_EQ(status_of(id), "CONFIRMED");
  EXPECT_EQ(seats_of(id), 1);
  EXPECT_EQ(balance(0), 99000);
  EXPECT_EQ(balance(1), 100000);
  EXPECT_EQ(db.scalar("SELECT status FROM payments"), "PAID");
  EXPECT_EQ(code_of(bookings.cancel(999999, user(0))), "NOT_FOUND");
}

TEST_F(Cancel, CancellingAnExpiredHoldAnswersExpiredAndChangesNothing) {
  auto id = hold(0, {0});
  expire(id);
  auto swept = store.expire_holds(10);
  ASSERT_TRUE(swept.ok());
  ASSERT_EQ(swept.value(), 1);
  auto c = bookings.cancel(id, user(0));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->status, "EXPIRED");
  EXPECT_EQ(c->refunded, 0);
  EXPECT_EQ(status_of(id), "EXPIRED");
  EXPECT_EQ(events("ReservationCancelled", id), 0);
}

TEST_F(Cancel, CancellingAnExpiredButUnsweptHoldExpiresItWithoutRefund) {
  auto id = hold(0, {0});
  expire(id);
  auto c = bookings.cancel(id, user(0));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->refunded, 0);
  EXPECT_EQ(c->status, "EXPIRED");
  EXPECT_EQ(status_of(id), "EXPIRED");
  EXPECT_EQ(events("ReservationExpired", id), 1);
  EXPECT_EQ(events("ReservationCancelled", id), 0);
  EXPECT_EQ(seats_of(id), 0);
  EXPECT_EQ(balance(0), 100000);
  auto swept = store.expire_holds(10);
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(swept.value(), 0) << "nothing is left for the sweeper";
}

TEST_F(Expiry, ExpireHoldsReleasesOnlyExpiredHolds) {
  auto expired = hold(0, {0, 1});
  auto live = hold(1, {2});
  auto confirmed = hold(2, {3});
  ASSERT_TRUE(bookings.pay({confirmed, user(2), {}, {}}).ok());
  auto cancelled = hold(3, {4});
  ASSERT_TRUE(bookings.cancel(cancelled, user(3)).ok());
  expire(expired);
  expire(confirmed);  // a paid reservation's old expiry must not matter
  expire(cancelled);

  auto n = store.expire_holds(100);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(n.value(), 1);

  EXPECT_EQ(status_of(expired), "EXPIRED");
  EXPECT_EQ(seats_of(expired), 0);
  EXPECT_EQ(events("ReservationExpired", expired), 1);
  EXPECT_EQ(db.scalar("SELECT payload->>'userId' FROM outbox WHERE event_type = 'ReservationExpired'"), uid(0));

  EXPECT_EQ(status_of(live), "HELD");
  EXPECT_EQ(seats_of(live), 1);
  EXPECT_EQ(status_of(confirmed), "CONFIRMED");
  EXPECT_EQ(seats_of(confirmed), 1);
  EXPECT_EQ(status_of(cancelled), "CANCELLED");
  EXPECT_EQ(db.count("SELECT count(*) FROM outbox WHERE event_type = 'ReservationExpired'"), 1);

  auto again = store.expire_holds(100);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), 0);
}

TEST_F(Expiry, ExpireHoldsRespectsTheBatchSizeOldestFirst) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(hold(i, {static_cast<size_t>(i)}));
    expire(ids.back(), 100 - i * 10);  // ids[0] is the oldest
  }
  auto first = store.expire_holds(2);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.value(), 2);
  EXPECT_EQ(status_of(ids[0]), "EXPIRED");
  EXPECT_EQ(status_of(ids[1]), "EXPIRED");
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE status = 'HELD'"), 3);

  auto second = store.expire_holds(2);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.value(), 2);
  EXPECT_EQ(status_of(ids[4]), "HELD");
  auto third = store.expire_holds(2);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third.value(), 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE status = 'EXPIRED'"), 5);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM outbox WHERE event_type = 'ReservationExpired'"), 5);
}

TEST_F(Expiry, ExpiringAPoolHoldReturnsItsUnits) {
  int64_t pool = add_pool(db, s.schedule_id, 3, 3, 3);
  auto h = bookings.hold_pool({user(0), s.schedule_id, pool, 3, {}, {}});
  ASSERT_TRUE(h.ok()) << h.status().message();
  expire(h->reservation_id);
  auto n = store.expire_holds(10);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n.value(), 1);
  EXPECT_EQ(status_of(h->reservation_id), "EXPIRED");
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE reservation_id IS NOT NULL"), 0);
}

TEST_F(Expiry, SweepOnceExpiresEveryExpiredHoldAcrossBatchesAndCountsThem) {
  for (int i = 0; i < 5; ++i) expire(hold(i, {static_cast<size_t>(i)}));
  auto live = hold(5, {9});
  MetricsRegistry metrics;
  Sweeper sweeper(sweep_options(std::chrono::milliseconds(1000), 2), std::make_unique<PgStore>(PgStoreOptions{db.url()}), metrics);
  EXPECT_FALSE(sweeper.db_reachable()) << "no pass yet";
  EXPECT_EQ(sweeper.schema_version(), -1);

  EXPECT_EQ(sweeper.sweep_once(), 5);
  EXPECT_TRUE(sweeper.db_reachable());
  EXPECT_EQ(sweeper.schema_version(), latest_migration_version());
  EXPECT_EQ(sweeper.schema_problem(), "") << "the schema is current";
  EXPECT_EQ(metrics.counter("resv_holds_expired_total", "").value(), 5u);
  EXPECT_EQ(metrics.gauge("resv_outbox_backlog", "").value(),
            db.count("SELECT unpublished FROM resv_outbox_backlog()"));
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE status = 'EXPIRED'"), 5);
  EXPECT_EQ(status_of(live), "HELD");

  EXPECT_EQ(sweeper.sweep_once(), 0);
  EXPECT_EQ(metrics.counter("resv_holds_expired_total", "").value(), 5u);
}

TEST_F(Expiry, SweeperThreadReleasesExpiredHoldsInTheBackground) {
  auto id = hold(0, {0});
  expire(id);
  MetricsRegistry metrics;
  Sweeper sweeper(sweep_options(std::chrono::milliseconds(20), 100), std::make_unique<PgStore>(PgStoreOptions{db.url()}), metrics);
  sweeper.start();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (status_of(id) != "EXPIRED" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  sweeper.stop();
  EXPECT_EQ(status_of(id), "EXPIRED");
  EXPECT_EQ(seats_of(id), 0);
  EXPECT_EQ(metrics.counter("resv_holds_expired_total", "").value(), 1u);
}

TEST_F(Expiry, SweepOnceOnAnUnreachableDatabaseReportsItDown) {
  MetricsRegistry metrics;
  Sweeper sweeper(sweep_options(std::chrono::milliseconds(1000), 10),
                  std::make_unique<PgStore>(PgStoreOptions{"postgresql://postgres@127.0.0.1:1/postgres"}), metrics);
  EXPECT_EQ(sweeper.sweep_once(), 0);
  EXPECT_FALSE(sweeper.db_reachable());
  EXPECT_EQ(sweeper.schema_version(), -1);
}

}  // namespace
