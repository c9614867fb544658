#include "bench/load.h"

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <cstdio>
#include <thread>

namespace resv {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// What the threads share: the run's clock, its request slots and its end.
struct Shared {
  const LoadOptions& o;
  Clock::time_point t0, deadline;
  std::atomic<int64_t> next_slot{0};
  LoadProgress* progress;
  bool has_deadline() const { return o.duration_s > 0; }
  bool open_loop() const { return o.rate > 0 || o.ramp; }
};

// Per thread: its stats, merged at the end.
struct ThreadStats {
  std::map<std::string, StepStats> steps;
  int64_t late = 0;
  std::vector<std::pair<double, std::string>> trace;  // due ms, line
};

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(net::io_context& ioc, Shared& shared, ThreadStats& stats, std::unique_ptr<ConnectionScript> script,
       tcp::endpoint ep)
      : stream_(ioc), pace_(ioc), sh_(shared), stats_(stats), script_(std::move(script)), ep_(ep) {}

  void start() { connect_then([self = shared_from_this()] { self->next(nullptr); }); }

 private:
  template <class Then>
  void connect_then(Then then) {
    stream_.expires_after(sh_.o.timeout);
    stream_.async_connect(ep_, [self = shared_from_this(), then](beast::error_code ec) {
      if (ec) return self->fail_connect();
      self->stream_.socket().set_option(tcp::no_delay(true));
      then();
    });
  }

  // Connecting failed: counted against the request it was for, then tried
  // again for the next one (a server restarting comes back).
  void fail_connect() {
    if (!pending_) {
      auto r = script_->next(nullptr);
      if (!r) return;
      pending_ = std::move(*r);
    }
    // The request counts as one of the run's, as if sent: a run of -n N ends.
    if (sh_.next_slot.fetch_add(1) >= sh_.o.requests && sh_.o.requests > 0) return;
    count_system_error(pending_->step, "connection");
    pending_.reset();
    BenchAnswer none;
    auto r = script_->next(&none);
    if (!r || over()) return;
    pending_ = std::move(*r);
    beast::error_code ignored;
    stream_.socket().close(ignored);
    pace_.expires_after(std::chrono::milliseconds(50));  // no busy loop against a closed port
    pace_.async_wait([self = shared_from_this()](beast::error_code) {
      self->connect_then([self] { self->send_pending(); });
    });
  }

  bool over() const { return sh_.has_deadline() && Clock::now() >= sh_.deadline; }

  void next(const BenchAnswer* previous) {
    auto r = script_->next(previous);
    if (!r || over()) return close();
    pending_ = std::move(*r);
    send_pending();
  }

