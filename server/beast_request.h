#pragma once
// A request as Beast parsed it, as the server takes it: the connection
// (http_server.cpp) and the fuzz target of the request path
// (tests/fuzz/http_request.cpp) both go through here. Header-only, and with
// http_server.cpp the only place that sees Beast.
#include <boost/beast/http.hpp>
#include <cctype>
#include <string>
#include <string_view>

#include "server/http.h"

namespace resv {

// RFC 9112, 3.2: an HTTP/1.1 request has exactly one Host header; without
// one, or with two, it is refused (400).
template <class Fields>
bool host_header_ok(const boost::beast::http::request<boost::beast::http::string_body, Fields>& msg) {
  return msg.version() != 11 || msg.count(boost::beast::http::field::host) == 1;
}

// Method, path and query (split at '?'), the body (moved out of `msg`), the
// headers with lower-case names. The request id is left to the caller.
template <class Fields>
HttpRequest to_http_request(boost::beast::http::request<boost::beast::http::string_body, Fields>& msg) {
  HttpRequest req;
  req.method = std::string(msg.method_string());
  std::string_view target(msg.target().data(), msg.target().size());
  auto q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
  req.body = std::move(msg.body());
  req.headers.reserve(8);
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  return req;
}

}  // namespace resv
