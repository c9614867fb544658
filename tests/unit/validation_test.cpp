#include "booking/validation.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

namespace {

using namespace resv;

HoldSeatsRequest seats_request(std::vector<int64_t> seat_ids) {
  HoldSeatsRequest r;
  r.user_id = 7;
  r.schedule_id = 3;
  r.seat_ids = std::move(seat_ids);
  return r;
}

std::vector<int64_t> seat_range(size_t n) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), 1);
  return v;
}

HoldPoolRequest pool_request(int64_t quantity) {
  HoldPoolRequest r;
  r.user_id = 7;
  r.schedule_id = 3;
  r.pool_id = 4;
  r.quantity = quantity;
  return r;
}

TopUpRequest top_up(int64_t amount) {
  TopUpRequest r;
  r.user_id = 7;
  r.amount = amount;
  return r;
}

TEST(ValidateHoldSeats, AcceptsOneSeat) { EXPECT_TRUE(validate(seats_request({1})).ok()); }

TEST(ValidateHoldSeats, AcceptsExactlyTheMaximumNumberOfSeats) {
  auto s = validate(seats_request(seat_range(kMaxSeatsPerRequest)));
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(ValidateHoldSeats, RejectsOneSeatMoreThanTheMaximum) {
  auto s = validate(seats_request(seat_range(kMaxSeatsPerRequest + 1)));
  EXPECT_EQ(s.code(), ErrorCode::InvalidRequest);
  EXPECT_NE(s.message().find("seatIds"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(std::to_string(kMaxSeatsPerRequest)), std::string::npos) << s.message();
}

TEST(ValidateHoldSeats, RejectsNoSeats) {
  auto s = validate(seats_request({}));
  EXPECT_EQ(s.code(), ErrorCode::InvalidRequest);
  EXPECT_NE(s.message().find("seatIds"), std::string::npos) << s.message();
}

TEST(ValidateHoldSeats, RejectsARepeatedSeatWhereverItIs) {
  EXPECT_EQ(validate(seats_request({4, 4})).code(), ErrorCode::InvalidRequest);
  EXPECT_EQ(validate(seats_request({4, 9, 2, 4})).code(), ErrorCode::InvalidRequest) << "not adjacent";
  EXPECT_TRUE(validate(seats_request({4, 9, 2, 5})).ok());
}

TEST(ValidateHoldSeats, RejectsNonPositiveSeatIds) {
  for (int64_t bad : {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::min()}) {
    auto s = validate(seats_request({1, bad}));
    EXPECT_EQ(s.code(), ErrorCode::InvalidRequest) << bad;
    EXPECT_NE(s.message().find("seatIds"), std::string::npos) << s.message();
  }
}

TEST(ValidateHoldSeats, RejectsNonPositiveUserOrSchedule) {
  for (int64_t bad : {int64_t{0}, int64_t{-5}}) {
    auto r = seats_request({1});
    r.user_id = bad;
    auto s = validate(r);
    EXPECT_EQ(s.code(), ErrorCode::InvalidRequest) << bad;
    EXPECT_NE(s.message().find("userId"), std::string::npos) << s.message();

    r = seats_request({1});
    r.schedule_id = bad;
    s = validate(r);
    EXPECT_EQ(s.code(), ErrorCode::InvalidRequest) << bad;
    EXPECT_NE(s.message().find("scheduleId"), std::string::npos) << s.message();
  }
}

TEST(ValidateHoldSeats, RejectsABadIdempotencyKey) {
  auto r = seats_request({1});
  r.idempotency_key = "has space";
  EXPECT_EQ(validate(r).code(), ErrorCode::InvalidRequest);
  r.idempotency_key = "good-key";
  EXPECT_TRUE(validate(r).ok());
}

TEST(ValidateHoldPool, AcceptsQuantityOneAndTheMaximum) {
  EXPECT_TRUE(validate(pool_request(1)).ok());
  EXPECT_TRUE(validate(pool_request(kMaxQuantity)).ok());
}

TEST(ValidateHoldPool, RejectsQuantityOutsideOneToTheMaximum) {
  for (int64_t bad : {int64_t{0}, int64_t{-1}, kMaxQuantity + 1, std::numeric_limits<int64_t>::max()}) {
    auto s = validate(pool_request(bad));
    EXPECT_EQ(s.code(), ErrorCode::InvalidRequest) << bad;
    EXPECT_NE(s.message().find("quantity"), std::string::npos) << s.message();
  }
}

TEST(ValidateHoldPool, RejectsNonPositiveIds) {
  for (int64_t bad : {int64_t{0}, int64_t{-3}}) {
    auto r = pool_request(1);
    r.user_id = bad;
    EXPECT_EQ(validate(r).code(), ErrorCode::InvalidRequest) << "userId " << bad;
    r = pool_request(1);
    r.schedule_id = bad;
    EXPECT_EQ(validate(r).code(), ErrorCode::InvalidRequest) << "scheduleId " << bad;
    r = pool_request(1);
    r.pool_id = bad;
    auto s = validate(r);
    EXPECT_EQ(s.code(), ErrorCode::InvalidRequest) << "poolId " << bad;
    EXPECT_NE(s.message().find("poolId"), std::string::npos) << s.message();
  }
}

TEST(ValidateHoldPool, RejectsABadIdempotencyKey) {
  auto r = pool_request(1);
  r.idempotency_key = std::string(kMaxIdempotencyKey + 1, 'k');
  EXPECT_EQ(validate(r).code(), ErrorCode::InvalidRequest);
}

TEST(ValidateTopUp, AcceptsOneAndTheMaximum) {
  EXPECT_TRUE(validate(top_up(1)).ok());
  EXPECT_TRUE(validate(top_up(kMaxTopUp)).ok());
}

TEST(ValidateTopUp, RejectsAmountsOutsideOneToTheMaximum) {
  for (int64_t bad : {int64_t{0}, int64_t{-1}, kMaxTopUp + 1, std::numeric_limits<int64_t>::min()}) {
    auto s = validate(top_up(bad));
    EXPECT_EQ(s.code(), ErrorCode::InvalidRequest) << bad;
    EXPECT_NE(s.message().find("amount"), std::string::npos) << s.message();
  }
}

TEST(ValidateTopUp, RejectsNonPositiveUser) {
  auto r = top_up(10);
  r.user_id = 0;
  EXPECT_EQ(validate(r).code(), ErrorCode::InvalidRequest);
  r.user_id = -1;
  EXPECT_EQ(validate(r).code(), ErrorCode::InvalidRequest);
}

TEST(ValidateTopUp, RejectsABadIdempotencyKey) {
  auto r = top_up(10);
  r.idempotency_key = "tab\tkey";
  EXPECT_EQ(validate(r).code(), ErrorCode::InvalidRequest);
}

TEST(ValidateIdempotencyKey, EmptyMeansNoKeyAndIsAccepted) { EXPECT_TRUE(validate_idempotency_key("").ok()); }

TEST(ValidateIdempotencyKey, AcceptsUpToTheMaximumLength) {
  EXPECT_TRUE(validate_idempotency_key(std::string(kMaxIdempotencyKey, 'a')).ok());
  auto s = validate_idempotency_key(std::string(kMaxIdempotencyKey + 1, 'a'));
  EXPECT_EQ(s.code(), ErrorCode::InvalidRequest);
  EXPECT_NE(s.message().find(std::to_string(kMaxIdempotencyKey)), std::string::npos) << s.message();
}

TEST(ValidateIdempotencyKey, AcceptsEveryPrintableAsciiCharacterButSpace) {
  std::string all;
  for (char c = '!'; c <= '~'; ++c) all += c;  // 0x21..0x7e: 94 characters
  EXPECT_TRUE(validate_idempotency_key(all).ok());
  EXPECT_TRUE(validate_idempotency_key("550e8400-e29b-41d4-a716-446655440000").ok());
}

TEST(ValidateIdempotencyKey, RejectsSpaceControlDeleteAndNonAsciiBytes) {
  for (std::string bad : {std::string("a b"), std::string("a\tb"), std::string("a\nb"), std::string("a\x7f"),
                          std::string("caf\xc3\xa9"), std::string("\x80"), std::string(1, '\0')}) {
    auto s = validate_idempotency_key(bad);
    EXPECT_EQ(s.code(), ErrorCode::InvalidRequest) << "key of " << bad.size() << " bytes";
  }
}

}  // namespace
