// `resv seed` through the real binary on databases of the shared throwaway
// cluster: output and exit-code conventions, reset and refusal, --to-files,
// a seed killed with SIGKILL, and the seeded data through a real resv-server.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.h"
#include "e2e_util.h"
#include "ops/seed.h"
#include "test_db.h"

namespace {

namespace fs = std::filesystem;
using namespace resv::e2e;
using resv::test::TestDatabase;

const std::vector<std::string> kTables = {"concerts", "schedules", "seats", "pools", "pool_units", "users"};

std::map<std::string, int64_t> counts(const TestDatabase& db) {
  std::map<std::string, int64_t> out;
  for (const auto& t : kTables) out[t] = db.count("SELECT count(*) FROM " + t);
  return out;
}

std::map<std::string, int64_t> plan_counts(const resv::SeedSpec& spec) {
  std::map<std::string, int64_t> out;
  for (const auto& t : resv::seed_plan(spec)) out[t.name] = t.rows;
  return out;
}

const std::map<std::string, int64_t> kEmpty = {{"concerts", 0}, {"schedules", 0}, {"seats", 0},
                                               {"pools", 0},    {"pool_units", 0}, {"users", 0}};

resv::SeedSpec profile(const std::string& name, uint64_t seed = resv::kDefaultSeed) {
  auto p = resv::seed_profile(name);
  if (!p.ok()) throw std::runtime_error(p.status().message());
  auto s = p.value();
  s.seed = seed;
  return s;
}

// The deterministic columns of the seeded tables and of what refers to them
// (not the times: they are relative to the moment of seeding).
std::string checksum(const TestDatabase& db) {
  auto md5 = [&db](const std::string& table, const std::string& columns, const std::string& order = "id") {
    return db.scalar("SELECT md5(coalesce(string_agg(concat_ws(',', " + columns + "), ';' ORDER BY " + order +
                     "), '')) FROM " + table);
  };
  return md5("concerts", "id, name, venue") + md5("schedules", "id, concert_id, max_seats_per_user, hold_seconds") +
         md5("seats", "id, schedule_id, label, grade, price, reservation_id") +
         md5("pools", "id, schedule_id, name, kind, capacity, price, max_party, max_per_user") +
         md5("pool_units", "pool_id, unit_no, reservation_id", "pool_id, unit_no") + md5("users", "id, name, balance") +
         md5("reservations", "id, user_id, schedule_id, amount, status") + md5("payments", "id, reservation_id, amount");
}

// Each test: a fresh database and a state directory of its own, with a clean
// configuration (no config file, the database given by RESV_DATABASE_URL).
class CliSeed : public ::testing::Test {
 protected:
  CliSeed() {
    char tmpl[] = "/tmp/resv-seed-test-XXXXXX";
    state_ = ::mkdtemp(tmpl);
  }
  ~CliSeed() override {
    std::error_code ec;
    fs::remove_all(state_, ec);
  }

  std::map<std::string, std::string> env(const std::string& database_url) const {
    return {{"RESV_DATABASE_URL", database_url},
            {"RESV_STATE_DIR", state_},
            {"XDG_CONFIG_HOME", state_ + "/config"},
            {"RESV_CONFIG", ""},
            {"NO_COLOR", "1"}};
  }
  // `resv seed ARGS...` on this test's database.
  CliRun seed(std::vector<std::string> args) const { return seed_on(db.url(), std::move(args)); }
  CliRun seed_on(const std::string& url, std::vector<std::string> args) const {
    args.insert(args.begin(), "seed");
    return run_resv(args, env(url));
  }

  // Starts `resv seed ARGS...` as a process of its own (stdin and stdout
  // /dev/null, stderr to err_path()); its pid, or -1.
  pid_t start_seed(const std::vector<std::string>& args) const {
    std::vector<std::string> all{"seed"};
    all.insert(all.end(), args.begin(), args.end());
    return spawn_resv(all, env(db.url()), "/dev/null", err_path());
  }
  std::string err_path() const { return state_ + "/seed.err"; }