  void send_pending() {
    if (pending_->wait.count() > 0) {
      pace_.expires_after(std::exchange(pending_->wait, std::chrono::milliseconds(0)));
      pace_.async_wait([self = shared_from_this()](beast::error_code) {
        if (self->over()) return self->close();
        self->send_pending();
      });
      return;
    }
    slot_ = sh_.next_slot.fetch_add(1);
    if (sh_.o.requests > 0 && slot_ >= sh_.o.requests) return close();
    if (sh_.open_loop()) {
      const double at = sh_.o.ramp ? sh_.o.ramp->due(static_cast<double>(slot_))
                                   : static_cast<double>(slot_) / sh_.o.rate;
      if (at < 0) return close();  // after the ramp's last stage
      due_ = sh_.t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at));
      if (sh_.has_deadline() && due_ >= sh_.deadline) return close();
      if (Clock::now() < due_) {
        pace_.expires_at(due_);
        pace_.async_wait([self = shared_from_this()](beast::error_code) { self->write(); });
        return;
      }
      if (Clock::now() - due_ > std::chrono::milliseconds(1)) ++stats_.late;
    }
    write();
  }

  void write() {
    sent_ = Clock::now();
    if (!sh_.open_loop()) due_ = sent_;
    // Written out: a Beast request's fields cost allocations per request,
    // and the generator must not be slower than what it measures.
    const BenchRequest& q = *pending_;
    out_.clear();
    out_.append(q.method).append(" ").append(q.target).append(" HTTP/1.1\r\nHost: ").append(sh_.o.host);
    for (const auto& [k, v] : q.headers) out_.append("\r\n").append(k).append(": ").append(v);
    if (!q.body.empty())
      out_.append("\r\nContent-Type: application/json\r\nContent-Length: ").append(std::to_string(q.body.size()));
    out_.append("\r\n\r\n").append(q.body);
    stream_.expires_after(sh_.o.timeout);
    net::async_write(stream_, net::buffer(out_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->answered(ec);
      self->parser_.emplace();
      self->parser_->body_limit(boost::none);  // a seat map of 100,000 seats is ~8 MB
      http::async_read(self->stream_, self->buf_, *self->parser_,
                       [self](beast::error_code ec2, size_t) { self->answered(ec2); });
    });
  }

  void answered(beast::error_code ec) {
    const std::string& step = pending_->step;
    StepStats& s = stats_.steps[step];
    ++s.requests;
    if (sh_.progress) sh_.progress->answered.fetch_add(1, std::memory_order_relaxed);
    if (ec) {
      trace_line(0, ec == beast::error::timeout ? "timeout" : "connection");
      count_system_error(step, ec == beast::error::timeout ? "timeout" : "connection", false);
      pending_.reset();
      BenchAnswer none;
      auto r = script_->next(&none);
      if (!r || over()) return close();
      pending_ = std::move(*r);
      beast::error_code ignored;
      stream_.socket().close(ignored);
      buf_.clear();
      return connect_then([self = shared_from_this()] { self->send_pending(); });
    }
    const auto& res = parser_->get();
    const int status = res.result_int();
    if (sh_.o.trace) {
      const std::string code = error_code_of(res.body());
      trace_line(status, code.empty() ? "-" : code);
    }
    s.latency.record(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - due_).count());
    if (status / 100 == 2) {
      ++s.successes;
    } else {
      std::string code = error_code_of(res.body());
      if (code.empty()) code = "HTTP " + std::to_string(status);
      if (status / 100 == 4) {
        ++s.rejections[code];
      } else {
        ++s.system_errors[status / 100 == 5 && code.rfind("HTTP", 0) != 0 ? "HTTP " + std::to_string(status) + " " + code
                                                                           : code];
        if (sh_.progress) sh_.progress->failed.fetch_add(1, std::memory_order_relaxed);
      }
    }
    const bool keep = res.keep_alive();
    BenchAnswer a{status, res.body()};
    pending_.reset();
    auto r = script_->next(&a);
    if (!r || over()) return close();
    pending_ = std::move(*r);
    if (keep) return send_pending();
    beast::error_code ignored;
    stream_.socket().close(ignored);
    buf_.clear();
    connect_then([self = shared_from_this()] { self->send_pending(); });
  }

  void count_system_error(const std::string& step, const std::string& kind, bool count_request = true) {
    StepStats& s = stats_.steps[step];
    if (count_request) {
      ++s.requests;
      if (sh_.progress) sh_.progress->answered.fetch_add(1, std::memory_order_relaxed);
    }
    ++s.system_errors[kind];
    if (sh_.progress) sh_.progress->failed.fetch_add(1, std::memory_order_relaxed);
  }

  void trace_line(int status, const std::string& code) {
    if (!sh_.o.trace) return;
    auto ms = [&](Clock::time_point t) { return std::chrono::duration<double, std::milli>(t - sh_.t0).count(); };
    char b[96];
    std::snprintf(b, sizeof b, "%.3f %.3f %.3f %d %s ", ms(due_), ms(sent_),
                  std::chrono::duration<double, std::milli>(Clock::now() - due_).count(), status, code.c_str());
    stats_.trace.emplace_back(ms(due_), b + pending_->method + " " + pending_->target + " " + pending_->step);
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  net::steady_timer pace_;
  Shared& sh_;
  ThreadStats& stats_;
  std::unique_ptr<ConnectionScript> script_;
  tcp::endpoint ep_;
  std::optional<BenchRequest> pending_;
  int64_t slot_ = 0;
  Clock::time_point due_, sent_;
  beast::flat_buffer buf_;
  std::string out_;  // the request being sent
  std::optional<http::response_parser<http::string_body>> parser_;
};

}  // namespace

int64_t StepStats::rejected() const {
  int64_t n = 0;
  for (const auto& [code, c] : rejections) n += c;
  return n;
}

int64_t StepStats::failed() const {
  int64_t n = 0;
  for (const auto& [kind, c] : system_errors) n += c;
  return n;
}

void StepStats::merge(const StepStats& other) {
  latency.merge(other.latency);
  requests += other.requests;
  successes += other.successes;
  for (const auto& [k, n] : other.rejections) rejections[k] += n;
  for (const auto& [k, n] : other.system_errors) system_errors[k] += n;
}

std::string error_code_of(std::string_view body) {
  const std::string_view key = "\"code\":\"";
  const auto at = body.find(key);
  if (at == std::string_view::npos) return "";
  const auto start = at + key.size();
  const auto end = body.find('"', start);
  return end == std::string_view::npos ? "" : std::string(body.substr(start, end - start));
}

LoadResult run_load(const LoadOptions& o, const ScriptFactory& scripts, LoadProgress* progress) {
  const int threads = std::max(1, o.threads);
  Shared sh{o, Clock::now(), {}, {}, progress};
  std::vector<ThreadStats> stats(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  const auto address = net::ip::make_address(o.host == "localhost" ? "127.0.0.1" : o.host);
  const tcp::endpoint ep(address, o.port);
  sh.t0 = Clock::now();
  const auto started_at = std::chrono::system_clock::now();
  sh.deadline = sh.t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      net::io_context ioc{1};
      for (int c = t; c < o.connections; c += threads)
        std::make_shared<Conn>(ioc, sh, stats[static_cast<size_t>(t)], scripts(c), ep)->start();
      ioc.run();
    });
  for (auto& th : pool) th.join();
  LoadResult out;
  out.started_at = started_at;
  out.seconds = std::chrono::duration<double>(Clock::now() - sh.t0).count();
  std::vector<std::pair<double, std::string>> trace;
  for (auto& ts : stats) {
    for (const auto& [step, s] : ts.steps) out.steps[step].merge(s);
    out.late += ts.late;
    trace.insert(trace.end(), std::make_move_iterator(ts.trace.begin()), std::make_move_iterator(ts.trace.end()));
  }
  std::stable_sort(trace.begin(), trace.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  out.trace.reserve(trace.size());
  for (auto& [due, line] : trace) out.trace.push_back(std::move(line));
  return out;
}

}  // namespace resv
