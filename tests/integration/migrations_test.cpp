// Schema migrations against a real, initially empty PostgreSQL database
// (created from template1, not from the migrated test template).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "booking/pg_store.h"
#include "db/migrations.h"
#include "eventually.h"
#include "store_fixture.h"
#include "test_db.h"

namespace {

using namespace resv;
using namespace resv::test;

::testing::AssertionResult Contains(const std::string& hay, const std::string& needle) {
  if (hay.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << '"' << hay << "\" does not contain \"" << needle << '"';
}

std::vector<int> bundled_versions() {
  std::vector<int> v;
  for (const auto& m : bundled_migrations()) v.push_back(m.version);
  return v;
}

// An empty database (from template1: no schema at all), dropped afterwards.
struct EmptyDatabase {
  std::string admin = cluster_url(), name, url;
  EmptyDatabase() {
    static std::atomic<int> counter{0};
    name = "mig_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    pqxx::connection c(admin);
    pqxx::nontransaction tx(c);
    tx.exec("DROP DATABASE IF EXISTS " + name);
    tx.exec("CREATE DATABASE " + name);
    url = with_database(admin, name);
  }
  ~EmptyDatabase() {
    try {
      pqxx::connection c(admin);
      pqxx::nontransaction(c).exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    } catch (const std::exception&) {
      // The cluster is thrown away after the run anyway.
    }
  }
};

struct Migrations : ::testing::Test {
  EmptyDatabase empty;
  const std::string& url = empty.url;

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
  // Versions 1..last by hand, as apply_migrations records them: a database
  // an older resv left.
  void migrate_by_hand_up_to(int last) const {
    exec("CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
         " applied_at timestamptz NOT NULL DEFAULT now())");
    for (const auto& m : bundled_migrations()) {
      if (m.version > last) break;
      pqxx::connection c(url);
      for (const auto& statement : split_sql_statements(m.sql)) pqxx::nontransaction(c).exec(statement);
      pqxx::nontransaction(c).exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                                          m.version, m.name, m.checksum);
    }
  }
};

TEST_F(Migrations, EmptyDatabaseGetsEveryBundledVersionRecordedWithItsChecksum) {
  ASSERT_FALSE(bundled_migrations().empty());
  auto applied = apply_migrations(url);
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_EQ(applied->versions, bundled_versions());
  EXPECT_FALSE(applied->adopted_legacy);
  std::vector<std::string> files;
  for (const auto& f : bundled_functions()) files.push_back(f.name);
  EXPECT_EQ(applied->functions, files);

  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), static_cast<int64_t>(bundled_migrations().size()));
  for (const auto& f : bundled_functions())
    EXPECT_EQ(scalar("SELECT checksum FROM schema_functions WHERE name = '" + f.name + "'"), f.checksum) << f.name;
  for (const auto& m : bundled_migrations()) {
    auto v = std::to_string(m.version);
    EXPECT_EQ(scalar("SELECT name FROM schema_migrations WHERE version = " + v), m.name) << "version " << v;
    EXPECT_EQ(scalar("SELECT checksum FROM schema_migrations WHERE version = " + v), checksum_hex(m.sql))
        << "version " << v;
  }
  // The schema itself is there: the tables, and the functions of sql/functions/.
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
  EXPECT_TRUE(again->versions.empty());
  EXPECT_TRUE(again->functions.empty()) << "function files are applied again only when they change";
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
  EXPECT_EQ(fresh->stale.size(), bundled_functions().size());
  for (size_t i = 0; i < fresh->pending.size(); ++i) EXPECT_EQ(fresh->pending[i].version, bundled_versions()[i]);
  EXPECT_FALSE(table_exists("schema_migrations")) << "reading the state must not create anything";

  ASSERT_TRUE(apply_migrations(url).ok());
  auto after = migration_state(url);
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_TRUE(after->current());
  EXPECT_EQ(after->applied, latest_migration_version());
  EXPECT_TRUE(after->pending.empty());
  EXPECT_TRUE(after->stale.empty());
}

