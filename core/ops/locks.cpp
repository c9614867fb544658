#include "ops/locks.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <pqxx/pqxx>
#include <set>
#include <stdexcept>
#include <thread>

#include "db/advisory_locks.h"
#include "db/migrations.h"
#include "db/pg_text.h"

namespace resv {
namespace {

// ---- reading ---------------------------------------------------------------------

template <class T>
std::optional<T> opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

std::string text(const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); }

// "{1,2}" -> {1, 2}
std::vector<int> int_array(const pqxx::field& f) {
  std::vector<int> out;
  if (f.is_null()) return out;
  std::string s = f.as<std::string>();
  for (size_t i = 0; i < s.size();) {
    if (s[i] >= '0' && s[i] <= '9') {
      size_t end = i;
      while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
      out.push_back(std::stoi(s.substr(i, end - i)));
      i = end;
    } else {
      ++i;
    }
  }
  return out;
}

// "public.seats" -> "seats": resv's tables live in the search path.
std::string bare_table(const std::string& relation) {
  auto dot = relation.rfind('.');
  return dot == std::string::npos ? relation : relation.substr(dot + 1);
}

struct DomainTable {
  const char* table;
  const char* label;  // SQL over the row `t`
};

// How each of resv's tables names a row: the words of `resv locks`.
constexpr DomainTable kDomainTables[] = {
    {"seats", "format('seat %s, id %s, schedule %s', t.label, t.id, t.schedule_id)"},
    {"pool_units", "format('pool unit %s of pool %s', t.unit_no, t.pool_id)"},
    {"users", "format('user %s''s balance', t.id)"},
    {"reservations", "format('reservation %s (%s, user %s)', t.id, t.status, t.user_id)"},
    {"pools", "format('pool %s (%s) of schedule %s', t.id, t.name, t.schedule_id)"},
    {"schedules", "format('schedule %s of concert %s', t.id, t.concert_id)"},
    {"concerts", "format('concert %s (%s)', t.id, t.name)"},
    {"payments", "format('payment %s of reservation %s', t.id, t.reservation_id)"},
    {"balance_ledger", "format('ledger entry %s of user %s', t.id, t.user_id)"},
    {"outbox", "format('outbox event %s (%s)', t.id, t.event_type)"},
    {"idempotency_keys", "format('idempotency key of user %s', t.user_id)"},
    {"queue_concerts", "format('waiting room of concert %s', t.concert_id)"},
    {"queue_tokens", "format('queue token of user %s for concert %s', t.user_id, t.concert_id)"},
    {"queue_audit", "format('queue audit line %s', t.id)"},
    {"queue_secret", "'the waiting room''s signing key'"},
    {"seed_runs", "'the seed run record'"},
    {"schema_migrations", "format('migration %s', t.version)"},
};

// Names the row versions waiters want, one query per table: a TID scan.
void read_rows(pqxx::nontransaction& tx, LockSnapshot& s) {
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> by_relation;
  for (const auto& l : s.locks)
    if (l.locktype == "tuple" && l.here && !l.relation.empty() && l.page && l.tuple)
      by_relation[l.relation].emplace_back(*l.page, *l.tuple);
  for (auto& [relation, tids] : by_relation) {
    const char* label = domain_row_label(bare_table(relation));
    std::string tid_array = "{";
    for (const auto& [page, tuple] : tids)
      tid_array += (tid_array.size() > 1 ? ",\"(" : "\"(") + std::to_string(page) + "," + std::to_string(tuple) + ")\"";
    tid_array += "}";
    pqxx::result rows;
    try {
      // The relation name comes from pg_locks (regclass text, quoted as needed).
      rows = tx.exec_params(std::string("SELECT (ctid::text::point)[0]::bigint, (ctid::text::point)[1]::bigint, ") +
                                   (label ? label : "NULL") + " FROM " + relation +
                                   " t WHERE ctid = ANY($1::tid[])",
                               tid_array);
    } catch (const pqxx::sql_error&) {
      continue;  // not readable by this role: the rows stay unnamed
    }
    for (const auto& r : rows) {
      std::string words = r[2].is_null() ? "a row of " + relation : r[2].as<std::string>();
      s.rows[{relation, r[0].as<int64_t>(), r[1].as<int64_t>()}] = words;
    }
  }
}

}  // namespace

