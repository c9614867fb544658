#include "server/http_server.h"

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <array>
#include <cstddef>
#include <functional>
#include <new>
#include <random>
#include <tuple>
#include <spdlog/spdlog.h>

#include "base/logfmt.h"
#include "server/beast_request.h"
#include "server/converters.h"
#include "server/errors.h"
#include "server/router.h"

namespace resv {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Request ids: a per-process random prefix and a counter; cheap and unique.
std::string next_request_id() {
  static const uint32_t prefix = std::random_device{}();
  static std::atomic<uint64_t> counter{0};
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%08x-%llu", prefix,
                        static_cast<unsigned long long>(counter.fetch_add(1, std::memory_order_relaxed)));
  return std::string(buf, static_cast<size_t>(n));
}

// A client-supplied X-Request-Id is kept if it is short and plain.
std::string request_id_from(std::string_view given) {
  if (given.empty() || given.size() > 64) return next_request_id();
  for (char c : given)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return next_request_id();
  return std::string(given);
}

// Where Beast keeps a request's target and header fields, which it
// allocates one by one: a per-connection buffer that every request on the
// connection reuses (reset between requests), and the heap beyond it.
class FieldArena {
 public:
  void* allocate(size_t n, size_t align) {
    size_t at = (used_ + align - 1) / align * align;
    if (at + n > buf_.size()) return ::operator new(n);
    used_ = at + n;
    return buf_.data() + at;
  }
  void deallocate(void* p, size_t) noexcept {
    auto* c = static_cast<char*>(p);
    std::less<const char*> before;  // total order, unlike < on pointers into different objects
    if (before(c, buf_.data()) || !before(c, buf_.data() + buf_.size())) ::operator delete(p);
  }
  // Only while nothing allocated here is in use.
  void reset() { used_ = 0; }

 private:
  alignas(std::max_align_t) std::array<char, 1024> buf_;
  size_t used_ = 0;
};

template <class T>
struct ArenaAllocator {
  using value_type = T;
  FieldArena* arena;
  explicit ArenaAllocator(FieldArena* a) noexcept : arena(a) {}
  template <class U>
  ArenaAllocator(const ArenaAllocator<U>& other) noexcept : arena(other.arena) {}
  T* allocate(size_t n) { return static_cast<T*>(arena->allocate(n * sizeof(T), alignof(T))); }
  void deallocate(T* p, size_t n) noexcept { arena->deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const ArenaAllocator<U>& other) const noexcept {
    return arena == other.arena;
  }
};

