// resv queue list: queue tokens with their place, status and times.
#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "commands/queue/queue.h"

namespace resv::cli::queue_cmd {

namespace {

using nlohmann::json;

struct ListFlags {
  std::optional<int64_t> concert;
  std::string status;
  int64_t limit = 50;
};

Outcome run_list(const Context& ctx, const ListFlags& f) {
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  QueueAdmin db(url.value());
  if (f.concert)
    if (auto c = concert_of(ctx, url.value(), db, *f.concert); !c.ok()) return c.outcome();
  QueueTokenFilter filter;
  filter.concert_id = f.concert;
  if (!f.status.empty()) filter.status = f.status;
  filter.limit = f.limit;
  auto page = db.tokens(filter);
  if (!page.ok()) return failure(ctx, url.value(), page.status());

  const auto& tokens = page->tokens;
  if (ctx.out().json()) {
    json items = json::array();
    for (const auto& t : tokens) items.push_back(token_json(t));
    ctx.out().print_json({{"tokens", items}});
  } else if (!tokens.empty()) {
    Table t({"CONCERT", "USER", "POSITION", "STATUS", "END-REASON", "ISSUED", "ADMITTED", "EXPIRES", "LAST-SEEN"});
    for (const auto& tok : tokens)
      t.add({std::to_string(tok.concert_id), std::to_string(tok.user_id), tok.position ? std::to_string(*tok.position) : "pre-queue", tok.status,
             tok.end_reason.value_or("-"), ago(tok.issued_ago), ago(tok.admitted_ago), until(tok.expires_in),
             ago(tok.last_seen_ago)});
    ctx.out().data(t.render());
  }
  const auto shown = static_cast<int64_t>(tokens.size());
  if (tokens.empty())
    ctx.out().info("no token matches");
  else if (page->total > shown)
    ctx.out().info("showing " + std::to_string(shown) + " of " + std::to_string(page->total) + " tokens; --limit N shows more");
  return Outcome::Ok();
}

}  // namespace

void add_list(CLI::App& queue, Context& ctx) {
  auto lf = std::make_shared<ListFlags>();
  auto* list = queue.add_subcommand("list", "List queue tokens: position, status, times");
  concert_option(list, lf->concert, "Only this concert");
  ctx.choices(list->add_option("--status", lf->status, "Only tokens in this status"), {"WAITING", "ACTIVE", "EXPIRED"});
  list->add_option("--limit", lf->limit, "At most N tokens")->type_name("N")->check(positive())->capture_default_str();
  list->footer(
      "Ordered by concert, then place in line (pre-queue tokens, not placed yet, last). Times\n"
      "in the table are relative to the database's clock; --json has them as ISO 8601 UTC.\n"
      "When more tokens match than --limit, stderr says how many.\n"
      "\n"
      "Examples:\n"
      "  resv queue list --concert 12 --status WAITING --limit 20\n"
      "  resv queue list --status ACTIVE --json | jq '.tokens[].userId'\n"
      "\n"
      "JSON (--json):\n"
      "  {\"tokens\": [{\"concertId\": int, \"userId\": int, \"nonce\": string, \"position\": int|null,\n"
      "    \"status\": \"WAITING\"|\"ACTIVE\"|\"EXPIRED\", \"endReason\": \"TTL\"|\"PAID\"|\"ABANDONED\"|null,\n"
      "    \"issuedAt\": string, \"admittedAt\": string|null, \"expiresAt\": string|null,\n"
      "    \"lastSeenAt\": string, \"changeNo\": int}]}");
  ctx.on_run(list, [&ctx, lf] { return run_list(ctx, *lf); });
}

}  // namespace resv::cli::queue_cmd
