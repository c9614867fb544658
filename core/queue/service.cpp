#include "queue/service.h"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "db/advisory_locks.h"
#include "db/listen_loop.h"
#include "db/pg_text.h"

namespace resv {
namespace {

using Clock = std::chrono::steady_clock;

std::optional<SysTime> from_epoch(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return SysTime(std::chrono::duration_cast<SysTime::duration>(std::chrono::duration<double>(f.as<double>())));
}

void load_secret(pqxx::connection& conn, QueueView& view) {
  pqxx::work w(conn);
  w.exec_params("INSERT INTO queue_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
                new_queue_secret());
  auto secret = w.exec1("SELECT secret FROM queue_secret WHERE id = 1")[0].as<std::string>();
  w.commit();
  view.set_secret(secret);
}

void sync(pqxx::connection& conn, QueueView& view) {
  pqxx::read_transaction tx(conn);
  std::vector<QueueConcertRow> rows;
  for (const auto& r : tx.exec(
           "SELECT concert_id, enabled, paused, change_no, extract(epoch FROM opens_at)::float8,"
           " (SELECT count(*) FROM queue_tokens t WHERE t.concert_id = q.concert_id"
           "    AND t.admitted_at > now() - interval '1 minute')"
           " FROM queue_concerts q")) {
    QueueConcertRow row;
    row.concert_id = r[0].as<int64_t>();
    row.enabled = r[1].as<bool>();
    row.paused = r[2].as<bool>();
    row.change_no = r[3].as<int64_t>();
    row.opens_at = from_epoch(r[4]);
    row.admitted_last_minute = r[5].as<int64_t>();
    rows.push_back(row);
  }
  std::unordered_map<int64_t, int64_t> schedules;
  for (const auto& r : tx.exec("SELECT s.id, s.concert_id FROM schedules s"
                               " JOIN queue_concerts q ON q.concert_id = s.concert_id"))
    schedules.emplace(r[0].as<int64_t>(), r[1].as<int64_t>());
  view.set_concerts(rows, std::move(schedules));
  for (const auto& row : rows) {
    int64_t since = view.synced_change_no(row.concert_id);
    if (row.change_no <= since) continue;
    std::vector<QueueTokenRow> tokens;
    for (const auto& r : tx.exec_params(
             "SELECT user_id, nonce, coalesce(position, 0), status, extract(epoch FROM expires_at)::float8,"
             " change_no FROM queue_tokens WHERE concert_id = $1 AND change_no > $2",
             row.concert_id, since)) {
      QueueTokenRow t;
      t.user_id = r[0].as<int64_t>();
      t.nonce = r[1].as<int64_t>();
      t.position = r[2].as<int64_t>();
      t.state = token_state_from(r[3].c_str()).value_or(TokenState::Expired);
      t.expires_at = from_epoch(r[4]);
      t.change_no = r[5].as<int64_t>();
      tokens.push_back(t);
    }
    view.apply_tokens(row.concert_id, tokens, row.change_no);
  }
}

// Polls of waiting users, as last_seen_at. SKIP LOCKED: a row the admission
// controller is changing right now is skipped (its user polls again soon).
void flush_seen(pqxx::connection& conn, QueueView& view) {
  auto seen = view.take_seen();
  if (seen.empty()) return;
  std::vector<int64_t> concerts, users;
  for (const auto& [c, u] : seen) {
    concerts.push_back(c);
    users.push_back(u);
  }
  pqxx::work w(conn);
  w.exec_params(
      "UPDATE queue_tokens t SET last_seen_at = now() FROM ("
      "  SELECT q.concert_id, q.user_id FROM queue_tokens q"
      "    JOIN unnest($1::bigint[], $2::bigint[]) AS s(c, u) ON q.concert_id = s.c AND q.user_id = s.u"
      "   WHERE q.status = 'WAITING' FOR UPDATE OF q SKIP LOCKED) x"
      " WHERE t.concert_id = x.concert_id AND t.user_id = x.user_id",
      pg_int_array(concerts), pg_int_array(users));
  w.commit();
}

int64_t tick(pqxx::connection& conn, int64_t concert) {
  pqxx::work w(conn);
  auto r = w.exec_params1("SELECT resv_queue_tick($1)::text", concert);
  w.commit();
  if (r[0].is_null()) return 0;
  auto j = nlohmann::json::parse(r[0].as<std::string>(), nullptr, false);
  if (j.is_object() && j.contains("admitted") && j["admitted"].is_number_integer()) return j["admitted"].get<int64_t>();
  return 0;
}

}  // namespace

QueueService::QueueService(QueueServiceOptions options, QueueView& view, MetricsRegistry& metrics)
    : opts_(std::move(options)),
      view_(view),
      admitted_(metrics.counter("resv_queue_admitted_total", "Waiting-room users admitted by this server's controller.")),
      is_leader_(metrics.gauge("resv_queue_leader", "1 while this server runs the waiting room's admission controller.")) {
  if (!opts_.secret.empty()) view_.set_secret(opts_.secret);
}

QueueService::~QueueService() { stop(); }

void QueueService::start() { thread_ = std::thread([this] { run(); }); }

void QueueService::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void QueueService::run() {
  auto not_leading = [this] {
    leader_ = false;
    is_leader_.set(0);
  };
  // A notification only wakes the loop: a sync reads what changed.
  run_listening(
      {opts_.url, {"resv_queue"}, "waiting room"}, stop_, {},
      [&](pqxx::connection& conn) {
        if (view_.secret().empty()) load_secret(conn, view_);
        auto next_tick = Clock::now();
        auto next_try_lead = Clock::now();
        while (!stop_) {
          auto now = Clock::now();
          if (opts_.lead && !leader_ && now >= next_try_lead) {
            leader_ = try_advisory_lock(conn, advisory::kQueueLeader);
            is_leader_.set(leader_ ? 1 : 0);
            if (leader_) spdlog::info("msg=\"this server now runs the waiting room's admission controller\"");
            next_try_lead = now + std::chrono::seconds(1);
          }
          if (leader_ && now >= next_tick) {
            for (const auto& c : view_.concerts())
              if (c.enabled) admitted_.inc(static_cast<uint64_t>(tick(conn, c.concert_id)));
            next_tick = now + opts_.interval;
            pqxx::nontransaction(conn).exec("SELECT resv_queue_refresh_statistics()");
          }
          sync(conn, view_);
          flush_seen(conn, view_);
          synced_ = true;
          auto wait = std::chrono::duration_cast<std::chrono::microseconds>(
              leader_ ? std::max(next_tick - Clock::now(), Clock::duration::zero()) : opts_.interval);
          conn.await_notification(0, static_cast<long>(wait.count()));
          // A burst of notifications (issues) becomes one sync per 20 ms.
          std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(opts_.interval, std::chrono::milliseconds(20)));
        }
      },
      not_leading);
  not_leading();
}

}  // namespace resv
