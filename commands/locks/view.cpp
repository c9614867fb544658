// resv locks [--watch N] [--min-wait D] [--all] [--fail-on-blocking D]: the
// blocking trees of the database, what each lock guards, the sessions that
// are the next incident, the servers' write pools, and the way out.
#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "cli/http_client.h"
#include "cli/server_control.h"
#include "cli/servers.h"
#include "cli/watch.h"
#include "commands/locks/locks.h"

namespace resv::cli::locks_cmd {
namespace {

using nlohmann::json;

struct ViewFlags {
  int watch = 0;
  std::string min_wait;
  bool all = false;
  std::string fail_on_blocking;
  std::optional<int64_t> min_wait_s, fail_after_s;  // parsed
};

// One resv-server's write pool, from its admin API.
struct ServerPool {
  std::string instance;  // "resv-server:8080"; "" when it did not say
  int admin_port = 0;
  std::string error;  // why there are no figures
  int64_t size = 0, in_use = 0, waiting = 0, oldest_wait_ms = 0, overloaded = 0;
  int db_waiting = 0;  // its database sessions in the blocking trees
};

std::vector<ServerPool> server_pools(const Context& ctx, const LockReport& report) {
  std::vector<ServerPool> out;
  auto targets = admin_targets(ctx);
  if (!targets.ok()) return out;
  const std::string token = admin_token_for(ctx);
  for (const auto& t : targets.value()) {
    if (t.managed && !is_running_server(t.inst.pid)) continue;
    ServerPool p;
    p.admin_port = t.inst.admin_port;
    HttpClient admin(t.host, static_cast<uint16_t>(t.inst.admin_port), std::chrono::seconds(2));
    auto r = admin.get("/admin/status", {{"Authorization", "Bearer " + token}});
    auto j = json::parse(r.body, nullptr, false);
    if (r.status != 200 || !j.is_object()) {
      p.error = r.status == 0 ? r.error : "/admin/status answered " + std::to_string(r.status);
      out.push_back(std::move(p));
      continue;
    }
    p.instance = j.value("instance", "");
    const json pool = j.value("dbPool", json::object());
    p.size = pool.value("size", int64_t{0});
    p.in_use = pool.value("inUse", int64_t{0});
    p.waiting = pool.value("waiting", int64_t{0});
    p.oldest_wait_ms = pool.value("oldestWaitMs", int64_t{0});
    p.overloaded = pool.value("overloadedTotal", int64_t{0});
    std::function<void(const LockNode&)> count = [&](const LockNode& n) {
      for (const auto& w : n.waiters) {
        if (w.session && !p.instance.empty() && w.session->application.rfind(p.instance + " ", 0) == 0) ++p.db_waiting;
        count(w);
      }
    };
    for (const auto& tree : report.trees) count(tree.root);
    out.push_back(std::move(p));
  }
  return out;
}


std::string age(const std::optional<double>& s) { return s ? human_duration(*s) : "-"; }

// The waiters under `n`, one line each, indented by depth; at most `limit`
// lines (0: all), counting those left out in `hidden`.
void waiter_rows(Table& t, const LockNode& n, const std::string& holds, int depth, size_t limit,
                 size_t& shown, size_t& hidden) {
  for (const auto& w : n.waiters) {
    if (limit && shown >= limit) {
      ++hidden;
    } else {
      ++shown;
      std::string pid = std::string(static_cast<size_t>(depth) * 2, ' ') + (depth ? "└ " : "") + std::to_string(w.pid);
      std::string what;
      if (w.waits_for && w.waits_for->text != holds) what = "wants " + w.waits_for->text + ": ";
      const LockSession* s = w.session;
      std::string wait = s ? s->wait_event_type + ":" + s->wait_event : "-";
      t.add({pid, age(w.wait_s), s ? short_query(who(*s), 28) : "-", short_query(wait, 22), short_query(what + (s ? s->query : ""), 48)});
    }
    waiter_rows(t, w, holds, depth + 1, limit, shown, hidden);
  }
}

std::string tree_text(const Output& out, const BlockingTree& t, bool verbose) {
  std::string text;
  const LockNode& root = t.root;
  std::string head = out.bold("BLOCKER " + std::string(root.pid ? "pid " + std::to_string(root.pid) : "prepared"));
  if (root.pid == 0) {
    head += "  prepared transaction '" + root.prepared_gid + "'";
  } else if (root.session) {
    const auto& s = *root.session;
    head += "  " + who(s) + "  " + state_text(out, s) + "  transaction " + age(s.xact_age_s) +
            (s.xid.empty() ? "" : "  xid " + s.xid);
    if (!root.workers.empty()) head += "  +" + std::to_string(root.workers.size()) + " parallel workers";
  } else {
    head += "  (ended since this was read)";
  }
  text += head + "\n";
  for (const auto& h : t.holds) {
    text += "  holds   " + h.text + "\n";
    if (!h.held_mode.empty()) text += "          " + h.held_mode + ", taken by " + h.taken_by + "\n";
  }
  if (root.session) text += "  query   " + short_query(root.session->query, 110) + "\n";
  text += "  blocks  " + std::to_string(t.waiters) + " session" + (t.waiters == 1 ? "" : "s") + " (" +
          std::to_string(t.server_waiters) + " of resv-server), longest wait " + human_duration(t.longest_wait_s) +
          "\n";
  Table table({"PID", "WAITED", "WHO", "WAIT", "QUERY"});
  size_t shown = 0, hidden = 0;
  waiter_rows(table, root, t.holds.empty() ? "" : t.holds.front().text, 0, verbose ? 0 : 12, shown, hidden);
  std::string rendered = table.render();
  for (size_t start = 0; start < rendered.size();) {
    size_t end = rendered.find('\n', start);
    text += "  " + rendered.substr(start, end - start) + "\n";
    start = end == std::string::npos ? rendered.size() : end + 1;
  }
  if (hidden) text += "  ... and " + std::to_string(hidden) + " more (resv locks -v, or --json, lists them all)\n";
  return text;
}

// The command that ends the blocker, as the operator would type it.
std::string way_out(const BlockingTree& t) {
  if (t.root.pid == 0)
    return "COMMIT PREPARED or ROLLBACK PREPARED '" + t.root.prepared_gid + "' (resv db psql)";
  const bool idle = t.root.session && t.root.session->state.rfind("idle in transaction", 0) == 0;
  const std::string pid = std::to_string(t.root.pid);
  return idle ? "resv locks terminate " + pid + " (ends its transaction; cancel does nothing to an idle one)"
              : "resv locks cancel " + pid + " (stops its statement), or resv locks terminate " + pid;
}

std::string sessions_table(const Output& out, const std::vector<const LockSession*>& sessions) {
  Table t({"PID", "WHO", "STATE", "TRANSACTION", "XID", "QUERY"});
  for (const auto* s : sessions)
    t.add({std::to_string(s->pid), short_query(who(*s), 30), state_text(out, *s), age(s->xact_age_s),
           s->xid.empty() ? "-" : s->xid, short_query(s->query, 44)});
  return t.render();
}

std::string summary(const LockSnapshot& s, const LockReport& r) {
  std::string head = "locks on " + s.database + " at " + s.now + ": ";
  if (r.trees.empty())
    return head + "no session waits for a lock (" + std::to_string(r.sessions) + " session" +
           (r.sessions == 1 ? "" : "s") + ")";
  int waiters = 0, server = 0;
  double longest = 0;
  for (const auto& t : r.trees) {
    waiters += t.waiters;
    server += t.server_waiters;
    longest = std::max(longest, t.longest_wait_s);
  }
  return head + std::to_string(r.trees.size()) + " blocker" + (r.trees.size() == 1 ? "" : "s") + " hold" +
         (r.trees.size() == 1 ? "s" : "") + " up " + std::to_string(waiters) + " session" + (waiters == 1 ? "" : "s") +
         " (" + std::to_string(server) + " of resv-server); longest wait " + human_duration(longest);
}

std::string counters_text(const LockSnapshot& s) {
  const auto& g = s.settings;
  auto off = [](const std::string& v) { return v == "0" ? std::string("0 (off)") : v; };
  return "deadlocks " + std::to_string(s.deadlocks) +
         (s.stats_age_s ? " since the statistics were reset " + human_duration(*s.stats_age_s) + " ago" : "") +
         "\nlock settings (the database's defaults; resv-server sets its own lock_timeout):\n  lock_timeout " +
         off(g.lock_timeout) + ", deadlock_timeout " + g.deadlock_timeout + ", log_lock_waits " + g.log_lock_waits +
         "\n  idle_in_transaction_session_timeout " + off(g.idle_in_transaction_timeout) + ", statement_timeout " +
         off(g.statement_timeout);
}

json report_json(const LockSnapshot& s, const LockReport& r, const std::vector<ServerPool>& pools) {
  json trees = json::array(), idle = json::array(), longq = json::array(), advisory = json::array(),
       servers = json::array();
  for (const auto& t : r.trees) trees.push_back(tree_json(t));
  for (const auto* x : r.idle_in_transaction) idle.push_back(session_json(*x));
  for (const auto* x : r.long_running) longq.push_back(session_json(*x));
  for (const auto& a : r.advisory)
    advisory.push_back({{"pid", a.pid},
                        {"name", a.name.empty() ? json(nullptr) : json(a.name)},
                        {"key", a.key.empty() ? json(nullptr) : json(a.key)},
                        {"count", a.count}});
  for (const auto& p : pools) {
    json pool = p.error.empty() ? json{{"size", p.size},
                                       {"inUse", p.in_use},
                                       {"waiting", p.waiting},
                                       {"oldestWaitMs", p.oldest_wait_ms},
                                       {"overloadedTotal", p.overloaded}}
                                : json(nullptr);
    servers.push_back({{"instance", p.instance.empty() ? json(nullptr) : json(p.instance)},
                       {"adminPort", p.admin_port},
                       {"error", p.error.empty() ? json(nullptr) : json(p.error)},
                       {"pool", pool},
                       {"sessionsWaiting", p.db_waiting}});
  }
  const auto& g = s.settings;
  return {{"database", s.database},
          {"now", s.now},
          {"sessions", r.sessions},
          {"waiting", r.waiting},
          {"trees", trees},
          {"idleInTransaction", idle},
          {"longRunning", longq},
          {"advisoryLocks", advisory},
          {"servers", servers},
          {"deadlocks", s.deadlocks},
          {"statsAgeSeconds", s.stats_age_s ? json(*s.stats_age_s) : json(nullptr)},
          {"settings",
           {{"lockTimeout", g.lock_timeout},
            {"deadlockTimeout", g.deadlock_timeout},
            {"idleInTransactionSessionTimeout", g.idle_in_transaction_timeout},
            {"statementTimeout", g.statement_timeout},
            {"logLockWaits", g.log_lock_waits}}}};
}

std::string report_text(const Output& out, const LockSnapshot& s, const LockReport& r,
                        const std::vector<ServerPool>& pools) {
  std::string text = summary(s, r) + "\n";
  for (const auto& t : r.trees) text += "\n" + tree_text(out, t, out.verbose() > 0);
  if (!pools.empty()) {
    Table t({"SERVER", "ADMIN", "POOL IN USE", "WAITING", "OLDEST WAIT", "503 (OVERLOADED)", "SESSIONS IN TREES"});
    for (const auto& p : pools) {
      if (!p.error.empty()) {
        t.add({p.instance.empty() ? "?" : p.instance, std::to_string(p.admin_port), "-", "-", "-", "-",
               short_query(p.error, 40)});
        continue;
      }
      t.add({p.instance, std::to_string(p.admin_port), std::to_string(p.in_use) + "/" + std::to_string(p.size),
             std::to_string(p.waiting), human_duration(static_cast<double>(p.oldest_wait_ms) / 1000),
             std::to_string(p.overloaded), std::to_string(p.db_waiting)});
    }
    text += "\nservers' write pools\n" + t.render();
  }
  if (!r.idle_in_transaction.empty())
    text += "\nidle in transaction, blocking nobody yet (their row locks show only once someone waits)\n" +
            sessions_table(out, r.idle_in_transaction);
  if (!r.long_running.empty()) text += "\nlong-running statements\n" + sessions_table(out, r.long_running);
  if (!r.advisory.empty()) {
    text += "\nadvisory locks held\n";
    const size_t limit = out.verbose() ? r.advisory.size() : 12;
    for (size_t i = 0; i < r.advisory.size() && i < limit; ++i) {
      const auto& a = r.advisory[i];
      const std::string keys = a.count == 1 ? "key " + a.key : std::to_string(a.count) + " keys (" + a.key + ", ...)";
      text += "  " + (a.name.empty() ? keys + " not of resv's" : a.name) + ": pid " + std::to_string(a.pid) + "\n";
    }
    if (r.advisory.size() > limit)
      text += "  ... and " + std::to_string(r.advisory.size() - limit) + " more sessions (-v or --json)\n";
  }
  text += "\n" + counters_text(s) + "\n";
  for (const auto& t : r.trees) text += "way out: " + way_out(t) + "\n";
  // Row locks give a transaction an xid: only then can it hold rows.
  for (const auto* x : r.idle_in_transaction)
    if (!x->xid.empty()) {
      text += "rows an idle transaction holds: resv locks rows seats --pid " + std::to_string(x->pid) +
              " (pgrowlocks; reads the whole table)\n";
      break;
    }
  return text;
}

// The --fail-on-blocking finding: each tree whose wait, or whose idle
// blocker, is at least `seconds` old; "" when none.
std::string blocking_finding(const LockReport& r, int64_t seconds) {
  std::string out;
  for (const auto& t : r.trees) {
    const LockSession* s = t.root.session;
    const bool idle_old = s && s->state.rfind("idle in transaction", 0) == 0 &&
                          s->state_age_s.value_or(0) >= static_cast<double>(seconds);
    if (t.longest_wait_s < static_cast<double>(seconds) && !idle_old) continue;
    out += (out.empty() ? "" : "; ") + node_label(t.root) + " holds " +
           (t.holds.empty() ? std::string("a lock") : t.holds.front().text) + " and " + std::to_string(t.waiters) +
           " wait (longest " + human_duration(t.longest_wait_s) + ")";
  }
  return out;
}

Outcome run_view(const Context& ctx, const ViewFlags& f) {
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  LockReportOptions o;
  o.all_databases = f.all;
  o.min_wait_s = static_cast<double>(f.min_wait_s.value_or(0));
  return run_watch(ctx.out(), std::chrono::seconds(f.watch), [&](const WatchFrame& frame) -> Outcome {
    auto snapshot = read_lock_snapshot(url.value());
    if (!snapshot.ok()) return failure(ctx, url.value(), snapshot.status());
    const LockReport report = build_lock_report(snapshot.value(), o);
    const auto pools = server_pools(ctx, report);
    const Output& out = ctx.out();
    if (out.json())
      out.data(frame.start() + report_json(snapshot.value(), report, pools).dump(2) + "\n");
    else
      out.data(frame.start() + frame.title("resv locks") + report_text(out, snapshot.value(), report, pools) +
               (frame.watching() ? "\n" : ""));
    if (!f.fail_after_s) return Outcome::Ok();
    if (auto finding = blocking_finding(report, *f.fail_after_s); !finding.empty())
      return Outcome::Problem("blocking for " + std::to_string(*f.fail_after_s) + " s or more: " + finding,
                              report.trees.empty() ? "" : "the way out: " + way_out(report.trees.front()));
    return Outcome::Ok();
  });
}

}  // namespace

void add_view(CLI::App& locks, Context& ctx) {
  auto f = std::make_shared<ViewFlags>();
  // pg_blocking_pids() takes the lock manager's locks: never more than once a second.
  locks.add_option("--watch", f->watch, "Redraw every SECONDS (at least 1) until Ctrl-C")
      ->type_name("SECONDS")
      ->check(CLI::Range(1, 3600));
  locks.add_option("--min-wait", f->min_wait, "Only blockers whose longest waiter has waited this long (30s, 2m)")
      ->type_name("DURATION");
  locks.add_flag("--all", f->all, "Every database of the cluster, not only resv's");
  locks.add_option("--fail-on-blocking", f->fail_on_blocking,
                   "Exit 4 when a lock wait, or an idle-in-transaction blocker, is this old (30s, 2m)")
      ->type_name("DURATION");
  locks.footer(
               "What it shows: a summary line; each blocker (BLOCKER: pid, who, state with IDLE IN TRANSACTION\n"
               "in capitals, transaction age, xid), what it holds in resv's words (seat A-12, id 42, schedule 3;\n"
               "pool unit 17 of pool 5; user 9001's balance; a table and the mode it is locked in, with who takes\n"
               "that mode; an advisory lock by name), its last query, and the sessions waiting behind it to any\n"
               "depth (-v: all of them, else the first 12); the servers' write pools; sessions idle in\n"
               "transaction or running long that block nobody yet; advisory locks held; deadlock count and lock\n"
               "settings; and the command that ends each blocker.\n"
               "\n"
               "JSON (--json; with --watch one document per round):\n"
               "  {\"database\": string, \"now\": string, \"sessions\": int, \"waiting\": int,\n"
               "   \"trees\": [{\"blocker\": NODE, \"holds\": [TARGET], \"waiters\": int, \"serverWaiters\": int,\n"
               "     \"longestWaitSeconds\": number}],\n"
               "   \"idleInTransaction\": [SESSION], \"longRunning\": [SESSION],\n"
               "   \"advisoryLocks\": [{\"pid\": int, \"name\": string|null (null: keys not of resv's), \"key\": string|null\n"
               "     (the first such key), \"count\": int}],\n"
               "   \"servers\": [{\"instance\": string|null, \"adminPort\": int, \"error\": string|null,\n"
               "     \"pool\": {\"size\", \"inUse\", \"waiting\", \"oldestWaitMs\", \"overloadedTotal\": int}|null,\n"
               "     \"sessionsWaiting\": int}],\n"
               "   \"deadlocks\": int, \"statsAgeSeconds\": number|null, \"settings\": {\"lockTimeout\",\n"
               "     \"deadlockTimeout\", \"idleInTransactionSessionTimeout\", \"statementTimeout\", \"logLockWaits\": string}}\n"
               "  SESSION: {\"pid\": int, \"application\", \"user\", \"client\", \"database\", \"backendType\", \"state\",\n"
               "    \"query\": string, \"transactionAgeSeconds\", \"stateAgeSeconds\", \"queryAgeSeconds\": number|null,\n"
               "    \"waitEvent\": string|null, \"xid\": string|null, \"resvServer\": bool}\n"
               "  NODE: SESSION (only \"pid\" when it ended) + {\"preparedTransaction\": string|null (pid 0),\n"
               "    \"waitSeconds\": number|null, \"waitsFor\": TARGET|null, \"alsoBlockedBy\": [int],\n"
               "    \"parallelWorkers\": [int], \"waiters\": [NODE]}\n"
               "  TARGET: {\"kind\": \"row\"|\"unique-key\"|\"relation\"|\"advisory\"|\"transaction\"|\"other\",\n"
               "    \"text\": string, \"relation\", \"mode\", \"heldMode\", \"takenBy\", \"advisoryName\",\n"
               "    \"advisoryKey\": string|null}\n\n" +
               locks.get_footer());
  ctx.on_run(&locks, [&ctx, f] {
    auto min_wait = duration_flag(f->min_wait, "--min-wait");
    if (!min_wait.ok()) return min_wait.outcome();
    auto fail_after = duration_flag(f->fail_on_blocking, "--fail-on-blocking");
    if (!fail_after.ok()) return fail_after.outcome();
    f->min_wait_s = min_wait.value();
    f->fail_after_s = fail_after.value();
    return run_view(ctx, *f);
  });
}

}  // namespace resv::cli::locks_cmd
