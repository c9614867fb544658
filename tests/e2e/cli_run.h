#pragma once
// Runs the real `resv` binary as a process: stdout and stderr captured
// apart (the CLI's contract puts data on one and messages on the other),
// standard input from /dev/null (as in CI and scripts), extra environment.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace resv::e2e {

struct CliRun {
  int code = -1;  // the exit status; 128 + the signal that ended it, as a shell says; -1 not started
  std::string out;
  std::string err;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Starts resv with `args` (stdin /dev/null, stdout and stderr to the files
// given) without waiting; its pid, or -1.
inline pid_t spawn_resv(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                        const std::string& out_path, const std::string& err_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> argv_s{RESV_CLI_BIN};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (!env.count(kv.substr(0, kv.find('=')))) env_s.push_back(kv);
  }
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, RESV_CLI_BIN, &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

inline CliRun run_resv(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) {
  char tmpl[] = "/tmp/resv-cli-run-XXXXXX";
  std::filesystem::path dir = mkdtemp(tmpl);
  auto out_path = dir / "out", err_path = dir / "err";
  CliRun r;
  if (pid_t pid = spawn_resv(args, env, out_path, err_path); pid > 0) {
    int st = 0;
    waitpid(pid, &st, 0);
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
  }
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  std::filesystem::remove_all(dir);
  return r;
}

// A base port with `count` consecutive free ports, distinct from `taken`.
// Drawn below the kernel's ephemeral range (32768 up): a load test leaves
// tens of thousands of client ports there in TIME_WAIT, which bind refuses.
inline int free_ports(int count, std::set<int>& taken) {
  static std::mt19937 rng(std::random_device{}());
  for (int attempt = 0; attempt < 200; ++attempt) {
    int base = std::uniform_int_distribution<int>(20000, 32000 - count)(rng);
    bool ok = true;
    for (int p = base; ok && p < base + count; ++p) {
      if (taken.count(p)) ok = false;
      int probe = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in b{};
      b.sin_family = AF_INET;
      b.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      b.sin_port = htons(static_cast<uint16_t>(p));
      ok = ok && bind(probe, reinterpret_cast<sockaddr*>(&b), sizeof b) == 0;
      close(probe);
    }
    if (!ok) continue;
    for (int p = base; p < base + count; ++p) taken.insert(p);
    return base;
  }
  throw std::runtime_error("no free consecutive ports");
}

inline bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// The lines of `text`, without their newlines.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A database address where no PostgreSQL listens.
inline std::string unreachable_url() {
  std::set<int> taken;
  return "postgresql://resv@127.0.0.1:" + std::to_string(free_ports(1, taken)) + "/resv?connect_timeout=3";
}

}  // namespace resv::e2e
