#include "server/options.h"

#include <CLI/CLI.hpp>

#include "resv/version.h"

namespace resv {

void add_server_options(CLI::App& app, ServerOptions& o) {
  app.set_version_flag("--version", version_line("resv-server"));
  app.option_defaults()->always_capture_default();
  app.add_option("--database-url", o.database_url, "PostgreSQL connection URL")->envname("RESV_DATABASE_URL");
  app.add_option("--host", o.host, "Public API listen address")->envname("RESV_HOST");
  app.add_option("--port", o.port, "Public API port (0: any free port)")
      ->envname("RESV_PORT")->check(CLI::Range(0, 65535));
  app.add_option("--admin-host", o.admin_host, "Admin API listen address (health, metrics, status)")
      ->envname("RESV_ADMIN_HOST");
  app.add_option("--admin-port", o.admin_port, "Admin API port (0: any free port)")
      ->envname("RESV_ADMIN_PORT")->check(CLI::Range(0, 65535));
  app.add_option("--admin-token", o.admin_token, "Bearer token required by /metrics and /admin/*")
      ->envname("RESV_ADMIN_TOKEN")->capture_default_str()->default_str("");
  app.add_option("--io-threads", o.io_threads, "Threads doing HTTP I/O")->envname("RESV_IO_THREADS")
      ->check(CLI::Range(1, 64));
  app.add_option("--db-pool-size", o.db_pool_size, "Database connections")->envname("RESV_DB_POOL_SIZE")
      ->check(CLI::Range(1, 512));
  app.add_option("--db-queue-limit", o.db_queue_limit, "Requests that may wait for a connection before 503")
      ->envname("RESV_DB_QUEUE_LIMIT")->check(CLI::Range(0, 100000));
  app.add_option("--db-max-wait-ms", o.db_max_wait_ms, "Longest wait for a connection before 503")
      ->envname("RESV_DB_MAX_WAIT_MS")->check(CLI::Range(1, 60000));
  app.add_option("--pool-hold-concurrency", o.pool_hold_concurrency,
                 "Statements holding one capacity pool sent to the database at once; the holds waiting in line "
                 "go together in the next (0: no limit)")
      ->envname("RESV_POOL_HOLD_CONCURRENCY")->check(CLI::Range(0, 512));
  app.add_option("--statement-timeout-ms", o.statement_timeout_ms, "PostgreSQL statement_timeout")
      ->envname("RESV_STATEMENT_TIMEOUT_MS")->check(CLI::Range(1, 600000));
  app.add_option("--lock-timeout-ms", o.lock_timeout_ms,
                 "PostgreSQL lock_timeout: a request waiting longer for a row answers 503 BUSY (capped by the "
                 "statement timeout)")
      ->envname("RESV_LOCK_TIMEOUT_MS")->check(CLI::Range(1, 600000));
  app.add_option("--max-body-bytes", o.max_body_bytes, "Largest request body accepted (413 above)")
      ->envname("RESV_MAX_BODY_BYTES")->check(CLI::Range(1, 16 * 1024 * 1024));
  app.add_option("--max-header-bytes", o.max_header_bytes, "Largest request header block accepted (431 above)")
      ->envname("RESV_MAX_HEADER_BYTES")->check(CLI::Range(512, 1024 * 1024));
  app.add_option("--idle-timeout-s", o.idle_timeout_s, "Keep-alive idle timeout")
      ->envname("RESV_IDLE_TIMEOUT_S")->check(CLI::Range(1, 3600));
  app.add_option("--sweep-interval-ms", o.sweep_interval_ms, "How often expired holds are released")
      ->envname("RESV_SWEEP_INTERVAL_MS")->check(CLI::Range(10, 3600000));
  app.add_option("--sweep-batch", o.sweep_batch, "Expired holds released per transaction")
      ->envname("RESV_SWEEP_BATCH")->check(CLI::Range(1, 100000));
  app.add_option("--idempotency-retention-s", o.idempotency_retention_s,
                 "How long an Idempotency-Key's answer is kept (a retry after it runs again)")
      ->envname("RESV_IDEMPOTENCY_RETENTION_S")->check(CLI::Range(60, 365 * 24 * 3600));
  app.add_option("--queue-token-retention-s", o.queue_token_retention_s,
                 "How long an ended queue token is kept (its user may then queue again)")
      ->envname("RESV_QUEUE_TOKEN_RETENTION_S")->check(CLI::Range(60, 365 * 24 * 3600));
  app.add_option("--outbox-retention-s", o.outbox_retention_s,
                 "How long an event stays in the outbox after it was written, once published (resv events replay can re-send it until then)")
      ->envname("RESV_OUTBOX_RETENTION_S")->check(CLI::Range(60, 365 * 24 * 3600));
  app.add_option("--filter-ttl-ms", o.filter_ttl_ms, "Longest time a 'taken'/'sold out' answer is reused")
      ->envname("RESV_FILTER_TTL_MS")->check(CLI::Range(0, 600000));
  app.add_option("--read-cache-ms", o.read_cache_ms, "How long seat maps and schedule lists are cached (0: off)")
      ->envname("RESV_READ_CACHE_MS")->check(CLI::Range(0, 600000));
  app.add_option("--shutdown-timeout-s", o.shutdown_timeout_s, "Longest wait for in-flight requests on SIGTERM")
      ->envname("RESV_SHUTDOWN_TIMEOUT_S")->check(CLI::Range(0, 3600));
  app.add_option("--queue-secret", o.queue_secret,
                 "Key that signs waiting-room tokens (default: one generated and shared through the database)")
      ->envname("RESV_QUEUE_SECRET")->capture_default_str()->default_str("");
  app.add_option("--queue-interval-ms", o.queue_interval_ms,
                 "Waiting room: admission step and longest sync delay between servers")
      ->envname("RESV_QUEUE_INTERVAL_MS")->check(CLI::Range(10, 10000));
  app.add_flag("--queue-leader,!--no-queue-leader", o.queue_leader,
               "May run the waiting room's admission controller (one server at a time does)")
      ->envname("RESV_QUEUE_LEADER");
  app.add_option("--kafka-brokers", o.kafka_brokers,
                 "Kafka bootstrap servers the outbox is published to (default: a broker embedded in this process)")
      ->envname("RESV_KAFKA_BROKERS");
  app.add_option("--kafka-topic-prefix", o.kafka_topic_prefix,
                 "Topics are <prefix><aggregate>s: resv.reservations, resv.users")
      ->envname("RESV_KAFKA_TOPIC_PREFIX");
  app.add_option("--kafka-delivery-timeout-ms", o.kafka_delivery_timeout_ms,
                 "An event the broker has not acknowledged by then is sent again later")
      ->envname("RESV_KAFKA_DELIVERY_TIMEOUT_MS")->check(CLI::Range(1000, 300000));
  app.add_flag("--relay,!--no-relay", o.relay, "May publish the outbox to Kafka (one server at a time does)")
      ->envname("RESV_RELAY");
  app.add_option("--relay-batch", o.relay_batch, "Outbox events published per round")
      ->envname("RESV_RELAY_BATCH")->check(CLI::Range(1, 100000));
  app.add_option("--relay-poll-ms", o.relay_poll_ms,
                 "How often the relay looks for events other servers wrote (this server's own wake it at once)")
      ->envname("RESV_RELAY_POLL_MS")->check(CLI::Range(1, 60000));
  app.add_flag("--access-log", o.access_log, "Log every request (errors are always logged)")
      ->envname("RESV_ACCESS_LOG");
  app.add_option("--log-level", o.log_level, "Log level")
      ->envname("RESV_LOG_LEVEL")->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.add_flag("--migrate", o.migrate, "Apply pending schema migrations and exit");
}

int parse_server_options(int argc, char** argv, ServerOptions& o) {
  CLI::App app{kServerSummary, "resv-server"};
  add_server_options(app, o);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return -1;
}

}  // namespace resv
