// Concurrency against a real PostgreSQL: many threads, each with its own
// connection and the write paths as the server sends them
// (tests/support/sync_bookings.h), racing for the same seats, units,
// reservations and balances. Every test checks invariants of the final database state; none
// depends on who wins.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <latch>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "booking/pg_store.h"
#include "store_fixture.h"

namespace {

using namespace resv;
using namespace resv::test;

// Opens the connection now, so that threads start racing only after every
// one of them is connected. A failure shows up in the calls that follow.
bool warm_up(PgStore& store) { return store.schema_state().ok(); }
bool warm_up(SyncBookings& bookings) { return bookings.pool().connected() > 0; }

void join_all(std::vector<std::thread>& threads) {
  for (auto& t : threads) t.join();
}

struct Races : ::testing::Test {};

TEST_F(Races, TwoHundredBuyersSellAThousandSeatsEachExactlyOnce) {
  TestDatabase db;
  constexpr int kSeats = 1000;
  constexpr int kThreads = 200;
  Seeded s = seed(db, {.seats = kSeats, .seat_price = 100, .users = kThreads, .balance = 0,
                       .max_seats_per_user = 20});

  struct Won {
    int64_t reservation_id;
    std::vector<int64_t> seat_ids;
  };
  struct PerThread {
    std::vector<Won> won;
    std::map<std::string, int> failures;
  };
  std::vector<PerThread> out(kThreads);
  std::atomic<int64_t> sold{0};
  std::atomic<int64_t> attempts{0};
  constexpr int64_t kMaxAttempts = 400000;  // a guard against a hang, far above what is needed
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      SyncBookings bookings{db.url(), {.size = 1, .warm_up = false}};
      PerThread& mine = out[static_cast<size_t>(t)];
      if (!warm_up(bookings)) ++mine.failures["CONNECT"];
      start.arrive_and_wait();
      std::mt19937_64 rng(static_cast<uint64_t>(t) + 1);
      const int64_t user = s.first_user_id + t;
      while (sold.load() < kSeats && attempts.fetch_add(1) < kMaxAttempts) {
        // One or two random seats per request (two exercise all-or-nothing and lock order).
        std::vector<int64_t> want{s.seat_ids[rng() % kSeats]};
        if (rng() % 2) {
          auto second = s.seat_ids[rng() % kSeats];
          if (second != want[0]) want.push_back(second);
        }
        auto h = bookings.hold_seats({user, s.schedule_id, want, {}, {}});
        if (h.ok()) {
          std::sort(want.begin(), want.end());
          sold += static_cast<int64_t>(want.size());
          mine.won.push_back({h->reservation_id, want});
          continue;
        }
        auto code = code_of(h);
        if (code == "SEAT_TAKEN" || code == "BUSY") continue;
        if (code == "LIMIT_EXCEEDED") {
          if (want.size() == 1) break;  // this user is done
          continue;
        }
        ++mine.failures[code + ": " + h.status().message()];
        break;
      }
    });
  join_all(threads);

  std::map<int64_t, int64_t> won_by;  // seat -> reservation, from the answers
  int64_t seats_won = 0, holds_won = 0;
  for (const auto& pt : out) {
    for (const auto& [code, n] : pt.failures) ADD_FAILURE() << n << " x " << code;
    for (const auto& w : pt.won) {
      ++holds_won;
      for (auto seat : w.seat_ids) {
        ++seats_won;
        EXPECT_TRUE(won_by.emplace(seat, w.reservation_id).second) << "seat " << seat << " was won twice";
      }
    }
  }
  EXPECT_EQ(seats_won, kSeats);
  EXPECT_EQ(won_by.size(), static_cast<size_t>(kSeats));
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), kSeats);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE status = 'HELD'"), holds_won);
  EXPECT_EQ(db.count("SELECT sum(quantity) FROM reservations"), kSeats);
  // Each reservation owns exactly as many seats as it was created for.
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations r WHERE quantity <>"
                     " (SELECT count(*) FROM seats s WHERE s.reservation_id = r.id)"),
            0);
  // The database agrees with the answers, seat by seat.
  pqxx::connection c(db.url());
  pqxx::nontransaction tx(c);
  int64_t mismatched = 0;
  for (const auto& row : tx.exec("SELECT id, reservation_id FROM seats WHERE reservation_id IS NOT NULL")) {
    auto it = won_by.find(row[0].as<int64_t>());
    if (it == won_by.end() || it->second != row[1].as<int64_t>()) ++mismatched;
  }
  EXPECT_EQ(mismatched, 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM outbox WHERE event_type = 'ReservationHeld'"), holds_won);
}

