// `resv runbook` through the real binaries: every shipped runbook is run
// with --yes on its staged incident (real PostgreSQL, real resv-server
// processes) and must end it: exit 0, the doctor's check passes, the audit
// is clean, and the transcript holds every step. Also: --dry-run changes
// nothing, a change without --yes and without a terminal is refused, a
// malformed file is rejected with its line, and a --runbook-dir file wins.
// Each run prints its steps and time (the measure), asserting none.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sys/stat.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "cli_run.h"
#include "db/pg_text.h"
#include "e2e_util.h"
#include "incidents.h"
#include "server_cli.h"
#include "test_db.h"
#include "test_seed.h"

namespace {

using namespace resv::e2e;
using resv::test::SeedSpec;
using resv::test::str;
using resv::test::TestDatabase;
using nlohmann::json;

class CliRunbook : public ::testing::Test {
 protected:
  TestDatabase db;
  resv::test::Seeded s = resv::test::seed(db, SeedSpec{.seats = 4, .users = 8});
  ServerCli cli{db.url(), 2};

  // `resv runbook run NAME --yes --json`: the transcript; the run's steps
  // and wall time are printed (the measure of the issue).
  json run(const std::string& name, int want_exit, std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"runbook", "run", name, "--yes", "--json"};
    args.insert(args.end(), more.begin(), more.end());
    const auto start = std::chrono::steady_clock::now();
    auto r = cli.resv(args);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(r.code, want_exit) << r.out << r.err;
    json t = parse_or_null(r.out);
    EXPECT_TRUE(t.is_object()) << r.out << r.err;
    if (!t.is_object()) return json();
    std::printf("[ measure  ] runbook %s: %zu steps, %.1f s from run to exit %d\n", name.c_str(), t["steps"].size(),
                seconds, r.code);
    // The transcript file holds the same run, every step with its command.
    const json file = parse_or_null(read_file(t.value("transcript", "")));
    EXPECT_EQ(file.value("runbook", ""), name);
    EXPECT_EQ(file["steps"].size(), t["steps"].size());
    for (const auto& step : file["steps"]) {
      EXPECT_FALSE(step["command"].empty()) << step.dump();
      EXPECT_TRUE(step.contains("exitCode") && step.contains("stdout") && step.contains("seconds")) << step.dump();
    }
    if (want_exit == 0) {
      EXPECT_EQ(audit(), 0) << "the incident is over and the data intact";
    }
    return t;
  }
  std::vector<std::string> steps_of(const json& t) {
    std::vector<std::string> out;
    for (const auto& step : t["steps"]) out.push_back(step.value("step", ""));
    return out;
  }
  int doctor(const std::string& check) { return cli.resv({"doctor", "--check", check}).code; }
  int audit() { return cli.resv({"audit"}).code; }
  int64_t pay_one(int64_t user, int64_t seat) { return resv::e2e::pay_one(db, s, user, seat); }
  void paused_queue_with_people_waiting() {
    const std::string concert = str(s.concert_id);
    ASSERT_EQ(cli.resv({"queue", "enable", "--concert", concert, "--max-active", "1", "--yes"}).code, 0);
    db.scalar("SELECT resv_queue_issue(" + concert + ", ARRAY(SELECT generate_series(" + str(s.first_user_id) + ", " +
              str(s.first_user_id + 3) + "))::bigint[])");
    ASSERT_EQ(cli.resv({"queue", "pause", "--concert", concert, "--actor", "night-operator", "--yes"}).code, 0);
  }
};

TEST_F(CliRunbook, QueuePausedFindsTheConcertResumesItAndVerifies) {
  ASSERT_EQ(cli.start().code, 0);
  paused_queue_with_people_waiting();
  ASSERT_EQ(doctor("queue_paused"), 4);
  json t = run("queue-paused", 0);
  EXPECT_EQ(steps_of(t), (std::vector<std::string>{"find", "history", "resume", "confirm"}));
  EXPECT_EQ(t["vars"]["concert"], str(s.concert_id));
  EXPECT_TRUE(contains(t["steps"][1].value("stdout", ""), "night-operator")) << "the history names who paused it";
  EXPECT_EQ(t["summary"], "over: every verify step met");
  EXPECT_EQ(doctor("queue_paused"), 0);
  EXPECT_EQ(audit(), 0);
}

