// `resv doctor` through the real binaries: each condition staged on real
// PostgreSQL and real resv-server processes is named by its check, with the
// exit code (4 a failure, 3 a dependency out of reach), and undone (often
// by the very command the doctor names) it exits 0 again.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "cli_run.h"
#include "db/pg_text.h"
#include "e2e_util.h"
#include "incidents.h"
#include "private_cluster.h"
#include "server_cli.h"
#include "test_db.h"
#include "test_seed.h"

namespace {

using namespace resv::e2e;
using resv::test::SeedSpec;
using resv::test::str;
using resv::test::TestDatabase;
using nlohmann::json;

// Every layer but the host's: the free disk of a shared CI machine is not
// this test's condition.
const std::vector<std::string> kStackLayers = {"--only", "database", "--only", "servers", "--only", "queue",
                                               "--only", "holds",    "--only", "events",  "--only", "warmup",
                                               "--only", "data"};

json check_of(const json& report, const std::string& name) {
  if (report.is_object())
    for (const auto& c : report["checks"])
      if (c.value("name", "") == name) return c;
  return json();
}

std::string states(const json& report) {
  std::string out;
  if (report.is_object())
    for (const auto& c : report["checks"])
      out += c.value("name", "") + "=" + c.value("state", "") + " (" + c.value("finding", "") + ")\n";
  return out;
}

class CliDoctor : public ::testing::Test {
 protected:
  TestDatabase db;
  resv::test::Seeded s = resv::test::seed(db, SeedSpec{.seats = 4, .users = 8});
  ServerCli cli{db.url(), 2};

