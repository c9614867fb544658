#pragma once
// Managing the resv-server processes recorded in the state directory: start
// them in the background (each in its own session, stdout and stderr appended
// to <state>/server/instance-N.log), wait until they are ready, stop them.
// Used by `resv server` and `resv demo`.
#include <chrono>
#include <string>
#include <vector>

#include "cli/context.h"

namespace resv::cli {

struct StartOptions {
  int instances = 1;
  int port = 8080;        // instance i listens on port + i - 1 (0: any free port)
  int admin_port = 9090;  // and on admin_port + i - 1
  std::chrono::seconds timeout{30};
  std::vector<std::string> extra_args;  // appended to resv-server's arguments
};

// An instance after start: `already_running` when this call did not start it.
struct StartedInstance {
  ServerInstance instance;
  bool already_running = false;
};

// Starts the instances 1..o.instances that are not already running (the
// others are reported as running, on stderr) and waits until each /readyz
// answers 200; with no brokers configured, the embedded broker first
// (broker_up below). Returns them all, by index. Usage when the counts or
// ports are out of range; Failed when resv-server cannot be found or run;
// Unreachable when no database is configured, and when a started instance
// exits or is not ready within o.timeout: then every instance this call
// started is killed (and the embedded broker, when this call started it and
// no other instance runs), and the message holds the tail of its log.
Expected<std::vector<ServerInstance>> start_servers(const Context& ctx, const StartOptions& o);
// The same, saying which instances were running already.
Expected<std::vector<StartedInstance>> start_instances(const Context& ctx, const StartOptions& o);

// Starts instance `index` on the given ports and waits until it is ready, as
// start_instances does (the step of a rolling restart). It must not be running.
Expected<ServerInstance> start_instance(const Context& ctx, int index, int port, int admin_port,
                                        std::chrono::seconds timeout, const std::vector<std::string>& extra_args);

// Runs resv-server in place of this process (execve) with the arguments and
// environment start_instances would give instance 1, so that a supervisor's
// signals reach it directly; its output stays on this process's stdout and
// stderr. Records it as instance 1. Returns only on failure: Failed when
// instance 1 already runs or the binary cannot be run, Unreachable when no
// database is configured.
Outcome exec_server(const Context& ctx, const StartOptions& o);

struct StopReport {
  enum class How { Terminated, Killed, NotRunning, Failed };
  ServerInstance instance;
  How how = How::NotRunning;
  std::string error;  // when Failed: what went wrong
};

// Stops recorded instances: SIGTERM to all (each finishes its in-flight
// requests), then SIGKILL to those still running after `timeout`; removes
// their records. NotRunning when the process was already gone, or its pid now
// belongs to another program (the record is removed, nothing is signalled);
// Failed when it could not be signalled or survived SIGKILL (the record stays).
std::vector<StopReport> stop_instances(const StateDir& state, const std::vector<ServerInstance>& instances,
                                       std::chrono::seconds timeout);

// True when `pid` runs and is a resv-server (guards against pid reuse; a
// zombie does not count).
bool is_running_server(long pid);

// Path of the resv-server binary: $RESV_SERVER_BIN, else beside this program
// (installed) or at ../server/resv-server from it (build tree), else on PATH.
// Failed with a hint when none is found.
Expected<std::string> find_server_binary();

// The embedded Kafka broker (resv-broker: librdkafka's mock cluster, in
// memory), which the servers started here publish to when no brokers are
// configured. broker_up starts it in the background unless it runs
// (binary: $RESV_BROKER_BIN, else found as resv-server is; output appended
// to <state>/kafka/broker.log) and waits until it listens: Failed when it
// cannot be found or exits, Unreachable when it does not listen within 10 s.
Expected<EmbeddedBroker> broker_up(const Context& ctx);
// Stops it (SIGTERM, then SIGKILL after `timeout`); false when it did not run.
bool broker_down(const StateDir& state, std::chrono::seconds timeout);

// The last `n` lines of the file at `path` ("" when missing or empty).
std::string tail_file(const fs::path& path, int n);

// The admin token the CLI sends: the configured one, else the one generated
// in the state directory ("" when neither exists).
std::string admin_token_for(const Context& ctx);

}  // namespace resv::cli
