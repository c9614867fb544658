// resv doctor: every check of every layer (core/ops/doctor.h), the failures
// first, each with the command to run next; exit 0 all ok, 4 any failed, 3
// a dependency could not be reached. The facts are gathered at once, each
// on its own thread and its own bounded sessions; whatever has not answered
// by the deadline is reported as such, so the doctor never hangs.
#include <sys/statvfs.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/iso_time.h"
#include "cli/commands.h"
#include "cli/context.h"
#include "cli/embedded_pg.h"
#include "cli/interrupt.h"
#include "cli/server_control.h"
#include "cli/servers.h"
#include "cli/watch.h"
#include "commands/events/events.h"
#include "db/pg_text.h"
#include "ops/doctor.h"
#include "ops/runbook.h"

namespace resv::cli {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct DoctorFlags {
  std::vector<std::string> layers;  // --only
  std::vector<std::string> checks;  // --check
  int watch = 0;
  std::string timeout = "5s";
};

// The facts of one round. Each is gathered by one task; a fact still
// missing at the deadline stays nullopt.
struct Facts {
  std::optional<Result<DbFacts>> db;
  std::optional<Result<LockSnapshot>> locks;
  std::optional<std::vector<ServerSample>> servers;
  std::optional<Result<QueueSnapshot>> queue;
  std::map<int64_t, QueueAuditEntry> paused_by;
  std::optional<Result<AuditReport>> holds;
  std::optional<Result<OutboxStatus>> outbox;
  std::optional<Status> broker;
  std::optional<Result<std::map<std::string, LagVerdict>>> lag;
  std::optional<Result<std::pair<std::vector<ConcertToWarm>, std::map<int64_t, ConcertCounts>>>> warm;
  std::optional<Result<AuditReport>> audit;
  std::map<std::string, double> seconds;      // per fact, how long it took
  std::map<std::string, std::string> errors;  // per fact, the exception that ended its task (a defect)
};

// What the tasks read, copied: a task that outlives the deadline must not
// touch the command's objects.
struct Inputs {
  Expected<std::string> url = std::string();
  std::string bounded;  // url with the deadline's connect and statement timeouts
  std::vector<AdminTarget> targets;
  std::string token;
  Expected<KafkaOptions> kafka = KafkaOptions{};
  std::string broker_label;
  std::chrono::milliseconds deadline{5000};
};

// Which facts the checks need.
std::set<std::string> facts_for(const std::vector<const CheckInfo*>& checks) {
  static const std::map<std::string, std::vector<std::string>> needs{
      {"db_reachable", {"db"}},        {"db_connections", {"db"}},    {"db_blocking", {"locks"}},
      {"servers_up", {"servers"}},     {"server_pool", {"servers"}},  {"server_errors", {"servers"}},
      {"server_clock", {"servers", "db"}},
      {"queue_paused", {"queue"}},     {"queue_stuck", {"queue"}},    {"queue_abandoned", {"db"}},
      {"holds_expired", {"holds"}},    {"sweeper_alive", {"servers"}},
      {"events_backlog", {"outbox"}},  {"events_broker", {"broker"}}, {"events_lag", {"lag"}},
      {"warm_openings", {"warm", "servers"}},
      {"audit_quick", {"audit"}},      {"state_disk", {}},            {"embedded_cluster", {}}};
  std::set<std::string> out;
  for (const auto* c : checks)
    for (const auto& f : needs.at(c->name)) out.insert(f);
  return out;
}

std::vector<ServerSample> probe_servers(const Inputs& in) {
  // Each server on its own thread: one slow server must not use up the others' time.
  const auto timeout = std::max(std::chrono::milliseconds(200), in.deadline / 3);
  std::vector<std::future<ServerSample>> asked;
  for (const auto& t : in.targets)
    asked.push_back(std::async(std::launch::async, [t, token = in.token, timeout] {
      std::string auth_problem;
      const auto before = std::chrono::system_clock::now();
      InstanceStatus st = probe_instance(t, token, auth_problem, timeout);
      const auto after = std::chrono::system_clock::now();
      ServerSample s;
      s.name = target_label(t);
      s.running = st.running;
      s.ready = st.ready;
      s.reasons = st.reasons;
      s.status = st.status;
      if (st.status.is_object() && st.status.contains("now") && st.status["now"].is_string())
        if (auto now = parse_iso_utc(st.status["now"].get<std::string>())) {
          // The answer's clock against ours at the middle of its round trip
          // (two requests: the error is at most their time).
          const auto mid = before + (after - before) / 2;
          s.clock_offset_s = std::chrono::duration<double>(*now - mid).count();
        }
      if (!auth_problem.empty() && st.running) s.reasons.push_back(auth_problem);
      return s;
    }));
  std::vector<ServerSample> out;
  for (auto& f : asked) out.push_back(f.get());
  return out;
}

Result<std::map<std::string, LagVerdict>> read_lag(const Inputs& in) {
  auto groups = known_groups(in.bounded);
  if (!groups.ok()) return groups.status();
  std::map<std::string, LagVerdict> out;
  if (groups->empty()) return out;
  const auto timeout = in.deadline / 4;
  auto parts = read_partitions(in.kafka.value(), "resv.", timeout);
  if (!parts.ok()) return parts.status();
  std::vector<std::vector<PartitionOffsets>> before;
  for (const auto& g : groups.value()) {
    auto c = read_committed(in.kafka.value(), g, parts.value(), timeout);
    if (!c.ok()) return c.status();
    before.push_back(std::move(c.value()));
  }
  // Two samples a second apart: a verdict needs to see whether the lag moves.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto parts_after = read_partitions(in.kafka.value(), "resv.", timeout);
  if (!parts_after.ok()) return parts_after.status();
  for (size_t i = 0; i < groups->size(); ++i) {
    auto c = read_committed(in.kafka.value(), groups.value()[i], parts_after.value(), timeout);
    if (!c.ok()) return c.status();
    out[groups.value()[i]] = group_verdict(judge_lag(before[i], c.value()));
  }
  return out;
}

// Runs the tasks for `wanted` facts at once and waits for them until the
// deadline. Tasks still running then are left to end on their own bounded
// sessions; their facts stay missing. The tasks that ended are joined: a
// thread that has reported is still tearing down (OpenSSL frees its
// per-thread state then), and the process must not exit under it.
Facts gather(const Inputs& in, const std::set<std::string>& wanted) {
  struct Shared {
    std::mutex mu;
    std::condition_variable done;
    std::vector<bool> ended;  // per task, in start order
    Facts facts;
  };
  auto shared = std::make_shared<Shared>();
  auto input = std::make_shared<const Inputs>(in);
  std::vector<std::thread> threads;
  auto task = [&](const std::string& name, std::function<void(const Inputs&, Facts&)> fn) {
    if (!wanted.count(name)) return;
    const size_t index = threads.size();
    {
      std::lock_guard lock(shared->mu);
      shared->ended.push_back(false);
    }
    threads.emplace_back([shared, input, name, index, fn = std::move(fn)] {
      const auto start = Clock::now();
      Facts mine;
      try {
        fn(*input, mine);
      } catch (const std::exception& e) {
        // A defect in a check is the check's failure, not the doctor's end.
        mine.errors[name] = e.what();
      }
      std::lock_guard lock(shared->mu);
      Facts& f = shared->facts;
      if (mine.db) f.db = std::move(mine.db);
      if (mine.locks) f.locks = std::move(mine.locks);
      if (mine.servers) f.servers = std::move(mine.servers);
      if (mine.queue) {
        f.queue = std::move(mine.queue);
        f.paused_by = std::move(mine.paused_by);
      }
      if (mine.holds) f.holds = std::move(mine.holds);
      if (mine.outbox) f.outbox = std::move(mine.outbox);
      if (mine.broker) f.broker = std::move(mine.broker);
      if (mine.lag) f.lag = std::move(mine.lag);
      if (mine.warm) f.warm = std::move(mine.warm);
      if (mine.audit) f.audit = std::move(mine.audit);
      for (const auto& [k, v] : mine.errors) f.errors[k] = v;
      f.seconds[name] = std::chrono::duration<double>(Clock::now() - start).count();
      shared->ended[index] = true;
      shared->done.notify_all();
    });
  };
  const bool have_db = in.url.ok();
  const bool have_kafka = in.kafka.ok();
  if (have_db) {
    task("db", [](const Inputs& i, Facts& f) { f.db = read_doctor_facts(i.bounded); });
    task("locks", [](const Inputs& i, Facts& f) { f.locks = read_lock_snapshot(i.bounded); });
    task("queue", [](const Inputs& i, Facts& f) {
      QueueAdmin admin(i.bounded);
      f.queue = admin.snapshot(kDefaultStuckSeconds);
      if (!f.queue->ok()) return;
      for (const auto& c : f.queue->value().concerts) {
        if (!c.settings.paused) continue;
        auto h = admin.history(c.concert_id, 50);
        if (!h.ok()) continue;
        for (const auto& e : h.value())
          if (e.action == "pause") {
            f.paused_by[c.concert_id] = e;
            break;
          }
      }
    });
    task("holds", [](const Inputs& i, Facts& f) {
      AuditOptions o;
      o.only = {"holds_released"};
      o.statement_timeout = i.deadline - std::chrono::milliseconds(500);
      f.holds = run_audit(i.bounded, o);
    });
    task("outbox", [](const Inputs& i, Facts& f) { f.outbox = read_outbox_status(i.bounded); });
    task("warm", [](const Inputs& i, Facts& f) {
      auto upcoming = concerts_to_warm(i.bounded, {}, 3600);
      if (!upcoming.ok()) {
        f.warm = upcoming.status();
        return;
      }
      std::map<int64_t, ConcertCounts> counts;
      for (const auto& c : upcoming.value()) {
        auto n = concert_counts(i.bounded, c.concert_id);
        if (!n.ok()) {
          f.warm = n.status();
          return;
        }
        counts[c.concert_id] = n.value();
      }
      f.warm = std::make_pair(upcoming.value(), counts);
    });
    task("audit", [](const Inputs& i, Facts& f) {
      AuditOptions o;
      o.since = iso_utc(std::chrono::system_clock::now() - std::chrono::hours(1));
      o.statement_timeout = i.deadline - std::chrono::milliseconds(500);
      f.audit = run_audit(i.bounded, o);
    });
  }
  if (have_db && have_kafka) task("lag", [](const Inputs& i, Facts& f) { f.lag = read_lag(i); });
  if (have_kafka)
    task("broker", [](const Inputs& i, Facts& f) {
      auto parts = read_partitions(i.kafka.value(), "resv.", i.deadline / 2);
      f.broker = parts.ok() ? Status::Ok() : parts.status();
    });
  task("servers", [](const Inputs& i, Facts& f) { f.servers = probe_servers(i); });

  std::unique_lock lock(shared->mu);
  shared->done.wait_until(lock, Clock::now() + in.deadline,
                          [&] { return std::ranges::find(shared->ended, false) == shared->ended.end(); });
  Facts facts = shared->facts;  // a copy: late tasks may still write theirs
  const std::vector<bool> ended = shared->ended;
  lock.unlock();
  for (size_t i = 0; i < threads.size(); ++i) ended[i] ? threads[i].join() : threads[i].detach();
  return facts;
}

// The result of a check whose facts could not be had.
CheckResult missing(const char* name, const std::optional<Status>& why, const std::string& what,
                    std::chrono::milliseconds deadline) {
  if (!why)
    return check_result(name, CheckState::Unreachable,
                        "no answer from " + what + " within the deadline (" + std::to_string(deadline.count()) + " ms)",
                        "resv doctor --check " + std::string(name) + " --timeout 30s");
  const Status& s = *why;
  if (s.code() == ErrorCode::DbUnavailable)
    return check_result(name, CheckState::Unreachable, "skipped: the database does not answer", "resv db status");
  if (s.code() == ErrorCode::Overloaded)
    return check_result(name, CheckState::Unreachable, what + " did not answer within the deadline: " +
                                                           first_line(s.message()),
                        "resv doctor --check " + std::string(name) + " --timeout 30s");
  return check_result(name, CheckState::Fail, "the check itself failed: " + first_line(s.message()),
                      "resv doctor --check " + std::string(name) + " -v");
}

template <class T>
std::optional<Status> why(const std::optional<Result<T>>& r) {
  if (!r) return std::nullopt;
  return r->status();
}

CheckResult judge(const CheckInfo& c, const Facts& f, const Inputs& in, const Context& ctx) {
  const std::string name = c.name;
  const char* n = c.name;
  const auto deadline = in.deadline;
  for (const auto& fact : facts_for({&c}))
    if (auto e = f.errors.find(fact); e != f.errors.end())
      return check_result(n, CheckState::Fail, "the check itself failed: " + first_line(e->second),
                          "resv doctor --check " + name + " -v");
  if (!in.url.ok() && (name.rfind("db_", 0) == 0 || name.rfind("queue_", 0) == 0 || name == "holds_expired" ||
                       name == "events_backlog" || name == "audit_quick" || name == "warm_openings"))
    return check_result(n, CheckState::Unreachable, "no database: " + in.url.outcome().what(), in.url.outcome().hint());
  if (name == "db_reachable") return f.db ? judge_db_reachable(*f.db) : missing(n, std::nullopt, "the database", deadline);
  if (name == "db_connections" || name == "queue_abandoned") {
    if (!f.db || !f.db->ok()) return missing(n, why(f.db), "the database", deadline);
    return name == "db_connections" ? judge_db_connections(f.db->value()) : judge_queue_abandoned(f.db->value());
  }
  if (name == "db_blocking") {
    if (!f.locks || !f.locks->ok()) return missing(n, why(f.locks), "the database", deadline);
    return judge_db_blocking(f.locks->value());
  }
  if (name == "servers_up" || name == "server_pool" || name == "server_errors" || name == "sweeper_alive" ||
      name == "server_clock") {
    if (!f.servers) return missing(n, std::nullopt, "the servers' admin listeners", deadline);
    if (name == "servers_up") return judge_servers_up(*f.servers);
    if (name == "server_pool") return judge_server_pool(*f.servers);
    if (name == "server_errors") return judge_server_errors(*f.servers);
    if (name == "sweeper_alive") return judge_sweeper(*f.servers);
    if (!f.db || !f.db->ok()) return missing(n, why(f.db), "the database (its clock)", deadline);
    return judge_server_clock(*f.servers, f.db->value().clock_offset_s);
  }
  if (name == "queue_paused" || name == "queue_stuck") {
    if (!f.queue || !f.queue->ok()) return missing(n, why(f.queue), "the database", deadline);
    return name == "queue_paused" ? judge_queue_paused(f.queue->value(), f.paused_by)
                                  : judge_queue_stuck(f.queue->value());
  }
  if (name == "holds_expired") {
    if (!f.holds || !f.holds->ok()) return missing(n, why(f.holds), "the database", deadline);
    return judge_holds(f.holds->value());
  }
  if (name == "events_backlog") {
    if (!f.outbox || !f.outbox->ok()) return missing(n, why(f.outbox), "the database", deadline);
    return judge_events_backlog(f.outbox->value());
  }
  if (name == "events_broker" || name == "events_lag") {
    if (!in.kafka.ok())
      return check_result(n, CheckState::Unreachable, in.kafka.outcome().what(),
                          "resv server restart  # runs the embedded broker again");
    if (name == "events_broker") {
      if (!f.broker) return missing(n, std::nullopt, "the broker", deadline);
      if (!f.broker->ok())
        return check_result(n, CheckState::Unreachable,
                            "the broker " + in.broker_label + " does not answer: " + first_line(f.broker->message()),
                            "resv events status");
      return check_result(n, CheckState::Ok, "the broker " + in.broker_label + " answers");
    }
    if (!in.url.ok()) return check_result(n, CheckState::Unreachable, "no database: " + in.url.outcome().what());
    if (!f.lag || !f.lag->ok()) return missing(n, why(f.lag), "the broker", deadline);
    return judge_events_lag(f.lag->value());
  }
  if (name == "warm_openings") {
    if (!f.warm || !f.warm->ok()) return missing(n, why(f.warm), "the database", deadline);
    const auto& [upcoming, counts] = f.warm->value();
    std::vector<WarmFinding> findings;
    size_t asked = 0;
    if (!upcoming.empty() && f.servers) {
      for (const auto& s : *f.servers) {
        if (!s.status.is_object()) continue;
        ++asked;
        auto found = judge_warm_server(s.name, s.status.value("warm", json::array()), counts);
        findings.insert(findings.end(), found.begin(), found.end());
      }
    }
    return judge_warm(upcoming, findings, asked);
  }
  if (name == "audit_quick") {
    if (!f.audit || !f.audit->ok()) {
      if (f.audit && f.audit->status().code() == ErrorCode::Overloaded)
        return check_result(n, CheckState::Warn,
                            "skipped: the last hour's audit did not finish within the deadline (" +
                                std::to_string(deadline.count()) + " ms)",
                            "resv audit");
      return missing(n, why(f.audit), "the database", deadline);
    }
    return judge_audit(f.audit->value(), "rows changed in the last hour");
  }
  if (name == "state_disk") {
    const auto root = ctx.state().root();
    struct statvfs v {};
    // The state directory may not exist yet: its nearest existing parent holds it then.
    auto dir = root;
    while (!dir.empty() && !std::filesystem::exists(dir) && dir != dir.parent_path()) dir = dir.parent_path();
    if (::statvfs(dir.c_str(), &v) != 0)
      return check_result(n, CheckState::Fail, "cannot read the free space of " + dir.string(), "df -h " + dir.string());
    return judge_disk(root.string(), static_cast<uint64_t>(v.f_bavail) * v.f_frsize,
                      static_cast<uint64_t>(v.f_blocks) * v.f_frsize);
  }
  if (name == "embedded_cluster") {
    if (!ctx.settings().embedded_db)
      return check_result(n, CheckState::Ok, "not in use: the database is " + ctx.settings().database_url.shown());
    if (!ctx.state().embedded())
      return check_result(n, CheckState::Unreachable, "the embedded cluster was never created in " +
                                                          ctx.state().root().string(),
                          "resv db up");
    if (!embedded_running(ctx.state()))
      return check_result(n, CheckState::Unreachable, "the embedded cluster in " + ctx.state().pg_data().string() +
                                                          " is stopped",
                          "resv db up  # its log: " + (ctx.state().root() / "pg" / "postgres.log").string());
    return check_result(n, CheckState::Ok, "the embedded cluster in " + ctx.state().pg_data().string() + " runs");
  }
  throw std::logic_error("doctor check without a judge: " + name);
}

// Failures and the unreachable together, in catalogue order: the layers
// below (the database) come first, as causes come before their effects.
int severity(CheckState s) {
  switch (s) {
    case CheckState::Fail:
    case CheckState::Unreachable: return 0;
    case CheckState::Warn: return 1;
    case CheckState::Ok: return 2;
  }
  return 3;
}

std::string state_text(const Output& out, CheckState s) {
  const std::string word(check_state_name(s));
  switch (s) {
    case CheckState::Ok: return out.green(word);
    case CheckState::Warn: return out.yellow("WARN");
    case CheckState::Fail: return out.red("FAIL");
    case CheckState::Unreachable: return out.red("UNREACHABLE");
  }
  return word;
}

// The runbook for a check, when one by that name is built in.
std::string runbook_for(const std::string& check) {
  const CheckInfo* info = find_check(check);
  if (!info || !*info->runbook) return {};
  const auto& names = builtin_runbook_names();
  return std::find(names.begin(), names.end(), info->runbook) != names.end() ? info->runbook : "";
}

std::string clip(const std::string& s, size_t width) { return s.size() <= width ? s : s.substr(0, width - 3) + "..."; }

std::string verdict_word(int code, const std::vector<CheckResult>& results) {
  if (code == 3) return "unreachable";
  if (code == 4) return "fail";
  for (const auto& r : results)
    if (r.state == CheckState::Warn) return "warn";
  return "ok";
}

std::string report_text(const Output& out, const std::vector<CheckResult>& results, int code, double seconds,
                        std::chrono::milliseconds deadline) {
  int counts[4] = {0, 0, 0, 0};
  for (const auto& r : results) ++counts[static_cast<int>(r.state)];
  // 120 columns: STATE 11, LAYER 8, CHECK 16, and the finding.
  const size_t width = out.verbose() > 0 ? std::string::npos : 78;
  Table t({"STATE", "LAYER", "CHECK", "FINDING"});
  for (const auto& r : results) t.add({state_text(out, r.state), r.layer, r.name, clip(r.finding, width)});
  std::string text = t.render();
  // Each command once, with the checks that point to it (a database down
  // makes most checks point to the same one).
  std::vector<std::pair<std::string, std::vector<std::string>>> next;
  for (const auto& r : results) {
    if (r.state == CheckState::Ok || r.next.empty()) continue;
    auto it = std::find_if(next.begin(), next.end(), [&](const auto& n) { return n.first == r.next; });
    if (it == next.end()) it = next.insert(next.end(), {r.next, {}});
    it->second.push_back(r.name);
  }
  if (!next.empty()) text += "\nNext:\n";
  for (const auto& [command, names] : next) {
    std::string who = names.front();
    if (names.size() > 1) who += " and " + std::to_string(names.size() - 1) + " more";
    const std::string runbook = runbook_for(names.front());
    text += "  " + command + "    (" + who + (runbook.empty() ? "" : "; resv runbook run " + runbook) + ")\n";
  }
  char took[64];
  std::snprintf(took, sizeof took, "%.1f s, deadline %.1f s", seconds, deadline.count() / 1000.0);
  std::string verdict = verdict_word(code, results);
  std::transform(verdict.begin(), verdict.end(), verdict.begin(), ::toupper);
  text += "\nverdict: " + verdict + ": " + std::to_string(counts[2]) + " failed, " + std::to_string(counts[3]) +
          " unreachable, " + std::to_string(counts[1]) + " warning(s), " + std::to_string(counts[0]) + " ok (" + took + ")\n";
  return text;
}

json report_json(const std::vector<CheckResult>& results, int code, double seconds, std::chrono::milliseconds deadline) {
  json checks = json::array();
  for (const auto& r : results) {
    const std::string runbook = runbook_for(r.name);
    checks.push_back({{"name", r.name},
                      {"layer", r.layer},
                      {"state", std::string(check_state_name(r.state))},
                      {"finding", r.finding},
                      {"next", r.next.empty() ? json(nullptr) : json(r.next)},
                      {"runbook", runbook.empty() ? json(nullptr) : json(runbook)},
                      {"seconds", r.seconds},
                      {"details", r.details}});
  }
  return {{"verdict", verdict_word(code, results)},
          {"exitCode", code},
          {"seconds", seconds},
          {"deadlineSeconds", deadline.count() / 1000.0},
          {"checks", checks}};
}

Outcome run_doctor(const Context& ctx, const DoctorFlags& f) {
  auto deadline_ms = parse_duration_ms(f.timeout);
  if (!deadline_ms || *deadline_ms < 1000)
    return Outcome::Usage("--timeout '" + f.timeout + "' is not a duration of at least 1 s", "e.g. --timeout 5s");
  std::vector<const CheckInfo*> checks;
  for (const auto& c : doctor_checks()) {
    const bool by_layer = f.layers.empty() || std::count(f.layers.begin(), f.layers.end(), c.layer);
    const bool by_name = f.checks.empty() || std::count(f.checks.begin(), f.checks.end(), c.name);
    if (by_layer && by_name) checks.push_back(&c);
  }
  if (checks.empty())
    return Outcome::Usage("no check is in both --only and --check", "'resv doctor --help' lists the checks by layer");

  Inputs in;
  in.deadline = std::chrono::milliseconds(*deadline_ms);
  in.url = ctx.database_url();
  if (in.url.ok())
    // Connects give up after 2 s (libpq's least), statements before the deadline.
    in.bounded = with_statement_timeout(with_connect_timeout(in.url.value(), 2), *deadline_ms - 500);
  auto targets = admin_targets(ctx);
  if (!targets.ok()) return targets.outcome();
  in.targets = targets.value();
  in.token = admin_token_for(ctx);
  in.kafka = events_cmd::kafka_options(ctx);
  if (in.kafka.ok()) {
    in.kafka->delivery_timeout = in.deadline;
    in.broker_label = events_cmd::broker_label(ctx, in.kafka->brokers);
  }
  const auto wanted = facts_for(checks);

  return run_watch(
      ctx.out(), std::chrono::seconds(f.watch),
      [&](const WatchFrame& frame) -> Outcome {
        const auto start = Clock::now();
        const Facts facts = gather(in, wanted);
        std::vector<CheckResult> results;
        for (const auto* c : checks) {
          CheckResult r = judge(*c, facts, in, ctx);
          double took = 0;
          for (const auto& fact : facts_for({c}))
            if (auto it = facts.seconds.find(fact); it != facts.seconds.end()) took = std::max(took, it->second);
          r.seconds = took;
          results.push_back(std::move(r));
        }
        // Failures first; within a state, layers and checks in catalogue order.
        std::stable_sort(results.begin(), results.end(),
                         [](const CheckResult& a, const CheckResult& b) { return severity(a.state) < severity(b.state); });
        const int code = doctor_exit_code(results);
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        const Output& out = ctx.out();
        if (out.json())
          out.data(frame.start() + report_json(results, code, seconds, in.deadline).dump(2) + "\n");
        else
          out.data(frame.start() + frame.title("resv doctor") + report_text(out, results, code, seconds, in.deadline) +
                   (frame.watching() ? "\n" : ""));
        std::string failing;
        int failed = 0;
        for (const auto& r : results)
          if (r.state == CheckState::Fail || r.state == CheckState::Unreachable)
            if (++failed <= 3) failing += (failing.empty() ? "" : ", ") + r.name;
        if (failed > 3) failing += " and " + std::to_string(failed - 3) + " more";
        if (code == 3) return Outcome::Unreachable("doctor: no answer for " + failing);
        if (code == 4) return Outcome::Problem("doctor: " + failing + " failed");
        return Outcome::Ok();
      },
      WatchUntil::CtrlC);
}

}  // namespace

