// resv server: start, status, stop, restart and logs of real resv-server
// processes, each test in its own state directory and on its own free ports.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "cli_run.h"
#include "e2e_util.h"
#include "private_cluster.h"
#include "server_cli.h"
#include "test_db.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;
namespace fs = std::filesystem;

bool answers(int port, const std::string& target) {
  HttpClient c("127.0.0.1", static_cast<uint16_t>(port), std::chrono::seconds(2));
  return c.get(target).status == 200;
}

TEST(CliServer, StartPrintsTheUrlsAndTheApiAnswers) {
  TestDatabase db;
  ServerCli cli(db.url());
  auto r = cli.start({"--json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto items = instances_of(r);
  ASSERT_EQ(items.size(), 1u) << r.out;
  EXPECT_EQ(items[0]["apiUrl"], "http://127.0.0.1:" + std::to_string(cli.port));
  EXPECT_EQ(items[0]["adminUrl"], "http://127.0.0.1:" + std::to_string(cli.admin_port));
  EXPECT_EQ(items[0]["state"], "started");
  long pid = items[0]["pid"].get<long>();
  EXPECT_TRUE(is_resv_server(pid));

  HttpClient api("127.0.0.1", static_cast<uint16_t>(cli.port));
  auto concerts = api.get("/api/concerts");
  EXPECT_EQ(concerts.status, 200) << concerts.body;

  // Secrets travel in the environment, not the command line `ps` shows.
  std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  std::string token = read_file(cli.state() / "server" / "admin-token");
  token.erase(token.find_last_not_of('\n') + 1);
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(cmdline.find(db.url()), std::string::npos) << cmdline;
  EXPECT_EQ(cmdline.find(token), std::string::npos) << cmdline;
  HttpClient admin("127.0.0.1", static_cast<uint16_t>(cli.admin_port));
  EXPECT_EQ(admin.get("/admin/status", {{"Authorization", "Bearer " + token}}).status, 200)
      << "the server was given the generated token";

  auto table = cli.resv({"server", "status"});
  EXPECT_NE(table.out.find("ready"), std::string::npos) << table.out;
}

TEST(CliServer, StatusAsksTheServerAtAGivenAdminUrl) {
  TestDatabase db;
  ServerCli cli(db.url());
  auto started = cli.start({"--json"});
  ASSERT_EQ(started.code, 0) << started.err;
  std::string token = read_file(cli.state() / "server" / "admin-token");
  token.erase(token.find_last_not_of('\n') + 1);
  // From a state directory that recorded nothing: only the URL says where.
  char tmpl[] = "/tmp/resv-other-state-XXXXXX";
  std::string other = mkdtemp(tmpl);
  auto r = run_resv({"server", "status", "--json", "--state-dir", other, "--admin-url",
                     "http://127.0.0.1:" + std::to_string(cli.admin_port)},
                    {{"RESV_ADMIN_TOKEN", token}});
  EXPECT_EQ(r.code, 0) << r.err;
  auto items = instances_of(r);
  ASSERT_EQ(items.size(), 1u) << r.out;
  EXPECT_TRUE(items[0]["ready"].get<bool>());
  EXPECT_EQ(items[0]["pid"], instances_of(started)[0]["pid"]) << "the pid comes from the server's own answer";
  EXPECT_EQ(items[0]["port"], cli.port);

  std::set<int> taken{cli.port, cli.admin_port};
  auto nobody = run_resv({"server", "status", "--state-dir", other, "--admin-url",
                          "http://127.0.0.1:" + std::to_string(free_ports(1, taken))});
  EXPECT_EQ(nobody.code, 3) << nobody.err;
  EXPECT_NE(nobody.err.find("does not answer"), std::string::npos) << nobody.err;
  auto bad = run_resv({"server", "status", "--state-dir", other, "--admin-url", "localhost"});
  EXPECT_EQ(bad.code, 2) << bad.err;
  fs::remove_all(other);
}

TEST(CliServer, StartingTwiceReportsTheRunningInstance) {
  TestDatabase db;
  ServerCli cli(db.url());
  auto first = cli.start({"--json"});
  ASSERT_EQ(first.code, 0) << first.err;
  auto second = cli.start({"--json"});
  EXPECT_EQ(second.code, 0) << second.err;
  EXPECT_NE(second.err.find("already running"), std::string::npos) << second.err;
  auto a = instances_of(first), b = instances_of(second);
  ASSERT_EQ(b.size(), 1u) << second.out;
  EXPECT_EQ(b[0]["pid"], a[0]["pid"]) << "no second process";
  EXPECT_EQ(b[0]["state"], "already running");
  EXPECT_TRUE(is_resv_server(a[0]["pid"].get<long>()));
}

TEST(CliServer, TwoInstancesListenOnConsecutivePortsAndStatusListsThemReady) {
  TestDatabase db;
  ServerCli cli(db.url(), 2);
  auto r = cli.start({"--instances", "2", "--json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto items = instances_of(r);
  ASSERT_EQ(items.size(), 2u) << r.out;
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE("instance " + std::to_string(i + 1));
    EXPECT_EQ(items[i]["port"], cli.port + i);
    EXPECT_EQ(items[i]["adminPort"], cli.admin_port + i);
    EXPECT_TRUE(answers(cli.admin_port + i, "/readyz"));
    EXPECT_TRUE(answers(cli.port + i, "/api/concerts"));
  }
  EXPECT_NE(items[0]["pid"], items[1]["pid"]);

  auto status = cli.resv({"server", "status", "--json"});
  EXPECT_EQ(status.code, 0) << status.out << status.err;
  auto listed = instances_of(status);
  ASSERT_EQ(listed.size(), 2u) << status.out;
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(listed[i]["pid"], items[i]["pid"]);
    EXPECT_EQ(listed[i]["port"], cli.port + i);
    EXPECT_EQ(listed[i]["ready"], true) << status.out;
    EXPECT_TRUE(listed[i]["reasons"].empty()) << status.out;
    EXPECT_TRUE(listed[i]["version"].is_string()) << status.out;
    EXPECT_GE(listed[i]["uptimeSeconds"].get<int>(), 0) << status.out;
    EXPECT_EQ(listed[i]["inFlight"], 0) << status.out;
    EXPECT_GT(listed[i]["dbPoolSize"].get<int>(), 0) << status.out;
    EXPECT_TRUE(listed[i]["dbPoolInUse"].is_number()) << status.out;
  }
}

TEST(CliServer, KilledInstanceMakesStatusExitFour) {
  TestDatabase db;
  ServerCli cli(db.url(), 2);
  auto r = cli.start({"--instances", "2", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  long victim = instances_of(r)[1]["pid"].get<long>();
  ASSERT_EQ(kill(static_cast<pid_t>(victim), SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return !running(victim); }, 10));

  auto status = cli.resv({"server", "status", "--json"});
  EXPECT_EQ(status.code, 4) << status.out << status.err;
  EXPECT_NE(status.err.find("instance 2 (pid " + std::to_string(victim)), std::string::npos) << status.err;
  auto listed = instances_of(status);
  ASSERT_EQ(listed.size(), 2u) << status.out;
  EXPECT_EQ(listed[0]["ready"], true);
  EXPECT_EQ(listed[1]["ready"], false);
  EXPECT_EQ(listed[1]["running"], false);
  EXPECT_TRUE(answers(cli.port, "/api/concerts")) << "the other instance keeps serving";
}

// A server that accepts and never answers (stopped, deadlocked) is named, not
// waited for: every request is bounded, the read of an answer too.
TEST(CliServer, AFrozenInstanceIsNamedAndStatusDoesNotWaitForIt) {
  TestDatabase db;
  ServerCli cli(db.url(), 2);
  auto r = cli.start({"--instances", "2", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const long frozen = instances_of(r)[1]["pid"].get<long>();
  ASSERT_EQ(kill(static_cast<pid_t>(frozen), SIGSTOP), 0);

  auto status = cli.resv({"server", "status", "--json"});
  kill(static_cast<pid_t>(frozen), SIGCONT);
  EXPECT_EQ(status.code, 4) << status.out << status.err;
  EXPECT_NE(status.err.find("instance 2 (pid " + std::to_string(frozen) + ", port " + std::to_string(cli.port + 1) +
                            "): admin port " + std::to_string(cli.admin_port + 1) + " does not answer"),
            std::string::npos)
      << status.err;
  EXPECT_NE(status.err.find("timeout"), std::string::npos) << status.err;
  auto listed = instances_of(status);
  ASSERT_EQ(listed.size(), 2u) << status.out;
  EXPECT_EQ(listed[0]["ready"], true);
  EXPECT_EQ(listed[1]["ready"], false);
  EXPECT_EQ(listed[1]["running"], true) << "its process is there";
  EXPECT_EQ(cli.resv({"server", "status"}).code, 0) << "once it runs again, it answers";
}

// A stopped database is a dependency out of reach (exit 3), and the way out
// is there: a restart of the servers cannot help.
TEST(CliServer, WithTheDatabaseStoppedStatusExitsThreeAndPointsAtTheDatabase) {
  PrivateCluster pg;
  ASSERT_EQ(run_resv({"db", "migrate", "--db", pg.url()}).code, 0);
  ServerCli cli(pg.url(), 1);
  ASSERT_EQ(cli.start().code, 0);
  pg.pause();
  CliRun status;
  ASSERT_TRUE(eventually([&] {
    status = cli.resv({"server", "status"});
    return contains(status.err, "database unreachable");
  }, 30)) << status.err;
  EXPECT_EQ(status.code, 3) << status.err;
  EXPECT_TRUE(contains(status.err, "hint: the servers cannot reach the database: 'resv db status' shows it")) << status.err;
  EXPECT_FALSE(contains(status.err, "resv server restart")) << status.err;

  pg.resume();
  ASSERT_TRUE(eventually([&] { return cli.resv({"server", "status"}).code == 0; }, 30))
      << "the servers recover by themselves once the database answers";
}

TEST(CliServer, StopEndsTheProcessesAndStatusThenExitsThree) {
  TestDatabase db;
  ServerCli cli(db.url(), 2);
  auto r = cli.start({"--instances", "2", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<long> pids;
  for (const auto& i : instances_of(r)) pids.push_back(i["pid"].get<long>());

  auto stop = cli.resv({"server", "stop"});
  EXPECT_EQ(stop.code, 0) << stop.err;
  for (long pid : pids) EXPECT_TRUE(eventually([&] { return !running(pid); }, 10)) << pid << " still runs";
  EXPECT_FALSE(answers(cli.port, "/api/concerts"));
  EXPECT_FALSE(answers(cli.admin_port + 1, "/readyz"));
  EXPECT_FALSE(fs::exists(cli.state() / "server" / "instance-1.json"));

  auto status = cli.resv({"server", "status"});
  EXPECT_EQ(status.code, 3) << status.err;
  EXPECT_NE(status.err.find("resv server start"), std::string::npos) << status.err;
  EXPECT_EQ(cli.resv({"server", "stop"}).code, 0) << "stopping nothing succeeds";
}

TEST(CliServer, StopRemovesTheRecordOfAnInstanceThatDied) {
  TestDatabase db;
  ServerCli cli(db.url());
  auto r = cli.start({"--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  long pid = instances_of(r)[0]["pid"].get<long>();
  kill(static_cast<pid_t>(pid), SIGKILL);
  ASSERT_TRUE(eventually([&] { return !running(pid); }, 10));

  auto stop = cli.resv({"server", "stop"});
  EXPECT_EQ(stop.code, 0) << stop.err;
  EXPECT_NE(stop.err.find("was not running"), std::string::npos) << stop.err;
  EXPECT_FALSE(fs::exists(cli.state() / "server" / "instance-1.json"));
}

TEST(CliServer, StopKillsAnInstanceThatDoesNotExitInTime) {
  TestDatabase db;
  ServerCli cli(db.url());
  auto r = cli.start({"--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  long pid = instances_of(r)[0]["pid"].get<long>();
  ASSERT_EQ(kill(static_cast<pid_t>(pid), SIGSTOP), 0);  // it cannot act on SIGTERM

  auto stop = cli.resv({"server", "stop", "--timeout", "1"});
  EXPECT_EQ(stop.code, 0) << stop.err;
  EXPECT_NE(stop.err.find("killed"), std::string::npos) << stop.err;
  EXPECT_TRUE(eventually([&] { return !running(pid); }, 10));
  EXPECT_FALSE(fs::exists(cli.state() / "server" / "instance-1.json"));
}

TEST(CliServer, UnreachableDatabaseFailsTheStartWithTheLogTail) {
  TestDatabase db;
  ServerCli cli(db.url());
  auto r = cli.resv({"server", "start", "--port", std::to_string(cli.port), "--admin-port",
                     std::to_string(cli.admin_port), "--timeout", "3"},
                    "postgresql://nobody:secret-pw@127.0.0.1:1/none");
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("not ready within 3 s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("last lines of " + cli.log(1).string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("database connection failed"), std::string::npos) << "the log says why: " << r.err;
  EXPECT_EQ(r.err.find("secret-pw"), std::string::npos) << r.err;

  // What it started is gone: the server, and the embedded broker it started for it.
  auto at = r.err.find("(pid ", r.err.find("resv: error:"));
  ASSERT_NE(at, std::string::npos) << r.err;
  long pid = std::stol(r.err.substr(at + 5));
  EXPECT_TRUE(eventually([&] { return !running(pid); }, 10));
  EXPECT_FALSE(answers(cli.admin_port, "/healthz"));
  EXPECT_FALSE(fs::exists(cli.state() / "server" / "instance-1.json"));
  EXPECT_NE(r.err.find("started the embedded Kafka broker"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(cli.state() / "kafka" / "broker.json")) << "the broker it started for it is stopped";
}

TEST(CliServer, RestartKeepsThePortsGivesNewPidsAndKeepsServing) {
  TestDatabase db;
  ServerCli cli(db.url(), 2);
  auto r = cli.start({"--instances", "2", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto before = instances_of(r);

  // Rolling: while it restarts, one instance or the other always answers.
  std::atomic<bool> restarting{true};
  std::atomic<int> rounds{0}, none_answered{0};
  std::thread client([&] {
    while (restarting) {
      if (!answers(cli.port, "/api/concerts") && !answers(cli.port + 1, "/api/concerts")) ++none_answered;
      ++rounds;
    }
  });
  auto restart = cli.resv({"server", "restart", "--json"});
  restarting = false;
  client.join();
  EXPECT_GT(rounds, 0);
  EXPECT_EQ(none_answered, 0) << "of " << rounds << " rounds";
  ASSERT_EQ(restart.code, 0) << restart.out << restart.err;
  auto after = instances_of(restart);
  ASSERT_EQ(after.size(), 2u) << restart.out;
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE("instance " + std::to_string(i + 1));
    EXPECT_EQ(after[i]["port"], before[i]["port"]);
    EXPECT_EQ(after[i]["adminPort"], before[i]["adminPort"]);
    EXPECT_EQ(after[i]["state"], "restarted");
    EXPECT_NE(after[i]["pid"], before[i]["pid"]);
    EXPECT_FALSE(running(before[i]["pid"].get<long>()));
    EXPECT_TRUE(is_resv_server(after[i]["pid"].get<long>()));
    EXPECT_TRUE(answers(after[i]["port"].get<int>(), "/api/concerts"));
  }
  auto status = cli.resv({"server", "status", "--json"});
  EXPECT_EQ(status.code, 0) << status.err;
  EXPECT_EQ(instances_of(status)[1]["pid"], after[1]["pid"]);
}

TEST(CliServer, LogsPrintsTheLastLinesOfTheLog) {
  TestDatabase db;
  ServerCli cli(db.url());
  ASSERT_EQ(cli.start().code, 0);
  HttpClient api("127.0.0.1", static_cast<uint16_t>(cli.port));
  api.get("/api/concerts");

  auto r = cli.resv({"server", "logs", "-n", "5"});
  EXPECT_EQ(r.code, 0) << r.err;
  std::vector<std::string> log_lines;
  std::istringstream log(read_file(cli.log(1)));
  for (std::string line; std::getline(log, line);) log_lines.push_back(line);
  ASSERT_GE(log_lines.size(), 2u);
  std::vector<std::string> printed;
  std::istringstream out(r.out);
  for (std::string line; std::getline(out, line);) printed.push_back(line);
  size_t n = std::min<size_t>(5, log_lines.size());
  ASSERT_EQ(printed.size(), n) << r.out;
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(printed[i], log_lines[log_lines.size() - n + i]);
}

TEST(CliServer, StartRefusesInstancesTheDatabaseHasNoSessionsForAndStartsNone) {
  TestDatabase db;
  ServerCli cli(db.url(), 2);
  // 2 x (200 + 25 + 5) sessions, more than the test cluster's 400 connections.
  auto r = run_resv({"server", "start", "--instances", "2", "--port", std::to_string(cli.port), "--admin-port",
                     std::to_string(cli.admin_port), "--state-dir", cli.state().string(), "--db", db.url()},
                    {{"RESV_DB_POOL_SIZE", "200"}});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "needs 460 database sessions (230 each with --db-pool-size 200)")) << r.err;
  EXPECT_TRUE(contains(r.err, "max_connections 400")) << r.err;
  EXPECT_TRUE(contains(r.err, "resv db status")) << "the hint names what to run: " << r.err;
  EXPECT_FALSE(answers(cli.admin_port, "/readyz")) << "nothing was started";
  auto status = cli.resv({"server", "status", "--json"});
  EXPECT_EQ(instances_of(status).size(), 0u) << status.out;
}

}  // namespace