// One connection. Beast parses the request from the connection's own buffer
// (a pipelined request stays there for the next turn); the reply goes out as
// one pre-formatted head and the body, shared or owned, without a copy. One
// idle timer per connection, not one per operation: activity only moves
// `deadline_`, and the timer re-arms itself when it fires early.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpServerOptions& opts, const Router& router, ConnectionState& state)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), opts_(opts), router_(router), state_(state) {}

  void start() {
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] {
      self->touch(std::chrono::seconds(self->opts_.idle_timeout_s));
      self->arm_timer();
      self->read();
    });
  }

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kReadChunk = 8192;

  void touch(Clock::duration d) { deadline_ = Clock::now() + d; }

  void arm_timer() {
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->socket_.is_open()) return;
      if (Clock::now() < self->deadline_) return self->arm_timer();
      self->close();  // idle, or a read or write stalled: both end with operation_aborted
    });
  }

  void read() {
    parser_.reset();
    arena_.reset();
    parser_.emplace(std::piecewise_construct, std::make_tuple(), std::make_tuple(ArenaAllocator<char>(&arena_)));
    continue_sent_ = false;
    parser_->body_limit(opts_.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(opts_.max_header_bytes));
    touch(std::chrono::seconds(opts_.idle_timeout_s));
    parse();
  }

  // Feeds what is buffered to the parser; reads more while it needs more.
  void parse() {
    while (buffer_.size() > 0 && !parser_->is_done()) {
      beast::error_code ec;
      buffer_.consume(parser_->put(buffer_.data(), ec));
      if (ec == http::error::need_more) break;
      if (ec) return refuse(ec);
    }
    if (parser_->is_done()) return on_request();
    if (parser_->is_header_done() && !continue_sent_ && expects_continue()) return send_continue();
    socket_.async_read_some(buffer_.prepare(kReadChunk), [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) return self->close();  // end of stream, reset, timeout: nothing to answer
      self->buffer_.commit(n);
      self->parse();
    });
  }

  // "Expect: 100-continue" (curl sends it before a body over 1 KiB): the
  // client waits for this before it sends the body (RFC 9110, 10.1.1). A
  // body over the limit was refused with the head, before this.
  bool expects_continue() const {
    return parser_->get().version() == 11 && beast::iequals(parser_->get()[http::field::expect], "100-continue");
  }
  void send_continue() {
    continue_sent_ = true;
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(socket_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->close();
                       self->parse();
                     });
  }

  // Oversized or malformed: answer once, then close (the stream is unusable).
  void refuse(beast::error_code ec) {
    Status s = ec == http::error::body_limit
                   ? Status::Error(ErrorCode::PayloadTooLarge,
                                   "the request body is larger than " + std::to_string(opts_.max_body_bytes) + " bytes")
               : ec == http::error::header_limit
                   ? Status::Invalid("the request headers are larger than " + std::to_string(opts_.max_header_bytes) +
                                     " bytes")
                   : Status::Invalid("malformed HTTP request: " + ec.message());
    HttpResponse resp = error_response(s);
    if (ec == http::error::header_limit) resp.status = 431;
    keep_alive_ = false;
    unread_input_ = true;
    state_.in_flight.fetch_add(1);
    write(std::move(resp));
  }

  void on_request() {
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    head_only_ = msg.method() == http::verb::head;
    if (!host_header_ok(msg)) {
      keep_alive_ = false;
      state_.in_flight.fetch_add(1);
      return write(error_response(Status::Invalid(
          "an HTTP/1.1 request needs exactly one Host header (RFC 9112, 3.2); send Host: <host>:<port>")));
    }
    HttpRequest req = to_http_request(msg);
    req.request_id = request_id_from(req.header("x-request-id"));
    state_.in_flight.fetch_add(1);
    router_.dispatch(std::move(req), [self = shared_from_this()](HttpResponse resp) {
      // Inline when the reply comes on the connection's own thread (answers
      // from memory, and the database's when the pool shares the loop);
      // queued when it comes from elsewhere.
      net::dispatch(self->socket_.get_executor(),
                    [self, resp = std::move(resp)]() mutable { self->write(std::move(resp)); });
    });
  }

  void write(HttpResponse resp) {
    keep_alive_ = keep_alive_ && !state_.draining.load();
    shared_body_ = std::move(resp.shared_body);
    body_ = std::move(resp.body);
    const std::string& body = shared_body_ ? *shared_body_ : body_;
    head_ = response_head(resp, version_, keep_alive_, body.size());
    touch(std::chrono::seconds(opts_.idle_timeout_s));
    // HEAD: the head of the GET answer, its Content-Length included, only.
    std::array<net::const_buffer, 2> out{net::buffer(head_), net::buffer(body.data(), head_only_ ? 0 : body.size())};
    net::async_write(socket_, out, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->state_.in_flight.fetch_sub(1);
      if (!ec && self->unread_input_) return self->drain_then_close();
      if (ec) return self->close();
      if (!self->keep_alive_) return self->finish();
      self->read();
    });
  }

  // The client may still be sending the request we refused: closing now
  // would reset the connection and lose our answer. Stop sending, read and
  // discard for a bounded time and size, then close (RFC 9112, 9.6).
  void drain_then_close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    touch(std::chrono::seconds(2));
    timer_.cancel();  // its handler returns; the new wait ends at the shorter deadline
    arm_timer();
    discard();
  }

  void discard() {
    socket_.async_read_some(net::buffer(discard_buf_), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->discarded_ += n;
      if (ec || self->discarded_ > (1u << 20)) return self->close();
      self->discard();
    });
  }

  // After a "Connection: close" answer: send FIN first, so that a request the
  // client sent meanwhile does not turn the close into a reset.
  void finish() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    close();
  }

  void close() {
    beast::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  tcp::socket socket_;
  net::steady_timer timer_;
  Clock::time_point deadline_;
  beast::flat_buffer buffer_;
  FieldArena arena_;  // before parser_, which uses it
  std::optional<http::request_parser<http::string_body, ArenaAllocator<char>>> parser_;
  std::string head_, body_;
  std::shared_ptr<const std::string> shared_body_;
  const HttpServerOptions& opts_;
  const Router& router_;
  ConnectionState& state_;
  bool keep_alive_ = true;
  bool unread_input_ = false;  // a refused request may still be arriving
  std::array<char, 4096> discard_buf_{};
  size_t discarded_ = 0;
  unsigned version_ = 11;
  bool head_only_ = false;
  bool continue_sent_ = false;
};

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(net::io_context& io, HttpServerOptions o, const Router& r, ConnectionState& s)
      : ioc(io), opts(std::move(o)), router(r), state(s), acceptor(io) {}

  void accept() {
    auto on_accept = [self = shared_from_this()](beast::error_code ec, tcp::socket sock) {
      if (ec == net::error::operation_aborted || !self->acceptor.is_open()) return;
      if (ec) {
        spdlog::warn("msg=\"accept failed\" error={}", logfmt(ec.message()));
      } else {
        self->start_session(std::move(sock));
        self->accept_backlog();
      }
      self->accept();
    };
    if (opts.io_threads > 1)
      acceptor.async_accept(net::make_strand(ioc), std::move(on_accept));
    else
      acceptor.async_accept(ioc, std::move(on_accept));
  }

  // In a burst, take every connection already waiting (the acceptor is
  // non-blocking): one accept per turn of the event loop would leave the
  // last arrivals' first requests queued behind everyone else's follow-ups.
  void accept_backlog() {
    for (int i = 0; i < 1024; ++i) {
      beast::error_code ec;
      tcp::socket sock = opts.io_threads > 1 ? tcp::socket(net::make_strand(ioc)) : tcp::socket(ioc);
      acceptor.accept(sock, ec);
      if (ec) return;
      start_session(std::move(sock));
    }
  }

  void start_session(tcp::socket sock) {
    beast::error_code ignored;
    sock.set_option(tcp::no_delay(true), ignored);
    std::make_shared<Session>(std::move(sock), opts, router, state)->start();
  }

  net::io_context& ioc;
  HttpServerOptions opts;
  const Router& router;
  ConnectionState& state;
  tcp::acceptor acceptor;
};

HttpServer::HttpServer(net::io_context& ioc, HttpServerOptions options, const Router& router, ConnectionState& state)
    : impl_(std::make_shared<Impl>(ioc, std::move(options), router, state)) {}

HttpServer::~HttpServer() = default;

Status HttpServer::listen() {
  beast::error_code ec;
  auto addr = net::ip::make_address(impl_->opts.host, ec);
  std::string where = impl_->opts.host + ":" + std::to_string(impl_->opts.port);
  if (ec) return Status::Invalid("invalid listen address '" + impl_->opts.host + "': " + ec.message());
  tcp::endpoint ep(addr, impl_->opts.port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (!ec) a.non_blocking(true, ec);
  if (ec) {
    std::string hint = ec == net::error::address_in_use ? " (hint: another process uses this port; stop it or pick "
                                                          "another with --port/--admin-port)"
                                                        : "";
    return Status::Error(ErrorCode::Internal, "cannot listen on " + where + ": " + ec.message() + hint);
  }
  impl_->accept();
  return Status::Ok();
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpServer::close() {
  net::post(impl_->ioc, [impl = impl_] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
  });
}

}  // namespace resv