const char* domain_row_label(const std::string& table) {
  for (const auto& d : kDomainTables)
    if (table == d.table) return d.label;
  return nullptr;
}

std::vector<std::string> domain_tables() {
  std::vector<std::string> out;
  for (const auto& d : kDomainTables) out.push_back(d.table);
  return out;
}

Result<std::vector<LockedRow>> locked_rows(const std::string& url, const std::string& table, std::optional<int> pid) {
  const char* label = domain_row_label(table);
  if (!label) return Status::Invalid("'" + table + "' is not one of resv's tables");
  try {
    pqxx::connection conn(with_application_name(with_connect_timeout(url, 5), "resv locks rows"));
    pqxx::nontransaction tx(conn);
    if (tx.exec("SELECT 1 FROM pg_extension WHERE extname = 'pgrowlocks'").empty())
      return Status::Error(ErrorCode::Conflict, "the pgrowlocks extension is not installed in this database");
    const std::string pid_text = pid ? std::to_string(*pid) : "";
    // `table` is one of kDomainTables: a name of ours, not input text.
    auto rows = tx.exec_params(std::string("SELECT ") + label +
                                   ", r.locked_row::text, r.modes::text, r.pids::text, r.xids::text"
                                   " FROM pgrowlocks('" + table + "') r JOIN " + table +
                                   " t ON t.ctid = r.locked_row WHERE $1::int IS NULL OR $1::int = ANY (r.pids)"
                                   " ORDER BY r.locked_row",
                               pid ? pid_text.c_str() : nullptr);
    std::vector<LockedRow> out;
    for (const auto& r : rows) out.push_back({text(r[0]), text(r[1]), text(r[2]), int_array(r[3]), text(r[4])});
    return out;
  } catch (const pqxx::broken_connection& e) {
    return Status::DbUnavailable(e.what());
  } catch (const pqxx::insufficient_privilege& e) {
    return Status::Error(ErrorCode::Unauthorized, std::string("the database refused: ") + e.what());
  }
}

Result<LockSnapshot> read_lock_snapshot(const std::string& url) {
  try {
    pqxx::connection conn(with_application_name(with_connect_timeout(url, 5), "resv locks"));
    const auto& sql = bundled_statements("ops/locks.sql");
    pqxx::nontransaction tx(conn);
    LockSnapshot s;

    auto head = tx.exec(sql.at(0));
    if (head.empty()) return Status::Internal("pg_stat_database has no row for this database");
    const auto& h = head[0];
    s.database = text(h["database"]);
    s.own_pid = h["own_pid"].as<int>();
    s.superuser = h["superuser"].as<bool>(false);
    s.settings = {text(h["lock_timeout"]), text(h["deadlock_timeout"]), text(h["idle_in_transaction_timeout"]),
                  text(h["statement_timeout"]), text(h["log_lock_waits"])};
    s.deadlocks = h["deadlocks"].as<int64_t>(0);
    s.stats_age_s = opt<double>(h["stats_age_s"]);
    s.now = text(h["now"]);

    for (const auto& r : tx.exec(sql.at(1))) {
      LockSession x;
      x.pid = r["pid"].as<int>();
      x.leader_pid = opt<int>(r["leader_pid"]);
      x.database = text(r["database"]);
      x.user = text(r["user"]);
      x.application = text(r["application"]);
      x.client = text(r["client"]);
      x.backend_type = text(r["backend_type"]);
      x.state = text(r["state"]);
      x.xact_age_s = opt<double>(r["xact_age_s"]);
      x.state_age_s = opt<double>(r["state_age_s"]);
      x.query_age_s = opt<double>(r["query_age_s"]);
      x.wait_event_type = text(r["wait_event_type"]);
      x.wait_event = text(r["wait_event"]);
      x.xid = text(r["xid"]);
      x.query = text(r["query"]);
      x.superuser = r["superuser"].as<bool>(false);
      x.blocked_by = int_array(r["blocked_by"]);
      s.sessions.push_back(std::move(x));
    }

    for (const auto& r : tx.exec(sql.at(2))) {
      LockEntry l;
      l.pid = opt<int>(r["pid"]);
      l.locktype = text(r["locktype"]);
      l.mode = text(r["mode"]);
      l.granted = r["granted"].as<bool>(false);
      l.here = r["here"].as<bool>(false);
      l.relation = text(r["relation"]);
      l.relkind = text(r["relkind"]);
      l.unique_index = r["unique_index"].as<bool>(false);
      l.index_table = text(r["index_table"]);
      l.index_def = text(r["index_def"]);
      l.page = opt<int64_t>(r["page"]);
      l.tuple = opt<int64_t>(r["tuple"]);
      l.xid = text(r["xid"]);
      if (auto c = opt<int64_t>(r["classid"])) l.classid = static_cast<uint32_t>(*c);
      if (auto o = opt<int64_t>(r["objid"])) l.objid = static_cast<uint32_t>(*o);
      l.objsubid = r["objsubid"].as<int>(0);
      l.virtualtransaction = text(r["virtualtransaction"]);
      l.wait_s = opt<double>(r["wait_s"]);
      s.locks.push_back(std::move(l));
    }

    for (const auto& r : tx.exec(sql.at(3)))
      s.prepared.push_back({text(r["gid"]), text(r["xid"]), text(r["owner"]), text(r["database"]),
                            r["age_s"].as<double>(0)});
    read_rows(tx, s);
    return s;
  } catch (const pqxx::broken_connection& e) {
    return Status::DbUnavailable(e.what());
  } catch (const pqxx::insufficient_privilege& e) {
    return Status::Error(ErrorCode::Unauthorized, std::string("the database refused: ") + e.what());
  }
}

