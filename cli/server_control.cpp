#include "cli/server_control.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>

#include "cli/http_client.h"
#include "db/pg_text.h"
#include "db/statements.h"

extern char** environ;

namespace resv::cli {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kMaxInstances = 64;  // StateDir::instances() reads up to 64
constexpr int kLogTailLines = 20;


std::string last_lines(const std::string& text, int n) {
  size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;
  size_t start = end;
  for (int lines = 0; start > 0; --start)
    if (text[start - 1] == '\n' && ++lines == n) break;
  return text.substr(start, end - start);
}

// Every occurrence of each secret replaced: server logs must not carry them
// into our messages.
std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.size() < 4) continue;
    for (size_t at = text.find(s); at != std::string::npos; at = text.find(s, at + 4)) text.replace(at, s.size(), "****");
  }
  return text;
}

std::string indent(const std::string& text) {
  if (text.empty()) return "  (the log is empty)";
  std::string out = "  ";
  for (char c : text) {
    out += c;
    if (c == '\n') out += "  ";
  }
  return out;
}

bool executable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

// True once `pid` has exited; reaps it when it is our child.
bool exited(long pid) {
  int st = 0;
  pid_t r = ::waitpid(static_cast<pid_t>(pid), &st, WNOHANG);
  if (r == pid) return true;
  if (r == 0) return false;
  return !process_running(pid);  // not our child: it may be a zombie nobody reaps
}

bool wait_exited(long pid, Clock::time_point deadline) {
  for (;;) {
    if (exited(pid)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

// "exited with status 1" / "was killed by signal 9" when our child `pid` has
// exited (and reaps it); "" while it runs.
std::string child_exit(long pid) {
  int st = 0;
  if (::waitpid(static_cast<pid_t>(pid), &st, WNOHANG) != pid) return "";
  if (WIFEXITED(st)) return "exited with status " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return "was killed by signal " + std::to_string(WTERMSIG(st));
  return "exited";
}

// The password in postgresql://user:password@host/db ("" when none).
std::string url_password(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  auto at = url.find('@', scheme + 3);
  if (at == std::string::npos || url.find('/', scheme + 3) < at) return "";
  auto colon = url.find(':', scheme + 3);
  return colon < at ? url.substr(colon + 1, at - colon - 1) : "";
}

// What every resv-server we start is given: its binary, its environment
// (secrets travel here, never in argv, which `ps` shows), and what to redact.
struct Launch {
  std::string binary;
  std::vector<std::string> env;
  std::vector<std::string> secrets;
};

Expected<Launch> prepare_launch(const Context& ctx) {
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  std::string token = ctx.settings().admin_token.value;
  if (token.empty()) {
    auto generated = ctx.state().ensure_admin_token();
    if (!generated.ok())
      return Outcome::Failed("cannot create the admin token: " + generated.status().message(),
                             "check that the state directory " + ctx.state().root().string() + " is writable");
    token = generated.value();
  }
  auto bin = find_server_binary();
  if (!bin.ok()) return bin.outcome();

  Launch l;
  l.binary = bin.value();
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with("RESV_DATABASE_URL=") || kv.starts_with("RESV_ADMIN_TOKEN=") ||
        kv.starts_with("RESV_KAFKA_BROKERS="))
      continue;
    l.env.emplace_back(kv);
  }
  l.env.push_back("RESV_DATABASE_URL=" + url.value());
  l.env.push_back("RESV_ADMIN_TOKEN=" + token);
  // Servers on one machine publish to one broker: the configured one, else
  // the embedded broker, started now if it does not run.
  std::string brokers = ctx.settings().embedded_kafka ? "" : ctx.settings().kafka_brokers.value;
  if (brokers.empty()) {
    auto b = broker_up(ctx);
    if (!b.ok()) return b.outcome();
    brokers = b->bootstrap;
  }
  l.env.push_back("RESV_KAFKA_BROKERS=" + brokers);
  l.secrets = {url.value(), token};
  if (auto pw = url_password(url.value()); !pw.empty()) l.secrets.push_back(pw);  // a driver error may quote it
  return l;
}

std::vector<std::string> server_args(const Launch& l, int port, int admin_port, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {l.binary, "--port", std::to_string(port), "--admin-port", std::to_string(admin_port)};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Starts a program of ours in a new session (a terminal's Ctrl-C or hangup
// must not reach it), stdin from /dev/null, stdout and stderr appended to `log`.
Expected<long> spawn(const Launch& l, std::vector<std::string> args, const fs::path& log) {
  std::vector<std::string> env = l.env;
  auto argv = c_strings(args);
  auto envp = c_strings(env);
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&fa);
  ::posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
  ::posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  ::posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);  // no socket of ours leaks into it
  ::posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, l.binary.c_str(), &fa, &attr, argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&fa);
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0)
    return Outcome::Failed("cannot run " + l.binary + ": " + std::strerror(rc), "check that it is an executable file");
  return static_cast<long>(pid);
}

