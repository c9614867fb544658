// resv seed PROFILE: built-in data sets. `demo` is the small concert that
// `resv demo` uses; the field reports' profiles come with the seed issue.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "context.h"
#include "seed.h"

namespace resv::cli {

namespace {

struct SeedOptions {
  std::string profile;
  bool yes = false;
};

}  // namespace

nlohmann::json demo_set_json(const DemoSet& d) {
  return {{"concert_id", d.concert_id},       {"schedule_id", d.schedule_id},
          {"seats", d.seat_ids.size()},       {"pool_id", d.pool_id},
          {"pool_capacity", d.pool_capacity}, {"users", d.user_ids.size()},
          {"first_user_id", d.user_ids.empty() ? 0 : d.user_ids.front()}};
}

Expected<DemoSet> seed_demo_set(const Context& ctx, bool yes) {
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  // Adding rows to a database resv did not provision is a change to data
  // someone else owns: ask first.
  if (!ctx.settings().embedded_db)
    if (auto ok = confirm(ctx, "add demo data to " + ctx.settings().database_url.shown() + "?", yes); !ok.ok()) return ok;
  auto set = seed_demo(url.value());
  if (!set.ok())
    return Outcome::From(set.status(), set.status().code() == ErrorCode::Internal
                                           ? "is the schema current? run 'resv db migrate'"
                                           : "");
  return set.value();
}

void register_seed(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<SeedOptions>();
  auto* cmd = app.add_subcommand("seed", "Add a built-in data set to the database");
  ctx.choices(cmd->add_option("profile", opts->profile, "The data set")->required(), {"demo"});
  cmd->add_flag("--yes,-y", opts->yes, "Do not ask before adding data to a database resv did not provision");
  cmd->footer(
      "Profiles:\n"
      "  demo   1 concert, 1 schedule a week from now, 200 seats (VIP/R/S), a general-admission\n"
      "         pool of 40 (parties up to 4), 500 users with balance. Each run adds a new set.\n"
      "\n"
      "Examples:\n"
      "  resv seed demo\n"
      "  resv seed demo --json | jq .schedule_id\n"
      "\n"
      "JSON (--json):\n"
      "  {\"profile\": string, \"concert_id\": int, \"schedule_id\": int, \"seats\": int, \"pool_id\": int,\n"
      "   \"pool_capacity\": int, \"users\": int, \"first_user_id\": int}");
  ctx.on_run(cmd, [&ctx, opts] {
    auto set = seed_demo_set(ctx, opts->yes);
    if (!set.ok()) return set.outcome();
    auto j = demo_set_json(set.value());
    j["profile"] = opts->profile;
    if (ctx.out().json()) {
      ctx.out().print_json(j);
    } else {
      Table t({"TABLE", "ROWS", "IDS"});
      t.add({"concerts", "1", std::to_string(set->concert_id)});
      t.add({"schedules", "1", std::to_string(set->schedule_id)});
      t.add({"seats", std::to_string(set->seat_ids.size()),
             std::to_string(set->seat_ids.front()) + ".." + std::to_string(set->seat_ids.back())});
      t.add({"pools", "1", std::to_string(set->pool_id) + " (capacity " + std::to_string(set->pool_capacity) + ")"});
      t.add({"users", std::to_string(set->user_ids.size()),
             std::to_string(set->user_ids.front()) + ".." + std::to_string(set->user_ids.back())});
      ctx.out().data(t.render());
    }
    return Outcome::Ok();
  });
}

}  // namespace resv::cli
