#include "server/errors.h"

#include <gtest/gtest.h>

namespace {

using namespace resv;

TEST(HttpStatus, BusinessOutcomesAreNever5xx) {
  for (auto c : {ErrorCode::InvalidRequest, ErrorCode::NotFound, ErrorCode::SeatTaken, ErrorCode::SoldOut,
                 ErrorCode::DuplicateRequest, ErrorCode::IdempotencyKeyReused, ErrorCode::HoldExpired,
                 ErrorCode::ReservationCancelled, ErrorCode::LimitExceeded, ErrorCode::InsufficientBalance,
                 ErrorCode::QueueTokenInvalid, ErrorCode::QueueTokenNotActive, ErrorCode::Unauthorized}) {
    int s = http_status(c);
    EXPECT_GE(s, 400) << code_name(c);
    EXPECT_LT(s, 500) << code_name(c);
  }
}

TEST(HttpStatus, MatchesTheDesignTable) {
  EXPECT_EQ(http_status(ErrorCode::InvalidRequest), 400);
  EXPECT_EQ(http_status(ErrorCode::QueueTokenInvalid), 401);
  EXPECT_EQ(http_status(ErrorCode::InsufficientBalance), 402);
  EXPECT_EQ(http_status(ErrorCode::QueueTokenNotActive), 403);
  EXPECT_EQ(http_status(ErrorCode::NotFound), 404);
  EXPECT_EQ(http_status(ErrorCode::SeatTaken), 409);
  EXPECT_EQ(http_status(ErrorCode::SoldOut), 409);
  EXPECT_EQ(http_status(ErrorCode::DuplicateRequest), 409);
  EXPECT_EQ(http_status(ErrorCode::HoldExpired), 409);
  EXPECT_EQ(http_status(ErrorCode::LimitExceeded), 409);
  EXPECT_EQ(http_status(ErrorCode::Overloaded), 503);
  EXPECT_EQ(http_status(ErrorCode::DbUnavailable), 503);
  EXPECT_EQ(http_status(ErrorCode::Internal), 500);
}

TEST(ErrorResponse, OverloadCarriesRetryAfter) {
  auto r = error_response(Status::Overloaded("full"));
  EXPECT_EQ(r.status, 503);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
}

TEST(ErrorResponse, BusinessErrorHasNoRetryAfter) {
  EXPECT_TRUE(error_response(Status::SoldOut("gone")).headers.empty());
}

TEST(ErrorResponse, Every401NamesTheCredentialsItWants) {
  auto admin = error_response(Status::Error(ErrorCode::Unauthorized, "no token"));
  EXPECT_EQ(admin.status, 401);
  ASSERT_EQ(admin.headers.size(), 1u);
  EXPECT_EQ(admin.headers[0], (std::pair<std::string, std::string>{"WWW-Authenticate", "Bearer realm=\"resv-admin\""}));
  auto queue = error_response(Status::Error(ErrorCode::QueueTokenInvalid, "forged"));
  EXPECT_EQ(queue.status, 401);
  ASSERT_EQ(queue.headers.size(), 1u);
  EXPECT_EQ(queue.headers[0], (std::pair<std::string, std::string>{"WWW-Authenticate", "QueueToken realm=\"resv\""}));
}

TEST(CodeName, RoundTripsEveryCode) {
  for (int i = 0; i <= static_cast<int>(ErrorCode::Internal); ++i) {
    auto c = static_cast<ErrorCode>(i);
    auto back = code_from_name(code_name(c));
    ASSERT_TRUE(back.has_value()) << code_name(c);
    EXPECT_EQ(*back, c);
  }
  EXPECT_FALSE(code_from_name("NO_SUCH_CODE").has_value());
}

}  // namespace
