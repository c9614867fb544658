// Completions and man pages are generated from the command tree: the
// checked-in files must match it, load in a real shell and render cleanly.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

#include "cli/context.h"
#include "cli/docgen.h"

namespace {

using namespace resv::cli;

std::string slurp(const std::string& path) {
  std::ifstream in(RESV_SOURCE_DIR + std::string("/") + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Shell {
  int code;
  std::string out;
};

Shell sh(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 512> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// What bash offers for the words of `line` (the last word is being completed).
std::string complete_in_bash(const std::string& words, int cword) {
  return sh("bash --norc -c 'source " RESV_SOURCE_DIR "/completions/resv.bash; COMP_WORDS=(" + words +
            "); COMP_CWORD=" + std::to_string(cword) + "; _resv; printf \"%s\\n\" \"${COMPREPLY[@]}\"'")
      .out;
}

struct Docs : ::testing::Test {
  Context ctx;
  std::unique_ptr<CLI::App> app = build_cli(ctx);
};

const char* kRegenerate = "stale generated file: run `ninja -C build docs` and commit the result";

TEST_F(Docs, CheckedInCompletionsMatchTheCommandTree) {
  EXPECT_EQ(slurp("completions/resv.bash"), bash_completion(*app, ctx)) << kRegenerate;
  EXPECT_EQ(slurp("completions/_resv"), zsh_completion(*app, ctx)) << kRegenerate;
  EXPECT_EQ(slurp("completions/resv.fish"), fish_completion(*app, ctx)) << kRegenerate;
}

TEST_F(Docs, CheckedInManPagesMatchTheCommandTrees) {
  EXPECT_EQ(slurp("man/resv.1"), resv_man_page(*app, ctx)) << kRegenerate;
  EXPECT_EQ(slurp("man/resv-server.8"), server_man_page()) << kRegenerate;
}

TEST_F(Docs, ManPageNamesEveryCommandAndOption) {
  std::string page = resv_man_page(*app, ctx);
  std::vector<const CLI::App*> todo{app.get()};
  int commands = 0;
  while (!todo.empty()) {
    const CLI::App* a = todo.back();
    todo.pop_back();
    for (const CLI::Option* o : a->get_options())
      for (const auto& l : o->get_lnames()) {
        if (l == "help") continue;
        std::string escaped = "\\-\\-";
        for (char ch : l) escaped += ch == '-' ? std::string("\\-") : std::string(1, ch);
        EXPECT_NE(page.find(escaped), std::string::npos) << "--" << l << " of '" << a->get_name() << "' is missing";
      }
    for (const CLI::App* sub : a->get_subcommands([](const CLI::App*) { return true; })) {
      ++commands;
      todo.push_back(sub);
    }
  }
  EXPECT_GT(commands, 3);
}

TEST_F(Docs, ManPagesRenderWithoutWarnings) {
  for (const char* page : {"man/resv.1", "man/resv-server.8"}) {
    auto r = sh(std::string("man --warnings -l ") + RESV_SOURCE_DIR + "/" + page + " 2>&1 >/dev/null");
    EXPECT_EQ(r.code, 0) << page;
    EXPECT_EQ(r.out, "") << page;
  }
}

TEST_F(Docs, BashCompletesTopLevelCommandsFromAPrefix) {
  std::string offered = complete_in_bash("resv se", 1);
  EXPECT_NE(offered.find("seed\n"), std::string::npos) << offered;
  EXPECT_NE(offered.find("server\n"), std::string::npos) << offered;
  EXPECT_EQ(offered.find("demo"), std::string::npos) << offered;
}

TEST_F(Docs, BashCompletesSubcommandsAndEnumeratedValues) {
  std::string shells = complete_in_bash("resv completion ''", 2);
  EXPECT_EQ(shells, "bash\nzsh\nfish\n");
  // A global option's value is skipped on the way down the tree.
  std::string config = complete_in_bash("resv --state-dir /tmp config ''", 4);
  EXPECT_EQ(config, "show\n");
  std::string opts = complete_in_bash("resv config show --js", 3);
  EXPECT_EQ(opts, "--json\n");
}

TEST_F(Docs, FishCompletesCommandsWithTheirDescriptions) {
  auto r = sh("fish --no-config -c \"source " RESV_SOURCE_DIR "/completions/resv.fish; complete -C 'resv se'\"");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("seed\t"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("server\t"), std::string::npos) << r.out;
  auto shells = sh("fish --no-config -c \"source " RESV_SOURCE_DIR "/completions/resv.fish; complete -C 'resv completion '\"");
  EXPECT_NE(shells.out.find("zsh\t"), std::string::npos) << shells.out;
}

// zsh's completion system needs a terminal; its helpers are stubbed to print
// what _resv offers for the words given.
TEST_F(Docs, ZshOffersSubcommandsForThePathTyped) {
  const std::string stubs =
      "compdef() { : }; _describe() { local arr=${@[-1]}; print -l -- ${(P)arr} }; "
      "compadd() { shift; print -l -- \"$@\" }; source " RESV_SOURCE_DIR "/completions/_resv; ";
  auto top = sh("zsh -f -c '" + stubs + "words=(resv se); CURRENT=2; _resv'");
  EXPECT_EQ(top.code, 0);
  EXPECT_NE(top.out.find("seed:"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("server:"), std::string::npos) << top.out;
  auto server = sh("zsh -f -c '" + stubs + "words=(resv --db x server st); CURRENT=5; _resv'");
  EXPECT_NE(server.out.find("start:"), std::string::npos) << server.out;
  EXPECT_EQ(server.out.find("seed:"), std::string::npos) << server.out;
}

}  // namespace
