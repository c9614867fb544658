// seed(): the bulk loader of core/seed.h against a real PostgreSQL: counts,
// determinism, reset, refusal, and that an interrupted or failed seed
// leaves the database exactly as it was.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <tuple>
#include <vector>

#include "ops/seed.h"
#include "test_db.h"

namespace {

using resv::ErrorCode;
using resv::SeedOptions;
using resv::SeedSpec;
using resv::SeedTable;
using resv::test::TestDatabase;
using nlohmann::json;

const std::vector<std::string> kTables = {"concerts", "schedules", "seats", "pools", "pool_units", "users"};

int64_t rows_of(const std::vector<SeedTable>& tables, const std::string& name) {
  for (const auto& t : tables)
    if (t.name == name) return t.rows;
  return -1;
}

std::map<std::string, int64_t> counts(const TestDatabase& db) {
  std::map<std::string, int64_t> out;
  for (const auto& t : kTables) out[t] = db.count("SELECT count(*) FROM " + t);
  return out;
}

std::map<std::string, int64_t> plan_counts(const SeedSpec& spec) {
  std::map<std::string, int64_t> out;
  for (const auto& t : resv::seed_plan(spec)) out[t.name] = t.rows;
  return out;
}

// md5 of `columns` of every row of `table` in `order`: what the data is,
// without the times (they are relative to the moment of seeding).
std::string table_md5(const TestDatabase& db, const std::string& table, const std::string& columns,
                      const std::string& order = "id") {
  return db.scalar("SELECT md5(coalesce(string_agg(concat_ws(',', " + columns + "), ';' ORDER BY " + order +
                   "), '')) FROM " + table);
}

// Every deterministic column of every seeded table (and what refers to it).
std::string checksum(const TestDatabase& db) {
  return "concerts " + table_md5(db, "concerts", "id, name, venue") +
         " schedules " + table_md5(db, "schedules", "id, concert_id, max_seats_per_user, hold_seconds") +
         " seats " + table_md5(db, "seats", "id, schedule_id, label, grade, price, reservation_id") +
         " pools " + table_md5(db, "pools", "id, schedule_id, name, kind, capacity, price, min_party, max_party, max_per_user") +
         " pool_units " + table_md5(db, "pool_units", "pool_id, unit_no, reservation_id", "pool_id, unit_no") +
         " users " + table_md5(db, "users", "id, name, balance") +
         " reservations " + table_md5(db, "reservations", "id, user_id, schedule_id, quantity, amount, status") +
         " payments " + table_md5(db, "payments", "id, reservation_id, user_id, amount, status");
}

// The schema's secondary indexes and constraints, as PostgreSQL prints them.
std::string schema_shape(const TestDatabase& db) {
  return db.scalar("SELECT string_agg(indexdef, E'\\n' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public'") +
         "\n" +
         db.scalar("SELECT string_agg(conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid),"
                   " E'\\n' ORDER BY conrelid::regclass::text, conname) FROM pg_constraint"
                   " WHERE connamespace = 'public'::regnamespace");
}

SeedSpec profile(const std::string& name, uint64_t seed = resv::kDefaultSeed) {
  auto p = resv::seed_profile(name);
  if (!p.ok()) throw std::runtime_error(p.status().message());
  SeedSpec s = p.value();
  s.seed = seed;
  return s;
}

// A small set with every table in it: 2 concerts x 3 schedules, 1,000 seats,
// two pools of 5 per schedule, 300 users.
SeedSpec small(uint64_t seed = resv::kDefaultSeed) {
  SeedSpec s;
  s.concerts = 2;
  s.schedules_per_concert = 3;
  s.seats = 1000;
  s.pools_per_schedule = 2;
  s.pool_capacity = 5;
  s.pool_max_party = 2;
  s.pool_max_per_user = 2;
  s.users = 300;
  s.seed = seed;
  return s;
}

std::string code_of(const resv::Result<resv::SeedReport>& r) {
  return r.ok() ? "OK" : std::string(resv::code_name(r.status().code())) + ": " + r.status().message();
}

// Seeds `spec` into `db` (as a test precondition: throws on failure).
void seed_or_throw(const TestDatabase& db, const SeedSpec& spec, SeedOptions o = {}) {
  auto r = resv::seed(db.url(), spec, o);
  if (!r.ok()) throw std::runtime_error("seeding failed: " + code_of(r));
}

// ---- counts -------------------------------------------------------------------

class SeedProfile : public ::testing::TestWithParam<std::string> {};

TEST_P(SeedProfile, LoadsTheRowsOfItsPlanAndRecordsTheRun) {
  TestDatabase db;
  SeedSpec spec = profile(GetParam());
  auto r = resv::seed(db.url(), spec, {});
  ASSERT_TRUE(r.ok()) << code_of(r);

  auto plan = plan_counts(spec);
  EXPECT_EQ(counts(db), plan);
  for (const auto& t : kTables) EXPECT_EQ(rows_of(r->tables, t), plan[t]) << t;
  EXPECT_GT(r->seconds, 0);

  EXPECT_EQ(db.count("SELECT count(*) FROM seed_runs"), 1);
  EXPECT_EQ(db.scalar("SELECT profile FROM seed_runs"), GetParam());
  EXPECT_EQ(db.count("SELECT seed FROM seed_runs"), static_cast<int64_t>(resv::kDefaultSeed));
  auto recorded = json::parse(db.scalar("SELECT row_counts FROM seed_runs"));
  for (const auto& t : kTables) EXPECT_EQ(recorded.value(t, int64_t{-1}), plan[t]) << t;
  auto recorded_spec = json::parse(db.scalar("SELECT spec FROM seed_runs"));
  EXPECT_EQ(recorded_spec.value("users", int64_t{-1}), spec.users);
  EXPECT_EQ(recorded_spec.value("seats", int64_t{-1}), spec.seats);
}

INSTANTIATE_TEST_SUITE_P(FieldReports, SeedProfile, ::testing::Values("concert", "festival", "restaurant", "coupon"));

TEST(Seed, ProfilesHaveTheFieldReportsSizes) {
  // The numbers, against the database rather than the plan.
  struct Expected {
    std::string profile;
    std::map<std::string, int64_t> rows;
  };
  const std::vector<Expected> expected = {
      {"concert", {{"concerts", 1}, {"schedules", 1}, {"seats", 1000}, {"pools", 0}, {"pool_units", 0}, {"users", 10000}}},
      {"restaurant", {{"concerts", 1}, {"schedules", 1}, {"seats", 0}, {"pools", 1}, {"pool_units", 40}, {"users", 2000}}},
  };
  for (const auto& e : expected) {
    TestDatabase db;
    seed_or_throw(db, profile(e.profile));
    EXPECT_EQ(counts(db), e.rows) << e.profile;
  }
  // festival and coupon: their plans (loaded by SeedProfile above).
  EXPECT_EQ(plan_counts(profile("festival")),
            (std::map<std::string, int64_t>{{"concerts", 10}, {"schedules", 30}, {"seats", 150000}, {"pools", 0},
                                            {"pool_units", 0}, {"users", 50000}}));
  EXPECT_EQ(plan_counts(profile("coupon")),
            (std::map<std::string, int64_t>{{"concerts", 1}, {"schedules", 1}, {"seats", 0}, {"pools", 1},
                                            {"pool_units", 100000}, {"users", 150000}}));
}

TEST(Seed, RestaurantAndCouponPoolsHaveTheirLimits) {
  TestDatabase restaurant;
  seed_or_throw(restaurant, profile("restaurant"));
  EXPECT_EQ(restaurant.scalar("SELECT concat_ws(',', kind, capacity, max_party) FROM pools"), "RESTAURANT_SLOT,40,4");

  TestDatabase coupon;
  seed_or_throw(coupon, profile("coupon"));
  EXPECT_EQ(coupon.scalar("SELECT concat_ws(',', kind, capacity, max_per_user) FROM pools"), "COUPON,100000,1");
  EXPECT_EQ(coupon.count("SELECT count(*) FROM pool_units WHERE pool_id = 1 AND reservation_id IS NULL"), 100000);
}

TEST(Seed, ExplicitSizesSpreadTheSeatsOverEverySchedule) {
  TestDatabase db;
  SeedSpec spec = small();  // 1,000 seats over 6 schedules: 4 of 167, 2 of 166
  seed_or_throw(db, spec);
  EXPECT_EQ(counts(db), plan_counts(spec));
  EXPECT_EQ(db.count("SELECT count(*) FROM schedules"), 6) << "--schedules is per concert";
  EXPECT_EQ(db.scalar("SELECT string_agg(concert_id::text, ',' ORDER BY id) FROM schedules"), "1,1,1,2,2,2");
  EXPECT_EQ(db.scalar("SELECT string_agg(n::text, ',' ORDER BY schedule_id) FROM"
                      " (SELECT schedule_id, count(*) n FROM seats GROUP BY schedule_id) s"),
            "167,167,167,167,166,166");
  EXPECT_EQ(db.count("SELECT count(*) FROM seats"), 1000) << "--seats counts seats in total";
  EXPECT_EQ(db.count("SELECT count(*) FROM pools"), 12) << "--pools is per schedule";
  EXPECT_EQ(db.count("SELECT count(DISTINCT schedule_id) FROM pools"), 6);
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units"), 60);
  EXPECT_EQ(db.count("SELECT count(*) FROM (SELECT schedule_id, label FROM seats GROUP BY 1, 2 HAVING count(*) > 1) d"), 0)
      << "seat labels are unique within a schedule";
}

TEST(Seed, ScaleMultipliesConcertsSeatsAndUsers) {
  TestDatabase db;
  SeedSpec spec = resv::scale_spec(profile("concert"), 3).value();
  seed_or_throw(db, spec);
  EXPECT_EQ(counts(db), (std::map<std::string, int64_t>{{"concerts", 3}, {"schedules", 3}, {"seats", 3000},
                                                        {"pools", 0}, {"pool_units", 0}, {"users", 30000}}));
  EXPECT_EQ(db.count("SELECT count(DISTINCT schedule_id) FROM seats"), 3) << "each copy of the event has its seats";
}

TEST(Seed, ReportsProgressForEveryTableFromZeroToItsTotal) {
  TestDatabase db;
  SeedSpec spec = small();
  spec.users = 40000;  // several chunks
  std::vector<std::tuple<std::string, int64_t, int64_t>> calls;
  SeedOptions o;
  o.progress = [&calls](const std::string& t, int64_t done, int64_t total) { calls.emplace_back(t, done, total); };
  seed_or_throw(db, spec, o);
  auto plan = plan_counts(spec);
  std::vector<std::string> began;
  for (size_t i = 0; i < calls.size(); ++i) {
    const auto& [table, done, total] = calls[i];
    EXPECT_EQ(total, plan[table]) << table;
    if (done == 0) began.push_back(table);
    if (i > 0 && std::get<0>(calls[i - 1]) == table) {
      EXPECT_GE(done, std::get<1>(calls[i - 1])) << table;
    }
  }
  EXPECT_EQ(began, (std::vector<std::string>{"concerts", "schedules", "seats", "pools", "users"}));
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), std::make_tuple(std::string("users"), int64_t{40000}, int64_t{40000}));
}

