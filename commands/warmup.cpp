// resv warmup --concert ID...: every running resv-server warmed for the
// concerts before an opening (POST /admin/warmup on each, in parallel; see
// server/warmer.h), with what each loaded and how long it took.
#include <CLI/CLI.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/http_client.h"
#include "cli/server_control.h"
#include "cli/db_connect.h"
#include "cli/servers.h"
#include "cli/watch.h"
#include "ops/prewarm.h"

namespace resv::cli {
namespace {

using nlohmann::json;

struct WarmupFlags {
  std::vector<int64_t> concerts;
  std::vector<int64_t> schedules;
  std::string opening_within;  // "" none
  std::string window = "15m";
  bool window_given = false;
  bool no_database = false;
  bool verify = false;
  int watch = 0;
};

// One server's answer.
struct ServerWarmup {
  AdminTarget target;
  int http_status = 0;  // 0: no answer
  std::string error;    // why it is not warm ("" when it is)
  std::string code;     // the server's error code, when it answered one
  json answer = json::object();  // its JSON answer when warm
};

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

// --concert, and the concerts of --schedule and --opening-within, from the
// database: the flags with `concerts` complete and, for --opening-within
// without --window, a window that lasts 15 minutes past the latest opening.
// An empty list is no error: nothing opens within the time given.
Expected<WarmupFlags> resolve_concerts(const Context& ctx, WarmupFlags f) {
  if (f.schedules.empty() && f.opening_within.empty()) return f;
  std::optional<int64_t> within;
  if (!f.opening_within.empty()) {
    auto d = duration_flag(f.opening_within, "--opening-within");
    if (!d.ok()) return d.outcome();
    within = d->value_or(0);
  }
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  auto found = concerts_to_warm(url.value(), f.schedules, within);
  if (!found.ok() && found.status().code() == ErrorCode::NotFound)
    return Outcome::Usage(found.status().message(), "the schedules: resv db psql -- -c 'SELECT id, concert_id FROM schedules'");
  if (!found.ok()) return cannot_connect(ctx, url.value(), found.status().message());
  int64_t latest = 0;
  for (const auto& c : found.value()) {
    if (std::find(f.concerts.begin(), f.concerts.end(), c.concert_id) == f.concerts.end())
      f.concerts.push_back(c.concert_id);
    latest = std::max(latest, c.opens_in_s);
  }
  if (within && !f.window_given) f.window = std::to_string(latest + 15 * 60) + "s";
  return f;
}

Outcome run_warmup(const Context& ctx, const WarmupFlags& f) {
  auto window = duration_flag(f.window, "--window");
  if (!window.ok()) return window.outcome();
  if (f.concerts.empty()) {
    // Only --opening-within gets here: a cron job's quiet run.
    ctx.out().info("nothing to warm: no sales or waiting room open within " + f.opening_within);
    if (ctx.out().json()) ctx.out().print_json({{"concertIds", json::array()}, {"servers", json::array()},
                                                 {"database", nullptr}, {"windowSeconds", window->value_or(900)}});
    return Outcome::Ok();
  }
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
      servers.push_back({{"server", target_label(w.target)},
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
    ctx.out().print_json({{"concertIds", f.concerts},
                          {"servers", servers},
                          {"database", db},
                          {"windowSeconds", window->value_or(900)}});
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
        t.add({target_label(w.target), ctx.out().red("failed"), "-", "-", "-", "-", "-", "-"});
        continue;
      }
      t.add({target_label(w.target), ctx.out().green("warm"),
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
      return Outcome::Usage(target_label(w.target) + ": " + w.error,
                            w.target.inst.port ? "the concerts: curl -s http://" + w.target.host + ":" +
                                                     std::to_string(w.target.inst.port) + "/api/concerts"
                                               : "the concerts: GET /api/concerts on a server");
    (w.http_status == 0 || w.error.rfind("not running", 0) == 0 ? unreachable : failed) +=
        (unreachable.empty() && failed.empty() ? "" : "; ") + target_label(w.target) + ": " + w.error;
  }
  if (!unreachable.empty())
    return Outcome::Unreachable("not warmed: " + unreachable,
                                "'resv server status' shows the instances; start them with 'resv server start'");
  if (!failed.empty()) return Outcome::Failed("not warmed: " + failed, "'resv server logs' shows why");
  return Outcome::Ok();
}

// One round of --verify: each server's warm state against the database now.
Outcome verify_round(const Context& ctx, const WarmupFlags& f, const std::vector<AdminTarget>& targets,
                     const std::string& url, const WatchFrame& frame) {
  std::map<int64_t, ConcertCounts> db;
  for (int64_t c : f.concerts) {
    auto counts = concert_counts(url, c);
    if (!counts.ok() && counts.status().code() == ErrorCode::NotFound) return Outcome::Usage(counts.status().message());
    if (!counts.ok()) return cannot_connect(ctx, url, counts.status().message());
    db[c] = counts.value();
  }
  std::vector<WarmFinding> findings;
  std::optional<ResidencyTotals> residency;
  if (!f.no_database) {
    auto r = prewarm_database(url, false);
    if (!r.ok()) return cannot_connect(ctx, url, r.status().message());
    if (r->measured) residency = residency_totals(r.value());
    if (residency && residency->blocks > 0 && residency->after * 100 < residency->blocks * 95)
      findings.push_back({"database", 0, "cold",
                          "the hot relations are " + std::to_string(residency->after * 100 / residency->blocks) +
                              " % in shared buffers (restarted?)"});
  }
  const std::string token = admin_token_for(ctx);
  std::string unreachable;
  size_t not_asked = 0;  // servers that could not be asked
  for (const auto& t : targets) {
    const std::string where = target_label(t);
    auto missing = [&](const std::string& why) {
      unreachable += (unreachable.empty() ? "" : "; ") + where + ": " + why;
      ++not_asked;
    };
    if (t.managed && !is_running_server(t.inst.pid)) {
      missing("not running (its process is gone)");
      continue;
    }
    HttpClient admin(t.host, static_cast<uint16_t>(t.inst.admin_port), std::chrono::seconds(3));
    auto r = admin.get("/admin/status", {{"Authorization", "Bearer " + token}});
    auto j = json::parse(r.body, nullptr, false);
    if (r.status != 200 || !j.is_object()) {
      missing(r.status == 0 ? r.error : "/admin/status answered " + std::to_string(r.status));
      continue;
    }
    auto found = judge_warm_server(where, j.value("warm", json::array()), db);
    findings.insert(findings.end(), found.begin(), found.end());
  }

  std::string again = "resv warmup";
  for (int64_t c : f.concerts) again += " -c " + std::to_string(c);
  const Output& out = ctx.out();
  if (out.json()) {
    json items = json::array();
    for (const auto& x : findings)
      items.push_back({{"where", x.where},
                       {"concertId", x.concert ? json(x.concert) : json(nullptr)},
                       {"state", x.state},
                       {"problem", x.what}});
    json db_json = residency ? json{{"blocks", residency->blocks}, {"cached", residency->after}} : json(nullptr);
    out.data(frame.start() +
             json{{"ok", findings.empty() && unreachable.empty()},
                  {"findings", items},
                  {"unreachable", unreachable.empty() ? json(nullptr) : json(unreachable)},
                  {"database", db_json}}
                 .dump(2) +
             "\n");
  } else {
    std::string text = frame.start() + frame.title("resv warmup --verify");
    if (findings.empty()) {
      // Only the servers asked: one that could not be is named below, not counted as warm.
      text += "warm: " + std::to_string(targets.size() - not_asked) + " of " + std::to_string(targets.size()) +
              " server(s) x " + std::to_string(f.concerts.size()) + " concert(s) match the database";
      if (residency && residency->blocks > 0)
        text += "; hot relations " + std::to_string(residency->after * 100 / residency->blocks) + " % in shared buffers";
      text += "\n";
    } else {
      Table t({"WHERE", "CONCERT", "STATE", "PROBLEM"});
      for (const auto& x : findings)
        t.add({x.where, x.concert ? std::to_string(x.concert) : "-", out.red(x.state), x.what});
      text += t.render();
    }
    out.data(text + (frame.watching() ? "\n" : ""));
  }
  if (!unreachable.empty())
    return Outcome::Unreachable("cannot verify: " + unreachable,
                                "'resv server status' shows the instances; start them with 'resv server start'");
  if (!findings.empty())
    return Outcome::Problem(std::to_string(findings.size()) + " part(s) not warm", "run '" + again + "'");
  return Outcome::Ok();
}

Outcome run_verify(const Context& ctx, const WarmupFlags& f) {
  if (f.concerts.empty()) {
    ctx.out().info("nothing to verify: no sales or waiting room open within " + f.opening_within);
    if (ctx.out().json())
      ctx.out().print_json({{"ok", true}, {"findings", json::array()}, {"unreachable", nullptr}, {"database", nullptr}});
    return Outcome::Ok();
  }
  auto found = admin_targets(ctx);
  if (!found.ok()) return found.outcome();
  if (found->empty())
    return Outcome::Unreachable("no resv-server instance is recorded in " + ctx.state().server_dir().string(),
                                "start them with 'resv server start', or name one with --admin-url");
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  return run_watch(ctx.out(), std::chrono::seconds(f.watch), [&](const WatchFrame& frame) {
    return verify_round(ctx, f, found.value(), url.value(), frame);
  });
}

}  // namespace

void register_warmup(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<WarmupFlags>();
  auto* cmd = app.add_subcommand("warmup", "Warm every running server for the concerts of an opening");
  cmd->add_option("-c,--concert", f->concerts, "A concert to warm (repeat for several)")->check(CLI::PositiveNumber);
  cmd->add_option("-s,--schedule", f->schedules, "Warm the concert of this schedule (repeat for several)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--opening-within", f->opening_within,
                  "Warm the concerts whose sales or waiting room open within this time (\"30m\")")
      ->type_name("DURATION");
  auto* window = cmd->add_option("--window", f->window,
                                 "How long each server keeps them warm (\"90s\", \"15m\", \"2h\"; with "
                                 "--opening-within: until 15m after the latest opening)")
                     ->capture_default_str();
  cmd->add_flag("--no-database", f->no_database, "Leave the database's shared buffers as they are (and unchecked)");
  cmd->add_flag("--verify", f->verify, "Change nothing: check that every server and the database are warm");
  cmd->add_option("--watch", f->watch, "With --verify: check again every SECONDS until Ctrl-C")
      ->type_name("SECONDS")
      ->check(CLI::Range(1, 3600));
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
      "What to warm: each --concert; the concert of each --schedule (a concert is warmed whole: its\n"
      "schedule list is one answer); with --opening-within, every concert with a schedule whose sales\n"
      "open (schedules.sales_open_at) or whose waiting room opens (resv queue set --opens-at)\n"
      "from now to that time ahead, kept warm until 15 minutes after the latest of them unless --window\n"
      "says otherwise. When none opens, it says so and exits 0: a cron job can run it every few minutes.\n"
      "\n"
      "--verify changes nothing: it reads each server's warm state (/admin/status) and the database\n"
      "now, and lists every part that is cold (a server started since, the database's hot relations\n"
      "below 95 % in shared buffers, when pg_buffercache is installed), stale (no pass for 10 s, or\n"
      "for three of a large concert's longer intervals), failing, or that knows other counts of held\n"
      "seats and pools than the database; a runbook can gate the opening on it.\n"
      "\n"
      "Keeping warm costs a server at most a tenth of one core: a concert whose pass takes longer than\n"
      "a tenth of the interval (half of --read-cache-ms) is passed over nine pass-times apart.\n"
      "\n"
      "Exit codes: 0 every server warm, 2 a concert or schedule does not exist, 3 the database or a\n"
      "server cannot be reached, 4 (--verify) a part is not warm, 1 a server failed.\n"
      "\n"
      "Examples:\n"
      "  resv warmup --concert 1\n"
      "  resv warmup -c 1 -c 2 --window 2h --json\n"
      "  resv warmup -c 1 --verify --watch 10\n"
      "  resv warmup --opening-within 30m --window 2h\n"
      "\n"
      "JSON (--json):\n"
      "  {\"concertIds\": [int], \"windowSeconds\": int,\n"
      "   \"database\": {\"loaded\": bool, \"notLoadedWhy\": string|null, \"blocks\": int, \"cachedBefore\": int,\n"
      "     \"cachedAfter\": int, \"blockSize\": int, \"sharedBuffersBlocks\": int, \"warning\": string|null,\n"
      "     \"seconds\": number, \"relations\": [{\"name\", \"table\", \"blocks\", \"cachedBefore\",\n"
      "     \"cachedAfter\"}]} | null (--no-database),\n"
      "   \"servers\": [{\"server\": string, \"adminPort\": int, \"warm\": bool,\n"
      "   \"error\": string|null, \"warmUntil\": string|null, \"ms\": number|null, \"concerts\":\n"
      "   [{\"concertId\": int, \"schedules\": int, \"cacheEntries\": int, \"seatsTaken\": int,\n"
      "     \"pools\": int, \"poolUnitsLeft\": int, \"ms\": number}]}]}\n"
      "  --verify: {\"ok\": bool, \"findings\": [{\"where\": string, \"concertId\": int|null, \"state\":\n"
      "   \"cold\"|\"stale\"|\"failing\"|\"mismatch\", \"problem\": string}], \"unreachable\": string|null,\n"
      "   \"database\": {\"blocks\": int, \"cached\": int}|null}   (with --watch one document per round)");
  ctx.on_run(cmd, [&ctx, f, window] {
    if (f->watch && !f->verify) return Outcome::Usage("--watch goes with --verify", "resv warmup --verify --watch 10");
    if (f->concerts.empty() && f->schedules.empty() && f->opening_within.empty())
      return Outcome::Usage("say what to warm: --concert, --schedule or --opening-within",
                            "resv warmup --concert 1   (or: resv warmup --opening-within 30m)");
    f->window_given = window->count() > 0;
    auto resolved = resolve_concerts(ctx, *f);
    if (!resolved.ok()) return resolved.outcome();
    return f->verify ? run_verify(ctx, resolved.value()) : run_warmup(ctx, resolved.value());
  });
}

}  // namespace resv::cli
