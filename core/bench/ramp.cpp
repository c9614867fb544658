#include "bench/ramp.h"

#include <cmath>
#include <cstdlib>

namespace resv {

Result<Ramp> Ramp::parse(const std::string& text, double start_rate) {
  Ramp r;
  r.start_ = start_rate;
  size_t at = 0;
  while (at <= text.size()) {
    size_t comma = text.find(',', at);
    if (comma == std::string::npos) comma = text.size();
    const std::string stage = text.substr(at, comma - at);
    at = comma + 1;
    const auto colon = stage.find(':');
    const std::string bad = "--ramp stage '" + stage + "' is not DURATION:RATE (e.g. '30s:1000'; durations in s or m)";
    if (colon == std::string::npos) return Status::Invalid(bad);
    char* end = nullptr;
    const std::string d = stage.substr(0, colon), rate = stage.substr(colon + 1);
    double seconds = std::strtod(d.c_str(), &end);
    const std::string unit(end);
    if (end == d.c_str() || seconds <= 0 || !(unit.empty() || unit == "s" || unit == "m")) return Status::Invalid(bad);
    if (unit == "m") seconds *= 60;
    const double target = std::strtod(rate.c_str(), &end);
    if (end == rate.c_str() || *end != '\0' || target < 0) return Status::Invalid(bad);
    r.stages_.push_back({seconds, target});
  }
  return r;
}

double Ramp::seconds() const {
  double s = 0;
  for (const auto& st : stages_) s += st.seconds;
  return s;
}

// Within a stage the rate is a + b t, so the requests due by t are
// a t + b t^2 / 2: the index's time solves that quadratic.
double Ramp::due(double index) const {
  double t0 = 0, count = 0, rate = start_;
  for (const auto& st : stages_) {
    const double a = rate, b = (st.target - rate) / st.seconds;
    const double in_stage = a * st.seconds + b * st.seconds * st.seconds / 2;
    if (index < count + in_stage) {
      const double n = index - count;
      const double tau = std::abs(b) < 1e-12 ? n / a : (-a + std::sqrt(std::max(0.0, a * a + 2 * b * n))) / b;
      return t0 + tau;
    }
    count += in_stage;
    t0 += st.seconds;
    rate = st.target;
  }
  return -1;
}

}  // namespace resv
