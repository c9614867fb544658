// `resv demo` through the real binaries, on an embedded
// cluster in a temporary state directory; `resv config show`; the CLI's
// output and exit code conventions.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "test_db.h"

using namespace resv::e2e;
using nlohmann::json;

namespace {

// A state directory the postgres user can reach; whatever was started in it
// is stopped when the test ends, pass or fail.
struct StateDirGuard {
  std::string path = [] {
    char tmpl[] = "/tmp/resv-demo-test-XXXXXX";
    std::string p = mkdtemp(tmpl);
    chmod(p.c_str(), 0755);
    return p;
  }();
  ~StateDirGuard() {
    run_resv({"--state-dir", path, "server", "stop", "--timeout", "10"});
    run_resv({"--state-dir", path, "db", "down"});
    std::filesystem::remove_all(path);
  }
};

}  // namespace

TEST(CliDemo, RunsTwiceOnTheEmbeddedDefaultWithoutOverbooking) {
  StateDirGuard state;
  std::set<int> taken;
  std::string port = std::to_string(free_ports(1, taken)), admin = std::to_string(free_ports(1, taken));
  std::vector<std::string> args{"--state-dir", state.path, "demo", "--port", port, "--admin-port", admin, "--json"};
  auto first = run_resv(args);
  ASSERT_EQ(first.code, 0) << first.err;
  auto j = json::parse(first.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << "stdout holds only the JSON document: " << first.out;
  EXPECT_TRUE(j["database"]["embedded"].get<bool>());
  EXPECT_TRUE(j["database"]["created"].get<bool>());
  const auto& burst = j["burst"];
  EXPECT_EQ(burst["attempts"].get<int>(), 500);
  EXPECT_EQ(burst["held"].get<int>() + burst["rejected"].get<int>(), 500) << burst.dump();
  EXPECT_EQ(burst["failed"].get<int>(), 0) << burst.dump();
  EXPECT_GT(burst["held"].get<int>(), 0);
  EXPECT_GT(burst["rejected"].get<int>(), 0) << "500 buyers for 200 seats and 40 places: some must be refused";
  EXPECT_EQ(burst["paid"].get<int>(), burst["held"].get<int>()) << "every buyer had the balance to pay";
  EXPECT_FALSE(j["audit"]["overbooked"].get<bool>());
  EXPECT_EQ(j["audit"]["seats_sold_twice"].get<int>(), 0);
  EXPECT_EQ(j["audit"]["pool_units_taken"].get<int>(), 40) << "250 buyers of 1-4 places sell out a pool of 40";
  EXPECT_NE(first.err.find("4/4"), std::string::npos) << "progress messages go to stderr";

  auto second = run_resv(args);
  ASSERT_EQ(second.code, 0) << second.err;
  auto k = json::parse(second.out);
  EXPECT_FALSE(k["database"]["created"].get<bool>());
  EXPECT_EQ(k["server"]["pid"], j["server"]["pid"]) << "the running server is reused";
  EXPECT_NE(k["data"]["concert_id"], j["data"]["concert_id"]) << "each run adds its own concert";
  EXPECT_EQ(k["burst"]["failed"].get<int>(), 0);
  EXPECT_FALSE(k["audit"]["overbooked"].get<bool>());
}

TEST(CliConfig, ShowReportsEachSettingsSourceAndMasksSecrets) {
  StateDirGuard state;
  auto cfg = state.path + "/c.toml";
  std::ofstream(cfg) << "admin_url = \"http://127.0.0.1:7777\"\n";
  auto r = run_resv({"config", "show", "--json", "--config", cfg, "--state-dir", state.path},
                    {{"RESV_DATABASE_URL", "postgresql://app:hunter2@db.example:5432/tickets"},
                     {"RESV_ADMIN_TOKEN", "tok-secret"}});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["database_url"], "postgresql://app:****@db.example:5432/tickets");
  EXPECT_EQ(j["sources"]["database_url"], "env RESV_DATABASE_URL");
  EXPECT_EQ(j["admin_url"], "http://127.0.0.1:7777");
  EXPECT_EQ(j["sources"]["admin_url"], "config " + cfg);
  EXPECT_EQ(j["state_dir"], state.path);
  EXPECT_EQ(j["sources"]["state_dir"], "flag --state-dir");
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos);
  EXPECT_EQ(r.out.find("tok-secret"), std::string::npos);

  auto table = run_resv({"config", "show", "--state-dir", state.path}, {{"NO_COLOR", "1"}});
  ASSERT_EQ(table.code, 0);
  EXPECT_EQ(table.out.rfind("SETTING", 0), 0u) << table.out;
  EXPECT_EQ(table.out.find("\x1b["), std::string::npos) << "no colour when not a terminal";
}

TEST(CliConventions, UsageErrorsExitTwoWithAHintOnStderr) {
  auto r = run_resv({"server", "--no-such-flag"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("resv: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("(hint: "), std::string::npos) << r.err;
  auto bad_choice = run_resv({"completion", "tcsh"});
  EXPECT_EQ(bad_choice.code, 2) << bad_choice.err;
}

TEST(CliConventions, BrokenConfigFileIsAUsageErrorNamingTheLine) {
  StateDirGuard state;
  auto cfg = state.path + "/bad.toml";
  std::ofstream(cfg) << "# comment\ndatabase_url = 'x\n";
  auto r = run_resv({"config", "show", "--config", cfg});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
}

TEST(CliConventions, DatabaseCommandsWithoutAnyDatabaseExitThreeWithAHint) {
  StateDirGuard state;
  auto r = run_resv({"--state-dir", state.path, "seed", "concert"}, {{"RESV_DATABASE_URL", ""}});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("resv db up"), std::string::npos) << r.err;
}

TEST(CliConventions, CompletionScriptsArePrintedOnStdout) {
  for (const char* shell : {"bash", "zsh", "fish"}) {
    auto r = run_resv({"completion", shell});
    EXPECT_EQ(r.code, 0) << shell;
    EXPECT_NE(r.out.find("resv"), std::string::npos) << shell;
    EXPECT_EQ(r.err, "") << shell;
  }
}

TEST(CliConventions, VerboseShowsWhereSettingsCameFromAndQuietHidesMessages) {
  StateDirGuard state;
  auto verbose = run_resv({"-v", "--state-dir", state.path, "config", "show"}, {{"RESV_DATABASE_URL", "postgresql://h/db"}});
  ASSERT_EQ(verbose.code, 0);
  EXPECT_NE(verbose.err.find("database_url = postgresql://h/db  [env RESV_DATABASE_URL]"), std::string::npos)
      << verbose.err;
  auto plain = run_resv({"--state-dir", state.path, "config", "show"});
  EXPECT_EQ(plain.err, "");
  auto quiet = run_resv({"-q", "--state-dir", state.path, "seed", "concert"}, {{"RESV_DATABASE_URL", ""}});
  EXPECT_EQ(quiet.code, 3);
  EXPECT_NE(quiet.err.find("resv: error:"), std::string::npos) << "errors are shown even with --quiet";
}
