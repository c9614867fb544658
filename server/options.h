#pragma once
// resv-server configuration: flags, each with a RESV_* environment variable.
#include <string>

namespace CLI {
class App;
}

namespace resv {

inline constexpr const char* kServerSummary = "resv-server: the reservation server (HTTP/JSON on PostgreSQL)";

struct ServerOptions {
  std::string database_url = "postgresql:///resv";
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string admin_host = "127.0.0.1";
  int admin_port = 9090;
  std::string admin_token;  // secret: never logged or shown
  int io_threads = 1;
  int db_pool_size = 16;
  int db_queue_limit = 4096;
  int db_max_wait_ms = 500;
  int pool_hold_concurrency = 8;  // statements holding one capacity pool in the database at once
  int statement_timeout_ms = 5000;
  int lock_timeout_ms = 2000;  // at most statement_timeout_ms takes effect
  int max_body_bytes = 16 * 1024;
  int max_header_bytes = 8 * 1024;
  int idle_timeout_s = 60;
  int sweep_interval_ms = 1000;
  int sweep_batch = 500;
  int idempotency_retention_s = 24 * 3600;  // Idempotency-Key answers are kept this long
  int queue_token_retention_s = 7 * 24 * 3600;  // ended queue tokens are kept this long
  int outbox_retention_s = 24 * 3600;  // published outbox rows are kept this long (for resv events replay)
  int filter_ttl_ms = 1000;
  int read_cache_ms = 500;
  int shutdown_timeout_s = 30;
  std::string queue_secret;  // secret: "" = shared through the database
  int queue_interval_ms = 100;
  bool queue_leader = true;
  std::string kafka_brokers;  // "" : an embedded broker in this process (librdkafka's mock cluster)
  std::string kafka_topic_prefix = "resv.";
  bool relay = true;          // false: never publish the outbox (another server does)
  int relay_batch = 5000;
  int relay_poll_ms = 200;
  int kafka_delivery_timeout_ms = 5000;
  bool access_log = false;
  std::string log_level = "info";
  bool migrate = false;  // apply migrations and exit
};

// Parses argv and the environment. Returns -1 to continue, or an exit code
// (0 after --help/--version, 2 on a usage error, with the message printed).
// Adds every option (with its RESV_* variable) to `app`, bound to `out`:
// the one description of the flags, also used for resv-server(8).
void add_server_options(CLI::App& app, ServerOptions& out);

int parse_server_options(int argc, char** argv, ServerOptions& out);

}  // namespace resv
