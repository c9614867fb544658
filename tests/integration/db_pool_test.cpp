// DbPool with real PgStore workers against a real PostgreSQL.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <stdexcept>
#include <thread>

#include "base/metrics.h"
#include "booking/pg_store.h"
#include "booking/store.h"
#include "db/pg_text.h"
#include "test_seed.h"

namespace {

using namespace resv;
using namespace resv::test;

constexpr auto kDeadline = std::chrono::seconds(10);

// A gate jobs can wait on; opened at the latest when it goes out of scope, so
// a failing test never leaves a worker blocked (declare it after the pool).
class Gate {
 public:
  void open() {
    std::lock_guard lock(mu_);
    if (!open_) {
      open_ = true;
      cv_.notify_all();
    }
  }
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  ~Gate() { open(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

template <class T>
bool ready(std::future<T>& f) {
  return f.wait_for(kDeadline) == std::future_status::ready;
}

struct DbPoolJobs : ::testing::Test {
  TestDatabase db;
  Seeded s = seed(db, {.seats = 40, .seat_price = 1000, .users = 40, .balance = 100000});
  MetricsRegistry metrics;

  StorePool::SessionFactory factory(std::chrono::milliseconds lock_timeout = std::chrono::milliseconds(2000)) {
    return [url = db.url(), lock_timeout] {
      return std::make_unique<PgStore>(PgStoreOptions{with_application_name(url, "resv-server test"),
                                                      std::chrono::milliseconds(30000), lock_timeout});
    };
  }
};

TEST_F(DbPoolJobs, JobsRunOnWorkersWithTheirOwnConnections) {
  constexpr int kJobs = 20;
  // Everything a job touches is declared before the pool, which outlives none of it.
  std::vector<std::promise<Result<std::vector<Seat>>>> done(kJobs);
  std::vector<std::future<Result<std::vector<Seat>>>> results;
  for (auto& p : done) results.push_back(p.get_future());
  StorePool pool({2, 64, std::chrono::seconds(60)}, factory(), metrics);
  for (int i = 0; i < kJobs; ++i) {
    ASSERT_TRUE(pool.submit([&, i](Store* store, const Status& why_not) {
      done[static_cast<size_t>(i)].set_value(store ? store->seats(s.schedule_id, false)
                                                   : Result<std::vector<Seat>>(why_not));
    }));
  }
  for (auto& f : results) {
    ASSERT_TRUE(ready(f));
    auto seats = f.get();
    ASSERT_TRUE(seats.ok()) << seats.status().message();
    EXPECT_EQ(seats->size(), s.seat_ids.size());
  }
  EXPECT_LE(db.count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                     " AND application_name = 'resv-server test'"),
            2)
      << "never more connections than workers";
}

TEST_F(DbPoolJobs, TwoWorkersRunTwoJobsAtOnceOnDifferentConnections) {
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  std::set<Store*> stores;
  std::promise<bool> a, b;
  auto fa = a.get_future(), fb = b.get_future();
  StorePool pool({2, 8, std::chrono::seconds(60)}, factory(), metrics);
  auto job = [&](std::promise<bool>& out) {
    return [&, result = &out](Store* store, const Status&) {
      bool ok = store && store->schema_state().ok();
      std::unique_lock lock(mu);
      if (store) stores.insert(store);
      ++arrived;
      cv.notify_all();
      // Both jobs must be running at the same time to get past this point.
      bool both = cv.wait_for(lock, kDeadline, [&] { return arrived == 2; });
      result->set_value(ok && both);
    };
  };
  ASSERT_TRUE(pool.submit(job(a)));
  ASSERT_TRUE(pool.submit(job(b)));
  ASSERT_TRUE(ready(fa));
  ASSERT_TRUE(ready(fb));
  EXPECT_TRUE(fa.get());
  EXPECT_TRUE(fb.get());
  EXPECT_EQ(stores.size(), 2u) << "each worker owns its own Store";
  EXPECT_EQ(db.count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                     " AND application_name = 'resv-server test'"),
            2);
}

TEST_F(DbPoolJobs, WithOneWorkerAndNoQueueABusyPoolRefusesAtOnce) {
  std::promise<void> started;
  auto started_f = started.get_future();
  std::promise<bool> ran;
  auto ran_f = ran.get_future();
  std::atomic<bool> second_ran{false};
  StorePool pool({1, 0, std::chrono::seconds(60)}, factory(), metrics);
  Gate gate;
  bool accepted = pool.submit([&](Store* store, const Status&) {
    started.set_value();
    gate.wait();
    ran.set_value(store && store->schema_state().ok());
  });
  ASSERT_TRUE(accepted) << "an idle worker must take a job even when no job may wait (queue_limit 0)";
  ASSERT_TRUE(ready(started_f));

  EXPECT_FALSE(pool.submit([&](Store*, const Status&) { second_ran = true; }));
  EXPECT_EQ(pool.in_use(), 1);
  EXPECT_EQ(pool.waiting(), 0);
  gate.open();
  ASSERT_TRUE(ready(ran_f));
  EXPECT_TRUE(ran_f.get());
  pool.stop();
  EXPECT_FALSE(second_ran.load()) << "a refused job is dropped";
  EXPECT_EQ(metrics.counter("resv_db_pool_rejected_total", "", "pool=\"read\"").value(), 1u);
}

TEST_F(DbPoolJobs, WithOneWorkerAndOneQueueSlotTheThirdJobIsRefused) {
  std::promise<void> started;
  auto started_f = started.get_future();
  std::promise<bool> first, second;
  auto first_f = first.get_future(), second_f = second.get_future();
  StorePool pool({1, 1, std::chrono::seconds(60)}, factory(), metrics);
  Gate gate;
  ASSERT_TRUE(pool.submit([&](Store* store, const Status&) {
    started.set_value();
    gate.wait();
    first.set_value(store != nullptr);
  }));
  ASSERT_TRUE(ready(started_f));
  ASSERT_TRUE(pool.submit([&](Store* store, const Status&) {
    auto seats = store ? store->seats(s.schedule_id, true) : Result<std::vector<Seat>>(Status::Internal("no store"));
    second.set_value(seats.ok() && seats->size() == s.seat_ids.size());
  }));
  EXPECT_EQ(pool.waiting(), 1);
  EXPECT_FALSE(pool.submit([](Store*, const Status&) {}));
  EXPECT_EQ(metrics.counter("resv_db_pool_rejected_total", "", "pool=\"read\"").value(), 1u);

  gate.open();
  ASSERT_TRUE(ready(first_f));
  ASSERT_TRUE(ready(second_f));
  EXPECT_TRUE(first_f.get());
  EXPECT_TRUE(second_f.get()) << "the queued job ran on the freed worker";
}

TEST_F(DbPoolJobs, JobBlockedOnALockKeepsItsWorkerUntilTheLockIsReleased) {
  std::promise<Status> blocked;
  auto blocked_f = blocked.get_future();
  std::promise<bool> queued;
  auto queued_f = queued.get_future();
  StorePool pool({1, 1, std::chrono::seconds(60)}, factory(std::chrono::milliseconds(60000)), metrics);
  // The worker takes jobs once it has warmed up (which touches seats too).
  std::promise<void> warm;
  ASSERT_TRUE(pool.submit([&](Store*, const Status&) { warm.set_value(); }));
  auto warm_f = warm.get_future();
  ASSERT_TRUE(ready(warm_f));
  // Declared after the pool: rolled back (releasing the lock) before the pool joins its worker.
  pqxx::connection other(db.url());
  pqxx::work tx(other);
  tx.exec("LOCK TABLE seats IN ACCESS EXCLUSIVE MODE");  // as a migration would

  ASSERT_TRUE(pool.submit([&](Store* store, const Status& why_not) {
    if (!store) return blocked.set_value(why_not);
    auto seats = store->seats(s.schedule_id, false);
    blocked.set_value(!seats.ok() ? seats.status()
                      : seats->size() == s.seat_ids.size() ? Status::Ok()
                                                            : Status::Internal("the seat map is incomplete"));
  }));
  // Wait until the job's statement is really waiting for our lock.
  auto until = std::chrono::steady_clock::now() + kDeadline;
  while (db.count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                  " AND application_name = 'resv-server test' AND wait_event_type = 'Lock'") == 0 &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(pool.in_use(), 1);

  ASSERT_TRUE(pool.submit([&](Store* store, const Status&) { queued.set_value(store != nullptr); }));
  EXPECT_FALSE(pool.submit([](Store*, const Status&) {})) << "worker busy and queue full";

  tx.commit();
  ASSERT_TRUE(ready(blocked_f));
  auto st = blocked_f.get();
  EXPECT_TRUE(st.ok()) << st.message();
  ASSERT_TRUE(ready(queued_f));
  EXPECT_TRUE(queued_f.get());
}

TEST_F(DbPoolJobs, JobThatWaitedLongerThanMaxWaitGetsOverloadedInsteadOfAStore) {
  const auto max_wait = std::chrono::milliseconds(20);
  std::promise<void> started;
  auto started_f = started.get_future();
  std::promise<std::pair<bool, Status>> late;
  auto late_f = late.get_future();
  StorePool pool({1, 4, max_wait}, factory(), metrics);
  Gate gate;
  ASSERT_TRUE(pool.submit([&](Store*, const Status&) {
    started.set_value();
    gate.wait();
  }));
  ASSERT_TRUE(ready(started_f));
  // (The first job itself may have waited out a slow worker start-up; only the
  // second one is under test.)
  Counter& timed_out = metrics.counter("resv_db_pool_timed_out_total", "", "pool=\"read\"");
  const auto timed_out_before = timed_out.value();
  ASSERT_TRUE(pool.submit([&](Store* store, const Status& why_not) { late.set_value({store != nullptr, why_not}); }));
  // The queued job has now been waiting at least this long (the condition
  // under test, not synchronisation).
  auto queued_at = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - queued_at <= max_wait * 2)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  gate.open();
  ASSERT_TRUE(ready(late_f));
  auto [had_store, why_not] = late_f.get();
  EXPECT_FALSE(had_store);
  EXPECT_EQ(why_not.code(), ErrorCode::Overloaded);
  EXPECT_EQ(timed_out.value(), timed_out_before + 1);
}

TEST_F(DbPoolJobs, AThrowingJobDoesNotKillItsWorker) {
  std::promise<int64_t> next;
  auto next_f = next.get_future();
  StorePool pool({1, 4, std::chrono::seconds(60)}, factory(), metrics);
  ASSERT_TRUE(pool.submit([](Store*, const Status&) { throw std::runtime_error("job failure"); }));
  ASSERT_TRUE(pool.submit([&](Store* store, const Status&) {
    auto seats = store ? store->seats(s.schedule_id, false) : Result<std::vector<Seat>>(Status::Internal("no store"));
    next.set_value(seats.ok() ? static_cast<int64_t>(seats->size()) : -1);
  }));
  ASSERT_TRUE(ready(next_f));
  EXPECT_EQ(next_f.get(), static_cast<int64_t>(s.seat_ids.size()));
}

TEST_F(DbPoolJobs, StopFinishesQueuedJobsAndRefusesNewOnes) {
  std::atomic<int> calls{0}, with_store{0};
  StorePool pool({1, 16, std::chrono::seconds(60)}, factory(), metrics);
  for (int i = 0; i < 8; ++i)
    ASSERT_TRUE(pool.submit([&](Store* store, const Status&) {
      ++calls;
      if (store && store->seats(s.schedule_id, false).ok()) ++with_store;
    }));
  pool.stop();
  EXPECT_EQ(calls.load(), 8) << "every accepted job is called exactly once";
  EXPECT_EQ(with_store.load(), 8) << "queued jobs run with their worker's store before it stops";
  EXPECT_FALSE(pool.submit([](Store*, const Status&) {}));
}

TEST_F(DbPoolJobs, WorkersOnAnUnreachableDatabaseAnswerDbUnavailable) {
  std::promise<Status> result;
  auto f = result.get_future();
  StorePool pool({1, 4, std::chrono::seconds(60)},
              [] { return std::make_unique<PgStore>(PgStoreOptions{"postgresql://postgres@127.0.0.1:1/postgres"}); },
              metrics);
  ASSERT_TRUE(pool.submit([&](Store* store, const Status& why_not) {
    if (!store) return result.set_value(why_not);
    auto c = store->concerts();
    result.set_value(c.ok() ? Status::Ok() : c.status());
  }));
  ASSERT_TRUE(ready(f));
  EXPECT_EQ(f.get().code(), ErrorCode::DbUnavailable);
}

}  // namespace
