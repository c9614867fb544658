#include "booking/validation.h"

#include <algorithm>
#include <string>
#include <vector>

namespace resv {

Status validate_idempotency_key(std::string_view key) {
  if (key.size() > kMaxIdempotencyKey)
    return Status::Invalid("Idempotency-Key is longer than " + std::to_string(kMaxIdempotencyKey) +
                           " characters; use a shorter key (a UUID fits)");
  for (unsigned char c : key)
    if (c < 0x21 || c > 0x7e)
      return Status::Invalid("Idempotency-Key may hold only printable ASCII without spaces");
  return Status::Ok();
}

static Status validate_ids(int64_t user_id, int64_t schedule_id) {
  if (user_id <= 0) return Status::Invalid("userId must be a positive integer");
  if (schedule_id <= 0) return Status::Invalid("scheduleId must be a positive integer");
  return Status::Ok();
}

Status validate(const HoldSeatsRequest& r) {
  if (auto s = validate_ids(r.user_id, r.schedule_id); !s.ok()) return s;
  if (r.seat_ids.empty()) return Status::Invalid("seatIds must name at least one seat");
  if (r.seat_ids.size() > kMaxSeatsPerRequest)
    return Status::Invalid("seatIds may name at most " + std::to_string(kMaxSeatsPerRequest) + " seats");
  for (int64_t id : r.seat_ids)
    if (id <= 0) return Status::Invalid("seatIds must be positive integers");
  std::vector<int64_t> sorted = r.seat_ids;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    return Status::Invalid("seatIds must not repeat a seat");
  return validate_idempotency_key(r.idempotency_key);
}

Status validate(const HoldPoolRequest& r) {
  if (auto s = validate_ids(r.user_id, r.schedule_id); !s.ok()) return s;
  if (r.pool_id <= 0) return Status::Invalid("poolId must be a positive integer");
  if (r.quantity < 1 || r.quantity > kMaxQuantity)
    return Status::Invalid("quantity must be between 1 and " + std::to_string(kMaxQuantity));
  return validate_idempotency_key(r.idempotency_key);
}

Status validate(const TopUpRequest& r) {
  if (r.user_id <= 0) return Status::Invalid("user id must be a positive integer");
  if (r.amount < 1 || r.amount > kMaxTopUp)
    return Status::Invalid("amount must be between 1 and " + std::to_string(kMaxTopUp));
  return validate_idempotency_key(r.idempotency_key);
}

}  // namespace resv
