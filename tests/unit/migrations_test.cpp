#include "db/migrations.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>

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

TEST(BundledMigrations, ComeFromTheEmbeddedFiles) {
  const auto& files = bundled_migration_files();
  const auto& all = bundled_migrations();
  ASSERT_EQ(files.size(), all.size());
  for (const auto& f : files) {
    auto parsed = parse_migration_filename(f.filename);
    ASSERT_TRUE(parsed.has_value()) << f.filename;
    auto it = std::find_if(all.begin(), all.end(), [&](const Migration& m) { return m.version == parsed->first; });
    ASSERT_NE(it, all.end()) << f.filename;
    EXPECT_EQ(it->name, parsed->second);
    EXPECT_EQ(it->sql, f.sql);
  }
  EXPECT_EQ(all.front().name, "schema") << "0001_schema.sql comes first";
}

TEST(BundledMigrations, AreBuiltOnce) { EXPECT_EQ(&bundled_migrations(), &bundled_migrations()); }

TEST(LatestMigrationVersion, IsTheLastBundledVersion) {
  ASSERT_FALSE(bundled_migrations().empty());
  EXPECT_EQ(latest_migration_version(), bundled_migrations().back().version);
  EXPECT_EQ(latest_migration_version(), static_cast<int>(bundled_migrations().size()));
}
