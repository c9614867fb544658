// resv-loadgen: an HTTP/1.1 load generator for the reservation scenarios that
// wrk cannot express (distinct users and seats per request, a fixed number of
// attempts per connection). One thread, asynchronous, keep-alive; prints one
// JSON summary line: counts by status class and code, throughput, latency
// percentiles. Two latencies per response: from just before sending to the
// response parsed (p50_ms, p95_ms, ...: what the client saw, including the
// time this one thread took to get to it), and to the kernel's arrival time
// of its last data at the socket (arrival_*: what the server and the network
// took, without the load generator's own queue).
//
//   --scenario seats      POST a hold of seat first_seat+i for user first_user+i (i = 0,1,2,...)
//   --scenario pool       POST a hold of `quantity` units of pool for user first_user+i
//   --scenario contended  connection c POSTs `per-connection` identical holds of the pool for user first_user+c
//   --scenario get        GET --path
//   --scenario issue      POST a queue token request for user first_user+i of --concert
//   --scenario pay        POST the payment of reservation first_reservation+i by user first_user+i
// --rate R paces the requests at R per second in all (request i leaves at
// t0 + i/R, or as soon after as a connection is free); a latency in the
// summary starts when the request is sent; the trace also gives when it was
// due, to count from there.
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <sys/socket.h>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  int connections = 32;
  long requests = 0;        // total; 0: until duration
  int per_connection = 0;   // contended: requests per connection
  double duration_s = 0;    // 0: until requests are done
  std::string scenario = "seats";
  std::string path = "/";
  std::string trace;  // file: "sent_ms latency_ms connection attempt status arrival_ms due_ms" per response
  long schedule = 1, pool = 1, quantity = 1, first_user = 1, first_seat = 1, concert = 1, first_reservation = 1;
  double rate = 0;  // requests per second in all; 0: as fast as the connections go
};

struct Stats {
  std::vector<double> latencies_ms;  // send to response parsed
  std::vector<double> arrival_ms;    // send to the response's last data arriving at the socket (kernel time)
  std::vector<double> first_ms;  // each connection's first request: includes waiting to be accepted
  std::vector<std::string> trace;  // --trace: one line per response
  Clock::time_point t0;
  std::map<int, long> by_status;
  std::map<std::string, long> by_code;
  long errors = 0;  // connection-level failures
};

class Conn;

// Sends the first request of connected connections, at most kPerTurn per
// turn of the event loop. A response is timed when the loop reads it; if the
// loop sent on every connection as its connect completed, a response that
// was not back at once would wait behind all 2,000 queued connect events
// (tens of milliseconds of sending) and be counted as the server's latency.
// Between two turns the loop reads whatever has arrived.
class Starter {
 public:
  explicit Starter(net::io_context& ioc) : ioc_(ioc) {}
  void add(std::shared_ptr<Conn> c) {
    ready_.push_back(std::move(c));
    if (pumping_) return;
    pumping_ = true;
    net::post(ioc_, [this] { turn(); });
  }