// ---- the data itself -------------------------------------------------------------

TEST(Seed, LoadedRowsAreTheRowsSeedRowDescribes) {
  TestDatabase db;
  SeedSpec spec = small(77);
  seed_or_throw(db, spec);
  auto row = [&db](const std::string& sql) { return db.scalar(sql); };
  for (int64_t i : {0, 1})
    EXPECT_EQ(row("SELECT concat_ws(E'\\t', id, name, venue) FROM concerts WHERE id = " + std::to_string(i + 1)),
              resv::seed_row(spec, "concerts", i));
  for (int64_t i : {0, 166, 167, 668, 999}) {
    EXPECT_EQ(row("SELECT concat_ws(E'\\t', id, schedule_id, label, grade, price) FROM seats WHERE id = " +
                  std::to_string(i + 1)),
              resv::seed_row(spec, "seats", i));
  }
  for (int64_t i : {0, 11}) {
    EXPECT_EQ(row("SELECT concat_ws(E'\\t', id, schedule_id, name, kind, capacity, price, min_party, max_party,"
                  " max_per_user) FROM pools WHERE id = " + std::to_string(i + 1)),
              resv::seed_row(spec, "pools", i));
  }
  for (int64_t i : {0, 150, 299}) {
    EXPECT_EQ(row("SELECT concat_ws(E'\\t', id, name, balance) FROM users WHERE id = " + std::to_string(i + 1)),
              resv::seed_row(spec, "users", i));
  }
}