TEST_F(Migrations, StoreReportsSchemaVersionZeroThenLatest) {
  PgStore store{PgStoreOptions{url}};
  auto before = store.schema_state();
  ASSERT_TRUE(before.ok()) << before.status().message();
  EXPECT_EQ(before->applied, 0);
  EXPECT_FALSE(before->current());
  ASSERT_TRUE(apply_migrations(url).ok());
  auto after = store.schema_state();
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(after->applied, latest_migration_version());
  EXPECT_TRUE(after->current());
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

TEST_F(Migrations, EventsPublishedBefore0007StayPublishedAndTheOthersWaitForTheRelay) {
  migrate_by_hand_up_to(6);
  exec("INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, published_at) VALUES"
       " ('reservation', 1, 'Sent', '{}', now()), ('reservation', 1, 'Waiting', '{}', NULL)");

  auto applied = apply_migrations(url);
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_EQ(scalar("SELECT string_agg(event_type, ',' ORDER BY id) FROM outbox"
                   " WHERE NOT resv_outbox_is_published(txid, id)"),
            "Waiting");
  EXPECT_EQ(count("SELECT unpublished FROM resv_outbox_backlog()"), 1);
  // The backfilled row carries the first transaction id after 0007's
  // snapshot: it joins a window once whichever transaction of the cluster
  // took that id has ended (another test's, in CI), so it may take a call or
  // two; a window never marks anything published by itself.
  std::string window;
  EXPECT_TRUE(eventually([&] {
    window = scalar("SELECT coalesce(string_agg(event_type, ','), '') FROM resv_outbox_next(10, 0)");
    return window == "Waiting";
  }, 30)) << "the relay's next window holds it: " << window;
}

TEST_F(Migrations, EventsWrittenBefore0009KeepTheirPayloadsWhichAuditStillReads) {
  migrate_by_hand_up_to(8);
  exec("INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload)"
       " VALUES ('reservation', 1, 'ReservationHeld', '{\"seatIds\": [3, 1], \"userId\": 7}'::jsonb)");
  const std::string before = scalar("SELECT payload::text FROM outbox");

  auto applied = apply_migrations(url);
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_EQ(scalar("SELECT format_type(atttypid, NULL) FROM pg_attribute"
                   " WHERE attrelid = 'outbox'::regclass AND attname = 'payload'"),
            "json");
  EXPECT_EQ(scalar("SELECT payload::text FROM outbox"), before) << "the relay sends the same bytes";
  EXPECT_EQ(scalar("SELECT string_agg(s, ',') FROM outbox, json_array_elements_text(payload -> 'seatIds') s"), "3,1");
  // New events: the write functions' jsonb, stored as its text.
  exec("SELECT resv_outbox('reservation', 2, 'ReservationHeld', jsonb_build_object('userId', 7, 'seatIds', "
       "jsonb_build_array(5)))");
  EXPECT_EQ(scalar("SELECT payload::text FROM outbox WHERE aggregate_id = 2"), R"({"userId": 7, "seatIds": [5]})");
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
  EXPECT_EQ(applied->versions, rest);
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), static_cast<int64_t>(all.size()));
}

TEST_F(Migrations, FailingMigrationIsRolledBackAndReported) {
  // A clashing object makes the first migration fail half-way.
  exec("CREATE TABLE users (id int)");
  auto failed = apply_migrations(url);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(code_of(failed), "INTERNAL");
  const auto& first = bundled_migrations().front();
  EXPECT_TRUE(Contains(failed.status().message(), "migration " + std::to_string(first.version) + " (" + first.name +
                                                      ") failed and was rolled back"));
  EXPECT_TRUE(Contains(failed.status().message(), "relation \"users\" already exists"));
  EXPECT_FALSE(table_exists("concerts")) << "nothing of the failed migration is left";
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), 0);

  exec("DROP TABLE users");
  auto retried = apply_migrations(url);
  ASSERT_TRUE(retried.ok()) << "the migration lock was released: " << retried.status().message();
  EXPECT_EQ(retried->versions, bundled_versions());
}

