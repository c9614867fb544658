#include "server/router.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <spdlog/spdlog.h>

#include "base/logfmt.h"
#include "server/errors.h"

namespace resv {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

static void register_series(MetricsRegistry& m, const std::string& listener, const std::string& route,
                            Counter* (&by_class)[5], Histogram*& latency) {
  std::string labels = "listener=\"" + listener + "\",route=\"" + escape_label(route) + "\"";
  for (int c = 0; c < 5; ++c)
    by_class[c] = &m.counter("resv_http_requests_total", "HTTP requests by route and status class.",
                             labels + ",class=\"" + std::to_string(c + 1) + "xx\"");
  latency = &m.histogram("resv_http_request_duration_seconds", "HTTP request latency by route.", labels);
}

Router::Router(MetricsRegistry& metrics, std::string listener, bool access_log)
    : metrics_(metrics), listener_(std::move(listener)), access_log_(access_log) {
  unmatched_.pattern = "unmatched";
  register_series(metrics_, listener_, unmatched_.pattern, unmatched_.by_class, unmatched_.latency);
}

void Router::add(const std::string& method, const std::string& pattern, Handler handler) {
  Route r;
  r.method = method;
  r.pattern = pattern;
  r.segments = split_path(pattern);
  r.handler = std::move(handler);
  register_series(metrics_, listener_, method + " " + pattern, r.by_class, r.latency);
  routes_.push_back(std::move(r));
}

namespace {

bool is_param(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Whether `path` has the pattern's segments, appending the values of its
// {name} segments to `params` as it goes. Walks the path in place (no
// split): every request passes here.
bool matches(const std::vector<std::string>& pattern, std::string_view path, std::vector<std::string>& params) {
  size_t i = 0;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    std::string_view seg = path.substr(0, path.find('/'));
    path.remove_prefix(seg.size());
    if (i == pattern.size()) return false;
    const std::string& want = pattern[i++];
    if (is_param(want)) {
      params.emplace_back(seg);
    } else if (want != seg) {
      return false;
    }
  }
  return i == pattern.size();
}

}  // namespace

const Router::Route* Router::match(const HttpRequest& req, std::vector<std::string>& params, std::string& allow) const {
  allow.clear();
  for (const auto& r : routes_) {
    params.clear();
    if (!matches(r.segments, req.path, params)) continue;
    // HEAD is GET without the body (RFC 9110, 9.3.2); the connection drops it.
    if (r.method == req.method || (req.method == "HEAD" && r.method == "GET")) return &r;
    if (!allow.empty()) allow.append(", ");
    allow.append(r.method);
    if (r.method == "GET") allow.append(", HEAD");
  }
  params.clear();
  return nullptr;
}

void Router::finish(const Route* route, const HttpRequest& req, HttpResponse& resp, double seconds) const {
  int cls = std::clamp(resp.status / 100, 1, 5);
  route->by_class[cls - 1]->inc();
  route->latency->observe(seconds);
  if (recent_)
    recent_->record(resp.status, seconds,
                    std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::steady_clock::now().time_since_epoch()).count());
  resp.headers.emplace_back("X-Request-Id", req.request_id);
  if (resp.status >= 500)
    spdlog::warn("msg=\"request failed\" request_id={} method={} path={} status={} duration_ms={:.2f}",
                 req.request_id, req.method, req.path, resp.status, seconds * 1000);
  else if (access_log_)
    spdlog::info("msg=request request_id={} method={} path={} status={} duration_ms={:.2f}", req.request_id,
                 req.method, req.path, resp.status, seconds * 1000);
}

void Router::dispatch(HttpRequest request, Reply reply) const {
  auto start = std::chrono::steady_clock::now();
  std::string allow;
  const Route* route = match(request, request.params, allow);
  // One allocation for everything the reply needs (there were three).
  struct Call {
    // Spelled out: clang 14 lacks C++20's aggregate initialization from
    // parentheses, which make_shared needs for an aggregate.
    Call(const Router* r, const Route* rt, std::chrono::steady_clock::time_point t, HttpRequest q, Reply p)
        : router(r), route(rt), start(t), req(std::move(q)), reply(std::move(p)) {}
    const Router* router;
    const Route* route;
    std::chrono::steady_clock::time_point start;
    HttpRequest req;
    Reply reply;
    std::atomic<bool> replied{false};
  };
  auto call = std::make_shared<Call>(this, route ? route : &unmatched_, start, std::move(request), std::move(reply));
  const HttpRequest* req = &call->req;
  Reply wrapped = [call](HttpResponse resp) {
    if (call->replied.exchange(true)) return;  // exactly once, whatever a handler does
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - call->start).count();
    call->router->finish(call->route, call->req, resp, seconds);
    call->reply(std::move(resp));
  };
  if (!route && allow.empty()) {
    wrapped(error_response(
        Status::NotFound("no route for " + req->method + " " + req->path + " (hint: see the API table in the README)")));
    return;
  }
  if (!route) {
    auto resp = error_response(Status::Error(ErrorCode::MethodNotAllowed,
                                             req->method + " is not allowed on " + req->path + "; allowed: " + allow));
    resp.headers.emplace_back("Allow", std::move(allow));
    wrapped(std::move(resp));
    return;
  }
  try {
    route->handler(*req, wrapped);
  } catch (const std::exception& e) {
    spdlog::error("msg=\"handler threw\" request_id={} error={}", req->request_id, logfmt(e.what()));
    wrapped(error_response(Status::Internal("internal error; see the server log for request " + req->request_id)));
  } catch (...) {
    spdlog::error("msg=\"handler threw a non-standard exception\" request_id={}", req->request_id);
    wrapped(error_response(Status::Internal("internal error; see the server log for request " + req->request_id)));
  }
}

}  // namespace resv
