#include "pg_store.h"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "db_json.h"

namespace resv {

std::string with_connect_timeout(const std::string& url, int seconds) {
  if (url.find("connect_timeout") != std::string::npos) return url;
  bool is_uri = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  if (!is_uri) return url + " connect_timeout=" + std::to_string(seconds);
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=" + std::to_string(seconds);
}

std::string pg_int_array(const std::vector<int64_t>& v) {
  std::string s = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  return s + "}";
}

namespace {
const char* nullable(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

// Statements prepared once per connection.
const std::pair<const char*, const char*> kStatements[] = {
    {"concerts", "SELECT id, name, venue FROM concerts ORDER BY id"},
    {"concert", "SELECT id, name, venue FROM concerts WHERE id = $1"},
    {"schedules",
     "SELECT s.id, s.concert_id, resv_ts(s.starts_at), resv_ts(s.sales_open_at),"
     " (SELECT count(*) FROM seats x WHERE x.schedule_id = s.id),"
     " (SELECT count(*) FROM seats x WHERE x.schedule_id = s.id AND x.reservation_id IS NULL)"
     " FROM schedules s WHERE s.concert_id = $1 ORDER BY s.starts_at, s.id"},
    {"pools_of_concert",
     "SELECT p.id, p.schedule_id, p.name, p.kind, p.capacity,"
     " (SELECT count(*) FROM pool_units u WHERE u.pool_id = p.id AND u.reservation_id IS NULL),"
     " p.price, p.min_party, p.max_party, p.max_per_user"
     " FROM pools p JOIN schedules s ON s.id = p.schedule_id WHERE s.concert_id = $1 ORDER BY p.id"},
    {"schedule_exists", "SELECT 1 FROM schedules WHERE id = $1"},
    {"seats",
     "SELECT s.id, s.label, s.grade, s.price,"
     " CASE WHEN s.reservation_id IS NULL THEN 'AVAILABLE'"
     "      WHEN r.status = 'CONFIRMED' THEN 'SOLD' ELSE 'HELD' END"
     " FROM seats s LEFT JOIN reservations r ON r.id = s.reservation_id"
     " WHERE s.schedule_id = $1 ORDER BY s.id"},
    {"seats_available",
     "SELECT id, label, grade, price, 'AVAILABLE' FROM seats"
     " WHERE schedule_id = $1 AND reservation_id IS NULL ORDER BY id"},
    {"hold_seats", "SELECT resv_hold_seats($1, $2, $3::bigint[], $4, $5)::text"},
    {"hold_pool", "SELECT resv_hold_pool($1, $2, $3, $4, $5, $6)::text"},
    {"pay", "SELECT resv_pay($1, $2, $3, $4)::text"},
    {"cancel", "SELECT resv_cancel($1, $2)::text"},
    {"balance", "SELECT id, balance FROM users WHERE id = $1"},
    {"top_up", "SELECT resv_top_up($1, $2, $3, $4)::text"},
    {"expire_holds", "SELECT resv_expire_holds($1)"},
    {"outbox_backlog", "SELECT count(*) FROM outbox WHERE published_at IS NULL"},
};
}  // namespace

struct PgStore::Impl {
  PgStoreOptions opts;
  std::unique_ptr<pqxx::connection> conn;
  std::chrono::steady_clock::time_point last_failed_connect{};

  Status connect() {
    if (conn && conn->is_open()) return Status::Ok();
    conn.reset();
    auto now = std::chrono::steady_clock::now();
    if (last_failed_connect.time_since_epoch().count() != 0 && now - last_failed_connect < opts.reconnect_backoff)
      return Status::DbUnavailable("the database is unreachable; retry shortly");
    try {
      conn = std::make_unique<pqxx::connection>(with_connect_timeout(opts.url, 2));
      pqxx::nontransaction tx(*conn);
      tx.exec("SET statement_timeout = " + std::to_string(opts.statement_timeout.count()) +
              "; SET lock_timeout = " + std::to_string(opts.lock_timeout.count()) +
              "; SET application_name = 'resv-server'");
      for (const auto& [name, sql] : kStatements) conn->prepare(name, sql);
      last_failed_connect = {};
      return Status::Ok();
    } catch (const std::exception& e) {
      conn.reset();
      last_failed_connect = now;
      spdlog::warn("msg=\"database connection failed\" error=\"{}\"", e.what());
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
      spdlog::warn("msg=\"database connection lost\" error=\"{}\"", e.what());
      return Status::DbUnavailable("lost the database connection; retry shortly");
    } catch (const pqxx::sql_error& e) {
      const std::string state = e.sqlstate();
      if (!conn->is_open() || state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) {
        conn.reset();
        spdlog::warn("msg=\"database unavailable\" sqlstate={} error=\"{}\"", state, e.what());
        return Status::DbUnavailable("the database is unavailable; retry shortly");
      }
      if (state == "57014" || state == "55P03" || state == "40001" || state == "40P01") {
        spdlog::warn("msg=\"database busy\" sqlstate={} error=\"{}\"", state, e.what());
        return Status::Error(ErrorCode::Busy, "the database is busy with this item; retry shortly");
      }
      spdlog::error("msg=\"sql error\" sqlstate={} error=\"{}\"", state, e.what());
      return Status::Internal("database error " + state);
    } catch (const std::exception& e) {
      spdlog::error("msg=\"store failure\" error=\"{}\"", e.what());
      return Status::Internal(std::string("unexpected database answer: ") + e.what());
    }
  }

