#include "ops/prewarm.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <pqxx/pqxx>

#include "db/pg_text.h"
#include "db/statements.h"

namespace resv {
namespace {

// What an opening touches: the catalog, seats and pools, reservations and
// payments, balances, Idempotency-Key answers, the outbox and its relay's
// state, the waiting room.
const std::vector<std::string>& hot_tables() {
  static const std::vector<std::string> t{"concerts",     "schedules",      "seats",          "pools",
                                          "pool_units",   "reservations",   "users",          "payments",
                                          "balance_ledger", "idempotency_keys", "outbox",     "outbox_relay",
                                          "queue_concerts", "queue_tokens"};
  return t;
}

// {concerts,schedules,...}: the names as a text[] parameter (plain identifiers).
std::string hot_tables_array() {
  std::string a = "{";
  for (const auto& t : hot_tables()) a += (a.size() > 1 ? "," : "") + t;
  return a + "}";
}

bool has_extension(pqxx::connection& conn, const std::string& name) {
  pqxx::nontransaction tx(conn);
  return !tx.exec_params("SELECT 1 FROM pg_extension WHERE extname = $1", name).empty();
}

// Creates `name` when missing and allowed; "" on success, else what to run.
std::string ensure_extension(pqxx::connection& conn, const std::string& name) {
  if (has_extension(conn, name)) return "";
  try {
    pqxx::nontransaction(conn).exec("CREATE EXTENSION IF NOT EXISTS " + name);
    return "";
  } catch (const pqxx::sql_error& e) {
    return "the " + name + " extension is not installed and this role may not create it (" + e.sqlstate() +
           "): run 'CREATE EXTENSION " + name + "' as a superuser";
  }
}

// Blocks of the main fork (what pg_relation_size counts) in shared buffers,
// per relation file node, for this database.
std::map<int64_t, int64_t> cached_blocks(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  std::map<int64_t, int64_t> out;
  for (const auto& r : tx.exec("SELECT relfilenode::bigint, count(*) FROM pg_buffercache"
                               " WHERE relforknumber = 0 AND reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())"
                               " GROUP BY 1"))
    out[r[0].as<int64_t>()] = r[1].as<int64_t>();
  return out;
}

}  // namespace

Result<PrewarmReport> prewarm_database(const std::string& url, bool load) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    pqxx::connection conn(with_application_name(with_connect_timeout(url, 5), "resv warmup"));
    PrewarmReport r;
    {
      pqxx::nontransaction tx(conn);
      r.block_size = tx.exec1("SELECT current_setting('block_size')::bigint")[0].as<int64_t>();
      // shared_buffers is counted in blocks (its unit is the block size).
      r.shared_buffers_blocks = tx.exec1("SELECT setting::bigint FROM pg_settings WHERE name = 'shared_buffers'")[0]
                                    .as<int64_t>();
    }
    // Only a load changes anything: a residency check creates nothing.
    std::string why = load ? ensure_extension(conn, "pg_buffercache") : "";
    const bool can_measure = has_extension(conn, "pg_buffercache");
    r.measured = can_measure;
    if (load && why.empty()) why = ensure_extension(conn, "pg_prewarm");

