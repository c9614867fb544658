#pragma once
// HTTP/1.1 listener on Asio, with Beast's request parser: keep-alive,
// pipelining, request size and header limits, idle timeout. Each request goes
// to the Router; the handler's reply may come from any thread and is written
// on the connection's executor (a strand with more than one I/O thread).
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace boost::asio {
class io_context;
}

namespace resv {

class Router;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  size_t max_body_bytes = 16 * 1024;
  size_t max_header_bytes = 8 * 1024;
  int idle_timeout_s = 60;
  // With one I/O thread, connections need no strand: every handler already
  // runs on that thread.
  int io_threads = 1;
};

// Shared by all listeners of one process, for graceful shutdown.
struct ConnectionState {
  std::atomic<int64_t> in_flight{0};  // requests read and not yet fully answered
  std::atomic<bool> draining{false};  // answer with Connection: close
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& ioc, HttpServerOptions options, const Router& router, ConnectionState& state);
  ~HttpServer();
  // Binds and starts accepting. An error names the address and what to do.
  Status listen();
  uint16_t port() const;  // the bound port (useful with port 0)
  void close();           // stops accepting; open connections continue

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace resv
