// resv locks: who blocks whom, on which seat, and the way out. Reads the
// database's catalogue (core/ops/locks.h), so it works while every
// resv-server is down; asks running servers for their write pools. One file
// per verb in this folder; this one makes the group and the shared words.
#include "commands/locks/locks.h"

#include <functional>

#include "cli/commands.h"
#include "cli/db_connect.h"

namespace resv::cli {

void register_locks(CLI::App& app, Context& ctx) {
  auto* locks = app.add_subcommand("locks", "Who blocks whom, on which seat, and the way out");
  locks->require_subcommand(0, 1);
  locks->footer(
      "Reads pg_stat_activity, pg_locks and pg_blocking_pids() of the database (--db, RESV_DATABASE_URL,\n"
      "config file, else the embedded cluster), so it works while the servers are down. Each blocking\n"
      "session is shown with every session waiting behind it, to any depth, and what the lock guards in\n"
      "resv's words (a seat, a pool unit, a balance, an advisory lock by name). Running resv-servers\n"
      "(--admin-url, or those 'resv server start' recorded) add their write pools.\n"
      "\n"
      "Exit codes: 0 read (also when sessions wait, unless --fail-on-blocking), 3 the database cannot\n"
      "be reached, 4 --fail-on-blocking found a wait or an idle-in-transaction blocker that old.\n"
      "\n"
      "Examples:\n"
      "  resv locks\n"
      "  resv locks --watch 2 --min-wait 1s\n"
      "  resv locks --fail-on-blocking 30s -q || page-oncall\n"
      "  resv locks terminate 4711\n"
      "  resv locks terminate --blockers-older-than 2m --yes\n"
      "  resv locks rows seats --pid 4711");
  locks_cmd::add_view(*locks, ctx);
  locks_cmd::add_kill(*locks, ctx);
  locks_cmd::add_rows(*locks, ctx);
}

namespace locks_cmd {

using nlohmann::json;

Outcome failure(const Context& ctx, const std::string& url, const Status& s) {
  switch (s.code()) {
    case ErrorCode::DbUnavailable:
      return cannot_connect(ctx, url, s.message());
    case ErrorCode::Unauthorized:
      return Outcome::Failed(first_line(s.message()),
                             "connect as a role with pg_read_all_stats (or a superuser) to see every session (--db URL)");
    case ErrorCode::InvalidRequest:
      return Outcome::Usage(first_line(s.message()));
    case ErrorCode::NotFound:
      return Outcome::Failed(s.message(), "'resv locks' shows the sessions as they are now");
    default:
      return Outcome::Failed(first_line(s.message()));
  }
}

std::string who(const LockSession& s) {
  if (is_server_session(s)) return s.application;
  std::string app = s.application.empty() ? (s.backend_type == "client backend" ? "no name" : s.backend_type)
                                          : s.application;
  return app + ", " + s.user + (s.client.empty() ? "" : "@" + s.client);
}

std::string state_text(const Output& out, const LockSession& s) {
  std::string age = s.state_age_s ? " " + human_duration(*s.state_age_s) : "";
  if (s.state.rfind("idle in transaction", 0) == 0) {
    std::string upper;
    for (char c : s.state) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out.red(upper + age);
  }
  return (s.state.empty() ? s.backend_type : s.state) + age;
}

std::string node_label(const LockNode& n) {
  if (n.pid == 0)
    return "prepared transaction '" + n.prepared_gid + "' (no session: COMMIT PREPARED or ROLLBACK PREPARED ends it)";
  std::string label = "pid " + std::to_string(n.pid);
  if (!n.session) return label + " (ended since)";
  const auto& s = *n.session;
  label += " (" + who(s);
  if (!s.state.empty()) label += ", " + s.state + (s.state_age_s ? " for " + human_duration(*s.state_age_s) : "");
  return label + ")";
}

namespace {

template <class T>
json or_null(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

json session_json(const LockSession& s) {
  return {{"pid", s.pid},
          {"application", s.application},
          {"user", s.user},
          {"client", s.client},
          {"database", s.database},
          {"backendType", s.backend_type},
          {"state", s.state},
          {"transactionAgeSeconds", or_null(s.xact_age_s)},
          {"stateAgeSeconds", or_null(s.state_age_s)},
          {"queryAgeSeconds", or_null(s.query_age_s)},
          {"waitEvent", s.wait_event_type.empty() ? json(nullptr) : json(s.wait_event_type + ":" + s.wait_event)},
          {"xid", s.xid.empty() ? json(nullptr) : json(s.xid)},
          {"query", s.query},
          {"resvServer", is_server_session(s)}};
}

json target_json(const LockTarget& t) {
  auto text_or_null = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
  return {{"kind", t.kind},
          {"text", t.text},
          {"relation", text_or_null(t.relation)},
          {"mode", text_or_null(t.mode)},
          {"heldMode", text_or_null(t.held_mode)},
          {"takenBy", text_or_null(t.taken_by)},
          {"advisoryName", text_or_null(t.advisory_name)},
          {"advisoryKey", text_or_null(t.advisory_key)}};
}

json node_json(const LockNode& n) {
  json j = n.session ? session_json(*n.session) : json{{"pid", n.pid}};
  j["preparedTransaction"] = n.pid == 0 ? json(n.prepared_gid) : json(nullptr);
  j["waitSeconds"] = or_null(n.wait_s);
  j["waitsFor"] = n.waits_for ? target_json(*n.waits_for) : json(nullptr);
  j["alsoBlockedBy"] = n.also_blocked_by;
  j["parallelWorkers"] = n.workers;
  json waiters = json::array();
  for (const auto& w : n.waiters) waiters.push_back(node_json(w));
  j["waiters"] = std::move(waiters);
  return j;
}

json tree_json(const BlockingTree& t) {
  json holds = json::array();
  for (const auto& h : t.holds) holds.push_back(target_json(h));
  return {{"blocker", node_json(t.root)},
          {"holds", holds},
          {"waiters", t.waiters},
          {"serverWaiters", t.server_waiters},
          {"longestWaitSeconds", t.longest_wait_s}};
}

Found find_node(const LockReport& r, int pid) {
  std::function<const LockNode*(const LockNode&)> search = [&](const LockNode& n) -> const LockNode* {
    if (n.pid == pid) return &n;
    for (const auto& w : n.waiters)
      if (const LockNode* hit = search(w)) return hit;
    return nullptr;
  };
  for (const auto& t : r.trees)
    if (const LockNode* n = search(t.root)) return {n, &t};
  return {};
}

std::vector<int> waiters_of(const LockNode& n) {
  std::vector<int> out;
  for (const auto& w : n.waiters) {
    out.push_back(w.pid);
    auto below = waiters_of(w);
    out.insert(out.end(), below.begin(), below.end());
  }
  return out;
}

}  // namespace locks_cmd
}  // namespace resv::cli
