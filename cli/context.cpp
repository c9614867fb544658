#include "cli/context.h"

#include <CLI/CLI.hpp>
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"
#include "resv/version.h"

namespace resv::cli {

Expected<std::string> Context::database_url() const {
  if (!settings_->database_url.value.empty()) return settings_->database_url.value;
  if (settings_->embedded_db)
    if (auto db = state().embedded()) {  // created since the settings were resolved (resv demo)
      settings_->database_url.value = db->url();
      settings_->database_url.source = "default (embedded cluster in " + settings_->state_dir.value + ")";
      return settings_->database_url.value;
    }
  return Outcome::Unreachable("no database is configured and the embedded cluster in " + settings_->state_dir.value +
                                  " has not been created",
                              "run 'resv db up', or give one with --db URL or RESV_DATABASE_URL");
}

Expected<std::string> Context::kafka_brokers() const {
  if (!settings_->kafka_brokers.value.empty()) return settings_->kafka_brokers.value;
  if (settings_->embedded_kafka)
    if (auto b = state().embedded_broker()) {  // started since the settings were resolved
      settings_->kafka_brokers.value = b->bootstrap;
      settings_->kafka_brokers.source = "default (embedded broker, pid " + std::to_string(b->pid) + ")";
      return b->bootstrap;
    }
  return Outcome::Unreachable("no Kafka brokers are configured and the embedded broker is not running",
                              "'resv server start' runs it; or give brokers with --kafka-brokers or RESV_KAFKA_BROKERS");
}

bool choices_fit(const std::vector<std::string>& values) {
  size_t width = 0;
  for (const auto& v : values) width += v.size() + 1;
  return width <= 60;
}

CLI::Option* Context::choices(CLI::Option* opt, std::vector<std::string> values) {
  auto member = CLI::IsMember(values);
  if (!choices_fit(values)) member.description("");
  opt->check(member);
  choices_[opt] = std::move(values);
  return opt;
}

const std::vector<std::string>* Context::choices_of(const CLI::Option* opt) const {
  auto it = choices_.find(opt);
  return it == choices_.end() ? nullptr : &it->second;
}

std::string os_user_name() {
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_name && *pw->pw_name) return pw->pw_name;
  if (const char* user = std::getenv("USER"); user && *user) return user;
  return "unknown";
}

int Context::run(CLI::App& app) {
  out_.emplace(flags.output);
  auto resolved = resolve_settings(flags.settings);
  Outcome outcome;
  if (!resolved.ok()) {
    outcome = Outcome::Usage(resolved.status().message(), "fix the file, or name another with --config or RESV_CONFIG");
  } else {
    settings_.emplace(std::move(resolved.value()));
    const std::pair<const char*, const Setting*> shown[] = {
        {"database_url", &settings_->database_url}, {"admin_url", &settings_->admin_url},
        {"kafka_brokers", &settings_->kafka_brokers}, {"state_dir", &settings_->state_dir}};
    for (const auto& [name, st] : shown)
      out_->detail(std::string("resv: ") + name + " = " + (st->value.empty() ? "-" : st->shown()) + "  [" +
                   st->source + "]");
    const CLI::App* cmd = &app;
    for (auto subs = cmd->get_subcommands(); !subs.empty(); subs = cmd->get_subcommands()) cmd = subs.front();
    auto it = runners_.find(cmd);
    if (it == runners_.end()) {
      out_->data(cmd->help());
      return 0;
    }
    try {
      outcome = it->second();
    } catch (const std::exception& e) {
      outcome = Outcome::Failed(std::string("unexpected error: ") + e.what(),
                                "this is a defect in resv: please report it with the command that was run");
    }
  }
  if (auto m = outcome.message(); !m.empty()) {
    const std::string prefix = "resv: error:";
    std::fprintf(stderr, "%s%s\n", out_->red(prefix, true).c_str(), m.substr(prefix.size()).c_str());
  }
  return outcome.code();
}

Outcome confirm(const Context& ctx, const std::string& question, bool yes) {
  if (yes) return Outcome::Ok();
  if (::isatty(STDIN_FILENO) != 1)
    return Outcome::Usage("refusing to go on without confirmation: " + question,
                          "standard input is not a terminal; pass --yes to confirm");
  std::fprintf(stderr, "%s [y/N] ", ctx.out().bold(question, true).c_str());
  std::fflush(stderr);
  std::string answer;
  for (int c = std::getchar(); c != EOF && c != '\n'; c = std::getchar()) answer += static_cast<char>(c);
  if (answer == "y" || answer == "Y" || answer == "yes" || answer == "YES") return Outcome::Ok();
  return Outcome::Failed("cancelled: nothing was changed", "answer 'y' to go on, or pass --yes");
}

void add_global_options(CLI::App& app, GlobalFlags& f) {
  app.set_version_flag("--version", version_line("resv"), "Print the version and exit");
  const char* g = "Global options";
  app.add_flag("--json", f.output.json, "Print data as JSON (schemas in resv(1))")->group(g);
  app.add_option("--db", f.settings.db, "PostgreSQL URL (default: the embedded cluster; env RESV_DATABASE_URL)")
      ->group(g);
  app.add_option("--admin-url", f.settings.admin_url, "resv-server admin API URL, or several comma-separated (env RESV_ADMIN_URL)")->group(g);
  app.add_option("--admin-token", f.settings.admin_token, "Admin API bearer token (env RESV_ADMIN_TOKEN)")->group(g);
  app.add_option("--kafka-brokers", f.settings.kafka_brokers,
                 "Kafka bootstrap servers (default: the embedded broker; env RESV_KAFKA_BROKERS)")
      ->group(g);
  app.add_option("--state-dir", f.settings.state_dir, "Where resv keeps its cluster, pidfiles, logs (env RESV_STATE_DIR)")
      ->group(g);
  app.add_option("--config", f.settings.config, "Config file, TOML (env RESV_CONFIG)")->group(g);
  app.add_flag("-v,--verbose", f.output.verbose, "More detail on stderr (repeatable)")->group(g);
  app.add_flag("-q,--quiet", f.output.quiet, "Only errors on stderr")->group(g);
  app.add_flag("--no-color", f.output.no_color, "No colour (also: NO_COLOR set)")->group(g);
}

std::unique_ptr<CLI::App> build_cli(Context& ctx) {
  auto app = std::make_unique<CLI::App>(
      "resv: operate resv-server and the PostgreSQL behind it, before, during and after a ticket opening", "resv");
  app->fallthrough();  // global options are accepted after the subcommand too
  app->require_subcommand(0, 1);
  app->failure_message([](const CLI::App* a, const CLI::Error& e) {
    std::string cmd;
    for (const CLI::App* p = a; p; p = p->get_parent()) cmd = p->get_name() + (cmd.empty() ? "" : " " + cmd);
    return "resv: error: " + std::string(e.what()) + " (hint: see '" + cmd + " --help')\n";
  });
  add_global_options(*app, ctx.flags);
  register_commands(*app, ctx);
  // Set last: subcommands created after it would inherit it.
  app->footer(
      "Examples:\n"
      "  resv demo                      # embedded PostgreSQL + server + a burst of reservations\n"
      "  resv db up && resv server start\n"
      "  resv server status --json\n"
      "\n"
      "Exit codes: 0 success, 1 failed, 2 usage error, 3 a dependency could not be reached,\n"
      "4 a check found a problem. See resv(1).");
  return app;
}

}  // namespace resv::cli
