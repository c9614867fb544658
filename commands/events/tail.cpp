// resv events tail: events as JSON lines, straight from the topics; with a
// group it commits as it goes, so it can stand in for a consumer (and with
// --delay for report 000's slow one).
#include <nlohmann/json.hpp>
#include <random>

#include "cli/interrupt.h"
#include "commands/events/events.h"
#include "events/inspect.h"

namespace resv::cli::events_cmd {
namespace {

using nlohmann::json;

struct TailFlags {
  std::vector<std::string> topics;
  std::string topic_prefix = "resv.";
  bool from_beginning = false;
  int64_t last = 10;
  bool follow = false;
  std::string group;
  std::string delay;
};

// "0.5s" or "0.5s-1.5s": each event waits a time drawn between the two.
struct Delay {
  int64_t min_ms = 0, max_ms = 0;
};

Expected<Delay> parse_delay(const std::string& text) {
  if (text.empty()) return Delay{};
  auto dash = text.find('-', 1);
  auto a = parse_duration_ms(text.substr(0, dash));
  auto b = dash == std::string::npos ? a : parse_duration_ms(text.substr(dash + 1));
  if (!a || !b || *b < *a)
    return Outcome::Usage("--delay '" + text + "' is not a duration or a range of two",
                          "e.g. --delay 500ms, --delay 1.5s, or --delay 0.5s-1.5s (report 000's slow consumer)");
  return Delay{*a, *b};
}

json event_line(const ConsumedEvent& e) {
  json headers = json::object();
  for (const auto& [n, v] : e.headers) headers[n] = v;
  json body = json::parse(e.value, nullptr, false);
  return {{"topic", e.topic},     {"partition", e.partition}, {"offset", e.offset},
          {"key", e.key},         {"timestampMs", e.timestamp_ms}, {"headers", headers},
          {"event", body.is_discarded() ? json(e.value) : body}};
}

Outcome run_tail(const Context& ctx, const TailFlags& f, const Delay& delay) {
  auto kafka = kafka_options(ctx);
  if (!kafka.ok()) return kafka.outcome();
  std::vector<std::string> topics = f.topics;
  if (topics.empty()) {
    auto parts = read_partitions(kafka.value(), f.topic_prefix, kBrokerTimeout);
    if (!parts.ok()) return Outcome::From(parts.status());
    for (const auto& p : parts.value())
      if (topics.empty() || topics.back() != p.topic) topics.push_back(p.topic);
    if (topics.empty()) {
      ctx.out().info("no topic named " + f.topic_prefix + "... on " + broker_label(ctx, kafka->brokers) +
                     " yet: nothing was published (resv events status)");
      return Outcome::Ok();
    }
  }
  auto reader = EventReader::open(kafka.value(), {topics, f.from_beginning, f.group, f.from_beginning ? -1 : f.last},
                                  kBrokerTimeout);
  if (!reader.ok())
    return reader.status().code() == ErrorCode::NotFound ? Outcome::Failed(reader.status().message(),
                                                                           "resv events status lists the topics")
                                                         : Outcome::From(reader.status());
  auto url = f.group.empty() ? Expected<std::string>(std::string()) : ctx.database_url();
  bool remembered = false;
  auto commit = [&]() -> Outcome {
    if (f.group.empty()) return Outcome::Ok();
    if (auto st = reader.value()->commit(); !st.ok()) return Outcome::From(st);
    if (!remembered && url.ok()) {  // so that resv events lag knows the group
      if (auto st = remember_group(url.value(), f.group, true); !st.ok())
        ctx.out().warn("could not remember group " + f.group + " in the database: " + first_line(st.message()));
      remembered = true;
    }
    return Outcome::Ok();
  };

  InterruptScope scope;
  std::mt19937 rng(std::random_device{}());
  const int64_t waiting = reader.value()->waiting_at_open();
  int64_t read = 0;
  auto last_commit = std::chrono::steady_clock::now();
  while (!interrupted() && (f.follow || read < waiting)) {
    auto e = reader.value()->next(std::chrono::milliseconds(f.follow ? 200 : 5000));
    if (!e) {
      if (!f.follow) break;  // what was there is not coming: the broker went away
      continue;
    }
    ++read;
    ctx.out().data(event_line(*e).dump() + "\n");
    if (delay.max_ms > 0 &&
        sleep_unless_interrupted(std::chrono::milliseconds(
            std::uniform_int_distribution<int64_t>(delay.min_ms, delay.max_ms)(rng))))
      break;
    // A slow consumer commits each event; a fast one every second.
    if (delay.max_ms > 0 || std::chrono::steady_clock::now() - last_commit >= std::chrono::seconds(1)) {
      if (auto c = commit(); !c.ok()) return c;
      last_commit = std::chrono::steady_clock::now();
    }
  }
  if (auto c = commit(); !c.ok()) return c;
  if (!f.follow && read < waiting)
    return Outcome::Unreachable("read " + std::to_string(read) + " of the " + std::to_string(waiting) +
                                    " events there were; the broker stopped answering",
                                "resv events status");
  ctx.out().detail("resv: " + std::to_string(read) + " event(s)" + (f.group.empty() ? "" : ", committed for " + f.group));
  return Outcome::Ok();
}

}  // namespace

void add_tail(CLI::App& events, Context& ctx) {
  auto f = std::make_shared<TailFlags>();
  auto* cmd = events.add_subcommand("tail", "Events from the topics as JSON lines (a consumer, with --group)");
  cmd->add_option("--topic", f->topics, "A topic to read (repeatable; default: every PREFIX... topic)")->type_name("TOPIC");
  add_topic_prefix(cmd, f->topic_prefix);
  cmd->add_flag("--from-beginning", f->from_beginning, "Every event kept, not only the last ones");
  cmd->add_option("-n,--last", f->last, "The last N events of each partition (without --from-beginning)")
      ->type_name("N")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
      ->capture_default_str();
  cmd->add_flag("-f,--follow", f->follow, "Then wait for new events until Ctrl-C");
  cmd->add_option("--group", f->group, "Consume as this group: start at its committed offsets, commit as it goes")
      ->type_name("GROUP");
  cmd->add_option("--delay", f->delay, "Wait this long after each event (250ms, 1.5s, or a range 0.5s-1.5s)")
      ->type_name("DURATION");
  cmd->footer(
      "Prints one JSON line per event (stdout), in the order of each partition: {\"topic\": string,\n"
      "\"partition\": int, \"offset\": int, \"key\": string, \"timestampMs\": int, \"headers\": {\"event-id\",\n"
      "\"event-type\", \"schema-version\": string}, \"event\": the message (resv-server(8), EVENTS)}.\n"
      "It starts at the last N events of each partition (-n, default 10), at the first kept\n"
      "(--from-beginning), or with --group at the group's committed offsets, and stops once it read\n"
      "what was there, or with --follow goes on until Ctrl-C. With --group it commits as it goes (every\n"
      "event with --delay, else every second and at the end) and is remembered for 'resv events lag':\n"
      "it can stand in for a consumer in tests and demos, and with --delay play a slow one.\n"
      "\n"
      "Exit codes: 0; 2 usage; 3 the broker cannot be reached or stopped answering.\n"
      "\n"
      "Examples:\n"
      "  resv events tail -n 5 | jq -r '.event.type'\n"
      "  resv events tail --topic resv.reservations --from-beginning\n"
      "  resv events tail --group billing --follow --delay 0.5s-1.5s");
  ctx.on_run(cmd, [&ctx, f] {
    auto delay = parse_delay(f->delay);
    if (!delay.ok()) return delay.outcome();
    return run_tail(ctx, *f, delay.value());
  });
}

}  // namespace resv::cli::events_cmd
