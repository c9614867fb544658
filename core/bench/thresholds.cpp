#include "bench/thresholds.h"

#include <cmath>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>

namespace resv {
namespace {

const std::array<const char*, 6> kLatencies{"min", "p50", "p90", "p95", "p99", "max"};
const std::array<const char*, 8> kOthers{"requests",       "successes",         "rejections", "system_errors",
                                         "success_rate",   "rejection_rate",    "system_error_rate", "rps"};

bool is_latency(const std::string& m) { return std::find(kLatencies.begin(), kLatencies.end(), m) != kLatencies.end(); }
bool is_other(const std::string& m) { return std::find(kOthers.begin(), kOthers.end(), m) != kOthers.end(); }

double ratio(int64_t part, int64_t whole) { return whole ? static_cast<double>(part) / static_cast<double>(whole) : 0; }

}  // namespace

Result<Threshold> parse_threshold(const std::string& text) {
  std::string s;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) s += c;
  const auto op_at = s.find_first_of("<>=");
  const std::string example = " (e.g. 'p95<20ms', 'system_errors==0', 'rejection_rate<0.99')";
  if (op_at == std::string::npos || op_at == 0)
    return Status::Invalid("threshold '" + text + "' is not METRIC OP VALUE" + example);
  Threshold t;
  t.text = text;
  t.metric = s.substr(0, op_at);
  size_t value_at = op_at + 1;
  if (value_at < s.size() && s[value_at] == '=') ++value_at;
  t.op = s.substr(op_at, value_at - op_at);
  if (t.op == "=") return Status::Invalid("threshold '" + text + "': the operator is ==, not =");
  if (!is_latency(t.metric) && !is_other(t.metric))
    return Status::Invalid("threshold '" + text + "': unknown metric '" + t.metric +
                           "' (min p50 p90 p95 p99 max requests successes rejections system_errors success_rate "
                           "rejection_rate system_error_rate rps)");
  const std::string value = s.substr(value_at);
  char* end = nullptr;
  t.value = std::strtod(value.c_str(), &end);
  // strtod reads "nan" and "inf" too: a threshold of them never holds.
  if (value.empty() || end == value.c_str() || !std::isfinite(t.value) || t.value < 0)
    return Status::Invalid("threshold '" + text + "': '" + value + "' is not a number" + example);
  const std::string unit(end);
  if (is_latency(t.metric)) {
    if (unit == "us")
      ;
    else if (unit == "ms")
      t.value *= 1e3;
    else if (unit == "s")
      t.value *= 1e6;
    else
      return Status::Invalid("threshold '" + text + "': a latency needs a unit, us, ms or s ('" + t.metric + "<20ms')");
  } else if (!unit.empty()) {
    return Status::Invalid("threshold '" + text + "': " + t.metric + " takes a plain number, not '" + unit + "'");
  }
  return t;
}

double threshold_metric(const RunTotals& r, const std::string& m) {
  if (m == "min") return static_cast<double>(r.min_us);
  if (m == "p50") return static_cast<double>(r.p50_us);
  if (m == "p90") return static_cast<double>(r.p90_us);
  if (m == "p95") return static_cast<double>(r.p95_us);
  if (m == "p99") return static_cast<double>(r.p99_us);
  if (m == "max") return static_cast<double>(r.max_us);
  if (m == "requests") return static_cast<double>(r.requests);
  if (m == "successes") return static_cast<double>(r.successes);
  if (m == "rejections") return static_cast<double>(r.rejections);
  if (m == "system_errors") return static_cast<double>(r.system_errors);
  if (m == "success_rate") return ratio(r.successes, r.requests);
  if (m == "rejection_rate") return ratio(r.rejections, r.requests);
  if (m == "system_error_rate") return ratio(r.system_errors, r.requests);
  if (m == "rps") return r.seconds > 0 ? static_cast<double>(r.requests) / r.seconds : 0;
  return 0;
}

bool threshold_holds(const Threshold& t, const RunTotals& totals) {
  const double v = threshold_metric(totals, t.metric);
  if (t.op == "<") return v < t.value;
  if (t.op == "<=") return v <= t.value;
  if (t.op == ">") return v > t.value;
  if (t.op == ">=") return v >= t.value;
  return v == t.value;
}

}  // namespace resv
