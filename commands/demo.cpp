// resv demo: the whole thing on the embedded default, with no configuration:
// PostgreSQL up, resv-server started, a demo concert seeded, a burst of
// concurrent buyers through the real HTTP API, and a summary.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <random>
#include <thread>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/embedded_pg.h"
#include "cli/http_client.h"
#include "cli/server_control.h"
#include "ops/seed.h"

namespace resv::cli {

namespace {

struct DemoOptions {
  int clients = 50;
  int port = 8080;
  int admin_port = 9090;
  bool yes = false;
};

nlohmann::json demo_set_json(const DemoSet& d) {
  return {{"concertId", d.concert_id},       {"scheduleId", d.schedule_id},
          {"seats", d.seat_ids.size()},      {"poolId", d.pool_id},
          {"poolCapacity", d.pool_capacity}, {"users", d.user_ids.size()},
          {"firstUserId", d.user_ids.empty() ? 0 : d.user_ids.front()}};
}

// Adds the demo set beside what is there; asks first when the database is
// not the embedded one (the data belongs to someone else).
Expected<DemoSet> seed_demo_set(const Context& ctx, bool yes) {
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  if (!ctx.settings().embedded_db)
    if (auto ok = confirm(ctx, "add demo data to " + ctx.settings().database_url.shown() + "?", yes); !ok.ok()) return ok;
  auto set = seed_demo(url.value());
  if (!set.ok())
    return Outcome::From(set.status(), set.status().code() == ErrorCode::Internal
                                           ? "is the schema current? run 'resv db migrate'"
                                           : "");
  return set.value();
}

// What the burst saw.
struct Burst {
  int attempts = 0;
  int held = 0;
  int paid = 0;
  std::map<std::string, int> rejected;  // business outcome code -> count
  std::map<std::string, int> failed;    // 5xx code or connection error -> count
  std::vector<double> hold_ms;          // latency of every hold attempt
  double seconds = 0;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string error_code(const HttpResult& r) {
  if (r.status == 0) return "CONNECTION_FAILED";
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object())
    return j["error"].value("code", "HTTP_" + std::to_string(r.status));
  return "HTTP_" + std::to_string(r.status);
}

// Every demo user tries once, `clients` at a time: the first half for two
// adjacent seats in the three front rows (so buyers collide), the others for
// 1-4 places in the general-admission pool; a buyer whose hold succeeds pays.
Burst run_burst(const Context& ctx, const DemoSet& set, int port, int clients) {
  Burst b;
  std::mutex mu;
  std::atomic<size_t> next{0};
  std::atomic<int> done{0};
  const size_t users = set.user_ids.size();
  const size_t hot_seats = std::min<size_t>(60, set.seat_ids.size());
  auto started = std::chrono::steady_clock::now();
  auto worker = [&](unsigned seed) {
    HttpClient http("127.0.0.1", static_cast<uint16_t>(port), std::chrono::seconds(10));
    std::mt19937 rng(seed);
    for (size_t i = next++; i < users; i = next++) {
      int64_t user = set.user_ids[i];
      nlohmann::json req{{"userId", user}, {"scheduleId", set.schedule_id}};
      if (i < users / 2) {
        size_t s = std::uniform_int_distribution<size_t>(0, hot_seats - 2)(rng);
        req["seatIds"] = {set.seat_ids[s], set.seat_ids[s + 1]};
      } else {
        req["poolId"] = set.pool_id;
        req["quantity"] = std::uniform_int_distribution<int>(1, set.pool_max_party)(rng);
      }
      auto t0 = std::chrono::steady_clock::now();
      HttpResult r = http.post("/api/reservations", req.dump());
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      bool paid = false;
      if (r.status == 201) {
        auto held = nlohmann::json::parse(r.body, nullptr, false);
        if (held.is_object() && held.contains("reservationId")) {
          auto pay = http.post("/api/reservations/" + std::to_string(held["reservationId"].get<int64_t>()) + "/payment",
                               nlohmann::json{{"userId", user}}.dump());
          paid = pay.status == 200;
        }
      }
      std::lock_guard lock(mu);
      ++b.attempts;
      b.hold_ms.push_back(ms);
      if (r.status == 201) ++b.held;
      else if (r.status >= 400 && r.status < 500) ++b.rejected[error_code(r)];
      else ++b.failed[error_code(r)];
      if (paid) ++b.paid;
      int n = ++done;
      if (n % 25 == 0) ctx.out().progress("buyers: " + std::to_string(n) + "/" + std::to_string(users));
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) threads.emplace_back(worker, 1000u + static_cast<unsigned>(t));
  for (auto& t : threads) t.join();
  ctx.out().progress_done();
  b.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return b;
}

// Read back from the database: what is held or sold, to show nothing was
// sold twice or beyond capacity.
struct Audit {
  int64_t seats_taken = 0;
  int64_t seats_double = 0;  // seats claimed by more than one active reservation
  int64_t pool_units_taken = 0;
  int64_t pool_units_claimed = 0;  // sum of active pool reservations' quantities
  int64_t events_written = 0;      // outbox rows of the demo's reservations
  int64_t events_published = 0;    // of those, relayed to Kafka
};

Expected<Audit> audit(const std::string& url, const DemoSet& set) {
  try {
    pqxx::connection c(url);
    pqxx::read_transaction tx(c);
    Audit a;
    a.seats_taken = tx.exec_params1("SELECT count(*) FROM seats WHERE schedule_id = $1 AND reservation_id IS NOT NULL",
                                    set.schedule_id)[0]
                        .as<int64_t>();
    a.seats_double = tx.exec_params1(
                           "SELECT count(*) FROM (SELECT s.id FROM seats s JOIN reservations r ON r.id = s.reservation_id"
                           " WHERE s.schedule_id = $1 AND r.status IN ('HELD', 'CONFIRMED')"
                           " GROUP BY s.id HAVING count(*) > 1) d",
                           set.schedule_id)[0]
                         .as<int64_t>();
    a.pool_units_taken =
        tx.exec_params1("SELECT count(*) FROM pool_units WHERE pool_id = $1 AND reservation_id IS NOT NULL", set.pool_id)[0]
            .as<int64_t>();
    a.pool_units_claimed = tx.exec_params1("SELECT coalesce(sum(quantity), 0) FROM reservations"
                                           " WHERE pool_id = $1 AND status IN ('HELD', 'CONFIRMED')",
                                           set.pool_id)[0]
                               .as<int64_t>();
    auto events = tx.exec_params1("SELECT count(*), count(*) FILTER (WHERE resv_outbox_is_published(o.txid, o.id))"
                                  " FROM outbox o JOIN reservations r"
                                  " ON o.aggregate_type = 'reservation' AND o.aggregate_id = r.id"
                                  " WHERE r.schedule_id = $1",
                                  set.schedule_id);
    a.events_written = events[0].as<int64_t>();
    a.events_published = events[1].as<int64_t>();
    return a;
  } catch (const std::exception& e) {
    return Outcome::Unreachable(std::string("cannot read the results back: ") + e.what(), "run 'resv db status'");
  }
}

// How to run resv again as it was run here: the same binary and state
// directory (scripts/demo.sh runs build/cli/resv, not one on PATH).
std::string resv_cmd(const Context& ctx) {
  std::string cmd = ctx.program;
  if (ctx.flags.settings.state_dir.size()) cmd += " --state-dir " + ctx.flags.settings.state_dir;
  return cmd;
}

std::string fmt_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", ms);
  return buf;
}

Outcome run_demo(Context& ctx, const DemoOptions& o) {
  const Output& out = ctx.out();
  bool created_db = false;
  if (ctx.settings().embedded_db) {
    out.info(out.bold("1/4", true) + " PostgreSQL: the embedded cluster in " + ctx.state().root().string());
    auto up = embedded_up(ctx);
    if (!up.ok()) return up.outcome();
    created_db = up->created;
  } else {
    out.info(out.bold("1/4", true) + " PostgreSQL: " + ctx.settings().database_url.shown() + " (" +
             ctx.settings().database_url.source + ")");
  }
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();

  out.info(out.bold("2/4", true) + " resv-server");
  StartOptions so;
  so.port = o.port;
  so.admin_port = o.admin_port;
  auto servers = start_servers(ctx, so);
  if (!servers.ok()) return servers.outcome();
  const ServerInstance& server = servers.value().front();

  out.info(out.bold("3/4", true) + " demo data");
  auto set = seed_demo_set(ctx, o.yes);
  if (!set.ok()) return set.outcome();

  out.info(out.bold("4/4", true) + " " + std::to_string(set->user_ids.size()) + " buyers, " +
           std::to_string(o.clients) + " at a time, through http://127.0.0.1:" + std::to_string(server.port));
  Burst b = run_burst(ctx, set.value(), server.port, o.clients);
  auto a = audit(url.value(), set.value());
  if (!a.ok()) return a.outcome();
  // The relay publishes within milliseconds; give it a few seconds before
  // saying what it did.
  for (int i = 0; i < 100 && a->events_published < a->events_written; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto again = audit(url.value(), set.value());
    if (!again.ok()) return again.outcome();
    a = std::move(again);
  }
  const auto brokers = ctx.kafka_brokers();
  const std::string brokers_text = brokers.ok() ? brokers.value() : "none";

  int rejected = 0, failed = 0;
  for (const auto& [code, n] : b.rejected) rejected += n;
  for (const auto& [code, n] : b.failed) failed += n;
  const bool overbooked = a->seats_double > 0 || a->pool_units_taken > set->pool_capacity ||
                          a->pool_units_claimed != a->pool_units_taken;
  const std::string api = "http://127.0.0.1:" + std::to_string(server.port);
  const std::string admin = "http://127.0.0.1:" + std::to_string(server.admin_port);

  if (out.json()) {
    nlohmann::json j{
        {"database", {{"url", ctx.settings().database_url.shown()}, {"embedded", ctx.settings().embedded_db},
                      {"created", created_db}}},
        {"server", {{"pid", server.pid}, {"apiUrl", api}, {"adminUrl", admin}}},
        {"data", demo_set_json(set.value())},
        {"burst", {{"clients", o.clients}, {"attempts", b.attempts}, {"held", b.held}, {"paid", b.paid},
                   {"rejected", rejected}, {"rejectedByCode", b.rejected}, {"failed", failed},
                   {"failedByCode", b.failed}, {"seconds", b.seconds},
                   {"latencyMs", {{"p50", percentile(b.hold_ms, 0.5)}, {"p95", percentile(b.hold_ms, 0.95)},
                                   {"max", percentile(b.hold_ms, 1.0)}}}}},
        {"audit", {{"seatsTaken", a->seats_taken}, {"seatsSoldTwice", a->seats_double},
                   {"poolUnitsTaken", a->pool_units_taken}, {"poolCapacity", set->pool_capacity},
                   {"overbooked", overbooked}}},
        {"events", {{"written", a->events_written}, {"published", a->events_published}, {"brokers", brokers_text}}}};
    out.print_json(j);
  } else {
    std::string rej;
    for (const auto& [code, n] : b.rejected) rej += (rej.empty() ? "" : ", ") + std::to_string(n) + " " + code;
    std::string fail;
    for (const auto& [code, n] : b.failed) fail += (fail.empty() ? "" : ", ") + std::to_string(n) + " " + code;
    std::string text = "\n" + out.bold("What was set up") + "\n" +
                       key_values({{"database", ctx.settings().database_url.shown()},
                                   {"server", api + " (admin " + admin + ", pid " + std::to_string(server.pid) + ")"},
                                   {"concert", std::to_string(set->concert_id) + ", schedule " +
                                                   std::to_string(set->schedule_id) + ": " +
                                                   std::to_string(set->seat_ids.size()) + " seats, a pool of " +
                                                   std::to_string(set->pool_capacity) + ", " +
                                                   std::to_string(set->user_ids.size()) + " users"}}) +
                       "\n" + out.bold("What happened") + "\n" +
                       key_values({{"attempts", std::to_string(b.attempts) + " in " + fmt_ms(b.seconds * 1000)},
                                   {"held", out.green(std::to_string(b.held)) + " (then paid: " + std::to_string(b.paid) + ")"},
                                   {"rejected", std::to_string(rejected) + (rej.empty() ? "" : " (" + rej + ")") +
                                                    ": seat taken or sold out, answered at once"},
                                   {"failed", (failed ? out.red(std::to_string(failed)) : std::string("0")) +
                                                  (fail.empty() ? "" : " (" + fail + ")")},
                                   {"latency", "p50 " + fmt_ms(percentile(b.hold_ms, 0.5)) + ", p95 " +
                                                   fmt_ms(percentile(b.hold_ms, 0.95)) + ", max " +
                                                   fmt_ms(percentile(b.hold_ms, 1.0))},
                                   {"overbooking",
                                    overbooked ? out.red("YES: see the error below")
                                               : out.green("none") + " (" + std::to_string(a->seats_taken) +
                                                     " seats taken once each, " +
                                                     std::to_string(a->pool_units_taken) + "/" +
                                                     std::to_string(set->pool_capacity) + " pool places)"},
                                   {"events", std::to_string(a->events_published) + " of " +
                                                  std::to_string(a->events_written) +
                                                  " published to Kafka (" + brokers_text + ")"}}) +
                       "\n" + out.bold("Where to look next") + "\n" +
                       key_values({{"  instances, readiness", resv_cmd(ctx) + " server status"},
                                   {"  the server's log", resv_cmd(ctx) + " server logs -n 20"},
                                   {"  the data", resv_cmd(ctx) + " db psql"},
                                   {"  the events", resv_cmd(ctx) + " events tail -n 3"},
                                   {"  the seat map", "curl " + api + "/api/schedules/" +
                                                          std::to_string(set->schedule_id) + "/seats"},
                                   {"  when you are done",
                                    resv_cmd(ctx) + " server stop && " + resv_cmd(ctx) + " db down"}});
    out.data(text);
  }
  if (overbooked)
    return Outcome::Failed("the audit found overbooking: seats sold twice " + std::to_string(a->seats_double) +
                               ", pool places " + std::to_string(a->pool_units_taken) + "/" +
                               std::to_string(set->pool_capacity),
                           "this is a defect in resv: please report it with the output above");
  if (failed > 0)
    return Outcome::Failed(std::to_string(failed) + " requests failed with a server or connection error",
                           "see 'resv server logs -n 50'");
  return Outcome::Ok();
}

}  // namespace

void register_demo(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<DemoOptions>();
  auto* cmd = app.add_subcommand("demo", "Run the whole stack on the embedded default and show a burst of buyers");
  cmd->add_option("--clients", opts->clients, "Concurrent buyers")->check(CLI::Range(1, 500))->capture_default_str();
  cmd->add_option("--port", opts->port, "API port of the server it starts")->check(CLI::Range(1, 65535))
      ->capture_default_str();
  cmd->add_option("--admin-port", opts->admin_port, "Admin port of the server it starts")->check(CLI::Range(1, 65535))
      ->capture_default_str();
  cmd->add_flag("--yes,-y", opts->yes, "Do not ask before adding demo data to a database resv did not provision");
  cmd->footer(
      "Starts (or reuses) the embedded PostgreSQL and one resv-server, adds a demo concert\n"
      "(200 seats, a pool of 40, 500 users), sends every user once at it through the HTTP API,\n"
      "pays for what was held, and checks in the database that nothing was sold twice; the\n"
      "events of it all go through the embedded Kafka broker (resv events tail shows them).\n"
      "Everything keeps running afterwards; each run adds a new concert.\n"
      "Exit 1 if any request failed with a server error or the audit found overbooking.\n"
      "\n"
      "Examples:\n"
      "  resv demo\n"
      "  resv demo --clients 200 --json | jq .burst\n"
      "\n"
      "JSON (--json):\n"
      "  {\"database\": {\"url\": string, \"embedded\": bool, \"created\": bool},\n"
      "   \"server\": {\"pid\": int, \"apiUrl\": string, \"adminUrl\": string},\n"
      "   \"data\": {\"concertId\", \"scheduleId\", \"seats\", \"poolId\", \"poolCapacity\", \"users\",\n"
      "            \"firstUserId\": int},\n"
      "   \"burst\": {\"clients\", \"attempts\", \"held\", \"paid\", \"rejected\", \"failed\": int,\n"
      "             \"rejectedByCode\", \"failedByCode\": {code: int}, \"seconds\": number,\n"
      "             \"latencyMs\": {\"p50\", \"p95\", \"max\": number}},\n"
      "   \"audit\": {\"seatsTaken\", \"seatsSoldTwice\", \"poolUnitsTaken\", \"poolCapacity\": int,\n"
      "             \"overbooked\": bool},\n"
      "   \"events\": {\"written\", \"published\": int, \"brokers\": string}}");
  ctx.on_run(cmd, [&ctx, opts] { return run_demo(ctx, *opts); });
}

}  // namespace resv::cli
