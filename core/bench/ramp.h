#pragma once
// resv bench --ramp: open-loop arrival-rate stages, as k6's ramping arrival
// rate: "10s:100,30s:1000,10s:0" goes from the starting rate to 100/s over
// 10 s, on to 1,000/s over 30 s, down to 0 over 10 s, linearly within each.
// Pure: parsing, and when the run's i-th request is due.
#include <string>
#include <vector>

#include "base/status.h"

namespace resv {

struct RampStage {
  double seconds = 0;
  double target = 0;  // requests per second at the stage's end
};

class Ramp {
 public:
  // InvalidRequest naming the stage that is not DURATION:RATE.
  static Result<Ramp> parse(const std::string& text, double start_rate);

  double seconds() const;  // of all stages
  // When request `index` (0, 1, ...) is due, in seconds from the start;
  // negative when the stages end before it.
  double due(double index) const;

 private:
  double start_ = 0;
  std::vector<RampStage> stages_;
};

}  // namespace resv
