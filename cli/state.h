#pragma once
// The state directory: where resv keeps what it provisions itself (the
// embedded PostgreSQL cluster, resv-server instances' pidfiles and logs, the
// generated admin token). Layout:
//   <state>/pg/data/             the cluster (owned by `postgres` when run as root)
//   <state>/pg/run/              its unix socket and log
//   <state>/pg/embedded.json     port, user, password, database (mode 0600)
//   <state>/server/instance-N.json, instance-N.log   one per resv-server (N from 1)
//   <state>/server/admin-token   generated admin bearer token (mode 0600)
//   <state>/kafka/broker.json    the embedded broker (resv-broker): pid, bootstrap address
//   <state>/kafka/broker.log     its output
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace resv::cli {

namespace fs = std::filesystem;

// $XDG_STATE_HOME/resv or ~/.local/state/resv; /var/lib/resv as root (the
// cluster must be reachable by the `postgres` user, which /root is not).
fs::path default_state_dir();

struct EmbeddedDb {
  int port = 0;
  std::string user = "resv";
  std::string password{};
  std::string database = "resv";
  std::string url() const;  // postgresql://user:password@127.0.0.1:port/database
};

// The embedded Kafka broker, as it recorded itself.
struct EmbeddedBroker {
  long pid = 0;
  std::string bootstrap{};   // "127.0.0.1:port"
  std::string started_at{};  // ISO 8601 UTC
};

struct ServerInstance {
  int index = 1;  // 1-based
  long pid = 0;
  int port = 0;
  int admin_port = 0;
  std::string started_at{};  // ISO 8601 UTC
  std::string log{};         // path of its log file
};

class StateDir {
 public:
  explicit StateDir(fs::path root) : root_(std::move(root)) {}
  const fs::path& root() const { return root_; }
  fs::path pg_data() const { return root_ / "pg" / "data"; }
  fs::path pg_run() const { return root_ / "pg" / "run"; }
  fs::path embedded_file() const { return root_ / "pg" / "embedded.json"; }
  fs::path server_dir() const { return root_ / "server"; }
  fs::path admin_token_file() const { return server_dir() / "admin-token"; }
  fs::path broker_file() const { return root_ / "kafka" / "broker.json"; }
  fs::path broker_log() const { return root_ / "kafka" / "broker.log"; }
  fs::path instance_file(int index) const;
  fs::path instance_log(int index) const;

  // nullopt when no embedded cluster was created here.
  std::optional<EmbeddedDb> embedded() const;
  Status save_embedded(const EmbeddedDb& db) const;

  // The embedded broker when its record names a running resv-broker.
  std::optional<EmbeddedBroker> embedded_broker() const;

  // Recorded instances, by index (whether or not their process still runs).
  std::vector<ServerInstance> instances() const;
  Status save_instance(const ServerInstance& i) const;
  void remove_instance(int index) const;

  // The generated admin token, or "" when none was generated yet.
  std::string admin_token() const;
  // Returns the token, generating and saving one (0600) when there is none.
  Result<std::string> ensure_admin_token() const;

 private:
  fs::path root_;
};

// Writes `text` to `path` atomically (temp file + rename), with `mode`.
Status write_file_atomic(const fs::path& path, const std::string& text, unsigned mode = 0644);
// The time now, ISO 8601 UTC to the second: 2026-12-02T05:00:00Z.
std::string now_iso8601();
// A random hex string of `bytes` bytes from /dev/urandom.
std::string random_hex(size_t bytes);
// True when process `pid` runs: it exists and is not a zombie (a process
// nobody reaped, e.g. an orphan where init does not reap). With `program`,
// also its name (/proc/<pid>/comm) must be that: a pid reused by another
// program does not count.
bool process_running(long pid, std::string_view program = {});

// The text of `path` from byte `offset` on ("" when unreadable).
std::string read_file(const fs::path& path, std::uintmax_t offset = 0);
// The size of `path`, 0 when it does not exist.
std::uintmax_t file_size_or_zero(const fs::path& path);

}  // namespace resv::cli
