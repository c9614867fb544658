#include "db/migrations.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <vector>
#include <string>

namespace {

using namespace resv;

TEST(ParseMigrationFilename, AcceptsVersionAndName) {
  auto p = parse_migration_filename("0001_schema.sql");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->first, 1);
  EXPECT_EQ(p->second, "schema");
}

TEST(ParseMigrationFilename, AcceptsDigitsAndUnderscoresInTheName) {
  auto p = parse_migration_filename("0042_add_index_2.sql");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->first, 42);
  EXPECT_EQ(p->second, "add_index_2");
  auto shortest = parse_migration_filename("9999_a.sql");
  ASSERT_TRUE(shortest.has_value());
  EXPECT_EQ(shortest->first, 9999);
  EXPECT_EQ(shortest->second, "a");
}

TEST(ParseMigrationFilename, RejectsAnythingElse) {
  for (const char* bad : {"", "schema.sql", "0001_.sql", "0001_schema", "0001_schema.txt", "0001_schema.SQL",
                          "0001_schema.sql.bak", "0001-schema.sql", "001_schema.sql", "00001_schema.sql",
                          "00a1_schema.sql", "0000_zero.sql", "0001_Schema.sql", "0001_my-schema.sql",
                          "0001_my schema.sql", "0001_sch.ema.sql", "-001_schema.sql"}) {
    EXPECT_FALSE(parse_migration_filename(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(ChecksumHex, IsFnv1a64AsSixteenLowercaseHexDigits) {
  // Published FNV-1a 64 test vectors.
  EXPECT_EQ(checksum_hex(""), "cbf29ce484222325");
  EXPECT_EQ(checksum_hex("a"), "af63dc4c8601ec8c");
  EXPECT_EQ(checksum_hex("foobar"), "85944171f73967e8");
}

TEST(ChecksumHex, IsStableAndDependsOnEveryByte) {
  std::string sql = "CREATE TABLE t (id int);";
  EXPECT_EQ(checksum_hex(sql), checksum_hex(sql));
  EXPECT_NE(checksum_hex(sql), checksum_hex("CREATE TABLE t (id int); "));
  EXPECT_NE(checksum_hex(sql), checksum_hex("CREATE TABLE t (id INT);"));
}

TEST(BundledMigrations, StartAtOneWithoutGaps) {
  const auto& all = bundled_migrations();
  ASSERT_FALSE(all.empty());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].version, static_cast<int>(i) + 1) << all[i].name;
}

TEST(BundledMigrations, AreSortedByVersion) {
  const auto& all = bundled_migrations();
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const Migration& a, const Migration& b) { return a.version < b.version; }));
}

