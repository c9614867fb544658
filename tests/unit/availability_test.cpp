#include "booking/availability.h"

#include <gtest/gtest.h>

#include "manual_clock.h"

namespace {

using namespace resv;
using namespace std::chrono_literals;
using resv::test::ManualClock;

TEST(AvailabilityFilter, KnowsNothingUntilTheDatabaseSaysSo) {
  AvailabilityFilter f(60s);
  std::vector<int64_t> seats{1, 2};
  EXPECT_TRUE(f.known_taken(1, seats).empty());
  EXPECT_FALSE(f.known_sold_out(7, 1));
}

TEST(AvailabilityFilter, RemembersTakenSeatsPerSchedule) {
  AvailabilityFilter f(60s);
  std::vector<int64_t> taken{2};
  f.record_taken(1, taken, f.generation());
  std::vector<int64_t> ask{1, 2, 3};
  EXPECT_EQ(f.known_taken(1, ask), (std::vector<int64_t>{2}));
  EXPECT_TRUE(f.known_taken(2, ask).empty()) << "another schedule is unaffected";
}

TEST(AvailabilityFilter, SoldOutOnlyForMoreThanRemaining) {
  AvailabilityFilter f(60s);
  f.record_remaining(7, 3, f.generation());
  int64_t left = -1;
  EXPECT_TRUE(f.known_sold_out(7, 4, &left));
  EXPECT_EQ(left, 3);
  EXPECT_FALSE(f.known_sold_out(7, 3)) << "3 may still be available";
}

TEST(AvailabilityFilter, ReleaseForgetsSeatsAndPools) {
  AvailabilityFilter f(60s);
  std::vector<int64_t> taken{2, 3};
  f.record_taken(1, taken, f.generation());
  f.record_remaining(7, 0, f.generation());
  std::vector<int64_t> released{2};
  f.release_seats(1, released);
  f.release_pool(7);
  EXPECT_EQ(f.known_taken(1, taken), (std::vector<int64_t>{3}));
  EXPECT_FALSE(f.known_sold_out(7, 1));
}

TEST(AvailabilityFilter, ReleaseOfWholeScheduleForgetsAllItsSeats) {
  AvailabilityFilter f(60s);
  std::vector<int64_t> taken{2, 3};
  f.record_taken(1, taken, f.generation());
  f.release_seats(1, {});
  EXPECT_TRUE(f.known_taken(1, taken).empty());
}

TEST(AvailabilityFilter, AnswerRecordedAcrossAReleaseIsDiscarded) {
  // The DB answered "sold out" from a snapshot taken before a release that
  // the filter has already seen: recording it would say "sold out" wrongly.
  AvailabilityFilter f(60s);
  uint64_t before = f.generation();
  f.release_pool(7);
  f.record_remaining(7, 0, before);
  EXPECT_FALSE(f.known_sold_out(7, 1));
  std::vector<int64_t> seats{5};
  f.record_taken(1, seats, before);
  EXPECT_TRUE(f.known_taken(1, seats).empty());
}

TEST(AvailabilityFilter, ExpiredEntriesAreIgnored) {
  AvailabilityFilter f(0ms);  // every entry is already too old
  std::vector<int64_t> seats{5};
  f.record_taken(1, seats, f.generation());
  f.record_remaining(7, 0, f.generation());
  EXPECT_TRUE(f.known_taken(1, seats).empty());
  EXPECT_FALSE(f.known_sold_out(7, 1));
}

TEST(AvailabilityFilter, EntriesCountUntilTheyAreTtlOld) {
  BasicAvailabilityFilter<ManualClock> f(60s);  // ages only when the test moves the clock
  std::vector<int64_t> seats{5};
  f.record_taken(1, seats, f.generation());
  f.record_remaining(7, 0, f.generation());
  ManualClock::advance(60s - 1ns);
  EXPECT_EQ(f.known_taken(1, seats), seats) << "just under the ttl";
  EXPECT_TRUE(f.known_sold_out(7, 1)) << "just under the ttl";
  ManualClock::advance(1ns);
  EXPECT_TRUE(f.known_taken(1, seats).empty()) << "ttl old: a lost release notification no longer matters";
  EXPECT_FALSE(f.known_sold_out(7, 1)) << "ttl old";
  f.record_remaining(7, 0, f.generation());
  EXPECT_TRUE(f.known_sold_out(7, 1)) << "a new answer counts again";
}

TEST(AvailabilityFilter, ClearForgetsEverything) {
  AvailabilityFilter f(60s);
  std::vector<int64_t> seats{5};
  f.record_taken(1, seats, f.generation());
  f.record_remaining(7, 0, f.generation());
  f.clear();
  EXPECT_TRUE(f.known_taken(1, seats).empty());
  EXPECT_FALSE(f.known_sold_out(7, 1));
}

}  // namespace
