// resv queue enable | disable | pause | resume | set | admit N | drain: a
// change to one concert's waiting room, through its SQL function (which
// locks the queue, writes the audit line and tells the servers); asked first,
// --dry-run rolled back.
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

struct ChangeFlags {
  int64_t concert = 0;
  bool yes = false;
  bool dry_run = false;
  std::optional<std::string> actor;
  QueueSettingsArgs settings;
  int64_t count = 0;  // admit N
};

std::string question(const QueueChange& change, const QueueConcert& c) {
  const std::string who = concert_label(c.id, c.name);
  const int64_t waiting = c.queue ? c.queue->waiting : 0;
  const std::string settings = key_value_text(change.settings);
  switch (change.action) {
    case QueueAction::Enable:
      return "Enable the waiting room of " + who + (settings.empty() ? "" : " with " + settings) +
             "? Holds and payments for it will need an admitted queue token.";
    case QueueAction::Disable:
      return "Turn off the waiting room of " + who + "? Holds and payments will no longer need a queue token.";
    case QueueAction::Pause:
      return "Pause admissions to " + who + "? " + std::to_string(waiting) + " waiting; nobody is admitted until 'resv queue resume'.";
    case QueueAction::Resume:
      return "Resume admissions to " + who + " (" + std::to_string(waiting) + " waiting)?";
    case QueueAction::Set:
      return "Change the waiting room of " + who + ": " + settings + "?";
    case QueueAction::Admit:
      return "Admit the next " + std::to_string(change.count) + " of the " + std::to_string(waiting) + " waiting for " + who +
             " now, whatever its limits and pause say?";
    case QueueAction::Drain:
      return "Admit all " + std::to_string(waiting) + " waiting for " + who + " and turn its waiting room off?";
  }
  return "";
}

void print_change(const Context& ctx, QueueAction a, const QueueChangeResult& r) {
  const Output& out = ctx.out();
  if (out.json()) {
    json doc{{"ok", true}, {"dryRun", r.dry_run}, {"audit", audit_json(r.audit)}};
    if (r.settings) doc["settings"] = settings_json(*r.settings);
    if (r.admitted) doc["admitted"] = *r.admitted;
    out.print_json(doc);
  } else {
    const std::string change = r.audit.action + " " + describe_change(r.audit.old_values, r.audit.new_values);
    if (r.dry_run)
      out.data("would record: " + change + " (by " + r.audit.actor + ")");
    else
      out.data("audit #" + std::to_string(r.audit.id) + " at " + short_time(r.audit.at) + " by " + r.audit.actor + ": " + change);
  }
  if ((a == QueueAction::Admit || a == QueueAction::Drain) && r.admitted)
    out.info((r.dry_run ? "would admit " : "admitted ") + std::to_string(*r.admitted) + " user(s)" +
             (a == QueueAction::Drain ? (r.dry_run ? " and turn the waiting room off" : "; the waiting room is off")
                                      : ""));
  if (r.dry_run) out.info("dry run: nothing was changed");
}

Outcome run_change(const Context& ctx, QueueAction a, const ChangeFlags& f) {
  if (f.actor && f.actor->empty()) return Outcome::Usage("--actor is empty", "name who acts, e.g. --actor deploy-bot");
  QueueChange change;
  change.action = a;
  change.concert_id = f.concert;
  change.actor = f.actor ? *f.actor : os_user_name();
  change.count = f.count;
  change.dry_run = f.dry_run;
  if (a == QueueAction::Enable || a == QueueAction::Set) {
    if (a == QueueAction::Set && f.settings.empty())
      return Outcome::Usage("nothing to set",
                            "give at least one of --max-active, --rate, --token-ttl, --abandon-after, --opens-at");
    auto patch = queue_settings_patch(f.settings);
    if (!patch.ok()) return patch.outcome();
    change.settings = patch.value();
  }

  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  QueueAdmin db(url.value());
  // Looked up before, not in the change's transaction: nothing is held while asking.
  auto c = concert_of(ctx, url.value(), db, f.concert, a != QueueAction::Enable);
  if (!c.ok()) return c.outcome();
  if (!f.dry_run)
    if (auto ok = confirm(ctx, question(change, c.value()), f.yes); !ok.ok()) return ok;

  auto done = db.change(change);
  if (!done.ok())
    return failure(ctx, url.value(), done.status(),
                   done.status().code() == ErrorCode::NotFound
                       ? "'resv queue status' lists the concerts with a waiting room; "
                         "'resv queue enable --concert ID' creates one"
                   : done.status().code() == ErrorCode::InvalidRequest ? "see 'resv queue set --help'"
                                                                       : "");
  print_change(ctx, a, done.value());
  return Outcome::Ok();
}

void add_change_options(CLI::App* cmd, ChangeFlags& f) {
  cmd->add_option("--concert", f.concert, "The concert (id)")->type_name("ID")->required()->check(positive());
  cmd->add_flag("-y,--yes", f.yes, "Do not ask for confirmation (needed when stdin is not a terminal)");
  cmd->add_flag("--dry-run", f.dry_run, "Run it in a transaction that is rolled back: show what would change");
  cmd->add_option("--actor", f.actor, "Who acts, for the audit log (default: the OS user)")->type_name("NAME");
}

