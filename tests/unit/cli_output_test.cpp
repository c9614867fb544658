// Output conventions and settings resolution of the resv CLI.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "captured_stream.h"
#include "cli/outcome.h"
#include "cli/output.h"
#include "cli/settings.h"
#include "cli/state.h"

namespace {

using namespace resv;
using namespace resv::cli;

using Captured = resv::test::CapturedStream;

EnvLookup env_of(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

struct TempDir {
  std::filesystem::path path = [] {
    char tmpl[] = "/tmp/resv-cli-test-XXXXXX";
    return std::filesystem::path(mkdtemp(tmpl));
  }();
  ~TempDir() { std::filesystem::remove_all(path); }
};

TEST(Table, PadsColumnsAndRightAlignsNumbers) {
  Table t({"NAME", "COUNT"});
  t.add({"a", "5"});
  t.add({"longer", "1234"});
  EXPECT_EQ(t.render(),
            "NAME    COUNT\n"
            "a           5\n"
            "longer   1234\n");
}

TEST(Table, ColourCodesDoNotCountForWidth) {
  Table t({"STATE", "X"});
  t.add({"\x1b[32mok\x1b[0m", "y"});
  t.add({"failed", "z"});
  EXPECT_EQ(t.render(), "STATE   X\n\x1b[32mok\x1b[0m      y\nfailed  z\n");
}

TEST(Output, NoColourWhenNotATerminal) {
  Captured out, err;
  Output o({}, false, false, out.f, err.f);
  EXPECT_EQ(o.green("ok"), "ok");
  EXPECT_EQ(o.red("bad", true), "bad");
}

TEST(Output, ColourOnATerminalUnlessNoColorOrJson) {
  Captured out, err;
  Output tty({}, true, true, out.f, err.f);
  EXPECT_EQ(tty.green("ok"), "\x1b[32mok\x1b[0m");
  Output flag({.no_color = true}, true, true, out.f, err.f);
  EXPECT_EQ(flag.green("ok"), "ok");
  Output json({.json = true}, true, true, out.f, err.f);
  EXPECT_EQ(json.green("ok"), "ok") << "JSON on stdout is never coloured";
  setenv("NO_COLOR", "1", 1);
  Output env({}, true, true, out.f, err.f);
  unsetenv("NO_COLOR");
  EXPECT_EQ(env.green("ok"), "ok");
}

TEST(Output, DataGoesToStdoutAndMessagesToStderr) {
  Captured out, err;
  Output o({}, false, false, out.f, err.f);
  o.data("row");
  o.info("working");
  o.print_json(nlohmann::json{{"a", 1}});
  EXPECT_EQ(out.text(), "row\n{\n  \"a\": 1\n}\n");
  EXPECT_EQ(err.text(), "working\n");
}

TEST(Output, QuietKeepsWarningsAndDropsInfo) {
  Captured out, err;
  Output o({.quiet = true}, false, false, out.f, err.f);
  o.info("working");
  o.warn("careful");
  EXPECT_EQ(err.text(), "resv: warning: careful\n");
}

TEST(Output, ProgressOnlyOnATerminal) {
  Captured out, err;
  Output pipe({}, false, false, out.f, err.f);
  pipe.progress("50%");
  pipe.progress_done();
  EXPECT_EQ(err.text(), "");
  Captured out2, err2;
  Output tty({}, false, true, out2.f, err2.f);
  tty.progress("50%");
  EXPECT_NE(err2.text().find("50%"), std::string::npos);
}

TEST(Output, FirstLineOfAMessageDropsPostgresDetailLines) {
  EXPECT_EQ(first_line("ERROR:  relation \"queue_concerts\" does not exist\nLINE 1: SELECT ..."),
            "ERROR:  relation \"queue_concerts\" does not exist");
  EXPECT_EQ(first_line("one line"), "one line");
  EXPECT_EQ(first_line(""), "");
  EXPECT_EQ(first_line("\nsecond"), "");
}

TEST(Outcome, MessageSaysWhatAndHint) {
  auto o = Outcome::Unreachable("database down", "run resv db up");
  EXPECT_EQ(o.code(), 3);
  EXPECT_EQ(o.message(), "resv: error: database down (hint: run resv db up)");
  EXPECT_EQ(Outcome::Problem().message(), "");
  EXPECT_EQ(Outcome::Problem().code(), 4);
}

TEST(Outcome, CoreStatusesMapToExitCodes) {
  EXPECT_EQ(Outcome::From(Status::DbUnavailable("x")).code(), 3);
  EXPECT_EQ(Outcome::From(Status::Invalid("x")).code(), 2);
  EXPECT_EQ(Outcome::From(Status::SoldOut("x")).code(), 1);
  EXPECT_TRUE(Outcome::From(Status::Ok()).ok());
}

TEST(Settings, FlagBeatsEnvironmentBeatsConfigFile) {
  TempDir dir;
  auto cfg = dir.path / "c.toml";
  std::ofstream(cfg) << "database_url = \"postgresql://cfg/db\"\nadmin_url = \"http://cfg:1\"\nstate_dir = \"" +
                            dir.path.string() + "\"\n";
  auto env = env_of({{"RESV_DATABASE_URL", "postgresql://env/db"}, {"RESV_ADMIN_URL", "http://env:2"}});
  auto s = resolve_settings({.config = cfg.string(), .db = "postgresql://flag/db"}, env);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->database_url.value, "postgresql://flag/db");
  EXPECT_EQ(s->database_url.source, "flag --db");
  EXPECT_EQ(s->admin_url.value, "http://env:2");
  EXPECT_EQ(s->admin_url.source, "env RESV_ADMIN_URL");
  EXPECT_EQ(s->state_dir.value, dir.path.string());
  EXPECT_EQ(s->state_dir.source, "config " + cfg.string());
  EXPECT_FALSE(s->embedded_db);
}

TEST(Settings, ConfigFileFromTheEnvironmentWhenNoFlag) {
  TempDir dir;
  auto cfg = dir.path / "c.toml";
  std::ofstream(cfg) << "admin_token = \"s3cret\"\n";
  auto s = resolve_settings({.state_dir = dir.path.string()}, env_of({{"RESV_CONFIG", cfg.string()}}));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->admin_token.value, "s3cret");
  EXPECT_EQ(s->admin_token.shown(), "********");
  EXPECT_EQ(s->config_file.source, "env RESV_CONFIG");
}

