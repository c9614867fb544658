#include "booking/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "manual_clock.h"

namespace {

using namespace resv;
using namespace std::chrono_literals;

// The unit is the pool: this store only proves which object a job was given.
class FakeStore final : public Store {
 public:
  Result<std::vector<Concert>> concerts() override { return none(); }
  Result<Concert> concert(int64_t) override { return none(); }
  Result<std::vector<Schedule>> schedules(int64_t) override { return none(); }
  Result<std::vector<Seat>> seats(int64_t, bool) override { return none(); }
  Result<int64_t> expire_holds(int) override { return none(); }
  Result<Pruned> prune(const Retention&, int) override { return none(); }
  Result<Backlog> outbox_backlog() override { return none(); }
  Status warm_up() override { return Status::Ok(); }
  Result<MigrationState> schema_state() override { return none(); }

 private:
  static Status none() { return Status::NotFound("fake store"); }
};

StorePool::SessionFactory fake_stores(std::atomic<int>* made = nullptr) {
  return [made]() -> std::unique_ptr<Store> {
    if (made) ++*made;
    return std::make_unique<FakeStore>();
  };
}

// A job that keeps its worker busy until release() is called.
class Blocker {
 public:
  StorePool::Job job() {
    return [started = started_, released = released_](Store*, const Status&) {
      started->set_value();
      released.wait();
    };
  }
  void wait_until_running() { started_future_.wait(); }
  void release() { release_.set_value(); }

