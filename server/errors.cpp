#include "server/errors.h"

#include "server/converters.h"

namespace resv {

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::Ok: return 200;
    case ErrorCode::InvalidRequest: return 400;
    case ErrorCode::Unauthorized: return 401;
    case ErrorCode::QueueTokenInvalid: return 401;
    case ErrorCode::InsufficientBalance: return 402;
    case ErrorCode::QueueTokenNotActive: return 403;
    case ErrorCode::NotFound: return 404;
    case ErrorCode::MethodNotAllowed: return 405;
    case ErrorCode::SeatTaken:
    case ErrorCode::SoldOut:
    case ErrorCode::DuplicateRequest:
    case ErrorCode::HoldExpired:
    case ErrorCode::ReservationCancelled:
    case ErrorCode::LimitExceeded:
    case ErrorCode::Conflict: return 409;
    case ErrorCode::PayloadTooLarge: return 413;
    case ErrorCode::IdempotencyKeyReused: return 422;
    case ErrorCode::Overloaded:
    case ErrorCode::Busy:
    case ErrorCode::Cancelled:
    case ErrorCode::DbUnavailable:
    case ErrorCode::BrokerUnavailable: return 503;
    case ErrorCode::Internal: return 500;
  }
  return 500;
}

HttpResponse error_response(const Status& status) {
  HttpResponse r;
  r.status = http_status(status.code());
  r.body = error_json(status);
  if (r.status == 503 || r.status == 429) r.headers.emplace_back("Retry-After", "1");
  // A 401 names the credentials it wants (RFC 9110, 11.6.1): the admin
  // token, or a waiting-room token in the Queue-Token header.
  if (status.code() == ErrorCode::Unauthorized) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"resv-admin\"");
  if (status.code() == ErrorCode::QueueTokenInvalid)
    r.headers.emplace_back("WWW-Authenticate", "QueueToken realm=\"resv\"");
  return r;
}

}  // namespace resv