TEST_F(CliRunbook, LockBlockingTerminatesAnIdleBlockerWithoutAFutileCancelAndTheWaiterGoesOn) {
  IdleBlocker blocker(db, s.seat_ids[0]);
  const int pid = blocker.pid();
  ASSERT_TRUE(eventually([&] { return doctor("db_blocking") == 4; }, 30));

  json t = run("lock-blocking", 0);
  blocker.join();
  EXPECT_EQ(steps_of(t), (std::vector<std::string>{"find", "locks", "idle", "terminate", "confirm"}))
      << "a cancel cannot end an idle transaction: straight to the terminate";
  EXPECT_EQ(t["vars"]["pid"], std::to_string(pid));
  EXPECT_EQ(db.count("SELECT count(*) FROM pg_stat_activity WHERE pid = " + std::to_string(pid)), 0);
  EXPECT_EQ(doctor("db_blocking"), 0);
}

// The servers crashed (killed, their records left): nobody sweeps.
void crash_servers(ServerCli& cli) {
  auto started = cli.start({"--instances", "2", "--json"});
  ASSERT_EQ(started.code, 0) << started.err;
  for (const auto& i : instances_of(started)) {
    const long pid = i["pid"].get<long>();
    ASSERT_EQ(::kill(static_cast<pid_t>(pid), SIGKILL), 0);
    ASSERT_TRUE(eventually([&] { return !running(pid); }, 10));
  }
}

TEST_F(CliRunbook, StaleHoldsRestartsTheCrashedServersWhoseSweeperReleasesThem) {
  crash_servers(cli);
  db.scalar("SELECT resv_hold_seats_do(" + str(s.first_user_id) + ", " + str(s.schedule_id) + ", ARRAY[" +
            str(s.seat_ids[1]) + "]::bigint[])");
  db.exec("UPDATE reservations SET expires_at = now() - interval '1 minute' WHERE status = 'HELD'");
  ASSERT_EQ(doctor("holds_expired"), 4);
  json t = run("stale-holds", 0);
  EXPECT_EQ(steps_of(t), (std::vector<std::string>{"find", "holds", "sweeper", "restart", "confirm"}));
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE status = 'HELD'"), 0);
  EXPECT_EQ(doctor("sweeper_alive"), 0);
  EXPECT_EQ(audit(), 0);
}

TEST_F(CliRunbook, ServerDownRestartsADeadInstance) {
  auto started = cli.start({"--instances", "2", "--json"});
  ASSERT_EQ(started.code, 0) << started.err;
  const long second = instances_of(started)[1]["pid"].get<long>();
  ASSERT_EQ(::kill(static_cast<pid_t>(second), SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return !running(second); }, 10));
  ASSERT_EQ(doctor("servers_up"), 4);
  json t = run("server-down", 0);
  EXPECT_EQ(steps_of(t), (std::vector<std::string>{"find", "instances", "database", "restart", "confirm"}));
  EXPECT_EQ(doctor("servers_up"), 0);
}

TEST_F(CliRunbook, QueueStuckRestartsTheCrashedLeaderAndAdmissionsFlow) {
  crash_servers(cli);
  const std::string concert = str(s.concert_id);
  ASSERT_EQ(cli.resv({"queue", "enable", "--concert", concert, "--yes"}).code, 0);
  db.scalar("SELECT resv_queue_issue(" + concert + ", ARRAY(SELECT generate_series(" + str(s.first_user_id) + ", " +
            str(s.first_user_id + 2) + "))::bigint[])");
  db.exec("UPDATE queue_concerts SET last_admit_at = now() - interval '10 minutes' WHERE concert_id = " + concert);
  ASSERT_EQ(doctor("queue_stuck"), 4);
  json t = run("queue-stuck", 0);
  EXPECT_EQ(steps_of(t), (std::vector<std::string>{"find", "queue", "leader", "restart", "confirm"}));
  EXPECT_GT(db.count("SELECT count(*) FROM queue_tokens WHERE status <> 'WAITING' AND concert_id = " + concert), 0);
}

