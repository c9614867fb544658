// ReleaseListener: LISTEN/NOTIFY of released seats and units against a real
// PostgreSQL, and the payload parser.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "booking/pg_store.h"
#include "booking/release_listener.h"
#include "store_fixture.h"

namespace {

using namespace resv;
using namespace resv::test;

constexpr auto kDeadline = std::chrono::seconds(10);

// Collects the listener's callbacks (on its thread) for the test thread.
class Events {
 public:
  void push(const ReleaseEvent& e) {
    {
      std::lock_guard lock(mu_);
      all_.push_back(e);
    }
    cv_.notify_all();
  }
  // The first "lost" event: the listener is connected and LISTENing.
  bool wait_connected() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] {
      for (const auto& e : all_)
        if (e.lost) return true;
      return false;
    });
  }
  // The next event that is not a "lost" marker, in arrival order.
  std::optional<ReleaseEvent> next_release() {
    std::unique_lock lock(mu_);
    auto found = [&]() -> std::optional<ReleaseEvent> {
      for (; cursor_ < all_.size(); ++cursor_)
        if (!all_[cursor_].lost) return all_[cursor_++];
      return std::nullopt;
    };
    std::optional<ReleaseEvent> ev;
    cv_.wait_for(lock, kDeadline, [&] { return (ev = found()).has_value(); });
    return ev;
  }
  // Until at least `n` "lost" events have arrived.
  bool wait_lost(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] {
      size_t lost = 0;
      for (const auto& e : all_) lost += e.lost ? 1 : 0;
      return lost >= n;
    });
  }
  size_t lost_count() {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& e : all_) n += e.lost ? 1 : 0;
    return n;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReleaseEvent> all_;
  size_t cursor_ = 0;
};

struct ReleaseEvents : StoreTest {
  ReleaseEvents() : StoreTest({.seats = 10, .seat_price = 1000, .users = 4, .balance = 100000}) {}

  // Declared before the listener: outlives its thread. (It hides
  // StoreTest::events(type, reservation), which these tests do not need.)
  Events events;
  ReleaseListener listener{db.url(), [this](const ReleaseEvent& e) { events.push(e); }};

  std::vector<int64_t> seats(std::initializer_list<size_t> idx) const {
    std::vector<int64_t> out;
    for (auto i : idx) out.push_back(s.seat_ids[i]);
    return out;
  }
  ~ReleaseEvents() override { listener.stop(); }
};

TEST_F(ReleaseEvents, CancelPublishesTheScheduleAndSeatIds) {
  listener.start();
  ASSERT_TRUE(events.wait_connected());
  EXPECT_TRUE(listener.connected());
  auto id = hold(0, {4, 2});
  ASSERT_TRUE(bookings.cancel(id, user(0)).ok());

  auto ev = events.next_release();
  ASSERT_TRUE(ev.has_value()) << "no release event within the deadline";
  EXPECT_FALSE(ev->lost);
  EXPECT_EQ(ev->schedule_id, s.schedule_id);
  EXPECT_FALSE(ev->pool_id.has_value());
  EXPECT_EQ(ev->seat_ids, seats({2, 4})) << "ascending seat ids";
}

TEST_F(ReleaseEvents, ExpiryAndExpiredPaymentPublishToo) {
  listener.start();
  ASSERT_TRUE(events.wait_connected());
  auto swept = hold(0, {0});
  auto paid_late = hold(1, {1});
  db.exec("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = " + std::to_string(swept));
  auto n = store.expire_holds(10);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(n.value(), 1);
  auto first = events.next_release();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->seat_ids, seats({0}));

  db.exec("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = " + std::to_string(paid_late));
  ASSERT_EQ(bookings.pay({paid_late, user(1), {}, {}}).status().code(), ErrorCode::HoldExpired);
  auto second = events.next_release();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->schedule_id, s.schedule_id);
  EXPECT_EQ(second->seat_ids, seats({1}));
}

TEST_F(ReleaseEvents, PoolReleaseCarriesThePoolAndNoSeats) {
  int64_t pool = add_pool(db, s.schedule_id, 5, 3, 3);
  listener.start();
  ASSERT_TRUE(events.wait_connected());
  auto h = bookings.hold_pool({user(0), s.schedule_id, pool, 3, {}, {}});
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(bookings.cancel(h->reservation_id, user(0)).ok());
  auto ev = events.next_release();
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->schedule_id, s.schedule_id);
  ASSERT_TRUE(ev->pool_id.has_value());
  EXPECT_EQ(*ev->pool_id, pool);
  EXPECT_TRUE(ev->seat_ids.empty());
}

TEST_F(ReleaseEvents, HoldsPaymentsAndMalformedNotificationsPublishNothing) {
  listener.start();
  ASSERT_TRUE(events.wait_connected());
  // None of these may produce a release event...
  auto paid = hold(0, {0});
  ASSERT_TRUE(bookings.pay({paid, user(0), {}, {}}).ok());
  ASSERT_TRUE(bookings.top_up({user(0), 10, {}, {}}).ok());
  db.exec("SELECT pg_notify('resv_release', 'not json')");
  db.exec("SELECT pg_notify('resv_release', '{\"seatIds\": [1, 2]}')");
  db.exec("SELECT pg_notify('resv_release', '{\"scheduleId\": \"7\"}')");
  // ...so the first one is this cancel's (notifications arrive in commit order).
  auto id = hold(1, {5});
  ASSERT_TRUE(bookings.cancel(id, user(1)).ok());
  auto ev = events.next_release();
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->seat_ids, seats({5}));
  EXPECT_TRUE(listener.connected()) << "malformed payloads do not break the listener";
}

