#include "cli/embedded_pg.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>

#include "cli/output.h"
#include "db/migrations.h"

namespace resv::cli {

namespace {

constexpr int kFirstPort = 54320;
constexpr int kPortsToTry = 100;
constexpr int kStartTimeoutSeconds = 60;

struct Ran {
  int code = -1;
  std::string output;  // stdout and stderr, interleaved
};

// Runs `argv` (argv[0] looked up on PATH) with stdin from /dev/null and its
// stdout and stderr captured. 127 when it could not be started.
Ran run_program(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {127, std::string("cannot create a pipe: ") + std::strerror(errno)};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return {127, "cannot run " + argv[0] + ": " + std::strerror(rc)};
  }
  Ran ran;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) ran.output.append(buf, static_cast<size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  ::close(fds[0]);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  ran.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return ran;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The last line that says what went wrong (FATAL/ERROR/"could not"), else
// the last line.
std::string telling_line(const std::string& text) {
  std::istringstream in(text);
  std::string line, last, telling;
  while (std::getline(in, line)) {
    if (trim(line).empty()) continue;
    last = trim(line);
    if (line.find("FATAL") != std::string::npos || line.find("ERROR") != std::string::npos ||
        line.find("could not") != std::string::npos)
      telling = last;
  }
  return telling.empty() ? last : telling;
}

// PostgreSQL refuses to run as root: as root, everything that touches the
// cluster runs as `postgres`.
struct Runner {
  fs::path bindir;
  bool as_postgres = false;  // running as root
  uid_t uid = 0;
  gid_t gid = 0;

  std::vector<std::string> command(const std::string& program, std::vector<std::string> args) const {
    std::vector<std::string> argv;
    if (as_postgres) argv = {"runuser", "-u", "postgres", "--"};
    argv.push_back((bindir / program).string());
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  Ran run(const std::string& program, std::vector<std::string> args) const {
    return run_program(command(program, std::move(args)));
  }
  // Gives `path` to the postgres user (as root); nothing otherwise.
  Status own(const fs::path& path) const {
    if (as_postgres && ::chown(path.c_str(), uid, gid) != 0)
      return Status::Internal("cannot give " + path.string() + " to the postgres user: " + std::strerror(errno));
    return Status::Ok();
  }
};

// pg_config --bindir as the project's scripts find it, falling back to the
// Debian location of PostgreSQL 15.
Expected<Runner> make_runner() {
  Runner r;
  if (auto ran = run_program({"pg_config", "--bindir"}); ran.code == 0) r.bindir = trim(ran.output);
  if (r.bindir.empty() || ::access((r.bindir / "initdb").c_str(), X_OK) != 0) r.bindir = "/usr/lib/postgresql/15/bin";
  if (::access((r.bindir / "initdb").c_str(), X_OK) != 0 || ::access((r.bindir / "pg_ctl").c_str(), X_OK) != 0)
    return Outcome::Failed("the PostgreSQL server programs (initdb, pg_ctl) were not found",
                           "install PostgreSQL 15 (Debian: apt-get install postgresql-15), or put its pg_config on PATH");
  if (::geteuid() == 0) {
    const passwd* postgres = ::getpwnam("postgres");
    if (!postgres)
      return Outcome::Failed("resv runs as root, and PostgreSQL must run as the `postgres` user, which does not exist",
                             "install PostgreSQL 15 (it creates that user), or run resv as a regular user");
    r.as_postgres = true;
    r.uid = postgres->pw_uid;
    r.gid = postgres->pw_gid;
  }
  return r;
}

// Held while a resv process creates, starts or stops the cluster. O_CLOEXEC:
// the postmaster must not inherit it.
class StateLock {
 public:
  explicit StateLock(const fs::path& file) : fd_(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_ >= 0)
      while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
  }
  ~StateLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

bool port_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as the postmaster binds
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// The first free port after `after` (from kFirstPort), 0 when none is.
int pick_port(int after = kFirstPort - 1) {
  for (int p = after + 1; p < kFirstPort + kPortsToTry; ++p)
    if (port_free(p)) return p;
  return 0;
}

}  // namespace

ClusterSize cluster_size(long long ram_bytes, int cpus) {
  ClusterSize s;
  s.shared_buffers_mb = std::clamp(ram_bytes / 4 / (1024 * 1024), 128LL, 2048LL);
  s.max_connections = 25 * std::max(8, 2 * cpus) + 50;
  return s;
}

namespace {

std::string conf_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// The settings resv owns live in their own file, rewritten whole, which
// postgresql.conf includes; sized for this machine at each 'resv db up'
// (shared_buffers and max_connections take effect when it starts). The WAL
// and durability settings stay PostgreSQL's: wal_compression measured no
// gain on the seat-hold benchmark (bench/wal.sh: under 0.1 full-page images
// per hold), and synchronous_commit stays on.
Status write_resv_conf(const StateDir& st, const Runner& pg, int port) {
  fs::path file = st.pg_data() / "resv.conf";
  const long long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  const ClusterSize size = cluster_size(pages > 0 && page > 0 ? pages * page : 0, cpus > 0 ? static_cast<int>(cpus) : 1);
  std::string text =
      "# Written by resv (resv db up): the embedded cluster's network settings and size.\n"
      "port = " + std::to_string(port) + "\n"
      "listen_addresses = '127.0.0.1'\n"
      "unix_socket_directories = " + conf_quote(st.pg_run().string()) + "\n"
      "shared_buffers = '" + std::to_string(size.shared_buffers_mb) + "MB'\n"
      "max_connections = " + std::to_string(size.max_connections) + "\n";
  if (auto s = write_file_atomic(file, text, 0600); !s.ok()) return s;
  return pg.own(file);
}

Status include_resv_conf(const StateDir& st) {
  std::ofstream conf(st.pg_data() / "postgresql.conf", std::ios::app);
  conf << "\n# Added by resv: port, listen address and socket directory.\ninclude 'resv.conf'\n";
  conf.close();
  if (!conf) return Status::Internal("cannot append to " + (st.pg_data() / "postgresql.conf").string());
  return Status::Ok();
}

Status make_dir(const fs::path& dir, unsigned mode, const Runner& pg) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Internal("cannot create " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), mode) != 0) return Status::Internal("cannot set the mode of " + dir.string());
  return pg.own(dir);
}

