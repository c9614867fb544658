#pragma once
// The outbox relay, on its own thread and connection: publishes the outbox's
// unpublished rows to Kafka in windows of finished transactions, in id order
// within a window, and moves past them only after the broker acknowledged
// them: one row of state per batch, no write per event (resv_outbox_next,
// sql/functions/70_events.sql). The page after one on its way is sent
// behind it (two at most), so the producer does not wait for the database
// between pages, and the page after that is read meanwhile, on a second
// session (the leader's "relay reader"); a page is recorded only after
// every page before it. At least once: a crash between delivery and
// recording sends the page again, with the same event ids; consumers dedupe
// by them.
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
  // How often an idle leader looks for new rows; its own server's writes
  // wake it at once (wake()), so this is how soon other servers' are seen.
  std::chrono::milliseconds idle_poll{200};
  // Woken, it waits this long for more: under a stream of writes, a round
  // per few milliseconds of events rather than one per write.
  std::chrono::milliseconds gather{5};
  std::chrono::milliseconds retry{1000};             // after a round with failed deliveries
  std::chrono::milliseconds lead_retry{1000};        // how often a follower tries to lead
  // The session that reads the next page while the one before is on its
  // way (read-only); empty: `url`.
  std::string reader_url = {};
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
  // New outbox rows may have committed: an idle relay looks now. Cheap, any
  // thread.
  void wake();

 private:
  void run();
  // Waits `d`, or less when stopped (or, if `wakeable`, woken).
  void pause(std::chrono::milliseconds d, bool wakeable = false);
  RelayOptions opts_;
  std::unique_ptr<EventSink> sink_;
  Counter& published_;
  Counter& delivery_errors_;
  Gauge& is_leader_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> leader_{false};
  bool woken_ = false;  // under mu_
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace resv
