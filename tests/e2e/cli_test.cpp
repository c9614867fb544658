// The resv binary: version, db migrate, and exit codes.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <sys/wait.h>

#include "test_db.h"

using namespace resv::test;

namespace {
struct Run {
  int code;
  std::string out;
};
Run run(const std::string& args) {
  // Appended piecewise: GCC 12 -O2 warns falsely (-Warray-bounds) on a chained +.
  std::string cmd = RESV_CLI_BIN;
  cmd.append(" ").append(args).append(" 2>&1");
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 512> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}
}  // namespace

TEST(Cli, VersionPrintsTheVersion) {
  auto r = run("--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("resv 0."), std::string::npos) << r.out;
}

TEST(Cli, MigrateOnAMigratedDatabaseAppliesNothing) {
  TestDatabase db;
  auto r = run("db migrate --db " + db.url());
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("applied 0 migration(s)"), std::string::npos) << r.out;
}

TEST(Cli, MigrateWithTheDatabaseUnreachableExitsThree) {
  auto r = run("db migrate --db postgresql://nobody@127.0.0.1:1/none");
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("resv: error: cannot connect"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hint: check that PostgreSQL runs and that the URL postgresql://nobody@127.0.0.1:1/none"), std::string::npos) << r.out;
}

TEST(Cli, UnknownOptionExitsTwo) {
  auto r = run("--no-such-option");
  EXPECT_EQ(r.code, 2) << r.out;
}