// ---- the report -------------------------------------------------------------------

bool is_server_session(const LockSession& s) { return s.application.rfind("resv-server:", 0) == 0; }

const char* relation_mode_takers(const std::string& mode) {
  if (mode == "AccessExclusiveLock")
    return "TRUNCATE, DROP, ALTER TABLE, LOCK TABLE, VACUUM FULL: resv seed, a migration, or someone by hand";
  if (mode == "ExclusiveLock") return "LOCK TABLE ... IN EXCLUSIVE MODE, REFRESH MATERIALIZED VIEW CONCURRENTLY";
  if (mode == "ShareRowExclusiveLock") return "CREATE TRIGGER, some ALTER TABLE forms, LOCK TABLE";
  if (mode == "ShareLock") return "CREATE INDEX (not CONCURRENTLY), LOCK TABLE ... IN SHARE MODE";
  if (mode == "ShareUpdateExclusiveLock")
    return "VACUUM, ANALYZE, CREATE INDEX CONCURRENTLY, some ALTER TABLE forms: autovacuum or a migration";
  if (mode == "RowExclusiveLock") return "INSERT, UPDATE, DELETE";
  if (mode == "RowShareLock") return "SELECT ... FOR UPDATE / FOR SHARE";
  if (mode == "AccessShareLock") return "SELECT";
  return "";
}

std::string short_query(const std::string& query, size_t width) {
  std::string out;
  bool space = false;
  for (char c : query) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() > width && width > 3) out = out.substr(0, width - 3) + "...";
  return out;
}

namespace {

struct ReportBuilder {
  const LockSnapshot& s;
  const LockReportOptions& o;
  std::map<int, const LockSession*> by_pid;
  std::map<int, int> leader_of;  // parallel worker -> leader
  std::map<int, std::vector<int>> workers_of;
  std::multimap<int, const LockEntry*> locks_of;

  ReportBuilder(const LockSnapshot& snapshot, const LockReportOptions& options) : s(snapshot), o(options) {
    for (const auto& x : s.sessions) {
      by_pid[x.pid] = &x;
      if (x.leader_pid && *x.leader_pid != x.pid) {
        leader_of[x.pid] = *x.leader_pid;
        workers_of[*x.leader_pid].push_back(x.pid);
      }
    }
    for (const auto& l : s.locks)
      if (l.pid) locks_of.emplace(*l.pid, &l);
  }

  int leader(int pid) const {
    auto it = leader_of.find(pid);
    return it == leader_of.end() ? pid : it->second;
  }

  bool in_scope(const LockSession& x) const { return o.all_databases || x.database == s.database; }

