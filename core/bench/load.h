#pragma once
// The load generator of resv bench: HTTP/1.1 keep-alive connections on
// Boost.Beast, spread over --threads event loops, each connection driven by a
// script of its own (what to send next, seeing the previous answer).
//
// Closed loop: each connection sends its next request when the previous one
// is answered; a latency runs from sending to the whole answer. Open loop
// (rate > 0): request i of the run is due at start + i / rate, and its
// latency runs from when it was due, so a server that stalls cannot hide
// the stall by holding the connections (coordinated omission, corrected as
// wrk2 does); with a ramp, at rates that change by stages. Answers are counted per step as success (2xx), business
// rejection by the error code of the body (4xx) or system error (5xx by
// code, connection errors, timeouts).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/histogram.h"
#include "bench/ramp.h"

namespace resv {

struct BenchRequest {
  std::string step;    // the summary's row: "hold", "seat map", ...
  std::string method;  // "GET" or "POST"
  std::string target;
  std::string body;    // JSON; "" for none
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds wait{0};  // before sending (a buyer polling its place in the queue)
};

// The answer a script sees: status 0 when there was none (connection
// error, timeout).
struct BenchAnswer {
  int status = 0;
  std::string_view body;
};

// What one connection does. next() gets the previous answer (null before the
// first request) and returns the next request, or nullopt when this
// connection is done. Called on the connection's thread only.
class ConnectionScript {
 public:
  virtual ~ConnectionScript() = default;
  virtual std::optional<BenchRequest> next(const BenchAnswer* previous) = 0;
};
// Called once per connection (0, 1, 2, ...), from the load threads at once.
using ScriptFactory = std::function<std::unique_ptr<ConnectionScript>(int connection)>;

struct LoadOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  int connections = 32;
  int threads = 1;
  int64_t requests = 0;    // in all; 0: until the duration ends or every script is done
  double duration_s = 0;   // 0: until the requests are sent or every script is done
  double rate = 0;         // requests per second in all; 0: closed loop
  std::chrono::milliseconds timeout{10000};  // per request
  bool trace = false;  // LoadResult::trace: one line per answer
  const Ramp* ramp = nullptr;  // open loop in stages (then `rate` is where it starts)
};

struct StepStats {
  LatencyHistogram latency;
  int64_t requests = 0, successes = 0;
  std::map<std::string, int64_t> rejections;     // by error code ("SOLD_OUT"; "HTTP 404" without one)
  std::map<std::string, int64_t> system_errors;  // "HTTP 503 OVERLOADED", "connection", "timeout"
  int64_t rejected() const;
  int64_t failed() const;
  void merge(const StepStats& other);
};

struct LoadResult {
  std::map<std::string, StepStats> steps;
  double seconds = 0;
  int64_t late = 0;  // open loop: requests sent more than 1 ms after they were due
  // With LoadOptions::trace, per answer in the order of their due times:
  // "DUE_MS SENT_MS LATENCY_MS STATUS CODE METHOD TARGET STEP" (times from
  // started_at; STATUS 0 and CODE "timeout" or "connection" when there was no
  // answer; CODE "-" when the body has none).
  std::vector<std::string> trace;
  std::chrono::system_clock::time_point started_at;
};

// Answers so far, for a progress line (read from another thread).
struct LoadProgress {
  std::atomic<int64_t> answered{0}, failed{0};
};

// Runs the load to its end (requests, duration, or every script done) and
// waits for the answers in flight.
LoadResult run_load(const LoadOptions& options, const ScriptFactory& scripts, LoadProgress* progress = nullptr);

// The "code" of an error body ({"error":{"code":"SOLD_OUT",...}}), "" when none.
std::string error_code_of(std::string_view body);

}  // namespace resv
