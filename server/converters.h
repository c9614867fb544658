#pragma once
// JSON <-> domain converters for the public API. Pure functions, unit-tested
// without sockets. Parsers return InvalidRequest with a message that names
// the offending field.
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain.h"
#include "status.h"

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

std::string error_json(const Status& s);
std::string concerts_json(const std::vector<Concert>& concerts);
std::string concert_json(const Concert& c);
std::string schedules_json(int64_t concert_id, const std::vector<Schedule>& schedules);
std::string seats_json(int64_t schedule_id, const std::vector<Seat>& seats);
std::string hold_json(const Hold& h);
std::string payment_json(const Payment& p);
std::string cancellation_json(const Cancellation& c);
std::string balance_json(const Balance& b);

}  // namespace resv
