#include "events/relay.h"

#include <algorithm>
#include <future>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "db/advisory_locks.h"
#include "db/listen_loop.h"

namespace resv {
namespace {

struct Batch {
  std::vector<EventMessage> messages;  // in the order to publish them
  int64_t replay = 0;                  // the replay they belong to; 0: the current window
};

// The next events to publish; with `after`, only the current window's after
// that id (the page after one still in flight; never a replay's, and the
// window does not move on).
Batch next_batch(pqxx::connection& conn, int limit, const std::string& topic_prefix, int64_t after = 0) {
  pqxx::nontransaction tx(conn);
  Batch out;
  auto rows = tx.exec_prepared("relay_next", limit, after);
  out.messages.reserve(rows.size());
  for (const auto& r : rows) {
    OutboxEvent e{r[0].as<int64_t>(),     r[1].as<std::string>(), r[2].as<int64_t>(),
                  r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>()};
    out.messages.push_back(to_message(e, topic_prefix));
    out.replay = r[6].as<int64_t>();
  }
  return out;
}

// The broker acknowledged the batch's first `n` events.
void mark_published(pqxx::connection& conn, const Batch& batch, size_t n) {
  pqxx::nontransaction tx(conn);
  tx.exec_prepared("relay_mark", batch.replay, batch.messages[n - 1].id, static_cast<int64_t>(n));
}

}  // namespace

Relay::Relay(RelayOptions options, std::unique_ptr<EventSink> sink, MetricsRegistry& metrics)
    : opts_(std::move(options)),
      sink_(std::move(sink)),
      published_(metrics.counter("resv_relay_published_total",
                                 "Outbox events this server's relay published and marked (broker acknowledged).")),
      delivery_errors_(metrics.counter("resv_relay_delivery_errors_total",
                                       "Events the broker did not acknowledge in time (sent again later).")),
      is_leader_(metrics.gauge("resv_relay_leader", "1 while this server's relay publishes the outbox.")) {}

Relay::~Relay() { stop(); }

void Relay::start() { thread_ = std::thread([this] { run(); }); }

void Relay::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Relay::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Relay::pause(std::chrono::milliseconds d, bool wakeable) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [&] { return stop_.load() || (wakeable && woken_); });
  if (!wakeable || !woken_) return;
  cv_.wait_for(lock, opts_.gather, [&] { return stop_.load(); });
  woken_ = false;
}

void Relay::run() {
  auto not_leading = [this] {
    leader_ = false;
    is_leader_.set(0);
  };
  bool failing = false;  // in an outage: logged once when it starts, once when it ends
  run_listening(
      {opts_.url, {}, "outbox relay"}, stop_, {},
      [&](pqxx::connection& conn) {
        conn.prepare("relay_next", "SELECT * FROM resv_outbox_next($1, $2)");
        conn.prepare("relay_mark", "SELECT resv_outbox_mark_published($1, $2, $3)");
        Batch batch;  // read while the one before was in flight, or empty
        while (!stop_) {
          if (!leader_) {
            leader_ = try_advisory_lock(conn, advisory::kOutboxRelay);
            is_leader_.set(leader_ ? 1 : 0);
            if (!leader_) {
              pause(opts_.lead_retry);
              continue;
            }
            spdlog::info("msg=\"this server's relay now publishes the outbox\"");
          }
          if (batch.messages.empty()) batch = next_batch(conn, opts_.batch, opts_.topic_prefix);
          if (batch.messages.empty()) {
            pause(opts_.idle_poll, true);
            continue;
          }
          // While the broker acknowledges a full page of the window, the next
          // page is read (and its messages built): the two overlap.
          auto in_flight = std::async(std::launch::async, [&] { return sink_->publish(batch.messages); });
          Batch next;
          if (batch.replay == 0 && batch.messages.size() == static_cast<size_t>(opts_.batch))
            next = next_batch(conn, opts_.batch, opts_.topic_prefix, batch.messages.back().id);
          auto deliveries = in_flight.get();
          const size_t published = delivered_prefix(deliveries);
          if (published > 0) mark_published(conn, batch, published);
          published_.inc(published);
          if (published == batch.messages.size()) {
            if (failing) spdlog::info("msg=\"the relay publishes again\" events={}", published);
            failing = false;
            batch = std::move(next);
            continue;
          }
          // A message without a report counts as not delivered.
          const auto failed = batch.messages.size() - deliveries.size() +
                              static_cast<size_t>(std::count_if(deliveries.begin(), deliveries.end(),
                                                                [](const Delivery& d) { return !d.delivered; }));
          delivery_errors_.inc(failed);
          if (!failing) {
            const std::string why = published < deliveries.size() ? deliveries[published].error : "no delivery report";
            spdlog::warn(
                "msg=\"events not acknowledged by the broker; the backlog grows until it answers\" failed={} "
                "published={} error=\"{}\" hint=\"resv events status\"",
                failed, published, why);
          }
          failing = true;
          batch = {};  // read again from where the acknowledged part ends
          pause(opts_.retry);
        }
      },
      not_leading);
  not_leading();
}

}  // namespace resv