  CliRun doctor(std::vector<std::string> args = {}) {
    args.insert(args.begin(), "doctor");
    return cli.resv(args);
  }
  // `resv doctor --json ARGS`: the report, with the exit code in `code`.
  json report(std::vector<std::string> args, int& code) {
    args.push_back("--json");
    auto r = doctor(args);
    code = r.code;
    auto j = parse_or_null(r.out);
    EXPECT_TRUE(j.is_object()) << "stdout holds only the JSON document: " << r.out << r.err;
    return j;
  }
  int64_t pay_one(int64_t user, int64_t seat) { return resv::e2e::pay_one(db, s, user, seat); }
};

TEST_F(CliDoctor, AHealthyStackIsAllOkAndASeatSoldTwiceFailsNamingBothReservationsUntilUndone) {
  ASSERT_EQ(cli.start({"--instances", "2"}).code, 0);
  const int64_t paid = pay_one(s.first_user_id, s.seat_ids[0]);
  int code = -1;
  json healthy;
  ASSERT_TRUE(eventually([&] {
    healthy = report(kStackLayers, code);
    return code == 0;
  }, 30)) << states(healthy);
  for (const auto& c : healthy["checks"]) EXPECT_EQ(c["state"], "ok") << c.dump();
  EXPECT_EQ(healthy["checks"].size(), 17u) << "every check but the host's two";
  EXPECT_EQ(healthy["verdict"], "ok");
  EXPECT_TRUE(contains(check_of(healthy, "servers_up")["finding"], "2 instance(s) ready")) << states(healthy);

  const int64_t other = sell_seat_again(db, s, s.seat_ids[0]);
  json found = report({"--only", "data"}, code);
  EXPECT_EQ(code, 4) << states(found);
  const json audit = check_of(found, "audit_quick");
  EXPECT_EQ(audit["state"], "fail");
  const std::string finding = audit.value("finding", "");
  EXPECT_TRUE(contains(finding, "seat_sold_twice (1; first: reservation " + str(paid))) << finding;
  EXPECT_TRUE(contains(finding, "reservation " + str(other))) << "both reservations are named: " << finding;
  EXPECT_EQ(audit["next"], "resv audit -v  # every affected row; nothing is changed for you");
  EXPECT_EQ(audit["runbook"], "overbooking");

  auto table = doctor({"--only", "data"});
  EXPECT_EQ(table.code, 4);
  EXPECT_TRUE(contains(lines_of(table.out).at(1), "FAIL")) << "failures first: " << table.out;
  EXPECT_TRUE(contains(table.out, "Next:\n  resv audit -v")) << table.out;
  EXPECT_TRUE(contains(table.out, "(audit_quick; resv runbook run overbooking)")) << "the runbook for it: " << table.out;
  EXPECT_TRUE(contains(table.out, "verdict: FAIL: 1 failed")) << table.out;
  for (const auto& line : lines_of(table.out)) EXPECT_LE(line.size(), 120u) << line;

  db.exec("UPDATE seats SET reservation_id = " + str(paid) + " WHERE id = " + str(s.seat_ids[0]));
  db.exec("DELETE FROM reservations WHERE id = " + str(other));
  EXPECT_EQ(doctor({"--only", "data"}).code, 0);
}

TEST_F(CliDoctor, ABalanceWithoutItsLedgerLineAndAPaymentWithoutItsReservationAreNamed) {
  const int64_t paid = pay_one(s.first_user_id, s.seat_ids[0]);
  db.exec("UPDATE users SET balance = balance + 500 WHERE id = " + str(s.first_user_id));
  const int64_t payment = db.count("SELECT id FROM payments WHERE reservation_id = " + str(paid));
  // Its reservation ended without a refund: the payment stands for nothing.
  db.exec("UPDATE reservations SET status = 'EXPIRED' WHERE id = " + str(paid));
  int code = -1;
  json found = report({"--check", "audit_quick"}, code);
  EXPECT_EQ(code, 4) << states(found);
  const std::string finding = check_of(found, "audit_quick").value("finding", "");
  EXPECT_TRUE(contains(finding, "balance_matches_ledger (1; first: user " + str(s.first_user_id))) << finding;
  EXPECT_TRUE(contains(finding, "payment " + str(payment))) << finding;

  db.exec("UPDATE reservations SET status = 'CONFIRMED' WHERE id = " + str(paid));
  db.exec("UPDATE users SET balance = balance - 500 WHERE id = " + str(s.first_user_id));
  EXPECT_EQ(doctor({"--check", "audit_quick"}).code, 0) << states(report({"--check", "audit_quick"}, code));
}

TEST_F(CliDoctor, AKilledInstanceFailsServersUpAndTheRestartItNamesClearsIt) {
  auto started = cli.start({"--instances", "2", "--json"});
  ASSERT_EQ(started.code, 0) << started.err;
  const long second = instances_of(started)[1]["pid"].get<long>();
  ASSERT_EQ(::kill(static_cast<pid_t>(second), SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return !running(second); }, 10));

  int code = -1;
  json down = report({"--only", "servers"}, code);
  EXPECT_EQ(code, 4) << states(down);
  const json up = check_of(down, "servers_up");
  EXPECT_EQ(up["state"], "fail");
  EXPECT_TRUE(contains(up.value("finding", ""), "1 of 2 instance(s) down: instance 2: not running")) << up.dump();
  EXPECT_EQ(up["next"], "resv server restart  # then: resv server logs");
  EXPECT_EQ(check_of(report({"--check", "sweeper_alive"}, code), "sweeper_alive")["state"], "ok")
      << "the other instance's sweeper runs";

  ASSERT_EQ(cli.resv({"server", "restart"}).code, 0);
  EXPECT_TRUE(eventually([&] { return doctor({"--only", "servers"}).code == 0; }, 30))
      << states(report({"--only", "servers"}, code));
}

