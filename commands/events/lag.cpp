// resv events lag: consumer groups, their offsets against the topics' ends,
// and a verdict in the manner of Burrow from two samples a moment apart.
#include <nlohmann/json.hpp>
#include <set>

#include "cli/interrupt.h"
#include "cli/watch.h"
#include "commands/events/events.h"
#include "events/inspect.h"

namespace resv::cli::events_cmd {
namespace {

using nlohmann::json;

struct LagFlags {
  std::vector<std::string> groups;
  std::string topic_prefix = "resv.";
  std::string interval = "2s";
  std::optional<int64_t> fail_if_lag;
  int watch = 0;
};

struct GroupLag {
  std::string group;
  std::vector<PartitionLag> partitions;
  LagVerdict verdict = LagVerdict::Ok;
  int64_t lag = 0;
};

// The groups to report on: those named, else those remembered in the
// database and those the brokers list (the embedded broker lists none).
std::vector<std::string> groups_to_report(const Context& ctx, const KafkaOptions& kafka, const LagFlags& f) {
  if (!f.groups.empty()) {
    if (auto url = ctx.database_url(); url.ok())
      for (const auto& g : f.groups) remember_group(url.value(), g, false);  // best effort: a later run knows it
    return f.groups;
  }
  std::set<std::string> out;
  if (auto url = ctx.database_url(); url.ok()) {
    if (auto known = known_groups(url.value()); known.ok())
      out.insert(known->begin(), known->end());
    else
      ctx.out().warn("the database's remembered groups cannot be read: " + first_line(known.status().message()));
  }
  if (auto listed = list_groups(kafka, std::chrono::seconds(2)); listed.ok()) out.insert(listed->begin(), listed->end());
  return {out.begin(), out.end()};
}

Result<std::vector<std::vector<PartitionOffsets>>> sample(const KafkaOptions& kafka, const std::vector<std::string>& groups,
                                                          const std::string& prefix) {
  auto parts = read_partitions(kafka, prefix, kBrokerTimeout);
  if (!parts.ok()) return parts.status();
  std::vector<std::vector<PartitionOffsets>> out;
  for (const auto& g : groups) {
    auto c = read_committed(kafka, g, parts.value(), kBrokerTimeout);
    if (!c.ok()) return c.status();
    out.push_back(std::move(c.value()));
  }
  return out;
}

// "resv.reservations/2: committed 15, end 60" for the worst partition.
std::string worst_text(const GroupLag& g) {
  const PartitionLag* worst = nullptr;
  for (const auto& p : g.partitions)
    if (!worst || p.verdict > worst->verdict || (p.verdict == worst->verdict && p.lag > worst->lag)) worst = &p;
  if (!worst || worst->lag == 0) return "";
  return worst->topic + "/" + std::to_string(worst->partition) + ": " +
         (worst->committed < 0 ? "never committed" : "committed " + std::to_string(worst->committed)) + ", end " +
         std::to_string(worst->end);
}

std::string lag_text(const Context& ctx, const std::vector<GroupLag>& groups) {
  const Output& out = ctx.out();
  Table t({"GROUP", "VERDICT", "LAG", "PARTITIONS", "WORST"});
  for (const auto& g : groups) {
    std::string v(verdict_name(g.verdict));
    t.add({g.group, g.verdict == LagVerdict::Ok ? out.green(v) : out.red(v), std::to_string(g.lag),
           std::to_string(g.partitions.size()), worst_text(g)});
  }
  std::string text = t.render();
  if (out.verbose() > 0) {
    Table d({"GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "VERDICT"});
    for (const auto& g : groups)
      for (const auto& p : g.partitions)
        d.add({g.group, p.topic, std::to_string(p.partition), p.committed < 0 ? "-" : std::to_string(p.committed),
               std::to_string(p.end), std::to_string(p.lag), std::string(verdict_name(p.verdict))});
    text += "\n" + d.render();
  }
  for (const auto& g : groups) {
    if (g.verdict == LagVerdict::Stalled)
      text += g.group + ": no commit while events arrive: its consumer is stuck or gone (its logs; restart it)\n";
    else if (g.verdict == LagVerdict::Stopped)
      text += g.group + ": no commits with events left to read: is its consumer running?\n";
    else if (g.verdict == LagVerdict::Lagging)
      text += g.group + ": consuming, but not catching up: more consumers, or faster ones\n";
  }
  return text;
}

json lag_json(const std::vector<GroupLag>& groups) {
  json out = json::array();
  for (const auto& g : groups) {
    json parts = json::array();
    for (const auto& p : g.partitions)
      parts.push_back({{"topic", p.topic},
                       {"partition", p.partition},
                       {"committed", p.committed < 0 ? json(nullptr) : json(p.committed)},
                       {"end", p.end},
                       {"lag", p.lag},
                       {"verdict", verdict_name(p.verdict)}});
    out.push_back({{"group", g.group}, {"verdict", verdict_name(g.verdict)}, {"lag", g.lag}, {"partitions", parts}});
  }
  return {{"groups", out}};
}

Outcome run_lag(const Context& ctx, const LagFlags& f, std::chrono::milliseconds interval) {
  auto kafka = kafka_options(ctx);
  if (!kafka.ok()) return kafka.outcome();
  const auto groups = groups_to_report(ctx, kafka.value(), f);
  if (groups.empty()) {
    if (ctx.out().json()) ctx.out().print_json({{"groups", json::array()}});
    ctx.out().info("no consumer group is known: name one with --group G ('resv events tail --group G' remembers its "
                   "group; the embedded broker cannot list them)");
    return Outcome::Ok();
  }
  // Without --watch, Ctrl-C during the first interval ends resv at once; with
  // it, run_watch's scope makes it end the watch.
  std::optional<std::vector<std::vector<PartitionOffsets>>> before;
  return run_watch(ctx.out(), std::chrono::seconds(f.watch), [&](const WatchFrame& frame) -> Outcome {
    if (!before) {
      auto first = sample(kafka.value(), groups, f.topic_prefix);
      if (!first.ok()) return Outcome::From(first.status());
      before = std::move(first.value());
      if (sleep_unless_interrupted(interval)) return Outcome::Ok();
    }
    auto after = sample(kafka.value(), groups, f.topic_prefix);
    if (!after.ok()) return Outcome::From(after.status());
    std::vector<GroupLag> report;
    for (size_t i = 0; i < groups.size(); ++i) {
      GroupLag g{groups[i], judge_lag((*before)[i], after.value()[i]), LagVerdict::Ok, 0};
      g.verdict = group_verdict(g.partitions);
      for (const auto& p : g.partitions) g.lag += p.lag;
      report.push_back(std::move(g));
    }
    before = std::move(after.value());
    const Output& out = ctx.out();
    if (out.json())
      out.data(frame.start() + lag_json(report).dump(2) + "\n");
    else
      out.data(frame.start() + frame.title("resv events lag") + lag_text(ctx, report) + (frame.watching() ? "\n" : ""));
    if (f.fail_if_lag)
      for (const auto& g : report)
        if (g.lag > *f.fail_if_lag)
          return Outcome::Problem("group " + g.group + " lags " + std::to_string(g.lag) + " events (limit " +
                                      std::to_string(*f.fail_if_lag) + ", verdict " +
                                      std::string(verdict_name(g.verdict)) + ")",
                                  "resv events lag -v --group " + g.group + " shows every partition");
    return Outcome::Ok();
  });
}

}  // namespace

void add_lag(CLI::App& events, Context& ctx) {
  auto f = std::make_shared<LagFlags>();
  auto* cmd = events.add_subcommand("lag", "Consumer groups: committed offsets, lag, and a verdict");
  cmd->add_option("--group", f->groups, "A group to report on (repeatable; default: the known ones)")->type_name("GROUP");
  add_topic_prefix(cmd, f->topic_prefix);
  cmd->add_option("--interval", f->interval, "Time between the two samples a verdict compares")
      ->type_name("DURATION")
      ->capture_default_str();
  cmd->add_option("--fail-if-lag", f->fail_if_lag, "Exit 4 when a group lags more than N events")
      ->type_name("N")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 62));
  cmd->add_option("--watch", f->watch, "Redraw every SECONDS until Ctrl-C")->type_name("SECONDS")->check(CLI::Range(1, 3600));
  cmd->footer(
      "For each group, every partition of the PREFIX... topics: its committed offset, the end (high\n"
      "watermark) and the lag between them, sampled twice --interval apart (with --watch, round after\n"
      "round). Verdicts, in the manner of Burrow: OK (no lag, or it shrank), LAGGING (commits, but the\n"
      "lag did not shrink), STALLED (no commit while events arrived), STOPPED (no commit and nothing\n"
      "new, with lag left, or never committed); a group's is its worst partition's. -v lists every\n"
      "partition. Groups: --group, else those 'resv events tail --group' or 'resv events lag --group'\n"
      "remembered in the database, and those the brokers list (the embedded broker lists none).\n"
      "\n"
      "Exit codes: 0; 2 usage; 3 the brokers cannot be reached; 4 --fail-if-lag found a group past it.\n"
      "\n"
      "JSON (--json): {\"groups\": [{\"group\": string, \"verdict\": string, \"lag\": int, \"partitions\":\n"
      "  [{\"topic\": string, \"partition\": int, \"committed\": int|null, \"end\": int, \"lag\": int,\n"
      "    \"verdict\": string}]}]}");
  ctx.on_run(cmd, [&ctx, f] {
    auto interval = parse_duration_ms(f->interval);
    if (!interval || *interval <= 0)
      return Outcome::Usage("--interval '" + f->interval + "' is not a positive duration", "e.g. --interval 2s or 500ms");
    return run_lag(ctx, *f, std::chrono::milliseconds(*interval));
  });
}

}  // namespace resv::cli::events_cmd
