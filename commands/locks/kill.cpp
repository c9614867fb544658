// resv locks cancel|terminate [PID] [--blockers-older-than D] [--yes]
// [--dry-run]: the way out. Shows what each session holds and who waits on
// it, asks, signals it with its audit row, and says whether the waiters went on.
#include <memory>
#include <optional>
#include <string>

#include "commands/locks/locks.h"

namespace resv::cli::locks_cmd {
namespace {

using nlohmann::json;

struct KillFlags {
  bool terminate = false;
  std::optional<int> pid;
  std::string older_than;
  bool yes = false;
  bool dry_run = false;
};

struct Target {
  int pid = 0;
  std::string label;           // node_label
  std::vector<LockTarget> holds;
  std::vector<int> waiters;
  bool idle = false;           // idle in transaction: cancel does nothing to it
};

std::string holds_text(const Target& t) {
  std::string out;
  for (const auto& h : t.holds) out += (out.empty() ? "" : "; ") + h.text;
  return out.empty() ? "no lock anyone waits for" : out;
}

std::string describe(const Target& t) {
  return t.label + " holds " + holds_text(t) + "; " + std::to_string(t.waiters.size()) + " session" +
         (t.waiters.size() == 1 ? "" : "s") + " wait on it";
}

Target target_of(const LockSnapshot& s, const LockReport& r, int pid) {
  Target t;
  t.pid = pid;
  Found found = find_node(r, pid);
  if (found.node) {
    t.label = node_label(*found.node);
    t.holds = held_by(*found.node);
    t.waiters = waiters_of(*found.node);
  } else {
    LockNode alone;
    alone.pid = pid;
    for (const auto& x : s.sessions)
      if (x.pid == pid) alone.session = &x;
    t.label = node_label(alone);
  }
  for (const auto& x : s.sessions)
    if (x.pid == pid) t.idle = x.state.rfind("idle in transaction", 0) == 0;
  return t;
}

json held_json(const Target& t, const LockSnapshot& s) {
  json holds = json::array();
  for (const auto& h : t.holds) holds.push_back(target_json(h));
  json session = nullptr;
  for (const auto& x : s.sessions)
    if (x.pid == t.pid) session = session_json(x);
  return {{"session", session}, {"holds", holds}, {"waiters", t.waiters}};
}

Outcome run_kill(const Context& ctx, const KillFlags& f) {
  const char* verb = f.terminate ? "terminate" : "cancel";
  if (f.pid.has_value() == !f.older_than.empty())
    return Outcome::Usage(std::string("give a PID or --blockers-older-than, not both and not neither"),
                          std::string("e.g. 'resv locks ") + verb + " 4711' or 'resv locks " + verb +
                              " --blockers-older-than 2m'");
  auto older_flag = duration_flag(f.older_than, "--blockers-older-than");
  if (!older_flag.ok()) return older_flag.outcome();
  const std::optional<int64_t> older = older_flag.value();
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  auto snapshot = read_lock_snapshot(url.value());
  if (!snapshot.ok()) return failure(ctx, url.value(), snapshot.status());
  const LockSnapshot& s = snapshot.value();
  LockReportOptions all;
  all.all_databases = true;
  const LockReport report = build_lock_report(s, all);

  std::vector<Target> targets;
  if (f.pid) {
    if (auto why = kill_refusal(s, *f.pid)) return Outcome::Failed("will not " + std::string(verb) + ": " + *why);
    bool exists = false;
    for (const auto& x : s.sessions) exists = exists || x.pid == *f.pid;
    if (!exists)
      return Outcome::Failed("no session has pid " + std::to_string(*f.pid) + " (it may have ended)",
                             "'resv locks' shows the sessions as they are now");
    targets.push_back(target_of(s, report, *f.pid));
  } else {
    for (const auto& t : report.trees) {
      if (t.longest_wait_s < static_cast<double>(*older) || kill_refusal(s, t.root.pid)) continue;
      targets.push_back(target_of(s, report, t.root.pid));
    }
  }

  const Output& out = ctx.out();
  if (targets.empty()) {
    if (out.json()) out.print_json({{"dryRun", f.dry_run}, {"sessions", json::array()}});
    out.info("no blocker has held anyone up for " + f.older_than + " or more: nothing to " + verb);
    return Outcome::Ok();
  }
  for (const auto& t : targets) {
    out.info(describe(t));
    if (!f.terminate && t.idle)
      out.warn("pid " + std::to_string(t.pid) +
               " is idle in transaction: cancel stops a running statement and does nothing to it; "
               "'resv locks terminate " + std::to_string(t.pid) + "' ends its transaction");
  }
  if (f.dry_run) {
    json items = json::array();
    for (const auto& t : targets) items.push_back({{"pid", t.pid}, {"held", held_json(t, s)}});
    if (out.json()) out.print_json({{"dryRun", true}, {"sessions", items}});
    else
      for (const auto& t : targets) out.data("would " + std::string(verb) + " pid " + std::to_string(t.pid) + "\n");
    return Outcome::Ok();
  }
  const std::string question = std::string(f.terminate ? "Terminate" : "Cancel the statement of") + " " +
                               (targets.size() == 1 ? "pid " + std::to_string(targets.front().pid)
                                                    : std::to_string(targets.size()) + " sessions") +
                               (f.terminate ? " (its transaction is rolled back)?" : "?");
  if (auto ok = confirm(ctx, question, f.yes); !ok.ok()) return ok;

  json items = json::array();
  std::string failures;
  for (const auto& t : targets) {
    KillRequest req;
    req.pid = t.pid;
    req.terminate = f.terminate;
    req.actor = os_user_name();
    req.held_json = held_json(t, s).dump();
    req.waiters = t.waiters;
    auto done = cancel_or_terminate(url.value(), req);
    if (!done.ok()) {
      if (done.status().code() == ErrorCode::Conflict)
        return Outcome::Failed(first_line(done.status().message()), "apply the migrations with 'resv db migrate'");
      return failure(ctx, url.value(), done.status());
    }
    const KillResult& k = done.value();
    std::string line = std::string(f.terminate ? "terminated" : "cancelled") + " pid " + std::to_string(t.pid) +
                       " (audit #" + std::to_string(k.audit_id) + ")";
    if (!k.signalled) line += ": PostgreSQL did not signal it (it had ended)";
    else if (t.waiters.empty()) line += "; nobody was waiting on it";
    else if (k.still_blocked.empty())
      line += "; its " + std::to_string(t.waiters.size()) + " waiter" + (t.waiters.size() == 1 ? " was" : "s were") +
              " released";
    else
      line += "; " + std::to_string(k.still_blocked.size()) + " of its " + std::to_string(t.waiters.size()) +
              " waiters are still blocked by it";
    if (!k.still_blocked.empty())
      failures += (failures.empty() ? "" : "; ") + std::string("pid ") + std::to_string(t.pid) + " still blocks " +
                  std::to_string(k.still_blocked.size());
    if (!out.json()) out.data(line + "\n");
    items.push_back({{"pid", t.pid},
                     {"auditId", k.audit_id},
                     {"signalled", k.signalled},
                     {"ended", k.ended},
                     {"waiters", t.waiters},
                     {"stillBlocked", k.still_blocked}});
  }
  if (out.json()) out.print_json({{"dryRun", false}, {"sessions", items}});
  if (!failures.empty())
    return Outcome::Failed(failures, f.terminate ? "'resv locks' shows what holds them now"
                                                 : "a cancel leaves the transaction open: try 'resv locks terminate PID'");
  return Outcome::Ok();
}

void add_verb(CLI::App& locks, Context& ctx, bool terminate) {
  auto f = std::make_shared<KillFlags>();
  f->terminate = terminate;
  auto* cmd = locks.add_subcommand(
      terminate ? "terminate" : "cancel",
      terminate ? "End a blocking session (pg_terminate_backend): its transaction is rolled back"
                : "Stop a blocking session's running statement (pg_cancel_backend)");
  cmd->add_option("pid", f->pid, "The session to signal (as 'resv locks' shows it)")->type_name("PID");
  cmd->add_option("--blockers-older-than", f->older_than,
                  "Every blocker whose longest waiter has waited this long (30s, 2m), instead of one PID")
      ->type_name("DURATION");
  cmd->add_flag("-y,--yes", f->yes, "Do not ask (needed without a terminal)");
  cmd->add_flag("--dry-run", f->dry_run, "Show what would be signalled, and change nothing");
  cmd->footer(
      "Shows what each session holds and who waits on it, asks (or --yes), writes an ops_audit row (who,\n"
      "when, which pid, what it held) before it signals, records the outcome there, waits up to 5 s and\n"
      "says whether its waiters were released. Refuses resv's own session, a superuser's session when\n"
      "this role is not one, and pid 0 (a prepared transaction: COMMIT/ROLLBACK PREPARED ends it).\n"
      "A cancel stops the running statement only: an idle-in-transaction blocker needs terminate.\n"
      "\n"
      "Exit codes: 0 signalled and its waiters went on; 1 refused, no such pid, or waiters still blocked;\n"
      "2 usage (also: no --yes without a terminal); 3 the database cannot be reached.\n"
      "\n"
      "JSON (--json): {\"dryRun\": bool, \"sessions\": [{\"pid\": int, \"auditId\": int, \"signalled\": bool,\n"
      "  \"ended\": bool, \"waiters\": [int], \"stillBlocked\": [int]}]} (a dry run: [{\"pid\", \"held\"}])\n"
      "\n"
      "Examples:\n"
      "  resv locks " + std::string(terminate ? "terminate" : "cancel") + " 4711\n"
      "  resv locks " + std::string(terminate ? "terminate" : "cancel") + " --blockers-older-than 2m --yes");
  ctx.on_run(cmd, [&ctx, f] { return run_kill(ctx, *f); });
}

}  // namespace

void add_kill(CLI::App& locks, Context& ctx) {
  add_verb(locks, ctx, false);
  add_verb(locks, ctx, true);
}

}  // namespace resv::cli::locks_cmd
