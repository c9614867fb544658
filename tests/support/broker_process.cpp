#include "broker_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "eventually.h"

namespace resv::test {

BrokerProcess::BrokerProcess() {
  char tmpl[] = "/tmp/resv-broker-test-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  const std::string state = dir_ + "/broker.json", log = dir_ + "/broker.log";
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    FILE* out = std::freopen(log.c_str(), "a", stdout);
    if (out) dup2(STDOUT_FILENO, STDERR_FILENO);
    execl(RESV_BROKER_BIN, RESV_BROKER_BIN, state.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // {"pid": N, "bootstrap": "127.0.0.1:PORT", "startedAt": "..."}
  eventually([&] {
    std::ifstream in(state);
    std::stringstream text;
    text << in.rdbuf();
    auto s = text.str();
    auto key = s.find("\"bootstrap\": \"");
    if (key == std::string::npos) return false;
    auto from = key + 14;
    bootstrap_ = s.substr(from, s.find('"', from) - from);
    return true;
  }, 20);
  if (bootstrap_.empty()) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    throw std::runtime_error("resv-broker did not start; see " + log);
  }
}

BrokerProcess::~BrokerProcess() {
  ::kill(pid_, SIGTERM);
  if (!eventually([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, 10)) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void BrokerProcess::down() const { ::kill(pid_, SIGUSR1); }
void BrokerProcess::up() const { ::kill(pid_, SIGUSR2); }

}  // namespace resv::test
