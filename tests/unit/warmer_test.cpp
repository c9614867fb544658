// The warmer's pure rule: how often a warm concert is passed over.
#include <gtest/gtest.h>

#include "server/warmer.h"

namespace {

using namespace std::chrono_literals;
using resv::refresh_interval;

TEST(WarmerRefreshInterval, ASmallConcertIsPassedOverAtTheInterval) {
  EXPECT_EQ(refresh_interval(250ms, 3.0), 250ms);
  EXPECT_EQ(refresh_interval(250ms, 27.7), 250ms) << "a pass of a ninth of the interval still fits";
}

TEST(WarmerRefreshInterval, ALargeConcertTakesAtMostATenthOfACore) {
  EXPECT_EQ(refresh_interval(250ms, 300.0), 2700ms) << "a 300 ms pass: nine times as long apart";
  const auto pass = 1300.0;
  const double share = pass / (pass + static_cast<double>(refresh_interval(250ms, pass).count()));
  EXPECT_LE(share, 0.1);
}

}  // namespace
