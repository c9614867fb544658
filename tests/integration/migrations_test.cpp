// Schema migrations against a real, initially empty PostgreSQL database
// (created from template1, not from the migrated test template).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "booking/pg_store.h"
#include "db/migrations.h"
#include "store_fixture.h"
#include "test_db.h"

using namespace resv;
using namespace resv::test;

namespace {

::testing::AssertionResult Contains(const std::string& hay, const std::string& needle) {
  if (hay.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << '"' << hay << "\" does not contain \"" << needle << '"';
}

std::vector<int> bundled_versions() {
  std::vector<int> v;
  for (const auto& m : bundled_migrations()) v.push_back(m.version);
  return v;
}

struct Migrations : ::testing::Test {
  std::string admin = cluster_url();
  std::string name;
  std::string url;

  Migrations() {
    static std::atomic<int> counter{0};
    name = "mig_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    pqxx::connection c(admin);
    pqxx::nontransaction tx(c);
    tx.exec("DROP DATABASE IF EXISTS " + name);
    tx.exec("CREATE DATABASE " + name);  // from template1: no schema at all
    url = with_database(admin, name);
  }
  ~Migrations() override {
    try {
      pqxx::connection c(admin);
      pqxx::nontransaction tx(c);
      tx.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    } catch (const std::exception&) {
      // The cluster is thrown away after the run anyway.
    }
  }

  std::string scalar(const std::string& sql) const {
    pqxx::connection c(url);
    pqxx::nontransaction tx(c);
    auto r = tx.exec(sql);
    if (r.empty() || r[0][0].is_null()) return "";
    return r[0][0].as<std::string>();
  }
  int64_t count(const std::string& sql) const { return std::stoll(scalar(sql)); }
  void exec(const std::string& sql) const {
    pqxx::connection c(url);
    pqxx::nontransaction tx(c);
    tx.exec(sql);
  }
  bool table_exists(const std::string& table) const {
    return scalar("SELECT to_regclass('" + table + "') IS NOT NULL") == "t";
  }
};

}  // namespace

TEST_F(Migrations, EmptyDatabaseGetsEveryBundledVersionRecordedWithItsChecksum) {
  ASSERT_FALSE(bundled_migrations().empty());
  auto applied = apply_migrations(url);
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_EQ(applied.value(), bundled_versions());

  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), static_cast<int64_t>(bundled_migrations().size()));
  for (const auto& m : bundled_migrations()) {
    auto v = std::to_string(m.version);
    EXPECT_EQ(scalar("SELECT name FROM schema_migrations WHERE version = " + v), m.name) << "version " << v;
    EXPECT_EQ(scalar("SELECT checksum FROM schema_migrations WHERE version = " + v), checksum_hex(m.sql))
        << "version " << v;
  }
  // The schema itself is there: tables of 0001, functions of 0002.
  for (const char* t : {"concerts", "schedules", "seats", "pools", "pool_units", "users", "reservations", "payments",
                        "balance_ledger", "outbox", "idempotency_keys"})
    EXPECT_TRUE(table_exists(t)) << t;
  EXPECT_EQ(count("SELECT count(*) FROM pg_proc WHERE proname IN"
                  " ('resv_hold_seats', 'resv_hold_pool', 'resv_pay', 'resv_cancel', 'resv_expire_holds',"
                  "  'resv_top_up')"),
            6);
}

TEST_F(Migrations, ApplyingAgainAppliesNothingAndChangesNothing) {
  ASSERT_TRUE(apply_migrations(url).ok());
  auto before = scalar("SELECT string_agg(version || ':' || checksum || ':' || applied_at, ',' ORDER BY version)"
                       " FROM schema_migrations");
  auto again = apply_migrations(url);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again.value().empty());
  EXPECT_EQ(scalar("SELECT string_agg(version || ':' || checksum || ':' || applied_at, ',' ORDER BY version)"
                   " FROM schema_migrations"),
            before);
}

TEST_F(Migrations, StateReportsEverythingPendingThenCurrent) {
  auto fresh = migration_state(url);
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_EQ(fresh->applied, 0);
  EXPECT_EQ(fresh->latest, latest_migration_version());
  EXPECT_FALSE(fresh->current());
  ASSERT_EQ(fresh->pending.size(), bundled_migrations().size());
  for (size_t i = 0; i < fresh->pending.size(); ++i) EXPECT_EQ(fresh->pending[i].version, bundled_versions()[i]);
  EXPECT_FALSE(table_exists("schema_migrations")) << "reading the state must not create anything";

  ASSERT_TRUE(apply_migrations(url).ok());
  auto after = migration_state(url);
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_TRUE(after->current());
  EXPECT_EQ(after->applied, latest_migration_version());
  EXPECT_TRUE(after->pending.empty());
}

TEST_F(Migrations, StoreReportsSchemaVersionZeroThenLatest) {
  PgStore store{PgStoreOptions{url}};
  auto before = store.schema_version();
  ASSERT_TRUE(before.ok()) << before.status().message();
  EXPECT_EQ(before.value(), 0);
  ASSERT_TRUE(apply_migrations(url).ok());
  auto after = store.schema_version();
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(after.value(), latest_migration_version());
}