TEST_F(Migrations, ConcurrentMigratorsApplyEachVersionOnce) {
  Result<MigrationRun> a = Status::Internal("not run"), b = Status::Internal("not run");
  std::thread ta([&] { a = apply_migrations(url); });
  std::thread tb([&] { b = apply_migrations(url); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  std::multiset<int> both(a->versions.begin(), a->versions.end());
  both.insert(b->versions.begin(), b->versions.end());
  EXPECT_EQ(a->functions.size() + b->functions.size(), bundled_functions().size())
      << "each function file is applied by one of them";
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

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// pg_dump --schema-only of `url`, without the lines that name the server or
// client version (the two dumps compared come from one cluster anyway).
std::string schema_dump(const std::string& url) {
  FILE* p = popen("pg_config --bindir", "r");
  char buf[512] = {};
  std::string bindir = fgets(buf, sizeof buf, p) ? buf : "";
  pclose(p);
  while (!bindir.empty() && (bindir.back() == '\n' || bindir.back() == ' ')) bindir.pop_back();
  std::string cmd = bindir + "/pg_dump --schema-only --no-owner --no-privileges '" + url + "'";
  p = popen(cmd.c_str(), "r");
  std::string out;
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  if (pclose(p) != 0) throw std::runtime_error("pg_dump failed: " + cmd);
  std::string kept;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("-- Dumped", 0) != 0 && line.rfind("\\restrict", 0) != 0 && line.rfind("\\unrestrict", 0) != 0)
      kept += line + "\n";
  return kept;
}

// resv before 0.1.0 built its schema with ten migrations (kept in
// tests/integration/legacy_sql/), squashed into 0001_baseline. A database
// they built, as their runner recorded it, is re-recorded as built by the
// baseline, and ends with exactly the schema of a database built afresh.
TEST_F(Migrations, ADatabaseBuiltByTheSeriesBefore0_1_0EndsWithTheSchemaOfAFreshOne) {
  const std::filesystem::path legacy = std::filesystem::path(RESV_SOURCE_DIR) / "tests/integration/legacy_sql";
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(legacy)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 10u);
  {
    pqxx::connection c(url);
    pqxx::work tx(c);
    tx.exec("CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())");
    for (const auto& f : files) {
      auto parsed = parse_migration_filename(f.filename().string());
      ASSERT_TRUE(parsed) << f;
      std::string sql = read_text(f);
      tx.exec(sql);
      tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", parsed->first,
                     parsed->second, checksum_hex(sql));
    }
    tx.commit();
  }
  auto before = migration_state(url);
  ASSERT_TRUE(before.ok()) << before.status().message();
  EXPECT_TRUE(before->legacy);
  EXPECT_FALSE(before->current());

  auto run = apply_migrations(url);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_TRUE(run->adopted_legacy);
  auto after = migration_state(url);
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_TRUE(after->current());
  EXPECT_FALSE(after->legacy);

  EmptyDatabase fresh;
  ASSERT_TRUE(apply_migrations(fresh.url).ok());
  const std::string records = "SELECT string_agg(version || ' ' || name || ' ' || checksum, ',' ORDER BY version)"
                              " FROM schema_migrations";
  pqxx::connection fc(fresh.url);
  EXPECT_EQ(scalar(records), pqxx::nontransaction(fc).exec1(records)[0].as<std::string>());
  const std::string legacy_dump = schema_dump(url), fresh_dump = schema_dump(fresh.url);
  ASSERT_TRUE(Contains(fresh_dump, "CREATE TABLE public.reservations"));
  EXPECT_EQ(legacy_dump, fresh_dump) << "the squashed baseline builds another schema than the old series";
}