  std::string call_text(pqxx::transaction_base& tx, const char* stmt, auto&&... args) {
    return tx.exec_prepared1(stmt, std::forward<decltype(args)>(args)...)[0].template as<std::string>();
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

Result<Hold> PgStore::hold_seats(const HoldSeatsRequest& r) {
  return impl_->run<Hold>([&](pqxx::transaction_base& tx) {
    return hold_from_db_json(impl_->call_text(tx, "hold_seats", r.user_id, r.schedule_id, pg_int_array(r.seat_ids),
                                              nullable(r.idempotency_key), nullable(r.request_hash)));
  });
}

Result<Hold> PgStore::hold_pool(const HoldPoolRequest& r) {
  return impl_->run<Hold>([&](pqxx::transaction_base& tx) {
    return hold_from_db_json(impl_->call_text(tx, "hold_pool", r.user_id, r.schedule_id, r.pool_id, r.quantity,
                                              nullable(r.idempotency_key), nullable(r.request_hash)));
  });
}

Result<Payment> PgStore::pay(const PaymentRequest& r) {
  return impl_->run<Payment>([&](pqxx::transaction_base& tx) {
    return payment_from_db_json(impl_->call_text(tx, "pay", r.reservation_id, r.user_id,
                                                 nullable(r.idempotency_key), nullable(r.request_hash)));
  });
}

Result<Cancellation> PgStore::cancel(int64_t reservation_id, int64_t user_id) {
  return impl_->run<Cancellation>([&](pqxx::transaction_base& tx) {
    return cancellation_from_db_json(impl_->call_text(tx, "cancel", reservation_id, user_id));
  });
}

Result<Balance> PgStore::balance(int64_t user_id) {
  return impl_->run<Balance>([&](pqxx::transaction_base& tx) -> Result<Balance> {
    auto r = tx.exec_prepared("balance", user_id);
    if (r.empty()) return Status::NotFound("user " + std::to_string(user_id) + " does not exist");
    return Balance{r[0][0].as<int64_t>(), r[0][1].as<int64_t>()};
  });
}

Result<Balance> PgStore::top_up(const TopUpRequest& r) {
  return impl_->run<Balance>([&](pqxx::transaction_base& tx) {
    return balance_from_db_json(impl_->call_text(tx, "top_up", r.user_id, r.amount, nullable(r.idempotency_key),
                                                 nullable(r.request_hash)));
  });
}

Result<int64_t> PgStore::expire_holds(int batch) {
  return impl_->run<int64_t>(
      [&](pqxx::transaction_base& tx) { return tx.exec_prepared1("expire_holds", batch)[0].as<int64_t>(); });
}

Result<int64_t> PgStore::outbox_backlog() {
  return impl_->run<int64_t>(
      [&](pqxx::transaction_base& tx) { return tx.exec_prepared1("outbox_backlog")[0].as<int64_t>(); });
}

Status PgStore::warm_up() {
  auto r = impl_->run<int>([&](pqxx::transaction_base& tx) {
    const std::string none;
    impl_->call_text(tx, "hold_seats", 0, 0, "{}", nullable(none), nullable(none));
    impl_->call_text(tx, "hold_pool", 0, 0, 0, 1, nullable(none), nullable(none));
    impl_->call_text(tx, "pay", 0, 0, nullable(none), nullable(none));
    impl_->call_text(tx, "cancel", 0, 0);
    impl_->call_text(tx, "top_up", 0, 1, nullable(none), nullable(none));
    tx.exec_prepared("balance", 0);
    return 0;
  });
  return r.ok() ? Status::Ok() : r.status();
}

Result<int> PgStore::schema_version() {
  return impl_->run<int>([](pqxx::transaction_base& tx) {
    if (tx.exec1("SELECT to_regclass('schema_migrations') IS NULL")[0].as<bool>()) return 0;
    return tx.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
  });
}

}  // namespace resv
