#pragma once
// Background maintenance on its own connection: releases expired holds in
// batches (SKIP LOCKED in SQL, so buyers and payments are never blocked),
// every `prune_interval` deletes Idempotency-Key answers, ended queue
// tokens and published outbox rows past their retention (in batches,
// likewise), and samples what
// readiness and /metrics need: database reachability, schema level and
// outbox backlog.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/metrics.h"
#include "booking/store.h"

namespace resv {

struct SweeperOptions {
  std::chrono::milliseconds interval{1000};
  int batch = 500;
  std::chrono::seconds prune_interval{60};
  Store::Retention retention;
};

class Sweeper {
 public:
  Sweeper(SweeperOptions options, std::unique_ptr<Store> store, MetricsRegistry& metrics);
  ~Sweeper();
  void start();
  void stop();
  // One pass: expire until fewer than a batch remain. Returns holds expired.
  int64_t sweep_once();
  // Prunes until fewer than a batch of each is past its retention; returns
  // what it deleted (stops at the first failure: the next round retries).
  Store::Pruned prune_once();
  // As of the last pass; false/-1 before the first one.
  bool db_reachable() const { return db_ok_.load(); }
  int schema_version() const { return schema_version_.load(); }
  // When the last pass that released every expired hold it found ended
  // (steady clock); none before the first.
  std::optional<std::chrono::steady_clock::time_point> last_pass() const {
    const int64_t ns = last_pass_ns_.load();
    if (ns == 0) return std::nullopt;
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns));
  }
  std::chrono::milliseconds interval() const { return opts_.interval; }
  // Why this binary cannot use the database's schema (not migrated yet, or
  // refused: see db/migrations.h); "" when it can.
  std::string schema_problem() const {
    std::lock_guard lock(schema_mu_);
    return schema_problem_;
  }

 private:
  void run();
  SweeperOptions opts_;
  std::unique_ptr<Store> store_;
  Counter& expired_;
  Counter& pruned_keys_;
  Counter& pruned_tokens_;
  Counter& pruned_outbox_;
  Gauge& backlog_;
  Gauge& oldest_unpublished_;
  std::atomic<bool> db_ok_{false};
  std::atomic<int64_t> last_pass_ns_{0};
  std::atomic<int> schema_version_{-1};
  mutable std::mutex schema_mu_;
  std::string schema_problem_;  // guarded by schema_mu_
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace resv