void add_settings_options(CLI::App* cmd, QueueSettingsArgs& s, bool clearable) {
  cmd->add_option("--max-active", s.max_active,
                  std::string("Most users admitted (ACTIVE) at once") + (clearable ? "; none: no limit by count" : ""))
      ->type_name(clearable ? "N|none" : "N");
  cmd->add_option("--rate", s.rate,
                  std::string("Most admissions per second") + (clearable ? "; none: no limit by rate" : ""))
      ->type_name(clearable ? "R|none" : "R");
  cmd->add_option("--token-ttl", s.token_ttl, "How long an admitted user may hold and pay (90, 90s, 10m, 1h)")
      ->type_name("DURATION");
  cmd->add_option("--abandon-after", s.abandon_after,
                  "A waiting user who has not polled for this long loses the place (90, 90s, 10m, 1h)")
      ->type_name("DURATION");
  cmd->add_option("--opens-at", s.opens_at,
                  std::string("Opening (ISO 8601): earlier arrivals are shuffled then") +
                      (clearable ? "; none: no pre-queue" : ""))
      ->type_name(clearable ? "TIME|none" : "TIME");
}

const char* kChangeJson =
    "JSON (--json): the SQL function's answer, and whether it was a dry run:\n"
    "  {\"ok\": true, \"dryRun\": bool, \"audit\": {\"id\": int, \"at\": string, \"concertId\": int,\n"
    "   \"actor\": string, \"action\": string, \"old\": {<changed key>: value}, \"new\": {...}},\n";

const char* kSettingsJson =
    "   \"settings\": {\"enabled\": bool, \"paused\": bool, \"maxActive\": int|null,\n"
    "   \"ratePerSecond\": number|null, \"tokenTtlSeconds\": int, \"abandonAfterSeconds\": int,\n"
    "   \"opensAt\": string|null}}";

const char* kChangeNotes =
    "Asks first on a terminal; without one it refuses (exit 2) unless --yes is given.\n"
    "--dry-run runs the same SQL function in a transaction that is rolled back, prints\n"
    "the audit line it would write and changes nothing (no confirmation is asked; the\n"
    "audit id sequence may skip a number). The audit line names the actor: the OS user,\n"
    "or --actor. Exit 1 when the concert (or its waiting room) does not exist.\n";

}  // namespace

void add_changes(CLI::App& queue, Context& ctx) {
  struct ChangeCommand {
    QueueAction action;
    const char* summary;
    const char* notes;
    const char* examples;
  };
  const ChangeCommand changes[] = {
      {QueueAction::Enable, "Create or switch on a concert's waiting room",
       "Creates the waiting room when the concert has none (defaults: --max-active 100, no\n"
       "rate, --token-ttl 10m, --abandon-after 60s), then switches it on with the options\n"
       "given. From then on holds and payments for the concert need an admitted queue token.\n",
       "  resv queue enable --concert 12 --max-active 500 --rate 50\n"
       "  resv queue enable --concert 12 --opens-at 2026-05-01T10:00:00+02:00 --yes\n"},
      {QueueAction::Disable, "Switch a waiting room off: no queue token needed any more",
       "Tokens are kept; 'resv queue enable' switches it on again. To let everyone waiting in\n"
       "first, use 'resv queue drain'.\n",
       "  resv queue disable --concert 12 --yes\n"},
      {QueueAction::Pause, "Stop admitting (those admitted stay admitted)",
       "Nobody is admitted until 'resv queue resume'; tokens keep their places and active\n"
       "tokens keep running out. A paused queue is never reported as stuck.\n",
       "  resv queue pause --concert 12\n  resv queue pause --concert 12 --yes --actor incident-42\n"},
      {QueueAction::Resume, "Admit again after a pause", "Admission picks up at the configured limits.\n",
       "  resv queue resume --concert 12 --yes\n"},
      {QueueAction::Set, "Change a waiting room's limits and times",
       "At least one option. none removes --max-active or --rate (one of them must stay) or\n"
       "--opens-at. Durations: seconds, or with s, m or h (90, 90s, 10m, 1h).\n",
       "  resv queue set --concert 12 --max-active 800\n"
       "  resv queue set --concert 12 --rate none --token-ttl 15m --yes\n"
       "  resv queue set --concert 12 --opens-at none --dry-run\n"},
      {QueueAction::Admit, "Admit the next N waiting now, whatever the limits and pause say",
       "Admits the N who have waited longest (fewer when fewer wait); pre-queue tokens are\n"
       "placed first if the opening has come.\n",
       "  resv queue admit 100 --concert 12\n  resv queue admit 5 --concert 12 --dry-run --json\n"},
      {QueueAction::Drain, "Admit everyone waiting and switch the waiting room off",
       "For the end of an opening: every waiting user is admitted at once and holds and\n"
       "payments no longer need a token.\n",
       "  resv queue drain --concert 12 --yes\n"},
  };
  for (const auto& c : changes) {
    auto f = std::make_shared<ChangeFlags>();
    auto* cmd = queue.add_subcommand(std::string(queue_action_name(c.action)), c.summary);
    if (c.action == QueueAction::Admit)
      cmd->add_option("count", f->count, "How many to admit")->type_name("N")->required()->check(positive());
    add_change_options(cmd, *f);
    if (c.action == QueueAction::Enable || c.action == QueueAction::Set) add_settings_options(cmd, f->settings, true);
    std::string json_shape = kChangeJson;
    if (c.action == QueueAction::Admit || c.action == QueueAction::Drain)
      json_shape += "   \"admitted\": int}   (audit new has admittedTotal" +
                    std::string(c.action == QueueAction::Admit ? ", requested)" : ", enabled)");
    else
      json_shape += kSettingsJson;
    cmd->footer(std::string(c.notes) + "\n" + kChangeNotes + "\nExamples:\n" + c.examples + "\n" + json_shape);
    const QueueAction action = c.action;
    ctx.on_run(cmd, [&ctx, f, action] { return run_change(ctx, action, *f); });
  }
}

}  // namespace resv::cli::queue_cmd