TEST_F(Races, PoolOfFortyGivesExactlyTenPartiesOfFour) {
  TestDatabase db;
  constexpr int kUsers = 2000;
  constexpr int kThreads = 64;
  Seeded s = seed(db, {.seats = 0, .seat_price = 100, .users = kUsers, .balance = 0});
  int64_t pool = add_pool(db, s.schedule_id, 40, 4, 4);

  std::atomic<int> held{0}, sold_out{0}, busy_retries{0};
  std::mutex mu;
  std::vector<int64_t> reservations;
  std::map<std::string, int> failures;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      SyncBookings bookings{db.url(), {.size = 1, .warm_up = false}};
      if (!warm_up(bookings)) {
        std::lock_guard lock(mu);
        ++failures["CONNECT"];
      }
      start.arrive_and_wait();
      for (int u = t; u < kUsers; u += kThreads) {
        for (int attempt = 0; attempt < 100; ++attempt) {
          auto h = bookings.hold_pool({s.first_user_id + u, s.schedule_id, pool, 4, {}, {}});
          if (h.ok()) {
            ++held;
            std::lock_guard lock(mu);
            reservations.push_back(h->reservation_id);
          } else if (code_of(h) == "SOLD_OUT") {
            ++sold_out;
            auto remaining = nlohmann::json::parse(h.status().details_json())["remaining"].get<int>();
            if (remaining >= 4) {
              std::lock_guard lock(mu);
              ++failures["SOLD_OUT with " + std::to_string(remaining) + " remaining"];
            }
          } else if (code_of(h) == "BUSY") {
            ++busy_retries;  // contended: retry, as a client would
            continue;
          } else {
            std::lock_guard lock(mu);
            ++failures[code_of(h) + ": " + h.status().message()];
          }
          break;
        }
      }
    });
  join_all(threads);

  for (const auto& [what, n] : failures) ADD_FAILURE() << n << " x " << what;
  EXPECT_EQ(held.load(), 10);
  EXPECT_EQ(sold_out.load(), kUsers - 10);
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE pool_id = " + std::to_string(pool) +
                     " AND reservation_id IS NOT NULL"),
            40);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 10);
  EXPECT_EQ(db.count("SELECT count(*) FROM (SELECT reservation_id FROM pool_units WHERE reservation_id IS NOT NULL"
                     " GROUP BY reservation_id HAVING count(*) = 4) x"),
            10)
      << "each party got exactly four units";
  std::set<int64_t> distinct(reservations.begin(), reservations.end());
  EXPECT_EQ(distinct.size(), 10u);
  std::cout << "[          ] BUSY answers retried: " << busy_retries.load() << "\n";
}

