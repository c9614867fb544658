#pragma once
// The last minute of a listener's answers, for `resv doctor`: how many, how
// many 503 and 5xx, and the 95th percentile of their latency. Prometheus
// counters are totals since start; a doctor asked once needs a rate now,
// so the server keeps 60 one-second slots and sums those of the last 60 s.
//
// record() is lock-free (one slot's atomics). A slot is reset by the first
// request of its new second; an increment racing with that reset may be
// lost, which an estimate for a human can afford.
#include <array>
#include <atomic>
#include <cstdint>
#include <optional>

namespace resv {

struct RecentSummary {
  int64_t requests = 0;
  int64_t status_503 = 0;
  int64_t status_5xx = 0;  // 503 included
  // The upper bound of the latency bucket (latency_buckets()) that holds
  // the 95th percentile, in seconds (the last bound, 10 s, when it is past
  // it); none without requests.
  std::optional<double> p95_s;
};

class RecentRequests {
 public:
  static constexpr int kSlots = 60;
  // `now_s`: seconds on a monotonic clock (the caller's, so tests can set it).
  void record(int status, double seconds, int64_t now_s);
  // The slots of (now_s - 60, now_s].
  RecentSummary summary(int64_t now_s) const;

 private:
  static constexpr int kBuckets = 15;  // latency_buckets() and +Inf
  struct Slot {
    std::atomic<int64_t> second{-1};
    std::atomic<int64_t> requests{0}, s503{0}, s5xx{0};
    std::array<std::atomic<int64_t>, kBuckets> latency{};
  };
  std::array<Slot, kSlots> slots_;
};

}  // namespace resv