// The ports in resv-server's "resv-server listening api=H:P admin=H:P" line,
// if `text` holds it.
bool parse_listening(const std::string& text, int& port, int& admin_port) {
  auto line = text.find("resv-server listening api=");
  if (line == std::string::npos) return false;
  auto end = text.find('\n', line);
  if (end == std::string::npos) return false;  // not written completely yet
  std::string l = text.substr(line, end - line);
  auto a = l.find("api="), b = l.find(" admin=");
  if (b == std::string::npos) return false;
  auto pa = l.rfind(':', b), pb = l.rfind(':');
  if (pa == std::string::npos || pa < a || pb < b) return false;
  port = std::atoi(l.c_str() + pa + 1);
  admin_port = std::atoi(l.c_str() + pb + 1);
  return port > 0 && admin_port > 0;
}

struct Pending {
  ServerInstance inst;
  std::uintmax_t log_offset = 0;  // where this run's output begins in the log
  bool listening = false;
  bool ready = false;
  std::string last_readyz;  // what /readyz said last, for the timeout message
};

void kill_started(const StateDir& state, const std::vector<Pending>& started) {
  for (const auto& p : started) {
    ::kill(static_cast<pid_t>(p.inst.pid), SIGKILL);
    wait_exited(p.inst.pid, Clock::now() + 5s);
    state.remove_instance(p.inst.index);
  }
}

Outcome start_failure(const Launch& l, const Pending& p, const std::string& what) {
  // Our own /readyz polls are logged as failed requests: they would fill the tail.
  std::istringstream log(read_file(p.inst.log, p.log_offset));
  std::string relevant;
  for (std::string line; std::getline(log, line);)
    if (line.find("path=/readyz ") == std::string::npos) relevant += line + "\n";
  std::string tail = redact(last_lines(relevant, kLogTailLines), l.secrets);
  return Outcome::Unreachable(
      "resv-server instance " + std::to_string(p.inst.index) + " (pid " + std::to_string(p.inst.pid) + ", port " +
          std::to_string(p.inst.port) + ", admin port " + std::to_string(p.inst.admin_port) + ") " + what +
          "; last lines of " + p.inst.log + ":\n" + indent(tail) + "\n",
      "fix what the log reports (database reachable and migrated: 'resv db status'; ports free), "
      "or allow longer with --timeout");
}

