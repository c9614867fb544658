// resv-server: wires core, routes and listeners; handles signals and exit codes.
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange
#include <boost/asio.hpp>
#include <sys/resource.h>

#include <cstdio>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <thread>

#include "base/event_loop.h"
#include "base/logfmt.h"
#include "booking/pg_store.h"
#include "booking/release_listener.h"
#include "db/migrations.h"
#include "db/pg_text.h"
#include "db/statements.h"
#include "resv/version.h"
#include "server/app.h"
#include "server/http_server.h"
#include "server/router.h"
#include "server/systemd_notify.h"

namespace {

using namespace resv;

void init_logging(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("resv-server");
  logger->set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

// Exit codes as in the CLI: 0 ok, 1 failed, 2 usage, 3 dependency unreachable.
int exit_code_for(const Status& s) { return s.code() == ErrorCode::DbUnavailable ? 3 : 1; }

// The URL for one of this server's sessions: named "resv-server:<port>
// <role>" in pg_stat_activity, so that `resv locks` can tell whose it is.
std::string session_url(const ServerOptions& o, const char* role) {
  return with_application_name(o.database_url, "resv-server:" + std::to_string(o.port) + " " + role);
}

int migrate(const ServerOptions& o) {
  auto done = apply_migrations(session_url(o, "migrate"));
  if (!done.ok()) {
    spdlog::error("msg=\"migration failed\" error={}", logfmt(done.status().message()));
    std::fprintf(stderr, "resv-server: error: %s\n", done.status().message().c_str());
    return exit_code_for(done.status());
  }
  std::printf("migrations applied: %zu; function files applied: %zu; schema at version %d\n", done->versions.size(),
              done->functions.size(), latest_migration_version());
  return 0;
}

// Every client connection takes a descriptor: the soft limit (often 1,024)
// goes up to the hard one, as nginx and redis raise theirs. Returns it.
rlim_t raise_open_files() {
  rlimit fds{};
  if (getrlimit(RLIMIT_NOFILE, &fds) != 0) return 0;
  if (fds.rlim_cur < fds.rlim_max) {
    rlimit raised{fds.rlim_max, fds.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return raised.rlim_cur;
  }
  return fds.rlim_cur;
}

int serve(ServerOptions o) {
  const rlim_t open_files = raise_open_files();
  MetricsRegistry metrics;
  // Listen first: with --port 0 the port is known only then, and the
  // sessions' names (session_url) carry it. Nothing is served before the
  // loop runs, at the end.
  boost::asio::io_context ioc{o.io_threads};
  ConnectionState conns, admin_conns;  // per listener: status reports the API's own
  Router api(metrics, "api", o.access_log);
  Router admin(metrics, "admin", o.access_log);
  RecentRequests recent;
  api.keep_recent(recent);
  auto http_opts = [&](const std::string& host, int port) {
    return HttpServerOptions{host, static_cast<uint16_t>(port), static_cast<size_t>(o.max_body_bytes),
                             static_cast<size_t>(o.max_header_bytes), o.idle_timeout_s, o.io_threads};
  };
  HttpServer api_server(ioc, http_opts(o.host, o.port), api, conns);
  HttpServer admin_server(ioc, http_opts(o.admin_host, o.admin_port), admin, admin_conns);
  for (auto* s : {&api_server, &admin_server}) {
    if (auto st = s->listen(); !st.ok()) {
      std::fprintf(stderr, "resv-server: error: %s\n", st.message().c_str());
      return 1;
    }
  }
  o.port = api_server.port();
  o.admin_port = admin_server.port();
  AvailabilityFilter filter{std::chrono::milliseconds(o.filter_ttl_ms)};
  ReadCache cache{std::chrono::milliseconds(o.read_cache_ms)};
  PgStoreOptions store_opts{session_url(o, "read"), std::chrono::milliseconds(o.statement_timeout_ms),
                            std::chrono::milliseconds(std::min(o.lock_timeout_ms, o.statement_timeout_ms)),
                            std::chrono::milliseconds(200)};
  auto make_store = [store_opts]() -> std::unique_ptr<Store> { return std::make_unique<PgStore>(store_opts); };
  PgStoreOptions sweep_store = store_opts;
  sweep_store.url = session_url(o, "sweeper");
  // Cached catalog reads on a small blocking pool; the hot paths on the async pool.
  StorePool db({read_pool_size(o.db_pool_size), o.db_queue_limit, std::chrono::milliseconds(o.db_max_wait_ms)},
            make_store, metrics);
  SweeperOptions sweep_opts;
  sweep_opts.interval = std::chrono::milliseconds(o.sweep_interval_ms);
  sweep_opts.batch = o.sweep_batch;
  sweep_opts.retention = {std::chrono::seconds(o.idempotency_retention_s),
                          std::chrono::seconds(o.queue_token_retention_s), std::chrono::seconds(o.outbox_retention_s)};
  Sweeper sweeper(sweep_opts, std::make_unique<PgStore>(sweep_store), metrics);
  PgStoreOptions warm_store = store_opts;
  warm_store.url = session_url(o, "warm");
  // Each pass at half the cache's lifetime: entries are rendered again
  // before a buyer could find them stale.
  Warmer warmer(warm_store, std::chrono::milliseconds(std::max(50, o.read_cache_ms / 2)), cache, filter, metrics);
  // Events: to the configured brokers, else to a broker embedded in this
  // process (`resv server start` gives its servers one shared broker).
  std::unique_ptr<MockCluster> embedded_broker;
  if (o.kafka_brokers.empty()) {
    auto started = MockCluster::start();
    if (!started.ok()) {
      std::fprintf(stderr, "resv-server: error: %s\n", started.status().message().c_str());
      return 1;
    }
    embedded_broker = std::move(started.value());
    o.kafka_brokers = embedded_broker->bootstrap();
    spdlog::info("msg=\"no --kafka-brokers: events go to a broker embedded in this server\" brokers={}",
                 o.kafka_brokers);
  }
  auto producer = KafkaProducer::create({o.kafka_brokers, "resv-server:" + std::to_string(o.port),
                                         std::chrono::milliseconds(o.kafka_delivery_timeout_ms)});
  if (!producer.ok()) {
    std::fprintf(stderr, "resv-server: error: %s\n", producer.status().message().c_str());
    return 2;
  }
  Relay relay({.url = session_url(o, "relay"),
               .topic_prefix = o.kafka_topic_prefix,
               .batch = o.relay_batch,
               .idle_poll = std::chrono::milliseconds(o.relay_poll_ms),
               .reader_url = session_url(o, "relay reader")},
              std::move(producer.value()), metrics);
  AsyncPgOptions write_opts;
  write_opts.url = session_url(o, "write");
  write_opts.size = o.db_pool_size;
  write_opts.queue_limit = o.db_queue_limit;
  write_opts.max_wait = std::chrono::milliseconds(o.db_max_wait_ms);
  write_opts.statement_timeout_ms = o.statement_timeout_ms;
  write_opts.lock_timeout_ms = std::min(o.lock_timeout_ms, o.statement_timeout_ms);
  write_opts.group_limit = o.pool_hold_concurrency;
  // With one I/O thread the pool shares its loop: no hand-off between
  // threads per job. Several I/O threads would run the pool's handlers at
  // once, so then it keeps a thread of its own.
  if (o.io_threads == 1) write_opts.loop = &ioc;
  write_opts.warm_up = warm_up_calls();
  // A write may have committed outbox rows: the relay looks at once.
  write_opts.on_finished = [&relay] { relay.wake(); };
  AsyncPg writes(write_opts, metrics);
  Bookings bookings(writes, filter,
                    metrics.counter("resv_filter_answers_total", "Reservations answered from memory (taken/sold out)."));
  QueueView queue;
  QueueService queue_service({session_url(o, "queue"), o.queue_secret, std::chrono::milliseconds(o.queue_interval_ms),
                              o.queue_leader},
                             queue, metrics);
  QueueIssuer issuer(writes, queue);
  App app{o,
          metrics,
          writes,
          bookings,
          db,
          cache,
          sweeper,
          conns,
          std::chrono::system_clock::now(),
          {},
          queue,
          issuer,
          queue_service,
          relay,
          o.kafka_brokers,
          embedded_broker != nullptr,
          warmer,
          metrics.counter("resv_read_renders_total",
                          "Catalog reads rendered on a request's behalf (cache miss or stale entry); "
                          "a warm server renders none."),
          recent};

  Counter& releases = metrics.counter("resv_release_notifications_total", "Release notifications received.");
  ReleaseListener listener(session_url(o, "release"), [&](const ReleaseEvent& ev) {
    if (ev.lost) {
      filter.clear();
      cache.invalidate_prefix("");
      return;
    }
    releases.inc();
    if (ev.pool_id)
      filter.release_pool(*ev.pool_id);
    else
      filter.release_seats(ev.schedule_id, ev.seat_ids);
    cache.invalidate_prefix("seats:" + std::to_string(ev.schedule_id) + ":");
    cache.invalidate_prefix("schedules:");
  });
  app.listener_connected = [&listener] { return listener.connected(); };
  metrics.gauge_fn("resv_http_in_flight", "Public API requests being handled.", [&conns] { return conns.in_flight.load(); });

  register_catalog_routes(api, app);
  register_reservation_routes(api, app);
  register_user_routes(api, app);
  register_queue_routes(api, app);
  register_admin_routes(admin, app);
  // The pool's loop runs callbacks into the routers, the app and the
  // queue issuer: stop it before any of them goes, also when serve() leaves
  // by an exception (on the normal path it is stopped below; stop() again is
  // a no-op).
  struct StopWrites {
    AsyncPg& pool;
    ~StopWrites() { pool.stop(); }
  } stop_writes{writes};

  app.metrics.gauge_fn("resv_up", "1 while the server runs.", [] { return 1; });
  writes.start();
  listener.start();
  sweeper.start();
  warmer.start();
  queue_service.start();
  if (o.relay) relay.start();

  spdlog::info("msg=listening version={} api={}:{} admin={}:{} io_threads={} db_pool={} open_files={}", kVersion,
               o.host, api_server.port(), o.admin_host, admin_server.port(), o.io_threads, o.db_pool_size,
               static_cast<unsigned long long>(open_files));
  // One machine-readable line on stdout for supervisors and tests.
  std::printf("resv-server listening api=%s:%u admin=%s:%u\n", o.host.c_str(), api_server.port(),
              o.admin_host.c_str(), admin_server.port());
  std::fflush(stdout);


  // Graceful shutdown: stop accepting, finish in-flight work, then stop.
  boost::asio::signal_set signals(ioc, SIGTERM, SIGINT);
  boost::asio::steady_timer drain_timer(ioc);
  auto deadline = std::make_shared<std::chrono::steady_clock::time_point>();
  std::function<void()> poll_drain = [&] {
    bool done = conns.in_flight.load() == 0 && admin_conns.in_flight.load() == 0;
    if (done || std::chrono::steady_clock::now() > *deadline) {
      if (!done) spdlog::warn("msg=\"shutdown timeout; abandoning in-flight requests\" in_flight={}", conns.in_flight.load());
      ioc.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([&](boost::system::error_code) { poll_drain(); });
  };
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("msg=\"shutting down\" signal={} in_flight={}", sig, conns.in_flight.load());
    conns.draining = true;
    admin_conns.draining = true;
    notify_systemd("STOPPING=1");
    api_server.close();
    admin_server.close();
    *deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.shutdown_timeout_s);
    poll_drain();
  });

  // Under systemd (Type=notify): READY=1 once ready, the reasons meanwhile
  // as STATUS= (systemctl status shows them), STOPPING=1 when the drain
  // starts (after the signal handler is in place: a stop signal that systemd
  // sends at once must drain, not kill). The timer stops itself then.
  boost::asio::steady_timer notify_timer(ioc);
  std::string told;
  bool told_ready = false, notify_failed = false;
  std::function<void()> tell_systemd = [&] {
    if (conns.draining) return;
    const auto reasons = not_ready_reasons(app);
    std::string status = systemd_status(reasons);
    const bool first_ready = reasons.empty() && !told_ready;
    if (status != told) {
      if (notify_systemd(first_ready ? "READY=1\n" + status : status)) {
        told_ready = told_ready || first_ready;
        told = std::move(status);
      } else if (!std::exchange(notify_failed, true)) {  // sent again at the next tick
        spdlog::warn("msg=\"cannot reach systemd's notification socket\" socket={}", logfmt(std::getenv("NOTIFY_SOCKET")));
      }
    }
    notify_timer.expires_after(std::chrono::milliseconds(told_ready ? 1000 : 50));
    notify_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) tell_systemd();
    });
  };
  if (std::getenv("NOTIFY_SOCKET")) tell_systemd();

  std::vector<std::thread> threads;
  for (int i = 1; i < o.io_threads; ++i)
    threads.emplace_back([&ioc] { run_logging_errors(ioc, "handler threw"); });
  run_logging_errors(ioc, "handler threw");
  for (auto& t : threads) t.join();

  writes.stop();
  relay.stop();  // its round in flight is acknowledged and marked first
  queue_service.stop();
  sweeper.stop();
  warmer.stop();
  listener.stop();
  db.stop();
  spdlog::info("msg=stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ServerOptions opts;
  if (int code = parse_server_options(argc, argv, opts); code >= 0) return code;
  init_logging(opts.log_level);
  try {
    if (opts.migrate) return migrate(opts);
    return serve(opts);
  } catch (const std::exception& e) {
    spdlog::critical("msg=\"fatal error\" error={}", logfmt(e.what()));
    std::fprintf(stderr, "resv-server: error: %s\n", e.what());
    return 1;
  }
}