  const LockEntry* wanted_by(int pid) const {
    auto [b, e] = locks_of.equal_range(pid);
    for (auto it = b; it != e; ++it)
      if (!it->second->granted) return it->second;
    for (int w : workers_of.count(pid) ? workers_of.at(pid) : std::vector<int>{}) {
      auto [wb, we] = locks_of.equal_range(w);
      for (auto it = wb; it != we; ++it)
        if (!it->second->granted) return it->second;
    }
    return nullptr;
  }

  // Prepared transactions block as pid 0 (pg_blocking_pids); in the tree
  // each is a blocker of its own, by the id -1 - its index in s.prepared.
  static bool is_prepared(int id) { return id < 0; }
  const PreparedXact* prepared(int id) const {
    size_t i = static_cast<size_t>(-1 - id);
    return id < 0 && i < s.prepared.size() ? &s.prepared[i] : nullptr;
  }

  static bool same_target(const LockEntry& a, const LockEntry& b) {
    return a.locktype == b.locktype && a.relation == b.relation && a.page == b.page && a.tuple == b.tuple &&
           a.xid == b.xid && a.classid == b.classid && a.objid == b.objid && a.objsubid == b.objsubid;
  }

  // The id of the prepared transaction that blocks `waiter` (whose
  // blockers include pid 0): the one whose transaction it waits for, or
  // that holds the lock it wants; else the first of its database.
  int prepared_blocking(int waiter) const {
    const LockEntry* l = wanted_by(waiter);
    for (size_t i = 0; i < s.prepared.size(); ++i) {
      const auto& p = s.prepared[i];
      if (!l) break;
      if (l->locktype == "transactionid" && l->xid == p.xid) return -1 - static_cast<int>(i);
      for (const auto& h : s.locks)
        if (!h.pid && h.granted && h.virtualtransaction == "-1/" + p.xid && same_target(h, *l))
          return -1 - static_cast<int>(i);
    }
    auto it = by_pid.find(waiter);
    for (size_t i = 0; i < s.prepared.size(); ++i)
      if (it == by_pid.end() || s.prepared[i].database == it->second->database) return -1 - static_cast<int>(i);
    return -1;
  }

  const LockEntry* held_lock(int pid, const std::function<bool(const LockEntry&)>& match) const {
    if (is_prepared(pid)) {  // its locks have no pid
      const PreparedXact* p = prepared(pid);
      for (const auto& l : s.locks)
        if (!l.pid && l.granted && (!p || l.virtualtransaction == "-1/" + p->xid) && match(l)) return &l;
      return nullptr;
    }
    auto [b, e] = locks_of.equal_range(pid);
    for (auto it = b; it != e; ++it)
      if (it->second->granted && match(*it->second)) return it->second;
    return nullptr;
  }

  std::string row_words(const LockEntry& l) const {
    const std::string& relation = l.relation;
    const int64_t page = l.page.value_or(0), tuple = l.tuple.value_or(0);
    if (!l.here)  // only the database read can be asked which row it is
      return "a row (page " + std::to_string(page) + ", tuple " + std::to_string(tuple) + ") of a table of another database";
    auto it = s.rows.find({relation, page, tuple});
    if (it != s.rows.end()) return it->second;
    return "a row of " + relation + " at (" + std::to_string(page) + "," + std::to_string(tuple) +
           ") that has changed since (updated or deleted): the holder's transaction still has it";
  }