TEST_F(Races, PaymentRacingExpiryEndsEitherConfirmedOrExpiredNeverBoth) {
  TestDatabase db;
  constexpr int kRounds = 50;
  Seeded s = seed(db, {.seats = kRounds, .seat_price = 1000, .users = kRounds, .balance = 100000,
                       .max_seats_per_user = 4});
  SyncBookings setup{db.url(), {.size = 1}};
  SyncBookings payer{db.url(), {.size = 1}};
  PgStore sweeper{PgStoreOptions{db.url()}};
  ASSERT_TRUE(warm_up(payer));
  ASSERT_TRUE(warm_up(sweeper));
  std::mt19937 rng(12345);
  int confirmed = 0, expired = 0;
  for (int i = 0; i < kRounds; ++i) {
    const int64_t user = s.first_user_id + i;
    const auto uid = std::to_string(user);
    auto h = setup.hold_seats({user, s.schedule_id, {s.seat_ids[static_cast<size_t>(i)]}, {}, {}});
    ASSERT_TRUE(h.ok()) << h.status().message();
    const auto rid = std::to_string(h->reservation_id);
    // Expiry from just past to just ahead: both outcomes are possible.
    int ms = static_cast<int>(rng() % 30) - 10;
    db.exec("UPDATE reservations SET expires_at = clock_timestamp() + interval '" + std::to_string(ms) +
            " milliseconds' WHERE id = " + rid);

    std::latch go(2);
    std::atomic<bool> pay_done{false};
    Result<resv::Payment> paid = Status::Internal("not run");
    Status sweep_error;
    std::thread pay_thread([&] {
      go.arrive_and_wait();
      paid = payer.pay({h->reservation_id, user, {}, {}});
      pay_done = true;
    });
    std::thread sweep_thread([&] {
      go.arrive_and_wait();
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (std::chrono::steady_clock::now() < deadline) {
        bool last = pay_done.load();
        auto n = sweeper.expire_holds(10);
        if (!n.ok()) {
          sweep_error = n.status();
          break;
        }
        if (n.value() > 0 || last) break;
      }
    });
    pay_thread.join();
    sweep_thread.join();
    EXPECT_TRUE(sweep_error.ok()) << sweep_error.message();

    auto status = db.scalar("SELECT status FROM reservations WHERE id = " + rid);
    auto payments = db.count("SELECT count(*) FROM payments WHERE reservation_id = " + rid);
    auto seats = db.count("SELECT count(*) FROM seats WHERE reservation_id = " + rid);
    auto balance = db.count("SELECT balance FROM users WHERE id = " + uid);
    auto expired_events =
        db.count("SELECT count(*) FROM outbox WHERE event_type = 'ReservationExpired' AND aggregate_id = " + rid);
    if (status == "CONFIRMED") {
      ++confirmed;
      EXPECT_TRUE(paid.ok()) << "round " << i << ": " << paid.status().message();
      EXPECT_EQ(payments, 1) << "round " << i;
      EXPECT_EQ(seats, 1) << "round " << i << ": a paid reservation keeps its seat";
      EXPECT_EQ(balance, 99000) << "round " << i;
      EXPECT_EQ(expired_events, 0) << "round " << i;
    } else if (status == "EXPIRED") {
      ++expired;
      EXPECT_EQ(code_of(paid), "HOLD_EXPIRED") << "round " << i;
      EXPECT_EQ(payments, 0) << "round " << i;
      EXPECT_EQ(seats, 0) << "round " << i;
      EXPECT_EQ(balance, 100000) << "round " << i;
      EXPECT_EQ(expired_events, 1) << "round " << i << ": released exactly once";
    } else {
      ADD_FAILURE() << "round " << i << ": reservation ended " << status;
    }
    EXPECT_EQ(db.count("SELECT count(*) FROM balance_ledger WHERE user_id = " + uid), payments) << "round " << i;
  }
  EXPECT_EQ(confirmed + expired, kRounds);
  std::cout << "[          ] outcomes: " << confirmed << " confirmed, " << expired << " expired\n";
}

