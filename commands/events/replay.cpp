// resv events replay: published events sent again by the relay (a consumer
// that lost its data, a new consumer that needs the history).
#include <nlohmann/json.hpp>

#include "commands/events/events.h"
#include "events/inspect.h"

namespace resv::cli::events_cmd {
namespace {

struct ReplayFlags {
  int64_t from = 0;
  std::optional<int64_t> to;
  bool yes = false;
  bool dry_run = false;
};

Outcome run_replay(const Context& ctx, const ReplayFlags& f) {
  const int64_t to = f.to.value_or(INT64_MAX);
  if (to < f.from)
    return Outcome::Usage("--to-id " + std::to_string(to) + " is below --from-id " + std::to_string(f.from),
                          "give a range low to high, e.g. --from-id 1200 --to-id 1300");
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  const std::string range = "ids " + std::to_string(f.from) + ".." + (f.to ? std::to_string(to) : "the last");
  auto counted = replay_events(url.value(), f.from, to, true, os_user_name());
  if (!counted.ok()) return db_failure(ctx, url.value(), counted.status());
  if (f.dry_run || counted->events == 0) {
    if (ctx.out().json())
      ctx.out().print_json({{"events", counted->events}, {"dryRun", true}, {"auditId", nullptr}});
    else
      ctx.out().data(std::to_string(counted->events) + " published event(s) in " + range + " would be sent again\n");
    if (counted->events == 0 && !f.dry_run)
      ctx.out().info("nothing to replay in " + range + " (unpublished ones are on their way; pruned ones are gone: "
                     "resv events status shows the ids kept)");
    return Outcome::Ok();
  }
  if (auto ok = confirm(ctx, "send " + std::to_string(counted->events) + " published event(s) (" + range +
                                 ") to Kafka again? consumers see each a second time",
                        f.yes);
      !ok.ok())
    return ok;
  auto done = replay_events(url.value(), f.from, to, false, os_user_name());
  if (!done.ok()) return db_failure(ctx, url.value(), done.status());
  if (ctx.out().json())
    ctx.out().print_json({{"events", done->events}, {"dryRun", false}, {"auditId", done->audit_id}});
  else
    ctx.out().data(std::to_string(done->events) + " event(s) in " + range + " queued to be sent again (audit #" +
                   std::to_string(done->audit_id) + "); resv events status shows the backlog drain\n");
  return Outcome::Ok();
}

}  // namespace

void add_replay(CLI::App& events, Context& ctx) {
  auto f = std::make_shared<ReplayFlags>();
  auto* cmd = events.add_subcommand("replay", "Send published events again (same ids), from the outbox");
  cmd->add_option("--from-id", f->from, "First outbox id")->required()->check(CLI::Range(int64_t{1}, INT64_MAX));
  cmd->add_option("--to-id", f->to, "Last outbox id (default: the last one)")->check(CLI::Range(int64_t{1}, INT64_MAX));
  cmd->add_flag("--yes", f->yes, "Do not ask for confirmation");
  cmd->add_flag("--dry-run", f->dry_run, "Only count what would be sent again");
  cmd->footer(
      "Marks the published events of the range unpublished again, so that the relay leader sends them\n"
      "once more, with the same event ids (consumers dedupe by them), keys and bodies, after what it\n"
      "is sending now. Events pruned after their retention (--outbox-retention-s) are gone; 'resv\n"
      "events status' shows the ids kept. Asks first (or --yes); writes an ops_audit row.\n"
      "\n"
      "Exit codes: 0 (also when nothing is in the range), 1 declined, 2 usage or no terminal without\n"
      "--yes, 3 the database cannot be reached.\n"
      "\n"
      "JSON (--json): {\"events\": int, \"dryRun\": bool, \"auditId\": int|null}");
  ctx.on_run(cmd, [&ctx, f] { return run_replay(ctx, *f); });
}

}  // namespace resv::cli::events_cmd
