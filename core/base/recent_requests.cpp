#include "base/recent_requests.h"

#include <algorithm>
#include <vector>

#include "base/metrics.h"

namespace resv {

namespace {
const std::vector<double>& bounds() {
  static const std::vector<double> b = latency_buckets();
  return b;
}
}  // namespace

void RecentRequests::record(int status, double seconds, int64_t now_s) {
  Slot& s = slots_[static_cast<size_t>(now_s % kSlots)];
  int64_t seen = s.second.load(std::memory_order_acquire);
  if (seen != now_s && s.second.compare_exchange_strong(seen, now_s)) {
    s.requests.store(0, std::memory_order_relaxed);
    s.s503.store(0, std::memory_order_relaxed);
    s.s5xx.store(0, std::memory_order_relaxed);
    for (auto& b : s.latency) b.store(0, std::memory_order_relaxed);
  }
  s.requests.fetch_add(1, std::memory_order_relaxed);
  if (status == 503) s.s503.fetch_add(1, std::memory_order_relaxed);
  if (status >= 500) s.s5xx.fetch_add(1, std::memory_order_relaxed);
  size_t i = 0;
  while (i + 1 < kBuckets && i < bounds().size() && seconds > bounds()[i]) ++i;
  s.latency[i].fetch_add(1, std::memory_order_relaxed);
}

RecentSummary RecentRequests::summary(int64_t now_s) const {
  RecentSummary r;
  std::array<int64_t, kBuckets> latency{};
  for (const Slot& s : slots_) {
    const int64_t second = s.second.load(std::memory_order_acquire);
    if (second <= now_s - kSlots || second > now_s) continue;
    r.requests += s.requests.load(std::memory_order_relaxed);
    r.status_503 += s.s503.load(std::memory_order_relaxed);
    r.status_5xx += s.s5xx.load(std::memory_order_relaxed);
    for (size_t i = 0; i < latency.size(); ++i) latency[i] += s.latency[i].load(std::memory_order_relaxed);
  }
  if (r.requests == 0) return r;
  // The smallest bucket whose cumulative count reaches 95 % of the requests.
  const int64_t want = (r.requests * 95 + 99) / 100;
  int64_t seen = 0;
  for (size_t i = 0; i < latency.size(); ++i) {
    seen += latency[i];
    if (seen >= want) {
      r.p95_s = bounds()[std::min(i, bounds().size() - 1)];
      break;
    }
  }
  return r;
}

}  // namespace resv
