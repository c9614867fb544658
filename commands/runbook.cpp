// resv runbook list | show NAME | run NAME | history: incident runbooks as
// data (core/ops/runbook.h). `run` executes each step as a resv process of
// its own with this run's settings, asks before every mitigate step (or
// takes --yes), and writes a transcript of every step to the state
// directory.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/interrupt.h"
#include "cli/state.h"
#include "ops/runbook.h"

extern char** environ;

namespace resv::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct RunbookFlags {
  std::string dir;  // --runbook-dir
  std::string name;
  bool yes = false;
  bool dry_run = false;
  std::vector<std::string> vars;  // K=V
  int limit = 20;
};

// --runbook-dir, else RESV_RUNBOOK_DIR or the config file's runbook_dir.
std::string user_dir(const Context& ctx, const RunbookFlags& f) {
  return !f.dir.empty() ? f.dir : ctx.settings().runbook_dir.value;
}

Expected<std::vector<Runbook>> runbooks(const Context& ctx, const RunbookFlags& f) {
  auto all = load_runbooks(user_dir(ctx, f));
  if (!all.ok()) return Outcome::Failed(all.status().message(), "fix the file, or leave its folder out (--runbook-dir)");
  return all.value();
}

Expected<Runbook> find(const Context& ctx, const RunbookFlags& f) {
  auto all = runbooks(ctx, f);
  if (!all.ok()) return all.outcome();
  std::string names;
  for (auto& rb : all.value()) {
    if (rb.name == f.name) return rb;
    names += (names.empty() ? "" : ", ") + rb.name;
  }
  return Outcome::Usage("no runbook '" + f.name + "' (runbooks: " + names + ")", "'resv runbook list' shows them");
}

std::string command_text(const std::vector<std::string>& args) {
  std::string s = "resv";
  for (const auto& a : args) {
    const bool plain = !a.empty() && a.find_first_of(" '\"$`\\|&;<>()*?") == std::string::npos;
    s += " " + (plain ? a : "'" + a + "'");
  }
  return s;
}

// ---- list, show -------------------------------------------------------------------

Outcome run_list(const Context& ctx, const RunbookFlags& f) {
  auto all = runbooks(ctx, f);
  if (!all.ok()) return all.outcome();
  if (ctx.out().json()) {
    json items = json::array();
    for (const auto& rb : all.value())
      items.push_back({{"name", rb.name}, {"title", rb.title}, {"source", rb.source}, {"checks", rb.checks},
                       {"steps", rb.steps.size()}});
    ctx.out().print_json({{"runbooks", items}});
    return Outcome::Ok();
  }
  Table t({"NAME", "STEPS", "DOCTOR CHECKS", "TITLE"});
  for (const auto& rb : all.value()) {
    std::string checks;
    for (const auto& c : rb.checks) checks += (checks.empty() ? "" : ",") + c;
    t.add({rb.name + (rb.source == "built-in" ? "" : " *"), std::to_string(rb.steps.size()), checks, rb.title});
  }
  ctx.out().data(t.render());
  if (!user_dir(ctx, f).empty()) ctx.out().info("*: from " + user_dir(ctx, f));
  return Outcome::Ok();
}

json step_json(const RunbookStep& s) {
  json expect = json::array();
  for (const auto& c : s.expect) expect.push_back({{"pointer", c.pointer}, {"op", c.op}, {"value", c.value}});
  return {{"name", s.name},          {"kind", s.kind},       {"title", s.title},
          {"run", s.run},            {"expectExit", s.expect_exit},
          {"expect", expect},        {"set", s.set},         {"onFail", s.on_fail.empty() ? json(nullptr) : json(s.on_fail)},
          {"onMet", s.on_met.empty() ? json(nullptr) : json(s.on_met)},
          {"waitSeconds", s.wait.count() / 1000.0}, {"explain", s.explain}};
}

