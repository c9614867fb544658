#pragma once
// What a command ends with. Expected failures are values; main() turns an
// Outcome into the message on stderr and the exit code, in one place.
//
// Exit codes (DESIGN.md, documented in resv(1)):
//   0 success, 1 failed, 2 usage error, 3 a dependency (server, database,
//   broker) could not be reached, 4 a check ran and found a problem.
#include <optional>
#include <string>

#include "base/status.h"

namespace resv::cli {

enum class Exit : int { Ok = 0, Failed = 1, Usage = 2, Unreachable = 3, Problem = 4 };

class Outcome {
 public:
  Outcome() = default;
  static Outcome Ok() { return {}; }
  // `what` says what happened, `hint` what to do about it.
  static Outcome Failed(std::string what, std::string hint = {}) { return {Exit::Failed, std::move(what), std::move(hint)}; }
  static Outcome Usage(std::string what, std::string hint = {}) { return {Exit::Usage, std::move(what), std::move(hint)}; }
  static Outcome Unreachable(std::string what, std::string hint = {}) {
    return {Exit::Unreachable, std::move(what), std::move(hint)};
  }
  // A check found a problem; the command has already printed what it found,
  // so `what` may be empty.
  static Outcome Problem(std::string what = {}, std::string hint = {}) {
    return {Exit::Problem, std::move(what), std::move(hint)};
  }
  // A core Status: DbUnavailable is Unreachable, InvalidRequest is Usage,
  // anything else Failed.
  static Outcome From(const Status& s, std::string hint = {});

  bool ok() const { return exit_ == Exit::Ok; }
  Exit exit() const { return exit_; }
  int code() const { return static_cast<int>(exit_); }
  const std::string& what() const { return what_; }
  const std::string& hint() const { return hint_; }
  // "resv: error: <what> (hint: <hint>)", or "" when there is nothing to say.
  std::string message() const;

 private:
  Outcome(Exit e, std::string what, std::string hint) : exit_(e), what_(std::move(what)), hint_(std::move(hint)) {}
  Exit exit_ = Exit::Ok;
  std::string what_;
  std::string hint_;
};

// A value, or the Outcome explaining why there is none.
template <class T>
class Expected {
 public:
  Expected(T v) : value_(std::move(v)) {}  // NOLINT: implicit by design
  Expected(Outcome o) : outcome_(std::move(o)) {}  // NOLINT
  bool ok() const { return value_.has_value(); }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }
  const Outcome& outcome() const { return outcome_; }

 private:
  std::optional<T> value_;
  Outcome outcome_;
};

// A duration option's seconds ("90", "90s", "10m", "1h"): nullopt when
// `value` is empty (not given), Usage naming `flag` when it is not a
// positive duration.
Expected<std::optional<int64_t>> duration_flag(const std::string& value, const char* flag);

}  // namespace resv::cli
