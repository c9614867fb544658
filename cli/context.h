#pragma once
// What every command gets: the global flags, the resolved settings, the
// output conventions, and the registry that ties a CLI11 subcommand to the
// function that runs it (and an option to its enumerated values, for
// completions). CLI11 types are only forward-declared here.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/outcome.h"
#include "cli/output.h"
#include "cli/settings.h"
#include "cli/state.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace resv::cli {

struct GlobalFlags {
  OutputOptions output;
  SettingFlags settings;
};

// Whether an option's values are short enough to list in --help and the
// man page ("--format {table,json}"); a longer list would overflow their
// lines, and the command's footer lists the values instead.
bool choices_fit(const std::vector<std::string>& values);

class Context {
 public:
  using Runner = std::function<Outcome()>;

  GlobalFlags flags;
  std::string program = "resv";  // as invoked (main sets argv[0] when it is a path)

  // Valid while a command runs (after parsing).
  const Output& out() const { return *out_; }
  const Settings& settings() const { return *settings_; }
  StateDir state() const { return StateDir{settings_->state_dir.value}; }

  // The database URL, or Unreachable with a hint when none is configured and
  // the embedded cluster does not exist yet.
  Expected<std::string> database_url() const;
  // The Kafka brokers, or Unreachable with a hint when none are configured
  // and the embedded broker does not run.
  Expected<std::string> kafka_brokers() const;

  // `run` runs when `cmd` is the command selected on the command line.
  void on_run(CLI::App* cmd, Runner run) { runners_[cmd] = std::move(run); }
  // Records the values `opt` accepts (and checks them): completions offer them,
  // and --help lists them when they fit (else the command's footer must).
  CLI::Option* choices(CLI::Option* opt, std::vector<std::string> values);
  const std::vector<std::string>* choices_of(const CLI::Option* opt) const;

  // After parsing: sets up output and settings, runs the selected command,
  // prints its error. Returns the exit code.
  int run(CLI::App& app);

  // For tests: run with given output and settings, without parsing.
  void set_for_test(Output out, Settings s) {
    out_.emplace(std::move(out));
    settings_.emplace(std::move(s));
  }

 private:
  std::optional<Output> out_;
  mutable std::optional<Settings> settings_;  // the embedded URL is filled in once the cluster exists
  std::map<const CLI::App*, Runner> runners_;
  std::map<const CLI::Option*, std::vector<std::string>> choices_;
};

// Asks `question` on the terminal before changing data. Ok when `yes` is set
// or the answer is y/yes; Usage (with a hint to pass --yes) when standard
// input is not a terminal; Failed when the answer is no.
Outcome confirm(const Context& ctx, const std::string& question, bool yes);

// Who runs this command, for audit rows: the effective user's login name,
// else $USER, else "unknown".
std::string os_user_name();

// Adds --json, --db, --admin-url, --admin-token, --state-dir, --config,
// -v/--verbose, -q/--quiet, --no-color and --version to the top-level app.
void add_global_options(CLI::App& app, GlobalFlags& flags);

// The whole command tree (the top-level app, global options, every group):
// used by main, and by the completion and man page generators.
std::unique_ptr<CLI::App> build_cli(Context& ctx);

}  // namespace resv::cli