TEST_F(CliRunbook, OverbookingNamesEveryAffectedReservationAndNeverFixesIt) {
  const int64_t paid = pay_one(s.first_user_id, s.seat_ids[0]);
  const int64_t other = sell_seat_again(db, s, s.seat_ids[0]);
  const std::string before = db.scalar("SELECT string_agg(id || ':' || coalesce(reservation_id::text, '-'), ',' "
                                       "ORDER BY id) FROM seats");
  json t = run("overbooking", 4);
  EXPECT_EQ(steps_of(t), (std::vector<std::string>{"audit", "affected", "clean"}));
  const std::string affected = t["steps"][1].value("stdout", "");
  EXPECT_TRUE(contains(affected, "reservation " + str(paid)) && contains(affected, "reservation " + str(other)))
      << affected;
  EXPECT_TRUE(contains(t.value("summary", ""), "never changes data")) << t.dump();
  EXPECT_EQ(db.scalar("SELECT string_agg(id || ':' || coalesce(reservation_id::text, '-'), ',' ORDER BY id) FROM seats"),
            before)
      << "nothing was changed";

  db.exec("UPDATE seats SET reservation_id = " + str(paid) + " WHERE id = " + str(s.seat_ids[0]));
  db.exec("DELETE FROM reservations WHERE id = " + str(other));
  run("overbooking", 0);
}

TEST_F(CliRunbook, ADryRunChangesNothingAndAChangeWithoutYesOrATerminalIsRefused) {
  ASSERT_EQ(cli.start().code, 0);
  paused_queue_with_people_waiting();
  auto queue_state = [&] {
    return db.scalar("SELECT paused::text || ':' || (SELECT count(*) FROM queue_audit) FROM queue_concerts "
                     "WHERE concert_id = " + str(s.concert_id));
  };
  const std::string before = queue_state();

  auto dry = cli.resv({"runbook", "run", "queue-paused", "--dry-run", "--json"});
  EXPECT_EQ(dry.code, 0) << dry.err;
  json t = parse_or_null(dry.out);
  EXPECT_EQ(t["summary"], "dry run: would change 1 thing(s): resume");
  EXPECT_EQ(t["steps"][2]["command"], (json{"queue", "resume", "--concert", str(s.concert_id), "--yes"}));
  EXPECT_EQ(t["steps"][2]["exitCode"], nullptr) << "not run";
  EXPECT_EQ(queue_state(), before);

  auto refused = cli.resv({"runbook", "run", "queue-paused"});
  EXPECT_EQ(refused.code, 2) << refused.err;
  EXPECT_TRUE(contains(refused.err, "pass --yes")) << refused.err;
  EXPECT_EQ(queue_state(), before);

  auto history = cli.resv({"runbook", "history", "--json"});
  ASSERT_EQ(history.code, 0);
  json h = parse_or_null(history.out);
  ASSERT_EQ(h["runs"].size(), 1u) << "the dry run's transcript, not the refused run's: " << history.out;
  EXPECT_EQ(h["runs"][0]["dryRun"], true);
}

