// The verdict on a consumer group's lag, from two samples of its offsets.
#include <gtest/gtest.h>

#include <vector>

#include "events/inspect.h"

namespace {

using namespace resv;

// One partition sampled: first offset 0, `high` the end, `committed` (-1: never).
PartitionOffsets at(int64_t committed, int64_t high, int32_t partition = 0) {
  return {"resv.reservations", partition, 0, high, committed};
}

LagVerdict verdict(PartitionOffsets before, PartitionOffsets after) {
  auto lags = judge_lag({before}, {after});
  EXPECT_EQ(lags.size(), 1u);
  return lags.empty() ? LagVerdict::Ok : lags[0].verdict;
}

TEST(LagVerdicts, NoLagIsOkWhateverElseHappened) {
  EXPECT_EQ(verdict(at(10, 10), at(10, 10)), LagVerdict::Ok);
  EXPECT_EQ(verdict(at(5, 10), at(20, 20)), LagVerdict::Ok);
}

TEST(LagVerdicts, ALagThatShrinksWhileItCommitsIsOk) {
  EXPECT_EQ(verdict(at(10, 100), at(60, 120)), LagVerdict::Ok) << "lag 90 -> 60";
}

TEST(LagVerdicts, CommittingWithoutCatchingUpIsLagging) {
  EXPECT_EQ(verdict(at(10, 100), at(20, 140)), LagVerdict::Lagging) << "lag 90 -> 120";
  EXPECT_EQ(verdict(at(10, 100), at(30, 120)), LagVerdict::Lagging) << "lag 90 -> 90: not shrinking";
}

TEST(LagVerdicts, NoCommitWhileEventsArriveIsStalled) {
  EXPECT_EQ(verdict(at(10, 100), at(10, 130)), LagVerdict::Stalled);
}

TEST(LagVerdicts, NoCommitAndNothingNewWithLagLeftIsStopped) {
  EXPECT_EQ(verdict(at(10, 100), at(10, 100)), LagVerdict::Stopped);
}

TEST(LagVerdicts, AGroupThatNeverCommittedOnAPartitionWithEventsIsStopped) {
  auto lags = judge_lag({at(-1, 50)}, {at(-1, 50)});
  ASSERT_EQ(lags.size(), 1u);
  EXPECT_EQ(lags[0].verdict, LagVerdict::Stopped);
  EXPECT_EQ(lags[0].lag, 50) << "everything kept is left to read";
  EXPECT_EQ(lags[0].committed, -1);
  EXPECT_EQ(verdict(at(-1, 0), at(-1, 0)), LagVerdict::Ok) << "an empty partition has nothing to read";
}

TEST(LagVerdicts, LagIsTheEndMinusTheCommittedOffset) {
  auto lags = judge_lag({at(3, 10, 0), at(7, 7, 1)}, {at(4, 12, 0), at(7, 9, 1)});
  ASSERT_EQ(lags.size(), 2u);
  EXPECT_EQ(lags[0].lag, 8);
  EXPECT_EQ(lags[0].end, 12);
  EXPECT_EQ(lags[1].lag, 2);
  EXPECT_EQ(lags[1].verdict, LagVerdict::Stalled);
  EXPECT_EQ(group_verdict(lags), LagVerdict::Stalled) << "the group's verdict is its worst partition's";
}

TEST(LagVerdicts, APartitionNewSinceTheFirstSampleIsJudgedOnTheSecondAlone) {
  auto lags = judge_lag({}, {at(5, 9)});
  ASSERT_EQ(lags.size(), 1u);
  EXPECT_EQ(lags[0].verdict, LagVerdict::Stopped);
  EXPECT_EQ(group_verdict({}), LagVerdict::Ok);
}

TEST(LagVerdicts, NamesAreStable) {
  EXPECT_EQ(verdict_name(LagVerdict::Ok), "OK");
  EXPECT_EQ(verdict_name(LagVerdict::Lagging), "LAGGING");
  EXPECT_EQ(verdict_name(LagVerdict::Stalled), "STALLED");
  EXPECT_EQ(verdict_name(LagVerdict::Stopped), "STOPPED");
}

}  // namespace