  // What `waiter` wants, blocked by `blocker`, in words.
  LockTarget target(int waiter, int blocker) const {
    LockTarget t;
    const LockEntry* l = wanted_by(waiter);
    if (!l) {
      t.kind = "other";
      t.text = "a lock that was granted since this was read";
      return t;
    }
    t.mode = l->mode;
    t.relation = l->relation;
    if (l->locktype == "tuple" && l->page && l->tuple) {
      t.kind = "row";
      t.text = row_words(*l);
    } else if (l->locktype == "transactionid" || l->locktype == "speculative token") {
      // A row's first waiter holds the row version's tuple lock and waits
      // for the holder's transaction; an insert with a taken unique key
      // holds no tuple lock: it waits on the transaction that inserted the key.
      const LockEntry* row = held_lock(waiter, [](const LockEntry& e) { return e.locktype == "tuple"; });
      const LockEntry* index =
          held_lock(waiter, [](const LockEntry& e) { return e.locktype == "relation" && e.unique_index; });
      if (row && row->page && row->tuple && l->locktype == "transactionid") {
        t.kind = "row";
        t.relation = row->relation;
        t.text = row_words(*row);
      } else if (index) {
        t.kind = "unique-key";
        t.relation = index->index_table;
        t.text = "a key of " + index->index_table + " that transaction " + l->xid +
                 " inserted and has not committed (" + index->index_def + ")";
      } else {
        t.kind = "transaction";
        t.text = "the end of transaction " + l->xid;
      }
    } else if (l->locktype == "relation") {
      t.kind = "relation";
      std::string what = l->relkind == "i" ? "index " : l->relkind == "S" ? "sequence " : "table ";
      t.text = what + (l->relation.empty() ? "(in another database)" : l->relation);
      const std::string rel = l->relation;
      if (const LockEntry* h = held_lock(blocker, [&](const LockEntry& e) {
            return e.locktype == "relation" && e.relation == rel;
          })) {
        t.held_mode = h->mode;
        t.taken_by = relation_mode_takers(h->mode);
      }
    } else if (l->locktype == "advisory" && l->classid && l->objid) {
      t.kind = "advisory";
      t.advisory_key = advisory_key_text(*l->classid, *l->objid, l->objsubid);
      const AdvisoryLock* known = find_advisory_lock(*l->classid, *l->objid, l->objsubid);
      t.advisory_name = known ? known->name : "";
      t.text = known ? std::string("advisory lock: ") + known->name + " (" + known->taken_by + ")"
                     : "advisory lock " + t.advisory_key + " (not one of resv's)";
    } else {
      t.kind = "other";
      t.text = l->locktype + " lock";
    }
    return t;
  }

  double wait_of(int pid) const {
    const LockEntry* l = wanted_by(pid);
    if (l && l->wait_s) return *l->wait_s;
    auto it = by_pid.find(pid);
    if (it != by_pid.end() && it->second->query_age_s) return *it->second->query_age_s;
    return 0;
  }

