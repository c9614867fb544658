#pragma once
// Helpers shared by the end-to-end tests: error codes, metrics, polling
// (`eventually`, from tests/support/eventually.h), worker threads.
// Header-only (the *_test.cpp glob does not pick it up).
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "eventually.h"
#include "server_process.h"
#include "test_db.h"
#include "test_http.h"

namespace resv::e2e {

using nlohmann::json;
using resv::test::HttpClient;
using resv::test::HttpResult;
using resv::test::ServerProcess;
using resv::test::eventually;  // polling with a deadline (tests/support/eventually.h)

using resv::test::str;  // an id spelt into SQL text (test_db.h)

inline json parse_or_null(const std::string& body) { return json::parse(body, nullptr, false); }

// "code" of an {"error":{...}} answer; "" when the body is not one.
inline std::string error_code(const HttpResult& r) {
  auto j = parse_or_null(r.body);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return "";
  const auto& e = j["error"];
  return e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
}

// "message" of an {"error":{...}} answer; "" when absent.
inline std::string error_message(const HttpResult& r) {
  auto j = parse_or_null(r.body);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return "";
  const auto& e = j["error"];
  return e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
}

inline std::string header(const HttpResult& r, const std::string& lower_name) {
  auto it = r.headers.find(lower_name);
  return it == r.headers.end() ? "" : it->second;
}

inline std::map<std::string, std::string> admin_auth() {
  return {{"Authorization", std::string("Bearer ") + ServerProcess::kAdminToken}};
}

// The server's /metrics text ("" if it could not be read).
inline std::string metrics_text(const ServerProcess& server) {
  HttpClient admin("127.0.0.1", server.admin_port());
  auto r = admin.get("/metrics", admin_auth());
  return r.status == 200 ? r.body : "";
}

// Sum over the series of metric `name` whose label set contains every string
// in `labels` (e.g. `class="5xx"`). Exact name match: `foo` does not match
// `foo_bucket`.
inline double metric_sum(const std::string& text, const std::string& name,
                         const std::vector<std::string>& labels = {}) {
  std::istringstream in(text);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.compare(0, name.size(), name) != 0) continue;
    if (line.size() <= name.size() || (line[name.size()] != '{' && line[name.size()] != ' ')) continue;
    auto space = line.rfind(' ');
    std::string series = line.substr(0, space);
    bool all = true;
    for (const auto& l : labels) all = all && series.find(l) != std::string::npos;
    if (all) sum += std::stod(line.substr(space + 1));
  }
  return sum;
}

// 5xx answers the API listener has counted, over all routes.
inline double api_5xx(const std::string& metrics) {
  return metric_sum(metrics, "resv_http_requests_total", {"listener=\"api\"", "class=\"5xx\""});
}

// Lines of a server log reporting a failed (5xx) API request.
inline std::vector<std::string> failed_api_requests_in_log(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line))
    if (line.find("msg=\"request failed\"") != std::string::npos && line.find(" path=/api") != std::string::npos)
      out.push_back(line);
  return out;
}

// Runs `fn(thread_index)` on `threads` threads and joins them.
inline void run_threads(int threads, const std::function<void(int)>& fn) {
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) pool.emplace_back([&fn, t] { fn(t); });
  for (auto& th : pool) th.join();
}

// Hands out items 0..n-1 to `threads` workers, in order; each worker has its
// own keep-alive HttpClient to 127.0.0.1:`port_of_thread(thread_index)`.
inline void for_each_item(int threads, int n, const std::function<uint16_t(int)>& port_of_thread,
                          const std::function<void(HttpClient&, int)>& fn) {
  std::atomic<int> next{0};
  run_threads(threads, [&](int t) {
    HttpClient client("127.0.0.1", port_of_thread(t));
    for (int i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(client, i);
  });
}

inline std::string seat_body(int64_t user, int64_t schedule, const std::vector<int64_t>& seats) {
  return json{{"userId", user}, {"scheduleId", schedule}, {"seatIds", seats}}.dump();
}

inline std::string pool_body(int64_t user, int64_t schedule, int64_t pool, int64_t quantity) {
  return json{{"userId", user}, {"scheduleId", schedule}, {"poolId", pool}, {"quantity", quantity}}.dump();
}

// Server backends (application_name "resv-server:<port> <role>") waiting for a lock in the
// database `dbname`, seen from any connection to the same cluster.
inline int64_t backends_waiting_for_lock(pqxx::connection& c, const std::string& dbname) {
  pqxx::nontransaction tx(c);
  return tx.exec_params("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'resv-server:%'"
                        " AND wait_event_type = 'Lock' AND datname = $1",
                        dbname)[0][0]
      .as<int64_t>();
}

}  // namespace resv::e2e
