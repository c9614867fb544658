// resv events: the outbox and what the relay made of it. The outbox lives in
// the database, so status and replay work while every server is down; the
// topics, offsets and groups are read from the brokers. One file per verb in
// this folder; this one makes the group and the shared words.
#include "commands/events/events.h"

#include "cli/commands.h"
#include "cli/db_connect.h"

namespace resv::cli {

void register_events(CLI::App& app, Context& ctx) {
  auto* events = app.add_subcommand("events", "The outbox, its relay to Kafka, topics and consumer lag");
  events->require_subcommand(1);
  events->footer(
      "Every state change writes an outbox row; one resv-server (the relay leader) publishes them to\n"
      "Kafka and marks them published once the broker acknowledged them (message schema in\n"
      "resv-server(8), EVENTS). The brokers: --kafka-brokers, RESV_KAFKA_BROKERS, kafka_brokers in the\n"
      "config file, else the embedded broker that 'resv server start' runs.\n"
      "\n"
      "Exit codes: 0 read, 2 usage, 3 the database or the brokers cannot be reached, 4 a --fail-if-*\n"
      "check found what it looks for.\n"
      "\n"
      "Examples:\n"
      "  resv events status\n"
      "  resv events status --fail-if-older 30s -q || page-oncall\n"
      "  resv events tail --from-beginning -n 20\n"
      "  resv events tail --group billing --follow --delay 0.5s-1.5s\n"
      "  resv events lag --group billing\n"
      "  resv events replay --from-id 1200 --to-id 1300 --dry-run");
  events_cmd::add_status(*events, ctx);
  events_cmd::add_lag(*events, ctx);
  events_cmd::add_tail(*events, ctx);
  events_cmd::add_replay(*events, ctx);
}

namespace events_cmd {

Expected<KafkaOptions> kafka_options(const Context& ctx) {
  auto brokers = ctx.kafka_brokers();
  if (!brokers.ok()) return brokers.outcome();
  return KafkaOptions{brokers.value(), "resv events", std::chrono::milliseconds(5000)};
}

std::string broker_label(const Context& ctx, const std::string& brokers) {
  return brokers + (ctx.settings().embedded_kafka ? " (embedded)" : "");
}

void add_topic_prefix(CLI::App* cmd, std::string& prefix) {
  cmd->add_option("--topic-prefix", prefix, "Topics read: those named PREFIX... (the servers' --kafka-topic-prefix)")
      ->type_name("PREFIX")
      ->capture_default_str();
}

Outcome db_failure(const Context& ctx, const std::string& url, const Status& s) {
  if (s.code() == ErrorCode::DbUnavailable) return cannot_connect(ctx, url, s.message());
  return Outcome::Failed(first_line(s.message()), "'resv db status' shows the database's schema level");
}

}  // namespace events_cmd
}  // namespace resv::cli
