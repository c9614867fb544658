#pragma once
// A bounded pool of database workers. Each worker thread owns one Store
// (one connection). Jobs wait in a short queue; when the queue is full,
// submit() refuses at once so the caller can answer 503 instead of letting
// requests wait seconds behind each other. A job that waited longer than
// `max_wait` is not run: it receives Overloaded instead.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <string>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "metrics.h"
#include "store.h"

namespace resv {

struct DbPoolOptions {
  int size = 16;          // connections = worker threads
  int queue_limit = 256;  // jobs that may wait while every worker is busy
  std::chrono::milliseconds max_wait{500};
  bool warm_up = true;  // each worker connects and warms up before taking jobs
  std::string name = "read";  // the metrics' pool="..." label
};

class DbPool {
 public:
  // Called on a worker thread with its Store, or with nullptr and the
  // reason (Overloaded after waiting longer than max_wait).
  using Job = std::function<void(Store* store, const Status& why_not)>;
  using StoreFactory = std::function<std::unique_ptr<Store>()>;

  DbPool(DbPoolOptions options, StoreFactory factory, MetricsRegistry& metrics);
  ~DbPool();  // stop()

  // False (and the job is dropped) when the wait queue is full.
  bool submit(Job job);
  // Refuses new jobs, runs the queued ones, joins the workers. Idempotent.
  void stop();

  int size() const { return opts_.size; }
  int in_use() const;
  int waiting() const;

 private:
  void worker();
  std::string label() const { return "pool=\"" + opts_.name + "\""; }
  struct Item {
    Job job;
    std::chrono::steady_clock::time_point enqueued;
  };

  DbPoolOptions opts_;
  StoreFactory factory_;
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

}  // namespace resv
