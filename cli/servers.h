#pragma once
// The resv-server instances a command asks over their admin API: the one the
// admin URL names when it is configured (flag, environment or config file:
// a server resv may not have started), else those recorded in the state
// directory. Used by `resv server status` and `resv locks`.
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

}  // namespace resv::cli