TEST(Settings, EmbeddedDefaultWhenNothingIsConfigured) {
  TempDir dir;
  auto s = resolve_settings({.state_dir = dir.path.string()}, env_of({}));
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->embedded_db);
  EXPECT_EQ(s->database_url.value, "") << "not created yet";
  StateDir(dir.path).save_embedded({.port = 54321, .password = "pw"});
  s = resolve_settings({.state_dir = dir.path.string()}, env_of({}));
  EXPECT_EQ(s->database_url.value, "postgresql://resv:pw@127.0.0.1:54321/resv");
  EXPECT_EQ(s->database_url.shown(), "postgresql://resv:****@127.0.0.1:54321/resv");
  EXPECT_EQ(std::filesystem::status(StateDir(dir.path).embedded_file()).permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none)
      << "the file holding the password is private";
}

TEST(Settings, AdminDefaultsComeFromRunningInstances) {
  TempDir dir;
  StateDir state(dir.path);
  state.save_instance({.index = 1, .pid = 1, .port = 8081, .admin_port = 9191});
  ASSERT_TRUE(state.ensure_admin_token().ok());
  auto s = resolve_settings({.state_dir = dir.path.string()}, env_of({}));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->admin_url.value, "http://127.0.0.1:9191");
  EXPECT_EQ(s->admin_token.value, state.admin_token());
  EXPECT_EQ(s->admin_token.value.size(), 48u);
}

TEST(Settings, MissingExplicitConfigFileIsAUsageError) {
  auto s = resolve_settings({.config = "/nonexistent/resv.toml"}, env_of({}));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::InvalidRequest);
  EXPECT_NE(s.status().message().find("/nonexistent/resv.toml"), std::string::npos);
}

TEST(Settings, AConfigPathThatIsNoRegularFileIsRefusedLikeAMissingOne) {
  TempDir dir;
  for (const std::string& path : {dir.path.string(), std::string("/dev/zero")}) {
    SCOPED_TRACE(path);
    auto s = resolve_settings({.config = path}, env_of({}));
    ASSERT_FALSE(s.ok()) << "read as an empty file";
    EXPECT_EQ(s.status().code(), ErrorCode::InvalidRequest);
    EXPECT_NE(s.status().message().find("not a regular file"), std::string::npos) << s.status().message();
  }
  auto big = dir.path / "big.toml";
  std::ofstream(big) << std::string((1 << 20) + 1, '#');
  auto s = resolve_settings({.config = big.string()}, env_of({}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("larger than"), std::string::npos) << s.status().message();
}

TEST(Settings, ConfigSyntaxErrorsAndUnknownKeysAreRefused) {
  TempDir dir;
  auto bad = dir.path / "bad.toml";
  std::ofstream(bad) << "database_url = \n";
  auto s = resolve_settings({.config = bad.string()}, env_of({}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("line 1"), std::string::npos) << s.status().message();
  auto unknown = dir.path / "unknown.toml";
  std::ofstream(unknown) << "databse_url = \"x\"\n";
  s = resolve_settings({.config = unknown.string()}, env_of({}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("unknown key 'databse_url'"), std::string::npos) << s.status().message();
}

TEST(Settings, UrlPasswordsAreMasked) {
  EXPECT_EQ(mask_url_password("postgresql://u:p@h:5/d"), "postgresql://u:****@h:5/d");
  EXPECT_EQ(mask_url_password("postgresql://u@h/d"), "postgresql://u@h/d");
  EXPECT_EQ(mask_url_password("postgresql:///resv"), "postgresql:///resv");
  EXPECT_EQ(mask_url_password("postgresql://h:5/d?x=a@b"), "postgresql://h:5/d?x=a@b");
}

}  // namespace
