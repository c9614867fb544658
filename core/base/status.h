#pragma once
// Expected failures as values. Every business outcome and every lost
// dependency is a Status; exceptions are for defects only.
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace resv {

enum class ErrorCode {
  Ok,
  InvalidRequest,        // malformed or out-of-range input
  NotFound,              // no such concert/schedule/seat/user/reservation/route
  MethodNotAllowed,
  PayloadTooLarge,
  Unauthorized,          // admin API without the right bearer token
  SeatTaken,             // a requested seat is held or sold
  SoldOut,               // a pool has fewer units left than requested
  DuplicateRequest,      // the same Idempotency-Key is in flight
  IdempotencyKeyReused,  // a key reused for a different request
  HoldExpired,
  ReservationCancelled,
  LimitExceeded,         // per-user limit
  InsufficientBalance,
  QueueTokenInvalid,
  QueueTokenNotActive,
  Conflict,              // the data's state refuses the operation (e.g. seeding over real data)
  Cancelled,             // interrupted before it finished; nothing was changed
  Overloaded,            // DB pool and its wait queue are full: retry later
  Busy,                  // a lock or statement timeout: retry
  DbUnavailable,         // the database could not be reached
  BrokerUnavailable,     // the Kafka brokers could not be reached
  Internal,              // a defect
};

// Stable wire name, e.g. "SEAT_TAKEN".
std::string_view code_name(ErrorCode code);
// Inverse of code_name; nullopt for unknown names.
std::optional<ErrorCode> code_from_name(std::string_view name);

class Status {
 public:
  Status() = default;
  static Status Ok() { return {}; }
  static Status Error(ErrorCode code, std::string message, std::string details_json = {}) {
    return Status(code, std::move(message), std::move(details_json));
  }
  static Status Invalid(std::string m) { return Error(ErrorCode::InvalidRequest, std::move(m)); }
  static Status NotFound(std::string m) { return Error(ErrorCode::NotFound, std::move(m)); }
  static Status SoldOut(std::string m, std::string d = {}) { return Error(ErrorCode::SoldOut, std::move(m), std::move(d)); }
  static Status SeatTaken(std::string m, std::string d = {}) { return Error(ErrorCode::SeatTaken, std::move(m), std::move(d)); }
  static Status Overloaded(std::string m) { return Error(ErrorCode::Overloaded, std::move(m)); }
  static Status DbUnavailable(std::string m) { return Error(ErrorCode::DbUnavailable, std::move(m)); }
  static Status BrokerUnavailable(std::string m) { return Error(ErrorCode::BrokerUnavailable, std::move(m)); }
  static Status Internal(std::string m) { return Error(ErrorCode::Internal, std::move(m)); }

  bool ok() const { return code_ == ErrorCode::Ok; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // Extra fields for the error object, as compact JSON object text (as
  // json::dump() writes it; "" when none), e.g. {"seatIds":[3,4]} for
  // SEAT_TAKEN. Keys other than "code" and "message".
  const std::string& details_json() const { return details_; }

 private:
  Status(ErrorCode c, std::string m, std::string d) : code_(c), message_(std::move(m)), details_(std::move(d)) {}
  ErrorCode code_ = ErrorCode::Ok;
  std::string message_;
  std::string details_;
};

// A value or the Status explaining why there is none.
template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT
  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace resv