    struct Rel {
      int64_t oid, filenode;
    };
    std::vector<Rel> rels;
    {
      pqxx::nontransaction tx(conn);
      // Each table, then its indexes; those the schema does not have are skipped.
      for (const auto& row : tx.exec_params(
               "SELECT c.oid::bigint, coalesce(pg_relation_filenode(c.oid), 0)::bigint, c.relname, t.relname,"
               "       pg_relation_size(c.oid) / current_setting('block_size')::bigint"
               "  FROM unnest($1::text[]) WITH ORDINALITY AS h(name, n)"
               "  JOIN pg_class t ON t.oid = to_regclass(h.name)"
               "  JOIN LATERAL (SELECT t.oid, 0 AS k UNION ALL SELECT indexrelid, 1 FROM pg_index WHERE indrelid = t.oid)"
               "       x(oid, k) ON true"
               "  JOIN pg_class c ON c.oid = x.oid"
               " ORDER BY h.n, x.k, c.relname",
               hot_tables_array())) {
        rels.push_back({row[0].as<int64_t>(), row[1].as<int64_t>()});
        r.relations.push_back({row[2].as<std::string>(), row[3].as<std::string>(), row[4].as<int64_t>(), 0, 0});
      }
    }
    auto measure = [&](bool after) {
      if (!can_measure) return;
      auto cached = cached_blocks(conn);
      for (size_t i = 0; i < rels.size(); ++i) {
        auto it = cached.find(rels[i].filenode);
        (after ? r.relations[i].cached_after : r.relations[i].cached_before) = it == cached.end() ? 0 : it->second;
      }
    };
    measure(false);
    if (load && why.empty()) {
      pqxx::nontransaction tx(conn);
      for (const auto& rel : rels) tx.exec_params("SELECT pg_prewarm($1::bigint::oid::regclass)", rel.oid);
      r.loaded = true;
    }
    r.not_loaded_why = why;
    if (r.loaded)
      measure(true);
    else
      for (auto& rel : r.relations) rel.cached_after = rel.cached_before;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  } catch (const pqxx::broken_connection& e) {
    return Status::DbUnavailable(e.what());
  } catch (const pqxx::sql_error& e) {
    return status_from_sql_error(e.sqlstate(), e.what(), true);
  }
}

Result<ConcertCounts> concert_counts(const std::string& url, int64_t concert_id) {
  try {
    pqxx::connection conn(with_application_name(with_connect_timeout(url, 5), "resv warmup"));
    pqxx::read_transaction tx(conn);
    if (tx.exec_params("SELECT 1 FROM concerts WHERE id = $1", concert_id).empty())
      return Status::NotFound("concert " + std::to_string(concert_id) + " does not exist");
    auto r = tx.exec_params1(
        "SELECT (SELECT count(*) FROM seats s JOIN schedules sc ON sc.id = s.schedule_id"
        "         WHERE sc.concert_id = $1 AND s.reservation_id IS NOT NULL),"
        "       (SELECT count(*) FROM pools p JOIN schedules sc ON sc.id = p.schedule_id WHERE sc.concert_id = $1),"
        "       (SELECT coalesce(sum(available), 0)::bigint FROM resv_concert_pools($1))",
        concert_id);
    return ConcertCounts{r[0].as<int64_t>(), r[1].as<int>(), r[2].as<int64_t>()};
  } catch (const pqxx::broken_connection& e) {
    return Status::DbUnavailable(e.what());
  } catch (const pqxx::sql_error& e) {
    return status_from_sql_error(e.sqlstate(), e.what(), true);
  }
}

Result<std::vector<ConcertToWarm>> concerts_to_warm(const std::string& url, const std::vector<int64_t>& schedules,
                                                    std::optional<int64_t> within_s) {
  try {
    pqxx::connection conn(with_application_name(with_connect_timeout(url, 5), "resv warmup"));
    pqxx::read_transaction tx(conn);
    const std::string ids = pg_int_array(schedules);
    auto missing = tx.exec_params(
        "SELECT s FROM unnest($1::bigint[]) s WHERE NOT EXISTS (SELECT 1 FROM schedules WHERE id = s) LIMIT 1", ids);
    if (!missing.empty())
      return Status::NotFound("schedule " + missing[0][0].as<std::string>() + " does not exist");
    auto rows = tx.exec_params(
        "WITH opening AS ("
        "  SELECT concert_id, 0::float8 AS opens_in FROM schedules WHERE id = ANY($1::bigint[])"
        "  UNION ALL"
        "  SELECT concert_id, extract(epoch FROM sales_open_at - now()) FROM schedules"
        "   WHERE $2::float8 >= 0 AND sales_open_at BETWEEN now() AND now() + make_interval(secs => $2)"
        "  UNION ALL"
        "  SELECT concert_id, extract(epoch FROM opens_at - now()) FROM queue_concerts"
        "   WHERE $2::float8 >= 0 AND opens_at BETWEEN now() AND now() + make_interval(secs => $2))"
        "SELECT concert_id, ceil(max(opens_in))::bigint FROM opening GROUP BY concert_id ORDER BY concert_id",
        ids, within_s ? static_cast<double>(*within_s) : -1.0);  // -1: no --opening-within
    std::vector<ConcertToWarm> out;
    for (const auto& r : rows) out.push_back({r[0].as<int64_t>(), r[1].as<int64_t>()});
    return out;
  } catch (const pqxx::broken_connection& e) {
    return Status::DbUnavailable(e.what());
  } catch (const pqxx::sql_error& e) {
    return status_from_sql_error(e.sqlstate(), e.what(), true);
  }
}