// Polls each instance until its /readyz answers 200. Instances whose listening
// line has not appeared yet are not asked: something else may hold the port.
Outcome wait_ready(const StateDir& state, const Launch& l, std::vector<Pending>& pending,
                   std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    bool all = true;
    for (auto& p : pending) {
      if (p.ready) continue;
      if (auto how = child_exit(p.inst.pid); !how.empty()) return start_failure(l, p, how + " before it was ready");
      if (!p.listening) {
        int port = 0, admin = 0;
        if (parse_listening(read_file(p.inst.log, p.log_offset), port, admin)) {
          p.listening = true;
          if (port != p.inst.port || admin != p.inst.admin_port) {  // asked for any free port (0)
            p.inst.port = port;
            p.inst.admin_port = admin;
            state.save_instance(p.inst);
          }
        }
      }
      if (p.listening) {
        HttpClient admin("127.0.0.1", static_cast<uint16_t>(p.inst.admin_port), 1s);
        auto r = admin.get("/readyz");
        p.ready = r.status == 200;
        if (!p.ready) {
          auto j = nlohmann::json::parse(r.body, nullptr, false);
          std::string reasons;
          if (j.is_object() && j.contains("reasons") && j["reasons"].is_array())
            for (const auto& reason : j["reasons"])
              if (reason.is_string()) reasons += (reasons.empty() ? "" : ", ") + reason.get<std::string>();
          p.last_readyz = r.status == 0 ? "no answer: " + r.error : std::to_string(r.status) + " " + reasons;
        }
      }
      all = all && p.ready;
    }
    if (all) return Outcome::Ok();
    if (Clock::now() >= deadline) {
      for (const auto& p : pending) {
        if (p.ready) continue;
        std::string why = p.listening ? "/readyz last answered " + p.last_readyz : "it never reported listening";
        return start_failure(l, p, "was not ready within " + std::to_string(timeout.count()) + " s (" + why + ")");
      }
    }
    std::this_thread::sleep_for(200ms);
  }
}

struct Planned {
  int index, port, admin_port;
};

// Starts each planned instance and waits until all are ready; on failure
// kills all of them.
Expected<std::vector<ServerInstance>> launch(const Context& ctx, const Launch& l, const std::vector<Planned>& plan,
                                             std::chrono::seconds timeout, const std::vector<std::string>& extra) {
  const StateDir state = ctx.state();
  std::error_code ec;
  fs::create_directories(state.server_dir(), ec);
  if (ec)
    return Outcome::Failed("cannot create " + state.server_dir().string() + ": " + ec.message(),
                           "check the permissions of the state directory, or choose another with --state-dir");
  std::vector<Pending> pending;
  for (const auto& pl : plan) {
    Pending p;
    p.inst.index = pl.index;
    p.inst.port = pl.port;
    p.inst.admin_port = pl.admin_port;
    p.inst.log = state.instance_log(pl.index).string();
    p.log_offset = file_size_or_zero(p.inst.log);
    auto pid = spawn(l, server_args(l, pl.port, pl.admin_port, extra), p.inst.log);
    if (!pid.ok()) {
      kill_started(state, pending);
      return pid.outcome();
    }
    p.inst.pid = pid.value();
    p.inst.started_at = now_iso8601();
    pending.push_back(p);
    if (auto s = state.save_instance(p.inst); !s.ok()) {
      kill_started(state, pending);
      return Outcome::Failed("cannot record the started server: " + s.message(),
                             "check the permissions of " + state.server_dir().string());
    }
    ctx.out().detail("started resv-server instance " + std::to_string(pl.index) + " (pid " +
                     std::to_string(p.inst.pid) + "), log " + p.inst.log);
  }
  if (auto o = wait_ready(state, l, pending, timeout); !o.ok()) {
    kill_started(state, pending);
    return o;
  }
  std::vector<ServerInstance> out;
  for (const auto& p : pending) out.push_back(p.inst);
  return out;
}

Outcome check_ports(int first, int count, const char* flag) {
  if (first == 0 || first + count - 1 <= 65535) return Outcome::Ok();
  return Outcome::Usage(std::string(flag) + " " + std::to_string(first) + " leaves no room for " +
                            std::to_string(count) + " consecutive ports",
                        std::string("choose a lower ") + flag);
}

}  // namespace

// resv-server's --db-pool-size: among the arguments given to it, else from
// RESV_DB_POOL_SIZE, else its default.
int db_pool_size_of(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--db-pool-size" && i + 1 < args.size()) return std::atoi(args[i + 1].c_str());
    if (args[i].rfind("--db-pool-size=", 0) == 0) return std::atoi(args[i].c_str() + 15);
  }
  const char* env = std::getenv("RESV_DB_POOL_SIZE");
  return env && std::atoi(env) > 0 ? std::atoi(env) : 16;
}

