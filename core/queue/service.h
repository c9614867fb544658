#pragma once
// The waiting room's background work, on its own thread and connection:
// - keeps the QueueView in step with the database: concerts and settings,
//   then the token rows changed since the view's change number (woken at
//   once by NOTIFY resv_queue, and at least every `interval`);
// - reports polls (last seen) in batches, never waiting for a row lock;
// - runs the admission controller when it holds the leader lock (a
//   session-level advisory lock: one leader among all servers on the
//   database; another takes over when its connection goes);
// - loads the token secret: the configured one, or the one stored in the
//   database (written by the first server), so every server verifies every
//   server's tokens.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "base/metrics.h"
#include "queue/view.h"

namespace resv {

struct QueueServiceOptions {
  std::string url;
  std::string secret;  // "" : shared through the database
  std::chrono::milliseconds interval{100};
  bool lead = true;    // false: never run the admission controller
};

class QueueService {
 public:
  QueueService(QueueServiceOptions options, QueueView& view, MetricsRegistry& metrics);
  ~QueueService();  // stop()
  void start();
  void stop();
  bool leader() const { return leader_.load(); }
  // True once the view has been filled from the database at least once.
  bool synced() const { return synced_.load(); }

 private:
  void run();
  QueueServiceOptions opts_;
  QueueView& view_;
  Counter& admitted_;
  Gauge& is_leader_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> leader_{false};
  std::atomic<bool> synced_{false};
  std::thread thread_;
};

}  // namespace resv
