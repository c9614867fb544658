// resv events status: the outbox's backlog and its relay, the broker and
// its topics; --fail-if-backlog / --fail-if-older for scripts and alerts.
#include <nlohmann/json.hpp>

#include "cli/watch.h"
#include "commands/events/events.h"
#include "events/inspect.h"

namespace resv::cli::events_cmd {
namespace {

using nlohmann::json;

struct StatusFlags {
  int watch = 0;
  std::string topic_prefix = "resv.";
  std::optional<int64_t> fail_if_backlog;
  std::string fail_if_older;
};

// What the brokers said: the topics' partitions, or why they could not be read.
struct BrokerView {
  std::string brokers;  // "" when none is configured or running
  Result<std::vector<PartitionOffsets>> partitions = std::vector<PartitionOffsets>{};
  std::string error;  // when unreachable
};

BrokerView read_broker(const Context& ctx, const std::string& prefix) {
  BrokerView v;
  auto kafka = kafka_options(ctx);
  if (!kafka.ok()) {
    v.error = kafka.outcome().what();
    return v;
  }
  v.brokers = kafka->brokers;
  v.partitions = read_partitions(kafka.value(), prefix, kBrokerTimeout);
  if (!v.partitions.ok()) v.error = v.partitions.status().message();
  return v;
}

std::string leader_text(const OutboxStatus& s) {
  if (s.leader.empty()) return "none";
  return s.leader + " (pid " + std::to_string(s.leader_pid) + ", connected " + human_duration(s.leader_connected_s) +
         ")";
}

std::string status_text(const Context& ctx, const OutboxStatus& s, const BrokerView& b) {
  const Output& out = ctx.out();
  std::string t = "outbox: ";
  std::string backlog = std::to_string(s.unpublished) + " unpublished";
  t += s.unpublished > 0 && s.oldest_age_s >= 5 ? out.red(backlog + ", oldest " + human_duration(s.oldest_age_s))
                                                 : backlog;
  t += "; " + std::to_string(s.published_last_minute) + " published in the last minute\n";
  t += "relay leader: " + (s.leader.empty() ? out.red("none") : leader_text(s)) + "\n";
  t += "broker: " + (b.brokers.empty() ? out.red("none") : broker_label(ctx, b.brokers)) + ", " +
       (b.error.empty() ? "reachable" : out.red("UNREACHABLE")) + "\n";
  if (b.error.empty()) {
    Table tab({"TOPIC", "PARTITION", "FIRST", "NEXT", "MESSAGES"});
    for (const auto& p : b.partitions.value())
      tab.add({p.topic, std::to_string(p.partition), std::to_string(p.low), std::to_string(p.high),
               std::to_string(p.high - p.low)});
    t += b.partitions->empty() ? "no topics yet (nothing was published)\n" : tab.render();
  }
  if (s.last_id > 0)
    t += "outbox ids kept: " + std::to_string(s.first_id) + ".." + std::to_string(s.last_id) +
         " (resv events replay --from-id N sends published ones again)\n";
  // The first screen names the cause and the way out.
  if (!b.error.empty())
    t += "why: " + b.error + "\n";
  if (s.leader.empty() && s.unpublished > 0)
    t += "way out: no resv-server is publishing; start one (resv server start) or check the servers' logs "
         "(resv server logs)\n";
  else if (!b.error.empty() && s.unpublished > 0)
    t += "way out: the backlog drains by itself once the broker answers; requests are not affected\n";
  return t;
}

json status_json(const Context& ctx, const OutboxStatus& s, const BrokerView& b) {
  json topics = json::array();
  if (b.error.empty())
    for (const auto& p : b.partitions.value())
      topics.push_back({{"topic", p.topic}, {"partition", p.partition}, {"low", p.low}, {"high", p.high}});
  return {{"outbox",
           {{"unpublished", s.unpublished},
            {"oldestUnpublishedSeconds", s.oldest_age_s},
            {"publishedLastMinute", s.published_last_minute},
            {"firstId", s.last_id > 0 ? json(s.first_id) : json(nullptr)},
            {"lastId", s.last_id > 0 ? json(s.last_id) : json(nullptr)}}},
          {"relay",
           {{"leader", s.leader.empty() ? json(nullptr) : json(s.leader)},
            {"pid", s.leader.empty() ? json(nullptr) : json(s.leader_pid)},
            {"connectedSeconds", s.leader.empty() ? json(nullptr) : json(s.leader_connected_s)}}},
          {"broker",
           {{"brokers", b.brokers.empty() ? json(nullptr) : json(b.brokers)},
            {"embedded", ctx.settings().embedded_kafka},
            {"reachable", b.error.empty()},
            {"error", b.error.empty() ? json(nullptr) : json(b.error)}}},
          {"topics", topics}};
}

Outcome run_status(const Context& ctx, const StatusFlags& f, std::optional<int64_t> older_s) {
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  return run_watch(ctx.out(), std::chrono::seconds(f.watch), [&](const WatchFrame& frame) -> Outcome {
    auto s = read_outbox_status(url.value());
    if (!s.ok()) return db_failure(ctx, url.value(), s.status());
    const BrokerView b = read_broker(ctx, f.topic_prefix);
    const Output& out = ctx.out();
    if (out.json())
      out.data(frame.start() + status_json(ctx, s.value(), b).dump(2) + "\n");
    else
      out.data(frame.start() + frame.title("resv events status") + status_text(ctx, s.value(), b) +
               (frame.watching() ? "\n" : ""));
    // A check's finding first: it is what the script asked about.
    if (f.fail_if_backlog && s->unpublished > *f.fail_if_backlog)
      return Outcome::Problem("the outbox backlog is " + std::to_string(s->unpublished) + " events (limit " +
                                  std::to_string(*f.fail_if_backlog) + ")",
                              "resv events status shows the relay leader and the broker");
    if (older_s && s->unpublished > 0 && s->oldest_age_s >= static_cast<double>(*older_s))
      return Outcome::Problem("the oldest unpublished event has waited " + human_duration(s->oldest_age_s) +
                                  " (limit " + human_duration(static_cast<double>(*older_s)) + ")",
                              "resv events status shows the relay leader and the broker");
    if (!b.error.empty()) {
      std::string hint = "check --kafka-brokers (resv config show)";
      if (ctx.settings().embedded_kafka)
        hint = ctx.state().embedded_broker()
                   ? "the embedded broker runs but does not answer: see " + ctx.state().broker_log().string()
                   : "'resv server start' runs the embedded broker";
      return Outcome::Unreachable("the broker cannot be read: " + b.error, hint);
    }
    return Outcome::Ok();
  });
}

}  // namespace

void add_status(CLI::App& events, Context& ctx) {
  auto f = std::make_shared<StatusFlags>();
  auto* cmd = events.add_subcommand("status", "Backlog, oldest unpublished event, relay leader, broker and topics");
  cmd->add_option("--watch", f->watch, "Redraw every SECONDS until Ctrl-C")->type_name("SECONDS")->check(CLI::Range(1, 3600));
  add_topic_prefix(cmd, f->topic_prefix);
  cmd->add_option("--fail-if-backlog", f->fail_if_backlog, "Exit 4 when more than N events are unpublished")
      ->type_name("N")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 62));
  cmd->add_option("--fail-if-older", f->fail_if_older, "Exit 4 when the oldest unpublished event is this old (30s, 2m)")
      ->type_name("DURATION");
  cmd->footer(
      "The outbox part comes from the database and works while every server is down: events not\n"
      "published yet and how long the oldest has waited, events published in the last minute, the ids\n"
      "kept (replayable), and the relay leader (the session holding the relay's advisory lock). The\n"
      "broker part lists every topic named PREFIX... with its partitions' first and next offsets.\n"
      "\n"
      "Exit codes: 0; 3 the database or the broker cannot be reached (the database part is still\n"
      "shown when only the broker fails); 4 --fail-if-backlog or --fail-if-older found it.\n"
      "\n"
      "JSON (--json; with --watch one document per round):\n"
      "  {\"outbox\": {\"unpublished\": int, \"oldestUnpublishedSeconds\": number, \"publishedLastMinute\": int,\n"
      "    \"firstId\": int|null, \"lastId\": int|null},\n"
      "   \"relay\": {\"leader\": string|null, \"pid\": int|null, \"connectedSeconds\": number|null},\n"
      "   \"broker\": {\"brokers\": string|null, \"embedded\": bool, \"reachable\": bool, \"error\": string|null},\n"
      "   \"topics\": [{\"topic\": string, \"partition\": int, \"low\": int, \"high\": int}]}");
  ctx.on_run(cmd, [&ctx, f] {
    auto older = duration_flag(f->fail_if_older, "--fail-if-older");
    if (!older.ok()) return older.outcome();
    return run_status(ctx, *f, older.value());
  });
}

}  // namespace resv::cli::events_cmd