Outcome failed(const Status& s, std::string hint = {}) { return Outcome::Failed(s.message(), std::move(hint)); }

// initdb with the generated password; the data directory is removed again if
// it fails, so that the next attempt starts clean.
Outcome init_cluster(const StateDir& st, const Runner& pg, const EmbeddedDb& db) {
  fs::path pwfile = st.pg_run() / "initdb-password";
  if (auto s = write_file_atomic(pwfile, db.password + "\n", 0600); !s.ok()) return failed(s);
  if (auto s = pg.own(pwfile); !s.ok()) return failed(s);
  if (auto s = make_dir(st.pg_data(), 0700, pg); !s.ok()) return failed(s);
  Ran ran = pg.run("initdb", {"-D", st.pg_data().string(), "-U", db.user, "--pwfile=" + pwfile.string(), "-E", "UTF8",
                              "--no-locale", "--auth-local=trust", "--auth-host=scram-sha-256"});
  std::error_code ec;
  fs::remove(pwfile, ec);
  if (ran.code != 0) {
    fs::remove_all(st.pg_data(), ec);
    return Outcome::Failed("initdb failed: " + telling_line(ran.output),
                           "the full output:\n" + trim(ran.output));
  }
  return Outcome::Ok();
}

// The pid in the first line of `lockfile` (postmaster.pid, a socket's lock
// file), 0 when there is none.
long pid_in(const fs::path& lockfile) {
  std::ifstream in(lockfile);
  long pid = 0;
  in >> pid;
  return in ? pid : 0;
}

bool running(const StateDir& st) { return process_running(pid_in(st.pg_data() / "postmaster.pid"), "postgres"); }