  // Waits until PostgreSQL has taken some users from the seed `pid` started;
  // false (the process reaped) if it ended first or never got there.
  bool wait_until_loading_users(pid_t pid) const {
    pqxx::connection watch(db.url());
    bool exited = false;
    bool loading = eventually(
        [&] {
          int status = 0;
          if (::waitpid(pid, &status, WNOHANG) == pid) return exited = true;
          pqxx::nontransaction tx(watch);
          return tx.exec("SELECT count(*) FROM pg_stat_progress_copy p JOIN pg_class c ON c.oid = p.relid"
                         " WHERE p.datname = current_database() AND c.relname = 'users'"
                         " AND p.tuples_processed > 50000")[0][0]
                     .as<int64_t>() > 0;
        },
        120, 10);
    if (exited) ADD_FAILURE() << "the seed ended before it could be interrupted";
    if (!loading && !exited) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    return loading && !exited;
  }

  // Sessions on this test's database other than the one asking.
  int64_t other_sessions() const {
    return db.count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND backend_type = 'client backend'");
  }

  TestDatabase db;
  std::string state_;
};

// ---- what it loads and prints --------------------------------------------------

TEST_F(CliSeed, ConcertProfileLoadsItsRowsAndPrintsTheJsonSchema) {
  auto r = seed({"concert", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << "stdout holds only the JSON document: " << r.out;
  EXPECT_EQ(j.value("profile", ""), "concert");
  EXPECT_EQ(j.value("seed", uint64_t{0}), resv::kDefaultSeed);
  EXPECT_EQ(j.value("reset", true), false);
  EXPECT_EQ(j.value("rows", int64_t{0}), 1 + 1 + 1000 + 10000);
  ASSERT_TRUE(j.contains("seconds") && j["seconds"].is_number()) << j.dump();
  EXPECT_GT(j["seconds"].get<double>(), 0);
  ASSERT_TRUE(j.contains("rowsPerSecond") && j["rowsPerSecond"].is_number()) << j.dump();
  EXPECT_GT(j["rowsPerSecond"].get<double>(), 0);
  ASSERT_TRUE(j.contains("tables") && j["tables"].is_array()) << j.dump();
  std::map<std::string, int64_t> printed;
  for (const auto& t : j["tables"]) printed[t.value("table", "?")] = t.value("rows", int64_t{-1});
  EXPECT_EQ(printed, plan_counts(profile("concert")));

  EXPECT_EQ(counts(db), (std::map<std::string, int64_t>{{"concerts", 1}, {"schedules", 1}, {"seats", 1000},
                                                        {"pools", 0}, {"pool_units", 0}, {"users", 10000}}));
  EXPECT_EQ(db.scalar("SELECT concat_ws(',', profile, seed) FROM seed_runs"), "concert,20261121");
  EXPECT_TRUE(contains(r.err, "seed 20261121")) << "the seed is reported on stderr: " << r.err;
}

TEST_F(CliSeed, ExplicitSizesWithoutAProfileDescribeTheWholeSet) {
  auto r = seed({"--concerts", "2", "--schedules", "2", "--seats", "10", "--pools", "1", "--capacity", "5", "--users",
                 "3", "--seed", "7"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(counts(db), (std::map<std::string, int64_t>{{"concerts", 2}, {"schedules", 4}, {"seats", 10},
                                                        {"pools", 4}, {"pool_units", 20}, {"users", 3}}));
  EXPECT_EQ(db.scalar("SELECT string_agg(n::text, ',' ORDER BY schedule_id) FROM"
                      " (SELECT schedule_id, count(*) n FROM seats GROUP BY schedule_id) s"),
            "3,3,2,2")
      << "--seats in total, spread over every schedule";
  EXPECT_EQ(db.scalar("SELECT concat_ws(',', profile, seed) FROM seed_runs"), "custom,7");
  EXPECT_TRUE(contains(r.err, "seed 7")) << r.err;
  EXPECT_FALSE(contains(r.out, "seed 7")) << "messages stay off stdout: " << r.out;
  EXPECT_TRUE(contains(r.out, "pool_units")) << "the table of loaded rows on stdout: " << r.out;
}

TEST_F(CliSeed, ScaleMultipliesConcertsSeatsAndUsers) {
  auto r = seed({"--seats", "100", "--users", "10", "--scale", "3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(counts(db), (std::map<std::string, int64_t>{{"concerts", 3}, {"schedules", 3}, {"seats", 300},
                                                        {"pools", 0}, {"pool_units", 0}, {"users", 30}}));
}

TEST_F(CliSeed, DryRunPrintsThePlanAndWritesNothing) {
  auto r = seed({"festival", "--dry-run"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "seats")) << r.out;
  EXPECT_TRUE(contains(r.out, "150,000")) << r.out;
  EXPECT_TRUE(contains(r.err, "nothing was written")) << r.err;

  auto j = seed({"coupon", "--dry-run", "--json"});
  ASSERT_EQ(j.code, 0) << j.err;
  auto doc = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << j.out;
  EXPECT_EQ(doc.value("dryRun", false), true);
  EXPECT_EQ(doc.value("profile", ""), "coupon");
  std::map<std::string, int64_t> printed;
  for (const auto& t : doc["tables"]) printed[t.value("table", "?")] = t.value("rows", int64_t{-1});
  EXPECT_EQ(printed, plan_counts(profile("coupon")));

  EXPECT_EQ(counts(db), kEmpty);
  EXPECT_EQ(db.count("SELECT count(*) FROM seed_runs"), 0);
}

// ---- existing data ------------------------------------------------------------------

TEST_F(CliSeed, SeedingOverDataWithoutResetExitsOneAndChangesNothing) {
  ASSERT_EQ(seed({"concert", "--seed", "1"}).code, 0);
  const std::string before = checksum(db);
  auto r = seed({"concert", "--seed", "2"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "--reset")) << "the hint names the way out: " << r.err;
  EXPECT_EQ(checksum(db), before);
  EXPECT_EQ(db.count("SELECT count(*) FROM seed_runs"), 1);
}

TEST_F(CliSeed, ResetWithoutATerminalOrYesExitsTwoAndChangesNothing) {
  ASSERT_EQ(seed({"concert", "--seed", "1"}).code, 0);
  const std::string before = checksum(db);
  auto r = seed({"concert", "--seed", "2", "--reset"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "--yes")) << r.err;
  EXPECT_EQ(checksum(db), before);
  EXPECT_EQ(db.count("SELECT count(*) FROM seed_runs"), 1);
}

TEST_F(CliSeed, ResetWithYesReplacesTheDataWithTheNewSeed) {
  ASSERT_EQ(seed({"concert", "--seed", "1"}).code, 0);
  db.exec("INSERT INTO users (name) VALUES ('added by hand')");
  const std::string before = checksum(db);

  auto r = seed({"concert", "--seed", "2", "--reset", "--yes", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j.value("reset", false), true);
  EXPECT_EQ(j.value("seed", uint64_t{0}), 2u);

  EXPECT_NE(checksum(db), before);
  EXPECT_EQ(counts(db), plan_counts(profile("concert")));
  EXPECT_EQ(db.count("SELECT count(*) FROM users WHERE name = 'added by hand'"), 0);
  EXPECT_EQ(db.scalar("SELECT concat_ws(E'\\t', id, schedule_id, label, grade, price) FROM seats WHERE id = 1"),
            resv::seed_row(profile("concert", 2), "seats", 0));
  EXPECT_EQ(db.scalar("SELECT concat_ws(E'\\t', id, name, balance) FROM users WHERE id = 1"),
            resv::seed_row(profile("concert", 2), "users", 0));
  EXPECT_EQ(db.count("INSERT INTO users (name) VALUES ('after') RETURNING id"), 10001)
      << "the id sequence continues after the seeded rows";
  EXPECT_EQ(db.count("SELECT count(*) FROM seed_runs"), 2);
}

TEST_F(CliSeed, AReservationStopsAResetUnlessForced) {
  ASSERT_EQ(seed({"concert", "--seed", "1"}).code, 0);
  auto held = json::parse(db.scalar("SELECT resv_hold_seats(1, 1, ARRAY[1, 2]::bigint[])"));
  ASSERT_EQ(held.value("ok", false), true) << held.dump();
  const std::string before = checksum(db);

  auto refused = seed({"concert", "--seed", "2", "--reset", "--yes"});
  EXPECT_EQ(refused.code, 1) << refused.err;
  EXPECT_TRUE(contains(refused.err, "--force")) << refused.err;
  EXPECT_EQ(checksum(db), before);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 1);

  auto forced = seed({"concert", "--seed", "2", "--reset", "--yes", "--force"});
  ASSERT_EQ(forced.code, 0) << forced.err;
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 0);
  EXPECT_EQ(counts(db), plan_counts(profile("concert")));
}

// ---- refused before loading -----------------------------------------------------------

TEST_F(CliSeed, BadSizesAndUnknownProfilesExitTwoWithAMessage) {
  struct Case {
    std::vector<std::string> args;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {{"--seats", "-1"}, "seats"},
      {{"--seats=-1"}, "seats"},
      {{"--seats", "10", "--schedules", "0"}, "schedules"},
      {{"concert", "--users", "-5"}, "users"},
      {{"opera"}, "opera"},
      {{}, "profile"},
      {{"concert", "-j", "0"}, "jobs"},
      {{"--pools", "1", "--kind", "BOGUS"}, "BOGUS"},
  };
  for (const auto& c : cases) {
    auto r = seed(c.args);
    std::string shown;
    for (const auto& a : c.args) shown += a + " ";
    EXPECT_EQ(r.code, 2) << shown << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, c.mentions)) << shown << "\n" << r.err;
    EXPECT_EQ(r.out, "") << shown;
  }
  EXPECT_EQ(counts(db), kEmpty);
  EXPECT_EQ(db.count("SELECT count(*) FROM seed_runs"), 0);
}

// A size beyond an int must not wrap around into a small or negative one.
TEST_F(CliSeed, APartySizeBeyondAnIntIsRefusedNotTruncated) {
  auto r = seed({"--pools", "1", "--capacity", "2", "--party", "4294967297"});
  EXPECT_EQ(r.code, 2) << r.err;
  auto negative = seed({"--pools", "1", "--capacity", "2", "--party", "3000000000"});
  EXPECT_EQ(negative.code, 2) << negative.err;
  EXPECT_EQ(db.count("SELECT count(*) FROM pools"), 0) << db.scalar("SELECT max_party FROM pools");
}

TEST_F(CliSeed, UnreachableDatabaseExitsThree) {
  auto r = seed_on(unreachable_url(), {"concert"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_TRUE(contains(r.err, "resv: error:")) << r.err;
  EXPECT_EQ(r.out, "");
}

// ---- --to-files ------------------------------------------------------------------------

TEST_F(CliSeed, ToFilesWritesTheRowsSeedRowDescribesAndTouchesNoDatabase) {
  resv::SeedSpec spec;  // what the flags below describe
  spec.concerts = 2;
  spec.schedules_per_concert = 2;
  spec.seats = 50;
  spec.pools_per_schedule = 1;
  spec.pool_capacity = 3;
  spec.users = 20;
  spec.seed = 5;
  const std::vector<std::string> args = {"--concerts", "2", "--schedules", "2", "--seats", "50", "--pools", "1",
                                         "--capacity", "3", "--users", "20", "--seed", "5", "--to-files"};
  const std::string dir = state_ + "/files";

  // Schedules carry times relative to now: a line may match the rows as of
  // just before or just after the run (an hour may turn in between).
  std::map<std::string, std::vector<std::string>> before, after;
  auto expected = [&spec](std::map<std::string, std::vector<std::string>>& out) {
    for (const auto& t : resv::seed_plan(spec))
      for (int64_t i = 0; i < t.rows && t.name != "pool_units"; ++i) out[t.name].push_back(resv::seed_row(spec, t.name, i));
  };
  expected(before);
  auto args_here = args;
  args_here.push_back(dir);
  auto r = seed(args_here);
  expected(after);
  ASSERT_EQ(r.code, 0) << r.err;

  for (const std::string table : {"concerts", "schedules", "seats", "pools", "users"}) {
    auto path = fs::path(dir) / (table + ".copy");
    ASSERT_TRUE(fs::exists(path)) << path;
    auto lines = lines_of(read_file(path));
    ASSERT_EQ(lines.size(), before[table].size()) << table;
    for (size_t i = 0; i < lines.size(); ++i)
      EXPECT_TRUE(lines[i] == before[table][i] || lines[i] == after[table][i])
          << table << " line " << i + 1 << ": " << lines[i] << "\nexpected: " << after[table][i];
  }
  EXPECT_EQ(read_file(fs::path(dir) / "seats.copy").back(), '\n');
  EXPECT_FALSE(fs::exists(fs::path(dir) / "pool_units.copy")) << "the pools' trigger makes the units";
  EXPECT_EQ(counts(db), kEmpty);
  EXPECT_EQ(db.count("SELECT count(*) FROM seed_runs"), 0);

  // Not even a connection: with no database to reach, it works all the same.
  auto elsewhere = args;
  elsewhere.push_back(state_ + "/files2");
  auto offline = seed_on(unreachable_url(), elsewhere);
  EXPECT_EQ(offline.code, 0) << offline.err;
  EXPECT_EQ(read_file(fs::path(state_) / "files2" / "users.copy"), read_file(fs::path(dir) / "users.copy"));
}

// ---- killed in the middle ---------------------------------------------------------------

TEST_F(CliSeed, KilledMidSeedLeavesTheOldDataAndTheNextSeedWorks) {
  ASSERT_EQ(seed({"concert", "--seed", "1"}).code, 0);
  const std::string before = checksum(db);

  pid_t pid = start_seed({"--users", "3000000", "--reset", "--yes", "-j", "2"});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(wait_until_loading_users(pid)) << read_file(err_path());
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  // Its backend notices that the client is gone and rolls back.
  EXPECT_TRUE(eventually([&] { return other_sessions() == 0; }, 60)) << "the killed seed's backend is still there";
  EXPECT_EQ(checksum(db), before);
  EXPECT_EQ(counts(db), plan_counts(profile("concert")));
  EXPECT_EQ(db.count("SELECT count(*) FROM seed_runs"), 1);

  auto next = seed({"restaurant", "--reset", "--yes"});
  ASSERT_EQ(next.code, 0) << next.err;
  EXPECT_EQ(counts(db), plan_counts(profile("restaurant")));
}

TEST_F(CliSeed, CtrlCMidSeedExitsOneAndLeavesTheOldData) {
  ASSERT_EQ(seed({"concert", "--seed", "1"}).code, 0);
  const std::string before = checksum(db);

  pid_t pid = start_seed({"--users", "3000000", "--reset", "--yes", "-j", "2"});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(wait_until_loading_users(pid)) << read_file(err_path());
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "SIGINT is handled: the seed rolls back and exits";
  EXPECT_EQ(WEXITSTATUS(status), 1);
  std::string err = read_file(err_path());
  EXPECT_TRUE(contains(err, "interrupted")) << err;
  EXPECT_TRUE(contains(err, "nothing was changed")) << err;

  EXPECT_EQ(checksum(db), before);
  EXPECT_EQ(counts(db), plan_counts(profile("concert")));
  EXPECT_EQ(db.count("SELECT count(*) FROM seed_runs"), 1);
}

// ---- through a real server ---------------------------------------------------------------

TEST_F(CliSeed, SeededSeatsCanBeReservedAndPaidThroughARealServer) {
  ASSERT_EQ(seed({"concert"}).code, 0);
  // Reservation ids restart too (the server's warm-up, which holds and rolls
  // back on every new connection, draws a few of them before the first buyer).
  EXPECT_EQ(db.scalar("SELECT last_value || ' ' || is_called FROM reservations_id_seq"), "1 false");
  ServerProcess server(db.url());
  HttpClient http("127.0.0.1", server.port());

  auto seats = http.get("/api/schedules/1/seats");
  ASSERT_EQ(seats.status, 200) << seats.body;
  EXPECT_EQ(json::parse(seats.body)["seats"].size(), 1000u);

  const int64_t balance = db.count("SELECT balance FROM users WHERE id = 42");
  const int64_t amount = db.count("SELECT sum(price) FROM seats WHERE id IN (7, 8)");
  auto held = http.post("/api/reservations", seat_body(42, 1, {7, 8}));
  ASSERT_EQ(held.status, 201) << held.body;
  int64_t res = json::parse(held.body).value("reservationId", int64_t{0});
  ASSERT_GT(res, 0);

  auto paid = http.post("/api/reservations/" + str(res) + "/payment", json{{"userId", 42}}.dump());
  ASSERT_EQ(paid.status, 200) << paid.body;
  EXPECT_EQ(json::parse(paid.body).value("status", ""), "CONFIRMED");
  EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = 42"), balance - amount);
  EXPECT_EQ(db.count("SELECT count(*) FROM payments WHERE reservation_id = " + str(res)), 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id = " + str(res)), 2);
  EXPECT_EQ(server.terminate(), 0);
}

TEST_F(CliSeed, ARunningServerAnswersFromTheNewDataAfterAReseed) {
  ASSERT_EQ(seed({"concert", "--seed", "1"}).code, 0);
  // Caches that outlive the test: only the reseed's notification can clear them.
  ServerProcess server(db.url(), {"--filter-ttl-ms", "600000", "--read-cache-ms", "600000"});
  HttpClient http("127.0.0.1", server.port());
  auto prices = [&http] {
    auto map = json::parse(http.get("/api/schedules/1/seats").body, nullptr, false);
    std::string out;
    if (!map.is_object() || !map.contains("seats")) return out;
    for (const auto& s : map["seats"]) out += std::to_string(s.value("price", int64_t{-1})) + ",";
    return out;
  };
  auto first_seat_status = [&http] {
    auto map = json::parse(http.get("/api/schedules/1/seats").body, nullptr, false);
    return map.is_object() && map.contains("seats") ? map["seats"][0].value("status", "") : "";
  };
  auto db_prices = [this] { return db.scalar("SELECT string_agg(price::text, ',' ORDER BY id) || ',' FROM seats"); };

  const std::string old_prices = prices();
  ASSERT_EQ(old_prices, db_prices());
  ASSERT_EQ(http.post("/api/reservations", seat_body(1, 1, {1})).status, 201);
  auto taken = http.post("/api/reservations", seat_body(2, 1, {1}));
  ASSERT_EQ(taken.status, 409) << taken.body;
  ASSERT_EQ(error_code(taken), "SEAT_TAKEN");
  // Changed behind the server's back (no notification), the data does not
  // show through: the server answers from memory until it is told.
  db.exec("UPDATE seats SET price = price + 1 WHERE id = 2");
  db.exec("UPDATE seats SET reservation_id = NULL WHERE id = 1");
  ASSERT_EQ(prices(), old_prices) << "the seat map is cached";
  ASSERT_EQ(error_code(http.post("/api/reservations", seat_body(3, 1, {1}))), "SEAT_TAKEN")
      << "the server remembers the seat as taken";

  auto reseed = seed({"concert", "--seed", "2", "--reset", "--yes", "--force"});
  ASSERT_EQ(reseed.code, 0) << reseed.err;
  const std::string new_prices = db_prices();
  ASSERT_NE(new_prices, old_prices) << "seeds 1 and 2 price the concert differently";

  // The notification arrives asynchronously; the caches' own lifetimes are
  // ten minutes, so only it can make the new data appear.
  EXPECT_TRUE(eventually([&] { return prices() == new_prices; }, 30, 50)) << prices();
  EXPECT_EQ(first_seat_status(), "AVAILABLE");
  auto again = http.post("/api/reservations", seat_body(2, 1, {1}));
  EXPECT_EQ(again.status, 201) << "the seat answered SEAT_TAKEN before the reseed is free in the new data: "
                               << again.body;
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE id = 1 AND reservation_id IS NOT NULL"), 1);
  EXPECT_EQ(server.terminate(), 0);
}

}  // namespace
