#pragma once
// Instants as the API, the events and the operator commands write them.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace resv {

using SysTime = std::chrono::system_clock::time_point;

// "2026-11-21T14:02:20.036Z": UTC, milliseconds truncated.
std::string iso_utc(SysTime t);
// The instant iso_utc() wrote ("...T14:02:20.036Z"; the fraction may be
// absent); nullopt for any other text.
std::optional<SysTime> parse_iso_utc(std::string_view text);

}  // namespace resv