void register_doctor(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<DoctorFlags>();
  auto* cmd = app.add_subcommand("doctor", "Run every check of every layer; name what is wrong and what to run next");
  ctx.choices(cmd->add_option("--only", f->layers, "Only the checks of this layer (repeatable)")->type_name("LAYER"),
              doctor_layers());
  std::vector<std::string> names;
  for (const auto& c : doctor_checks()) names.push_back(c.name);
  ctx.choices(cmd->add_option("--check", f->checks, "Only this check (repeatable)")->type_name("NAME"), names);
  cmd->add_option("--timeout", f->timeout, "The deadline of the whole run: a check without an answer by then says so")
      ->type_name("DURATION")
      ->capture_default_str();
  cmd->add_option("--watch", f->watch, "Run again every SECONDS until Ctrl-C (a failure does not end it)")
      ->type_name("SECONDS")
      ->check(CLI::Range(1, 3600));
  std::string list;
  std::string layer;
  for (const auto& c : doctor_checks()) {
    if (layer != c.layer) {
      layer = c.layer;
      list += "  " + layer + ":\n";
    }
    list += "    " + std::string(c.name) + std::string(18 - std::string(c.name).size(), ' ') + c.what + "\n";
  }
  cmd->footer(
      "Gathers every fact at once, each on its own thread and bounded sessions (the database's connect\n"
      "and statement timeouts, the servers' admin requests, the broker's requests), then judges each\n"
      "check: ok, warn, fail, or unreachable (its dependency did not answer, or not within --timeout).\n"
      "The table lists the failures first, one line each (-v: whole findings); 'Next' names the command\n"
      "to run for each, and the runbook for it.\n"
      "\n"
      "Checks, by layer:\n" + list +
      "\n"
      "Exit codes: 0 every check ok or warn, 4 a check failed, 3 a dependency could not be reached\n"
      "(it wins over 4: the diagnosis is incomplete), 2 a bad option.\n"
      "\n"
      "Examples:\n"
      "  resv doctor\n"
      "  resv doctor --only database --only servers\n"
      "  resv doctor --check queue_stuck --json | jq -r '.checks[0].finding'\n"
      "  resv doctor --watch 5\n"
      "  resv doctor -q || page-oncall   # cron\n"
      "\n"
      "JSON (--json):\n"
      "  {\"verdict\": \"ok\"|\"warn\"|\"fail\"|\"unreachable\", \"exitCode\": int, \"seconds\": number,\n"
      "   \"deadlineSeconds\": number,\n"
      "   \"checks\": [{\"name\": string, \"layer\": string, \"state\": \"ok\"|\"warn\"|\"fail\"|\"unreachable\",\n"
      "              \"finding\": string, \"next\": string|null, \"runbook\": string|null, \"seconds\": number,\n"
      "              \"details\": object}]}   (failures first)");
  ctx.on_run(cmd, [&ctx, f] { return run_doctor(ctx, *f); });
}

}  // namespace resv::cli
