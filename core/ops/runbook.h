#pragma once
// `resv runbook`: incident runbooks as data. A runbook is a TOML file
// (runbooks/NAME.toml, built into the binary; a user's folder adds or
// overrides) whose ordered steps are resv commands with expectations. The
// engine here is pure of processes and terminals: it runs a step through
// an executor and asks through an asker that the command supplies, so
// that its rules (expectations, variables, jumps, waits, dry runs, exit
// codes) are tested without either.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "db/migrations.h"

namespace resv {

// A condition on a field of a step's --json output.
struct RunbookCondition {
  std::string pointer;  // JSON pointer: "/verdict", "/checks/0/state"
  std::string op;       // equals, not_equals, less_than, greater_than, exists
  nlohmann::json value;
};

struct RunbookStep {
  std::string name;   // unique in its runbook
  std::string kind;   // diagnose, mitigate, verify
  std::string title;  // what it does, in words
  std::vector<std::string> run;  // resv's arguments; "{var}" is replaced by the variable
  std::vector<int> expect_exit{0};
  std::vector<RunbookCondition> expect;     // on the step's stdout as JSON
  std::map<std::string, std::string> set;  // variable -> JSON pointer into the output, once met
  // When the expectation is not met: "stop", "continue", or "goto:STEP".
  // Default: stop for mitigate and verify, continue for diagnose.
  std::string on_fail;
  // When it is met: "" (the next step) or "goto:STEP" (e.g. past the
  // stronger remedy when the gentler one worked).
  std::string on_met;
  std::string explain;  // what it means when the expectation is not met
  // Run again every second until met, for up to this long (0: once).
  std::chrono::milliseconds wait{0};
  int line = 0;  // where it starts in its file
};

struct Runbook {
  std::string name;
  std::string title;
  std::vector<std::string> symptoms;
  std::vector<std::string> checks;  // the doctor checks that point to it
  std::map<std::string, std::string> vars;  // defaults
  std::vector<RunbookStep> steps;
  std::string source;  // "built-in" or the file's path
};

// Parses a runbook file. InvalidRequest naming the file, the line and the
// field that is wrong ("queue-stuck.toml line 12: steps[2].kind: ...").
Result<Runbook> parse_runbook(const std::string& text, const std::string& source);

// The runbooks built into the binary (runbooks/*.toml), then those of
// `user_dir` (every *.toml in it; one with a built-in's name overrides it),
// by name. InvalidRequest for the first file that does not parse.
Result<std::vector<Runbook>> load_runbooks(const std::string& user_dir);

// Generated at build time from runbooks/ (cmake/embed_migrations.cmake):
// each file's name and its TOML text.
const std::vector<SqlFile>& bundled_runbook_files();

// The names of the built-in runbooks (resv doctor names them).
const std::vector<std::string>& builtin_runbook_names();

// ---- running ----------------------------------------------------------------------

struct StepRun {
  std::string step;
  std::string kind;
  std::vector<std::string> command;  // the arguments after substitution
  int exit_code = -1;                // -1: not run (a dry run's mitigate and verify steps)
  std::string out, err;
  double seconds = 0;
  int attempts = 0;
  bool met = false;
  std::string why;  // why the expectation was not met ("" when met)
  std::optional<bool> answer;  // mitigate steps asked: what the operator said
};

struct RunbookOptions {
  std::map<std::string, std::string> vars;  // --var K=V, over the runbook's defaults
  bool yes = false;      // mitigate steps run without asking
  bool dry_run = false;  // diagnose steps only; the others are shown, not run
};

struct RunOutcome {
  std::vector<StepRun> steps;
  std::map<std::string, std::string> vars;  // at the end
  // 0 the incident is over (every verify step met), 4 it is not (or the
  // operator declined a step), 3 a step could not reach a dependency, 1 a
  // runbook error (a variable missing, a jump to no step).
  int exit_code = 0;
  std::string summary;  // one line: what is still wrong, or that it is over
};

// How a step's command is run (resv with these arguments): exit code, stdout, stderr.
struct ExecResult {
  int exit_code = 0;
  std::string out, err;
};
using StepExecutor = std::function<ExecResult(const std::vector<std::string>& args)>;
// Asks the operator whether to run a mitigate step; true runs it.
using StepAsker = std::function<bool(const RunbookStep& step, const std::vector<std::string>& command)>;
// Called after each step, for progress.
using StepReporter = std::function<void(const StepRun& run)>;
// Sleeps between the attempts of a waiting step; false when interrupted.
using StepSleeper = std::function<bool(std::chrono::milliseconds)>;

RunOutcome run_runbook(const Runbook& rb, const RunbookOptions& o, const StepExecutor& exec, const StepAsker& ask,
                       const StepReporter& report, const StepSleeper& sleep);

// Pure: "{concert}" and the like replaced by their values; nullopt (with the
// name in `missing`) when a variable has no value.
std::optional<std::vector<std::string>> substitute(const std::vector<std::string>& args,
                                                   const std::map<std::string, std::string>& vars,
                                                   std::string& missing);

// Pure: whether `r` meets the step's expectations, and why not.
bool expectation_met(const RunbookStep& step, const ExecResult& r, std::string& why);

}  // namespace resv
