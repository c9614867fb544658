#include "bench/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace resv {

// Values below 64 have a bucket each; above, the top kSubBits+1 bits of a
// value pick its bucket: the power of two (its highest bit) and which of
// the 64 slices of that power it is in.
int LatencyHistogram::index_of(int64_t v) {
  if (v < (1 << kSubBits)) return static_cast<int>(std::max<int64_t>(v, 0));
  const int high = 63 - std::countl_zero(static_cast<uint64_t>(v));  // >= kSubBits
  const int shift = high - kSubBits;
  const int sub = static_cast<int>((v >> shift) & ((1 << kSubBits) - 1));
  return ((shift + 1) << kSubBits) + sub;
}

// The largest value of bucket `index`.
int64_t LatencyHistogram::upper_bound_of(int index) {
  if (index < (1 << kSubBits)) return index;
  const int shift = (index >> kSubBits) - 1;
  const int64_t sub = index & ((1 << kSubBits) - 1);
  return (((int64_t{1} << kSubBits) + sub + 1) << shift) - 1;
}

void LatencyHistogram::record(int64_t micros) {
  micros = std::max<int64_t>(micros, 0);
  ++counts_[index_of(micros)];
  ++count_;
  sum_ += micros;
  min_ = std::min(min_, micros);
  max_ = std::max(max_, micros);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

int64_t LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<int64_t>(std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(count_)));
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= std::max<int64_t>(rank, 1)) return std::clamp(upper_bound_of(i), min(), max_);
  }
  return max_;
}

}  // namespace resv