// Removes the lock files of a postmaster that is gone (postgres would refuse
// to start while their pid is a zombie or another process); returns its pid,
// 0 when there was nothing stale. Shared memory still attached by its
// children is postgres's own check, by data directory, at start.
long clear_stale_lockfiles(const StateDir& st) {
  const fs::path pidfile = st.pg_data() / "postmaster.pid";
  long pid = pid_in(pidfile);
  if (pid == 0 || process_running(pid, "postgres")) return 0;
  std::error_code ec;
  fs::remove(pidfile, ec);
  for (const auto& entry : fs::directory_iterator(st.pg_run(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(".s.PGSQL.", 0) == 0 && name.size() > 5 && name.substr(name.size() - 5) == ".lock" &&
        pid_in(entry.path()) == pid)
      fs::remove(entry.path(), ec);
  }
  return pid;
}

// pg_ctl start, waiting for readiness. A cluster whose port was taken while
// it was down (or, when fresh, since it was picked) moves to the next free one
// (`db` is updated and saved; `moved_from` gets the old port): resv owns the
// port, and a URL printed before is useless while another server answers on
// it. A server killed a moment ago may still have children attached to its
// shared memory, so that case is retried for a few seconds.
Outcome start_cluster(const StateDir& st, const Runner& pg, EmbeddedDb& db, int& moved_from) {
  const fs::path log = embedded_log(st);
  for (int attempt = 1;; ++attempt) {
    auto offset = file_size_or_zero(log);
    Ran ran = pg.run("pg_ctl", {"start", "-D", st.pg_data().string(), "-l", log.string(), "-w", "-t",
                                std::to_string(kStartTimeoutSeconds)});
    if (ran.code == 0) return Outcome::Ok();
    std::string logged = read_file(log, offset);
    bool port_taken = logged.find("could not bind") != std::string::npos ||
                      logged.find("Address already in use") != std::string::npos;
    bool old_children = logged.find("pre-existing shared memory block") != std::string::npos;
    if (attempt < 10 && port_taken) {
      int port = pick_port(db.port);
      if (port == 0) break;
      if (moved_from == 0) moved_from = db.port;
      db.port = port;
      if (auto s = write_resv_conf(st, pg, db.port); !s.ok()) return failed(s);
      if (auto s = st.save_embedded(db); !s.ok()) return failed(s);
      continue;
    }
    if (attempt < 10 && old_children) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    std::string why = telling_line(logged.empty() ? ran.output : logged);
    std::string hint = "see " + log.string();
    if (port_taken)
      hint = "port " + std::to_string(db.port) + " is taken by another process: stop it, or change port in " +
             (st.pg_data() / "resv.conf").string() + " and " + st.embedded_file().string() + "; " + hint;
    return Outcome::Failed("PostgreSQL did not start: " + why, hint);
  }
  return Outcome::Failed("no free port between " + std::to_string(kFirstPort) + " and " +
                         std::to_string(kFirstPort + kPortsToTry - 1) + " on 127.0.0.1",
                         "stop what listens there, or remove " + (st.root() / "pg").string() + " and try again");
}

// Database `db.database`, created on first start (initdb makes only
// `postgres` and the templates).
Outcome ensure_database(const StateDir& st, const EmbeddedDb& db) {
  EmbeddedDb maintenance = db;
  maintenance.database = "postgres";
  try {
    pqxx::connection conn(maintenance.url());
    pqxx::nontransaction tx(conn);
    if (tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", db.database).empty())
      tx.exec("CREATE DATABASE " + tx.quote_name(db.database));
    return Outcome::Ok();
  } catch (const pqxx::broken_connection& e) {
    return Outcome::Unreachable("the embedded PostgreSQL runs but refuses connections: " + first_line(e.what()),
                                "its port or password may have been changed by hand: compare " +
                                    st.embedded_file().string() + " with " + (st.pg_data() / "resv.conf").string() +
                                    ", and see " + embedded_log(st).string());
  } catch (const pqxx::sql_error& e) {
    return Outcome::Failed("cannot create database " + db.database + ": " + telling_line(e.what()));
  }
}

}  // namespace

fs::path embedded_log(const StateDir& state) { return state.pg_run() / "postgres.log"; }

bool embedded_running(const StateDir& state) { return running(state); }

Expected<DbUp> embedded_up(const Context& ctx) {
  if (!ctx.settings().embedded_db)
    return Outcome::Usage("database " + ctx.settings().database_url.shown() + " is configured (" +
                              ctx.settings().database_url.source + "); resv db up manages only the embedded cluster",
                          "use 'resv db migrate' to bring that database's schema up to date, or drop --db / "
                          "RESV_DATABASE_URL / database_url to use the embedded cluster");
  const StateDir st = ctx.state();
  auto pg_or = make_runner();
  if (!pg_or.ok()) return pg_or.outcome();
  const Runner& pg = pg_or.value();

  // The postmaster's socket path has a hard limit (sun_path).
  std::string socket_path = (st.pg_run() / ".s.PGSQL.54320").string();
  if (socket_path.size() >= sizeof(sockaddr_un::sun_path))
    return Outcome::Usage("the state directory " + st.root().string() + " is too deep for PostgreSQL's unix socket (" +
                              std::to_string(socket_path.size()) + " characters, at most " +
                              std::to_string(sizeof(sockaddr_un::sun_path) - 1) + ")",
                          "give a shorter --state-dir (or RESV_STATE_DIR)");

  if (auto s = make_dir(st.root() / "pg", 0755, Runner{}); !s.ok()) return failed(s);
  StateLock lock(st.root() / "pg" / "lock");
  if (!lock.ok()) return Outcome::Failed("cannot lock " + (st.root() / "pg" / "lock").string() + ": " + std::strerror(errno));
  if (auto s = make_dir(st.pg_run(), 0700, pg); !s.ok()) return failed(s);
  if (pg.as_postgres && run_program({"runuser", "-u", "postgres", "--", "test", "-w", st.pg_run().string()}).code != 0)
    return Outcome::Failed("the postgres user cannot reach " + st.pg_run().string() +
                               " (as root, resv runs PostgreSQL as postgres, and every directory above the state "
                               "directory must be traversable by it)",
                           "use --state-dir (or RESV_STATE_DIR) under a directory others can traverse, e.g. "
                           "/var/lib/resv (the default as root) or /tmp/resv");

  DbUp up;
  std::error_code ec;
  const bool have_cluster = fs::exists(st.pg_data() / "PG_VERSION", ec);
  auto saved = st.embedded();
  if (have_cluster && !saved)
    return Outcome::Failed("a cluster exists in " + st.pg_data().string() + " but its settings (" +
                               st.embedded_file().string() + ") are missing, so its password is unknown",
                           "restore that file, or remove " + (st.root() / "pg").string() +
                               " to start afresh (this deletes the cluster's data)");
  if (!have_cluster) {
    if (fs::exists(st.pg_data(), ec) && !fs::is_empty(st.pg_data(), ec))
      return Outcome::Failed(st.pg_data().string() + " exists but holds no PostgreSQL cluster",
                             "move it away or remove it, then run 'resv db up' again");
    up.db.password = random_hex(16);
    up.db.port = pick_port();
    if (up.db.port == 0)
      return Outcome::Failed("no free port between " + std::to_string(kFirstPort) + " and " +
                             std::to_string(kFirstPort + kPortsToTry - 1) + " on 127.0.0.1",
                             "stop what listens there and try again");
    ctx.out().info("creating the embedded PostgreSQL cluster in " + st.pg_data().string());
    if (auto o = init_cluster(st, pg, up.db); !o.ok()) return o;
    if (auto s = include_resv_conf(st); !s.ok()) return failed(s);
    if (auto s = write_resv_conf(st, pg, up.db.port); !s.ok()) return failed(s);
    if (auto s = st.save_embedded(up.db); !s.ok()) return failed(s);
    up.created = true;
  } else {
    up.db = *saved;
  }

  if (running(st)) {
    up.already_running = true;
  } else {
    if (long pid = clear_stale_lockfiles(st))
      ctx.out().info("removed the pidfile of PostgreSQL process " + std::to_string(pid) + ", which is gone");
    if (auto o = start_cluster(st, pg, up.db, up.port_moved_from); !o.ok()) return o;
    if (up.port_moved_from != 0 && !up.created)
      ctx.out().warn("port " + std::to_string(up.port_moved_from) +
                     " was taken by another process while PostgreSQL was down, so it moved to " +
                     std::to_string(up.db.port) + ": set RESV_DATABASE_URL again where you exported it");
    ctx.out().info("started PostgreSQL on 127.0.0.1:" + std::to_string(up.db.port) + " (log: " +
                   embedded_log(st).string() + ")");
  }
  if (auto o = ensure_database(st, up.db); !o.ok()) return o;
  auto applied = apply_migrations(up.db.url());
  if (!applied.ok())
    return Outcome::From(applied.status(), "see " + embedded_log(st).string());
  up.migrations_applied = static_cast<int>(applied->versions.size());
  return up;
}

Expected<bool> embedded_down(const Context& ctx, int timeout_seconds) {
  if (!ctx.settings().embedded_db)
    return Outcome::Usage("database " + ctx.settings().database_url.shown() + " is configured (" +
                              ctx.settings().database_url.source + "); resv db down manages only the embedded cluster",
                          "stop that PostgreSQL with the tools that run it");
  const StateDir st = ctx.state();
  std::error_code ec;
  if (!fs::exists(st.pg_data() / "PG_VERSION", ec)) return false;
  auto pg_or = make_runner();
  if (!pg_or.ok()) return pg_or.outcome();
  const Runner& pg = pg_or.value();
  StateLock lock(st.root() / "pg" / "lock");
  if (!running(st)) return false;
  Ran ran = pg.run("pg_ctl", {"stop", "-D", st.pg_data().string(), "-m", "fast", "-w", "-t",
                              std::to_string(timeout_seconds)});
  if (ran.code != 0) {
    if (!running(st)) return true;  // it went down between the check and the stop
    return Outcome::Failed("PostgreSQL did not stop within " + std::to_string(timeout_seconds) +
                               " s: " + telling_line(ran.output),
                           "run 'resv db down' again with a longer --timeout, or see " + embedded_log(st).string());
  }
  return true;
}

}  // namespace resv::cli