TEST_F(Migrations, DatabaseAheadOfTheBinaryIsRefused) {
  ASSERT_TRUE(apply_migrations(url).ok());
  int future = latest_migration_version() + 1;
  exec("INSERT INTO schema_migrations (version, name, checksum) VALUES (" + std::to_string(future) +
       ", 'from_the_future', '0000000000000000')");

  auto applied = apply_migrations(url);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(code_of(applied), "INTERNAL");
  EXPECT_TRUE(Contains(applied.status().message(), "at migration " + std::to_string(future)));
  EXPECT_TRUE(Contains(applied.status().message(), "knows only " + std::to_string(latest_migration_version())));
  EXPECT_TRUE(Contains(applied.status().message(), "upgrade"));

  auto state = migration_state(url);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(code_of(state), "INTERNAL");
  EXPECT_TRUE(Contains(state.status().message(), "at migration " + std::to_string(future)));
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"),
            static_cast<int64_t>(bundled_migrations().size()) + 1);
}

TEST_F(Migrations, EmptyDatabaseMarkedWithAFutureVersionGetsNothingApplied) {
  exec("CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
       " applied_at timestamptz NOT NULL DEFAULT now())");
  exec("INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')");
  auto applied = apply_migrations(url);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(code_of(applied), "INTERNAL");
  EXPECT_TRUE(Contains(applied.status().message(), "9999"));
  EXPECT_FALSE(table_exists("reservations")) << "a refused database must not be migrated";
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), 1);
}

TEST_F(Migrations, ChangedChecksumOfAnAppliedMigrationIsRefused) {
  ASSERT_TRUE(apply_migrations(url).ok());
  const auto& first = bundled_migrations().front();
  exec("UPDATE schema_migrations SET checksum = 'deadbeefdeadbeef' WHERE version = " + std::to_string(first.version));

  auto applied = apply_migrations(url);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(code_of(applied), "INTERNAL");
  EXPECT_TRUE(Contains(applied.status().message(), "applied migration " + std::to_string(first.version)));
  EXPECT_TRUE(Contains(applied.status().message(), "differs"));

  auto state = migration_state(url);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(code_of(state), "INTERNAL");
  EXPECT_TRUE(Contains(state.status().message(), "differs"));
  EXPECT_EQ(scalar("SELECT checksum FROM schema_migrations WHERE version = " + std::to_string(first.version)),
            "deadbeefdeadbeef")
      << "a refused database is left as it was";
}

TEST_F(Migrations, PartlyMigratedDatabaseGetsOnlyTheMissingVersions) {
  const auto& all = bundled_migrations();
  if (all.size() < 2) GTEST_SKIP() << "needs at least two bundled migrations";
  // Apply the first migration by hand, exactly as apply_migrations records it.
  exec("CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
       " applied_at timestamptz NOT NULL DEFAULT now())");
  {
    pqxx::connection c(url);
    pqxx::work tx(c);
    tx.exec(all.front().sql);
    tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", all.front().version,
                   all.front().name, all.front().checksum);
    tx.commit();
  }
  auto state = migration_state(url);
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->applied, all.front().version);
  EXPECT_EQ(state->pending.size(), all.size() - 1);

  auto applied = apply_migrations(url);
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  auto versions = bundled_versions();
  std::vector<int> rest(versions.begin() + 1, versions.end());
  EXPECT_EQ(applied.value(), rest);
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), static_cast<int64_t>(all.size()));
}

TEST_F(Migrations, FailingMigrationIsRolledBackAndReported) {
  // A clashing object makes the first migration fail half-way.
  exec("CREATE TABLE users (id int)");
  auto failed = apply_migrations(url);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(code_of(failed), "INTERNAL");
  EXPECT_TRUE(Contains(failed.status().message(),
                       "migration " + std::to_string(bundled_migrations().front().version) + " failed"));
  EXPECT_TRUE(Contains(failed.status().message(), "rolled back"));
  EXPECT_FALSE(table_exists("concerts")) << "nothing of the failed migration is left";
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), 0);

  exec("DROP TABLE users");
  auto retried = apply_migrations(url);
  ASSERT_TRUE(retried.ok()) << "the migration lock was released: " << retried.status().message();
  EXPECT_EQ(retried.value(), bundled_versions());
}

TEST_F(Migrations, ConcurrentMigratorsApplyEachVersionOnce) {
  Result<std::vector<int>> a = Status::Internal("not run"), b = Status::Internal("not run");
  std::thread ta([&] { a = apply_migrations(url); });
  std::thread tb([&] { b = apply_migrations(url); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  std::multiset<int> both(a.value().begin(), a.value().end());
  both.insert(b.value().begin(), b.value().end());
  auto expected = bundled_versions();
  EXPECT_EQ(both, std::multiset<int>(expected.begin(), expected.end()));
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), static_cast<int64_t>(expected.size()));
}

TEST_F(Migrations, UnreachableDatabaseIsDbUnavailable) {
  const std::string nowhere = "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2";
  auto state = migration_state(nowhere);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(code_of(state), "DB_UNAVAILABLE");
  auto applied = apply_migrations(nowhere);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(code_of(applied), "DB_UNAVAILABLE");
}
