// resv-broker STATE_FILE: the embedded Kafka broker of `resv server start`
// and `resv demo` (librdkafka's mock cluster, in memory), so that servers on
// one machine publish to one broker and `resv events` can read it. Writes
// {"pid", "bootstrap", "startedAt"} to STATE_FILE once it listens, and runs
// until SIGTERM or SIGINT (then removes the file). SIGUSR1 takes the broker
// down (connections closed and refused), SIGUSR2 brings it back: an outage
// for tests and drills. Its messages are lost when it stops.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/state.h"
#include "events/kafka.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: resv-broker STATE_FILE\n");
    return 2;
  }
  const std::filesystem::path state_file = argv[1];
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2}) sigaddset(&signals, s);
  // Blocked before any thread starts: librdkafka's threads inherit the mask,
  // and sigwait below takes every one of them.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto cluster = resv::MockCluster::start();
  if (!cluster.ok()) {
    std::fprintf(stderr, "resv-broker: error: %s\n", cluster.status().message().c_str());
    return 1;
  }
  const auto& broker = *cluster.value();
  const std::string state = "{\"pid\": " + std::to_string(::getpid()) + ", \"bootstrap\": \"" + broker.bootstrap() +
                            "\", \"startedAt\": \"" + resv::cli::now_iso8601() + "\"}\n";
  if (auto st = resv::cli::write_file_atomic(state_file, state, 0644); !st.ok()) {
    std::fprintf(stderr, "resv-broker: error: cannot write %s: %s\n", state_file.c_str(), st.message().c_str());
    return 1;
  }
  std::printf("resv-broker listening bootstrap=%s\n", broker.bootstrap().c_str());
  std::fflush(stdout);
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGUSR1 || sig == SIGUSR2) {
      cluster.value()->set_down(sig == SIGUSR1);
      std::printf("resv-broker %s\n", sig == SIGUSR1 ? "down" : "up");
      std::fflush(stdout);
      continue;
    }
    break;
  }
  std::error_code ec;
  std::filesystem::remove(state_file, ec);
  return 0;
}