TEST(BundledMigrations, EachHasANameSqlAndItsChecksum) {
  for (const auto& m : bundled_migrations()) {
    EXPECT_FALSE(m.name.empty()) << m.version;
    EXPECT_NE(m.sql.find_first_not_of(" \t\r\n"), std::string::npos) << m.name << " has no SQL";
    ASSERT_EQ(m.checksum.size(), 16u) << m.name;
    EXPECT_TRUE(std::all_of(m.checksum.begin(), m.checksum.end(),
                            [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f'); }))
        << m.checksum;
    EXPECT_EQ(m.checksum, checksum_hex(m.sql)) << m.name;
  }
}

TEST(BundledMigrations, ComeFromTheEmbeddedFilesOfSqlMigrations) {
  const auto& all = bundled_migrations();
  size_t files = 0;
  for (const auto& f : bundled_sql_files()) {
    std::string path = f.path;
    if (path.rfind("migrations/", 0) != 0) continue;
    ++files;
    auto parsed = parse_migration_filename(path.substr(11));
    ASSERT_TRUE(parsed.has_value()) << f.path;
    auto it = std::find_if(all.begin(), all.end(), [&](const Migration& m) { return m.version == parsed->first; });
    ASSERT_NE(it, all.end()) << f.path;
    EXPECT_EQ(it->name, parsed->second);
    EXPECT_EQ(it->sql, f.sql);
  }
  EXPECT_EQ(files, all.size());
  EXPECT_EQ(all.front().name, "baseline") << "0001_baseline.sql comes first";
  for (const auto& m : all)
    EXPECT_EQ(m.transactional, m.sql.rfind("-- resv: no-transaction\n", 0) != 0)
        << m.name << ": only a file that starts with the marker runs outside a transaction";
  EXPECT_TRUE(std::any_of(all.begin(), all.end(), [](const Migration& m) { return !m.transactional; }))
      << "0003 builds its index CONCURRENTLY";
}

TEST(BundledFunctions, AreTheFilesOfSqlFunctionsInNameOrderWithTheirChecksums) {
  const auto& all = bundled_functions();
  ASSERT_FALSE(all.empty());
  std::vector<std::string> expected;
  for (const auto& f : bundled_sql_files()) {
    std::string path = f.path;
    if (path.rfind("functions/", 0) == 0) expected.push_back(path.substr(10));
  }
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> names;
  for (const auto& f : all) {
    names.push_back(f.name);
    EXPECT_EQ(f.checksum, checksum_hex(f.sql)) << f.name;
  }
  EXPECT_EQ(names, expected);
}

TEST(BundledFunctions, DefineEveryFunctionInExactlyOneFile) {
  std::map<std::string, std::vector<std::string>> where;  // function -> files defining it
  for (const auto& f : bundled_functions()) {
    for (size_t at = f.sql.find("FUNCTION resv_"); at != std::string::npos; at = f.sql.find("FUNCTION resv_", at + 1)) {
      auto start = at + 9, end = f.sql.find('(', start);
      if (f.sql.compare(at - 7, 7, "CREATE ") != 0 && f.sql.compare(at - 11, 11, "OR REPLACE ") != 0) continue;
      where[f.sql.substr(start, end - start)].push_back(f.name);
    }
  }
  ASSERT_GT(where.size(), 30u);
  for (const auto& [fn, files] : where) EXPECT_EQ(files.size(), 1u) << fn << " is defined more than once";
  for (const auto& m : bundled_migrations())
    EXPECT_EQ(m.sql.find("CREATE FUNCTION"), std::string::npos) << m.name << " defines a function: it belongs in sql/functions/";
}

TEST(BundledSchemaChecksum, ChangesWithAnyFile) {
  EXPECT_EQ(bundled_schema_checksum(), bundled_schema_checksum());
  EXPECT_EQ(bundled_schema_checksum().size(), 16u);
}

TEST(SplitSqlStatements, SplitsAtSemicolonsAndDropsEmptyOnes) {
  EXPECT_EQ(split_sql_statements("CREATE TABLE a (x int);\n\nCREATE INDEX CONCURRENTLY i ON a (x);;\n"),
            (std::vector<std::string>{"CREATE TABLE a (x int)", "CREATE INDEX CONCURRENTLY i ON a (x)"}));
  EXPECT_TRUE(split_sql_statements("  \n; ;").empty());
  EXPECT_EQ(split_sql_statements("SELECT 1"), (std::vector<std::string>{"SELECT 1"}));
}

TEST(SplitSqlStatements, KeepsSemicolonsInQuotesDollarBodiesAndComments) {
  auto parts = split_sql_statements(
      "SELECT 'a;b', \"c;d\", 'it''s;', E'x\\';y';\n"
      "-- a comment; with a semicolon\n"
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;\n"
      "/* block; /* nested; */ still; */ SELECT $$;$$, $1;");
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], "SELECT 'a;b', \"c;d\", 'it''s;', E'x\\';y'");
  EXPECT_EQ(parts[1], "-- a comment; with a semicolon\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$");
  EXPECT_EQ(parts[2], "/* block; /* nested; */ still; */ SELECT $$;$$, $1");
}

TEST(BundledMigrations, AreBuiltOnce) { EXPECT_EQ(&bundled_migrations(), &bundled_migrations()); }

TEST(LatestMigrationVersion, IsTheLastBundledVersion) {
  ASSERT_FALSE(bundled_migrations().empty());
  EXPECT_EQ(latest_migration_version(), bundled_migrations().back().version);
  EXPECT_EQ(latest_migration_version(), static_cast<int>(bundled_migrations().size()));
}

}  // namespace
