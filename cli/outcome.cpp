#include "cli/outcome.h"

#include "cli/output.h"

namespace resv::cli {

Outcome Outcome::From(const Status& s, std::string hint) {
  switch (s.code()) {
    case ErrorCode::Ok:
      return Ok();
    case ErrorCode::DbUnavailable:
      return Unreachable(s.message(), hint.empty() ? "check the database URL (resv config show) and that the database "
                                                      "is running (resv db status)"
                                                    : std::move(hint));
    case ErrorCode::BrokerUnavailable:
      return Unreachable(s.message(), hint.empty() ? "check the brokers (resv config show) and that they run" : std::move(hint));
    case ErrorCode::InvalidRequest:
      return Usage(s.message(), std::move(hint));
    default:
      return Failed(s.message(), std::move(hint));
  }
}

std::string Outcome::message() const {
  if (what_.empty()) return {};
  std::string m = "resv: error: " + what_;
  if (!hint_.empty()) m += " (hint: " + hint_ + ")";
  return m;
}

Expected<std::optional<int64_t>> duration_flag(const std::string& value, const char* flag) {
  if (value.empty()) return std::optional<int64_t>();
  auto v = parse_duration_seconds(value);
  if (!v)
    return Outcome::Usage(std::string(flag) + " '" + value + "' is not a positive duration",
                          "give seconds, or a number with s, m or h: 90, 90s, 10m, 1h");
  return std::optional<int64_t>(*v);
}

}  // namespace resv::cli
