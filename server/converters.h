#pragma once
// JSON <-> domain converters for the public API. Pure functions, unit-tested
// without sockets. Parsers return InvalidRequest with a message that names
// the offending field.
#include <chrono>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"
#include "booking/domain.h"
#include "queue/issuer.h"
#include "queue/view.h"

namespace resv {

using ReservationRequest = std::variant<HoldSeatsRequest, HoldPoolRequest>;

// {"userId","scheduleId","seatIds":[..]} or {"userId","scheduleId","poolId","quantity"}.
Result<ReservationRequest> parse_reservation(std::string_view body);
// {"userId": N}
Result<int64_t> parse_user_id_body(std::string_view body);
// {"amount": N}
Result<int64_t> parse_amount_body(std::string_view body);
// A positive decimal id from a path segment or query value.
Result<int64_t> parse_id(std::string_view text, std::string_view what);
// Identifies a request for Idempotency-Key reuse checks: method, path and the
// body's JSON in canonical form (key order and spacing do not matter).
std::string request_hash(std::string_view method, std::string_view path, std::string_view body);

// {"userId": N, "concertId": N}
struct QueueTokenRequest {
  int64_t user_id = 0;
  int64_t concert_id = 0;
};
Result<QueueTokenRequest> parse_queue_token_request(std::string_view body);

// {"concertIds": [1, 2], "windowSeconds": 900} (POST /admin/warmup): 1 to
// 1000 positive ids; the window 1 s to 7 days, 900 s when absent.
struct WarmRequest {
  std::vector<int64_t> concerts;
  std::chrono::seconds window{900};
};
Result<WarmRequest> parse_warm_request(std::string_view body);

// The token of an "Authorization: Bearer <token>" value: the scheme matched
// case-insensitively (RFC 9110, 11.1), the spaces after it skipped; "" for
// another scheme or none.
std::string bearer_token(std::string_view authorization);

std::string error_json(const Status& s);
// {"token","concertId","userId","position" (null in the pre-queue),"status"}
std::string issued_token_json(const IssuedToken& t);
// {"status","position","ahead","etaSeconds","concertId","userId","expiresAt","opensAt"}
std::string token_status_json(const QueueTokenClaims& c, const TokenStatus& s);
std::string concerts_json(const std::vector<Concert>& concerts);
std::string concert_json(const Concert& c);
std::string schedules_json(int64_t concert_id, const std::vector<Schedule>& schedules);
std::string seats_json(int64_t schedule_id, const std::vector<Seat>& seats);
std::string hold_json(const Hold& h);
std::string payment_json(const Payment& p);
std::string cancellation_json(const Cancellation& c);
std::string balance_json(const Balance& b);

}  // namespace resv
