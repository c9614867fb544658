#include "cli/queue_args.h"

#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace resv::cli {

namespace {

// Digits only (no sign, no space), as an int64; nullopt otherwise or on overflow.
std::optional<int64_t> digits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s[0] == '-' || s[0] == '+') return std::nullopt;
  return v;
}

}  // namespace

std::optional<nlohmann::json> parse_max_active(std::string_view text) {
  if (text == "none") return nlohmann::json(nullptr);
  auto n = digits(text);
  if (!n || *n <= 0 || *n > INT_MAX) return std::nullopt;
  return nlohmann::json(*n);
}

std::optional<nlohmann::json> parse_rate(std::string_view text) {
  if (text == "none") return nlohmann::json(nullptr);
  if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '.')) return std::nullopt;
  std::string s(text);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v) || v < kMinRatePerSecond || v > kMaxRatePerSecond)
    return std::nullopt;
  return nlohmann::json(v);
}

Expected<nlohmann::json> queue_settings_patch(const QueueSettingsArgs& a) {
  nlohmann::json patch = nlohmann::json::object();
  if (a.max_active) {
    auto v = parse_max_active(*a.max_active);
    if (!v)
      return Outcome::Usage("--max-active '" + *a.max_active + "' is not a positive whole number or 'none'",
                            "e.g. --max-active 500, or --max-active none to limit by --rate alone");
    patch["maxActive"] = *v;
  }
  if (a.rate) {
    auto v = parse_rate(*a.rate);
    if (!v)
      return Outcome::Usage("--rate '" + *a.rate + "' is not a number of admissions per second from 0.001 to " +
                                "100000, or 'none'",
                            "e.g. --rate 50 or --rate 0.5, or --rate none to limit by --max-active alone");
    patch["ratePerSecond"] = *v;
  }
  const std::pair<const std::optional<std::string>*, std::pair<const char*, const char*>> durations[] = {
      {&a.token_ttl, {"--token-ttl", "tokenTtlSeconds"}}, {&a.abandon_after, {"--abandon-after", "abandonAfterSeconds"}}};
  for (const auto& [value, names] : durations) {
    if (!*value) continue;
    auto v = duration_flag(**value, names.first);
    if (!v.ok()) return v.outcome();
    if (!v.value())  // given, but empty
      return Outcome::Usage(std::string(names.first) + " is empty", "give seconds, or a number with s, m or h: 90s, 10m");
    patch[names.second] = *v.value();
  }
  if (a.opens_at) {
    if (a.opens_at->empty())
      return Outcome::Usage("--opens-at is empty", "give an ISO 8601 time, e.g. 2026-05-01T10:00:00+02:00, or 'none'");
    // A time is printable ASCII; anything else (bytes that are no UTF-8)
    // would make a patch that cannot be sent as JSON.
    for (unsigned char c : *a.opens_at)
      if (c < 0x20 || c > 0x7e)
        return Outcome::Usage("--opens-at holds a character that is no part of a time",
                              "give an ISO 8601 time, e.g. 2026-05-01T10:00:00+02:00, or 'none'");
    patch["opensAt"] = *a.opens_at == "none" ? nlohmann::json(nullptr) : nlohmann::json(*a.opens_at);
  }
  return patch;
}

std::string per_second(int64_t per_minute) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(per_minute) / 60.0);
  return buf;
}

std::string describe_change(const nlohmann::json& old_values, const nlohmann::json& new_values) {
  auto pairs = [](const nlohmann::json& j) {
    std::string out;
    if (!j.is_object()) return out;
    for (const auto& [k, v] : j.items()) out += (out.empty() ? "" : " ") + k + "=" + v.dump();
    return out;
  };
  std::string before = pairs(old_values), after = pairs(new_values);
  if (before.empty() && after.empty()) return "no change";
  return (before.empty() ? "(none)" : before) + " -> " + (after.empty() ? "(none)" : after);
}

std::string short_time(const nlohmann::json& ts) {
  if (!ts.is_string()) return "-";
  std::string s = ts.get<std::string>();
  auto dot = s.find('.');
  if (dot != std::string::npos && !s.empty() && s.back() == 'Z') s = s.substr(0, dot) + "Z";
  return s;
}

}  // namespace resv::cli
