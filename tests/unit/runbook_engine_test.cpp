// The runbook engine (core/ops/runbook.h) with a scripted executor: parsing
// and its located errors, variables, expectations, jumps, waits, asking,
// dry runs and exit codes, without processes or a terminal.
#include <gtest/gtest.h>

#include <deque>

#include "ops/runbook.h"

namespace resv {
namespace {

const char* kBook = R"(
name = "demo"
title = "A demo"
checks = ["queue_paused"]
[vars]
who = "tester"

[[steps]]
name = "find"
kind = "diagnose"
run = ["doctor", "--check", "queue_paused", "--json"]
expect_exit = [4]
set = { concert = "/checks/0/details/concertId" }
on_fail = "goto:confirm"

[[steps]]
name = "fix"
kind = "mitigate"
run = ["queue", "resume", "--concert", "{concert}", "--actor", "{who}", "--yes"]

[[steps]]
name = "confirm"
kind = "verify"
run = ["doctor", "--check", "queue_paused", "--json"]
expect = [{ pointer = "/verdict", op = "equals", value = "ok" }]
wait = "3s"
explain = "still paused"
)";

Runbook book(const std::string& text = kBook) {
  auto rb = parse_runbook(text, "demo.toml");
  EXPECT_TRUE(rb.ok()) << rb.status().message();
  return rb.value();
}

// Answers each command from a script, in order, and records what ran.
struct Script {
  std::deque<ExecResult> answers;
  std::vector<std::vector<std::string>> ran;
  StepExecutor exec() {
    return [this](const std::vector<std::string>& args) {
      ran.push_back(args);
      if (answers.empty()) return ExecResult{99, "", "unscripted"};
      ExecResult r = answers.front();
      answers.pop_front();
      return r;
    };
  }
};

const std::string kPaused = R"({"verdict": "fail", "checks": [{"details": {"concertId": 7}}]})";
const std::string kOk = R"({"verdict": "ok", "checks": []})";

RunOutcome run(const Runbook& rb, Script& s, RunbookOptions o, bool answer = true, int* asked = nullptr,
               int* slept = nullptr) {
  return run_runbook(
      rb, o, s.exec(),
      [&](const RunbookStep&, const std::vector<std::string>&) {
        if (asked) ++*asked;
        return answer;
      },
      [](const StepRun&) {},
      [&](std::chrono::milliseconds) {
        if (slept) ++*slept;
        return true;
      });
}

TEST(RunbookEngine, DiagnosesCapturesAVariableMitigatesAndVerifiesTheIncidentIsOver) {
  Script s;
  s.answers = {{4, kPaused, ""}, {0, "", ""}, {0, kOk, ""}};
  RunbookOptions o;
  o.yes = true;
  auto r = run(book(), s, o);
  EXPECT_EQ(r.exit_code, 0) << r.summary;
  ASSERT_EQ(s.ran.size(), 3u);
  EXPECT_EQ(s.ran[1], (std::vector<std::string>{"queue", "resume", "--concert", "7", "--actor", "tester", "--yes"}));
  EXPECT_EQ(r.vars.at("concert"), "7");
  EXPECT_EQ(r.steps.size(), 3u);
  EXPECT_TRUE(r.steps[2].met);
}

TEST(RunbookEngine, NothingWrongJumpsToTheVerificationAndChangesNothing) {
  Script s;
  s.answers = {{0, kOk, ""}, {0, kOk, ""}};
  int asked = 0;
  auto r = run(book(), s, {}, true, &asked);
  EXPECT_EQ(r.exit_code, 0) << r.summary;
  EXPECT_EQ(s.ran.size(), 2u) << "find, then confirm: the fix is skipped";
  EXPECT_EQ(asked, 0);
}

TEST(RunbookEngine, AVerifyStepIsRetriedWithinItsWaitAndNotMetExitsFourSayingWhat) {
  Script s;
  s.answers = {{4, kPaused, ""}, {0, "", ""}, {0, kPaused, ""}, {0, kOk, ""}};
  RunbookOptions o;
  o.yes = true;
  int slept = 0;
  auto r = run(book(), s, o, true, nullptr, &slept);
  EXPECT_EQ(r.exit_code, 0) << r.summary;
  EXPECT_EQ(r.steps.back().attempts, 2);
  EXPECT_EQ(slept, 1);

  Runbook no_wait = book();
  no_wait.steps[2].wait = std::chrono::milliseconds(0);
  Script t;
  t.answers = {{4, kPaused, ""}, {0, "", ""}, {0, kPaused, ""}};
  auto still = run(no_wait, t, o);
  EXPECT_EQ(still.exit_code, 4);
  EXPECT_EQ(still.summary, "stopped at step confirm: still paused (/verdict is \"fail\", expected equals \"ok\")");
}

TEST(RunbookEngine, AMitigateStepIsAskedAndADeclineStopsWithNothingMoreChanged) {
  Script s;
  s.answers = {{4, kPaused, ""}};
  int asked = 0;
  auto r = run(book(), s, {}, false, &asked);
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(s.ran.size(), 1u) << "the declined step did not run";
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[1].answer, false);
  EXPECT_TRUE(r.summary.find("declined") != std::string::npos) << r.summary;
}

