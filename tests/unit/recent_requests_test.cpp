#include "base/recent_requests.h"

#include <gtest/gtest.h>

namespace resv {
namespace {

TEST(RecentRequests, WithoutRequestsHasNoPercentile) {
  RecentRequests r;
  auto s = r.summary(1000);
  EXPECT_EQ(s.requests, 0);
  EXPECT_FALSE(s.p95_s.has_value());
}

TEST(RecentRequests, CountsThe503AndOther5xxOfTheLastMinute) {
  RecentRequests r;
  for (int i = 0; i < 10; ++i) r.record(200, 0.002, 1000);
  r.record(503, 0.001, 1010);
  r.record(500, 0.001, 1020);
  r.record(409, 0.001, 1030);
  auto s = r.summary(1030);
  EXPECT_EQ(s.requests, 13);
  EXPECT_EQ(s.status_503, 1);
  EXPECT_EQ(s.status_5xx, 2);
}

TEST(RecentRequests, ForgetsWhatIsOlderThanSixtySeconds) {
  RecentRequests r;
  r.record(503, 0.001, 1000);
  r.record(200, 0.001, 1059);
  EXPECT_EQ(r.summary(1059).requests, 2);
  auto later = r.summary(1060);  // 1000 is now 60 s ago: out
  EXPECT_EQ(later.requests, 1);
  EXPECT_EQ(later.status_503, 0);
}

TEST(RecentRequests, ASlotReusedAMinuteLaterStartsFromZero) {
  RecentRequests r;
  for (int i = 0; i < 5; ++i) r.record(503, 0.001, 1000);
  r.record(200, 0.001, 1060);  // the same slot (1000 % 60 == 1060 % 60)
  auto s = r.summary(1060);
  EXPECT_EQ(s.requests, 1);
  EXPECT_EQ(s.status_503, 0);
}

TEST(RecentRequests, P95IsTheBucketHoldingTheNinetyFifthPercent) {
  RecentRequests r;
  for (int i = 0; i < 95; ++i) r.record(200, 0.004, 1000);  // the 5 ms bucket
  for (int i = 0; i < 5; ++i) r.record(200, 0.4, 1000);     // the 500 ms bucket
  EXPECT_DOUBLE_EQ(*r.summary(1000).p95_s, 0.005);
  r.record(200, 0.4, 1000);  // now 6 of 101 are slow: the 95th is one of them
  EXPECT_DOUBLE_EQ(*r.summary(1000).p95_s, 0.5);
}

TEST(RecentRequests, LatencyPastTheLastBucketReportsTheLastBound) {
  RecentRequests r;
  r.record(200, 30.0, 1000);
  EXPECT_DOUBLE_EQ(*r.summary(1000).p95_s, 10.0);
}

}  // namespace
}  // namespace resv
