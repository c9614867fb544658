#pragma once
// Shared by the files of `resv events` (one per verb); only they, and resv
// bench's slow consumer, include it.
#include <CLI/CLI.hpp>
#include <chrono>
#include <string>

#include "cli/context.h"
#include "events/kafka.h"

namespace resv::cli::events_cmd {

void add_status(CLI::App& events, Context& ctx);
void add_lag(CLI::App& events, Context& ctx);
void add_tail(CLI::App& events, Context& ctx);
void add_replay(CLI::App& events, Context& ctx);

// How long a broker may take to answer before it counts as unreachable.
inline constexpr std::chrono::seconds kBrokerTimeout{5};

// The brokers to read: --kafka-brokers, RESV_KAFKA_BROKERS, the config file,
// else the embedded broker; Unreachable when none is configured or running.
Expected<KafkaOptions> kafka_options(const Context& ctx);
// "127.0.0.1:42513 (embedded)" or the configured list.
std::string broker_label(const Context& ctx, const std::string& brokers);
// Adds --topic-prefix (the servers' --kafka-topic-prefix), bound to `prefix`.
void add_topic_prefix(CLI::App* cmd, std::string& prefix);
// What the operator reads when the database fails a command.
Outcome db_failure(const Context& ctx, const std::string& url, const Status& s);

}  // namespace resv::cli::events_cmd