TEST_F(Migrations, AFunctionFileWhoseContentChangedIsAppliedAgainAndRecorded) {
  ASSERT_TRUE(apply_migrations(url).ok());
  const auto& files = bundled_functions();
  auto ops = std::find_if(files.begin(), files.end(), [](const auto& f) { return f.name == "60_ops.sql"; });
  ASSERT_NE(ops, files.end());
  const auto& file = *ops;
  // As if the database had an older version of the file: recorded under
  // another checksum, and one of its functions (resv_warm_up) gone.
  exec("UPDATE schema_functions SET checksum = 'an older one' WHERE name = '" + file.name + "'");
  exec("DROP FUNCTION resv_warm_up()");

  auto state = migration_state(url);
  ASSERT_TRUE(state.ok()) << state.status().message();
  ASSERT_EQ(state->stale.size(), 1u);
  EXPECT_EQ(state->stale[0].name, file.name);
  EXPECT_FALSE(state->current());
  EXPECT_TRUE(state->pending.empty());

  auto run = apply_migrations(url);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_TRUE(run->versions.empty());
  EXPECT_EQ(run->functions, std::vector<std::string>{file.name});
  EXPECT_EQ(scalar("SELECT resv_warm_up()"), "ok");
  EXPECT_EQ(scalar("SELECT checksum FROM schema_functions WHERE name = '" + file.name + "'"), file.checksum);
}

TEST_F(Migrations, AMigrationThatWaitsLongerThanTheLockTimeoutIsBusyAndChangesNothing) {
  ASSERT_TRUE(apply_migrations(url).ok());
  // 0002 pending again, with a session holding a lock that one of its later
  // statements (on balance_ledger) waits for.
  exec("DELETE FROM schema_migrations WHERE version = 2");
  for (const char* table : {"reservations", "queue_tokens", "outbox", "idempotency_keys", "payments", "balance_ledger",
                            "seats", "pool_units"})
    exec(std::string("ALTER TABLE ") + table + " RESET (autovacuum_analyze_threshold, autovacuum_analyze_scale_factor)");
  pqxx::connection holder(url);
  pqxx::work held(holder);
  held.exec("LOCK TABLE balance_ledger IN SHARE MODE");

  auto run = apply_migrations(url, {std::chrono::milliseconds(200)});
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(code_of(run), "BUSY");
  EXPECT_TRUE(Contains(run.status().message(), "migration 2 (table_settings) waited 0.2 s for a lock"));
  EXPECT_TRUE(Contains(run.status().message(), "rolled back"));
  EXPECT_TRUE(Contains(run.status().message(), "--lock-timeout"));
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations WHERE version = 2"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM pg_class WHERE relname IN ('reservations', 'outbox') AND reloptions IS NOT NULL"),
            0)
      << "the statements of 0002 before the one that waited are rolled back too";

  held.abort();
  auto retried = apply_migrations(url, {std::chrono::milliseconds(200)});
  ASSERT_TRUE(retried.ok()) << retried.status().message();
  EXPECT_EQ(retried->versions, std::vector<int>{2});
}

TEST_F(Migrations, AMigrationMarkedNoTransactionRunsStatementByStatement) {
  SchemaFiles schema = bundled_schema();
  const std::string sql =
      "-- resv: no-transaction\n"
      "DROP INDEX CONCURRENTLY IF EXISTS reservations_created;\n"
      "CREATE INDEX CONCURRENTLY reservations_created ON reservations (created_at);\n";
  const int version = latest_migration_version() + 1;
  schema.migrations.push_back({version, "concurrent_index", sql, checksum_hex(sql), false});
  ASSERT_TRUE(apply_migrations(url).ok());

  auto run = apply_migrations(url, {}, schema);
  ASSERT_TRUE(run.ok()) << "CREATE INDEX CONCURRENTLY cannot run in a transaction: " << run.status().message();
  EXPECT_EQ(run->versions, std::vector<int>{version});
  EXPECT_EQ(scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'reservations_created'::regclass"), "t");
  EXPECT_EQ(scalar("SELECT checksum FROM schema_migrations WHERE version = " + std::to_string(version)),
            checksum_hex(sql));
}

}  // namespace
