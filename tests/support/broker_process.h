#pragma once
// Runs the real resv-broker (the embedded Kafka broker) as a child process
// and reads its bootstrap address from the state file it writes.
#include <sys/types.h>

#include <string>

namespace resv::test {

class BrokerProcess {
 public:
  // Throws if it does not listen within 20 s.
  BrokerProcess();
  ~BrokerProcess();  // SIGTERM, then SIGKILL
  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }
  pid_t pid() const { return pid_; }
  // The broker stops answering (SIGUSR1) / answers again (SIGUSR2).
  void down() const;
  void up() const;

 private:
  pid_t pid_ = -1;
  std::string dir_, bootstrap_;
};

}  // namespace resv::test
