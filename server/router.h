#pragma once
// Routes by method and path pattern ("/api/concerts/{id}"), and wraps every
// handler once: request id, timing, per-route metrics, logging, and turning
// an escaped exception into a 500 instead of a hung connection.
#include <string>
#include <vector>

#include "base/metrics.h"
#include "base/recent_requests.h"
#include "server/http.h"

namespace resv {

class Router {
 public:
  Router(MetricsRegistry& metrics, std::string listener, bool access_log);
  // Registers a route; `{name}` segments match any single non-empty segment
  // and are passed in HttpRequest::params in order.
  void add(const std::string& method, const std::string& pattern, Handler handler);
  // 404 NOT_FOUND for an unknown path, 405 with an Allow header for a known
  // path and another method. HEAD goes to the GET route (the connection
  // sends the head of its answer only).
  void dispatch(HttpRequest request, Reply reply) const;
  // Also counts every answer in `recent` (the last minute, for /admin/status).
  void keep_recent(RecentRequests& recent) { recent_ = &recent; }

 private:
  struct Route {
    std::string method, pattern;
    std::vector<std::string> segments;
    Handler handler;
    Counter* by_class[5];  // 1xx..5xx
    Histogram* latency;
  };
  // The route for the request's method and path, or nullptr with `allow`
  // listing the methods the path has ("" when none).
  const Route* match(const HttpRequest& req, std::vector<std::string>& params, std::string& allow) const;
  void finish(const Route* route, const HttpRequest& req, HttpResponse& resp, double seconds) const;

  MetricsRegistry& metrics_;
  std::string listener_;
  bool access_log_;
  std::vector<Route> routes_;
  RecentRequests* recent_ = nullptr;
  Route unmatched_;
};

// Splits "/a/b/c" into {"a","b","c"}. Pure.
std::vector<std::string> split_path(const std::string& path);

}  // namespace resv
