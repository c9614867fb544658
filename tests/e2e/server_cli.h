#pragma once
// resv server start/stop from a test: a state directory of its own, resv run
// against it and one database (cli_server_test.cpp, cli_warmup_test.cpp).
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli_run.h"
#include "e2e_util.h"

namespace resv::e2e {

namespace fs = std::filesystem;

// Running and not a zombie (nobody may reap a server whose resv has exited).
inline bool running(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

inline bool is_resv_server(long pid) {
  return running(pid) && read_file("/proc/" + std::to_string(pid) + "/cmdline").find("resv-server") != std::string::npos;
}

// A state directory of its own, resv run against it and one database, and
// on destruction `resv server stop` then SIGKILL for any server left over.
class ServerCli {
 public:
  explicit ServerCli(std::string db_url, int instances = 1) : db_url_(std::move(db_url)) {
    char tmpl[] = "/tmp/resv-cli-server-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    state_ = tmpl;
    std::set<int> taken;
    port = free_ports(instances, taken);
    admin_port = free_ports(instances, taken);
  }
  ~ServerCli() {
    resv({"server", "stop", "--timeout", "10"});
    for (long pid : pids_)
      if (is_resv_server(pid)) kill(static_cast<pid_t>(pid), SIGKILL);
    std::error_code ec;
    fs::remove_all(state_, ec);
  }
  ServerCli(const ServerCli&) = delete;
  ServerCli& operator=(const ServerCli&) = delete;

  CliRun resv(std::vector<std::string> args, const std::string& db_url = "") {
    args.insert(args.end(), {"--state-dir", state_.string(), "--db", db_url.empty() ? db_url_ : db_url});
    CliRun r = run_resv(args);
    remember_pids();
    return r;
  }
  CliRun start(std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"server", "start", "--port", std::to_string(port), "--admin-port",
                                     std::to_string(admin_port)};
    args.insert(args.end(), more.begin(), more.end());
    return resv(args);
  }

  const fs::path& state() const { return state_; }
  fs::path log(int index) const { return state_ / "server" / ("instance-" + std::to_string(index) + ".log"); }

  int port = 0, admin_port = 0;

 private:
  // Every pid ever recorded, for the SIGKILL fallback.
  void remember_pids() {
    for (int i = 1; i <= 8; ++i) {
      auto j = parse_or_null(read_file(state_ / "server" / ("instance-" + std::to_string(i) + ".json")));
      if (j.is_object() && j.contains("pid")) pids_.insert(j["pid"].get<long>());
    }
  }
  std::string db_url_;
  fs::path state_;
  std::set<long> pids_;
};

inline nlohmann::json instances_of(const CliRun& r) {
  auto j = parse_or_null(r.out);
  return j.is_object() && j.contains("instances") ? j["instances"] : json::array();
}

}  // namespace resv::e2e