  LockReport build() {
    LockReport r;
    // Edges: blocker -> waiters (parallel workers folded into their leader).
    std::map<int, std::vector<int>> children;
    std::map<int, std::vector<int>> blockers_of;
    std::set<int> waiting;
    auto blocker_id = [&](int waiter, int b) { return b == 0 ? prepared_blocking(waiter) : leader(b); };
    for (const auto& x : s.sessions) {
      if (x.blocked_by.empty() || leader(x.pid) != x.pid) continue;
      std::vector<int> bs;
      for (int b : x.blocked_by) {
        int lb = blocker_id(x.pid, b);
        if (lb != x.pid && std::find(bs.begin(), bs.end(), lb) == bs.end()) bs.push_back(lb);
      }
      if (bs.empty()) continue;
      waiting.insert(x.pid);
      blockers_of[x.pid] = bs;
      children[bs.front()].push_back(x.pid);
    }
    // Workers waiting while their leader does not: the leader waits.
    for (const auto& x : s.sessions) {
      int l = leader(x.pid);
      if (l == x.pid || x.blocked_by.empty() || waiting.count(l)) continue;
      std::vector<int> bs;
      for (int b : x.blocked_by)
        if (blocker_id(l, b) != l) bs.push_back(blocker_id(l, b));
      if (bs.empty()) continue;
      waiting.insert(l);
      blockers_of[l] = bs;
      children[bs.front()].push_back(l);
    }
    // Roots: blockers that wait for nobody; then one per cycle left over
    // (a deadlock PostgreSQL has not broken yet).
    std::vector<int> roots;
    for (const auto& [b, _] : children)
      if (!waiting.count(b)) roots.push_back(b);
    std::set<int> placed;
    std::function<LockNode(int, std::optional<int>)> node = [&](int pid, std::optional<int> parent) {
      LockNode n;
      n.pid = is_prepared(pid) ? 0 : pid;
      placed.insert(pid);
      if (auto it = by_pid.find(pid); it != by_pid.end()) n.session = it->second;
      if (const PreparedXact* p = prepared(pid)) n.prepared_gid = p->gid;
      if (auto it = workers_of.find(pid); it != workers_of.end()) n.workers = it->second;
      if (parent) {
        n.wait_s = wait_of(pid);
        n.waits_for = target(pid, *parent);
        for (int b : blockers_of[pid])
          if (b != *parent) n.also_blocked_by.push_back(is_prepared(b) ? 0 : b);
      }
      for (int c : children[pid])
        if (!placed.count(c)) n.waiters.push_back(node(c, pid));
      return n;
    };
    auto add_tree = [&](int root) {
      BlockingTree t;
      t.root = node(root, std::nullopt);
      t.holds = resv::held_by(t.root);
      std::function<void(const LockNode&)> count = [&](const LockNode& n) {
        for (const auto& w : n.waiters) {
          ++t.waiters;
          if (w.session && is_server_session(*w.session)) ++t.server_waiters;
          t.longest_wait_s = std::max(t.longest_wait_s, w.wait_s.value_or(0));
          count(w);
        }
      };
      count(t.root);
      const PreparedXact* p = prepared(root);
      bool relevant = o.all_databases || (t.root.session && in_scope(*t.root.session)) ||
                      (p && p->database == s.database);
      std::function<bool(const LockNode&)> any_in_scope = [&](const LockNode& n) {
        for (const auto& w : n.waiters)
          if ((w.session && in_scope(*w.session)) || any_in_scope(w)) return true;
        return false;
      };
      relevant = relevant || any_in_scope(t.root);
      if (relevant && t.longest_wait_s >= o.min_wait_s) r.trees.push_back(std::move(t));
    };
    for (int root : roots) add_tree(root);
    for (int w : waiting)
      if (!placed.count(w)) add_tree(w);
    std::sort(r.trees.begin(), r.trees.end(),
              [](const BlockingTree& a, const BlockingTree& b) { return a.longest_wait_s > b.longest_wait_s; });

    std::set<int> in_trees;
    std::function<void(const LockNode&)> mark = [&](const LockNode& n) {
      in_trees.insert(n.pid);
      for (const auto& w : n.waiters) mark(w);
    };
    for (const auto& t : r.trees) mark(t.root);
    for (const auto& x : s.sessions) {
      if (!in_scope(x) || leader(x.pid) != x.pid) continue;
      ++r.sessions;
      if (waiting.count(x.pid)) ++r.waiting;
      if (in_trees.count(x.pid)) continue;
      if (x.state.rfind("idle in transaction", 0) == 0 && x.state_age_s.value_or(0) >= o.idle_in_transaction_s)
        r.idle_in_transaction.push_back(&x);
      else if (x.state == "active" && x.backend_type == "client backend" &&
               x.query_age_s.value_or(0) >= o.long_query_s)
        r.long_running.push_back(&x);
    }
    auto older = [](const LockSession* a, const LockSession* b) {
      return a->state_age_s.value_or(0) > b->state_age_s.value_or(0);
    };
    std::sort(r.idle_in_transaction.begin(), r.idle_in_transaction.end(), older);
    std::sort(r.long_running.begin(), r.long_running.end(), older);

    // One entry per session and registered name; a session's unknown keys
    // in one entry (its first key as the example): an application may hold
    // thousands.
    std::map<std::pair<int, std::string>, LockReport::Advisory> advisory;
    for (const auto& l : s.locks) {
      if (l.locktype != "advisory" || !l.granted || !l.classid || !l.objid) continue;
      if (!o.all_databases && !l.here) continue;  // advisory keys belong to one database
      const AdvisoryLock* known = find_advisory_lock(*l.classid, *l.objid, l.objsubid);
      const int pid = l.pid.value_or(0);
      auto& a = advisory[{pid, known ? known->name : ""}];
      a.pid = pid;
      a.name = known ? known->name : "";
      if (!known && a.key.empty()) a.key = advisory_key_text(*l.classid, *l.objid, l.objsubid);
      ++a.count;
    }
    for (auto& [_, a] : advisory) r.advisory.push_back(std::move(a));
    return r;
  }
};

}  // namespace

LockReport build_lock_report(const LockSnapshot& s, const LockReportOptions& o) { return ReportBuilder(s, o).build(); }

std::vector<LockTarget> held_by(const LockNode& n) {
  std::vector<LockTarget> out;
  std::set<std::string> seen;
  for (const auto& w : n.waiters)
    if (w.waits_for && seen.insert(w.waits_for->text).second) out.push_back(*w.waits_for);
  return out;
}

