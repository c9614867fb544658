#pragma once
// A bounded pool of blocking database workers. Each worker thread owns one
// Session (one connection, e.g. booking/pg_store.h's PgStore; it must have
// `Status warm_up()`). Jobs wait in a short queue; when the queue is full,
// submit() refuses at once so the caller can answer 503 instead of letting
// requests wait seconds behind each other. A job that waited longer than
// `max_wait` is not run: it receives Overloaded instead.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "base/metrics.h"
#include "base/status.h"

namespace resv {

struct DbPoolOptions {
  int size = 16;          // connections = worker threads
  int queue_limit = 256;  // jobs that may wait while every worker is busy
  std::chrono::milliseconds max_wait{500};
  bool warm_up = true;  // each worker connects and warms up before taking jobs
  std::string name = "read";  // the metrics' pool="..." label
};

// `Clock` times the waits (a test's own clock ages a job without sleeping).
template <class Session, class Clock = std::chrono::steady_clock>
class DbPool {
 public:
  // Called on a worker thread with its Session, or with nullptr and the
  // reason (Overloaded after waiting longer than max_wait).
  using Job = std::function<void(Session* session, const Status& why_not)>;
  using SessionFactory = std::function<std::unique_ptr<Session>()>;

  DbPool(DbPoolOptions options, SessionFactory factory, MetricsRegistry& metrics);
  ~DbPool() { stop(); }

  // False (and the job is dropped) when the wait queue is full.
  bool submit(Job job);
  // Refuses new jobs, runs the queued ones, joins the workers. Idempotent.
  void stop();

  int size() const { return opts_.size; }
  int in_use() const {
    std::lock_guard lock(mu_);
    return busy_;
  }
  int waiting() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(queue_.size());
  }

 private:
  void worker();
  std::string label() const { return "pool=\"" + opts_.name + "\""; }
  struct Item {
    Job job;
    typename Clock::time_point enqueued;
  };

  DbPoolOptions opts_;
  SessionFactory factory_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  int busy_ = 0;
  bool stopping_ = false;
  std::mutex join_mu_;
  std::vector<std::thread> threads_;
  Gauge& in_use_gauge_;
  Gauge& waiting_gauge_;
  Histogram& wait_seconds_;
  Counter& rejected_;
  Counter& timed_out_;
};

template <class Session, class Clock>
DbPool<Session, Clock>::DbPool(DbPoolOptions options, SessionFactory factory, MetricsRegistry& metrics)
    : opts_(options),
      factory_(std::move(factory)),
      in_use_gauge_(metrics.gauge("resv_db_pool_in_use", "Database connections running a job.", label())),
      waiting_gauge_(metrics.gauge("resv_db_pool_waiting", "Jobs waiting for a database connection.", label())),
      wait_seconds_(
          metrics.histogram("resv_db_pool_wait_seconds", "Time a job waited for a database connection.", label())),
      rejected_(metrics.counter("resv_db_pool_rejected_total", "Jobs refused because the wait queue was full.", label())),
      timed_out_(
          metrics.counter("resv_db_pool_timed_out_total", "Jobs dropped after waiting longer than max wait.", label())) {
  // Plain gauges, set under the lock: nothing in the registry points back
  // into the pool, so rendering after the pool is gone is safe.
  metrics.gauge("resv_db_pool_size", "Database connections in the pool.", label()).set(opts_.size);
  for (int i = 0; i < opts_.size; ++i) threads_.emplace_back([this] { worker(); });
}

template <class Session, class Clock>
bool DbPool<Session, Clock>::submit(Job job) {
  {
    std::lock_guard lock(mu_);
    // Full when every worker is busy and queue_limit jobs already wait.
    if (stopping_ || busy_ + static_cast<int>(queue_.size()) >= opts_.size + opts_.queue_limit) {
      rejected_.inc();
      return false;
    }
    queue_.push_back({std::move(job), Clock::now()});
    waiting_gauge_.set(static_cast<int64_t>(queue_.size()));
  }
  cv_.notify_one();
  return true;
}

template <class Session, class Clock>
void DbPool<Session, Clock>::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  std::lock_guard join(join_mu_);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

template <class Session, class Clock>
void DbPool<Session, Clock>::worker() {
  std::unique_ptr<Session> session = factory_();
  // Best effort: a database that is down now is reconnected on first use.
  if (opts_.warm_up) session->warm_up();
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      item = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
      waiting_gauge_.set(static_cast<int64_t>(queue_.size()));
      in_use_gauge_.set(busy_);
    }
    auto waited = Clock::now() - item.enqueued;
    wait_seconds_.observe(std::chrono::duration<double>(waited).count());
    try {
      if (waited > opts_.max_wait) {
        timed_out_.inc();
        item.job(nullptr, Status::Overloaded("the server is overloaded; retry shortly"));
      } else {
        item.job(session.get(), Status::Ok());
      }
    } catch (const std::exception& e) {
      spdlog::error("msg=\"database job failed\" error=\"{}\"", e.what());
    }
    std::lock_guard lock(mu_);
    --busy_;
    in_use_gauge_.set(busy_);
  }
}

}  // namespace resv