TEST_F(CliRunbook, AMalformedFileIsRejectedWithItsLineAndAnOverrideFromTheFolderWins) {
  char tmpl[] = "/tmp/resv-runbooks-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  std::ofstream(dir + "/overbooking.toml") << "name = \"overbooking\"\ntitle = \"Ours\"\n[[steps]]\nname = \"ours\"\n"
                                              "kind = \"verify\"\nrun = [\"audit\", \"--json\"]\n";
  auto list = cli.resv({"runbook", "list", "--json", "--runbook-dir", dir});
  ASSERT_EQ(list.code, 0) << list.err;
  bool overridden = false;
  const json listed = parse_or_null(list.out);
  for (const auto& rb : listed["runbooks"])
    if (rb["name"] == "overbooking") overridden = rb["title"] == "Ours" && rb["source"] == dir + "/overbooking.toml";
  EXPECT_TRUE(overridden) << list.out;
  json t = run("overbooking", 0, {"--runbook-dir", dir});
  EXPECT_EQ(steps_of(t), (std::vector<std::string>{"ours"}));
  const std::string config = (cli.state() / "config.toml").string();
  std::ofstream(config) << "runbook_dir = \"" << dir << "\"\n";
  auto from_config = cli.resv({"--config", config, "runbook", "show", "overbooking", "--json"});
  EXPECT_EQ(parse_or_null(from_config.out).value("title", ""), "Ours") << "the config file's runbook_dir: " << from_config.err;

  std::ofstream(dir + "/broken.toml") << "name = \"broken\"\ntitle = \"t\"\n[[steps]]\nname = \"a\"\nkind = \"fix\"\n"
                                         "run = [\"audit\"]\n";
  auto bad = cli.resv({"runbook", "list", "--runbook-dir", dir});
  EXPECT_EQ(bad.code, 1);
  EXPECT_TRUE(contains(bad.err, dir + "/broken.toml line 5: steps[0].kind: 'fix' is not diagnose, mitigate or verify"))
      << bad.err;
  std::filesystem::remove_all(dir);
}

TEST_F(CliRunbook, EventsBacklogRestartsTheEmbeddedBrokerAndTheBacklogDrains) {
  ASSERT_EQ(cli.start().code, 0);
  const long broker = parse_or_null(read_file(cli.state() / "kafka" / "broker.json"))["pid"].get<long>();
  ASSERT_EQ(::kill(static_cast<pid_t>(broker), SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return !running(broker); }, 10));
  pay_one(s.first_user_id, s.seat_ids[2]);  // events the relay cannot publish now
  ASSERT_EQ(cli.resv({"doctor", "--only", "events"}).code, 3);
  json t = run("events-backlog", 0);
  EXPECT_EQ(steps_of(t), (std::vector<std::string>{"find", "status", "broker", "restart", "relay", "confirm"}));
  // Over means published again and young: the last events drain within moments.
  EXPECT_TRUE(eventually([&] { return db.count("SELECT unpublished FROM resv_outbox_backlog()") == 0; }, 30));
  EXPECT_EQ(cli.resv({"doctor", "--only", "events"}).code, 0);
}

TEST_F(CliRunbook, OpeningChecklistWarmsTheColdServersAndFindsEverythingReady) {
  ASSERT_EQ(cli.start({"--instances", "2"}).code, 0);
  db.exec("UPDATE schedules SET sales_open_at = now() + interval '10 minutes' WHERE id = " + str(s.schedule_id));
  ASSERT_EQ(doctor("warm_openings"), 4);
  json t;
  ASSERT_TRUE(eventually([&] {  // the servers' first minute: ready, relay leader settled
    t = run("opening-checklist", cli.resv({"doctor", "--only", "servers"}).code == 0 ? 0 : 4);
    return t.value("exitCode", -1) == 0;
  }, 30)) << t.dump();
  EXPECT_EQ(steps_of(t), (std::vector<std::string>{"database", "servers", "queues", "warm", "warm-verify", "audit"}));
  EXPECT_EQ(doctor("warm_openings"), 0);
}

