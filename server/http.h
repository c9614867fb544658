#pragma once
// Transport-neutral request/response types. Only http_server.cpp (and
// beast_request.h, which turns Beast's request into HttpRequest) sees Beast.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace resv {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string
  std::string query;   // raw, without '?'
  std::string body;
  std::string request_id;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::vector<std::string> params;                           // path parameters, set by the router

  // Header value, "" when absent. `name` must be lower-case.
  std::string header(std::string_view name) const;
  // Decoded query parameter, nullopt when absent.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string_view content_type = "application/json";  // a literal: no allocation per response
  std::string body;
  std::shared_ptr<const std::string> shared_body;  // used instead of body when set (cached reads)
  std::vector<std::pair<std::string, std::string>> headers;
};

// Sends the response; callable from any thread, exactly once.
using Reply = std::function<void(HttpResponse)>;
using Handler = std::function<void(const HttpRequest&, Reply)>;

// The status line and headers of `r` (not its body), ending with the blank
// line: Server, Content-Type, r.headers, Content-Length, and Connection when
// it differs from the version's default. Pure.
std::string response_head(const HttpResponse& r, unsigned version, bool keep_alive, size_t body_size);

// Percent-decodes a query component ('+' is a space). Pure.
std::string url_decode(std::string_view s);

}  // namespace resv
