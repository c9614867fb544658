#include "server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "eventually.h"
#include "test_http.h"

namespace resv::test {

std::string server_binary() { return RESV_SERVER_BIN; }

ServerProcess::ServerProcess(const std::string& database_url, std::vector<std::string> extra_args, Wait until) {
  char tmpl[] = "/tmp/resv-server-log-XXXXXX";
  int log_fd = mkstemp(tmpl);
  if (log_fd < 0) throw std::runtime_error("mkstemp failed");
  log_path_ = tmpl;
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe failed");

  std::vector<std::string> args = {server_binary(), "--database-url", database_url, "--port", "0",
                                   "--admin-port", "0", "--admin-token", kAdminToken};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  close(log_fd);

  // First stdout line: "resv-server listening api=HOST:PORT admin=HOST:PORT".
  std::string line;
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
  close(out[0]);
  unsigned api = 0, admin = 0;
  auto a = line.find("api="), b = line.find("admin=");
  if (a != std::string::npos && b != std::string::npos) {
    api = static_cast<unsigned>(std::stoul(line.substr(line.find(':', a) + 1)));
    admin = static_cast<unsigned>(std::stoul(line.substr(line.find(':', b) + 1)));
  }
  if (!api || !admin) {
    wait();
    throw std::runtime_error("resv-server did not start: " + log());
  }
  port_ = static_cast<uint16_t>(api);
  admin_port_ = static_cast<uint16_t>(admin);
  if (until == Wait::Ready && !wait_ready()) throw std::runtime_error("resv-server did not become ready: " + log());
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && exit_status_ < 0) {
    kill(pid_, SIGKILL);
    wait();
  }
  if (!log_path_.empty()) unlink(log_path_.c_str());
}

bool ServerProcess::wait_ready(int seconds) const {
  return eventually([this] { return HttpClient("127.0.0.1", admin_port_).get("/readyz").status == 200; }, seconds, 50);
}

void ServerProcess::signal(int sig) { kill(pid_, sig); }

int ServerProcess::wait() {
  if (exit_status_ >= 0) return exit_status_;
  int st = 0;
  waitpid(pid_, &st, 0);
  exit_status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return exit_status_;
}

int ServerProcess::terminate() {
  if (exit_status_ >= 0) return exit_status_;
  kill(pid_, SIGTERM);
  return wait();
}

std::string ServerProcess::log() const {
  std::ifstream f(log_path_);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace resv::test
