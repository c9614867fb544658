// resv bench SCENARIO: the field reports' load tests as one command (core/
// bench/): seeds the scenario's own concert, runs the load against the
// embedded stack (started when it is not running) or --url, prints a summary
// in the manner of k6 (per step: rate, latency percentiles, successes,
// business rejections by code, system errors), audits the scenario's data and
// checks --threshold expressions. Exit 4 names every crossed threshold and
// broken invariant.
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "bench/scenarios.h"
#include "bench/thresholds.h"
#include "cli/commands.h"
#include "cli/context.h"
#include "cli/db_connect.h"
#include "cli/embedded_pg.h"
#include "cli/http_client.h"
#include "cli/server_control.h"
#include "cli/servers.h"
#include "commands/events/events.h"

namespace resv::cli {
namespace {

using nlohmann::json;

struct BenchFlags {
  std::string scenario;
  int connections = 32;
  std::string duration;  // "" : scenario's default
  int64_t requests = 0;
  double rate = 0;
  int threads = 1;
  ScenarioSizes sizes;
  std::vector<std::string> thresholds;
  std::string url;  // "" : the embedded stack
  std::string timeout = "10s";
  std::string trace;  // file
  std::string ramp;   // stages
};

std::string ms(int64_t micros) {
  char b[32];
  std::snprintf(b, sizeof b, micros < 10000 ? "%.2f" : "%.0f", static_cast<double>(micros) / 1000.0);
  return b;
}

json latency_json(const LatencyHistogram& h) {
  auto m = [](int64_t us) { return static_cast<double>(us) / 1000.0; };
  return {{"min", m(h.min())},           {"p50", m(h.percentile(50))}, {"p90", m(h.percentile(90))},
          {"p95", m(h.percentile(95))},  {"p99", m(h.percentile(99))}, {"max", m(h.max())},
          {"mean", h.mean() / 1000.0}};
}

json step_json(const std::string& name, const StepStats& s, double seconds) {
  return {{"step", name},
          {"requests", s.requests},
          {"rps", seconds > 0 ? static_cast<double>(s.requests) / seconds : 0.0},
          {"successes", s.successes},
          {"rejections", s.rejections},
          {"systemErrors", s.system_errors},
          {"latencyMs", latency_json(s.latency)}};
}

// Report 000's lagging consumer, beside the load of slow-consumer: a
// consumer group reading every resv.* topic that takes 0.5-1.5 s per event
// (it waits for the topics to appear: the load's first events create them).
class SlowConsumer {
 public:
  SlowConsumer(KafkaOptions kafka, std::string group)
      : thread_([this, kafka = std::move(kafka), group = std::move(group)] { run(kafka, group); }) {}
  ~SlowConsumer() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t read() const { return read_; }

