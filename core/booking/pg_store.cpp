#include "booking/pg_store.h"

#include <poll.h>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "base/logfmt.h"
#include "base/flat_json.h"
#include "booking/bookings.h"
#include "db/migrations.h"
#include "db/pg_text.h"
#include "db/statements.h"

namespace resv {

struct PgStore::Impl {
  PgStoreOptions opts;
  std::unique_ptr<pqxx::connection> conn;
  std::chrono::steady_clock::time_point last_failed_connect{};

  // An idle session has nothing to read unless the server ended it (its
  // FATAL message and EOF after pg_terminate_backend or a restart): then it
  // is replaced before a statement is sent on it, not failed by one.
  static bool ended_while_idle(const pqxx::connection& c) {
    pollfd p{c.sock(), POLLIN, 0};
    return ::poll(&p, 1, 0) != 0;
  }

  Status connect() {
    if (conn && conn->is_open() && !ended_while_idle(*conn)) return Status::Ok();
    conn.reset();
    auto now = std::chrono::steady_clock::now();
    if (last_failed_connect.time_since_epoch().count() != 0 && now - last_failed_connect < opts.reconnect_backoff)
      return Status::DbUnavailable("the database is unreachable; retry shortly");
    try {
      conn = std::make_unique<pqxx::connection>(with_connect_timeout(opts.url, 2));
      pqxx::nontransaction tx(*conn);
      tx.exec(session_settings(static_cast<int>(opts.statement_timeout.count()),
                               static_cast<int>(opts.lock_timeout.count())));
      for (const auto& st : statements()) conn->prepare(st.name, st.sql);
      last_failed_connect = {};
      return Status::Ok();
    } catch (const std::exception& e) {
      conn.reset();
      last_failed_connect = now;
      spdlog::warn("msg=\"database connection failed\" error={}", logfmt(e.what()));
      return Status::DbUnavailable("the database is unreachable; retry shortly");
    }
  }