TEST(RunbookEngine, ADryRunRunsDiagnoseStepsOnlyAndSaysWhatItWouldChange) {
  Script s;
  s.answers = {{4, kPaused, ""}};
  RunbookOptions o;
  o.dry_run = true;
  int asked = 0;
  auto r = run(book(), s, o, true, &asked);
  EXPECT_EQ(s.ran.size(), 1u);
  EXPECT_EQ(asked, 0);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.summary, "dry run: would change 1 thing(s): fix");
  EXPECT_EQ(r.steps[1].command[3], "7") << "shown with its variables";
  EXPECT_EQ(r.steps[1].exit_code, -1);
}

TEST(RunbookEngine, AMissingVariableIsARunbookErrorNamingIt) {
  Script s;
  s.answers = {{4, R"({"checks": []})", ""}};
  RunbookOptions o;
  o.yes = true;
  auto r = run(book(), s, o);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.summary, "runbook error: step fix needs the variable 'concert': give --var concert=VALUE");
  o.vars["concert"] = "3";
  Script t;
  t.answers = {{4, R"({"checks": []})", ""}, {0, "", ""}, {0, kOk, ""}};
  EXPECT_EQ(run(book(), t, o).exit_code, 0) << "--var gives it";
}

TEST(RunbookEngine, AnUnreachableDependencyAtAStopExitsThree) {
  Script s;
  s.answers = {{4, kPaused, ""}, {3, "", "cannot connect"}};
  RunbookOptions o;
  o.yes = true;
  EXPECT_EQ(run(book(), s, o).exit_code, 3);
}

TEST(RunbookEngine, AGotoLoopEndsAsARunbookError) {
  auto rb = book(R"(
name = "loop"
title = "Loops"
[[steps]]
name = "a"
kind = "diagnose"
run = ["doctor"]
on_fail = "goto:a"
)");
  Script s;
  for (int i = 0; i < 200; ++i) s.answers.push_back({4, "", ""});
  EXPECT_EQ(run(rb, s, {}).exit_code, 1);
  EXPECT_EQ(s.ran.size(), 100u);
}

TEST(RunbookParse, EveryMistakeNamesItsLineAndField) {
  auto bad = [](const std::string& text) {
    auto rb = parse_runbook(text, "x.toml");
    EXPECT_FALSE(rb.ok());
    return rb.ok() ? std::string() : rb.status().message();
  };
  EXPECT_EQ(bad("name = \"x\"\ntitle = \"t\"\n[[steps]]\nname = \"a\"\nkind = \"fix\"\nrun = [\"doctor\"]\n"),
            "x.toml line 5: steps[0].kind: 'fix' is not diagnose, mitigate or verify");
  EXPECT_EQ(bad("name = \"x\"\ntitle = \"t\"\n[[steps]]\nname = \"a\"\nkind = \"verify\"\nrun = [\"doctor\"]\n"
                "expect = [{ pointer = \"verdict\", op = \"equals\", value = 1 }]\n"),
            "x.toml line 7: steps[0].expect[0].pointer: 'verdict' is no JSON pointer (\"/checks/0/state\")");
  EXPECT_EQ(bad("name = \"x\"\ntitle = \"t\"\n[[steps]]\nname = \"a\"\nkind = \"verify\"\nrun = [\"doctor\"]\n"
                "on_fail = \"goto:b\"\n"),
            "x.toml line 3: on_fail: no step 'b'");
  EXPECT_EQ(bad("name = \"x\"\ntitle = \"t\"\n[[steps]]\nname = \"a\"\nkind = \"verify\"\nrun = [\"doctor\"]\n"
                "wiat = \"3s\"\n"),
            "x.toml line 7: steps[0].wiat: unknown key (known: expect, expect_exit, explain, kind, name, on_fail, on_met, "
            "run, set, title, wait)");
  EXPECT_EQ(bad("name = \"x\"\ntitle = \"t\"\n[[steps]]\nname = \"a\"\nkind = \"verify\"\n"),
            "x.toml line 3: steps[0].run: missing");
  EXPECT_TRUE(bad("name = \"x\"\ntitle = \n").rfind("x.toml line 2: ", 0) == 0) << bad("name = \"x\"\ntitle = \n");
}

TEST(RunbookParse, TheBuiltInRunbooksParseAndTheirStepsNameRealVerbs) {
  ASSERT_FALSE(builtin_runbook_names().empty());
  auto all = load_runbooks("");
  ASSERT_TRUE(all.ok()) << all.status().message();
  for (const auto& rb : all.value()) {
    EXPECT_EQ(rb.source, "built-in");
    bool verifies = false;
    for (const auto& s : rb.steps) verifies = verifies || s.kind == "verify";
    EXPECT_TRUE(verifies) << rb.name << " never verifies that the incident is over";
  }
}

TEST(RunbookSubstitute, ReplacesEveryVariableAndNamesAMissingOne) {
  std::string missing;
  auto out = substitute({"--concert", "{c}", "a{x}b{c}"}, {{"c", "7"}, {"x", "-"}}, missing);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, (std::vector<std::string>{"--concert", "7", "a-b7"}));
  EXPECT_FALSE(substitute({"{nope}"}, {}, missing));
  EXPECT_EQ(missing, "nope");
}

}  // namespace
}  // namespace resv