ResidencyTotals residency_totals(const PrewarmReport& r) {
  ResidencyTotals t;
  for (const auto& rel : r.relations) {
    t.blocks += rel.blocks;
    t.before += rel.cached_before;
    t.after += rel.cached_after;
  }
  return t;
}

std::optional<std::string> residency_warning(const PrewarmReport& r) {
  const auto t = residency_totals(r);
  if (r.shared_buffers_blocks <= 0 || t.blocks <= r.shared_buffers_blocks * 9 / 10) return std::nullopt;
  auto mb = [&](int64_t blocks) { return std::to_string(blocks * r.block_size / (1024 * 1024)) + " MB"; };
  return "the hot set (" + mb(t.blocks) + ") does not fit in shared_buffers (" + mb(r.shared_buffers_blocks) +
         ", of which it may use about 90 %): an opening will read from disk or the page cache; raise shared_buffers "
         "(ALTER SYSTEM SET shared_buffers = '...'; then restart PostgreSQL) or prune old rows";
}

std::vector<WarmFinding> judge_warm_server(const std::string& where, const nlohmann::json& warm,
                                           const std::map<int64_t, ConcertCounts>& db) {
  // A warm concert whose last pass is older than this, or than three of its
  // intervals between passes (longer for a large concert: server/warmer.h),
  // has missed passes: its server's warm-up is stuck.
  constexpr double kStaleAfterS = 10;
  using nlohmann::json;
  std::map<int64_t, json> by_concert;
  if (warm.is_array())
    for (const auto& w : warm)
      if (w.is_object()) by_concert[w.value("concertId", int64_t{0})] = w;
  std::vector<WarmFinding> out;
  for (const auto& [c, d] : db) {
    auto it = by_concert.find(c);
    if (it == by_concert.end()) {
      out.push_back({where, c, "cold", "not warm (started since the warm-up, or its window ended)"});
      continue;
    }
    const json& w = it->second;
    const double age = w.value("lastRefreshAgeSeconds", 0.0);
    if (!w.value("lastError", json(nullptr)).is_null())
      out.push_back({where, c, "failing", "its last pass failed: " + (w["lastError"].is_string() ? w["lastError"].get<std::string>() : w["lastError"].dump())});
    else if (age > std::max(kStaleAfterS, 3 * w.value("refreshIntervalSeconds", 0.0)))
      out.push_back({where, c, "stale", "last refreshed " + std::to_string(static_cast<int64_t>(age)) + " s ago"});
    const int64_t taken = w.value("seatsTaken", int64_t{-1}), left = w.value("poolUnitsLeft", int64_t{-1});
    const int pools = w.value("pools", -1);
    if (taken != d.seats_taken || pools != d.pools || left != d.pool_units_left)
      out.push_back({where, c, "mismatch",
                     "knows " + std::to_string(taken) + " seats taken, " + std::to_string(pools) + " pools with " +
                         std::to_string(left) + " units left; the database " + std::to_string(d.seats_taken) + ", " +
                         std::to_string(d.pools) + " with " + std::to_string(d.pool_units_left)});
  }
  return out;
}

}  // namespace resv