Outcome run_show(const Context& ctx, const RunbookFlags& f) {
  auto rb = find(ctx, f);
  if (!rb.ok()) return rb.outcome();
  if (ctx.out().json()) {
    json steps = json::array();
    for (const auto& s : rb->steps) steps.push_back(step_json(s));
    ctx.out().print_json({{"name", rb->name}, {"title", rb->title}, {"source", rb->source}, {"symptoms", rb->symptoms},
                          {"checks", rb->checks}, {"vars", rb->vars}, {"steps", steps}});
    return Outcome::Ok();
  }
  std::string text = rb->name + ": " + rb->title + "\n";
  for (const auto& s : rb->symptoms) text += "  symptom: " + s + "\n";
  if (!rb->checks.empty()) {
    std::string checks;
    for (const auto& c : rb->checks) checks += (checks.empty() ? "" : ", ") + c;
    text += "  doctor checks: " + checks + "\n";
  }
  text += "  source: " + rb->source + "\n\n";
  int i = 0;
  for (const auto& s : rb->steps) {
    text += std::to_string(++i) + ". " + s.name + " (" + s.kind + "): " + s.title + "\n   " + command_text(s.run) + "\n";
    std::string expect = "exit ";
    for (size_t k = 0; k < s.expect_exit.size(); ++k) expect += (k ? " or " : "") + std::to_string(s.expect_exit[k]);
    for (const auto& c : s.expect) expect += ", " + c.pointer + " " + c.op + (c.op == "exists" ? "" : " " + c.value.dump());
    if (s.wait.count() > 0) expect += ", within " + std::to_string(s.wait.count() / 1000) + " s";
    const std::string on_fail = !s.on_fail.empty() ? s.on_fail : s.kind == "diagnose" ? "continue" : "stop";
    text += "   expects " + expect + "; otherwise " + on_fail + (s.on_met.empty() ? "" : "; when met " + s.on_met) + "\n";
  }
  ctx.out().data(text);
  return Outcome::Ok();
}

// ---- run --------------------------------------------------------------------------

// The environment of a step's resv: this one's, with the settings this run
// resolved from flags (the step has no flags of its own but its command's).
std::vector<std::string> step_environment(const Context& ctx) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  auto set = [&](const std::string& key, const std::string& value) {
    std::erase_if(env, [&](const std::string& kv) { return kv.rfind(key + "=", 0) == 0; });
    env.push_back(key + "=" + value);
  };
  const Settings& s = ctx.settings();
  auto from_flag = [](const Setting& x) { return x.source.rfind("flag", 0) == 0; };
  set("RESV_STATE_DIR", ctx.state().root().string());
  if (from_flag(s.database_url)) set("RESV_DATABASE_URL", s.database_url.value);
  if (from_flag(s.admin_url)) set("RESV_ADMIN_URL", s.admin_url.value);
  if (from_flag(s.admin_token)) set("RESV_ADMIN_TOKEN", s.admin_token.value);
  if (from_flag(s.kafka_brokers)) set("RESV_KAFKA_BROKERS", s.kafka_brokers.value);
  set("NO_COLOR", "1");
  return env;
}