TEST(Seed, SameSeedGivesTheSameDataInAnotherDatabase) {
  TestDatabase first, second;
  seed_or_throw(first, small(4242));
  seed_or_throw(second, small(4242));
  EXPECT_EQ(checksum(first), checksum(second));
  EXPECT_GT(first.count("SELECT count(DISTINCT price) FROM seats"), 1) << "prices vary";
}

TEST(Seed, DifferentSeedGivesDifferentPricesAndBalances) {
  TestDatabase first, second;
  seed_or_throw(first, small(1));
  seed_or_throw(second, small(2));
  EXPECT_NE(table_md5(first, "seats", "id, price"), table_md5(second, "seats", "id, price"));
  EXPECT_NE(table_md5(first, "users", "id, balance"), table_md5(second, "users", "id, balance"));
  EXPECT_EQ(table_md5(first, "users", "id, name"), table_md5(second, "users", "id, name")) << "ids and names stay";
}

TEST(Seed, TheNumberOfGeneratorThreadsDoesNotChangeTheData) {
  SeedSpec spec = small(99);
  spec.seats = 60000;  // several 16,384-row chunks per table
  spec.users = 70000;
  TestDatabase one, four;
  SeedOptions o1, o4;
  o1.jobs = 1;
  o4.jobs = 4;
  seed_or_throw(one, spec, o1);
  seed_or_throw(four, spec, o4);
  EXPECT_EQ(checksum(one), checksum(four));
  EXPECT_EQ(counts(four), plan_counts(spec));
}