// ---- the way out ------------------------------------------------------------------

std::optional<std::string> kill_refusal(const LockSnapshot& s, int pid) {
  if (pid <= 0)
    return "pid " + std::to_string(pid) +
           " is not a session; a prepared transaction is ended with COMMIT PREPARED or ROLLBACK PREPARED 'gid'";
  if (pid == s.own_pid) return "pid " + std::to_string(pid) + " is this resv's own session";
  const LockSession* x = nullptr;
  for (const auto& session : s.sessions)
    if (session.pid == pid) x = &session;
  if (!x) return std::nullopt;  // cancel_or_terminate says NotFound
  if (x->superuser && !s.superuser)
    return "pid " + std::to_string(pid) + " belongs to superuser " + x->user +
           " and this role is not one: PostgreSQL lets only a superuser signal it";
  return std::nullopt;
}

Result<KillResult> cancel_or_terminate(const std::string& url, const KillRequest& r) {
  try {
    pqxx::connection conn(with_application_name(with_connect_timeout(url, 5), "resv locks"));
    KillResult out;
    {
      pqxx::work tx(conn);
      auto who = tx.exec_params(
          "SELECT pg_backend_pid(), (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),"
          " a.usename, coalesce(r.rolsuper, false) FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid"
          " WHERE a.pid = $1",
          r.pid);
      if (who.empty()) return Status::NotFound("no session has pid " + std::to_string(r.pid) + " (it may have ended)");
      LockSnapshot self;
      self.own_pid = who[0][0].as<int>();
      self.superuser = who[0][1].as<bool>(false);
      self.sessions.push_back({});
      self.sessions.back().pid = r.pid;
      self.sessions.back().user = text(who[0][2]);
      self.sessions.back().superuser = who[0][3].as<bool>(false);
      if (auto why = kill_refusal(self, r.pid)) return Status::Invalid(*why);
      out.audit_id = tx.exec_params1("INSERT INTO ops_audit (actor, action, target, old_values)"
                                     " VALUES ($1, $2, $3, $4::jsonb) RETURNING id",
                                     r.actor, r.terminate ? "locks.terminate" : "locks.cancel",
                                     "pid " + std::to_string(r.pid), r.held_json)[0]
                         .as<int64_t>();
      tx.commit();  // the row first: no signal without it
    }
    pqxx::nontransaction tx(conn);
    out.signalled =
        tx.exec_params1(r.terminate ? "SELECT pg_terminate_backend($1)" : "SELECT pg_cancel_backend($1)", r.pid)[0]
            .as<bool>(false);
    // Released: nobody of r.waiters is blocked by the pid any more.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(r.release_wait_ms);
    while (true) {
      auto row = tx.exec_params1(
          "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND ($2 OR state = 'active')),"
          " (SELECT array_agg(w) FROM unnest($3::int[]) w WHERE $1 = ANY (pg_blocking_pids(w)))",
          r.pid, r.terminate, pg_int_array(std::vector<int64_t>(r.waiters.begin(), r.waiters.end())));
      out.still_blocked = int_array(row[1]);
      out.ended = !row[0].as<bool>(true);
      if ((out.ended && out.still_blocked.empty()) || std::chrono::steady_clock::now() >= until) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    tx.exec_params("UPDATE ops_audit SET new_values = jsonb_build_object('signalled', $2::boolean, 'ended', $3::boolean,"
                   " 'stillBlocked', $4::int[]) WHERE id = $1",
                   out.audit_id, out.signalled, out.ended,
                   pg_int_array(std::vector<int64_t>(out.still_blocked.begin(), out.still_blocked.end())));
    return out;
  } catch (const pqxx::broken_connection& e) {
    return Status::DbUnavailable(e.what());
  } catch (const pqxx::undefined_table& e) {
    return Status::Error(ErrorCode::Conflict,
                         "the database has no ops_audit table (its schema is older than this resv): " +
                             std::string(e.what()));
  } catch (const pqxx::insufficient_privilege& e) {
    return Status::Error(ErrorCode::Unauthorized, std::string("the database refused: ") + e.what());
  }
}

}  // namespace resv