TEST_F(ReleaseEvents, ReleasesOfMoreThan200SeatsNameTheScheduleOnly) {
  // Store-level only: the HTTP API caps a request at 20 seats.
  TestDatabase big;
  Seeded b = seed(big, {.seats = 401, .seat_price = 10, .users = 2, .balance = 100000, .max_seats_per_user = 300});
  SyncBookings big_store{big.url()};
  Events big_events;
  ReleaseListener big_listener(big.url(), [&](const ReleaseEvent& e) { big_events.push(e); });
  big_listener.start();
  ASSERT_TRUE(big_events.wait_connected());

  std::vector<int64_t> two_hundred(b.seat_ids.begin(), b.seat_ids.begin() + 200);
  std::vector<int64_t> two_hundred_one(b.seat_ids.begin() + 200, b.seat_ids.end());
  auto a = big_store.hold_seats({b.first_user_id, b.schedule_id, two_hundred, {}, {}});
  auto c = big_store.hold_seats({b.first_user_id + 1, b.schedule_id, two_hundred_one, {}, {}});
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(big_store.cancel(a->reservation_id, b.first_user_id).ok());
  ASSERT_TRUE(big_store.cancel(c->reservation_id, b.first_user_id + 1).ok());

  auto listed = big_events.next_release();
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(listed->seat_ids, two_hundred);
  auto whole = big_events.next_release();
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(whole->schedule_id, b.schedule_id);
  EXPECT_TRUE(whole->seat_ids.empty()) << "no list: the whole schedule is to be refreshed";
  big_listener.stop();
  EXPECT_EQ(big.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 0);
}

TEST_F(ReleaseEvents, ReconnectsAfterLosingItsConnectionAndSaysSo) {
  listener.start();
  ASSERT_TRUE(events.wait_connected());
  ASSERT_EQ(db.count("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                     " WHERE datname = current_database() AND query ILIKE 'LISTEN%'"),
            1);
  // One "lost" for the failure, one after listening again.
  ASSERT_TRUE(events.wait_lost(3)) << "lost events: " << events.lost_count();
  auto until = std::chrono::steady_clock::now() + kDeadline;
  while (!listener.connected() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(listener.connected());
  auto id = hold(0, {7});
  ASSERT_TRUE(bookings.cancel(id, user(0)).ok());
  auto ev = events.next_release();
  ASSERT_TRUE(ev.has_value()) << "releases are delivered again after the reconnect";
  EXPECT_EQ(ev->seat_ids, seats({7}));
}

TEST_F(ReleaseEvents, StopDisconnects) {
  listener.start();
  ASSERT_TRUE(events.wait_connected());
  EXPECT_TRUE(listener.connected());
  EXPECT_EQ(db.count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                     " AND query ILIKE 'LISTEN%'"),
            1);
  listener.stop();
  EXPECT_FALSE(listener.connected());
}

TEST(ReleaseListenerDown, UnreachableDatabaseReportsLostAndKeepsRetrying) {
  Events events;
  ReleaseListener listener("postgresql://postgres@127.0.0.1:1/postgres", [&](const ReleaseEvent& e) { events.push(e); });
  listener.start();
  ASSERT_TRUE(events.wait_connected()) << "a failed connection is reported as lost";
  EXPECT_FALSE(listener.connected());
  listener.stop();
  EXPECT_GE(events.lost_count(), 1u);
}

TEST(ReleasePayload, WellFormedPayloadsParse) {
  auto seats = parse_release_payload(R"({"scheduleId": 3, "poolId": null, "seatIds": [5, 7]})");
  ASSERT_TRUE(seats.has_value());
  EXPECT_FALSE(seats->lost);
  EXPECT_EQ(seats->schedule_id, 3);
  EXPECT_FALSE(seats->pool_id.has_value());
  EXPECT_EQ(seats->seat_ids, (std::vector<int64_t>{5, 7}));

  auto pool = parse_release_payload(R"({"scheduleId": 3, "poolId": 9, "seatIds": null})");
  ASSERT_TRUE(pool.has_value());
  ASSERT_TRUE(pool->pool_id.has_value());
  EXPECT_EQ(*pool->pool_id, 9);
  EXPECT_TRUE(pool->seat_ids.empty());

  auto mixed = parse_release_payload(R"({"scheduleId": 3, "seatIds": [1, "x", 2.5, 4]})");
  ASSERT_TRUE(mixed.has_value());
  EXPECT_EQ(mixed->seat_ids, (std::vector<int64_t>{1, 4})) << "non-integer entries are skipped";
}

TEST(ReleasePayload, MalformedPayloadsAreRejected) {
  for (const char* bad : {"", "not json", "{", "[]", "42", "null", "{}", R"({"scheduleId": null})",
                          R"({"scheduleId": "3"})", R"({"scheduleId": 3.5})", R"({"seatIds": [1]})",
                          R"({"scheduleid": 3})"})
    EXPECT_FALSE(parse_release_payload(bad).has_value()) << "payload: " << bad;
}

}  // namespace
