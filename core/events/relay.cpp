#include "events/relay.h"

#include <algorithm>
#include <deque>
#include <future>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "base/logfmt.h"
#include "base/iso_time.h"
#include "db/advisory_locks.h"
#include "db/listen_loop.h"
#include "db/pg_text.h"

namespace resv {
namespace {

struct Batch {
  MessageBatch page;  // in the order to publish them
  int64_t replay = 0;  // the replay they belong to; 0: the current window
  const std::vector<EventMessage>& messages() const { return page.messages(); }
};

constexpr const char* kReadPage = "SELECT * FROM resv_outbox_next($1, $2)";

// The next events to publish, as rows of resv_outbox_next; with `after`,
// only the current window's after that id (the page after one still in
// flight; never a replay's, and the window does not move on).
pqxx::result read_page(pqxx::connection& conn, int limit, int64_t after = 0) {
  pqxx::nontransaction tx(conn);
  return tx.exec_prepared("relay_next", limit, after);
}

// Its columns: id, aggregate_type, aggregate_id, event_type, occurred_at_ms, payload, replay.
Batch to_batch(const pqxx::result& rows, const std::string& topic_prefix) {
  Batch out;
  int64_t last_ms = -1;
  std::string occurred;  // last_ms formatted: the rows of one transaction share it
  for (const auto& r : rows) {
    if (const auto ms = r[4].as<int64_t>(); ms != last_ms) {
      occurred = iso_utc(SysTime{std::chrono::milliseconds(ms)});
      last_ms = ms;
    }
    auto text = [&r](int i) { return std::string_view(r[i].c_str(), r[i].size()); };
    OutboxEvent e{r[0].as<int64_t>(), text(1), r[2].as<int64_t>(), text(3), occurred, text(5)};
    out.page.add(e, topic_prefix);
    out.replay = r[6].as<int64_t>();
  }
  return out;
}

// The broker acknowledged the batch's first `n` events.
void mark_published(pqxx::connection& conn, const Batch& batch, size_t n) {
  pqxx::nontransaction tx(conn);
  tx.exec_prepared("relay_mark", batch.replay, batch.messages()[n - 1].id, static_cast<int64_t>(n));
}

// A batch sent, waiting for the broker's acknowledgement.
struct Sent {
  Batch batch;
  std::unique_ptr<EventSink::Flight> flight;
};

// Events of `batch` the broker did not acknowledge (a message without a
// report counts as not delivered).
size_t failed_count(const Batch& batch, const std::vector<Delivery>& deliveries) {
  return batch.messages().size() - deliveries.size() +
         static_cast<size_t>(std::count_if(deliveries.begin(), deliveries.end(),
                                           [](const Delivery& d) { return !d.delivered; }));
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
        conn.prepare("relay_next", kReadPage);
        conn.prepare("relay_mark", "SELECT resv_outbox_mark_published($1, $2, $3)");
        std::deque<Sent> sent;  // oldest first; at most two
        // The page after the newest one read, read on a session of its own
        // as soon as that one's rows arrived, while this thread turns them
        // into messages, sends them and waits for the broker: the database's
        // work on a page overlaps everything done with the page before.
        // Declared after `reader`, so that a read still running ends before
        // its session goes.
        std::unique_ptr<pqxx::connection> reader;
        std::future<pqxx::result> ahead;
        // A full page of the window may have more behind it.
        auto read_after = [&](const pqxx::result& rows) {
          if (stop_ || rows.size() != static_cast<size_t>(opts_.batch) || rows.back()[6].as<int64_t>() != 0) return;
          if (!reader) {
            reader = std::make_unique<pqxx::connection>(
                with_connect_timeout(opts_.reader_url.empty() ? opts_.url : opts_.reader_url, 2));
            reader->prepare("relay_next", kReadPage);
          }
          ahead = std::async(std::launch::async, [&, after = rows.back()[0].as<int64_t>()] {
            return read_page(*reader, opts_.batch, after);
          });
        };
        auto send = [&](const pqxx::result& rows) {
          read_after(rows);
          Batch b = to_batch(rows, opts_.topic_prefix);
          auto flight = sink_->send(b.messages());
          sent.push_back({std::move(b), std::move(flight)});
        };
        // On stop, what was sent is still waited for and marked.
        while (!stop_ || !sent.empty()) {
          if (!leader_) {
            leader_ = try_advisory_lock(conn, advisory::kOutboxRelay);
            is_leader_.set(leader_ ? 1 : 0);
            if (!leader_) {
              pause(opts_.lead_retry);
              continue;
            }
            spdlog::info("msg=\"this server's relay now publishes the outbox\"");
          }
          if (sent.empty()) {
            const pqxx::result rows = read_page(conn, opts_.batch);
            if (rows.empty()) {
              pause(opts_.idle_poll, true);
              continue;
            }
            send(rows);
          }
          // While the broker acknowledges a full page of the window, the
          // page after it is on its way behind it: the producer never runs
          // dry between pages.
          if (sent.size() == 1 && ahead.valid() && !stop_)
            if (const pqxx::result rows = ahead.get(); !rows.empty()) send(rows);
          Sent oldest = std::move(sent.front());
          sent.pop_front();
          auto deliveries = sink_->wait(std::move(oldest.flight));
          const size_t published = delivered_prefix(deliveries);
          if (published > 0) mark_published(conn, oldest.batch, published);
          published_.inc(published);
          if (published == oldest.batch.messages().size()) {
            if (failing) spdlog::info("msg=\"the relay publishes again\" events={}", published);
            failing = false;
            continue;
          }
          // What was sent behind it is sent again from the failure on, after
          // its own reports (so that the producer holds nothing of it).
          size_t failed = failed_count(oldest.batch, deliveries);
          for (auto& later : sent) failed += failed_count(later.batch, sink_->wait(std::move(later.flight)));
          sent.clear();
          ahead = {};  // read after what is sent again (waits for the read)
          delivery_errors_.inc(failed);
          if (!failing) {
            const std::string why = published < deliveries.size() ? deliveries[published].error : "no delivery report";
            spdlog::warn(
                "msg=\"events not acknowledged by the broker; the backlog grows until it answers\" failed={} "
                "published={} error={} hint=\"resv events status\"",
                failed, published, logfmt(why));
          }
          failing = true;
          pause(opts_.retry);
        }
      },
      not_leading);
  not_leading();
}

}  // namespace resv
