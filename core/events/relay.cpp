#include "events/relay.h"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "db/advisory_locks.h"
#include "db/listen_loop.h"
#include "db/pg_text.h"

namespace resv {
namespace {

std::vector<EventMessage> next_batch(pqxx::connection& conn, int limit, const std::string& topic_prefix) {
  pqxx::nontransaction tx(conn);
  std::vector<EventMessage> out;
  for (const auto& r : tx.exec_prepared("relay_next", limit)) {
    OutboxEvent e{r[0].as<int64_t>(), r[1].as<std::string>(), r[2].as<int64_t>(), r[3].as<std::string>(),
                  r[4].as<std::string>()};
    out.push_back(to_message(e, topic_prefix));
  }
  return out;
}

void mark_published(pqxx::connection& conn, const std::vector<int64_t>& ids) {
  pqxx::nontransaction tx(conn);
  tx.exec_prepared("relay_mark", pg_int_array(ids));
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

void Relay::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [this] { return stop_.load(); });
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
        conn.prepare("relay_next", "SELECT * FROM resv_outbox_next($1)");
        conn.prepare("relay_mark", "SELECT resv_outbox_mark_published($1::bigint[])");
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
          auto batch = next_batch(conn, opts_.batch, opts_.topic_prefix);
          if (batch.empty()) {
            pause(opts_.idle_poll);
            continue;
          }
          auto deliveries = sink_->publish(batch);
          auto ids = publishable_ids(batch, deliveries);
          if (!ids.empty()) mark_published(conn, ids);
          published_.inc(ids.size());
          const size_t failed = batch.size() - ids.size();
          if (failed == 0) {
            if (failing) spdlog::info("msg=\"the relay publishes again\" events={}", ids.size());
            failing = false;
            continue;
          }
          delivery_errors_.inc(failed);
          if (!failing) {
            std::string why;
            for (const auto& d : deliveries)
              if (!d.delivered) {
                why = d.error;
                break;
              }
            spdlog::warn(
                "msg=\"events not acknowledged by the broker; the backlog grows until it answers\" failed={} "
                "published={} error=\"{}\" hint=\"resv events status\"",
                failed, ids.size(), why);
          }
          failing = true;
          pause(opts_.retry);
        }
      },
      not_leading);
  not_leading();
}

}  // namespace resv
