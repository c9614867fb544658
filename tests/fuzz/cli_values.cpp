// Fuzz target: the CLI's option values. The first byte picks the parser,
// the rest is the value as typed: durations (cli/output.h), the --rate,
// --max-active and settings patch of `resv queue` (cli/queue_args.h), admin
// URLs (cli/servers.h) and bench --threshold expressions
// (core/bench/thresholds.h).
// Beyond "no crash": what a parser accepts is in the range its contract
// names.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "bench/thresholds.h"
#include "cli/output.h"
#include "cli/outcome.h"
#include "cli/queue_args.h"
#include "cli/servers.h"

using namespace resv;
using namespace resv::cli;

namespace {

[[noreturn]] void fail(const char* what, std::string_view text) {
  std::fprintf(stderr, "%s: '%.*s'\n", what, static_cast<int>(text.size()), text.data());
  std::abort();
}

void durations(std::string_view text) {
  if (auto s = parse_duration_seconds(text); s && (*s <= 0 || *s > INT32_MAX))
    fail("parse_duration_seconds out of range", text);
  if (auto ms = parse_duration_ms(text); ms && (*ms < 0 || *ms > 86400000)) fail("parse_duration_ms out of range", text);
  auto flag = duration_flag(std::string(text), "--token-ttl");
  if (flag.ok() && flag.value() && *flag.value() <= 0) fail("duration_flag accepted a non-positive duration", text);
  (void)human_duration(static_cast<double>(text.size()) * 1234.5);
}

void queue_values(std::string_view text) {
  if (auto r = parse_rate(text); r && !r->is_null()) {
    double v = r->get<double>();
    if (!std::isfinite(v) || v < kMinRatePerSecond || v > kMaxRatePerSecond) fail("parse_rate out of range", text);
  }
  if (auto m = parse_max_active(text); m && !m->is_null()) {
    int64_t v = m->get<int64_t>();
    if (v <= 0 || v > INT32_MAX) fail("parse_max_active out of range", text);
  }
  // The same text for every option of the patch, and split at '|' into
  // options one by one.
  QueueSettingsArgs all{std::string(text), std::string(text), std::string(text), std::string(text), std::string(text)};
  if (auto p = queue_settings_patch(all); p.ok()) (void)p.value().dump();
  QueueSettingsArgs one;
  std::optional<std::string>* fields[] = {&one.max_active, &one.rate, &one.token_ttl, &one.abandon_after,
                                          &one.opens_at};
  size_t i = 0;
  for (std::string_view rest = text; i < 5; ++i) {
    auto bar = rest.find('|');
    *fields[i] = std::string(rest.substr(0, bar));
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 1);
  }
  if (auto p = queue_settings_patch(one); p.ok()) (void)p.value().dump();
}

void urls(std::string_view text) {
  auto u = parse_http_url(std::string(text));
  if (!u) return;
  if (u->second <= 0 || u->second > 65535) fail("parse_http_url port out of range", text);
  // The port is the one written: the digits after the host, up to a '/'.
  std::string_view rest = text.substr(std::string_view("http://").size());
  rest = rest.substr(0, rest.find('/'));
  std::string_view port = rest.substr(rest.rfind(':') + 1);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos)
    fail("parse_http_url read a port that is not digits", text);
  port.remove_prefix(std::min(port.find_first_not_of('0'), port.size()));
  if (port != std::to_string(u->second)) fail("parse_http_url read another port than the one written", text);
}

void thresholds(std::string_view text) {
  auto t = parse_threshold(std::string(text));
  if (!t.ok()) return;
  if (!std::isfinite(t->value) || t->value < 0) fail("parse_threshold accepted a value that is no finite number >= 0", text);
  RunTotals totals{.requests = 100, .successes = 90, .rejections = 9, .system_errors = 1, .seconds = 2.5,
                   .min_us = 100, .p50_us = 2000, .p90_us = 9000, .p95_us = 12000, .p99_us = 20000, .max_us = 90000};
  (void)threshold_holds(t.value(), totals);
  (void)threshold_holds(t.value(), RunTotals{});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 4) {
      case 0: durations(text); break;
      case 1: queue_values(text); break;
      case 2: urls(text); break;
      case 3: thresholds(text); break;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "threw: %s\n", e.what());
    std::abort();
  }
  return 0;
}
