// `resv demo` through the real binaries, on an embedded
// cluster in a temporary state directory; `resv config show`; the CLI's
// output and exit code conventions.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cli_run.h"
#include "test_db.h"

namespace {

using namespace resv::e2e;
using nlohmann::json;

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

// The setting `name` of `resv config show --json` ({"name", "value",
// "source"}); null when it is not listed.
json setting(const json& doc, const std::string& name) {
  for (const auto& s : doc.value("settings", json::array()))
    if (s.value("name", "") == name) return s;
  return nullptr;
}

// Every key of `j` at any depth that is not camelCase (has an underscore
// or starts with a capital), except those of `maps`: objects keyed by data
// (error codes).
void collect_other_keys(const json& j, const std::set<std::string>& maps, std::vector<std::string>& out) {
  if (j.is_array())
    for (const auto& v : j) collect_other_keys(v, maps, out);
  if (!j.is_object()) return;
  for (const auto& [k, v] : j.items()) {
    if (k.find('_') != std::string::npos || std::isupper(static_cast<unsigned char>(k[0]))) out.push_back(k);
    if (!maps.count(k)) collect_other_keys(v, maps, out);
  }
}

std::vector<std::string> other_keys(const std::string& text, const std::set<std::string>& maps = {}) {
  std::vector<std::string> out;
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return {"(not JSON: " + text + ")"};
  collect_other_keys(j, maps, out);
  return out;
}

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
  EXPECT_EQ(other_keys(first.out, {"rejectedByCode", "failedByCode"}), std::vector<std::string>{})
      << "every key is camelCase: " << first.out;
  EXPECT_EQ(j["audit"]["seatsSoldTwice"].get<int>(), 0);
  EXPECT_EQ(j["audit"]["poolUnitsTaken"].get<int>(), 40) << "250 buyers of 1-4 places sell out a pool of 40";
  // A hold and a payment per buyer served, all relayed through the embedded broker.
  EXPECT_EQ(j["events"]["written"].get<int>(), 2 * burst["held"].get<int>()) << j["events"].dump();
  EXPECT_EQ(j["events"]["published"], j["events"]["written"]);
  EXPECT_NE(first.err.find("started the embedded Kafka broker"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("4/4"), std::string::npos) << "progress messages go to stderr";

  auto second = run_resv(args);
  ASSERT_EQ(second.code, 0) << second.err;
  auto k = json::parse(second.out);
  EXPECT_FALSE(k["database"]["created"].get<bool>());
  EXPECT_EQ(k["server"]["pid"], j["server"]["pid"]) << "the running server is reused";
  EXPECT_NE(k["data"]["concertId"], j["data"]["concertId"]) << "each run adds its own concert";
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
  EXPECT_EQ(setting(j, "database_url")["value"], "postgresql://app:****@db.example:5432/tickets");
  EXPECT_EQ(setting(j, "database_url")["source"], "env RESV_DATABASE_URL");
  EXPECT_EQ(setting(j, "admin_url")["value"], "http://127.0.0.1:7777");
  EXPECT_EQ(setting(j, "admin_url")["source"], "config " + cfg);
  EXPECT_EQ(setting(j, "state_dir")["value"], state.path);
  EXPECT_EQ(setting(j, "state_dir")["source"], "flag --state-dir");
  EXPECT_EQ(setting(j, "admin_token")["value"], "********");
  EXPECT_EQ(setting(j, "config_file")["value"], cfg);
  EXPECT_EQ(j["embeddedDb"], false);
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

TEST(CliConventions, JsonKeysAreCamelCaseInEveryCommand) {
  StateDirGuard state;
  const std::map<std::string, std::string> env = {{"RESV_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none"},
                                                  {"RESV_CONFIG", ""}};
  const std::vector<std::vector<std::string>> commands = {
      {"config", "show"}, {"db", "status"}, {"seed", "festival", "--dry-run"}, {"server", "status"}};
  for (auto args : commands) {
    args.insert(args.begin(), {"--json", "--state-dir", state.path});
    auto r = run_resv(args, env);
    EXPECT_FALSE(r.out.empty()) << args[3] << ": " << r.err;
    EXPECT_EQ(other_keys(r.out), std::vector<std::string>{}) << args[3] << ": " << r.out;
  }
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

}  // namespace
