#pragma once
// Latency histogram for resv bench: log-linear buckets (each power of two of
// microseconds split into 64), so any percentile it reports is within 1/64
// (1.6 %) above the true value, in constant memory whatever the number of
// samples. Not thread-safe: one per load thread, merged at the end.
#include <array>
#include <cstdint>

namespace resv {

class LatencyHistogram {
 public:
  void record(int64_t micros);
  void merge(const LatencyHistogram& other);

  int64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }  // exact, in microseconds
  int64_t max() const { return max_; }               // exact
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }
  // The smallest bucket bound with at least `p` % of the samples at or
  // below it (clamped to the exact max); 0 when empty.
  int64_t percentile(double p) const;

 private:
  static constexpr int kSubBits = 6;  // 64 sub-buckets per power of two
  static constexpr int kBuckets = (64 - kSubBits) << kSubBits;
  static int index_of(int64_t v);
  static int64_t upper_bound_of(int index);

  std::array<int64_t, kBuckets> counts_{};
  int64_t count_ = 0, sum_ = 0, min_ = INT64_MAX, max_ = 0;
};

}  // namespace resv
