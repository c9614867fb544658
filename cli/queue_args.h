#pragma once
// Pure helpers of `resv queue` (commands/queue/): its option values, and the
// text forms of its figures. No database, no output: they are tested in
// tests/unit/cli_queue_args_test.cpp. The waiting room's own rules (stuck,
// ETA) are in core/queue/admin.h.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "cli/outcome.h"
#include "cli/output.h"  // parse_duration_seconds

namespace resv::cli {

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

// The admission rates a waiting room can keep (resv_queue_configure refuses
// others too): a slower one admits nobody for hours, a faster one is no
// waiting room, and its credit arithmetic would overflow.
inline constexpr double kMinRatePerSecond = 0.001;
inline constexpr double kMaxRatePerSecond = 100000;

// The resv_queue_configure() keys for the options given (maxActive,
// ratePerSecond, tokenTtlSeconds, abandonAfterSeconds, opensAt; "none" as
// JSON null), or Usage naming the option whose value is wrong. --opens-at is
// passed as typed (PostgreSQL parses it); only "none" is translated.
Expected<nlohmann::json> queue_settings_patch(const QueueSettingsArgs& args);

// A count per minute as a rate per second, two decimals: 90 -> "1.50".
std::string per_second(int64_t per_minute);

// An audit line's change: {"paused":false}, {"paused":true} ->
// "paused=false -> paused=true"; an empty side is "(none)"; "no change"
// when both are empty.
std::string describe_change(const nlohmann::json& old_values, const nlohmann::json& new_values);

// "2026-05-01T12:00:00.123Z" (resv_ts) -> "2026-05-01T12:00:00Z"; "-" for null.
std::string short_time(const nlohmann::json& ts);

}  // namespace resv::cli
