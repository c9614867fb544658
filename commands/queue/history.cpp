// resv queue history: the audit log of queue actions, newest first.
#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/queue_args.h"
#include "commands/queue/queue.h"

namespace resv::cli::queue_cmd {

namespace {

using nlohmann::json;

struct HistoryFlags {
  std::optional<int64_t> concert;
  int64_t limit = 50;
};

Outcome run_history(const Context& ctx, const HistoryFlags& f) {
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  QueueAdmin db(url.value());
  auto entries = db.history(f.concert, f.limit);
  if (!entries.ok()) return failure(ctx, url.value(), entries.status());
  if (ctx.out().json()) {
    json items = json::array();
    for (const auto& e : entries.value()) items.push_back(audit_json(e));
    ctx.out().print_json({{"entries", items}});
  } else if (!entries->empty()) {
    Table t({"ID", "AT", "CONCERT", "ACTOR", "ACTION", "OLD", "NEW"});
    auto values = [](const json& j) {
      std::string text = key_value_text(j);
      return text.empty() ? std::string("-") : text;
    };
    for (const auto& e : entries.value())
      t.add({std::to_string(e.id), short_time(e.at), std::to_string(e.concert_id), e.actor, e.action,
             values(e.old_values), values(e.new_values)});
    ctx.out().data(t.render());
  }
  if (entries->empty())
    ctx.out().info(f.concert ? "no queue action was recorded for concert " + std::to_string(*f.concert)
                             : std::string("no queue action was recorded"));
  return Outcome::Ok();
}

}  // namespace

void add_history(CLI::App& queue, Context& ctx) {
  auto hf = std::make_shared<HistoryFlags>();
  auto* history = queue.add_subcommand("history", "Show the audit log of queue actions, newest first");
  concert_option(history, hf->concert, "Only this concert");
  history->add_option("--limit", hf->limit, "At most N entries")->type_name("N")->check(positive())->capture_default_str();
  history->footer(
      "Every enable, disable, pause, resume, set, admit and drain, with who did it and the\n"
      "values before and after (only those that changed).\n"
      "\n"
      "Examples:\n"
      "  resv queue history\n"
      "  resv queue history --concert 12 --limit 10 --json\n"
      "\n"
      "JSON (--json):\n"
      "  {\"entries\": [{\"id\": int, \"at\": string, \"concertId\": int, \"actor\": string,\n"
      "    \"action\": string, \"old\": {<key>: value}, \"new\": {<key>: value}}]}");
  ctx.on_run(history, [&ctx, hf] { return run_history(ctx, *hf); });
}

}  // namespace resv::cli::queue_cmd
