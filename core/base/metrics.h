#pragma once
// Prometheus metrics: lock-free counters, gauges and histograms, rendered in
// the text exposition format. Series are registered up front (at start-up or
// on first use of a label set) and updated with atomics on the hot path.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace resv {

class Counter {
 public:
  void inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void set(int64_t v) { v_.store(v, std::memory_order_relaxed); }
  void add(int64_t d) { v_.fetch_add(d, std::memory_order_relaxed); }
  int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

class Histogram {
 public:
  // `bounds` are the upper bounds in seconds, ascending; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);
  void observe(double seconds);
  // Cumulative counts per bound, then the +Inf count.
  std::vector<uint64_t> cumulative() const;
  double sum() const;
  uint64_t count() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> sum_ns_{0};
};

// Latency buckets from 0.5 ms to 10 s.
std::vector<double> latency_buckets();

class MetricsRegistry {
 public:
  // `labels` is the rendered label set without braces, e.g.
  // route="/api/concerts",class="2xx"; "" for none. Same name+labels returns
  // the same series. References stay valid for the registry's lifetime.
  Counter& counter(const std::string& name, const std::string& help, const std::string& labels = "");
  Gauge& gauge(const std::string& name, const std::string& help, const std::string& labels = "");
  Histogram& histogram(const std::string& name, const std::string& help, const std::string& labels = "",
                       std::vector<double> bounds = latency_buckets());
  // A gauge computed at scrape time.
  void gauge_fn(const std::string& name, const std::string& help, std::function<double()> fn);

  // Prometheus text format 0.0.4, families in registration order.
  std::string render() const;

 private:
  enum class Kind { Counter, Gauge, Histogram, GaugeFn };
  struct Series {
    std::string labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> fn;
  };
  struct Family {
    std::string name, help;
    Kind kind;
    std::vector<std::unique_ptr<Series>> series;
  };
  Series& series(const std::string& name, const std::string& help, Kind kind, const std::string& labels);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
};

// Escapes a label value for the text format (backslash, quote, newline).
std::string escape_label(const std::string& v);

}  // namespace resv
