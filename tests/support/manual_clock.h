#pragma once
// A steady clock that moves only when a test moves it, for units that take
// their clock as a template parameter (BasicReadCache, BasicAvailabilityFilter):
// the test ages an entry by advancing the clock instead of sleeping.
// Header-only, for every test binary.
#include <atomic>
#include <chrono>

namespace resv::test {

struct ManualClock {
  using duration = std::chrono::steady_clock::duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<ManualClock>;
  static constexpr bool is_steady = true;

  static time_point now() { return time_point(duration(ticks_.load(std::memory_order_relaxed))); }
  static void advance(duration d) { ticks_.fetch_add(d.count(), std::memory_order_relaxed); }

 private:
  // One clock per test process: tests only compare times they read from it.
  inline static std::atomic<rep> ticks_{0};
};

}  // namespace resv::test
