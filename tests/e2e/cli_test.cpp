// The resv binary: version, db migrate, and exit codes. Data goes to stdout,
// messages and errors to stderr: each assertion names the stream it reads.
#include <gtest/gtest.h>

#include <string>

#include "cli_run.h"
#include "resv/version.h"
#include "test_db.h"

namespace {

using resv::e2e::contains;
using resv::e2e::run_resv;
using resv::test::TestDatabase;

TEST(Cli, VersionPrintsTheVersionAndTheCommitBuilt) {
  auto r = run_resv({"--version"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("resv ") + resv::kVersion + " (commit " + resv::kCommit + ")\n");
  EXPECT_EQ(r.err, "") << "nothing on stderr";
}

TEST(Cli, MigrateOnAMigratedDatabaseAppliesNothing) {
  TestDatabase db;
  auto r = run_resv({"db", "migrate", "--db", db.url()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "applied 0 migration(s)")) << "stderr: " << r.err << "\nstdout: " << r.out;
  EXPECT_EQ(r.out, "") << "no data on stdout without --json";
}

TEST(Cli, MigrateWithTheDatabaseUnreachableExitsThree) {
  auto r = run_resv({"db", "migrate", "--db", "postgresql://nobody@127.0.0.1:1/none"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_TRUE(contains(r.err, "resv: error: cannot connect")) << "stderr: " << r.err;
  EXPECT_TRUE(contains(r.err, "hint: check that PostgreSQL runs and that the URL postgresql://nobody@127.0.0.1:1/none"))
      << "stderr: " << r.err;
  EXPECT_EQ(r.out, "") << "an error prints no data";
}

TEST(Cli, UnknownOptionExitsTwo) {
  auto r = run_resv({"--no-such-option"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "--no-such-option")) << "the error names the option, on stderr: " << r.err;
  EXPECT_EQ(r.out, "") << "an error prints no data";
}

}  // namespace