TEST_F(Races, CancelRacingPaymentLeavesAConsistentState) {
  TestDatabase db;
  constexpr int kRounds = 30;
  Seeded s = seed(db, {.seats = kRounds, .seat_price = 1000, .users = kRounds, .balance = 100000});
  SyncBookings setup{db.url(), {.size = 1}};
  SyncBookings payer{db.url(), {.size = 1}};
  SyncBookings canceller{db.url(), {.size = 1}};
  ASSERT_TRUE(warm_up(payer));
  ASSERT_TRUE(warm_up(canceller));
  for (int i = 0; i < kRounds; ++i) {
    const int64_t user = s.first_user_id + i;
    const auto uid = std::to_string(user);
    auto h = setup.hold_seats({user, s.schedule_id, {s.seat_ids[static_cast<size_t>(i)]}, {}, {}});
    ASSERT_TRUE(h.ok()) << h.status().message();
    const auto rid = std::to_string(h->reservation_id);

    std::latch go(2);
    Result<resv::Payment> paid = Status::Internal("not run");
    Result<Cancellation> cancelled = Status::Internal("not run");
    std::thread pay_thread([&] {
      go.arrive_and_wait();
      paid = payer.pay({h->reservation_id, user, {}, {}});
    });
    std::thread cancel_thread([&] {
      go.arrive_and_wait();
      cancelled = canceller.cancel(h->reservation_id, user);
    });
    pay_thread.join();
    cancel_thread.join();

    ASSERT_TRUE(cancelled.ok()) << "round " << i << ": " << cancelled.status().message();
    EXPECT_EQ(cancelled->status, "CANCELLED") << "round " << i;
    EXPECT_EQ(db.scalar("SELECT status FROM reservations WHERE id = " + rid), "CANCELLED") << "round " << i;
    EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id = " + rid), 0) << "round " << i;
    EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = " + uid), 100000) << "round " << i << ": balance whole";
    EXPECT_EQ(db.count("SELECT coalesce(sum(delta), 0) FROM balance_ledger WHERE user_id = " + uid), 0)
        << "round " << i;
    auto payments = db.count("SELECT count(*) FROM payments WHERE reservation_id = " + rid);
    if (paid.ok()) {
      // Paid first, then cancelled: refunded.
      EXPECT_EQ(payments, 1) << "round " << i;
      EXPECT_EQ(db.scalar("SELECT status FROM payments WHERE reservation_id = " + rid), "REFUNDED") << "round " << i;
      EXPECT_EQ(db.count("SELECT count(*) FROM balance_ledger WHERE reason = 'REFUND' AND reservation_id = " + rid), 1)
          << "round " << i;
      EXPECT_EQ(cancelled->refunded, 1000) << "round " << i;
    } else {
      EXPECT_EQ(code_of(paid), "RESERVATION_CANCELLED") << "round " << i;
      EXPECT_EQ(payments, 0) << "round " << i;
      EXPECT_EQ(cancelled->refunded, 0) << "round " << i;
    }
  }
}

TEST_F(Races, TwoPaymentsBeyondTheBalanceOnlyOneSucceeds) {
  TestDatabase db;
  constexpr int kRounds = 30;
  Seeded s = seed(db, {.seats = 2 * kRounds, .seat_price = 1000, .users = kRounds, .balance = 1500});
  SyncBookings setup{db.url(), {.size = 1}};
  SyncBookings first{db.url(), {.size = 1}};
  SyncBookings second{db.url(), {.size = 1}};
  ASSERT_TRUE(warm_up(first));
  ASSERT_TRUE(warm_up(second));
  for (int i = 0; i < kRounds; ++i) {
    const int64_t user = s.first_user_id + i;
    const auto uid = std::to_string(user);
    auto a = setup.hold_seats({user, s.schedule_id, {s.seat_ids[static_cast<size_t>(2 * i)]}, {}, {}});
    auto b = setup.hold_seats({user, s.schedule_id, {s.seat_ids[static_cast<size_t>(2 * i + 1)]}, {}, {}});
    ASSERT_TRUE(a.ok() && b.ok());

    std::latch go(2);
    Result<resv::Payment> pa = Status::Internal("not run"), pb = Status::Internal("not run");
    std::thread ta([&] {
      go.arrive_and_wait();
      pa = first.pay({a->reservation_id, user, {}, {}});
    });
    std::thread tb([&] {
      go.arrive_and_wait();
      pb = second.pay({b->reservation_id, user, {}, {}});
    });
    ta.join();
    tb.join();

    EXPECT_EQ(pa.ok() + pb.ok(), 1) << "round " << i << ": " << code_of(pa) << " / " << code_of(pb);
    EXPECT_EQ(pa.ok() ? code_of(pb) : code_of(pa), "INSUFFICIENT_BALANCE") << "round " << i;
    auto balance = db.count("SELECT balance FROM users WHERE id = " + uid);
    EXPECT_EQ(balance, 500) << "round " << i;
    EXPECT_EQ(db.count("SELECT count(*) FROM payments WHERE user_id = " + uid), 1) << "round " << i;
    EXPECT_EQ(db.count("SELECT coalesce(sum(delta), 0) FROM balance_ledger WHERE user_id = " + uid), balance - 1500)
        << "round " << i << ": the ledger explains the balance";
    EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE status = 'CONFIRMED' AND user_id = " + uid), 1)
        << "round " << i;
  }
  EXPECT_EQ(db.count("SELECT count(*) FROM users WHERE balance < 0"), 0);
}

