#pragma once
// What the route handlers share. Owned by main(); outlives every request.
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "base/read_cache.h"
#include "booking/availability.h"
#include "booking/store.h"
#include "booking/sweeper.h"
#include "db/async_pg.h"
#include "queue/issuer.h"
#include "queue/service.h"
#include "queue/view.h"
#include "server/http.h"
#include "server/http_server.h"
#include "server/options.h"

namespace resv {

class Router;

struct App {
  ServerOptions opts;
  MetricsRegistry& metrics;
  AsyncPg& writes;  // hot paths: holds, payments, cancels, balances
  StorePool& db;       // cached catalog reads
  AvailabilityFilter& filter;
  ReadCache& cache;
  Sweeper& sweeper;
  ConnectionState& connections;  // the public API listener's in-flight requests and draining flag
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  std::function<bool()> listener_connected;
  Counter& filter_answers;
  QueueView& queue;
  QueueIssuer& issuer;
  QueueService& queue_service;
};

// Runs `fn(store, reply)` on a database worker. Answers 503 at once when the
// pool's queue is full, and the worker's Status when it could not run (waited
// too long, shutting down); an exception becomes a 500.
void run_db(App& app, Reply reply, std::function<void(Store&, Reply&)> fn);

using Params = std::vector<std::optional<std::string>>;
// An optional text parameter: "" (no Idempotency-Key, no hash) is SQL NULL.
inline std::optional<std::string> opt(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional(s);
}
// Runs a write-path statement on the async pool; `fn` turns its answer (the
// SQL function's JSON text, or a Status) into the reply. 503 at once when the
// pool and its queue are full; an exception becomes a 500. Statements of one
// `group` (AsyncPg::submit) run at most --pool-hold-concurrency at a time,
// and with `batch` may share one statement (AsyncPg::Batchable).
void run_write(App& app, Reply reply, const char* statement, Params params,
               std::function<void(Result<std::string>, Reply&)> fn, AsyncPg::Precheck precheck = {},
               int64_t group = 0, std::optional<AsyncPg::Batchable> batch = std::nullopt);

// Serves `key` from the read cache, refreshing it through `fetch` (on a DB
// worker) when stale or missing.
void serve_cached(App& app, const std::string& key, Reply reply,
                  std::function<Result<std::string>(Store&)> fetch);

HttpResponse json_response(int status, std::string body);

void register_catalog_routes(Router& r, App& app);
void register_reservation_routes(Router& r, App& app);
void register_user_routes(Router& r, App& app);
void register_admin_routes(Router& r, App& app);
void register_queue_routes(Router& r, App& app);

}  // namespace resv
