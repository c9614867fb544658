// resv server: start, stop, restart, status and logs of the resv-server
// instances recorded in the state directory (process management in
// cli/server_control.cpp).
#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/http_client.h"
#include "cli/interrupt.h"
#include "cli/server_control.h"
#include "cli/servers.h"

namespace resv::cli {

namespace {

using nlohmann::json;

std::string local_url(int port) { return "http://127.0.0.1:" + std::to_string(port); }

std::string instance_name(const ServerInstance& i) {
  return "instance " + std::to_string(i.index) + " (pid " + std::to_string(i.pid) + ", port " + std::to_string(i.port) +
         ")";
}

// ---- start / restart ------------------------------------------------------

struct StartFlags {
  StartOptions opts;
  int timeout_s = 30;
  bool foreground = false;
};

struct Row {
  ServerInstance inst;
  std::string state;  // "started", "already running", "restarted"
};

// What every --json of this group says of an instance: which one, its
// process and its ports. Each command adds what it knows beside.
json instance_json(const ServerInstance& i) {
  return {{"index", i.index}, {"pid", i.pid}, {"port", i.port}, {"adminPort", i.admin_port}};
}

void print_instances(const Context& ctx, const std::vector<Row>& rows) {
  if (ctx.out().json()) {
    json items = json::array();
    for (const auto& r : rows) {
      json item = instance_json(r.inst);
      item["apiUrl"] = local_url(r.inst.port);
      item["adminUrl"] = local_url(r.inst.admin_port);
      item["log"] = r.inst.log;
      item["state"] = r.state;
      items.push_back(std::move(item));
    }
    ctx.out().print_json({{"instances", items}});
    return;
  }
  Table t({"INSTANCE", "PID", "API", "ADMIN", "STATE"});
  for (const auto& r : rows)
    t.add({std::to_string(r.inst.index), std::to_string(r.inst.pid), local_url(r.inst.port),
           local_url(r.inst.admin_port), ctx.out().green(r.state)});
  ctx.out().data(t.render());
}

Outcome run_start(const Context& ctx, StartFlags f) {
  f.opts.timeout = std::chrono::seconds(f.timeout_s);
  if (f.foreground) return exec_server(ctx, f.opts);
  auto started = start_instances(ctx, f.opts);
  if (!started.ok()) return started.outcome();
  std::vector<Row> rows;
  for (const auto& s : started.value()) rows.push_back({s.instance, s.already_running ? "already running" : "started"});
  print_instances(ctx, rows);
  return Outcome::Ok();
}

struct RestartFlags {
  int timeout_s = 30;
  std::vector<std::string> extra_args;
};

// One instance at a time (stop, start on the same ports, wait until ready),
// so that the others keep serving.
Outcome run_restart(const Context& ctx, const RestartFlags& f) {
  const auto timeout = std::chrono::seconds(f.timeout_s);
  auto recorded = ctx.state().instances();
  if (recorded.empty()) {
    ctx.out().info("no resv-server instance is recorded; starting one");
    StartFlags start;
    start.opts.extra_args = f.extra_args;
    start.timeout_s = f.timeout_s;
    return run_start(ctx, start);
  }
  // Before anything is stopped: can it be started again?
  if (auto url = ctx.database_url(); !url.ok()) return url.outcome();
  if (auto bin = find_server_binary(); !bin.ok()) return bin.outcome();

  std::vector<Row> rows;
  for (const auto& inst : recorded) {
    auto stopped = stop_instances(ctx.state(), {inst}, timeout).front();
    if (stopped.how == StopReport::How::Failed)
      return Outcome::Failed("cannot stop " + instance_name(inst) + ": " + stopped.error,
                             "run resv as the user that started it");
    if (stopped.how == StopReport::How::Killed)
      ctx.out().warn(instance_name(inst) + " did not stop within " + std::to_string(f.timeout_s) + " s; killed");
    auto started = start_instance(ctx, inst.index, inst.port, inst.admin_port, timeout, f.extra_args);
    if (!started.ok()) {
      if (!rows.empty()) print_instances(ctx, rows);
      return started.outcome();
    }
    const bool was_running = stopped.how != StopReport::How::NotRunning;
    ctx.out().info((was_running ? "restarted instance " : "started instance ") + std::to_string(inst.index) +
                   ": pid " + std::to_string(inst.pid) + (was_running ? " -> " : " (gone) -> ") +
                   std::to_string(started->pid));
    rows.push_back({started.value(), was_running ? "restarted" : "started"});
  }
  print_instances(ctx, rows);
  return Outcome::Ok();
}

// ---- stop -----------------------------------------------------------------

// The embedded broker goes with the last server: nothing publishes to it then.
void stop_embedded_broker(const Context& ctx, int timeout_s) {
  if (broker_down(ctx.state(), std::chrono::seconds(timeout_s)))
    ctx.out().info("stopped the embedded Kafka broker (its events are gone with it; they stay in the outbox until "
                   "their retention)");
}

Outcome run_stop(const Context& ctx, int timeout_s) {
  auto recorded = ctx.state().instances();
  if (recorded.empty()) {
    ctx.out().info("no resv-server instance is recorded in " + ctx.state().server_dir().string() +
                   "; nothing to stop");
    stop_embedded_broker(ctx, timeout_s);
    return Outcome::Ok();
  }
  std::string failures;
  for (const auto& r : stop_instances(ctx.state(), recorded, std::chrono::seconds(timeout_s))) {
    switch (r.how) {
      case StopReport::How::Terminated:
        ctx.out().info("stopped " + instance_name(r.instance));
        break;
      case StopReport::How::Killed:
        ctx.out().warn(instance_name(r.instance) + " did not stop within " + std::to_string(timeout_s) +
                       " s; killed (SIGKILL)");
        break;
      case StopReport::How::NotRunning:
        ctx.out().info(instance_name(r.instance) + " was not running; its record is removed");
        break;
      case StopReport::How::Failed:
        failures += (failures.empty() ? "" : "; ") + instance_name(r.instance) + ": " + r.error;
        break;
    }
  }
  if (!failures.empty())
    return Outcome::Failed("could not stop " + failures, "run resv as the user that started the servers (or root)");
  stop_embedded_broker(ctx, timeout_s);
  return Outcome::Ok();
}

// ---- status ---------------------------------------------------------------

template <class T>
json or_null(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

Outcome run_status(const Context& ctx) {
  const std::string token = admin_token_for(ctx);
  std::vector<InstanceStatus> all;
  std::string auth_problem;
  auto targets = admin_targets(ctx);
  if (!targets.ok()) return targets.outcome();
  for (const auto& t : targets.value()) all.push_back(probe_instance(t, token, auth_problem));

  if (ctx.out().json()) {
    json items = json::array();
    for (const auto& s : all) {
      json item = instance_json(s.inst);
      item["running"] = s.running;
      item["ready"] = s.ready;
      item["reasons"] = s.reasons;
      item["uptimeSeconds"] = or_null(s.uptime_s);
      item["version"] = or_null(s.version);
      item["commit"] = or_null(s.commit);
      item["inFlight"] = or_null(s.in_flight);
      item["dbPoolInUse"] = or_null(s.db_pool_in_use);
      item["dbPoolSize"] = or_null(s.db_pool_size);
      item["warmConcerts"] = or_null(s.warm_concerts);
      items.push_back(std::move(item));
    }
    ctx.out().print_json({{"instances", items}});
  } else if (!all.empty()) {
    auto num = [](const std::optional<long long>& v) { return v ? std::to_string(*v) : std::string("-"); };
    Table t({"INSTANCE", "PID", "PORT", "ADMIN", "STATE", "UPTIME", "VERSION", "IN-FLIGHT", "DB-POOL", "WARM"});
    for (const auto& s : all) {
      std::string state = s.ready ? ctx.out().green("ready") : ctx.out().red(s.running ? "not ready" : "dead");
      std::string pool = s.db_pool_size ? num(s.db_pool_in_use) + "/" + num(s.db_pool_size) : "-";
      t.add({std::to_string(s.inst.index), std::to_string(s.inst.pid), std::to_string(s.inst.port),
             std::to_string(s.inst.admin_port), state,
             !s.uptime_s ? "-" : *s.uptime_s < 1 ? "<1 s" : human_duration(static_cast<double>(*s.uptime_s)),
             s.version.value_or("-"),
             num(s.in_flight), pool, num(s.warm_concerts)});
    }
    ctx.out().data(t.render());
  }
  if (!auth_problem.empty())
    ctx.out().warn("uptime, version, in-flight and pool figures are missing: " + auth_problem +
                   " (give the server's admin token with --admin-token or RESV_ADMIN_TOKEN)");

  if (all.empty())
    return Outcome::Unreachable("no resv-server instance is recorded in " + ctx.state().server_dir().string(),
                                "start one with 'resv server start'");
  std::string problems;
  bool any_running = false, any_dead = false, database_down = false;
  for (size_t i = 0; i < all.size(); ++i) {
    const InstanceStatus& s = all[i];
    any_running = any_running || s.running;
    if (s.ready) continue;
    any_dead = any_dead || !s.running;
    std::string reasons;
    for (const auto& r : s.reasons) {
      reasons += (reasons.empty() ? "" : ", ") + r;
      database_down = database_down || r == "database unreachable";
    }
    const AdminTarget& t = targets.value()[i];
    problems += (problems.empty() ? "" : "; ") + (t.managed ? instance_name(s.inst) : target_label(t)) + ": " + reasons;
  }
  // --admin-url: the servers are elsewhere, and not answering is all we know.
  const bool remote = !targets.value().empty() && !targets.value().front().managed;
  if (!any_running && remote)
    return Outcome::Unreachable("no resv-server answers: " + problems,
                                "check the address with the server's operator: a server that accepts and never "
                                "answers is stopped or stuck ('resv server status' on its host names it)");
  if (!any_running)
    return Outcome::Unreachable("no resv-server instance is running: " + problems,
                                "start them with 'resv server start'; 'resv server logs' shows why they stopped");
  // A restart cannot bring the database back: the way out is there, and
  // the servers recover by themselves once it answers.
  if (database_down)
    return Outcome::Unreachable(problems, "the servers cannot reach the database: 'resv db status' shows it (the "
                                          "embedded one starts with 'resv db up'); they recover by themselves");
  if (!problems.empty())
    return Outcome::Problem(problems, any_dead ? "'resv server restart' starts every instance again; 'resv server "
                                                 "logs --instance N' shows why one stopped"
                                               : "'resv server logs --instance N' shows why");
  return Outcome::Ok();
}

// ---- logs -----------------------------------------------------------------

struct LogsFlags {
  bool follow = false;
  int lines = 50;
  int instance = 0;  // 0: all
};

// Prints each complete line of `text` with `prefix`; keeps a trailing partial
// line in `partial` for the next call.
void print_lines(const Context& ctx, const std::string& prefix, std::string& partial, const std::string& text) {
  partial += text;
  auto end = partial.rfind('\n');
  if (end == std::string::npos) return;
  std::string out;
  size_t start = 0;
  for (size_t nl = partial.find('\n'); nl != std::string::npos && nl <= end; nl = partial.find('\n', start)) {
    out += prefix + partial.substr(start, nl - start + 1);
    start = nl + 1;
  }
  partial.erase(0, end + 1);
  ctx.out().data(out);
}

Outcome run_logs(const Context& ctx, const LogsFlags& f) {
  if (f.follow && ctx.out().json())
    return Outcome::Usage("--json cannot follow a log", "drop -f for JSON, or --json to follow");
  const StateDir state = ctx.state();
  std::vector<int> indexes;
  for (int i = 1; i <= 64; ++i)
    if ((f.instance == 0 || f.instance == i) && fs::exists(state.instance_log(i))) indexes.push_back(i);
  if (indexes.empty())
    return Outcome::Failed(
        f.instance ? "instance " + std::to_string(f.instance) + " has no log in " + state.server_dir().string()
                   : "no resv-server log in " + state.server_dir().string(),
        f.instance ? "see 'resv server status' for the instances" : "start a server with 'resv server start'");
  auto prefix = [&](int i) { return indexes.size() > 1 ? "[" + std::to_string(i) + "] " : std::string(); };

  if (ctx.out().json()) {
    json items = json::array();
    for (int i : indexes) {
      json lines = json::array();
      std::istringstream in(tail_file(state.instance_log(i), f.lines));
      for (std::string line; std::getline(in, line);) lines.push_back(line);
      items.push_back({{"index", i}, {"log", state.instance_log(i).string()}, {"lines", lines}});
    }
    ctx.out().print_json({{"instances", items}});
    return Outcome::Ok();
  }
  std::vector<std::uintmax_t> offsets;
  std::vector<std::string> partial(indexes.size());
  for (size_t k = 0; k < indexes.size(); ++k) {
    const auto path = state.instance_log(indexes[k]);
    std::error_code ec;
    offsets.push_back(fs::file_size(path, ec));
    if (auto tail = tail_file(path, f.lines); !tail.empty()) print_lines(ctx, prefix(indexes[k]), partial[k], tail + "\n");
  }
  if (!f.follow) return Outcome::Ok();

  InterruptScope ctrl_c;  // Ctrl-C ends the follow, exit 0
  do {
    for (size_t k = 0; k < indexes.size(); ++k) {
      const auto path = state.instance_log(indexes[k]);
      std::error_code ec;
      auto size = fs::file_size(path, ec);
      if (ec || size == offsets[k]) continue;
      if (size < offsets[k]) offsets[k] = 0;  // truncated or replaced: start over
      std::ifstream in(path, std::ios::binary);
      in.seekg(static_cast<std::streamoff>(offsets[k]));
      std::string text(static_cast<size_t>(size - offsets[k]), '\0');
      in.read(text.data(), static_cast<std::streamsize>(text.size()));
      text.resize(static_cast<size_t>(in.gcount()));
      offsets[k] += text.size();
      print_lines(ctx, prefix(indexes[k]), partial[k], text);
    }
  } while (!sleep_unless_interrupted(std::chrono::milliseconds(200)));
  return Outcome::Ok();
}

}  // namespace

void register_server(CLI::App& app, Context& ctx) {
  auto* server = app.add_subcommand("server", "Start, stop, restart and inspect resv-server instances");
  server->require_subcommand(1);
  server->footer(
      "Instances run in the background, recorded in <state>/server/instance-N.json with\n"
      "their logs in <state>/server/instance-N.log (see 'resv config show' for the state dir).\n"
      "\n"
      "Examples:\n"
      "  resv db up && resv server start\n"
      "  resv server start --instances 3 --port 8080 --admin-port 9090\n"
      "  resv server status\n"
      "  resv server restart\n"
      "  resv server stop");

  auto start_flags = std::make_shared<StartFlags>();
  auto* start = server->add_subcommand("start", "Start resv-server instances in the background and wait until ready");
  start->add_option("--instances", start_flags->opts.instances, "Instances to run, on consecutive ports")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  start->add_option("--port", start_flags->opts.port, "API port of instance 1 (instance i: PORT+i-1; 0: any free)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  start->add_option("--admin-port", start_flags->opts.admin_port, "Admin port of instance 1 (instance i: ADMIN+i-1)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  start->add_option("--timeout", start_flags->timeout_s, "Seconds to wait until every instance is ready")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  start->add_flag("--foreground", start_flags->foreground,
                  "Run one instance in place of resv (for containers and systemd): signals reach it directly");
  start->add_option("server-args", start_flags->opts.extra_args, "resv-server arguments, after --");
  start->footer(
      "Starts instances 1..N that are not running yet (the others are reported as running),\n"
      "on the configured database (--db, RESV_DATABASE_URL, or the embedded cluster of\n"
      "'resv db up'), each in its own session, and waits until each /readyz answers 200.\n"
      "The database URL and the admin token (--admin-token, else one generated in the state\n"
      "dir) reach resv-server through its environment, never its command line. If one does\n"
      "not become ready in time, every instance this run started is stopped, and the exit\n"
      "code is 3 with the end of its log.\n"
      "\n"
      "Each instance opens --db-pool-size + max(2, --db-pool-size/8) + 5 database sessions (23\n"
      "by default). Before starting any, it checks that the database has them free, less 5 kept\n"
      "for operators, and refuses (exit 2, naming what fits) when max_connections lacks them.\n"
      "\n"
      "Examples:\n"
      "  resv server start\n"
      "  resv server start --instances 2 --port 8080 --admin-port 9090\n"
      "  resv server start --timeout 60 -- --db-pool-size 32 --log-level debug\n"
      "  resv server start --foreground     # in a container: resv-server replaces resv\n"
      "  resv server start --json | jq -r '.instances[].apiUrl'\n"
      "\n"
      "JSON (--json):\n"
      "  {\"instances\": [{\"index\": int, \"pid\": int, \"port\": int, \"adminPort\": int,\n"
      "                  \"apiUrl\": string, \"adminUrl\": string, \"log\": string,\n"
      "                  \"state\": \"started\" | \"already running\"}]}");
  ctx.on_run(start, [&ctx, start_flags] { return run_start(ctx, *start_flags); });

  auto stop_timeout = std::make_shared<int>(30);
  auto* stop = server->add_subcommand("stop", "Stop every recorded instance (in-flight requests finish first)");
  stop->add_option("--timeout", *stop_timeout, "Seconds to wait for each to finish before SIGKILL")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  stop->footer(
      "Sends SIGTERM to every recorded instance (each stops accepting, finishes its in-flight\n"
      "requests and exits), waits up to --timeout, then sends SIGKILL. Records whose process\n"
      "is gone, or whose pid now belongs to another program, are removed without a signal.\n"
      "Stopping when nothing runs succeeds.\n"
      "\n"
      "Examples:\n"
      "  resv server stop\n"
      "  resv server stop --timeout 5");
  ctx.on_run(stop, [&ctx, stop_timeout] { return run_stop(ctx, *stop_timeout); });

  auto restart_flags = std::make_shared<RestartFlags>();
  auto* restart = server->add_subcommand("restart", "Restart every recorded instance, one at a time, on its ports");
  restart->add_option("--timeout", restart_flags->timeout_s, "Seconds to wait for each to stop, and to be ready")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  restart->add_option("server-args", restart_flags->extra_args, "resv-server arguments, after --");
  restart->footer(
      "Rolling: stops instance 1, starts it on the same ports, waits until it is ready, then\n"
      "instance 2, and so on, so that the others keep serving. resv-server arguments given\n"
      "after -- at start are not remembered: give them again. With no instance recorded, it\n"
      "starts one as 'resv server start' would. A failed start stops the restart there (exit 3).\n"
      "\n"
      "Examples:\n"
      "  resv server restart\n"
      "  resv server restart -- --log-level debug\n"
      "\n"
      "JSON (--json):\n"
      "  {\"instances\": [{\"index\": int, \"pid\": int, \"port\": int, \"adminPort\": int,\n"
      "                  \"apiUrl\": string, \"adminUrl\": string, \"log\": string,\n"
      "                  \"state\": \"restarted\" | \"started\"}]}");
  ctx.on_run(restart, [&ctx, restart_flags] { return run_restart(ctx, *restart_flags); });

  auto* status = server->add_subcommand("status", "Show each instance's readiness, uptime, in-flight requests, pool use");
  status->footer(
      "Asks each recorded instance's /readyz and /admin/status (with the admin token).\n"
      "With an admin URL given (--admin-url, RESV_ADMIN_URL or the config file), asks that\n"
      "server instead, wherever it runs. Exit code 3 when no instance runs (or the URL does\n"
      "not answer) or the servers cannot reach the database; 4 when any is not ready for another\n"
      "reason or recorded but dead, with the reasons.\n"
      "\n"
      "Examples:\n"
      "  resv server status\n"
      "  resv server status --json | jq '.instances[] | select(.ready | not)'\n"
      "  resv server status --admin-url http://10.0.0.7:9090 --admin-token \"$TOKEN\"\n"
      "\n"
      "JSON (--json):\n"
      "  {\"instances\": [{\"index\": int, \"pid\": int, \"port\": int, \"adminPort\": int,\n"
      "                  \"running\": bool, \"ready\": bool, \"reasons\": [string],\n"
      "                  \"uptimeSeconds\": int|null, \"version\": string|null, \"commit\": string|null,\n"
      "                  \"inFlight\": int|null, \"dbPoolInUse\": int|null, \"dbPoolSize\": int|null,\n"
      "                  \"warmConcerts\": int|null}]}   (warmConcerts: kept warm by resv warmup)\n"
      "  (null: not known, because the instance is down or the admin token was refused)");
  ctx.on_run(status, [&ctx] { return run_status(ctx); });

  auto logs_flags = std::make_shared<LogsFlags>();
  auto* logs = server->add_subcommand("logs", "Print the end of each instance's log; -f follows it");
  logs->add_flag("-f,--follow", logs_flags->follow, "Keep printing what is appended, until Ctrl-C");
  logs->add_option("-n,--lines", logs_flags->lines, "Lines to print from the end of each log")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  logs->add_option("--instance", logs_flags->instance, "Only this instance's log")->check(CLI::Range(1, 64));
  logs->footer(
      "With more than one log, each line starts with [N], N the instance. Logs of stopped\n"
      "instances stay readable.\n"
      "\n"
      "Examples:\n"
      "  resv server logs\n"
      "  resv server logs -f --instance 2\n"
      "  resv server logs -n 200 | grep level=error\n"
      "\n"
      "JSON (--json, not with -f):\n"
      "  {\"instances\": [{\"index\": int, \"log\": string, \"lines\": [string]}]}");
  ctx.on_run(logs, [&ctx, logs_flags] { return run_logs(ctx, *logs_flags); });
}

}  // namespace resv::cli
