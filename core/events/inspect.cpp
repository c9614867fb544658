#include "events/inspect.h"

#include <algorithm>
#include <pqxx/pqxx>

#include "db/advisory_locks.h"
#include "db/pg_text.h"
#include "db/statements.h"

namespace resv {
namespace {

// Runs `fn` on a new session of `url` named "resv events", with the failures
// an operator meets as values.
template <class T, class F>
Result<T> on_db(const std::string& url, F&& fn) {
  try {
    pqxx::connection conn(with_application_name(with_connect_timeout(url, 5), "resv events"));
    return fn(conn);
  } catch (const pqxx::broken_connection& e) {
    return Status::DbUnavailable(e.what());
  } catch (const pqxx::undefined_function& e) {
    return Status::Internal(std::string("the database's schema has no events yet (resv db migrate): ") + e.what());
  } catch (const pqxx::undefined_table& e) {
    return Status::Internal(std::string("the database's schema has no events yet (resv db migrate): ") + e.what());
  } catch (const pqxx::sql_error& e) {
    return status_from_sql_error(e.sqlstate(), e.what(), true);
  }
}

}  // namespace

Result<OutboxStatus> read_outbox_status(const std::string& url) {
  return on_db<OutboxStatus>(url, [](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    const auto& lock = advisory::kOutboxRelay;
    auto r = tx.exec_params1("SELECT * FROM resv_outbox_status($1, $2)", static_cast<int64_t>(lock.classid),
                             static_cast<int64_t>(*lock.objid));
    OutboxStatus s;
    s.unpublished = r[0].as<int64_t>();
    s.oldest_age_s = r[1].as<double>();
    s.published_last_minute = r[2].as<int64_t>();
    s.first_id = r[3].is_null() ? 0 : r[3].as<int64_t>();
    s.last_id = r[4].is_null() ? 0 : r[4].as<int64_t>();
    if (!r[5].is_null()) {
      s.leader = r[5].as<std::string>();
      s.leader_pid = r[6].as<int>();
      s.leader_connected_s = r[7].as<double>();
    }
    return s;
  });
}

Result<Replay> replay_events(const std::string& url, int64_t from, int64_t to, bool dry_run, const std::string& actor) {
  return on_db<Replay>(url, [&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    Replay r;
    r.events = tx.exec_params1("SELECT resv_outbox_replay($1, $2, $3)", from, to, dry_run)[0].as<int64_t>();
    if (!dry_run) {
      r.audit_id = tx.exec_params1("INSERT INTO ops_audit (actor, action, target, new_values)"
                                   " VALUES ($1, 'events.replay', $2, jsonb_build_object('events', $3::bigint))"
                                   " RETURNING id",
                                   actor, "outbox ids " + std::to_string(from) + ".." + std::to_string(to), r.events)[0]
                       .as<int64_t>();
      tx.commit();
    }
    return r;
  });
}

Status remember_group(const std::string& url, const std::string& group, bool committed) {
  auto r = on_db<bool>(url, [&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    tx.exec_params("INSERT INTO event_consumer_groups (name, last_commit_at)"
                   " VALUES ($1, CASE WHEN $2 THEN now() END)"
                   " ON CONFLICT (name) DO UPDATE SET last_commit_at ="
                   "   coalesce(EXCLUDED.last_commit_at, event_consumer_groups.last_commit_at)",
                   group, committed);
    tx.commit();
    return true;
  });
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::vector<std::string>> known_groups(const std::string& url) {
  return on_db<std::vector<std::string>>(url, [](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    std::vector<std::string> out;
    for (const auto& row : tx.exec("SELECT name FROM event_consumer_groups ORDER BY name"))
      out.push_back(row[0].as<std::string>());
    return out;
  });
}

std::string_view verdict_name(LagVerdict v) {
  switch (v) {
    case LagVerdict::Ok: return "OK";
    case LagVerdict::Lagging: return "LAGGING";
    case LagVerdict::Stalled: return "STALLED";
    case LagVerdict::Stopped: return "STOPPED";
  }
  return "OK";
}

std::vector<PartitionLag> judge_lag(const std::vector<PartitionOffsets>& before,
                                    const std::vector<PartitionOffsets>& after) {
  auto lag_of = [](const PartitionOffsets& p) { return p.high - (p.committed >= 0 ? p.committed : p.low); };
  std::vector<PartitionLag> out;
  for (const auto& a : after) {
    auto b = std::find_if(before.begin(), before.end(),
                          [&](const auto& x) { return x.topic == a.topic && x.partition == a.partition; });
    const PartitionOffsets& prev = b == before.end() ? a : *b;
    PartitionLag l{a.topic, a.partition, a.committed, a.high, lag_of(a), LagVerdict::Ok};
    if (l.lag <= 0)
      l.verdict = LagVerdict::Ok;
    else if (a.committed < 0)
      l.verdict = LagVerdict::Stopped;
    else if (a.committed != prev.committed)
      l.verdict = l.lag < lag_of(prev) ? LagVerdict::Ok : LagVerdict::Lagging;
    else
      l.verdict = a.high != prev.high ? LagVerdict::Stalled : LagVerdict::Stopped;
    out.push_back(std::move(l));
  }
  return out;
}

LagVerdict group_verdict(const std::vector<PartitionLag>& partitions) {
  LagVerdict worst = LagVerdict::Ok;
  for (const auto& p : partitions) worst = std::max(worst, p.verdict);
  return worst;
}

}  // namespace resv