TEST(Seed, RestoresEveryIndexAndConstraintItDropsForTheLoad) {
  TestDatabase db;
  std::string before = schema_shape(db);
  seed_or_throw(db, small());
  EXPECT_EQ(schema_shape(db), before);
  EXPECT_EQ(db.count("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                     " WHERE NOT i.indisvalid AND c.relnamespace = 'public'::regnamespace"),
            0);
}

// ---- existing data ---------------------------------------------------------------

TEST(Seed, SeedingOverSeededDataWithoutResetIsAConflictAndChangesNothing) {
  TestDatabase db;
  seed_or_throw(db, small(1));
  std::string before = checksum(db);
  auto r = resv::seed(db.url(), small(2), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::Conflict) << code_of(r);
  EXPECT_EQ(checksum(db), before);
  EXPECT_EQ(db.count("SELECT count(*) FROM seed_runs"), 1);
}

TEST(Seed, SeedingOverUsersAloneWithoutResetIsAConflict) {
  TestDatabase db;
  db.exec("INSERT INTO users (name, balance) VALUES ('someone', 10)");
  auto r = resv::seed(db.url(), small(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::Conflict) << code_of(r);
  EXPECT_EQ(db.scalar("SELECT string_agg(name, ',') FROM users"), "someone");
  EXPECT_EQ(db.count("SELECT count(*) FROM concerts"), 0);
}

TEST(Seed, ResetReplacesTheDataAndIdsStartAtOneAgain) {
  TestDatabase db;
  SeedSpec big = small(1);
  big.users = 500;
  seed_or_throw(db, big);
  db.exec("INSERT INTO users (name) VALUES ('added by hand')");  // id 501

  SeedSpec spec = small(2);
  spec.users = 100;
  SeedOptions o;
  o.reset = true;
  auto r = resv::seed(db.url(), spec, o);
  ASSERT_TRUE(r.ok()) << code_of(r);

  EXPECT_EQ(counts(db), plan_counts(spec));
  EXPECT_EQ(db.scalar("SELECT concat_ws(',', min(id), max(id)) FROM users"), "1,100");
  EXPECT_EQ(db.count("SELECT count(*) FROM users WHERE name = 'added by hand'"), 0);
  TestDatabase fresh;
  seed_or_throw(fresh, spec);
  EXPECT_EQ(checksum(db), checksum(fresh)) << "a reset seed is the seed of an empty database";
  EXPECT_EQ(db.count("SELECT count(*) FROM seed_runs"), 2);
  EXPECT_EQ(db.count("SELECT seed FROM seed_runs ORDER BY id DESC LIMIT 1"), 2);
}

TEST(Seed, IdSequencesContinueAfterTheSeededRows) {
  TestDatabase db;
  seed_or_throw(db, small(1));
  SeedSpec spec = small(2);
  spec.users = 100;
  SeedOptions o;
  o.reset = true;
  seed_or_throw(db, spec, o);

  EXPECT_EQ(db.count("INSERT INTO users (name) VALUES ('new') RETURNING id"), 101);
  EXPECT_EQ(db.count("INSERT INTO concerts (name) VALUES ('new') RETURNING id"), 3);
  EXPECT_EQ(db.count("INSERT INTO schedules (concert_id, starts_at) VALUES (1, now() + interval '1 day') RETURNING id"), 7);
  EXPECT_EQ(db.count("INSERT INTO seats (schedule_id, label, grade, price) VALUES (7, 'Z1', 'S', 1) RETURNING id"), 1001);
  EXPECT_EQ(db.count("INSERT INTO pools (schedule_id, name, capacity) VALUES (7, 'new', 3) RETURNING id"), 13);
  // Reservations start again at 1, and a hold of a seeded seat works.
  auto held = json::parse(db.scalar("SELECT resv_hold_seats(1, 1, ARRAY[1, 2]::bigint[])"));
  EXPECT_EQ(held.value("ok", false), true) << held.dump();
  EXPECT_EQ(held.value("reservationId", int64_t{0}), 1) << held.dump();
}

TEST(Seed, ResetIsRefusedWhileAReservationExistsAndKeepsIt) {
  TestDatabase db;
  seed_or_throw(db, small(1));
  auto held = json::parse(db.scalar("SELECT resv_hold_seats(1, 1, ARRAY[1, 2]::bigint[])"));
  ASSERT_EQ(held.value("ok", false), true) << held.dump();
  std::string before = checksum(db);

  SeedOptions o;
  o.reset = true;
  auto r = resv::seed(db.url(), small(2), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::Conflict) << code_of(r);
  EXPECT_NE(r.status().message().find("reservation"), std::string::npos) << r.status().message();
  EXPECT_EQ(checksum(db), before);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE status = 'HELD'"), 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 2);
}

TEST(Seed, ResetIsRefusedWhileAPaymentExists) {
  TestDatabase db;
  seed_or_throw(db, small(1));
  auto held = json::parse(db.scalar("SELECT resv_hold_seats(1, 1, ARRAY[3]::bigint[])"));
  ASSERT_EQ(held.value("ok", false), true) << held.dump();
  auto paid = json::parse(db.scalar("SELECT resv_pay(" + std::to_string(held.value("reservationId", int64_t{0})) + ", 1)"));
  ASSERT_EQ(paid.value("ok", false), true) << paid.dump();
  std::string before = checksum(db);

  SeedOptions o;
  o.reset = true;
  auto r = resv::seed(db.url(), small(2), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::Conflict) << code_of(r);
  EXPECT_EQ(checksum(db), before);
  EXPECT_EQ(db.count("SELECT count(*) FROM payments"), 1);
}

TEST(Seed, ResetWithForceDeletesReservationsAndPayments) {
  TestDatabase db;
  seed_or_throw(db, small(1));
  auto held = json::parse(db.scalar("SELECT resv_hold_seats(1, 1, ARRAY[3]::bigint[])"));
  ASSERT_EQ(held.value("ok", false), true) << held.dump();
  ASSERT_EQ(json::parse(db.scalar("SELECT resv_pay(1, 1)")).value("ok", false), true);
  ASSERT_EQ(json::parse(db.scalar("SELECT resv_hold_seats(2, 1, ARRAY[4]::bigint[])")).value("ok", false), true);

  SeedOptions o;
  o.reset = true;
  o.force = true;
  auto r = resv::seed(db.url(), small(2), o);
  ASSERT_TRUE(r.ok()) << code_of(r);
  for (const char* t : {"reservations", "payments", "balance_ledger", "outbox", "idempotency_keys"})
    EXPECT_EQ(db.count(std::string("SELECT count(*) FROM ") + t), 0) << t;
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 0);
  TestDatabase fresh;
  seed_or_throw(fresh, small(2));
  EXPECT_EQ(checksum(db), checksum(fresh));
}

// ---- all or nothing ---------------------------------------------------------------

TEST(Seed, InterruptedSeedIsCancelledAndLeavesTheDatabaseAsItWas) {
  TestDatabase db;
  seed_or_throw(db, small(1));
  const std::string before = checksum(db), shape = schema_shape(db);
  const auto before_counts = counts(db);

  SeedSpec spec = small(2);
  spec.users = 200000;  // 13 chunks
  std::atomic<int> polls{0};
  std::string interrupted_in;
  SeedOptions o;
  o.reset = true;
  o.progress = [&interrupted_in](const std::string& t, int64_t, int64_t) { interrupted_in = t; };
  o.interrupted = [&polls] { return ++polls >= 8; };  // a few chunks into users
  auto r = resv::seed(db.url(), spec, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::Cancelled) << code_of(r);
  EXPECT_EQ(interrupted_in, "users");
  EXPECT_EQ(polls.load(), 8) << "no chunk after the interruption";

  EXPECT_EQ(checksum(db), before);
  EXPECT_EQ(counts(db), before_counts);
  EXPECT_EQ(schema_shape(db), shape) << "dropped indexes and constraints come back with the rollback";
  EXPECT_EQ(db.count("SELECT count(*) FROM seed_runs"), 1);
}

TEST(Seed, InterruptedSeedOfAnEmptyDatabaseLeavesItEmpty) {
  TestDatabase db;
  SeedOptions o;
  o.interrupted = [] { return true; };
  auto r = resv::seed(db.url(), small(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::Cancelled) << code_of(r);
  for (const auto& [table, n] : counts(db)) EXPECT_EQ(n, 0) << table;
  EXPECT_EQ(db.count("SELECT count(*) FROM seed_runs"), 0);
}

TEST(Seed, LostConnectionMidLoadIsDbUnavailableAndLeavesNoPartialData) {
  TestDatabase db;
  seed_or_throw(db, small(1));
  const std::string before = checksum(db), shape = schema_shape(db);
  const auto before_counts = counts(db);

  SeedSpec spec = small(2);
  spec.users = 500000;
  int terminated = 0;
  SeedOptions o;
  o.reset = true;
  // Once rows of users are on their way, another session ends the seeding one.
  o.progress = [&](const std::string& table, int64_t done, int64_t total) {
    if (table != "users" || done == 0 || done == total || terminated) return;
    pqxx::connection c(db.url());
    pqxx::nontransaction tx(c);
    terminated = tx.exec("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                         " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                         " AND backend_type = 'client backend'")[0][0]
                     .as<int>();
  };
  auto r = resv::seed(db.url(), spec, o);
  ASSERT_EQ(terminated, 1) << "the seeding session was found and ended";
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::DbUnavailable) << code_of(r);

  EXPECT_EQ(checksum(db), before);
  EXPECT_EQ(counts(db), before_counts);
  EXPECT_EQ(schema_shape(db), shape);
  EXPECT_EQ(db.count("SELECT count(*) FROM seed_runs"), 1);
  // And the next seed works.
  o.progress = nullptr;
  auto again = resv::seed(db.url(), small(3), o);
  ASSERT_TRUE(again.ok()) << code_of(again);
  EXPECT_EQ(counts(db), plan_counts(small(3)));
}

TEST(Seed, TablesLockedByAnotherSessionAreBusyAndNothingChanges) {
  TestDatabase db;
  seed_or_throw(db, small(1));
  const std::string before = checksum(db);
  pqxx::connection c(db.url());
  pqxx::work holder(c);
  holder.exec("LOCK TABLE users IN ACCESS SHARE MODE");  // as a long read would

  SeedOptions o;
  o.reset = true;
  auto r = resv::seed(db.url(), small(2), o);  // waits out its lock_timeout
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::Busy) << code_of(r);
  holder.abort();
  EXPECT_EQ(checksum(db), before);
}

// ---- refused before the database ---------------------------------------------------

TEST(Seed, InvalidSpecIsRefusedBeforeConnecting) {
  SeedSpec spec = small();
  spec.seats = -1;
  // No database at this address: the spec is checked first.
  auto r = resv::seed("postgresql://127.0.0.1:1/none?connect_timeout=2", spec, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidRequest) << code_of(r);
  EXPECT_NE(r.status().message().find("seats"), std::string::npos) << r.status().message();
}

TEST(Seed, UnreachableDatabaseIsDbUnavailable) {
  auto r = resv::seed("postgresql://127.0.0.1:1/none?connect_timeout=2", small(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::DbUnavailable) << code_of(r);
}

}  // namespace
