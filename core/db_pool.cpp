#include "db_pool.h"

#include <spdlog/spdlog.h>

namespace resv {

DbPool::DbPool(DbPoolOptions options, StoreFactory factory, MetricsRegistry& metrics)
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

DbPool::~DbPool() { stop(); }

bool DbPool::submit(Job job) {
  {
    std::lock_guard lock(mu_);
    // Full when every worker is busy and queue_limit jobs already wait.
    if (stopping_ || busy_ + static_cast<int>(queue_.size()) >= opts_.size + opts_.queue_limit) {
      rejected_.inc();
      return false;
    }
    queue_.push_back({std::move(job), std::chrono::steady_clock::now()});
    waiting_gauge_.set(static_cast<int64_t>(queue_.size()));
  }
  cv_.notify_one();
  return true;
}

void DbPool::stop() {
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

int DbPool::in_use() const {
  std::lock_guard lock(mu_);
  return busy_;
}

int DbPool::waiting() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(queue_.size());
}

void DbPool::worker() {
  std::unique_ptr<Store> store = factory_();
  // Best effort: a database that is down now is reconnected on first use.
  if (opts_.warm_up) store->warm_up();
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
    auto waited = std::chrono::steady_clock::now() - item.enqueued;
    wait_seconds_.observe(std::chrono::duration<double>(waited).count());
    try {
      if (waited > opts_.max_wait) {
        timed_out_.inc();
        item.job(nullptr, Status::Overloaded("the server is overloaded; retry shortly"));
      } else {
        item.job(store.get(), Status::Ok());
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
