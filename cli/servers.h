#pragma once
// The resv-server instances a command asks over their admin API: the one the
// admin URL names when it is configured (flag, environment or config file:
// a server resv may not have started), else those recorded in the state
// directory. Used by `resv server status` and `resv locks`.
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/context.h"

namespace resv::cli {

struct AdminTarget {
  ServerInstance inst;   // a configured URL: its place in the list (1, 2, ...), admin port, pid and port 0
  std::string host;      // where its admin listener is
  bool managed = false;  // recorded by resv: its process can be checked
};

// "http://HOST:PORT[/...]" -> host and port; nullopt when it is not that.
std::optional<std::pair<std::string, int>> parse_http_url(const std::string& url);

// The servers named by the admin URL setting (comma-separated), else those
// recorded in the state directory. Usage when a URL is not http://HOST:PORT.
Expected<std::vector<AdminTarget>> admin_targets(const Context& ctx);

// "instance 2" for a recorded one, "HOST:ADMIN-PORT" for a configured URL.
std::string target_label(const AdminTarget& t);

// What one instance answered: its process, /readyz, and the figures of
// /admin/status (none where it could not be read).
struct InstanceStatus {
  ServerInstance inst;
  bool running = false;
  bool ready = false;
  std::vector<std::string> reasons;  // why it is not ready
  std::optional<long long> uptime_s, in_flight, db_pool_in_use, db_pool_size;
  std::optional<long long> warm_concerts;  // kept warm by resv warmup
  std::optional<std::string> version;
  std::optional<std::string> commit;
  nlohmann::json status;  // /admin/status as it answered; null when not read
};

// Asks one instance's admin listener, each request bounded by `timeout`;
// sets `auth_problem` when /admin/status could not be read. A recorded
// instance (`managed`) is first checked for its process; another server is
// known only by its answers.
InstanceStatus probe_instance(const AdminTarget& t, const std::string& token, std::string& auth_problem,
                              std::chrono::milliseconds timeout = std::chrono::seconds(3));

}  // namespace resv::cli