TEST_F(CliDoctor, APausedQueueWithPeopleWaitingFailsNamingWhoPausedItAndResumeClearsIt) {
  ASSERT_EQ(cli.start().code, 0);
  const std::string concert = str(s.concert_id);
  ASSERT_EQ(cli.resv({"queue", "enable", "--concert", concert, "--max-active", "1", "--yes"}).code, 0);
  db.scalar("SELECT resv_queue_issue(" + concert + ", ARRAY(SELECT generate_series(" + str(s.first_user_id) + ", " +
            str(s.first_user_id + 3) + "))::bigint[])");
  ASSERT_EQ(cli.resv({"queue", "pause", "--concert", concert, "--actor", "night-operator", "--yes"}).code, 0);

  int code = -1;
  json paused = report({"--check", "queue_paused"}, code);
  EXPECT_EQ(code, 4) << states(paused);
  const json c = check_of(paused, "queue_paused");
  EXPECT_TRUE(contains(c.value("finding", ""), "concert " + concert + " paused by night-operator at ")) << c.dump();
  EXPECT_TRUE(contains(c.value("finding", ""), "waiting")) << c.dump();
  EXPECT_EQ(c["next"], "resv queue history --concert " + concert + "  # why; then: resv queue resume --concert " + concert);
  EXPECT_EQ(check_of(report({"--check", "queue_stuck"}, code), "queue_stuck")["state"], "ok")
      << "a paused queue is not stuck";

  ASSERT_EQ(cli.resv({"queue", "resume", "--concert", concert, "--yes"}).code, 0);
  // Stuck until the leader's first admission (nobody was ever admitted).
  EXPECT_TRUE(eventually([&] { return doctor({"--only", "queue"}).code == 0; }, 30))
      << states(report({"--only", "queue"}, code));
}

TEST_F(CliDoctor, AStuckQueueFailsAndAnAdmissionClearsIt) {
  // No server runs: no leader admits, as when every one of them is stuck.
  const std::string concert = str(s.concert_id);
  ASSERT_EQ(cli.resv({"queue", "enable", "--concert", concert, "--yes"}).code, 0);
  db.scalar("SELECT resv_queue_issue(" + concert + ", ARRAY(SELECT generate_series(" + str(s.first_user_id) + ", " +
            str(s.first_user_id + 2) + "))::bigint[])");
  db.exec("UPDATE queue_concerts SET last_admit_at = now() - interval '10 minutes' WHERE concert_id = " + concert);
  int code = -1;
  json stuck = report({"--check", "queue_stuck"}, code);
  EXPECT_EQ(code, 4) << states(stuck);
  const json c = check_of(stuck, "queue_stuck");
  EXPECT_TRUE(contains(c.value("finding", ""), "concert " + concert + ": 3 waiting, nothing admitted for 10 min"))
      << c.dump();
  EXPECT_EQ(c["runbook"], "queue-stuck");

  ASSERT_EQ(cli.resv({"queue", "admit", "--concert", concert, "1", "--yes"}).code, 0);
  EXPECT_EQ(doctor({"--check", "queue_stuck"}).code, 0) << states(report({"--check", "queue_stuck"}, code));
}

TEST_F(CliDoctor, AnIdleTransactionBlockingABuyerFailsNamingItsPidAndTerminatingItClearsIt) {
  IdleBlocker blocker(db, s.seat_ids[0]);
  const int pid = blocker.pid();

  int code = -1;
  json blocked;
  ASSERT_TRUE(eventually([&] {
    blocked = report({"--check", "db_blocking"}, code);
    return code == 4;
  }, 30)) << states(blocked);
  const json c = check_of(blocked, "db_blocking");
  EXPECT_TRUE(contains(c.value("finding", ""), "session " + std::to_string(pid) + " (psql, idle in transaction) blocks 1"))
      << c.dump();
  EXPECT_EQ(c["next"], "resv locks  # then: resv locks cancel " + std::to_string(pid) + " (or terminate " +
                           std::to_string(pid) + ")");

  ASSERT_EQ(cli.resv({"locks", "terminate", std::to_string(pid), "--yes"}).code, 0);
  blocker.join();
  EXPECT_EQ(doctor({"--check", "db_blocking"}).code, 0) << states(report({"--check", "db_blocking"}, code));
}

