#pragma once
// What the route handlers share. Owned by main(); outlives every request.
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "base/read_cache.h"
#include "base/recent_requests.h"
#include "booking/bookings.h"
#include "booking/store.h"
#include "booking/sweeper.h"
#include "db/async_pg.h"
#include "events/relay.h"
#include "queue/issuer.h"
#include "queue/service.h"
#include "queue/view.h"
#include "server/http.h"
#include "server/http_server.h"
#include "server/options.h"
#include "server/warmer.h"

namespace resv {

class Router;

struct App {
  ServerOptions opts;
  MetricsRegistry& metrics;
  AsyncPg& writes;      // the hot paths' pool: holds, payments, cancels, balances, queue tokens
  Bookings& bookings;   // the write paths, on `writes`
  StorePool& db;       // cached catalog reads
  ReadCache& cache;
  Sweeper& sweeper;
  ConnectionState& connections;  // the public API listener's in-flight requests and draining flag
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  std::function<bool()> listener_connected;
  QueueView& queue;
  QueueIssuer& issuer;
  QueueService& queue_service;
  Relay& relay;
  std::string kafka_brokers;   // where events go (the embedded broker's address when embedded)
  bool kafka_embedded = false;  // the broker is this process's mock cluster
  Warmer& warmer;               // concerts kept warm (POST /admin/warmup)
  Counter& renders;             // catalog reads rendered on a request's behalf
  RecentRequests& recent;       // the public API's answers of the last minute
};

// Answers 500 for a handler that threw (a defect), and logs it.
void reply_internal_error(Reply& reply, const std::exception& e);

// The reply for a core result: `fn(result, reply)` on the pool's loop (or
// at once); an exception in it becomes a 500.
template <class T, class F>
Bookings::Done<T> replying(Reply reply, F fn) {
  return [reply = std::move(reply), fn = std::move(fn)](Result<T> result) mutable {
    try {
      fn(std::move(result), reply);
    } catch (const std::exception& e) {
      reply_internal_error(reply, e);
    }
  };
}

// Serves `key` from the read cache, refreshing it through `fetch` (on a DB
// worker) when stale or missing (counted in app.renders).
void serve_cached(App& app, const std::string& key, Reply reply,
                  std::function<Result<std::string>(Store&)> fetch);

HttpResponse json_response(int status, std::string body);

// Why the server is not ready (GET /readyz, systemd's readiness): empty
// when it is.
std::vector<std::string> not_ready_reasons(const App& app);

void register_catalog_routes(Router& r, App& app);
void register_reservation_routes(Router& r, App& app);
void register_user_routes(Router& r, App& app);
void register_admin_routes(Router& r, App& app);
void register_queue_routes(Router& r, App& app);

}  // namespace resv
