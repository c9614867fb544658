// resv warmup against two real resv-server processes started by
// `resv server start`: what the servers hold afterwards, counted in their
// metrics (renders on the request path, answers from the filter), not timed.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "cli_run.h"
#include "e2e_util.h"
#include "private_cluster.h"
#include "server_cli.h"
#include "test_db.h"
#include "test_seed.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;

struct CliWarmup : ::testing::Test {
  TestDatabase db;
  Seeded s = seed(db, {.seats = 20, .users = 20});
  int64_t pool = add_pool(db, s.schedule_id, 2, 2, 2);
  ServerCli cli{db.url(), 2};

  std::string token() const {
    std::string t = read_file(cli.state() / "server" / "admin-token");
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    return t;
  }
  double metric(int instance, const std::string& name) const {
    HttpClient admin("127.0.0.1", static_cast<uint16_t>(cli.admin_port + instance));
    auto r = admin.get("/metrics", {{"Authorization", "Bearer " + token()}});
    EXPECT_EQ(r.status, 200) << r.body;
    return metric_sum(r.body, name, {});
  }
};

TEST_F(CliWarmup, WarmedServersAnswerTheFirstSeatMapFromTheCacheAndTakenOrSoldOutFromMemory) {
  // Behind the servers' backs: one seat held, the pool sold out.
  db.exec("SELECT resv_hold_seats(" + str(s.first_user_id) + ", " + str(s.schedule_id) + ", ARRAY[" +
          str(s.seat_ids[0]) + "::bigint])");
  db.exec("SELECT resv_hold_pool(" + str(s.first_user_id + 1) + ", " + str(s.schedule_id) + ", " + str(pool) + ", 2)");
  ASSERT_EQ(cli.start({"--instances", "2"}).code, 0);

  auto r = cli.resv({"warmup", "--concert", str(s.concert_id), "--json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto j = parse_or_null(r.out);
  ASSERT_EQ(j["servers"].size(), 2u) << r.out;
  // The database: the hot relations loaded, every block resident afterwards.
  EXPECT_EQ(j["database"]["loaded"], true) << j["database"];
  EXPECT_GT(j["database"]["blocks"].get<int64_t>(), 0);
  EXPECT_EQ(j["database"]["cachedAfter"], j["database"]["blocks"]);
  EXPECT_TRUE(j["database"]["warning"].is_null());
  for (const auto& server : j["servers"]) {
    EXPECT_EQ(server["warm"], true) << server;
    ASSERT_EQ(server["concerts"].size(), 1u) << server;
    const auto& c = server["concerts"][0];
    EXPECT_EQ(c["concertId"], s.concert_id);
    EXPECT_EQ(c["schedules"], 1);
    EXPECT_EQ(c["seatsTaken"], 1) << "the seat held behind its back";
    EXPECT_EQ(c["pools"], 1);
    EXPECT_EQ(c["cacheEntries"], 5) << "concerts, the concert, its schedules, its seat map all and available";
  }

  for (int i = 0; i < 2; ++i) {
    const double renders = metric(i, "resv_read_renders_total");
    const double from_memory = metric(i, "resv_filter_answers_total");
    HttpClient api("127.0.0.1", static_cast<uint16_t>(cli.port + i));
    for (const char* path : {"/api/concerts", "/api/concerts/{c}/schedules", "/api/schedules/{s}/seats",
                             "/api/schedules/{s}/seats?status=available"}) {
      std::string target = path;
      if (auto at = target.find("{c}"); at != std::string::npos) target.replace(at, 3, str(s.concert_id));
      if (auto at = target.find("{s}"); at != std::string::npos) target.replace(at, 3, str(s.schedule_id));
      EXPECT_EQ(api.get(target).status, 200) << target;
    }
    EXPECT_EQ(metric(i, "resv_read_renders_total"), renders) << "instance " << i + 1 << " rendered on a request";

    auto sold_out = api.post("/api/reservations", json{{"userId", s.first_user_id + 2},
                                                       {"scheduleId", s.schedule_id},
                                                       {"poolId", pool},
                                                       {"quantity", 1}}
                                                      .dump());
    EXPECT_EQ(sold_out.status, 409) << sold_out.body;
    EXPECT_EQ(error_code(sold_out), "SOLD_OUT");
    auto taken = api.post("/api/reservations", json{{"userId", s.first_user_id + 3},
                                                    {"scheduleId", s.schedule_id},
                                                    {"seatIds", {s.seat_ids[0]}}}
                                                   .dump());
    EXPECT_EQ(error_code(taken), "SEAT_TAKEN") << taken.body;
    EXPECT_EQ(metric(i, "resv_filter_answers_total"), from_memory + 2)
        << "instance " << i + 1 << ": both answered from memory, the first time";
  }

  // A release afterwards still reaches the warm filters: no stale sold out.
  db.exec("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE pool_id = " + str(pool));
  HttpClient second("127.0.0.1", static_cast<uint16_t>(cli.port + 1));
  EXPECT_TRUE(eventually([&] {
    return second.post("/api/reservations", json{{"userId", s.first_user_id + 4},
                                                  {"scheduleId", s.schedule_id},
                                                  {"poolId", pool},
                                                  {"quantity", 1}}
                                                 .dump())
               .status == 201;
  })) << "the pool's units, released by expiry, were never offered again";

  auto status = parse_or_null(cli.resv({"server", "status", "--json"}).out);
  ASSERT_EQ(status["instances"].size(), 2u) << status;
  for (const auto& inst : status["instances"]) EXPECT_EQ(inst["warmConcerts"], 1) << inst;
}

TEST_F(CliWarmup, AnUnknownConcertIsAUsageErrorAndNoServerIsUnreachable) {
  auto none = cli.resv({"warmup", "--concert", str(s.concert_id)});
  EXPECT_EQ(none.code, 3) << none.err;
  EXPECT_TRUE(contains(none.err, "resv server start")) << none.err;

  ASSERT_EQ(cli.start({"--instances", "2"}).code, 0);
  auto unknown = cli.resv({"warmup", "--concert", "999999"});
  EXPECT_EQ(unknown.code, 2) << unknown.err;
  EXPECT_TRUE(contains(unknown.err, "999999")) << unknown.err;
  EXPECT_EQ(cli.resv({"warmup", "--concert", "0"}).code, 2);
  EXPECT_EQ(cli.resv({"warmup", "--concert", str(s.concert_id), "--window", "soon"}).code, 2);
  auto servers_only = cli.resv({"warmup", "--concert", str(s.concert_id), "--no-database", "--json"});
  ASSERT_EQ(servers_only.code, 0) << servers_only.err;
  EXPECT_TRUE(parse_or_null(servers_only.out)["database"].is_null()) << servers_only.out;
}

TEST_F(CliWarmup, VerifyGatesTheOpeningColdBeforeWarmAfterAndAfterARestartThreeWhenStopped) {
  ASSERT_EQ(cli.start({"--instances", "2"}).code, 0);
  const std::vector<std::string> verify{"warmup", "--concert", str(s.concert_id), "--verify", "--json"};
  auto cold = cli.resv(verify);
  EXPECT_EQ(cold.code, 4) << cold.out << cold.err;
  auto j = parse_or_null(cold.out);
  EXPECT_EQ(j["ok"], false);
  ASSERT_EQ(j["findings"].size(), 2u) << cold.out;
  for (const auto& f : j["findings"]) EXPECT_EQ(f["state"], "cold") << f;
  EXPECT_TRUE(contains(cold.err, "resv warmup -c " + str(s.concert_id))) << "the hint names the command: " << cold.err;

  ASSERT_EQ(cli.resv({"warmup", "--concert", str(s.concert_id)}).code, 0);
  auto warm = cli.resv(verify);
  EXPECT_EQ(warm.code, 0) << warm.out << warm.err;
  EXPECT_EQ(parse_or_null(warm.out)["ok"], true) << warm.out;
  EXPECT_EQ(parse_or_null(warm.out)["database"]["cached"], parse_or_null(warm.out)["database"]["blocks"]);

  ASSERT_EQ(cli.resv({"server", "restart"}).code, 0);
  auto restarted = cli.resv(verify);
  EXPECT_EQ(restarted.code, 4) << "a restarted server starts cold: " << restarted.out;

  // One of the two killed: the other is warmed, the dead one named (exit 3),
  // and --json still a whole document.
  auto second = instances_of(cli.resv({"server", "status", "--json"}))[1];
  const long victim = second["pid"].get<long>();
  ASSERT_EQ(kill(static_cast<pid_t>(victim), SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return !running(victim); }, 10));
  auto one_dead = cli.resv({"warmup", "--concert", str(s.concert_id), "--json"});
  EXPECT_EQ(one_dead.code, 3) << one_dead.err;
  auto dead_json = parse_or_null(one_dead.out);
  ASSERT_EQ(dead_json["servers"].size(), 2u) << one_dead.out;
  EXPECT_EQ(dead_json["servers"][0]["warm"], true);
  EXPECT_EQ(dead_json["servers"][1]["warm"], false);
  EXPECT_TRUE(contains(dead_json["servers"][1]["error"].get<std::string>(), "not running")) << one_dead.out;

  auto dead_verify = cli.resv({"warmup", "--concert", str(s.concert_id), "--verify"});
  EXPECT_EQ(dead_verify.code, 3) << dead_verify.err;
  EXPECT_TRUE(contains(dead_verify.out, "warm: 1 of 2 server(s)")) << "the dead one is not counted: " << dead_verify.out;

  ASSERT_EQ(cli.resv({"server", "stop"}).code, 0);
  auto stopped = cli.resv(verify);
  EXPECT_EQ(stopped.code, 3) << stopped.out << stopped.err;
  EXPECT_EQ(cli.resv({"warmup", "--concert", str(s.concert_id), "--watch", "5"}).code, 2) << "--watch needs --verify";
}

TEST_F(CliWarmup, ASchedulesOrAnOpeningsConcertIsWarmedAndNothingOpeningIsAQuietSuccess) {
  ASSERT_EQ(cli.start({"--instances", "2"}).code, 0);
  auto by_schedule = cli.resv({"warmup", "--schedule", str(s.schedule_id), "--no-database", "--json"});
  ASSERT_EQ(by_schedule.code, 0) << by_schedule.err;
  auto j = parse_or_null(by_schedule.out);
  EXPECT_EQ(j["concertIds"], json::array({s.concert_id})) << by_schedule.out;
  for (const auto& server : j["servers"]) EXPECT_EQ(server["warm"], true) << server;

  auto unknown = cli.resv({"warmup", "--schedule", "999999"});
  EXPECT_EQ(unknown.code, 2) << unknown.err;
  EXPECT_TRUE(contains(unknown.err, "schedule 999999 does not exist")) << unknown.err;
  // The hint's command works as written.
  auto listed = run_resv({"db", "psql", "--db", db.url(), "--", "-c", "SELECT id, concert_id FROM schedules"});
  EXPECT_TRUE(contains(unknown.err, "resv db psql -- -c 'SELECT id, concert_id FROM schedules'")) << unknown.err;
  EXPECT_EQ(listed.code, 0) << listed.err;
  EXPECT_TRUE(contains(listed.out, "concert_id")) << listed.out;
  auto nothing_named = cli.resv({"warmup"});
  EXPECT_EQ(nothing_named.code, 2);
  EXPECT_TRUE(contains(nothing_named.err, "--opening-within")) << nothing_named.err;

  // The seed's sales opened when it ran: nothing opens in the next 30 minutes.
  auto quiet = cli.resv({"warmup", "--opening-within", "30m", "--json"});
  EXPECT_EQ(quiet.code, 0) << quiet.err;
  EXPECT_EQ(parse_or_null(quiet.out)["concertIds"], json::array()) << quiet.out;
  EXPECT_TRUE(contains(quiet.err, "nothing to warm")) << quiet.err;

  db.exec("UPDATE schedules SET sales_open_at = now() + interval '10 minutes' WHERE id = " + str(s.schedule_id));
  EXPECT_EQ(parse_or_null(cli.resv({"warmup", "--opening-within", "5m", "--json"}).out)["concertIds"], json::array())
      << "ten minutes away is not within five";
  // Both servers named by a list of admin URLs instead of the state directory.
  const std::string urls = "http://127.0.0.1:" + str(cli.admin_port) + ",http://127.0.0.1:" + str(cli.admin_port + 1);
  auto opening = cli.resv({"warmup", "--opening-within", "30m", "--admin-url", urls, "--json"});
  ASSERT_EQ(opening.code, 0) << opening.err;
  j = parse_or_null(opening.out);
  EXPECT_EQ(j["concertIds"], json::array({s.concert_id})) << opening.out;
  EXPECT_EQ(j["servers"].size(), 2u) << opening.out;
  const int64_t window = j["windowSeconds"].get<int64_t>();
  EXPECT_GE(window, 10 * 60 + 15 * 60 - 5) << "warm until 15 minutes after the opening";
  EXPECT_LE(window, 10 * 60 + 15 * 60 + 1);
  auto verified = cli.resv({"warmup", "--opening-within", "30m", "--verify", "--json"});
  EXPECT_EQ(verified.code, 0) << verified.out << verified.err;
  auto bad_url = cli.resv({"warmup", "--concert", str(s.concert_id), "--admin-url", urls + ",localhost"});
  EXPECT_EQ(bad_url.code, 2);
  EXPECT_TRUE(contains(bad_url.err, "'localhost'")) << bad_url.err;
}

TEST_F(CliWarmup, VerifyNamesAHoldMadeBehindTheServersBacksUntilTheyAreWarmedAgain) {
  // Passes 300 s apart (half the read cache's lifetime): the servers keep
  // what their warm-up saw.
  auto started = run_resv({"server", "start", "--instances", "2", "--port", str(cli.port), "--admin-port",
                           str(cli.admin_port), "--state-dir", cli.state().string(), "--db", db.url(), "--",
                           "--read-cache-ms", "600000"});
  ASSERT_EQ(started.code, 0) << started.err;
  ASSERT_EQ(cli.resv({"warmup", "--concert", str(s.concert_id)}).code, 0);
  const std::vector<std::string> verify{"warmup", "--concert", str(s.concert_id), "--verify", "--json"};
  ASSERT_EQ(cli.resv(verify).code, 0);

  db.exec("SELECT resv_hold_seats(" + str(s.first_user_id) + ", " + str(s.schedule_id) + ", ARRAY[" +
          str(s.seat_ids[0]) + "::bigint])");
  db.exec("SELECT resv_hold_pool(" + str(s.first_user_id + 1) + ", " + str(s.schedule_id) + ", " + str(pool) + ", 2)");
  auto behind = cli.resv(verify);
  EXPECT_EQ(behind.code, 4) << behind.out << behind.err;
  auto j = parse_or_null(behind.out);
  ASSERT_EQ(j["findings"].size(), 2u) << behind.out;
  for (const auto& f : j["findings"]) {
    EXPECT_EQ(f["state"], "mismatch") << f;
    EXPECT_EQ(f["problem"], "knows 0 seats taken, 1 pools with 2 units left; the database 1, 1 with 0") << f;
  }

  ASSERT_EQ(cli.resv({"warmup", "--concert", str(s.concert_id)}).code, 0);
  auto again = cli.resv(verify);
  EXPECT_EQ(again.code, 0) << again.out << again.err;
}

// A database restarted overnight: its shared buffers empty. A warm-up loads
// every block of the hot relations again; with the servers still warm,
// --verify names the database as the cold part.
TEST(CliWarmupDatabase, AfterADatabaseRestartWarmupMakesTheHotRelationsResidentAgainAndVerifyNamesItCold) {
  PrivateCluster pg;
  ASSERT_EQ(run_resv({"db", "migrate", "--db", pg.url()}).code, 0);
  ASSERT_EQ(run_resv({"seed", "concert", "--seats", "20000", "--users", "2000", "--db", pg.url()}).code, 0);
  ServerCli cli(pg.url(), 1);
  ASSERT_EQ(cli.start().code, 0);
  ASSERT_EQ(cli.resv({"warmup", "--concert", "1"}).code, 0);
  const std::vector<std::string> verify{"warmup", "--concert", "1", "--verify", "--json"};
  ASSERT_EQ(cli.resv(verify).code, 0);

  // The servers stopped first: nothing reads the seats between the restart
  // and the warm-up (a warm server's passes would).
  ASSERT_EQ(cli.resv({"server", "stop"}).code, 0);
  pg.pause();
  pg.resume();
  ASSERT_EQ(cli.start().code, 0);
  auto warm = cli.resv({"warmup", "--concert", "1", "--json"});
  ASSERT_EQ(warm.code, 0) << warm.err;
  const auto d = parse_or_null(warm.out)["database"];
  const int64_t blocks = d["blocks"].get<int64_t>();
  EXPECT_GT(blocks, 100) << "20,000 seats and their reservations' tables: " << d;
  EXPECT_LT(d["cachedBefore"].get<int64_t>() * 2, blocks) << "the restart emptied shared buffers: " << d;
  EXPECT_EQ(d["cachedAfter"].get<int64_t>(), blocks) << "every block resident again";
  EXPECT_EQ(cli.resv(verify).code, 0);

  // Restarted under a warm server: only the database is cold (the server's
  // passes read its seat maps again, not the users, payments or other indexes).
  pg.pause();
  pg.resume();
  // A pass that ran while the database was down failed, and --verify says so
  // until the next pass has succeeded.
  CliRun cold;
  ASSERT_TRUE(eventually([&] {
    cold = cli.resv(verify);
    return !contains(cold.out, "\"failing\"");
  }, 30)) << cold.out;
  EXPECT_EQ(cold.code, 4) << cold.out << cold.err;
  auto j = parse_or_null(cold.out);
  ASSERT_EQ(j["findings"].size(), 1u) << cold.out;
  EXPECT_EQ(j["findings"][0]["where"], "database");
  EXPECT_EQ(j["findings"][0]["state"], "cold");
}
}  // namespace
