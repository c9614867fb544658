#include "cli/http_client.h"

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace resv::cli {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpClient::Impl {
  std::string host;
  uint16_t port;
  std::chrono::milliseconds timeout;
  net::io_context ioc;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  // Runs one asynchronous operation to its end and throws its error. The
  // stream's expiry applies to asynchronous operations only: a synchronous
  // read from a server that accepts and never answers (stopped, deadlocked)
  // would wait forever.
  template <class Start>
  size_t await(Start start) {
    beast::error_code result;
    size_t bytes = 0;
    start([&](beast::error_code ec, auto... n) {
      result = ec;
      ((bytes = n), ...);
    });
    ioc.restart();
    ioc.run();
    if (result) throw beast::system_error(result);
    return bytes;
  }

  void connect() {
    stream = std::make_unique<beast::tcp_stream>(ioc);
    stream->expires_after(timeout);
    await([&](auto done) { stream->async_connect(tcp::endpoint(net::ip::make_address(host), port), done); });
    stream->socket().set_option(tcp::no_delay(true));
    buffer.clear();
  }
};

HttpClient::HttpClient(std::string host, uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout = timeout;
}

HttpClient::~HttpClient() = default;

HttpResult HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                               const std::map<std::string, std::string>& headers) {
  HttpResult out;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = impl_->stream != nullptr;
    try {
      if (!reused) impl_->connect();
      http::request<http::string_body> req{http::string_to_verb(method), target, 11};
      req.set(http::field::host, impl_->host);
      if (!body.empty()) req.set(http::field::content_type, "application/json");
      for (const auto& [k, v] : headers) req.set(k, v);
      req.body() = body;
      req.prepare_payload();
      impl_->stream->expires_after(impl_->timeout);  // the whole exchange
      impl_->await([&](auto done) { http::async_write(*impl_->stream, req, done); });
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      impl_->await([&](auto done) { http::async_read(*impl_->stream, impl_->buffer, parser, done); });
      auto& res = parser.get();
      out.status = static_cast<int>(res.result_int());
      out.body = res.body();
      for (const auto& f : res) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers[name] = std::string(f.value());
      }
      if (!res.keep_alive()) impl_->stream.reset();
      return out;
    } catch (const std::exception& e) {
      impl_->stream.reset();
      out.status = 0;
      out.error = e.what();
      if (!reused) break;  // only a stale keep-alive connection is worth a second try
    }
  }
  return out;
}

std::string HttpClient::raw(const std::string& bytes) {
  try {
    impl_->connect();
    impl_->stream->expires_after(impl_->timeout);
    impl_->await([&](auto done) { net::async_write(*impl_->stream, net::buffer(bytes), done); });
    std::string got;
    char buf[4096];
    try {
      for (;;) got.append(buf, impl_->await([&](auto done) { impl_->stream->async_read_some(net::buffer(buf), done); }));
    } catch (const beast::system_error&) {  // the end of the answer: the server closed, or the time is up
    }
    impl_->stream.reset();
    return got;
  } catch (const std::exception& e) {
    impl_->stream.reset();
    return std::string("error: ") + e.what();
  }
}

}  // namespace resv::cli
