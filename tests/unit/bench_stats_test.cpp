// resv bench's pure parts: the latency histogram's accuracy and the
// threshold expressions.
#include <gtest/gtest.h>

#include <random>

#include "bench/histogram.h"
#include "bench/load.h"
#include "bench/ramp.h"
#include "bench/thresholds.h"

namespace {

using namespace resv;

TEST(LatencyHistogram, PercentilesAreWithinOneSixtyFourthAboveTheExactOnes) {
  LatencyHistogram h;
  std::vector<int64_t> all;
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> d(7.0, 1.5);  // ~1 ms, with a long tail
  for (int i = 0; i < 100000; ++i) {
    const auto v = static_cast<int64_t>(d(rng));
    all.push_back(v);
    h.record(v);
  }
  std::sort(all.begin(), all.end());
  for (double p : {50.0, 90.0, 95.0, 99.0, 99.9}) {
    const int64_t exact = all[static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(all.size()))) - 1];
    const int64_t got = h.percentile(p);
    EXPECT_GE(got, exact) << "p" << p;
    EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * (1 + 1.0 / 64) + 1) << "p" << p;
  }
  EXPECT_EQ(h.min(), all.front());
  EXPECT_EQ(h.max(), all.back());
  EXPECT_EQ(h.percentile(100), all.back());
  EXPECT_EQ(h.count(), 100000);
}

TEST(LatencyHistogram, SmallValuesAreExactAndMergingAddsCounts) {
  LatencyHistogram a, b;
  for (int v = 0; v < 64; ++v) a.record(v);
  b.record(1000000);
  a.merge(b);
  EXPECT_EQ(a.count(), 65);
  EXPECT_EQ(a.percentile(50), 32);
  EXPECT_EQ(a.max(), 1000000);
  EXPECT_EQ(LatencyHistogram().percentile(95), 0) << "empty";
}

TEST(Thresholds, LatenciesTakeAUnitAndCountsAndRatesAPlainNumber) {
  auto p95 = parse_threshold("p95 < 20ms");
  ASSERT_TRUE(p95.ok()) << p95.status().message();
  EXPECT_EQ(p95->metric, "p95");
  EXPECT_EQ(p95->op, "<");
  EXPECT_EQ(p95->value, 20000);
  EXPECT_EQ(parse_threshold("max<=1.5s")->value, 1500000);
  EXPECT_EQ(parse_threshold("system_errors==0")->op, "==");
  EXPECT_EQ(parse_threshold("rejection_rate<0.99")->value, 0.99);

  for (const char* bad : {"p95<20", "p95<20h", "latency<3ms", "p95=3ms", "system_errors==0ms", "<3", "p95<", "p95<-1ms",
                          "rps"}) {
    auto r = parse_threshold(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find(bad), std::string::npos) << "names the input: " << r.status().message();
    }
  }
}

TEST(Thresholds, HoldOrAreCrossedOnTheRunsTotals) {
  RunTotals t;
  t.requests = 200;
  t.successes = 10;
  t.rejections = 189;
  t.system_errors = 1;
  t.seconds = 2;
  t.p95_us = 25000;
  auto holds = [&](const char* expr) { return threshold_holds(parse_threshold(expr).value(), t); };
  EXPECT_FALSE(holds("p95<20ms"));
  EXPECT_TRUE(holds("p95<=25ms"));
  EXPECT_FALSE(holds("system_errors==0"));
  EXPECT_TRUE(holds("rejection_rate<0.99"));
  EXPECT_TRUE(holds("success_rate>=0.05"));
  EXPECT_TRUE(holds("rps==100"));
  EXPECT_TRUE(holds("system_error_rate<0.01"));
}

TEST(ErrorCodeOf, ReadsTheCodeOfAnErrorBody) {
  EXPECT_EQ(error_code_of(R"({"error":{"code":"SOLD_OUT","message":"gone"}})"), "SOLD_OUT");
  EXPECT_EQ(error_code_of("<html>bad gateway</html>"), "");
  EXPECT_EQ(error_code_of(R"({"error":{"code":"UNTERMINATED)"), "");
}

}  // namespace

namespace {

TEST(Ramp, RequestsAreDueAsTheRateRisesAndFallsLinearly) {
  auto r = resv::Ramp::parse("10s:100,10s:100,10s:0", 0);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->seconds(), 30);
  // Rising 0 -> 100/s over 10 s: 500 requests, the n-th due at sqrt(n / 5) s.
  EXPECT_NEAR(r->due(0), 0, 1e-9);
  EXPECT_NEAR(r->due(125), 5, 1e-9);
  EXPECT_NEAR(r->due(500), 10, 1e-9);
  // Flat at 100/s: 1,000 more.
  EXPECT_NEAR(r->due(1000), 15, 1e-9);
  // Falling 100 -> 0 over 10 s: 500 more, the last ones ever sparser.
  EXPECT_NEAR(r->due(1500 + 375), 25, 1e-9);
  EXPECT_LT(r->due(2000), 0) << "after the last stage";
  EXPECT_NEAR(resv::Ramp::parse("1m:60", 60)->due(30), 0.5, 1e-9) << "from --rate, in minutes";
}

TEST(Ramp, AStageThatIsNotDurationColonRateIsNamed) {
  for (const char* bad : {"10s", "10s:", "x:100", "10h:100", "10s:-1", "10s:100,", "0s:5"}) {
    auto r = resv::Ramp::parse(bad, 0);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_NE(resv::Ramp::parse("10s:100,oops", 0).status().message().find("'oops'"), std::string::npos);
}

}  // namespace
