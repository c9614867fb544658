#pragma once
// Input rules checked before any database work. Pure functions.
#include <string_view>

#include "base/status.h"
#include "booking/domain.h"

namespace resv {

inline constexpr size_t kMaxSeatsPerRequest = 20;
inline constexpr int64_t kMaxQuantity = 1000;
inline constexpr int64_t kMaxTopUp = 1'000'000'000'000;
inline constexpr size_t kMaxIdempotencyKey = 128;

// InvalidRequest when the key is too long or has characters outside
// printable ASCII; Ok for an empty key (no key).
Status validate_idempotency_key(std::string_view key);
// InvalidRequest unless ids are positive, seats non-empty, unique and at most
// kMaxSeatsPerRequest.
Status validate(const HoldSeatsRequest& r);
// InvalidRequest unless ids are positive and 1 <= quantity <= kMaxQuantity.
Status validate(const HoldPoolRequest& r);
// InvalidRequest unless 1 <= amount <= kMaxTopUp.
Status validate(const TopUpRequest& r);

}  // namespace resv
