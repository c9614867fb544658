// resv queue status [--watch N] [--fail-if-stuck S]: every waiting room, or
// one, as a table or JSON; the same snapshot every N seconds with --watch.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/queue_args.h"
#include "cli/watch.h"
#include "commands/queue/queue.h"

namespace resv::cli::queue_cmd {

namespace {

using nlohmann::json;

struct StatusFlags {
  std::optional<int64_t> concert;
  int watch = 0;
  std::optional<int> fail_if_stuck;
};

std::string state_of(const Output& out, const QueueStatus& q) {
  if (!q.settings.enabled) return "disabled";
  if (q.settings.paused) return out.yellow("paused");
  if (q.stuck) return out.red("stuck");
  if (q.settings.opens_at) return "pre-opening";
  return out.green("running");
}

std::string expired_cell(const QueueStatus& q) {
  std::string out;
  for (const auto& [reason, n] : q.expired_last_minute) out += (out.empty() ? "" : ", ") + reason + " " + std::to_string(n);
  return out.empty() ? "-" : out;
}

std::string status_table(const Output& out, const std::vector<QueueStatus>& concerts) {
  Table t({"CONCERT", "STATE", "WAITING", "PRE-QUEUE", "ACTIVE", "MAX-ACTIVE", "RATE/S", "TOKEN-TTL", "ISSUED",
           "ADMITTED", "ISSUED/S", "ADMITTED/S", "OLDEST-WAIT", "LAST-ADMIT", "ETA-LAST", "EXPIRED"});
  for (const auto& q : concerts) {
    char rate[32] = "-";
    if (q.settings.rate_per_second) std::snprintf(rate, sizeof rate, "%g", *q.settings.rate_per_second);
    const auto& eta = q.eta_last_seconds;
    t.add({std::to_string(q.concert_id), state_of(out, q), std::to_string(q.waiting), std::to_string(q.pre_queue), std::to_string(q.active),
           q.settings.max_active ? std::to_string(*q.settings.max_active) : "-", rate,
           human_duration(static_cast<double>(q.settings.token_ttl_seconds)), std::to_string(q.issued), std::to_string(q.admitted_total),
           per_second(q.issued_last_minute), per_second(q.admitted_last_minute),
           q.oldest_wait_seconds ? human_duration(*q.oldest_wait_seconds) : "-",
           q.last_admit_at ? ago(q.seconds_since_last_admit) : "never",
           eta ? (*eta == 0 ? "0" : human_duration(*eta)) : "unknown", expired_cell(q)});
  }
  return t.render();
}

// The --fail-if-stuck finding, one clause per stuck concert; "" when none.
std::string stuck_report(const std::vector<QueueStatus>& concerts) {
  std::string out;
  for (const auto& q : concerts) {
    if (!q.stuck) continue;
    std::string clause = concert_label(q.concert_id, q.concert_name) + ": " + std::to_string(q.waiting) + " waiting and ";
    if (q.last_admit_at)
      clause += "nothing admitted since " + short_time(*q.last_admit_at) + " (" + ago(q.seconds_since_last_admit) + ")";
    else
      clause += "nobody admitted yet (the oldest has waited " + human_duration(q.oldest_wait_seconds.value_or(0)) + ")";
    out += (out.empty() ? "" : "; ") + clause;
  }
  return out;
}

Outcome print_snapshot(const Context& ctx, const WatchFrame& frame, const QueueSnapshot& s, const StatusFlags& f) {
  const Output& out = ctx.out();
  std::string text = frame.start();
  if (out.json()) {
    json concerts = json::array();
    for (const auto& q : s.concerts) concerts.push_back(status_json(q));
    out.data(text + json{{"concerts", concerts}}.dump(2) + "\n");
  } else {
    text += frame.title("queues at " + short_time(s.now));
    if (!s.concerts.empty()) text += status_table(out, s.concerts);
    if (frame.watching()) text += "\n";
    if (!text.empty()) out.data(text);
    if (s.concerts.empty() && !frame.watching())
      out.info("no concert has a waiting room (create one with 'resv queue enable --concert ID')");
  }
  if (!f.fail_if_stuck) return Outcome::Ok();
  if (auto stuck = stuck_report(s.concerts); !stuck.empty())
    return Outcome::Problem(
        "stuck for more than " + std::to_string(*f.fail_if_stuck) + " s: " + stuck,
        "see whether every admitted user is still active ('resv queue list --status ACTIVE') and whether the servers "
        "run ('resv server status'); 'resv queue admit N --concert ID' admits by hand");
  return Outcome::Ok();
}

Outcome run_status(const Context& ctx, const StatusFlags& f) {
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  const double threshold = f.fail_if_stuck ? *f.fail_if_stuck : kDefaultStuckSeconds;
  QueueAdmin db(url.value());  // kept from round to round; it connects again after a lost connection
  return run_watch(ctx.out(), std::chrono::seconds(f.watch), [&](const WatchFrame& frame) -> Outcome {
    QueueSnapshot s;
    if (f.concert) {
      auto c = concert_of(ctx, url.value(), db, *f.concert, true, threshold);
      if (!c.ok()) return c.outcome();
      s.now = c->queue->now;
      s.concerts.push_back(std::move(*c->queue));
    } else {
      auto all = db.snapshot(threshold);
      if (!all.ok()) return failure(ctx, url.value(), all.status());
      s = std::move(all.value());
    }
    return print_snapshot(ctx, frame, s, f);
  });
}

}  // namespace

void add_status(CLI::App& queue, Context& ctx) {
  auto sf = std::make_shared<StatusFlags>();
  auto* status = queue.add_subcommand("status", "Show each waiting room: who waits, who is in, how fast it moves");
  concert_option(status, sf->concert, "Only this concert (default: every concert with a waiting room)");
  status->add_option("--watch", sf->watch, "Redraw every SECONDS until Ctrl-C")
      ->type_name("SECONDS")
      ->check(CLI::Range(1, 3600));
  status->add_option("--fail-if-stuck", sf->fail_if_stuck,
                     "Exit 4 when people wait and nothing was admitted for more than SECONDS")
      ->type_name("SECONDS")
      ->check(CLI::Range(0, 86400 * 365));
  status->footer(
      "Columns: STATE is running, paused, disabled, pre-opening (opens-at is ahead) or stuck;\n"
      "WAITING counts every waiting token, PRE-QUEUE those not placed yet (drawn at opening);\n"
      "ACTIVE those admitted now; MAX-ACTIVE, RATE/S and TOKEN-TTL the settings; ISSUED and\n"
      "ADMITTED totals; ISSUED/S and ADMITTED/S the rates over the last minute; OLDEST-WAIT\n"
      "the longest wait; LAST-ADMIT the last admission; ETA-LAST when the last one waiting\n"
      "gets in at the last minute's rate (unknown: paused, or nobody admitted in the last\n"
      "minute); EXPIRED tokens ended recently by reason (TTL, PAID, ABANDONED).\n"
      "\n"
      "Stuck: enabled, not paused, someone waiting who could be admitted (the pre-queue only\n"
      "once opens-at has come), and nothing admitted for more than the --fail-if-stuck\n"
      "seconds (60 without it), or ever. A paused queue is never stuck. With --fail-if-stuck\n"
      "the exit code is 4 when any is, and the error names each one.\n"
      "\n"
      "--watch redraws in place on a terminal and prints one snapshot after another\n"
      "otherwise; with --fail-if-stuck it stops at the first stuck snapshot. A concert\n"
      "without a waiting room is exit 1; a database that cannot be reached exit 3 (while\n"
      "watching: a warning, and it asks again at the next round).\n"
      "\n"
      "Examples:\n"
      "  resv queue status\n"
      "  resv queue status --concert 12 --watch 1\n"
      "  resv queue status --fail-if-stuck 120\n"
      "  resv queue status --json | jq '.concerts[] | {concertId, waiting, etaLastSeconds}'\n"
      "\n"
      "JSON (--json; with --watch one document per snapshot):\n"
      "  {\"concerts\": [{\"concertId\": int, \"concertName\": string, \"enabled\": bool, \"paused\": bool,\n"
      "    \"maxActive\": int|null, \"ratePerSecond\": number|null, \"tokenTtlSeconds\": int,\n"
      "    \"abandonAfterSeconds\": int, \"opensAt\": string|null, \"waiting\": int, \"preQueue\": int,\n"
      "    \"active\": int, \"issued\": int, \"admittedTotal\": int, \"issuedLastMinute\": int,\n"
      "    \"admittedLastMinute\": int, \"expiredLastMinute\": {\"TTL\"|\"PAID\"|\"ABANDONED\": int},\n"
      "    \"oldestWaitSeconds\": number|null, \"lastAdmitAt\": string|null,\n"
      "    \"secondsSinceLastAdmit\": number|null, \"now\": string, \"stuck\": bool,\n"
      "    \"etaLastSeconds\": number|null}]}\n"
      "  (times are ISO 8601 UTC; null: none, or not known)");
  ctx.on_run(status, [&ctx, sf] { return run_status(ctx, *sf); });
}

}  // namespace resv::cli::queue_cmd
