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
      {"kafka_brokers", &s.kafka_brokers}, {"state_dir", &s.state_dir}, {"runbook_dir", &s.runbook_dir},
      {"config_file", &s.config_file},
  };
  if (ctx.out().json()) {
    // A setting's name is data (the config file's key, as the table shows
    // it), not a JSON key: the keys stay camelCase like every other --json.
    nlohmann::json settings = nlohmann::json::array();
    for (const auto& [name, setting] : rows)
      settings.push_back({{"name", name}, {"value", setting->shown()}, {"source", setting->source}});
    ctx.out().print_json({{"settings", settings}, {"embeddedDb", s.embedded_db}});
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
      "A setting is named as in the config file (database_url, admin_url, admin_token,\n"
      "kafka_brokers, state_dir, runbook_dir) and config_file is the file read, if any.\n"
      "\n"
      "Examples:\n"
      "  resv config show\n"
      "  resv config show --json | jq -r '.settings[] | select(.name == \"database_url\") | .value'\n"
      "\n"
      "JSON (--json):\n"
      "  {\"settings\": [{\"name\": \"database_url\"|\"admin_url\"|\"admin_token\"|\"kafka_brokers\"|\"state_dir\"|\n"
      "                 \"runbook_dir\"|\"config_file\",\n"
      "                 \"value\": string (secrets masked; \"\" when unset), \"source\": string}],\n"
      "   \"embeddedDb\": bool (the database is the embedded cluster)}");
  ctx.on_run(show, [&ctx] { return run_config_show(ctx); });
}

}  // namespace resv::cli