 private:
  static constexpr int kPerTurn = 16;
  void turn();
  net::io_context& ioc_;
  std::deque<std::shared_ptr<Conn>> ready_;
  bool pumping_ = false;
};

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(net::io_context& ioc, const Options& o, Stats& s, long& next, int index, Clock::time_point deadline)
      : stream_(ioc), pace_(ioc), o_(o), s_(s), next_(next), index_(index), deadline_(deadline) {}

  void start(const tcp::endpoint& ep, Starter& starter) {
    stream_.async_connect(ep, [self = shared_from_this(), &starter](beast::error_code ec) {
      if (ec) {
        self->s_.errors++;
        return;
      }
      self->stream_.socket().set_option(tcp::no_delay(true));
      int on = 1;
      ::setsockopt(self->stream_.socket().native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
      starter.add(self);
    });
  }

  void send() {
    if (!build(req_)) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    if (o_.rate > 0) {
      auto due = s_.t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(due_ms()));
      if (Clock::now() < due) {
        pace_.expires_at(due);
        pace_.async_wait([self = shared_from_this()](beast::error_code) { self->write(); });
        return;
      }
    }
    write();
  }

  // When this request was due, in ms from t0: with --rate, its place in the
  // schedule (a stalled server delays the sending, and latency counted from
  // here includes that delay: no coordinated omission); else when it was sent.
  double due_ms() const {
    if (o_.rate > 0) return static_cast<double>(request_index_) * 1000.0 / o_.rate;
    return std::chrono::duration<double, std::milli>(start_ - s_.t0).count();
  }

  void write() {
    start_ = Clock::now();
    start_wall_ = std::chrono::system_clock::now();
    http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->s_.errors++;
        return;
      }
      self->res_.emplace();
      self->res_->eager(true);
      self->receive();
    });
  }

 private:
  bool build(http::request<http::string_body>& req) {
    if (o_.duration_s > 0 && Clock::now() >= deadline_) return false;
    long i;
    if (o_.per_connection > 0 && sent_ >= o_.per_connection) return false;
    if (o_.scenario == "contended") {
      i = index_;
    } else {
      if (o_.requests > 0 && next_ >= o_.requests) return false;
      i = next_++;
    }
    request_index_ = i;
    sent_++;
    req = {};
    req.version(11);
    req.set(http::field::host, o_.host);
    if (o_.scenario == "get") {
      req.method(http::verb::get);
      req.target(o_.path);
      return true;
    }
    req.method(http::verb::post);
    req.set(http::field::content_type, "application/json");
    std::string user = std::to_string(o_.first_user + i), sched = std::to_string(o_.schedule);
    if (o_.scenario == "pay") {
      req.target("/api/reservations/" + std::to_string(o_.first_reservation + i) + "/payment");
      req.body() = "{\"userId\":" + user + "}";
      req.prepare_payload();
      return true;
    }
    if (o_.scenario == "issue") {
      req.target("/api/queue/tokens");
      req.body() = "{\"userId\":" + user + ",\"concertId\":" + std::to_string(o_.concert) + "}";
      req.prepare_payload();
      return true;
    }
    req.target("/api/reservations");
    if (o_.scenario == "seats")
      req.body() = "{\"userId\":" + user + ",\"scheduleId\":" + sched + ",\"seatIds\":[" +
                   std::to_string(o_.first_seat + i) + "]}";
    else
      req.body() = "{\"userId\":" + user + ",\"scheduleId\":" + sched + ",\"poolId\":" + std::to_string(o_.pool) +
                   ",\"quantity\":" + std::to_string(o_.quantity) + "}";
    req.prepare_payload();
    return true;
  }

  // Parses what is buffered and reads more until the response is whole.
  // Reads with recvmsg to get the kernel's arrival time of the data (the
  // socket has SO_TIMESTAMPNS); like Asio's own read, it first tries at once
  // and waits for readiness only when nothing is there.
  void receive() {
    for (;;) {
      while (buf_.size() > 0 && !res_->is_done()) {
        beast::error_code ec;
        buf_.consume(res_->put(buf_.data(), ec));
        if (ec == http::error::need_more) break;
        if (ec) return fail();
      }
      if (res_->is_done()) return on_response();
      auto space = buf_.prepare(4096);
      iovec iov{space.data(), space.size()};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t n = ::recvmsg(stream_.socket().native_handle(), &msg, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
          if (ec) return self->fail();
          self->receive();
        });
        return;
      }
      if (n <= 0) return fail();
      buf_.commit(static_cast<size_t>(n));
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
          timespec ts;
          std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
          arrived_wall_ = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
        }
    }
  }

  void fail() { s_.errors++; }

  void on_response() {
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
    s_.latencies_ms.push_back(ms);
    s_.arrival_ms.push_back(std::chrono::duration<double, std::milli>(arrived_wall_ - start_wall_).count());
    if (sent_ == 1) s_.first_ms.push_back(ms);
    int status = static_cast<int>(res_->get().result_int());
    if (!o_.trace.empty())
      s_.trace.push_back(std::to_string(std::chrono::duration<double, std::milli>(start_ - s_.t0).count()) + " " +
                         std::to_string(ms) + " " + std::to_string(index_) + " " + std::to_string(sent_) + " " +
                         std::to_string(status) + " " + std::to_string(s_.arrival_ms.back()) + " " +
                         std::to_string(due_ms()));
    s_.by_status[status]++;
    const auto& body = res_->get().body();
    auto p = body.find("\"code\":\"");
    if (p != std::string::npos) s_.by_code[body.substr(p + 8, body.find('"', p + 8) - p - 8)]++;
    if (!res_->get().keep_alive()) {
      s_.errors++;
      return;
    }
    send();
  }

  beast::tcp_stream stream_;
  net::steady_timer pace_;
  long request_index_ = 0;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  std::optional<http::response_parser<http::string_body>> res_;
  const Options& o_;
  Stats& s_;
  long& next_;
  int index_;
  int sent_ = 0;
  Clock::time_point deadline_, start_;
  std::chrono::system_clock::time_point start_wall_, arrived_wall_;  // arrived: the last data read, by the kernel's clock
};

