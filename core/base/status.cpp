#include "base/status.h"

#include <array>

namespace resv {
namespace {
struct Named {
  ErrorCode code;
  std::string_view name;
};
constexpr std::array kNames{
    Named{ErrorCode::Ok, "OK"},
    Named{ErrorCode::InvalidRequest, "INVALID_REQUEST"},
    Named{ErrorCode::NotFound, "NOT_FOUND"},
    Named{ErrorCode::MethodNotAllowed, "METHOD_NOT_ALLOWED"},
    Named{ErrorCode::PayloadTooLarge, "PAYLOAD_TOO_LARGE"},
    Named{ErrorCode::Unauthorized, "UNAUTHORIZED"},
    Named{ErrorCode::SeatTaken, "SEAT_TAKEN"},
    Named{ErrorCode::SoldOut, "SOLD_OUT"},
    Named{ErrorCode::DuplicateRequest, "DUPLICATE_REQUEST"},
    Named{ErrorCode::IdempotencyKeyReused, "IDEMPOTENCY_KEY_REUSED"},
    Named{ErrorCode::HoldExpired, "HOLD_EXPIRED"},
    Named{ErrorCode::ReservationCancelled, "RESERVATION_CANCELLED"},
    Named{ErrorCode::LimitExceeded, "LIMIT_EXCEEDED"},
    Named{ErrorCode::InsufficientBalance, "INSUFFICIENT_BALANCE"},
    Named{ErrorCode::QueueTokenInvalid, "QUEUE_TOKEN_INVALID"},
    Named{ErrorCode::QueueTokenNotActive, "QUEUE_TOKEN_NOT_ACTIVE"},
    Named{ErrorCode::Overloaded, "OVERLOADED"},
    Named{ErrorCode::Busy, "BUSY"},
    Named{ErrorCode::Conflict, "CONFLICT"},
    Named{ErrorCode::Cancelled, "CANCELLED"},
    Named{ErrorCode::DbUnavailable, "DB_UNAVAILABLE"},
    Named{ErrorCode::BrokerUnavailable, "BROKER_UNAVAILABLE"},
    Named{ErrorCode::Internal, "INTERNAL"},
};
}  // namespace

std::string_view code_name(ErrorCode code) {
  for (const auto& n : kNames)
    if (n.code == code) return n.name;
  return "INTERNAL";
}

std::optional<ErrorCode> code_from_name(std::string_view name) {
  for (const auto& n : kNames)
    if (n.name == name) return n.code;
  return std::nullopt;
}

}  // namespace resv