 private:
  void run(const KafkaOptions& kafka, const std::string& group) {
    std::mt19937 rng(std::random_device{}());
    std::unique_ptr<EventReader> reader;
    while (!stop_) {
      if (!reader) {
        auto parts = read_partitions(kafka, "resv.", events_cmd::kBrokerTimeout);
        std::vector<std::string> topics;
        if (parts.ok())
          for (const auto& p : parts.value())
            if (topics.empty() || topics.back() != p.topic) topics.push_back(p.topic);
        auto opened = topics.empty() ? Result<std::unique_ptr<EventReader>>(Status::NotFound("no topic yet"))
                                     : EventReader::open(kafka, {topics, false, group, -1}, events_cmd::kBrokerTimeout);
        if (!opened.ok()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          continue;
        }
        reader = std::move(opened.value());
      }
      if (!reader->next(std::chrono::milliseconds(200))) continue;
      ++read_;
      const auto until = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(std::uniform_int_distribution<int>(500, 1500)(rng));
      while (!stop_ && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      (void)reader->commit();  // as a slow consumer does, event by event
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<int64_t> read_{0};
  std::thread thread_;
};

// "[########............] 40 %  1234 answered, 0 system errors"; without
// the bar when how far along is not known (part < 0).
std::string progress_line(double part, int64_t answered, int64_t failed) {
  std::string line;
  if (part >= 0) {
    const int width = 20, filled = static_cast<int>(std::min(part, 1.0) * width);
    line = "[" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(width - filled), '.') +
           "] " + std::to_string(static_cast<int>(std::min(part, 1.0) * 100)) + " %  ";
  }
  return line + std::to_string(answered) + " answered, " + std::to_string(failed) + " system errors";
}

Outcome run_bench(Context& ctx, const BenchFlags& f) {
  const Output& out = ctx.out();
  // Bad input first, before anything is started or seeded.
  const auto& names = bench_scenarios();
  if (std::find(names.begin(), names.end(), f.scenario) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    return Outcome::Usage("unknown scenario '" + f.scenario + "'", "one of: " + list);
  }
  std::vector<Threshold> thresholds;
  for (const auto& t : f.thresholds) {
    auto parsed = parse_threshold(t);
    if (!parsed.ok()) return Outcome::Usage(parsed.status().message(), "see 'resv bench --help' for the metrics");
    thresholds.push_back(parsed.value());
  }
  if (f.scenario == "mixed")
    if (auto mix = parse_mix(f.sizes.mix); !mix.ok()) return Outcome::Usage(mix.status().message());
  auto duration = duration_flag(f.duration, "--duration");
  if (!duration.ok()) return duration.outcome();
  auto timeout = duration_flag(f.timeout, "--timeout");
  if (!timeout.ok()) return timeout.outcome();
  // The others end by themselves.
  const bool endless =
      f.scenario == "browse" || f.scenario == "seats" || f.scenario == "mixed" || f.scenario == "slow-consumer";

  LoadOptions lo;
  lo.connections = f.connections;
  lo.threads = f.threads;
  lo.requests = f.requests;
  lo.rate = f.rate;
  lo.timeout = std::chrono::seconds(timeout->value_or(10));
  lo.duration_s = static_cast<double>(duration->value_or(endless && f.requests == 0 ? 10 : 0));
  lo.trace = !f.trace.empty();
  std::optional<Ramp> ramp;
  if (!f.ramp.empty()) {
    auto parsed = Ramp::parse(f.ramp, f.rate);
    if (!parsed.ok()) return Outcome::Usage(parsed.status().message(), "e.g. --ramp 10s:100,30s:1000,10s:0");
    if (f.requests > 0 || duration->has_value())
      return Outcome::Usage("--ramp sets the run's length", "drop --duration and --requests, or --ramp");
    ramp = parsed.value();
    lo.ramp = &*ramp;
    lo.duration_s = ramp->seconds();
  }
  // Opened before anything is seeded: a path that cannot be written is bad input.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> trace_file(lo.trace ? std::fopen(f.trace.c_str(), "w") : nullptr,
                                                              [](std::FILE* file) { return file ? std::fclose(file) : 0; });
  if (lo.trace && !trace_file)
    return Outcome::Usage("cannot write the trace file " + f.trace, "give --trace a path in a writable folder");
  if (!f.url.empty()) {
    auto where = parse_http_url(f.url);
    if (!where) return Outcome::Usage("--url '" + f.url + "' is not http://HOST:PORT", "e.g. --url http://127.0.0.1:8080");
    lo.host = where->first;
    lo.port = static_cast<uint16_t>(where->second);
  } else {
    if (ctx.settings().embedded_db) {
      auto up = embedded_up(ctx);
      if (!up.ok()) return up.outcome();
    }
    auto servers = start_servers(ctx, StartOptions{});
    if (!servers.ok()) return servers.outcome();
    lo.port = static_cast<uint16_t>(servers->front().port);
  }
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  // Nothing is seeded for a target that does not answer.
  if (auto probe = HttpClient(lo.host, lo.port, std::chrono::seconds(3)).get("/healthz"); probe.status == 0)
    return Outcome::Unreachable("nothing answers at http://" + lo.host + ":" + std::to_string(lo.port) + ": " +
                                    probe.error,
                                f.url.empty() ? "'resv server status' shows the instances"
                                              : "check --url (the server's API port, not its admin port)");

  ScenarioSizes sizes = f.sizes;
  sizes.connections = f.connections;
  if (sizes.capacity == 0) sizes.capacity = f.scenario == "coupon" ? 10000 : 40;
  out.progress("seeding the " + f.scenario + " scenario's concert...");
  auto data = seed_scenario(url.value(), f.scenario, sizes);
  out.progress_done();
  if (!data.ok() && data.status().code() == ErrorCode::InvalidRequest) return Outcome::Usage(data.status().message());
  if (!data.ok()) return cannot_connect(ctx, url.value(), data.status().message());

  const std::string target = "http://" + lo.host + ":" + std::to_string(lo.port);
  out.info("resv bench " + f.scenario + ": concert " + std::to_string(data->concert_id) + ", schedule " +
           std::to_string(data->schedule_id) + " against " + target + ", " + std::to_string(f.connections) +
           " connections, " +
           (ramp ? "open loop in stages " + f.ramp
                 : f.rate > 0 ? "open loop at " + std::to_string(static_cast<int64_t>(f.rate)) + "/s" : "closed loop"));
  std::unique_ptr<SlowConsumer> slow;
  if (f.scenario == "slow-consumer") {
    auto kafka = events_cmd::kafka_options(ctx);
    if (!kafka.ok()) return kafka.outcome();
    slow = std::make_unique<SlowConsumer>(kafka.value(), "resv-bench-slow-" + std::to_string(data->concert_id));
  }
  LoadProgress progress;
  std::atomic<bool> done{false};
  std::thread ticker;
  if (out.stderr_is_tty() && !out.quiet())
    ticker = std::thread([&] {
      // How far along: by the clock (--duration, --ramp), by answers (-n, or
      // rush's connections x attempts); else the counts alone.
      const int64_t expected = f.requests            ? f.requests
                               : f.scenario == "rush" ? int64_t{f.connections} * f.sizes.attempts
                                                      : 0;
      const auto t0 = std::chrono::steady_clock::now();
      while (!done) {
        const int64_t answered = progress.answered.load();
        double part = -1;
        if (lo.duration_s > 0)
          part = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / lo.duration_s;
        else if (expected > 0)
          part = static_cast<double>(answered) / static_cast<double>(expected);
        out.progress(progress_line(part, answered, progress.failed.load()));
        for (int i = 0; i < 5 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  LoadResult r = run_load(lo, scenario_scripts(data.value(), sizes.seed), &progress);
  done = true;
  if (ticker.joinable()) ticker.join();
  if (slow) slow->stop();
  out.progress_done();

  if (trace_file) {
    const auto start_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(r.started_at.time_since_epoch()).count();
    std::fprintf(trace_file.get(),
                 "# resv bench %s, started at %lld ms: due_ms sent_ms latency_ms status code method target step\n",
                 f.scenario.c_str(), static_cast<long long>(start_ms));
    for (const auto& line : r.trace) std::fprintf(trace_file.get(), "%s\n", line.c_str());
    trace_file.reset();
  }
  StepStats total;
  for (const auto& [name, s] : r.steps) total.merge(s);
  if (total.requests > 0 && total.successes == 0 && total.rejected() == 0 &&
      total.system_errors.size() == 1 && total.system_errors.count("connection"))
    return Outcome::Unreachable("nothing answered at " + target + ": every connection failed (it went away)",
                                "the concert " + std::to_string(data->concert_id) + " it seeded is left as it is");
  const bool exact = total.system_errors.count("timeout") == 0 && total.system_errors.count("connection") == 0;
  const auto step_ok = [&](const char* name) { return r.steps.count(name) ? r.steps.at(name).successes : 0; };
  auto audit = audit_scenario(url.value(), data.value(), step_ok("hold"), step_ok("pay"), exact);
  if (!audit.ok()) return cannot_connect(ctx, url.value(), audit.status().message());

  RunTotals totals{total.requests, total.successes, total.rejected(), total.failed(), r.seconds,
                   total.latency.min(), total.latency.percentile(50), total.latency.percentile(90),
                   total.latency.percentile(95), total.latency.percentile(99), total.latency.max()};
  std::vector<std::string> crossed;
  for (const auto& t : thresholds)
    if (!threshold_holds(t, totals)) crossed.push_back(t.text);
  std::vector<std::string> broken;
  for (const auto& a : audit.value())
    if (a.violations > 0) broken.push_back(a.name + " (" + std::to_string(a.violations) + ", " + a.example + ")");

  if (out.json()) {
    json steps = json::array();
    for (const auto& [name, s] : r.steps) steps.push_back(step_json(name, s, r.seconds));
    json audits = json::array();
    for (const auto& a : audit.value())
      audits.push_back({{"check", a.name}, {"checked", a.checked}, {"violations", a.violations},
                        {"example", a.example.empty() ? json(nullptr) : json(a.example)}});
    json ths = json::array();
    for (const auto& t : thresholds) {
      const double v = threshold_metric(totals, t.metric);
      const bool latency = t.metric.size() == 3 && (t.metric[0] == 'p' || t.metric == "min" || t.metric == "max");
      ths.push_back({{"threshold", t.text}, {"value", latency ? v / 1000.0 : v}, {"ok", threshold_holds(t, totals)}});
    }
    out.print_json({{"scenario", f.scenario},
                    {"target", target},
                    {"concertId", data->concert_id},
                    {"scheduleId", data->schedule_id},
                    {"poolId", data->pool_id ? json(data->pool_id) : json(nullptr)},
                    {"connections", f.connections},
                    {"rate", f.rate > 0 ? json(f.rate) : json(nullptr)},
                    {"seconds", r.seconds},
                    {"lateSends", r.late},
                    {"slowConsumerRead", slow ? json(slow->read()) : json(nullptr)},
                    {"steps", steps},
                    {"total", step_json("total", total, r.seconds)},
                    {"audit", audits},
                    {"thresholds", ths},
                    {"ok", crossed.empty() && broken.empty()}});
  } else {
    Table t({"STEP", "REQUESTS", "RATE/S", "MIN", "P50", "P90", "P95", "P99", "MAX (ms)", "OK", "REJECTED", "ERRORS"});
    auto row = [&](const std::string& name, const StepStats& s) {
      const LatencyHistogram& h = s.latency;
      t.add({name, std::to_string(s.requests),
             std::to_string(static_cast<int64_t>(r.seconds > 0 ? static_cast<double>(s.requests) / r.seconds : 0)),
             ms(h.min()), ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(95)), ms(h.percentile(99)),
             ms(h.max()), std::to_string(s.successes), std::to_string(s.rejected()),
             s.failed() ? out.red(std::to_string(s.failed())) : "0"});
    };
    for (const auto& [name, s] : r.steps) row(name, s);
    if (r.steps.size() > 1) row("total", total);
    std::string text = t.render();
    auto codes = [](const std::map<std::string, int64_t>& m) {
      std::string s;
      for (const auto& [k, n] : m) s += (s.empty() ? "" : ", ") + k + " " + std::to_string(n);
      return s.empty() ? std::string("none") : s;
    };
    if (slow)
      text += "slow consumer: read " + std::to_string(slow->read()) + " events at 0.5-1.5 s each during the run\n";
    text += "rejections: " + codes(total.rejections) + "\nsystem errors: " + codes(total.system_errors) + "\n";
    text += "audit: " + std::to_string(audit->size()) + " checks, " +
            (broken.empty() ? out.green("no violation") : out.red(std::to_string(broken.size()) + " broken")) + "\n";
    for (const auto& b : broken) text += "  " + out.red("broken") + " " + b + "\n";
    for (const auto& th : thresholds) {
      const bool ok = threshold_holds(th, totals);
      text += "threshold " + th.text + ": " + (ok ? out.green("ok") : out.red("crossed")) + "\n";
    }
    out.data(text);
  }
  if (!broken.empty() || !crossed.empty()) {
    std::string what;
    for (const auto& c : crossed) what += (what.empty() ? "" : "; ") + std::string("threshold crossed: ") + c;
    for (const auto& b : broken) what += (what.empty() ? "" : "; ") + std::string("audit: ") + b;
    return Outcome::Problem(what, broken.empty() ? "" : "the scenario's data: concert " +
                                                             std::to_string(data->concert_id) + " (resv db psql)");
  }
  return Outcome::Ok();
}

}  // namespace

void register_bench(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<BenchFlags>();
  auto* cmd = app.add_subcommand("bench", "Run a field report's load test and audit what it sold");
  cmd->add_option("scenario", f->scenario, "One of the scenarios below")->required();
  cmd->add_option("-c,--connections", f->connections, "Connections (rush: buyers)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("-d,--duration", f->duration, "How long to run (\"30s\"; endless scenarios: 10s unless -n)");
  cmd->add_option("-n,--requests", f->requests, "Requests in all")->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--rate", f->rate, "Open loop: requests per second in all, latency from when each was due")
      ->check(CLI::Range(0.001, 1e7));
  cmd->add_option("--ramp", f->ramp, "Open loop in stages DURATION:RATE,..., linear from --rate (or 0)")
      ->type_name("STAGES");
  cmd->add_option("--threads", f->threads, "Load threads")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("--seats", f->sizes.seats, "browse, seats: seats of the scenario's schedule")->capture_default_str();
  cmd->add_option("--capacity", f->sizes.capacity, "rush, coupon: units of the pool (40; coupon 10,000)");
  cmd->add_option("--party", f->sizes.party, "rush: units per hold")->capture_default_str();
  cmd->add_option("--attempts", f->sizes.attempts, "rush: holds per connection")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--mix", f->sizes.mix, "mixed: SCENARIO:WEIGHT,... of browse, seats and rush")
      ->capture_default_str();
  cmd->add_option("--admit-rate", f->sizes.admit_per_s, "journey: buyers the waiting room admits per second (0: any)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--max-active", f->sizes.max_active, "journey: buyers the waiting room lets in at once (0: any)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000000));
  cmd->add_option("--users", f->sizes.users, "Users to seed (rush: one per connection; coupon: 1.5 x capacity)");
  cmd->add_option("--reuse", f->sizes.reuse_schedule, "Run on this existing schedule instead of seeding one")
      ->type_name("SCHEDULE")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--first-user", f->sizes.first_user, "With --reuse: the first of the existing users (default: the lowest id)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", f->sizes.seed, "Seed of the random seats")->capture_default_str();
  cmd->add_option("--threshold", f->thresholds, "METRIC OP VALUE, e.g. 'p95<20ms' (repeat for several)");
  cmd->add_option("--url", f->url, "A resv-server's API (http://HOST:PORT); default: the embedded stack");
  cmd->add_option("--timeout", f->timeout, "Per request; longer is a system error")->capture_default_str();
  cmd->add_option("--trace", f->trace, "One line per answer to FILE (due, sent, latency, status, code, method, target, step)")
      ->type_name("FILE");
  cmd->footer(
      "Seeds a concert of its own for the scenario (never touching other data), runs the load, then\n"
      "audits that concert's data and checks the thresholds. --reuse SCHEDULE runs on an existing\n"
      "schedule instead (its seats, one range of ids; its first pool; --users users from --first-user;\n"
      "the audit then counts only the reservations made by this run against the answers).\n"
      "  browse  schedule lists and seat maps, alternately\n"
      "  seats   a random seat held, then paid when the hold succeeded\n"
      "  rush    field report 003: each connection one buyer making --attempts holds of --party units\n"
      "          of one pool of --capacity\n"
      "  coupon  field report 004: one unit each for 1.5 x --capacity users\n"
      "  journey field report 001: each connection one buyer through the waiting room (admitting\n"
      "          --admit-rate per second, at most --max-active at once): token, its status until\n"
      "          ACTIVE (polled every 200 ms), schedules, available seats, a hold (another seat when\n"
      "          taken), the payment\n"
      "  duplicates  every hold and payment sent 3 times with one Idempotency-Key ('hold (again)')\n"
      "  slow-consumer  field report 000: seats (hold, then pay) while a consumer group reads every\n"
      "          resv.* topic at 0.5-1.5 s an event (the brokers: as for 'resv events')\n"
      "  mixed   the connections split by --mix weights between browse, seats and rush, on one\n"
      "          schedule with --seats seats and a pool of --capacity\n"
      "Closed loop by default (each connection sends when answered); --rate makes it an open loop at\n"
      "a fixed arrival rate, latency counted from when each request was due, so a stalled server\n"
      "cannot hide its stall; --ramp 10s:100,30s:1000 changes that rate by stages, as k6's ramping\n"
      "arrival rate (from --rate, or 0). Answers: success (2xx), business rejection by error code\n"
      "(4xx: SOLD_OUT, SEAT_TAKEN, ...), system error (5xx, connection errors, timeouts). Latency\n"
      "percentiles come from a histogram accurate to 1.6 %.\n"
      "\n"
      "The target: --url, else the embedded stack ('resv db up' and 'resv server start' are run when\n"
      "it is not running; the server stays up). The database for seeding and the audit: the\n"
      "configured one (--db), else the embedded one.\n"
      "\n"
      "Thresholds (--threshold 'METRIC OP VALUE', OP one of < <= > >= ==):\n"
      "  min p50 p90 p95 p99 max     latency of all steps, with a unit: us, ms, s ('p95<20ms')\n"
      "  requests successes rejections system_errors            counts ('system_errors==0')\n"
      "  success_rate rejection_rate system_error_rate          0..1 ('rejection_rate<0.99')\n"
      "  rps                                                   requests per second\n"
      "\n"
      "Exit codes: 0 the audit holds and no threshold is crossed, 4 otherwise (each named), 2 bad\n"
      "input, 3 the database or server cannot be reached.\n"
      "\n"
      "Examples:\n"
      "  resv bench rush --connections 2000 --attempts 3 --capacity 40 --party 4\n"
      "  resv bench seats --duration 30s --rate 500 --threshold 'p95<20ms' --threshold 'system_errors==0'\n"
      "  resv bench browse --url http://10.0.0.5:8080 --db \"$URL\" --threads 2 --json\n"
      "\n"
      "JSON (--json):\n"
      "  {\"scenario\": string, \"target\": string, \"concertId\": int, \"scheduleId\": int, \"poolId\": int|null,\n"
      "   \"connections\": int, \"rate\": number|null, \"seconds\": number, \"lateSends\": int,\n"
      "   \"slowConsumerRead\": int|null (slow-consumer: events the slow consumer read),\n"
      "   \"steps\": [STEP], \"total\": STEP, \"audit\": [{\"check\": string, \"checked\": int,\n"
      "   \"violations\": int, \"example\": string|null}], \"thresholds\": [{\"threshold\": string,\n"
      "   \"value\": number (latencies in ms), \"ok\": bool}], \"ok\": bool}\n"
      "  STEP: {\"step\": string, \"requests\": int, \"rps\": number, \"successes\": int,\n"
      "   \"rejections\": {CODE: int}, \"systemErrors\": {KIND: int}, \"latencyMs\": {\"min\", \"p50\",\n"
      "   \"p90\", \"p95\", \"p99\", \"max\", \"mean\"}}");
  ctx.on_run(cmd, [&ctx, f] { return run_bench(ctx, *f); });
}

}  // namespace resv::cli