void Starter::turn() {
  for (int k = 0; k < kPerTurn && !ready_.empty(); ++k) {
    ready_.front()->send();
    ready_.pop_front();
  }
  if (ready_.empty())
    pumping_ = false;
  else
    net::post(ioc_, [this] { turn(); });
}

static double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"resv-loadgen: HTTP load for reservation scenarios", "resv-loadgen"};
  app.add_option("--host", o.host);
  app.add_option("--port", o.port)->required();
  app.add_option("--connections,-c", o.connections);
  app.add_option("--requests,-n", o.requests, "Total requests (seats/pool/get)");
  app.add_option("--per-connection", o.per_connection, "Requests per connection, then close");
  app.add_option("--duration,-d", o.duration_s, "Seconds to run");
  app.add_option("--scenario", o.scenario)->check(CLI::IsMember({"seats", "pool", "contended", "get", "issue", "pay"}));
  app.add_option("--first-reservation", o.first_reservation, "Reservation paid by the pay scenario's request 0");
  app.add_option("--rate", o.rate, "Requests per second in all (0: as fast as possible)");
  app.add_option("--concert", o.concert, "Concert of the issue scenario");
  app.add_option("--path", o.path);
  app.add_option("--schedule", o.schedule);
  app.add_option("--pool", o.pool);
  app.add_option("--quantity", o.quantity);
  app.add_option("--first-user", o.first_user);
  app.add_option("--first-seat", o.first_seat);
  app.add_option("--trace", o.trace, "Write one line per response to this file, after a first line \"# t0_unix_ms T\"");
  CLI11_PARSE(app, argc, argv);
  if (o.requests == 0 && o.duration_s == 0 && o.per_connection == 0) {
    std::fprintf(stderr, "resv-loadgen: error: give --requests, --duration or --per-connection\n");
    return 2;
  }

  net::io_context ioc{1};
  Stats stats;
  long next = 0;
  tcp::endpoint ep(net::ip::make_address(o.host), static_cast<unsigned short>(o.port));
  auto t0 = stats.t0 = Clock::now();
  // The trace's times count from here: its first line gives this instant on
  // the wall clock, to line them up with the server's and PostgreSQL's logs.
  auto t0_unix_ms = std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));
  Starter starter(ioc);
  for (int c = 0; c < o.connections; ++c) std::make_shared<Conn>(ioc, o, stats, next, c, deadline)->start(ep, starter);
  ioc.run();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();

  if (!o.trace.empty()) {
    FILE* f = std::fopen(o.trace.c_str(), "w");
    if (f) {
      std::fprintf(f, "# t0_unix_ms %.3f\n", t0_unix_ms);
      for (const auto& line : stats.trace) std::fprintf(f, "%s\n", line.c_str());
      std::fclose(f);
    }
  }
  long total = 0, c2 = 0, c4 = 0, c5 = 0;
  for (auto [s, n] : stats.by_status) {
    total += n;
    if (s / 100 == 2) c2 += n;
    if (s / 100 == 4) c4 += n;
    if (s / 100 == 5) c5 += n;
  }
  std::string codes;
  for (const auto& [k, n] : stats.by_code) codes += (codes.empty() ? "" : ",") + ("\"" + k + "\":" + std::to_string(n));
  auto& l = stats.latencies_ms;
  double mx = l.empty() ? 0 : *std::max_element(l.begin(), l.end());
  std::printf(
      "{\"scenario\":\"%s\",\"connections\":%d,\"seconds\":%.3f,\"responses\":%ld,\"ok2xx\":%ld,\"client4xx\":%ld,"
      "\"server5xx\":%ld,\"connErrors\":%ld,\"rps\":%.1f,\"ok_per_s\":%.1f,\"p50_ms\":%.3f,\"p95_ms\":%.3f,"
      "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"first_p50_ms\":%.3f,\"first_p95_ms\":%.3f,\"arrival_p50_ms\":%.3f,"
      "\"arrival_p95_ms\":%.3f,\"arrival_p99_ms\":%.3f,\"arrival_max_ms\":%.3f,\"codes\":{%s}}\n",
      o.scenario.c_str(), o.connections, secs, total, c2, c4, c5, stats.errors, static_cast<double>(total) / secs,
      static_cast<double>(c2) / secs, percentile(l, 50), percentile(l, 95), percentile(l, 99), mx,
      percentile(stats.first_ms, 50), percentile(stats.first_ms, 95), percentile(stats.arrival_ms, 50),
      percentile(stats.arrival_ms, 95), percentile(stats.arrival_ms, 99),
      stats.arrival_ms.empty() ? 0 : *std::max_element(stats.arrival_ms.begin(), stats.arrival_ms.end()), codes.c_str());
  return 0;
}
