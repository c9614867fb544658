#pragma once
// Instants as the API, the events and the operator commands write them.
#include <chrono>
#include <string>

namespace resv {

using SysTime = std::chrono::system_clock::time_point;

// "2026-11-21T14:02:20.036Z": UTC, milliseconds truncated.
std::string iso_utc(SysTime t);

}  // namespace resv
