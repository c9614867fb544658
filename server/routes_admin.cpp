// Admin listener: health, readiness, Prometheus metrics, status, warm-up.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "db/migrations.h"
#include "resv/version.h"
#include "server/app.h"
#include "server/converters.h"
#include "server/errors.h"
#include "server/router.h"

namespace resv {
namespace {

// Constant-time comparison: the token must not leak through timing.
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// Ok, or the Unauthorized status to answer.
Status authorize(const App& app, const HttpRequest& req) {
  if (app.opts.admin_token.empty())
    return Status::Error(ErrorCode::Unauthorized,
                         "no admin token is configured; start resv-server with --admin-token or RESV_ADMIN_TOKEN");
  const std::string auth = req.header("authorization");
  if (!same_secret(bearer_token(auth), app.opts.admin_token))
    return Status::Error(ErrorCode::Unauthorized, "missing or wrong bearer token (send Authorization: Bearer <token>)");
  return Status::Ok();
}


nlohmann::json pass_json(const WarmPass& p) {
  return {{"concertId", p.concert_id}, {"schedules", p.schedules}, {"cacheEntries", p.cache_entries},
          {"seatsTaken", p.seats_taken}, {"pools", p.pools}, {"poolUnitsLeft", p.pool_units_left}, {"ms", p.ms}};
}

}  // namespace

std::vector<std::string> not_ready_reasons(const App& app) {
  std::vector<std::string> reasons;
  if (app.connections.draining) reasons.push_back("shutting down");
  if (!app.sweeper.db_reachable()) {
    reasons.push_back("database unreachable");
  } else if (auto problem = app.sweeper.schema_problem(); !problem.empty()) {
    reasons.push_back(problem + " (run resv-server --migrate)");
  }
  if (app.listener_connected && !app.listener_connected()) reasons.push_back("release notifications not connected");
  if (int n = app.writes.starting(); n > 0)
    reasons.push_back("database pool still connecting: " + std::to_string(n) + " of " +
                      std::to_string(app.writes.size()) + " connections not up yet");
  else if (app.writes.connected() == 0)
    reasons.push_back("no database connection in the pool");
  if (!app.queue_service.synced()) reasons.push_back("waiting room not synced with the database yet");
  return reasons;
}

void register_admin_routes(Router& r, App& app) {
  r.add("GET", "/healthz", [](const HttpRequest&, Reply reply) { reply(json_response(200, R"({"status":"ok"})")); });

  r.add("GET", "/readyz", [&app](const HttpRequest&, Reply reply) {
    auto reasons = not_ready_reasons(app);
    nlohmann::json j{{"ready", reasons.empty()}, {"reasons", reasons}};
    reply(json_response(reasons.empty() ? 200 : 503, j.dump()));
  });

  r.add("GET", "/metrics", [&app](const HttpRequest& req, Reply reply) {
    if (auto s = authorize(app, req); !s.ok()) return reply(error_response(s));
    HttpResponse resp;
    resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
    resp.body = app.metrics.render();
    reply(std::move(resp));
  });

  r.add("GET", "/admin/status", [&app](const HttpRequest& req, Reply reply) {
    if (auto s = authorize(app, req); !s.ok()) return reply(error_response(s));
    const auto& o = app.opts;
    auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - app.started);
    auto reasons = not_ready_reasons(app);
    nlohmann::json warm = nlohmann::json::array();
    for (const auto& s : app.warmer.states()) {
      auto w = pass_json(s.last);
      w.erase("ms");
      w["lastPassMs"] = s.last.ms;
      w["since"] = iso_utc(s.since);
      w["until"] = iso_utc(s.until);
      w["lastRefresh"] = iso_utc(s.last_refresh);
      w["lastRefreshAgeSeconds"] =
          std::chrono::duration<double>(std::chrono::system_clock::now() - s.last_refresh).count();
      w["refreshes"] = s.refreshes;
      w["refreshIntervalSeconds"] = std::chrono::duration<double>(s.refresh_interval).count();
      w["lastError"] = s.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.last_error);
      warm.push_back(std::move(w));
    }
    const auto steady_now = std::chrono::steady_clock::now();
    const RecentSummary recent = app.recent.summary(
        std::chrono::duration_cast<std::chrono::seconds>(steady_now.time_since_epoch()).count());
    const auto last_pass = app.sweeper.last_pass();
    nlohmann::json j{
        {"version", kVersion},
        {"now", iso_utc(std::chrono::system_clock::now())},
        {"commit", kCommit},
        {"pid", static_cast<int64_t>(::getpid())},
        {"instance", "resv-server:" + std::to_string(app.opts.port)},
        {"uptimeSeconds", uptime.count()},
        {"ready", reasons.empty()},
        {"notReadyReasons", reasons},
        {"inFlight", app.connections.in_flight.load()},
        {"dbPool",
         {{"size", app.writes.size()},
          {"inUse", app.writes.in_use()},
          {"waiting", app.writes.waiting()},
          {"oldestWaitMs", app.writes.oldest_wait().count()},
          {"overloadedTotal", app.writes.overloaded_total()},
          {"connected", app.writes.connected()}}},
        {"readPool", {{"size", app.db.size()}, {"inUse", app.db.in_use()}, {"waiting", app.db.waiting()}}},
        {"schemaVersion", app.sweeper.schema_version()},
        // The public API's answers over the last 60 s (p95: a latency
        // bucket's upper bound; null without requests).
        {"lastMinute",
         {{"requests", recent.requests},
          {"status503", recent.status_503},
          {"status5xx", recent.status_5xx},
          {"p95Ms", recent.p95_s ? nlohmann::json(*recent.p95_s * 1000) : nlohmann::json(nullptr)}}},
        {"sweeper",
         {{"intervalMs", app.sweeper.interval().count()},
          {"lastPassAgeSeconds", last_pass ? nlohmann::json(std::chrono::duration<double>(steady_now - *last_pass).count())
                                           : nlohmann::json(nullptr)}}},
        {"warm", warm},
        {"events",
         {{"brokers", app.kafka_brokers},
          {"embeddedBroker", app.kafka_embedded},
          {"relayEnabled", app.opts.relay},
          {"relayLeader", app.relay.leader()}}},
        {"config",
         {{"host", o.host},
          {"port", o.port},
          {"adminHost", o.admin_host},
          {"adminPort", o.admin_port},
          {"adminTokenSet", !o.admin_token.empty()},
          {"ioThreads", o.io_threads},
          {"dbPoolSize", o.db_pool_size},
          {"dbQueueLimit", o.db_queue_limit},
          {"dbMaxWaitMs", o.db_max_wait_ms},
          {"poolHoldConcurrency", o.pool_hold_concurrency},
          {"filterTtlMs", o.filter_ttl_ms},
          {"readCacheMs", o.read_cache_ms},
          {"sweepIntervalMs", o.sweep_interval_ms},
          {"maxBodyBytes", o.max_body_bytes}}}};
    reply(json_response(200, j.dump()));
  });

  // Warms this server for the given concerts and keeps them warm for the
  // window (server/warmer.h); answers what each pass loaded, and how long
  // it took, once they are all warm.
  r.add("POST", "/admin/warmup", [&app](const HttpRequest& req, Reply reply) {
    if (auto s = authorize(app, req); !s.ok()) return reply(error_response(s));
    auto parsed = parse_warm_request(req.body);
    if (!parsed.ok()) return reply(error_response(parsed.status()));
    const auto window = parsed->window;
    const auto t0 = std::chrono::steady_clock::now();
    app.warmer.warm(std::move(parsed->concerts), window,
                    [reply = std::move(reply), window, t0](Result<std::vector<WarmPass>> passes) mutable {
                      if (!passes.ok()) return reply(error_response(passes.status()));
                      nlohmann::json list = nlohmann::json::array();
                      for (const auto& p : passes.value()) list.push_back(pass_json(p));
                      nlohmann::json j{
                          {"concerts", list},
                          {"windowSeconds", window.count()},
                          {"warmUntil", iso_utc(std::chrono::system_clock::now() + window)},
                          {"ms", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                                     .count()}};
                      reply(json_response(200, j.dump()));
                    });
  });
}

}  // namespace resv
