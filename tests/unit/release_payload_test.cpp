#include "booking/release_listener.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

using namespace resv;

TEST(ReleasePayload, SeatReleaseGivesScheduleAndSeats) {
  // As sql/0002_functions.sql sends it for assigned seats: poolId is null.
  auto ev = parse_release_payload(R"({"scheduleId":3,"poolId":null,"seatIds":[5,7]})");
  ASSERT_TRUE(ev.has_value());
  EXPECT_FALSE(ev->lost);
  EXPECT_EQ(ev->schedule_id, 3);
  EXPECT_FALSE(ev->pool_id.has_value());
  EXPECT_EQ(ev->seat_ids, (std::vector<int64_t>{5, 7}));
}

TEST(ReleasePayload, PoolReleaseGivesThePool) {
  auto ev = parse_release_payload(R"({"scheduleId":3,"poolId":4,"seatIds":[]})");
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->schedule_id, 3);
  ASSERT_TRUE(ev->pool_id.has_value());
  EXPECT_EQ(*ev->pool_id, 4);
  EXPECT_TRUE(ev->seat_ids.empty());
  EXPECT_FALSE(ev->lost);
}

TEST(ReleasePayload, PoolReleaseWithNullSeatIds) {
  auto ev = parse_release_payload(R"({"scheduleId":3,"poolId":4,"seatIds":null})");
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->pool_id, 4);
  EXPECT_TRUE(ev->seat_ids.empty());
}

TEST(ReleasePayload, NoSeatIdsMeansTheWholeSchedule) {
  // Over 200 seats the SQL sends "seatIds": null; a payload may also omit it.
  for (const char* payload : {R"({"scheduleId":9,"poolId":null,"seatIds":null})", R"({"scheduleId":9})"}) {
    auto ev = parse_release_payload(payload);
    ASSERT_TRUE(ev.has_value()) << payload;
    EXPECT_EQ(ev->schedule_id, 9) << payload;
    EXPECT_FALSE(ev->pool_id.has_value()) << payload;
    EXPECT_TRUE(ev->seat_ids.empty()) << payload;
  }
}

TEST(ReleasePayload, MalformedJsonIsRejected) {
  for (const char* payload : {"", "{", "not json", "[1,2]", "null", "3", R"("scheduleId")"})
    EXPECT_FALSE(parse_release_payload(payload).has_value()) << payload;
}

TEST(ReleasePayload, MissingOrNonIntegerScheduleIdIsRejected) {
  for (const char* payload : {R"({"poolId":4,"seatIds":[1]})", R"({"scheduleId":null,"seatIds":[1]})",
                              R"({"scheduleId":"3","seatIds":[1]})", R"({"scheduleId":3.5})", "{}"})
    EXPECT_FALSE(parse_release_payload(payload).has_value()) << payload;
}

TEST(ReleasePayload, ResetMeansForgetEverything) {
  auto ev = parse_release_payload(R"({"reset":true})");
  ASSERT_TRUE(ev.has_value());
  EXPECT_TRUE(ev->lost);
  EXPECT_FALSE(parse_release_payload(R"({"reset":false})").has_value()) << "not a release either";
}

}  // namespace