TEST_F(Races, OneUsersConcurrentHoldsNeverExceedTheLimit) {
  TestDatabase db;
  constexpr int kThreads = 16;
  Seeded s = seed(db, {.seats = kThreads, .seat_price = 100, .users = 1, .balance = 0, .max_seats_per_user = 4});
  std::atomic<int> ok{0}, limited{0}, other{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      SyncBookings bookings{db.url(), {.size = 1, .warm_up = false}};
      warm_up(bookings);
      start.arrive_and_wait();
      auto h = bookings.hold_seats({s.first_user_id, s.schedule_id, {s.seat_ids[static_cast<size_t>(t)]}, {}, {}});
      if (h.ok())
        ++ok;
      else if (code_of(h) == "LIMIT_EXCEEDED")
        ++limited;
      else
        ++other;
    });
  join_all(threads);
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(limited.load(), kThreads - 4);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 4);
}

TEST_F(Races, SameIdempotentHoldSentThreeTimesAtOnceMakesOneReservationPerUser) {
  TestDatabase db;
  constexpr int kUsers = 30;
  constexpr int kCopies = 3;
  Seeded s = seed(db, {.seats = kUsers, .seat_price = 100, .users = kUsers, .balance = 0});
  struct Answer {
    int user = 0;
    std::string code;
    int64_t reservation_id = 0;
    bool replayed = false;
  };
  std::vector<Answer> answers(kUsers * kCopies);
  std::latch start(kUsers * kCopies);
  std::vector<std::thread> threads;
  for (int u = 0; u < kUsers; ++u)
    for (int c = 0; c < kCopies; ++c)
      threads.emplace_back([&, u, c] {
        SyncBookings bookings{db.url(), {.size = 1, .warm_up = false}};
        warm_up(bookings);
        start.arrive_and_wait();
        auto h = bookings.hold_seats({s.first_user_id + u, s.schedule_id, {s.seat_ids[static_cast<size_t>(u)]},
                                   "key-" + std::to_string(u), "hash"});
        auto& a = answers[static_cast<size_t>(u * kCopies + c)];
        a.user = u;
        a.code = code_of(h);
        if (h.ok()) {
          a.reservation_id = h->reservation_id;
          a.replayed = h->replayed;
        }
      });
  join_all(threads);

  for (int u = 0; u < kUsers; ++u) {
    const auto uid = std::to_string(s.first_user_id + u);
    EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE user_id = " + uid), 1) << "user " << u;
    auto db_id = db.count("SELECT coalesce(max(id), 0) FROM reservations WHERE user_id = " + uid);
    int fresh = 0;
    for (int c = 0; c < kCopies; ++c) {
      const auto& a = answers[static_cast<size_t>(u * kCopies + c)];
      if (a.code == "OK") {
        EXPECT_EQ(a.reservation_id, db_id) << "user " << u << ": every answer names the one reservation";
        fresh += a.replayed ? 0 : 1;
      } else {
        EXPECT_EQ(a.code, "DUPLICATE_REQUEST") << "user " << u;
      }
    }
    EXPECT_EQ(fresh, 1) << "user " << u << ": exactly one copy really ran";
  }
  EXPECT_EQ(db.count("SELECT count(*) FROM idempotency_keys"), kUsers);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), kUsers);
}

}  // namespace
