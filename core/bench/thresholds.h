#pragma once
// resv bench --threshold: a small expression set over a run's summary,
// "METRIC OP VALUE" with OP one of < <= > >= ==:
//   latency (totals of every step): min p50 p90 p95 p99 max, VALUE with a
//     unit: us, ms or s ("p95<20ms", "max<=1.5s")
//   counts: requests, successes, rejections, system_errors
//   rates (0..1): success_rate, rejection_rate, system_error_rate
//   throughput: rps (requests per second)
// Parsing is pure and names what is wrong; evaluating is pure too.
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace resv {

struct Threshold {
  std::string text;    // as given, for the report
  std::string metric;  // "p95", "system_errors", ...
  std::string op;      // "<", "<=", ">", ">=", "=="
  double value = 0;    // latencies in microseconds
};

// InvalidRequest naming the unknown metric, operator, number or unit.
Result<Threshold> parse_threshold(const std::string& text);

// What a threshold is checked against.
struct RunTotals {
  int64_t requests = 0, successes = 0, rejections = 0, system_errors = 0;
  double seconds = 0;
  int64_t min_us = 0, p50_us = 0, p90_us = 0, p95_us = 0, p99_us = 0, max_us = 0;
};

// The metric's value in `totals` (latencies in microseconds).
double threshold_metric(const RunTotals& totals, const std::string& metric);
bool threshold_holds(const Threshold& t, const RunTotals& totals);

}  // namespace resv