TEST_F(CliDoctor, ExpiredHoldsWithNoSweeperFailAndAStartedServerReleasesThem) {
  db.scalar("SELECT resv_hold_seats_do(" + str(s.first_user_id) + ", " + str(s.schedule_id) + ", ARRAY[" +
            str(s.seat_ids[1]) + "]::bigint[])");
  db.exec("UPDATE reservations SET expires_at = now() - interval '1 minute' WHERE status = 'HELD'");
  int code = -1;
  json stale = report({"--only", "holds"}, code);
  EXPECT_EQ(code, 4) << states(stale);
  EXPECT_TRUE(contains(check_of(stale, "holds_expired").value("finding", ""), "1 hold(s) past their expiry"))
      << states(stale);
  EXPECT_EQ(check_of(stale, "sweeper_alive")["finding"], "no running server: nobody releases expired holds");
  EXPECT_EQ(check_of(stale, "sweeper_alive")["next"], "resv server start");

  ASSERT_EQ(cli.start().code, 0);
  EXPECT_TRUE(eventually([&] { return doctor({"--only", "holds"}).code == 0; }, 30))
      << states(report({"--only", "holds"}, code));
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE status = 'HELD'"), 0);
}

TEST_F(CliDoctor, TheEmbeddedBrokerDownIsUnreachableAndTheRestartItNamesBringsItBack) {
  ASSERT_EQ(cli.start().code, 0);
  auto broker = parse_or_null(read_file(cli.state() / "kafka" / "broker.json"));
  ASSERT_TRUE(broker.is_object()) << "resv server start runs the embedded broker";
  const long pid = broker["pid"].get<long>();
  ASSERT_EQ(::kill(static_cast<pid_t>(pid), SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return !running(pid); }, 10));
  pay_one(s.first_user_id, s.seat_ids[2]);  // events the relay cannot publish now

  int code = -1;
  json down = report({"--only", "events"}, code);
  EXPECT_EQ(code, 3) << states(down);
  const json b = check_of(down, "events_broker");
  EXPECT_EQ(b["state"], "unreachable");
  EXPECT_EQ(b["next"], "resv server restart  # runs the embedded broker again");

  ASSERT_EQ(cli.resv({"server", "restart"}).code, 0);
  EXPECT_TRUE(eventually([&] { return doctor({"--only", "events"}).code == 0; }, 60))
      << states(report({"--only", "events"}, code));
  EXPECT_TRUE(eventually([&] { return db.count("SELECT unpublished FROM resv_outbox_backlog()") == 0; }, 60))
      << "the backlog drains";
}

TEST_F(CliDoctor, AColdServerBeforeAnOpeningFailsAndTheWarmupItNamesClearsIt) {
  ASSERT_EQ(cli.start().code, 0);
  int code = -1;
  EXPECT_EQ(check_of(report({"--check", "warm_openings"}, code), "warm_openings")["finding"],
            "no opening within the hour");
  db.exec("UPDATE schedules SET sales_open_at = now() + interval '10 minutes' WHERE id = " + str(s.schedule_id));
  json cold = report({"--check", "warm_openings"}, code);
  EXPECT_EQ(code, 4) << states(cold);
  const json c = check_of(cold, "warm_openings");
  EXPECT_TRUE(contains(c.value("finding", ""), "instance 1 concert " + str(s.concert_id) + ": cold")) << c.dump();
  EXPECT_EQ(c["next"], "resv warmup -c " + str(s.concert_id));

  ASSERT_EQ(cli.resv({"warmup", "-c", str(s.concert_id)}).code, 0);
  EXPECT_EQ(doctor({"--check", "warm_openings"}).code, 0) << states(report({"--check", "warm_openings"}, code));
}

// A dashboard: a failing round is shown and the watch goes on until Ctrl-C,
// which ends it with the last round's exit code.
TEST_F(CliDoctor, WatchGoesOnThroughFailuresUntilCtrlCAndExitsWithTheLastRoundsCode) {
  const std::string out_path = (cli.state() / "watch.out").string(), err_path = (cli.state() / "watch.err").string();
  pid_t pid = spawn_resv({"doctor", "--check", "servers_up", "--watch", "1", "--db", db.url(), "--state-dir",
                          cli.state().string()},
                         {{"NO_COLOR", "1"}}, out_path, err_path);
  ASSERT_GT(pid, 0);
  auto rounds = [&] {
    size_t n = 0;
    for (const auto& line : lines_of(read_file(out_path))) n += line.rfind("verdict: FAIL", 0) == 0;
    return n;
  };
  const bool two = eventually([&] { return rounds() >= 2; }, 30, 50);
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(two) << read_file(out_path) << read_file(err_path);
  ASSERT_TRUE(WIFEXITED(status)) << "Ctrl-C ends the watch";
  EXPECT_EQ(WEXITSTATUS(status), 4) << read_file(err_path);
  EXPECT_FALSE(contains(read_file(out_path), "\x1b[")) << "no screen clearing when stdout is not a terminal";
}

