#include "base/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace resv;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  auto all = lines(text);
  return std::find(all.begin(), all.end(), line) != all.end();
}

TEST(Metrics, CounterRendersWithHelpAndTypeLines) {
  MetricsRegistry m;
  m.counter("resv_things_total", "Things done.").inc(3);
  EXPECT_EQ(m.render(),
            "# HELP resv_things_total Things done.\n"
            "# TYPE resv_things_total counter\n"
            "resv_things_total 3\n");
}

TEST(Metrics, LabelsAreRenderedInBraces) {
  MetricsRegistry m;
  m.counter("resv_req_total", "Requests.", R"(route="/a",class="2xx")").inc();
  EXPECT_TRUE(has_line(m.render(), R"(resv_req_total{route="/a",class="2xx"} 1)")) << m.render();
}

TEST(Metrics, GaugeRendersItsCurrentValueEvenWhenNegative) {
  MetricsRegistry m;
  Gauge& g = m.gauge("resv_level", "A level.");
  g.set(10);
  g.add(-15);
  EXPECT_EQ(g.value(), -5);
  auto text = m.render();
  EXPECT_TRUE(has_line(text, "# TYPE resv_level gauge")) << text;
  EXPECT_TRUE(has_line(text, "resv_level -5")) << text;
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricsRegistry m;
  Histogram& h = m.histogram("resv_wait_seconds", "Waits.", "", {0.25, 1});
  for (double v : {0.125, 0.25, 0.5, 2.0}) h.observe(v);  // exact in binary
  auto text = m.render();
  EXPECT_EQ(text,
            "# HELP resv_wait_seconds Waits.\n"
            "# TYPE resv_wait_seconds histogram\n"
            "resv_wait_seconds_bucket{le=\"0.25\"} 2\n"
            "resv_wait_seconds_bucket{le=\"1\"} 3\n"
            "resv_wait_seconds_bucket{le=\"+Inf\"} 4\n"
            "resv_wait_seconds_sum 2.875\n"
            "resv_wait_seconds_count 4\n");
}

TEST(Metrics, HistogramLabelsComeBeforeLe) {
  MetricsRegistry m;
  m.histogram("resv_lat_seconds", "Latency.", R"(route="/x")", {0.5}).observe(1.0);
  auto text = m.render();
  EXPECT_TRUE(has_line(text, R"(resv_lat_seconds_bucket{route="/x",le="0.5"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(resv_lat_seconds_bucket{route="/x",le="+Inf"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(resv_lat_seconds_sum{route="/x"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(resv_lat_seconds_count{route="/x"} 1)")) << text;
}

TEST(Metrics, ValueOnABoundCountsInThatBucket) {
  Histogram h({0.5, 1});
  h.observe(0.5);
  h.observe(1);
  EXPECT_EQ(h.cumulative(), (std::vector<uint64_t>{1, 2, 2}));
  EXPECT_EQ(h.count(), 2u);
  EXPECT_DOUBLE_EQ(h.sum(), 1.5);
}

TEST(Metrics, EmptyHistogramRendersZeroes) {
  MetricsRegistry m;
  m.histogram("resv_empty_seconds", "Nothing yet.", "", {1});
  auto text = m.render();
  EXPECT_TRUE(has_line(text, R"(resv_empty_seconds_bucket{le="1"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(resv_empty_seconds_bucket{le="+Inf"} 0)")) << text;
  EXPECT_TRUE(has_line(text, "resv_empty_seconds_sum 0")) << text;
  EXPECT_TRUE(has_line(text, "resv_empty_seconds_count 0")) << text;
}

TEST(Metrics, DefaultHistogramUsesLatencyBuckets) {
  MetricsRegistry m;
  EXPECT_EQ(m.histogram("resv_default_seconds", "Default.").bounds(), latency_buckets());
  auto b = latency_buckets();
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(b.front(), 0.0005);
  EXPECT_DOUBLE_EQ(b.back(), 10);
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
  EXPECT_EQ(std::adjacent_find(b.begin(), b.end()), b.end()) << "bounds are strictly ascending";
}

TEST(Metrics, SameNameAndLabelsReturnTheSameSeries) {
  MetricsRegistry m;
  Counter& a = m.counter("resv_x_total", "X.", R"(k="1")");
  Counter& b = m.counter("resv_x_total", "X.", R"(k="1")");
  Counter& c = m.counter("resv_x_total", "X.", R"(k="2")");
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  EXPECT_EQ(&m.gauge("resv_g", "G."), &m.gauge("resv_g", "G."));
  EXPECT_EQ(&m.histogram("resv_h", "H."), &m.histogram("resv_h", "H."));
  a.inc();
  b.inc();
  c.inc();
  auto text = m.render();
  EXPECT_TRUE(has_line(text, R"(resv_x_total{k="1"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(resv_x_total{k="2"} 1)")) << text;
  auto all = lines(text);
  EXPECT_EQ(std::count(all.begin(), all.end(), "# HELP resv_x_total X."), 1) << "one family, two series";
}

TEST(Metrics, FamiliesRenderInRegistrationOrder) {
  MetricsRegistry m;
  m.gauge("resv_b", "B.");
  m.counter("resv_a_total", "A.");
  auto text = m.render();
  auto b = text.find("# HELP resv_b ");
  auto a = text.find("# HELP resv_a_total ");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  EXPECT_LT(b, a);
}

TEST(Metrics, GaugeFnIsEvaluatedAtRender) {
  MetricsRegistry m;
  int calls = 0;
  double value = 2.5;
  m.gauge_fn("resv_computed", "Computed.", [&] {
    ++calls;
    return value;
  });
  EXPECT_EQ(calls, 0) << "not evaluated when registered";
  auto first = m.render();
  EXPECT_TRUE(has_line(first, "# TYPE resv_computed gauge")) << first;
  EXPECT_TRUE(has_line(first, "resv_computed 2.5")) << first;
  value = 7;
  EXPECT_TRUE(has_line(m.render(), "resv_computed 7"));
  EXPECT_EQ(calls, 2);
}

TEST(Metrics, OneNameCannotHaveTwoTypes) {
  MetricsRegistry m;
  m.counter("resv_dual", "Dual.");
  EXPECT_THROW(m.gauge("resv_dual", "Dual."), std::logic_error);
}

TEST(Metrics, CounterIsSafeToIncrementFromManyThreads) {
  MetricsRegistry m;
  Counter& c = m.counter("resv_concurrent_total", "Concurrent.");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&c] {
      for (int i = 0; i < 10000; ++i) c.inc();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_TRUE(has_line(m.render(), "resv_concurrent_total 40000"));
}

TEST(EscapeLabel, EscapesBackslashQuoteAndNewline) {
  EXPECT_EQ(escape_label(R"(a\b)"), R"(a\\b)");
  EXPECT_EQ(escape_label(R"(say "hi")"), R"(say \"hi\")");
  EXPECT_EQ(escape_label("two\nlines"), R"(two\nlines)");
  EXPECT_EQ(escape_label("/api/concerts/{id}"), "/api/concerts/{id}") << "ordinary text is unchanged";
  EXPECT_EQ(escape_label(""), "");
}

}  // namespace