// Usage when `starting` more servers would take more sessions than the
// database has free, less a few for operators (resv locks, psql); nothing to
// say when it cannot be asked (the servers then say why they cannot start).
Outcome check_session_budget(const std::string& url, int starting, int pool_size) {
  constexpr int kForOperators = 5;
  long long max = 0, free = 0, in_use = 0;
  try {
    pqxx::connection conn(with_application_name(with_connect_timeout(url, 5), "resv server start"));
    pqxx::read_transaction tx(conn);
    auto row = tx.exec1(
        "SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int,"
        " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')");
    max = row[0].as<long long>();
    in_use = row[2].as<long long>();
    free = max - row[1].as<long long>() - in_use - kForOperators;
  } catch (const std::exception&) {
    return Outcome::Ok();
  }
  const int each = server_sessions(pool_size);
  if (static_cast<long long>(starting) * each <= free) return Outcome::Ok();
  const long long fit = std::max(0LL, free / each);
  return Outcome::Usage(
      "starting " + std::to_string(starting) + " instance(s) needs " + std::to_string(starting * each) +
          " database sessions (" + std::to_string(each) + " each with --db-pool-size " + std::to_string(pool_size) +
          "); the database has " + std::to_string(std::max(0LL, free)) + " free (max_connections " +
          std::to_string(max) + ", " + std::to_string(in_use) + " in use, " + std::to_string(kForOperators) +
          " kept for operators)",
      (fit > 0 ? "start " + std::to_string(fit) + " more at most, " : std::string("stop an instance, ")) +
          "give them fewer sessions ('resv server start -- --db-pool-size 8'), or raise max_connections "
          "('resv db status' shows it; 'resv db up' sizes the embedded cluster's for the machine)");
}

Expected<std::vector<StartedInstance>> start_instances(const Context& ctx, const StartOptions& o) {
  if (o.instances < 1 || o.instances > kMaxInstances)
    return Outcome::Usage("--instances must be between 1 and " + std::to_string(kMaxInstances));
  if (auto bad = check_ports(o.port, o.instances, "--port"); !bad.ok()) return bad;
  if (auto bad = check_ports(o.admin_port, o.instances, "--admin-port"); !bad.ok()) return bad;

  const StateDir state = ctx.state();
  std::vector<StartedInstance> out;
  std::vector<Planned> plan;
  std::vector<ServerInstance> recorded = state.instances();
  for (int i = 1; i <= o.instances; ++i) {
    auto rec = std::find_if(recorded.begin(), recorded.end(), [i](const ServerInstance& s) { return s.index == i; });
    if (rec != recorded.end() && is_running_server(rec->pid)) {
      ctx.out().info("resv-server instance " + std::to_string(i) + " is already running (pid " +
                     std::to_string(rec->pid) + ", port " + std::to_string(rec->port) + ")");
      out.push_back({*rec, true});
      continue;
    }
    if (rec != recorded.end()) state.remove_instance(i);  // its process is gone
    auto at = [i](int first) { return first == 0 ? 0 : first + i - 1; };
    plan.push_back({i, at(o.port), at(o.admin_port)});
  }
  if (plan.empty()) return out;

  const bool broker_ran = state.embedded_broker().has_value();
  auto l = prepare_launch(ctx);
  if (!l.ok()) return l.outcome();
  if (auto url = ctx.database_url(); url.ok())
    if (auto refused = check_session_budget(url.value(), static_cast<int>(plan.size()), db_pool_size_of(o.extra_args));
        !refused.ok())
      return refused;
  auto started = launch(ctx, l.value(), plan, o.timeout, o.extra_args);
  if (!started.ok()) {
    // What this call started goes with the servers it started: the broker
    // too, unless a server that was running already publishes to it.
    if (!broker_ran && out.empty()) broker_down(state, std::chrono::seconds(5));
    return started.outcome();
  }
  for (auto& s : started.value()) out.push_back({s, false});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.instance.index < b.instance.index; });
  return out;
}

