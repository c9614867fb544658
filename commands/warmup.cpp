// resv warmup --concert ID...: every running resv-server warmed for the
// concerts before an opening (POST /admin/warmup on each, in parallel; see
// server/warmer.h), with what each loaded and how long it took.
#include <CLI/CLI.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/http_client.h"
#include "cli/server_control.h"
#include "cli/db_connect.h"
#include "cli/servers.h"
#include "ops/prewarm.h"

namespace resv::cli {
namespace {

using nlohmann::json;

struct WarmupFlags {
  std::vector<int64_t> concerts;
  std::string window = "15m";
  bool no_database = false;
};

// One server's answer.
struct ServerWarmup {
  AdminTarget target;
  int http_status = 0;  // 0: no answer
  std::string error;    // why it is not warm ("" when it is)
  std::string code;     // the server's error code, when it answered one
  json answer;          // its JSON answer when warm
};

std::string server_label(const AdminTarget& t) {
  return t.managed ? "instance " + std::to_string(t.inst.index) : t.host + ":" + std::to_string(t.inst.admin_port);
}

ServerWarmup warm_one(const AdminTarget& t, const std::string& token, const std::string& body) {
  ServerWarmup w;
  w.target = t;
  if (t.managed && !is_running_server(t.inst.pid)) {
    w.error = "not running (its process is gone)";
    return w;
  }
  // A large concert takes a while to render; the server answers once warm.
  HttpClient admin(t.host, static_cast<uint16_t>(t.inst.admin_port), std::chrono::seconds(120));
  auto r = admin.post("/admin/warmup", body, {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
  w.http_status = r.status;
  auto j = json::parse(r.body, nullptr, false);
  if (r.status == 200 && j.is_object()) {
    w.answer = std::move(j);
  } else if (r.status == 0) {
    w.error = "admin port " + std::to_string(t.inst.admin_port) + " does not answer: " + r.error;
  } else {
    const json err = j.is_object() ? j.value("error", json::object()) : json::object();
    w.code = err.is_object() ? err.value("code", "") : "";
    w.error = err.is_object() ? err.value("message", "") : "";
    if (w.error.empty()) w.error = "answered " + std::to_string(r.status);
  }
  return w;
}

Outcome run_warmup(const Context& ctx, const WarmupFlags& f) {
  auto window = duration_flag(f.window, "--window");
  if (!window.ok()) return window.outcome();
  auto found = admin_targets(ctx);
  if (!found.ok()) return found.outcome();
  const std::vector<AdminTarget>& targets = found.value();
  if (targets.empty())
    return Outcome::Unreachable("no resv-server instance is recorded in " + ctx.state().server_dir().string(),
                                "start them with 'resv server start', or name one with --admin-url");
  const std::string token = admin_token_for(ctx);
  if (token.empty())
    return Outcome::Failed("no admin token is configured or generated",
                           "give the servers' admin token with --admin-token or RESV_ADMIN_TOKEN");
  const std::string body =
      json{{"concertIds", f.concerts}, {"windowSeconds", window->value_or(900)}}.dump();

  // The database first: the servers' passes then read from its buffers.
  std::optional<PrewarmReport> database;
  if (!f.no_database) {
    auto url = ctx.database_url();
    if (!url.ok()) return url.outcome();
    ctx.out().progress("loading the hot relations into shared buffers...");
    auto report = prewarm_database(url.value(), true);
    ctx.out().progress_done();
    if (!report.ok()) return cannot_connect(ctx, url.value(), report.status().message());
    database = std::move(report.value());
    if (!database->loaded) ctx.out().warn("database not loaded: " + database->not_loaded_why);
    if (auto w = residency_warning(*database)) ctx.out().warn(*w);
  }

  ctx.out().progress("warming " + std::to_string(targets.size()) + " server(s)...");
  std::vector<ServerWarmup> all(targets.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < targets.size(); ++i)
    threads.emplace_back([&, i] { all[i] = warm_one(targets[i], token, body); });
  for (auto& t : threads) t.join();
  ctx.out().progress_done();

  auto sum = [](const json& answer, const char* field) {
    int64_t n = 0;
    for (const auto& c : answer.value("concerts", json::array())) n += c.value(field, int64_t{0});
    return n;
  };
  if (ctx.out().json()) {
    json servers = json::array();
    for (const auto& w : all)
      servers.push_back({{"server", server_label(w.target)},
                         {"adminPort", w.target.inst.admin_port},
                         {"warm", w.error.empty()},
                         {"error", w.error.empty() ? json(nullptr) : json(w.error)},
                         {"concerts", w.answer.value("concerts", json::array())},
                         {"warmUntil", w.answer.value("warmUntil", json(nullptr))},
                         {"ms", w.answer.value("ms", json(nullptr))}});
    json db = nullptr;
    if (database) {
      const auto t = residency_totals(*database);
      json relations = json::array();
      for (const auto& r : database->relations)
        relations.push_back({{"name", r.name}, {"table", r.table}, {"blocks", r.blocks},
                             {"cachedBefore", r.cached_before}, {"cachedAfter", r.cached_after}});
      db = {{"loaded", database->loaded},
            {"notLoadedWhy", database->loaded ? json(nullptr) : json(database->not_loaded_why)},
            {"blocks", t.blocks},
            {"cachedBefore", t.before},
            {"cachedAfter", t.after},
            {"blockSize", database->block_size},
            {"sharedBuffersBlocks", database->shared_buffers_blocks},
            {"warning", residency_warning(*database) ? json(*residency_warning(*database)) : json(nullptr)},
            {"seconds", database->seconds},
            {"relations", relations}};
    }
    ctx.out().print_json({{"servers", servers}, {"database", db}, {"windowSeconds", window->value_or(900)}});
  } else {
    if (database) {
      const auto t = residency_totals(*database);
      auto pct = [&](int64_t n) { return t.blocks ? std::to_string(n * 100 / t.blocks) + " %" : std::string("-"); };
      auto mb = [&](int64_t blocks) {
        return std::to_string(blocks * database->block_size / (1024 * 1024)) + " MB";
      };
      ctx.out().data("database: " + std::to_string(database->relations.size()) + " hot relations, " + mb(t.blocks) +
                     ", in shared buffers " + pct(t.before) + " before, " + pct(t.after) + " after (shared_buffers " +
                     mb(database->shared_buffers_blocks) + ", " + human_duration(database->seconds) + ")\n");
    }
    Table t({"SERVER", "RESULT", "CONCERTS", "CACHED", "SEATS-TAKEN", "POOLS", "TIME", "WARM UNTIL"});
    for (const auto& w : all) {
      if (!w.error.empty()) {
        t.add({server_label(w.target), ctx.out().red("failed"), "-", "-", "-", "-", "-", "-"});
        continue;
      }
      t.add({server_label(w.target), ctx.out().green("warm"),
             std::to_string(w.answer.value("concerts", json::array()).size()),
             std::to_string(sum(w.answer, "cacheEntries")), std::to_string(sum(w.answer, "seatsTaken")),
             std::to_string(sum(w.answer, "pools")), human_duration(w.answer.value("ms", 0.0) / 1000),
             w.answer.value("warmUntil", "")});
    }
    ctx.out().data(t.render());
  }

  // The worst outcome decides the exit code: bad input, then an unreachable
  // server, then any other failure.
  std::string unreachable, failed;
  for (const auto& w : all) {
    if (w.error.empty()) continue;
    if (w.code == "NOT_FOUND" || w.code == "INVALID_REQUEST")
      return Outcome::Usage(server_label(w.target) + ": " + w.error,
                            w.target.inst.port ? "the concerts: curl -s http://" + w.target.host + ":" +
                                                     std::to_string(w.target.inst.port) + "/api/concerts"
                                               : "the concerts: GET /api/concerts on a server");
    (w.http_status == 0 || w.error.rfind("not running", 0) == 0 ? unreachable : failed) +=
        (unreachable.empty() && failed.empty() ? "" : "; ") + server_label(w.target) + ": " + w.error;
  }
  if (!unreachable.empty())
    return Outcome::Unreachable("not warmed: " + unreachable,
                                "'resv server status' shows the instances; start them with 'resv server start'");
  if (!failed.empty()) return Outcome::Failed("not warmed: " + failed, "'resv server logs' shows why");
  return Outcome::Ok();
}

}  // namespace

void register_warmup(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<WarmupFlags>();
  auto* cmd = app.add_subcommand("warmup", "Warm every running server for the concerts of an opening");
  cmd->add_option("-c,--concert", f->concerts, "A concert to warm (repeat for several)")
      ->required()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--window", f->window, "How long each server keeps them warm (\"90s\", \"15m\", \"2h\")")
      ->capture_default_str();
  cmd->add_flag("--no-database", f->no_database, "Leave the database's shared buffers as they are");
  cmd->footer(
      "First the database: the relations an opening reads and writes (bookings, payments, balances, the\n"
      "waiting room, the outbox, and their indexes) are loaded into shared buffers with pg_prewarm, and\n"
      "their residency is read from pg_buffercache before and after (both extensions are created when\n"
      "the role may; a warning says what to run when it may not, or when they do not fit in\n"
      "shared_buffers). Then each server renders the concerts' catalog reads (the concert list, the\n"
      "concert, its schedules, every seat map) into its read cache and loads what is taken and what is\n"
      "left into its availability filter, then does it again in the background until the window ends:\n"
      "the first buyers of the opening are answered from memory. The servers: those recorded in the\n"
      "state directory ('resv server start'), or the one --admin-url names. Their state: the WARM\n"
      "column of 'resv server status'.\n"
      "\n"
      "Exit codes: 0 every server warm, 2 a concert does not exist, 3 the database or a server cannot\n"
      "be reached, 1 a server failed.\n"
      "\n"
      "Examples:\n"
      "  resv warmup --concert 1\n"
      "  resv warmup -c 1 -c 2 --window 2h --json\n"
      "\n"
      "JSON (--json):\n"
      "  {\"windowSeconds\": int,\n"
      "   \"database\": {\"loaded\": bool, \"notLoadedWhy\": string|null, \"blocks\": int, \"cachedBefore\": int,\n"
      "     \"cachedAfter\": int, \"blockSize\": int, \"sharedBuffersBlocks\": int, \"warning\": string|null,\n"
      "     \"seconds\": number, \"relations\": [{\"name\", \"table\", \"blocks\", \"cachedBefore\",\n"
      "     \"cachedAfter\"}]} | null (--no-database),\n"
      "   \"servers\": [{\"server\": string, \"adminPort\": int, \"warm\": bool,\n"
      "   \"error\": string|null, \"warmUntil\": string|null, \"ms\": number|null, \"concerts\":\n"
      "   [{\"concertId\": int, \"schedules\": int, \"cacheEntries\": int, \"seatsTaken\": int,\n"
      "     \"pools\": int, \"ms\": number}]}]}");
  ctx.on_run(cmd, [&ctx, f] { return run_warmup(ctx, *f); });
}

}  // namespace resv::cli
