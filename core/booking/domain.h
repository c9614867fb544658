#pragma once
// Domain types shared by the store, the server and the CLI. No HTTP, no SQL.
#include <cstdint>
#include <string>
#include <vector>

namespace resv {

struct Concert {
  int64_t id = 0;
  std::string name;
  std::string venue;
};

struct PoolInfo {
  int64_t id = 0;
  int64_t schedule_id = 0;
  std::string name;
  std::string kind;  // GENERAL_ADMISSION | RESTAURANT_SLOT | COUPON
  int64_t capacity = 0;
  int64_t available = 0;
  int64_t price = 0;
  int min_party = 1;
  int max_party = 1;
  int max_per_user = 1;
};

struct Schedule {
  int64_t id = 0;
  int64_t concert_id = 0;
  std::string starts_at;      // ISO 8601 UTC
  std::string sales_open_at;  // ISO 8601 UTC
  int64_t total_seats = 0;
  int64_t available_seats = 0;
  std::vector<PoolInfo> pools;
};

struct Seat {
  int64_t id = 0;
  std::string label;
  std::string grade;
  int64_t price = 0;
  std::string status;  // AVAILABLE | HELD | SOLD
};

// A hold of assigned seats: all of them or none.
struct HoldSeatsRequest {
  int64_t user_id = 0;
  int64_t schedule_id = 0;
  std::vector<int64_t> seat_ids;
  std::string idempotency_key;  // empty: none
  std::string request_hash;     // identifies the request a key was used for
  int64_t token_concert = 0;    // concert of the verified Queue-Token; 0: none carried
};

// A hold of `quantity` units of a capacity pool.
struct HoldPoolRequest {
  int64_t user_id = 0;
  int64_t schedule_id = 0;
  int64_t pool_id = 0;
  int64_t quantity = 0;
  std::string idempotency_key;
  std::string request_hash;
  int64_t token_concert = 0;
};

struct Hold {
  int64_t reservation_id = 0;
  std::string status;      // HELD
  std::string expires_at;  // ISO 8601 UTC
  int64_t amount = 0;
  bool replayed = false;   // answered from a stored Idempotency-Key result
};

struct PaymentRequest {
  int64_t reservation_id = 0;
  int64_t user_id = 0;
  std::string idempotency_key;
  std::string request_hash;
  int64_t token_concert = 0;
};

struct Payment {
  int64_t reservation_id = 0;
  int64_t payment_id = 0;
  int64_t amount = 0;
  int64_t balance = 0;
  std::string status;  // CONFIRMED
  bool replayed = false;
};

// Cancels a hold, or a confirmed reservation with a refund.
struct CancelRequest {
  int64_t reservation_id = 0;
  int64_t user_id = 0;
};

struct Cancellation {
  int64_t reservation_id = 0;
  std::string status;  // CANCELLED, or EXPIRED when the hold had already expired
  int64_t refunded = 0;
};

struct TopUpRequest {
  int64_t user_id = 0;
  int64_t amount = 0;
  std::string idempotency_key;
  std::string request_hash;
};

struct BalanceRequest {
  int64_t user_id = 0;
};

struct Balance {
  int64_t user_id = 0;
  int64_t balance = 0;
};

}  // namespace resv