Expected<std::vector<ServerInstance>> start_servers(const Context& ctx, const StartOptions& o) {
  auto started = start_instances(ctx, o);
  if (!started.ok()) return started.outcome();
  std::vector<ServerInstance> out;
  for (auto& s : started.value()) out.push_back(s.instance);
  return out;
}

Expected<ServerInstance> start_instance(const Context& ctx, int index, int port, int admin_port,
                                        std::chrono::seconds timeout, const std::vector<std::string>& extra_args) {
  auto l = prepare_launch(ctx);
  if (!l.ok()) return l.outcome();
  auto started = launch(ctx, l.value(), {{index, port, admin_port}}, timeout, extra_args);
  if (!started.ok()) return started.outcome();
  return started.value().front();
}

Outcome exec_server(const Context& ctx, const StartOptions& o) {
  if (o.instances != 1)
    return Outcome::Usage("--foreground runs one instance", "drop --instances, or run one foreground resv per instance "
                                                            "under your supervisor with its own --port");
  const StateDir state = ctx.state();
  for (const auto& rec : state.instances())
    if (rec.index == 1 && is_running_server(rec.pid))
      return Outcome::Failed("resv-server instance 1 is already running (pid " + std::to_string(rec.pid) + ")",
                             "stop it first with 'resv server stop'");
  auto l = prepare_launch(ctx);
  if (!l.ok()) return l.outcome();

  // execve keeps our pid, so the record is right once resv-server replaces us.
  ServerInstance inst{1, static_cast<long>(::getpid()), o.port, o.admin_port, now_iso8601(), ""};
  if (auto s = state.save_instance(inst); !s.ok())
    return Outcome::Failed("cannot record the server: " + s.message(),
                           "check the permissions of " + state.server_dir().string());
  auto args = server_args(l.value(), o.port, o.admin_port, o.extra_args);
  std::vector<std::string> env = l->env;
  auto argv = c_strings(args);
  auto envp = c_strings(env);
  std::fflush(nullptr);
  ::execve(l->binary.c_str(), argv.data(), envp.data());
  std::string err = std::strerror(errno);
  state.remove_instance(1);
  return Outcome::Failed("cannot run " + l->binary + ": " + err,
                         "check that it is an executable resv-server, or name another with RESV_SERVER_BIN");
}

std::vector<StopReport> stop_instances(const StateDir& state, const std::vector<ServerInstance>& instances,
                                       std::chrono::seconds timeout) {
  std::vector<StopReport> reports;
  for (const auto& inst : instances) {
    StopReport r{inst, StopReport::How::Terminated, ""};
    if (!is_running_server(inst.pid)) {
      exited(inst.pid);  // reaps it if it is our child
      r.how = StopReport::How::NotRunning;
    } else if (::kill(static_cast<pid_t>(inst.pid), SIGTERM) != 0) {
      if (errno == ESRCH) {
        r.how = StopReport::How::NotRunning;
      } else {
        r.how = StopReport::How::Failed;
        r.error = std::string("cannot signal pid ") + std::to_string(inst.pid) + ": " + std::strerror(errno);
      }
    }
    reports.push_back(r);
  }
  // All were asked to stop at once: they drain in parallel.
  const auto deadline = Clock::now() + timeout;
  for (auto& r : reports) {
    if (r.how != StopReport::How::Terminated || wait_exited(r.instance.pid, deadline)) continue;
    ::kill(static_cast<pid_t>(r.instance.pid), SIGKILL);
    if (wait_exited(r.instance.pid, Clock::now() + 10s)) {
      r.how = StopReport::How::Killed;
    } else {
      r.how = StopReport::How::Failed;
      r.error = "pid " + std::to_string(r.instance.pid) + " is still running after SIGKILL";
    }
  }
  for (const auto& r : reports)
    if (r.how != StopReport::How::Failed) state.remove_instance(r.instance.index);
  return reports;
}

bool is_running_server(long pid) {
  return process_running(pid, "resv-server");
}

