#pragma once
// Pure helpers of `resv queue` (commands/queue.cpp): its option values, and
// the figures it derives from resv_queue_status() objects. No database, no
// output: tests/unit/cli_queue_args_test.cpp tests them.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "cli/outcome.h"

namespace resv::cli {

// "90", "90s", "10m", "1h" -> seconds. nullopt for anything else: empty,
// signs, fractions, spaces, other units, zero, more than INT32_MAX seconds
// (the columns are int).
std::optional<int64_t> parse_duration_seconds(std::string_view text);

// --max-active: a positive integer up to INT32_MAX, or "none" (JSON null:
// no limit by count). nullopt when it is neither.
std::optional<nlohmann::json> parse_max_active(std::string_view text);

// --rate: a positive finite decimal (admissions per second), or "none"
// (JSON null: no limit by rate). nullopt when it is neither.
std::optional<nlohmann::json> parse_rate(std::string_view text);

// The settings options of `resv queue enable` and `set`, as typed.
struct QueueSettingsArgs {
  std::optional<std::string> max_active, rate, token_ttl, abandon_after, opens_at;
  bool empty() const { return !max_active && !rate && !token_ttl && !abandon_after && !opens_at; }
};

// The resv_queue_configure() keys for the options given (maxActive,
// ratePerSecond, tokenTtlSeconds, abandonAfterSeconds, opensAt; "none" as
// JSON null), or Usage naming the option whose value is wrong. --opens-at is
// passed as typed (PostgreSQL parses it); only "none" is translated.
Expected<nlohmann::json> queue_settings_patch(const QueueSettingsArgs& args);

// No admission for this long, with people waiting, makes a running queue
// "stuck" when --fail-if-stuck does not say otherwise.
inline constexpr int kDefaultStuckSeconds = 60;

// Stuck: enabled, not paused, someone waiting who could be admitted (not the
// pre-queue while opensAt is still ahead of "now"), and nothing admitted ever
// (lastAdmitAt null) or for more than `threshold_s` (secondsSinceLastAdmit).
bool queue_stuck(const nlohmann::json& status, double threshold_s);

// Seconds until the last one waiting is admitted at the rate of the last
// minute: waiting / (admittedLastMinute / 60). 0 when nobody waits; nullopt
// (unknown) when paused, disabled, or nobody was admitted in the last minute.
std::optional<double> eta_last_seconds(const nlohmann::json& status);

// A count per minute as a rate per second, two decimals: 90 -> "1.50".
std::string per_second(int64_t per_minute);

// An audit line's change: {"paused":false}, {"paused":true} ->
// "paused=false -> paused=true"; an empty side is "(none)"; "no change"
// when both are empty.
std::string describe_change(const nlohmann::json& old_values, const nlohmann::json& new_values);

// "2026-05-01T12:00:00.123Z" (resv_ts) -> "2026-05-01T12:00:00Z"; "-" for null.
std::string short_time(const nlohmann::json& ts);

}  // namespace resv::cli
