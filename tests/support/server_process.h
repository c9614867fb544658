#pragma once
// Runs the real resv-server binary as a child process on free ports and
// waits until it listens (its stdout "listening" line) and is ready (/readyz).
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace resv::test {

// Path of a built binary: RESV_SERVER_BIN / RESV_CLI_BIN compile definitions.
std::string server_binary();

class ServerProcess {
 public:
  enum class Wait { Ready, Listening };
  // Starts resv-server against `database_url` with --port 0 --admin-port 0,
  // the admin token "test-token", and `extra_args`. Throws if it does not
  // listen, or (Wait::Ready) become ready, within a generous allowance.
  ServerProcess(const std::string& database_url, std::vector<std::string> extra_args = {},
                Wait until = Wait::Ready);
  ~ServerProcess();  // SIGKILL if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  uint16_t port() const { return port_; }
  uint16_t admin_port() const { return admin_port_; }
  pid_t pid() const { return pid_; }
  static constexpr const char* kAdminToken = "test-token";

  // SIGTERM and wait; returns the exit status (or 128+signal).
  int terminate();
  // Sends a signal without waiting.
  void signal(int sig);
  // Waits for exit; returns the exit status (or 128+signal).
  int wait();
  // The server's stderr so far (its log).
  std::string log() const;
  // Waits until /readyz answers 200 (true) or the allowance runs out (false).
  bool wait_ready(int seconds = 30) const;

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0, admin_port_ = 0;
  std::string log_path_;
  int exit_status_ = -1;
};

}  // namespace resv::test
