// resv config show: the resolved settings and where each came from.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"

namespace resv::cli {

namespace {

Outcome run_config_show(Context& ctx) {
  const Settings& s = ctx.settings();
  const std::pair<const char*, const Setting*> rows[] = {
      {"database_url", &s.database_url}, {"admin_url", &s.admin_url},     {"admin_token", &s.admin_token},
      {"state_dir", &s.state_dir},       {"config_file", &s.config_file},
  };
  if (ctx.out().json()) {
    nlohmann::json j = nlohmann::json::object();
    nlohmann::json sources = nlohmann::json::object();
    for (const auto& [name, setting] : rows) {
      j[name] = setting->shown();
      sources[name] = setting->source;
    }
    j["embedded_db"] = s.embedded_db;
    j["sources"] = sources;
    ctx.out().print_json(j);
    return Outcome::Ok();
  }
  Table t({"SETTING", "VALUE", "SOURCE"});
  for (const auto& [name, setting] : rows) t.add({name, setting->value.empty() ? "-" : setting->shown(), setting->source});
  ctx.out().data(t.render());
  return Outcome::Ok();
}

}  // namespace

void register_config(CLI::App& app, Context& ctx) {
  auto* config = app.add_subcommand("config", "Show the resolved settings");
  config->require_subcommand(1);
  auto* show = config->add_subcommand("show", "Print each setting, its value (secrets masked) and where it came from");
  show->footer(
      "Settings resolve as flags > RESV_* environment > config file > embedded default.\n"
      "\n"
      "Examples:\n"
      "  resv config show\n"
      "  resv config show --json | jq -r .database_url\n"
      "\n"
      "JSON (--json):\n"
      "  {\"database_url\": string, \"admin_url\": string, \"admin_token\": string (masked),\n"
      "   \"state_dir\": string, \"config_file\": string, \"embedded_db\": bool,\n"
      "   \"sources\": {<setting>: string}}");
  ctx.on_run(show, [&ctx] { return run_config_show(ctx); });
}

}  // namespace resv::cli