ExecResult run_resv_process(const std::vector<std::string>& args, const std::vector<std::string>& env,
                            const fs::path& scratch) {
  const fs::path out = scratch / "out", err = scratch / "err";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> argv_s{"resv"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = env;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ExecResult r;
  if (rc != 0) {
    r.exit_code = 1;
    r.err = std::string("cannot start resv: ") + std::strerror(rc);
    return r;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

json transcript_json(const Runbook& rb, const RunbookFlags& f, const RunOutcome& o, const std::string& started,
                     const std::string& ended) {
  json steps = json::array();
  for (const auto& s : o.steps)
    steps.push_back({{"step", s.step},
                     {"kind", s.kind},
                     {"command", s.command},
                     {"exitCode", s.exit_code < 0 ? json(nullptr) : json(s.exit_code)},
                     {"met", s.met},
                     {"why", s.why.empty() ? json(nullptr) : json(s.why)},
                     {"attempts", s.attempts},
                     {"seconds", s.seconds},
                     {"answer", s.answer ? json(*s.answer ? "yes" : "no") : json(nullptr)},
                     {"stdout", s.out},
                     {"stderr", s.err}});
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  return {{"runbook", rb.name},     {"source", rb.source},  {"user", os_user_name()},    {"host", host},
          {"startedAt", started},   {"endedAt", ended},     {"dryRun", f.dry_run},       {"yes", f.yes},
          {"vars", o.vars},         {"exitCode", o.exit_code}, {"summary", o.summary},   {"steps", steps}};
}

Outcome run_run(const Context& ctx, const RunbookFlags& f) {
  auto rb = find(ctx, f);
  if (!rb.ok()) return rb.outcome();
  RunbookOptions o;
  o.yes = f.yes;
  o.dry_run = f.dry_run;
  for (const auto& kv : f.vars) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return Outcome::Usage("--var '" + kv + "' is not NAME=VALUE", "e.g. --var concert=3");
    o.vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  const bool mitigates = std::any_of(rb->steps.begin(), rb->steps.end(), [](const auto& s) { return s.kind == "mitigate"; });
  // Refused before anything runs: half a runbook is worse than none.
  if (mitigates && !f.yes && !f.dry_run && ::isatty(STDIN_FILENO) != 1)
    return Outcome::Usage("runbook " + rb->name + " changes things (its mitigate steps) and standard input is not a "
                          "terminal to ask on",
                          "pass --yes to run them, or --dry-run to diagnose only: resv runbook run " + rb->name +
                              " --dry-run");
  const fs::path dir = ctx.state().root() / "runbooks";
  std::error_code ec;
  fs::create_directories(dir, ec);
  char tmpl[] = "/tmp/resv-runbook-XXXXXX";
  if (!::mkdtemp(tmpl)) return Outcome::Failed("cannot make a scratch folder in /tmp", "check /tmp's space and rights");
  const fs::path scratch = tmpl;
  const auto env = step_environment(ctx);
  const Output& out = ctx.out();
  const std::string started = now_iso8601();
  size_t shown = 0;
  out.info("runbook " + rb->name + ": " + rb->title + (f.dry_run ? " (dry run: diagnose steps only)" : ""));
  RunOutcome result = run_runbook(
      rb.value(), o, [&](const std::vector<std::string>& args) { return run_resv_process(args, env, scratch); },
      [&](const RunbookStep& step, const std::vector<std::string>& command) {
        std::fprintf(stderr, "step %s (mitigate): %s\n  %s\n", step.name.c_str(), step.title.c_str(),
                     command_text(command).c_str());
        return confirm(ctx, "run it?", false).ok();
      },
      [&](const StepRun& r) {
        ++shown;
        std::string line = "[" + std::to_string(shown) + "] " + r.step + " (" + r.kind + "): ";
        if (r.exit_code < 0) line += r.why.empty() ? "not run" : r.why;
        else line += (r.met ? "ok" : "NOT MET: " + r.why) + " (exit " + std::to_string(r.exit_code) + ")";
        line += "  " + command_text(r.command);
        out.info(line);
      },
      [](std::chrono::milliseconds d) { return !sleep_unless_interrupted(d); });
  fs::remove_all(scratch, ec);
  const json transcript = transcript_json(rb.value(), f, result, started, now_iso8601());
  std::string stamp = started;
  std::replace(stamp.begin(), stamp.end(), ':', '-');
  const fs::path file = dir / (stamp + "-" + rb->name + "-" + std::to_string(::getpid()) + ".json");
  if (auto s = write_file_atomic(file, transcript.dump(2) + "\n", 0600); !s.ok())
    out.warn("the transcript could not be written to " + file.string() + ": " + s.message());
  if (out.json()) {
    json j = transcript;
    j["transcript"] = file.string();
    out.print_json(j);
  } else {
    Table t({"STEP", "KIND", "EXIT", "RESULT", "SECONDS"});
    for (const auto& s : result.steps) {
      char secs[16];
      std::snprintf(secs, sizeof secs, "%.1f", s.seconds);
      t.add({s.step, s.kind, s.exit_code < 0 ? "-" : std::to_string(s.exit_code),
             s.exit_code < 0 ? (s.why.empty() ? "not run" : s.why) : s.met ? out.green("ok") : out.red("not met"), secs});
    }
    out.data(t.render() + "\n" + result.summary + "\ntranscript: " + file.string() + "\n");
  }
  switch (result.exit_code) {
    case 0: return Outcome::Ok();
    case 3: return Outcome::Unreachable(result.summary, "the transcript names the step: resv runbook history");
    case 4: return Outcome::Problem(result.summary, "resv doctor shows what is still wrong");
    default: return Outcome::Failed(result.summary, "resv runbook show " + rb->name);
  }
}

// ---- history ------------------------------------------------------------------------

Outcome run_history(const Context& ctx, const RunbookFlags& f) {
  const fs::path dir = ctx.state().root() / "runbooks";
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.rbegin(), files.rend());  // names start with the time: newest first
  if (files.size() > static_cast<size_t>(f.limit)) files.resize(static_cast<size_t>(f.limit));
  json items = json::array();
  Table t({"STARTED", "RUNBOOK", "USER", "EXIT", "STEPS", "SUMMARY"});
  for (const auto& p : files) {
    std::ifstream in(p);
    json j = json::parse(in, nullptr, false);
    if (!j.is_object()) continue;
    items.push_back({{"file", p.string()},
                     {"runbook", j.value("runbook", "")},
                     {"user", j.value("user", "")},
                     {"startedAt", j.value("startedAt", "")},
                     {"exitCode", j.value("exitCode", -1)},
                     {"steps", j.contains("steps") ? j["steps"].size() : 0},
                     {"dryRun", j.value("dryRun", false)},
                     {"summary", j.value("summary", "")}});
    std::string summary = j.value("summary", "");
    if (summary.size() > 60 && ctx.out().verbose() == 0) summary = summary.substr(0, 57) + "...";
    t.add({j.value("startedAt", ""), j.value("runbook", "") + (j.value("dryRun", false) ? " (dry run)" : ""),
           j.value("user", ""), std::to_string(j.value("exitCode", -1)),
           std::to_string(j.contains("steps") ? j["steps"].size() : 0), summary});
  }
  if (ctx.out().json())
    ctx.out().print_json({{"runs", items}});
  else if (!items.empty())
    ctx.out().data(t.render());
  else
    ctx.out().info("no runbook has run with the state directory " + ctx.state().root().string());
  return Outcome::Ok();
}

}  // namespace

void register_runbook(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<RunbookFlags>();
  auto* group = app.add_subcommand("runbook", "Incident runbooks: diagnose, mitigate after asking, verify, keep a transcript");
  group->require_subcommand(1);
  group->fallthrough();  // --runbook-dir after the verb too
  group->add_option("--runbook-dir", f->dir, "Runbooks of your own (*.toml) beside the built-in ones; same name overrides (env RESV_RUNBOOK_DIR, config runbook_dir)")
      ->type_name("DIR");
  group->footer(
      "A runbook is a TOML file whose ordered steps are resv commands with expectations (its exit code,\n"
      "fields of its --json output). Built in: runbooks/ of the source tree. 'resv runbook show NAME'\n"
      "prints every step. Transcripts go to STATE_DIR/runbooks/, one JSON file per run.\n"
      "\n"
      "Examples:\n"
      "  resv runbook list\n"
      "  resv runbook show lock-blocking\n"
      "  resv runbook run queue-paused --dry-run\n"
      "  resv runbook run lock-blocking --yes --json > incident.json\n"
      "  resv runbook history");

  auto* list = group->add_subcommand("list", "The runbooks: built-in and your own");
  list->footer("JSON (--json): {\"runbooks\": [{\"name\": string, \"title\": string, \"source\": \"built-in\"|string,\n"
               "  \"checks\": [string], \"steps\": int}]}");
  ctx.on_run(list, [&ctx, f] { return run_list(ctx, *f); });

  auto* show = group->add_subcommand("show", "A runbook's symptoms and every step with its command and expectation");
  show->add_option("name", f->name, "The runbook")->required()->type_name("NAME");
  ctx.on_run(show, [&ctx, f] { return run_show(ctx, *f); });

  auto* run = group->add_subcommand("run", "Run a runbook: diagnose, ask before each change, verify the incident is over");
  run->add_option("name", f->name, "The runbook")->required()->type_name("NAME");
  run->add_flag("-y,--yes", f->yes, "Run mitigate steps without asking (needed when stdin is not a terminal)");
  run->add_flag("--dry-run", f->dry_run, "Run the diagnose steps only; show the changes it would make");
  run->add_option("--var", f->vars, "A variable for its steps (repeatable): NAME=VALUE")->type_name("NAME=VALUE");
  run->footer(
      "Diagnose steps run at once; each mitigate step is shown with its exact command and asked for\n"
      "(--yes: not asked); verify steps decide whether the incident is over. A step not meeting its\n"
      "expectation stops the run, goes on, or jumps, as the runbook says.\n"
      "\n"
      "Exit codes: 0 the incident is over (every verify step met), 4 it is not (or a change was declined),\n"
      "3 a step could not reach a dependency, 2 a bad option or no terminal to ask on without --yes,\n"
      "1 a runbook error (a variable missing).\n"
      "\n"
      "JSON (--json): the transcript: {\"runbook\": string, \"source\": string, \"user\": string, \"host\": string,\n"
      "  \"startedAt\": string, \"endedAt\": string, \"dryRun\": bool, \"yes\": bool, \"vars\": object,\n"
      "  \"exitCode\": int, \"summary\": string, \"transcript\": string (its file),\n"
      "  \"steps\": [{\"step\": string, \"kind\": string, \"command\": [string], \"exitCode\": int|null,\n"
      "              \"met\": bool, \"why\": string|null, \"attempts\": int, \"seconds\": number,\n"
      "              \"answer\": \"yes\"|\"no\"|null, \"stdout\": string, \"stderr\": string}]}");
  ctx.on_run(run, [&ctx, f] { return run_run(ctx, *f); });

  auto* history = group->add_subcommand("history", "Past runs, newest first, from their transcripts");
  history->add_option("-n,--limit", f->limit, "How many")->capture_default_str()->check(CLI::Range(1, 10000));
  history->footer("JSON (--json): {\"runs\": [{\"file\": string, \"runbook\": string, \"user\": string, \"startedAt\": string,\n"
                  "  \"exitCode\": int, \"steps\": int, \"dryRun\": bool, \"summary\": string}]}");
  ctx.on_run(history, [&ctx, f] { return run_history(ctx, *f); });
}

}  // namespace resv::cli
