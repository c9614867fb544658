#pragma once
// The outbox relay, on its own thread and connection: publishes the outbox's
// unpublished rows to Kafka, oldest first, and marks each published only
// after the broker acknowledged it (at least once: a crash between the two
// sends it again, with the same event id; consumers dedupe by it).
//
// One relay leads among all servers on a database (a session-level advisory
// lock, db/advisory_locks.h): a single publisher keeps each key's events in
// order, and the work is not done twice. Another server takes over within a
// second of the leader's session ending. Requests never wait for it: they
// only insert outbox rows. With the broker unreachable a batch fails after
// the delivery timeout, the backlog grows, and the relay tries again every
// `retry` until it drains.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/metrics.h"
#include "events/kafka.h"

namespace resv {

struct RelayOptions {
  std::string url;  // with the session's application_name (db/pg_text.h)
  std::string topic_prefix = "resv.";
  int batch = 5000;                                  // rows per round
  std::chrono::milliseconds idle_poll{10};           // how often an idle leader looks for new rows
  std::chrono::milliseconds retry{1000};             // after a round with failed deliveries
  std::chrono::milliseconds lead_retry{1000};        // how often a follower tries to lead
};

class Relay {
 public:
  Relay(RelayOptions options, std::unique_ptr<EventSink> sink, MetricsRegistry& metrics);
  ~Relay();  // stop()
  void start();
  // Finishes the round in flight (its marks are written), then leaves the
  // lead. Idempotent.
  void stop();
  bool leader() const { return leader_.load(); }

 private:
  void run();
  // Waits `d`, or less when stopped.
  void pause(std::chrono::milliseconds d);
  RelayOptions opts_;
  std::unique_ptr<EventSink> sink_;
  Counter& published_;
  Counter& delivery_errors_;
  Gauge& is_leader_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> leader_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace resv
