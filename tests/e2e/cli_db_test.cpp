// resv db through the binary: the embedded cluster in a state directory of
// its own per test (up, down, status, stale pidfile, psql, reset), and
// migrate on databases of the shared throwaway cluster.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <sstream>
#include <string>

#include "cli_run.h"
#include "db/migrations.h"
#include "eventually.h"
#include "test_db.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using resv::e2e::contains;
using resv::test::eventually;

struct Run {
  int code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a shell command line with stdin from /dev/null (never a terminal),
// capturing stdout and stderr apart.
Run sh(const std::string& command_line, const fs::path& err_file) {
  std::string cmd = "( " + command_line + " ) </dev/null 2>'" + err_file.string() + "'";
  FILE* p = popen(cmd.c_str(), "r");
  Run r;
  std::array<char, 512> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.err = slurp(err_file);
  return r;
}

// Alive and not a zombie (a killed postmaster is nobody's child here).
bool running_process(long pid) {
  if (::kill(static_cast<pid_t>(pid), 0) != 0) return false;
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

// A state directory of its own under /tmp (0755: as root, the postgres user
// must traverse it), with a clean environment: no RESV_* variables and no
// config file, so that the embedded cluster is the database. Its cluster is
// stopped and the directory removed however the test ends.
class StateDir {
 public:
  StateDir() {
    char tmpl[] = "/tmp/resv-db-test-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0755);
  }
  ~StateDir() {
    resv("db down --timeout 30");
    // Last resort, so that no test leaves a server behind: immediate shutdown.
    if (long pid = postmaster_pid(); pid > 0 && running_process(pid)) ::kill(static_cast<pid_t>(pid), SIGQUIT);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;

  const fs::path& path() const { return dir_; }
  fs::path data() const { return dir_ / "pg" / "data"; }

  // `resv --state-dir DIR ARGS`.
  Run resv(const std::string& args) const { return sh(command(args), dir_ / "stderr"); }
  // A shell line that may use $RESV, which runs resv on this state directory.
  Run shell(const std::string& line) const {
    return sh("RESV='" + command("") + "'; " + line, dir_ / "stderr");
  }

  // The first line of data/postmaster.pid, 0 when there is none.
  long postmaster_pid() const {
    std::ifstream in(data() / "postmaster.pid");
    long pid = 0;
    in >> pid;
    return pid;
  }

  // Runs SQL through `resv db psql`; returns its unaligned output.
  std::string sql(const std::string& query) const {
    auto r = resv("db psql -- -X -At -v ON_ERROR_STOP=1 -c \"" + query + "\"");
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out;
  }

 private:
  std::string command(const std::string& args) const {
    return "env -u RESV_DATABASE_URL -u RESV_STATE_DIR -u RESV_CONFIG XDG_CONFIG_HOME=" + dir_.string() + " " +
           RESV_CLI_BIN + " --state-dir " + dir_.string() + " " + args;
  }
  fs::path dir_;
};

const std::string kExportPrefix = "export RESV_DATABASE_URL='postgresql://resv:";

// The URL from `db up`'s export line.
std::string url_of(const Run& up) {
  auto start = up.out.find('\'');
  auto end = up.out.rfind('\'');
  return start == std::string::npos || end == start ? "" : up.out.substr(start + 1, end - start - 1);
}

std::string password_of(const std::string& url) {
  auto colon = url.find(':', url.find("://") + 3);
  return url.substr(colon + 1, url.find('@') - colon - 1);
}

TEST(CliDb, UpCreatesTheClusterAndPrintsAnExportLineWithAWorkingUrl) {
  StateDir state;
  auto up = state.resv("db up");
  ASSERT_EQ(up.code, 0) << up.err;
  // stdout is exactly one line of shell; everything else went to stderr.
  EXPECT_EQ(up.out.rfind(kExportPrefix, 0), 0u) << up.out;
  EXPECT_EQ(std::count(up.out.begin(), up.out.end(), '\n'), 1) << up.out;
  EXPECT_TRUE(contains(up.err, "creating the embedded PostgreSQL cluster in " + state.data().string())) << up.err;
  std::string url = url_of(up);
  EXPECT_TRUE(contains(url, "@127.0.0.1:")) << url;
  EXPECT_TRUE(contains(url, "/resv")) << url;

  struct stat st {};
  ASSERT_EQ(::stat((state.path() / "pg" / "embedded.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(fs::exists(state.path() / "pg" / "run" / "postgres.log"));

  EXPECT_EQ(state.sql("select 1"), "1\n");
  EXPECT_EQ(state.sql("show listen_addresses"), "127.0.0.1\n");
  // The printed URL itself works (TCP, password), and a wrong password does not.
  auto direct = state.resv("--db '" + url + "' db psql -- -X -At -c 'select current_user'");
  EXPECT_EQ(direct.code, 0) << direct.err;
  EXPECT_EQ(direct.out, "resv\n");
  std::string wrong = url;
  wrong.replace(wrong.find(password_of(url)), password_of(url).size(), "wrong");
  auto refused = state.resv("--db '" + wrong + "' db status");
  EXPECT_EQ(refused.code, 3) << refused.err;
  // The schema is migrated.
  EXPECT_EQ(state.sql("select max(version) from schema_migrations"),
            std::to_string(resv::latest_migration_version()) + "\n");
}

TEST(CliDb, SecondUpReportsAlreadyUpAndPrintsTheSameUrl) {
  StateDir state;
  auto first = state.resv("db up");
  ASSERT_EQ(first.code, 0) << first.err;
  auto second = state.resv("db up");
  EXPECT_EQ(second.code, 0) << second.err;
  EXPECT_TRUE(contains(second.err, "already up")) << second.err;
  EXPECT_EQ(second.out, first.out);

  auto json_up = state.resv("db up --json");
  ASSERT_EQ(json_up.code, 0) << json_up.err;
  auto j = json::parse(json_up.out);
  EXPECT_EQ(j["url"], url_of(first));
  EXPECT_EQ(j["alreadyRunning"], true);
  EXPECT_EQ(j["created"], false);
  EXPECT_EQ(j["migrationsApplied"], 0);
  EXPECT_EQ(j["dataDir"], state.data().string());
  EXPECT_GT(j["port"].get<int>(), 0);
}

TEST(CliDb, EvalOfQuietUpSetsTheDatabaseUrlInTheShell) {
  StateDir state;
  auto r = state.shell("eval \"$($RESV db up -q)\" && psql \"$RESV_DATABASE_URL\" -X -At -c 'select 42'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "42\n");
  EXPECT_EQ(r.err, "");  // -q: nothing but errors
}

TEST(CliDb, StatusReportsARunningClusterThenExitsThreeOnceItIsDown) {
  StateDir state;
  auto up = state.resv("db up");
  ASSERT_EQ(up.code, 0) << up.err;
  std::string password = password_of(url_of(up));

  auto status = state.resv("db status --json");
  ASSERT_EQ(status.code, 0) << status.err;
  auto j = json::parse(status.out);
  EXPECT_EQ(j["running"], true);
  EXPECT_EQ(j["embedded"], true);
  EXPECT_EQ(j["version"].get<std::string>().rfind("15", 0), 0u) << j["version"];
  EXPECT_GT(j["sizeBytes"].get<long long>(), 0);
  EXPECT_GE(j["connections"].get<long long>(), 0);
  EXPECT_GE(j["maxConnections"].get<long long>(), 250) << "sized for eight servers, not initdb's 100";
  EXPECT_FALSE(j["sharedBuffers"].get<std::string>().empty());
  EXPECT_TRUE(contains(j["wal"].get<std::string>(), "synchronous_commit on, fsync on")) << "durable: " << j["wal"];
  EXPECT_EQ(j["schemaVersion"], resv::latest_migration_version());
  EXPECT_EQ(j["latestVersion"], resv::latest_migration_version());
  EXPECT_EQ(j["pendingMigrations"], 0);
  EXPECT_TRUE(contains(j["url"].get<std::string>(), ":****@127.0.0.1")) << j["url"];
  EXPECT_EQ(fs::canonical(j["dataDir"].get<std::string>()), fs::canonical(state.data()));
  EXPECT_FALSE(contains(status.out, password));

  auto text = state.resv("db status");
  EXPECT_EQ(text.code, 0) << text.err;
  EXPECT_TRUE(contains(text.out, "running")) << text.out;
  EXPECT_TRUE(contains(text.out, "(current)")) << text.out;
  EXPECT_FALSE(contains(text.out + text.err, password));

  auto down = state.resv("db down");
  EXPECT_EQ(down.code, 0) << down.err;
  EXPECT_TRUE(contains(down.err, "stopped")) << down.err;
  EXPECT_FALSE(fs::exists(state.data() / "postmaster.pid"));

  auto after = state.resv("db status --json");
  EXPECT_EQ(after.code, 3) << after.err;
  EXPECT_EQ(json::parse(after.out)["running"], false);
  EXPECT_TRUE(contains(after.err, "resv db up")) << after.err;
  EXPECT_FALSE(contains(after.err, password));
}

TEST(CliDb, DownWhenAlreadyDownSaysSoAndSucceeds) {
  StateDir state;
  auto never = state.resv("db down");
  EXPECT_EQ(never.code, 0) << never.err;
  EXPECT_TRUE(contains(never.err, "not running")) << never.err;

  ASSERT_EQ(state.resv("db up").code, 0);
  ASSERT_EQ(state.resv("db down").code, 0);
  auto again = state.resv("db down");
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_TRUE(contains(again.err, "not running")) << again.err;
}

TEST(CliDb, UpRestartsAServerKilledWithItsPidfileLeftBehind) {
  StateDir state;
  ASSERT_EQ(state.resv("db up").code, 0);
  state.sql("create table survivor (id int); insert into survivor values (7)");
  long pid = state.postmaster_pid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(static_cast<pid_t>(pid), SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return !running_process(pid); }, 10, 50)) << "the killed postmaster still runs";
  ASSERT_TRUE(fs::exists(state.data() / "postmaster.pid"));  // stale

  EXPECT_EQ(state.resv("db status").code, 3);
  auto up = state.resv("db up");
  EXPECT_EQ(up.code, 0) << up.err;
  EXPECT_TRUE(contains(up.err, "started PostgreSQL")) << up.err;
  EXPECT_NE(state.postmaster_pid(), pid);
  EXPECT_EQ(state.sql("select id from survivor"), "7\n");
}

TEST(CliDb, UpMovesAClusterWhosePortWasTakenWhileItWasDownAndKeepsItsData) {
  StateDir state;
  auto first = state.resv("db up --json");
  ASSERT_EQ(first.code, 0) << first.err;
  const int port = json::parse(first.out)["port"].get<int>();
  state.sql("create table survivor (id int); insert into survivor values (7)");
  ASSERT_EQ(state.resv("db down").code, 0);

  int squatter = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(squatter, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  ::setsockopt(squatter, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // A test running in parallel may already have taken the freed port: that
  // is the very case under test, so only another error is a failure.
  if (::bind(squatter, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
    ASSERT_EQ(::listen(squatter, 1), 0);
  else
    ASSERT_EQ(errno, EADDRINUSE) << std::strerror(errno);

  auto up = state.resv("db up --json");
  ::close(squatter);
  ASSERT_EQ(up.code, 0) << up.err;
  EXPECT_TRUE(contains(up.err, "port " + std::to_string(port) + " was taken")) << up.err;
  const int moved = json::parse(up.out)["port"].get<int>();
  EXPECT_NE(moved, port);
  EXPECT_TRUE(contains(up.err, "moved to " + std::to_string(moved))) << up.err;
  EXPECT_EQ(state.sql("select id from survivor"), "7\n");  // through the saved settings, on the new port
}

TEST(CliDb, MigrateDryRunAfterUpListsNothingPending) {
  StateDir state;
  ASSERT_EQ(state.resv("db up").code, 0);
  auto dry = state.resv("db migrate --dry-run");
  EXPECT_EQ(dry.code, 0) << dry.err;
  EXPECT_EQ(dry.out, "");
  EXPECT_TRUE(contains(dry.err, "0 migration(s) pending")) << dry.err;

  auto j = json::parse(state.resv("db migrate --dry-run --json").out);
  EXPECT_EQ(j["dryRun"], true);
  EXPECT_TRUE(j["pending"].empty());
  EXPECT_EQ(j["schemaVersion"], resv::latest_migration_version());
}

TEST(CliDb, ResetWithoutYesAndWithoutATerminalRefusesAndKeepsTheData) {
  StateDir state;
  ASSERT_EQ(state.resv("db up").code, 0);
  state.sql("insert into users (name) values ('kept')");
  auto reset = state.resv("db reset");
  EXPECT_EQ(reset.code, 2) << reset.err;
  EXPECT_TRUE(contains(reset.err, "--yes")) << reset.err;
  EXPECT_TRUE(contains(reset.err, "postgresql://resv:****@127.0.0.1")) << reset.err;  // names what it would wipe
  EXPECT_EQ(state.sql("select name from users"), "kept\n");
}

TEST(CliDb, ResetWithYesEmptiesTheTablesAndLeavesTheSchemaCurrent) {
  StateDir state;
  ASSERT_EQ(state.resv("db up").code, 0);
  state.sql("insert into users (name) values ('gone'); create table stray (id int)");
  auto reset = state.resv("db reset --yes");
  EXPECT_EQ(reset.code, 0) << reset.err;
  EXPECT_EQ(state.sql("select count(*) from users"), "0\n");
  EXPECT_EQ(state.sql("select to_regclass('stray') is null"), "t\n");
  auto status = json::parse(state.resv("db status --json").out);
  EXPECT_EQ(status["schemaVersion"], resv::latest_migration_version());
  EXPECT_EQ(status["pendingMigrations"], 0);
}

TEST(CliDb, UpAndDownRefuseWhenADatabaseIsConfigured) {
  StateDir state;
  resv::test::TestDatabase db;
  auto up = state.resv("--db " + db.url() + " db up");
  EXPECT_EQ(up.code, 2) << up.err;
  EXPECT_TRUE(contains(up.err, "manages only the embedded cluster")) << up.err;
  EXPECT_EQ(up.out, "");
  EXPECT_FALSE(fs::exists(state.path() / "pg"));
  EXPECT_EQ(state.resv("--db " + db.url() + " db down").code, 2);
}

TEST(CliDb, MigrateDryRunListsPendingMigrationsOfAnEmptyDatabaseAndAppliesNone) {
  StateDir state;
  // A database made from template1: nothing applied yet.
  std::string admin = resv::test::cluster_url();
  std::string name = "cli_db_" + std::to_string(::getpid());
  {
    pqxx::connection c(admin);
    pqxx::nontransaction tx(c);
    tx.exec("DROP DATABASE IF EXISTS " + name);
    tx.exec("CREATE DATABASE " + name);
  }
  std::string url = resv::test::with_database(admin, name);
  auto dry = state.resv("--db " + url + " db migrate --dry-run");
  EXPECT_EQ(dry.code, 0) << dry.err;
  for (const auto& m : resv::bundled_migrations()) {
    EXPECT_TRUE(contains(dry.out, std::to_string(m.version))) << dry.out;
    EXPECT_TRUE(contains(dry.out, m.name)) << dry.out;
  }
  EXPECT_EQ(json::parse(state.resv("--db " + url + " db status --json").out)["schemaVersion"], 0);

  auto migrate = state.resv("--db " + url + " db migrate --json");
  EXPECT_EQ(migrate.code, 0) << migrate.err;
  auto j = json::parse(migrate.out);
  EXPECT_EQ(j["applied"].size(), resv::bundled_migrations().size());
  EXPECT_EQ(j["schemaVersion"], resv::latest_migration_version());

  pqxx::connection c(admin);
  pqxx::nontransaction(c).exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
}

TEST(CliDb, MigrateOnTheEmbeddedClusterWhileItIsDownExitsThreeWithAHintToStartIt) {
  StateDir state;
  ASSERT_EQ(state.resv("db up").code, 0);
  ASSERT_EQ(state.resv("db down").code, 0);
  auto r = state.resv("db migrate");
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_TRUE(contains(r.err, "resv: error:")) << r.err;
  EXPECT_TRUE(contains(r.err, "resv db up")) << r.err;
}

TEST(CliDb, UpAsRootInAStateDirThePostgresUserCannotReachFailsWithAHint) {
  if (::geteuid() != 0) GTEST_SKIP() << "only root runs PostgreSQL as another user";
  StateDir outer;
  ::chmod(outer.path().c_str(), 0700);  // postgres cannot traverse it
  auto r = sh(std::string("env -u RESV_DATABASE_URL XDG_CONFIG_HOME=/nonexistent ") + RESV_CLI_BIN +
                  " --state-dir " + (outer.path() / "state").string() + " db up",
              outer.path() / "err");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "--state-dir")) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(fs::exists(outer.path() / "state" / "pg" / "data"));
}

}  // namespace