  // Runs `fn(tx)` in an autocommit transaction: one statement, one round trip.
  template <class T, class F>
  Result<T> run(F&& fn) {
    if (auto s = connect(); !s.ok()) return s;
    try {
      pqxx::nontransaction tx(*conn);
      return fn(tx);
    } catch (const pqxx::broken_connection& e) {
      conn.reset();
      spdlog::warn("msg=\"database connection lost\" error={}", logfmt(e.what()));
      return Status::DbUnavailable("lost the database connection; retry shortly");
    } catch (const pqxx::sql_error& e) {
      bool alive = conn && conn->is_open();
      if (!alive) conn.reset();
      return status_from_sql_error(e.sqlstate(), e.what(), alive);
    } catch (const std::exception& e) {
      spdlog::error("msg=\"store failure\" error={}", logfmt(e.what()));
      return Status::Internal(std::string("unexpected database answer: ") + e.what());
    }
  }

};

PgStore::PgStore(PgStoreOptions options) : impl_(std::make_unique<Impl>()) { impl_->opts = std::move(options); }
PgStore::~PgStore() = default;

Result<std::vector<Concert>> PgStore::concerts() {
  return impl_->run<std::vector<Concert>>([](pqxx::transaction_base& tx) {
    std::vector<Concert> out;
    for (const auto& row : tx.exec_prepared("concerts"))
      out.push_back({row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<std::string>()});
    return out;
  });
}

Result<Concert> PgStore::concert(int64_t id) {
  return impl_->run<Concert>([&](pqxx::transaction_base& tx) -> Result<Concert> {
    auto r = tx.exec_prepared("concert", id);
    if (r.empty()) return Status::NotFound("concert " + std::to_string(id) + " does not exist");
    return Concert{r[0][0].as<int64_t>(), r[0][1].as<std::string>(), r[0][2].as<std::string>()};
  });
}

Result<std::vector<Schedule>> PgStore::schedules(int64_t concert_id) {
  return impl_->run<std::vector<Schedule>>([&](pqxx::transaction_base& tx) -> Result<std::vector<Schedule>> {
    if (tx.exec_prepared("concert", concert_id).empty())
      return Status::NotFound("concert " + std::to_string(concert_id) + " does not exist");
    std::vector<Schedule> out;
    for (const auto& row : tx.exec_prepared("schedules", concert_id))
      out.push_back({row[0].as<int64_t>(), row[1].as<int64_t>(), row[2].as<std::string>(), row[3].as<std::string>(),
                     row[4].as<int64_t>(), row[5].as<int64_t>(), {}});
    for (const auto& row : tx.exec_prepared("pools_of_concert", concert_id)) {
      PoolInfo p{row[0].as<int64_t>(), row[1].as<int64_t>(), row[2].as<std::string>(), row[3].as<std::string>(),
                 row[4].as<int64_t>(), row[5].as<int64_t>(),   row[6].as<int64_t>(),     row[7].as<int>(),
                 row[8].as<int>(),     row[9].as<int>()};
      for (auto& s : out)
        if (s.id == p.schedule_id) s.pools.push_back(p);
    }
    return out;
  });
}

Result<std::vector<Seat>> PgStore::seats(int64_t schedule_id, bool available_only) {
  return impl_->run<std::vector<Seat>>([&](pqxx::transaction_base& tx) -> Result<std::vector<Seat>> {
    if (tx.exec_prepared("schedule_exists", schedule_id).empty())
      return Status::NotFound("schedule " + std::to_string(schedule_id) + " does not exist");
    std::vector<Seat> out;
    auto rows = tx.exec_prepared(available_only ? "seats_available" : "seats", schedule_id);
    out.reserve(rows.size());
    for (const auto& row : rows)
      out.push_back({row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<int64_t>(),
                     row[4].as<std::string>()});
    return out;
  });
}

Result<int64_t> PgStore::expire_holds(int batch) {
  return impl_->run<int64_t>(
      [&](pqxx::transaction_base& tx) { return tx.exec_prepared1("expire_holds", batch)[0].as<int64_t>(); });
}

Result<Store::Pruned> PgStore::prune(const Retention& retention, int batch) {
  return impl_->run<Pruned>([&](pqxx::transaction_base& tx) -> Result<Pruned> {
    auto text = tx.exec_prepared1("prune", retention.idempotency_keys.count(), retention.queue_tokens.count(),
                                  retention.outbox.count(), batch)[0]
                    .as<std::string>();
    FlatObject answer;
    auto keys = answer.read(text) == FlatObject::Read::Object ? answer.integer("idempotencyKeys") : std::nullopt;
    auto tokens = answer.integer("queueTokens");
    auto outbox = answer.integer("outbox");
    if (!keys || !tokens || !outbox) return Status::Internal("unexpected answer of resv_prune: " + text);
    return Pruned{*keys, *tokens, *outbox};
  });
}

Result<Store::Backlog> PgStore::outbox_backlog() {
  return impl_->run<Backlog>([&](pqxx::transaction_base& tx) {
    auto r = tx.exec_prepared1("outbox_backlog");
    return Backlog{r[0].as<int64_t>(), r[1].as<double>()};
  });
}

Status PgStore::warm_up() {
  auto r = impl_->run<int>([&](pqxx::transaction_base& tx) {
    for (const auto& call : warm_up_calls()) {
      std::vector<const char*> params;
      for (const auto& p : call.params) params.push_back(p ? p->c_str() : nullptr);
      auto answer = tx.exec_prepared(call.statement, pqxx::prepare::make_dynamic_params(params));
      check_warm_up_answer(call, answer.empty() || answer[0][0].is_null() ? nullptr : answer[0][0].c_str());
    }
    return 0;
  });
  return r.ok() ? Status::Ok() : r.status();
}

Result<MigrationState> PgStore::schema_state() {
  return impl_->run<MigrationState>([](pqxx::transaction_base& tx) { return migration_state(tx); });
}

}  // namespace resv