namespace {

// `name` from $`env_var`, else beside this program or in ../libexec/resv
// (installed), or in the build tree's `build_dir` beside resv's, else on
// PATH.
Expected<std::string> find_binary(const std::string& name, const char* env_var, const char* build_dir) {
  if (const char* env = std::getenv(env_var); env && *env) {
    if (executable(env)) return std::string(env);
    return Outcome::Failed(std::string(env_var) + " is " + env + ", which is not an executable file",
                           "point " + std::string(env_var) + " at the " + name + " binary, or unset it");
  }
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path up = self.parent_path().parent_path();
    for (const fs::path& p : {self.parent_path() / name, up / "libexec" / "resv" / name, up / build_dir / name})
      if (executable(p)) return p.string();
  }
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');)
      if (!dir.empty() && executable(fs::path(dir) / name)) return (fs::path(dir) / name).string();
  }
  return Outcome::Failed("cannot find the " + name + " binary (not beside " + self.string() + ", not on PATH)",
                         "install " + name + " beside resv or on PATH, or set " + env_var + " to its path");
}

}  // namespace

Expected<std::string> find_server_binary() { return find_binary("resv-server", "RESV_SERVER_BIN", "server"); }

Expected<EmbeddedBroker> broker_up(const Context& ctx) {
  const auto state = ctx.state();
  if (auto running = state.embedded_broker()) return *running;
  auto bin = find_binary("resv-broker", "RESV_BROKER_BIN", "cli");
  if (!bin.ok()) return bin.outcome();
  std::error_code ec;
  fs::create_directories(state.broker_file().parent_path(), ec);
  fs::remove(state.broker_file(), ec);  // a stale record of one that is gone
  Launch l{bin.value(), {}, {}};
  for (char** e = environ; e && *e; ++e) l.env.emplace_back(*e);
  auto pid = spawn(l, {l.binary, state.broker_file().string()}, state.broker_log());
  if (!pid.ok()) return pid.outcome();
  const auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline) {
    if (auto b = state.embedded_broker(); b && b->pid == pid.value()) {
      ctx.out().info("started the embedded Kafka broker (pid " + std::to_string(b->pid) + ", " + b->bootstrap + ")");
      return *b;
    }
    if (auto how = child_exit(pid.value()); !how.empty())
      return Outcome::Failed("the embedded Kafka broker " + how + ":\n" + indent(tail_file(state.broker_log(), 10)),
                             "see " + state.broker_log().string());
    std::this_thread::sleep_for(20ms);
  }
  ::kill(static_cast<pid_t>(pid.value()), SIGKILL);
  wait_exited(pid.value(), Clock::now() + 5s);
  return Outcome::Unreachable("the embedded Kafka broker did not start within 10 s", "see " + state.broker_log().string());
}

bool broker_down(const StateDir& state, std::chrono::seconds timeout) {
  auto b = state.embedded_broker();
  if (!b) return false;
  ::kill(static_cast<pid_t>(b->pid), SIGTERM);
  if (!wait_exited(b->pid, Clock::now() + timeout)) {
    ::kill(static_cast<pid_t>(b->pid), SIGKILL);
    wait_exited(b->pid, Clock::now() + 5s);
  }
  std::error_code ec;
  fs::remove(state.broker_file(), ec);
  return true;
}

std::string tail_file(const fs::path& path, int n) {
  std::ifstream in(path, std::ios::binary);
  if (!in || n <= 0) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  // Read backwards in blocks until the block holds n complete lines.
  std::string text;
  for (std::streamoff block = 64 * 1024;; block *= 4) {
    std::streamoff from = std::max<std::streamoff>(0, size - block);
    in.clear();
    in.seekg(from);
    text.assign(static_cast<size_t>(size - from), '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (from == 0 || std::count(text.begin(), text.end(), '\n') > n) break;
  }
  return last_lines(text, n);
}

std::string admin_token_for(const Context& ctx) {
  if (!ctx.settings().admin_token.value.empty()) return ctx.settings().admin_token.value;
  return ctx.state().admin_token();
}

}  // namespace resv::cli
