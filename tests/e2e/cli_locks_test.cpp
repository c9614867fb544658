// `resv locks` through the real binary: a psql-like session holds a seat
// while 50 holds of it go through a real resv-server; the report names the
// blocker, the seat, the server sessions and the pool's waiters; the check
// exits 4; terminate is refused without --yes, changes nothing with
// --dry-run, and with --yes releases the waiters (one hold wins, no
// overbooking) and leaves an audit row.
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_run.h"
#include "db/pg_text.h"
#include "e2e_util.h"
#include "test_db.h"
#include "test_seed.h"

namespace {

namespace fs = std::filesystem;
using namespace resv::e2e;
using resv::test::SeedSpec;
using resv::test::TestDatabase;

class CliLocks : public ::testing::Test {
 protected:
  CliLocks() {
    char tmpl[] = "/tmp/resv-locks-test-XXXXXX";
    state_ = ::mkdtemp(tmpl);
    seeded = resv::test::seed(db, SeedSpec{.seats = 3, .users = 60});
  }
  ~CliLocks() override {
    std::error_code ec;
    fs::remove_all(state_, ec);
  }

  // `resv ARGS...` on this test's database; the server (if any) by its admin URL.
  CliRun resv(std::vector<std::string> args) const {
    std::map<std::string, std::string> env{{"RESV_DATABASE_URL", db.url()}, {"RESV_STATE_DIR", state_},
                                           {"XDG_CONFIG_HOME", state_ + "/config"}, {"RESV_CONFIG", ""},
                                           {"NO_COLOR", "1"}, {"RESV_ADMIN_TOKEN", ServerProcess::kAdminToken}};
    if (admin_port) env["RESV_ADMIN_URL"] = "http://127.0.0.1:" + std::to_string(admin_port);
    return run_resv(args, env);
  }
  json locks_json() const {
    auto r = resv({"locks", "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    return parse_or_null(r.out);
  }
  int64_t count(const std::string& sql) const { return db.count(sql); }

  TestDatabase db;
  resv::test::Seeded seeded;
  uint16_t admin_port = 0;

 private:
  std::string state_;
};

// A session of its own, named as psql names its sessions.
struct Session {
  explicit Session(const TestDatabase& db) : conn(resv::with_application_name(db.url(), "psql")) {}
  int pid() { return pqxx::nontransaction(conn).exec1("SELECT pg_backend_pid()")[0].as<int>(); }
  pqxx::connection conn;
};

TEST_F(CliLocks, AnIdleSeatHolderIsFoundNamedAndTerminatedAndTheFiftyHoldsBehindItEndWithoutOverbooking) {
  const int64_t seat = seeded.seat_ids[0];
  const std::string label = db.scalar("SELECT label FROM seats WHERE id = " + str(seat));
  const std::string words = "seat " + label + ", id " + str(seat) + ", schedule " + str(seeded.schedule_id);
  // Holds wait behind the lock instead of timing out, and wait in the pool's line instead of a 503.
  ServerProcess server(db.url(), {"--lock-timeout-ms", "300000", "--statement-timeout-ms", "300000",
                                  "--db-max-wait-ms", "60000"});
  admin_port = server.admin_port();

  Session holder(db);
  const int holder_pid = holder.pid();
  pqxx::work held(holder.conn);
  held.exec("SELECT id FROM seats WHERE id = " + str(seat) + " FOR UPDATE");

  constexpr int kHolds = 50;
  std::vector<int> statuses(kHolds, 0);
  std::vector<std::thread> buyers;
  for (int i = 0; i < kHolds; ++i)
    buyers.emplace_back([&, i] {
      HttpClient http("127.0.0.1", server.port(), std::chrono::seconds(300));
      json body{{"userId", seeded.first_user_id + i}, {"scheduleId", seeded.schedule_id}, {"seatIds", {seat}}};
      statuses[static_cast<size_t>(i)] = http.post("/api/reservations", body.dump()).status;
    });

  // Every hold is either a server session waiting on the row or in the pool's line.
  json report;
  ASSERT_TRUE(eventually([&] {
    report = locks_json();
    if (report["trees"].empty() || report["servers"].empty() || report["servers"][0]["pool"].is_null()) return false;
    return report["trees"][0]["serverWaiters"].get<int>() + report["servers"][0]["pool"]["waiting"].get<int>() ==
           kHolds;
  }, 120)) << report.dump(2);
  const json& tree = report["trees"][0];
  EXPECT_EQ(tree["blocker"]["pid"], holder_pid);
  EXPECT_EQ(tree["blocker"]["application"], "psql");
  EXPECT_EQ(tree["blocker"]["state"], "idle in transaction");
  EXPECT_EQ(tree["holds"][0]["kind"], "row");
  EXPECT_EQ(tree["holds"][0]["text"], words);
  EXPECT_GE(tree["serverWaiters"].get<int>(), 1);
  EXPECT_EQ(tree["serverWaiters"], tree["waiters"]);
  const json& pool = report["servers"][0];
  EXPECT_EQ(pool["instance"], "resv-server:" + str(server.port()));
  EXPECT_EQ(pool["sessionsWaiting"], tree["serverWaiters"]) << "the pool's stuck connections are the tree's sessions";
  EXPECT_EQ(pool["pool"]["inUse"], pool["pool"]["size"]);
  EXPECT_GT(pool["pool"]["oldestWaitMs"].get<int64_t>(), 0);

  auto text = resv({"locks"});
  EXPECT_EQ(text.code, 0) << text.err;
  EXPECT_TRUE(contains(text.out, "BLOCKER pid " + str(holder_pid))) << text.out;
  EXPECT_TRUE(contains(text.out, "IDLE IN TRANSACTION")) << text.out;
  EXPECT_TRUE(contains(text.out, "holds   " + words)) << text.out;
  EXPECT_TRUE(contains(text.out, "resv-server:" + str(server.port()) + " write")) << text.out;
  EXPECT_TRUE(contains(text.out, "way out: resv locks terminate " + str(holder_pid))) << text.out;
  {
    std::istringstream lines(text.out);
    for (std::string line; std::getline(lines, line);)
      EXPECT_LE(line.size(), 120u + 3 /* the tree's └ is 3 bytes, one column */) << line;
  }

  ASSERT_TRUE(eventually([&] { return resv({"locks", "--fail-on-blocking", "1s"}).code == 4; }, 60));
  auto check = resv({"locks", "--fail-on-blocking", "1s"});
  EXPECT_EQ(check.code, 4);
  EXPECT_TRUE(contains(check.err, "pid " + str(holder_pid))) << check.err;
  EXPECT_TRUE(contains(check.err, "resv locks terminate " + str(holder_pid))) << check.err;

  const std::string alive = "SELECT count(*) FROM pg_stat_activity WHERE pid = " + str(holder_pid);
  auto refused = resv({"locks", "terminate", str(holder_pid)});
  EXPECT_EQ(refused.code, 2) << refused.err;
  EXPECT_TRUE(contains(refused.err, "--yes")) << refused.err;
  auto dry = resv({"locks", "terminate", str(holder_pid), "--dry-run"});
  EXPECT_EQ(dry.code, 0) << dry.err;
  EXPECT_TRUE(contains(dry.out, "would terminate pid " + str(holder_pid))) << dry.out;
  EXPECT_TRUE(contains(dry.err, words)) << "it says what the session holds: " << dry.err;
  EXPECT_EQ(count(alive), 1) << "neither a refusal nor a dry run signals anything";
  EXPECT_EQ(count("SELECT count(*) FROM ops_audit"), 0);

  auto done = resv({"locks", "terminate", str(holder_pid), "--yes"});
  EXPECT_EQ(done.code, 0) << done.err;
  EXPECT_TRUE(contains(done.out, "terminated pid " + str(holder_pid))) << done.out;
  EXPECT_TRUE(contains(done.out, "released")) << done.out;
  for (auto& b : buyers) b.join();
  EXPECT_EQ(count(alive), 0);

  std::multiset<int> answers(statuses.begin(), statuses.end());
  EXPECT_EQ(answers.count(201), 1u) << "exactly one hold gets the seat";
  EXPECT_EQ(answers.count(409), static_cast<size_t>(kHolds - 1)) << "every other one is told it is taken";
  EXPECT_EQ(count("SELECT count(*) FROM seats WHERE id = " + str(seat) + " AND reservation_id IS NOT NULL"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM reservations WHERE status = 'HELD'"), 1) << "no overbooking";

  const passwd* pw = ::getpwuid(::geteuid());
  EXPECT_EQ(count("SELECT count(*) FROM ops_audit WHERE action = 'locks.terminate' AND target = 'pid " +
                  str(holder_pid) + "' AND actor = '" + std::string(pw ? pw->pw_name : "unknown") +
                  "' AND old_values->'holds'->0->>'text' = '" + words +
                  "' AND new_values->>'ended' = 'true' AND jsonb_array_length(new_values->'stillBlocked') = 0"),
            1);
  EXPECT_EQ(server.terminate(), 0);
}

TEST_F(CliLocks, NoWaitSaysSoAndExitsZeroEvenWithTheCheck) {
  auto r = resv({"locks", "--fail-on-blocking", "1s"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "no session waits for a lock")) << r.out;
  json j = locks_json();
  for (const char* key : {"database", "now", "sessions", "waiting", "trees", "idleInTransaction", "longRunning",
                          "advisoryLocks", "servers", "deadlocks", "statsAgeSeconds", "settings"})
    EXPECT_TRUE(j.contains(key)) << key << " missing from " << j.dump();
  EXPECT_TRUE(j["trees"].empty());
  EXPECT_EQ(j["settings"]["lockTimeout"], "0");
}

TEST_F(CliLocks, AdvisoryLocksOfAForeignSessionAreNamedAndAnUnknownKeyShownRaw) {
  Session foreign(db);
  pqxx::nontransaction(foreign.conn).exec("SELECT pg_advisory_lock(8243121645518415221), pg_advisory_lock(7236001),"
                                          " pg_advisory_lock(424242)");
  Session waiter(db);
  std::thread wait([&] { pqxx::nontransaction(waiter.conn).exec("SELECT pg_advisory_lock(8243121645518415221)"); });
  json report;
  ASSERT_TRUE(eventually([&] { return !(report = locks_json())["trees"].empty(); })) << report.dump(2);
  EXPECT_EQ(report["trees"][0]["holds"][0]["advisoryName"], "waiting-room leader");
  std::set<std::string> names, keys;
  for (const auto& a : report["advisoryLocks"]) {
    if (a["name"].is_string()) names.insert(a["name"].get<std::string>());
    if (a["key"].is_string()) keys.insert(a["key"].get<std::string>());
  }
  EXPECT_EQ(names, (std::set<std::string>{"waiting-room leader", "migration runner"}));
  EXPECT_EQ(keys, std::set<std::string>{"424242"});
  auto text = resv({"locks"});
  EXPECT_TRUE(contains(text.out, "key 424242 not of resv's")) << text.out;
  EXPECT_TRUE(contains(text.out, "advisory lock: waiting-room leader")) << text.out;
  pqxx::nontransaction(foreign.conn).exec("SELECT pg_advisory_unlock_all()");
  wait.join();
}

TEST_F(CliLocks, ATableLockedByASeedOrMigrationNamesTheTableTheModeAndWhoTakesIt) {
  Session locker(db);
  pqxx::work tx(locker.conn);
  tx.exec("LOCK TABLE seats IN ACCESS EXCLUSIVE MODE");
  Session reader(db);
  std::thread read([&] { pqxx::nontransaction(reader.conn).exec("SELECT count(*) FROM seats"); });
  json report;
  ASSERT_TRUE(eventually([&] { return !(report = locks_json())["trees"].empty(); })) << report.dump(2);
  const json& holds = report["trees"][0]["holds"][0];
  EXPECT_EQ(holds["kind"], "relation");
  EXPECT_EQ(holds["text"], "table seats");
  EXPECT_EQ(holds["heldMode"], "AccessExclusiveLock");
  EXPECT_TRUE(contains(holds["takenBy"].get<std::string>(), "resv seed")) << holds.dump();
  tx.abort();
  read.join();
}

TEST_F(CliLocks, RefusesPidZeroAndAPidThatDoesNotExist) {
  auto zero = resv({"locks", "cancel", "0", "--yes"});
  EXPECT_EQ(zero.code, 1) << zero.err;
  EXPECT_TRUE(contains(zero.err, "PREPARED")) << zero.err;
  auto gone = resv({"locks", "terminate", "999999", "--yes"});
  EXPECT_EQ(gone.code, 1) << gone.err;
  EXPECT_TRUE(contains(gone.err, "no session has pid 999999")) << gone.err;
  EXPECT_EQ(count("SELECT count(*) FROM ops_audit"), 0);
}

TEST_F(CliLocks, BadDurationsAndAMissingTargetAreUsageErrors) {
  EXPECT_EQ(resv({"locks", "--min-wait", "soon"}).code, 2);
  EXPECT_EQ(resv({"locks", "--fail-on-blocking", "-1s"}).code, 2);
  EXPECT_EQ(resv({"locks", "--watch", "0"}).code, 2) << "pg_blocking_pids is not polled faster than once a second";
  auto neither = resv({"locks", "terminate", "--yes"});
  EXPECT_EQ(neither.code, 2);
  EXPECT_TRUE(contains(neither.err, "--blockers-older-than")) << neither.err;
}

TEST(CliLocksUnreachable, ADatabaseThatDoesNotAnswerExitsThree) {
  std::set<int> taken;
  const std::string url = "postgresql://resv@127.0.0.1:" + std::to_string(free_ports(1, taken)) + "/resv";
  auto r = run_resv({"locks"}, {{"RESV_DATABASE_URL", url}, {"RESV_CONFIG", ""}, {"NO_COLOR", "1"}});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_TRUE(contains(r.err, "cannot connect")) << r.err;
}

}  // namespace
