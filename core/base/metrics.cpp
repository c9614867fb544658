#include "base/metrics.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace resv {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::observe(double seconds) {
  size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  // Clamped: a nonsense duration must not overflow the conversion.
  sum_ns_.fetch_add(static_cast<uint64_t>(std::clamp(seconds, 0.0, 1e9) * 1e9), std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::cumulative() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    acc += counts_[i].load(std::memory_order_relaxed);
    out[i] = acc;
  }
  return out;
}

double Histogram::sum() const { return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9; }
uint64_t Histogram::count() const { return cumulative().back(); }

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

MetricsRegistry::Series& MetricsRegistry::series(const std::string& name, const std::string& help, Kind kind,
                                                 const std::string& labels) {
  std::lock_guard lock(mu_);
  Family* fam = nullptr;
  for (auto& f : families_)
    if (f->name == name) fam = f.get();
  if (!fam) {
    families_.push_back(std::make_unique<Family>(Family{name, help, kind, {}}));
    fam = families_.back().get();
  } else if (fam->kind != kind) {
    throw std::logic_error("metric " + name + " registered with two types");
  }
  for (auto& s : fam->series)
    if (s->labels == labels) return *s;
  fam->series.push_back(std::make_unique<Series>());
  fam->series.back()->labels = labels;
  return *fam->series.back();
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, const std::string& labels) {
  auto& s = series(name, help, Kind::Counter, labels);
  std::lock_guard lock(mu_);
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const std::string& labels) {
  auto& s = series(name, help, Kind::Gauge, labels);
  std::lock_guard lock(mu_);
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help, const std::string& labels,
                                      std::vector<double> bounds) {
  auto& s = series(name, help, Kind::Histogram, labels);
  std::lock_guard lock(mu_);
  if (!s.histogram) s.histogram = std::make_unique<Histogram>(std::move(bounds));
  return *s.histogram;
}

void MetricsRegistry::gauge_fn(const std::string& name, const std::string& help, std::function<double()> fn) {
  auto& s = series(name, help, Kind::GaugeFn, "");
  std::lock_guard lock(mu_);
  s.fn = std::move(fn);
}

static std::string fmt_double(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream o;
  o.precision(10);
  o << v;
  return o.str();
}

static std::string with_labels(const std::string& labels, const std::string& extra = "") {
  std::string all = labels;
  if (!extra.empty()) all += (all.empty() ? "" : ",") + extra;
  return all.empty() ? "" : "{" + all + "}";
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mu_);
  std::ostringstream o;
  for (const auto& f : families_) {
    static const char* kTypes[] = {"counter", "gauge", "histogram", "gauge"};
    o << "# HELP " << f->name << ' ' << f->help << '\n';
    o << "# TYPE " << f->name << ' ' << kTypes[static_cast<int>(f->kind)] << '\n';
    for (const auto& s : f->series) {
      switch (f->kind) {
        case Kind::Counter:
          o << f->name << with_labels(s->labels) << ' ' << s->counter->value() << '\n';
          break;
        case Kind::Gauge:
          o << f->name << with_labels(s->labels) << ' ' << s->gauge->value() << '\n';
          break;
        case Kind::GaugeFn:
          o << f->name << with_labels(s->labels) << ' ' << fmt_double(s->fn ? s->fn() : 0) << '\n';
          break;
        case Kind::Histogram: {
          const auto& h = *s->histogram;
          auto cum = h.cumulative();
          for (size_t i = 0; i < h.bounds().size(); ++i)
            o << f->name << "_bucket" << with_labels(s->labels, "le=\"" + fmt_double(h.bounds()[i]) + "\"") << ' '
              << cum[i] << '\n';
          o << f->name << "_bucket" << with_labels(s->labels, "le=\"+Inf\"") << ' ' << cum.back() << '\n';
          o << f->name << "_sum" << with_labels(s->labels) << ' ' << fmt_double(h.sum()) << '\n';
          o << f->name << "_count" << with_labels(s->labels) << ' ' << cum.back() << '\n';
          break;
        }
      }
    }
  }
  return o.str();
}

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace resv