TEST_F(CliDoctor, HostChecksNameTheStateDirectoryAndABadOptionIsAUsageError) {
  int code = -1;
  json host = report({"--only", "host"}, code);
  EXPECT_TRUE(contains(check_of(host, "state_disk").value("finding", ""), "where " + cli.state().string() + " is"))
      << states(host);
  EXPECT_TRUE(contains(check_of(host, "embedded_cluster").value("finding", ""), "not in use")) << states(host);
  EXPECT_EQ(doctor({"--only", "network"}).code, 2);
  EXPECT_EQ(doctor({"--check", "disk"}).code, 2);
  EXPECT_EQ(doctor({"--timeout", "soon"}).code, 2);
  EXPECT_EQ(doctor({"--only", "host", "--check", "db_reachable"}).code, 2) << "no check is in both";
}

// A stopped database is a dependency out of reach: exit 3, every check that
// needs it says so, and the way out leads to the database.
TEST(CliDoctorDatabase, AStoppedDatabaseExitsThreeNamingTheDatabaseAndRecoveryExitsZero) {
  PrivateCluster pg;
  ASSERT_EQ(run_resv({"db", "migrate", "--db", pg.url()}).code, 0);
  ServerCli cli(pg.url(), 1);
  ASSERT_EQ(cli.start().code, 0);
  pg.pause();
  auto r = cli.resv({"doctor", "--json", "--only", "database", "--only", "servers", "--only", "data"});
  EXPECT_EQ(r.code, 3) << r.err;
  json j = parse_or_null(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["verdict"], "unreachable");
  const json first = j["checks"][0];
  EXPECT_EQ(first["name"], "db_reachable") << "the cause comes first: " << states(j);
  EXPECT_TRUE(contains(first.value("finding", ""), "the database does not answer")) << first.dump();
  EXPECT_EQ(first["next"], "resv db status");
  EXPECT_EQ(check_of(j, "audit_quick")["state"], "unreachable");
  auto table = cli.resv({"doctor", "--only", "database"});
  EXPECT_TRUE(contains(table.out, "Next:\n  resv db status    (db_reachable and 2 more; resv runbook run database-unreachable)\n"))
      << table.out;

  pg.resume();
  EXPECT_TRUE(eventually([&] {
    return cli.resv({"doctor", "--only", "database", "--only", "servers", "--only", "data"}).code == 0;
  }, 60)) << "the servers recover by themselves once the database answers";
}

// A database that accepts connections and never answers (as one swamped
// or frozen does): the checks give up at their deadline and say so, exit 3.
TEST(CliDoctorDatabase, ADatabaseThatNeverAnswersIsUnreachableAndTheRunEnds) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 16), 0);  // connections complete in the kernel; nobody reads them
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string url = "postgresql://resv@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/resv";

  auto r = run_resv({"doctor", "--db", url, "--only", "database", "--only", "data", "--timeout", "3s", "--json",
                     "--state-dir", "/nonexistent/resv-doctor-test"});
  ::close(listener);
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  json j = parse_or_null(r.out);
  ASSERT_TRUE(j.is_object()) << r.out;
  for (const auto& c : j["checks"]) EXPECT_EQ(c["state"], "unreachable") << c.dump();
  EXPECT_TRUE(contains(check_of(j, "db_reachable").value("finding", ""), "the database does not answer: ") &&
                       contains(check_of(j, "db_reachable").value("finding", ""), "timeout expired"))
      << states(j);
}

}  // namespace