 private:
  std::shared_ptr<std::promise<void>> started_ = std::make_shared<std::promise<void>>();
  std::future<void> started_future_ = started_->get_future();
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
};

// What a job was called with.
struct Call {
  bool had_store = false;
  bool is_fake = false;
  ErrorCode why_not = ErrorCode::Internal;
};

StorePool::Job recording(std::shared_ptr<std::promise<Call>> done) {
  return [done](Store* store, const Status& why_not) {
    done->set_value(Call{store != nullptr, dynamic_cast<FakeStore*>(store) != nullptr, why_not.code()});
  };
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(DbPool, JobsRunWithTheWorkersStore) {
  MetricsRegistry metrics;
  std::atomic<int> made{0};
  std::vector<std::future<Call>> calls;
  {
    StorePool pool({2, 16, 1h}, fake_stores(&made), metrics);
    EXPECT_EQ(pool.size(), 2);
    for (int i = 0; i < 5; ++i) {
      auto done = std::make_shared<std::promise<Call>>();
      calls.push_back(done->get_future());
      ASSERT_TRUE(pool.submit(recording(done)));
    }
    for (auto& f : calls) {
      Call c = f.get();
      EXPECT_TRUE(c.had_store);
      EXPECT_TRUE(c.is_fake);
      EXPECT_EQ(c.why_not, ErrorCode::Ok);
    }
    pool.stop();
  }
  EXPECT_EQ(made.load(), 2) << "one store per worker, made once";
}

TEST(DbPool, StoreGivenToAJobIsUsable) {
  MetricsRegistry metrics;
  StorePool pool({1, 4, 1h}, fake_stores(), metrics);
  std::promise<ErrorCode> answer;
  auto f = answer.get_future();
  ASSERT_TRUE(pool.submit([&answer](Store* store, const Status&) {
    answer.set_value(store ? store->concert(1).status().code() : ErrorCode::Internal);
  }));
  EXPECT_EQ(f.get(), ErrorCode::NotFound);
}

TEST(DbPool, RefusesASubmitWhenTheWaitQueueIsFull) {
  MetricsRegistry metrics;
  StorePool pool({1, 1, 1h}, fake_stores(), metrics);
  EXPECT_EQ(pool.in_use(), 0);
  EXPECT_EQ(pool.waiting(), 0);

  Blocker blocker;
  ASSERT_TRUE(pool.submit(blocker.job()));
  blocker.wait_until_running();
  EXPECT_EQ(pool.in_use(), 1);
  EXPECT_EQ(pool.waiting(), 0);

  auto queued = std::make_shared<std::promise<Call>>();
  auto queued_call = queued->get_future();
  EXPECT_TRUE(pool.submit(recording(queued))) << "one job may wait";
  EXPECT_EQ(pool.waiting(), 1);

  bool refused_ran = false;
  EXPECT_FALSE(pool.submit([&refused_ran](Store*, const Status&) { refused_ran = true; })) << "the queue is full";
  EXPECT_EQ(pool.waiting(), 1);

  auto text = metrics.render();
  EXPECT_TRUE(has_line(text, "resv_db_pool_rejected_total{pool=\"read\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "resv_db_pool_in_use{pool=\"read\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "resv_db_pool_waiting{pool=\"read\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "resv_db_pool_size{pool=\"read\"} 1")) << text;

  blocker.release();
  Call c = queued_call.get();
  EXPECT_TRUE(c.had_store);
  EXPECT_EQ(c.why_not, ErrorCode::Ok);
  pool.stop();
  EXPECT_FALSE(refused_ran) << "a refused job is dropped, never run";
  EXPECT_EQ(pool.in_use(), 0);
  EXPECT_EQ(pool.waiting(), 0);
}

TEST(DbPool, JobThatWaitedTooLongGetsOverloadedInsteadOfAStore) {
  MetricsRegistry metrics;
  DbPool<Store, resv::test::ManualClock> pool({1, 4, 1ms}, fake_stores(), metrics);
  Blocker blocker;
  ASSERT_TRUE(pool.submit(blocker.job()));
  blocker.wait_until_running();

  auto late = std::make_shared<std::promise<Call>>();
  auto late_call = late->get_future();
  ASSERT_TRUE(pool.submit(recording(late)));
  resv::test::ManualClock::advance(20ms);  // the job ages in the queue behind the blocker
  blocker.release();

  Call c = late_call.get();
  EXPECT_FALSE(c.had_store);
  EXPECT_EQ(c.why_not, ErrorCode::Overloaded);
  EXPECT_GE(metrics.counter("resv_db_pool_timed_out_total", "", "pool=\"read\"").value(), 1u);
  pool.stop();
}

TEST(DbPool, StopRunsQueuedJobsThenJoins) {
  MetricsRegistry metrics;
  StorePool pool({1, 8, 1h}, fake_stores(), metrics);
  Blocker blocker;
  ASSERT_TRUE(pool.submit(blocker.job()));
  blocker.wait_until_running();

  std::atomic<int> ran{0}, ran_with_store{0};
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(pool.submit([&](Store* store, const Status& why_not) {
      ++ran;
      if (store && why_not.ok()) ++ran_with_store;
    }));
  EXPECT_EQ(pool.waiting(), 3);

  // Released from another thread so that stop() is (most likely) called while
  // jobs are still queued; the outcome must be the same either way.
  std::thread releaser([&blocker] {
    std::this_thread::sleep_for(20ms);
    blocker.release();
  });
  pool.stop();
  releaser.join();

  EXPECT_EQ(ran.load(), 3) << "queued jobs are finished, not dropped";
  EXPECT_EQ(ran_with_store.load(), 3);
  EXPECT_EQ(pool.in_use(), 0);
  EXPECT_EQ(pool.waiting(), 0);
  EXPECT_FALSE(pool.submit([](Store*, const Status&) {})) << "a stopped pool takes no more jobs";
  pool.stop();  // a second stop is harmless
}

TEST(DbPool, DestroyingThePoolCallsEveryQueuedJobOnce) {
  MetricsRegistry metrics;
  std::atomic<int> calls{0};
  std::thread releaser;
  Blocker blocker;
  {
    StorePool pool({1, 8, 1h}, fake_stores(), metrics);
    ASSERT_TRUE(pool.submit(blocker.job()));
    blocker.wait_until_running();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(pool.submit([&calls](Store*, const Status&) { ++calls; }));
    releaser = std::thread([&blocker] {
      std::this_thread::sleep_for(20ms);
      blocker.release();
    });
  }
  releaser.join();
  EXPECT_EQ(calls.load(), 3);
}

TEST(DbPool, JobThatThrowsDoesNotStopItsWorker) {
  MetricsRegistry metrics;
  StorePool pool({1, 4, 1h}, fake_stores(), metrics);
  ASSERT_TRUE(pool.submit([](Store*, const Status&) { throw std::runtime_error("job failed"); }));
  auto next = std::make_shared<std::promise<Call>>();
  auto next_call = next->get_future();
  ASSERT_TRUE(pool.submit(recording(next)));
  Call c = next_call.get();
  EXPECT_TRUE(c.had_store);
  EXPECT_EQ(c.why_not, ErrorCode::Ok);
  pool.stop();
  EXPECT_EQ(pool.in_use(), 0) << "the failed job released its worker";
}

}  // namespace