// The embedded default (no URL configured): the runbook can start the
// cluster itself, and the servers recover without a restart.
TEST(CliRunbookEmbedded, DatabaseUnreachableStartsTheEmbeddedClusterAndTheServersRecover) {
  char tmpl[] = "/tmp/resv-runbook-db-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  ::chmod(dir.c_str(), 0755);  // as root, the postgres user traverses it
  const std::map<std::string, std::string> env{{"RESV_DATABASE_URL", ""}, {"RESV_CONFIG", ""},
                                               {"XDG_CONFIG_HOME", dir + "/config"}, {"NO_COLOR", "1"}};
  auto resv = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--state-dir", dir});
    return run_resv(args, env);
  };
  std::set<int> taken;
  const int port = free_ports(1, taken), admin = free_ports(1, taken);
  ASSERT_EQ(resv({"db", "up", "-q"}).code, 0);
  ASSERT_EQ(resv({"server", "start", "--port", std::to_string(port), "--admin-port", std::to_string(admin)}).code, 0);
  ASSERT_EQ(resv({"db", "down"}).code, 0);
  ASSERT_TRUE(eventually([&] { return resv({"server", "status"}).code == 3; }, 30));

  auto r = resv({"runbook", "run", "database-unreachable", "--yes", "--json"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  json t = parse_or_null(r.out);
  std::vector<std::string> steps;
  for (const auto& step : t["steps"]) steps.push_back(step.value("step", ""));
  EXPECT_EQ(steps, (std::vector<std::string>{"find", "database", "servers", "start", "confirm"}));
  std::printf("[ measure  ] runbook database-unreachable: %zu steps, %.1f s of steps\n", steps.size(),
              [&] {
                double sum = 0;
                for (const auto& step : t["steps"]) sum += step.value("seconds", 0.0);
                return sum;
              }());
  auto d = resv({"doctor", "--check", "db_reachable", "--check", "servers_up"});
  EXPECT_EQ(d.code, 0) << d.out << d.err;
  EXPECT_EQ(resv({"audit"}).code, 0);
  resv({"server", "stop"});
  resv({"db", "down"});
  std::filesystem::remove_all(dir);
}

TEST_F(CliRunbook, PoolSaturatedNamesTheBlockerBehindThePoolAndVerifiesOnceItIsGone) {
  // Two write sessions that wait for locks and for the pool rather than answer 503.
  // (resv-server reads them from its environment, which resv server start passes on.)
  const std::map<std::string, std::string> settings{{"RESV_DB_POOL_SIZE", "2"}, {"RESV_DB_MAX_WAIT_MS", "60000"},
                                                    {"RESV_LOCK_TIMEOUT_MS", "300000"},
                                                    {"RESV_STATEMENT_TIMEOUT_MS", "300000"}};
  for (const auto& [k, v] : settings) ::setenv(k.c_str(), v.c_str(), 1);
  auto started = cli.start();
  for (const auto& [k, v] : settings) ::unsetenv(k.c_str());
  ASSERT_EQ(started.code, 0) << started.err;
  pqxx::connection holder(resv::with_application_name(db.url(), "psql"));
  pqxx::work held(holder);
  held.exec("SELECT id FROM seats WHERE id = " + str(s.seat_ids[0]) + " FOR UPDATE");
  std::vector<std::thread> buyers;
  std::vector<int> statuses(6, 0);
  for (int i = 0; i < 6; ++i)
    buyers.emplace_back([&, i] {
      HttpClient http("127.0.0.1", static_cast<uint16_t>(cli.port), std::chrono::seconds(120));
      json body{{"userId", s.first_user_id + i}, {"scheduleId", s.schedule_id}, {"seatIds", {s.seat_ids[0]}}};
      statuses[static_cast<size_t>(i)] = http.post("/api/reservations", body.dump()).status;
    });
  ASSERT_TRUE(eventually([&] { return doctor("server_pool") == 4; }, 30));

  json t = run("pool-saturated", 4);
  EXPECT_EQ(steps_of(t), (std::vector<std::string>{"find", "errors", "blockers"}));
  EXPECT_TRUE(contains(t.value("summary", ""), "resv runbook run lock-blocking")) << t.dump();

  run("lock-blocking", 0);
  for (auto& b : buyers) b.join();
  for (int st : statuses) EXPECT_TRUE(st == 201 || st == 409) << "held or taken, never a 5xx: " << st;
  json over = run("pool-saturated", 0);
  EXPECT_EQ(steps_of(over), (std::vector<std::string>{"find", "confirm"}));
}

}  // namespace
