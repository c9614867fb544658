// resv queue: each concert's waiting room, read and driven in the database
// (core/queue/admin.h), so that it works while every resv-server is down.
// One file per verb in this folder; this one makes the group.
#include "commands/queue/queue.h"

#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace resv::cli {

void register_queue(CLI::App& app, Context& ctx) {
  auto* queue = app.add_subcommand("queue", "Watch and drive each concert's waiting room, in the database");
  queue->require_subcommand(1);
  queue->footer(
      "Every subcommand reads and writes the database directly (--db, RESV_DATABASE_URL, config\n"
      "file, else the embedded cluster), so it works while the servers are down. Changes go\n"
      "through the SQL functions of the waiting room: they lock the concert's queue, write an\n"
      "audit line (resv queue history) and tell every running resv-server at once.\n"
      "\n"
      "Examples:\n"
      "  resv queue enable --concert 12 --max-active 500 --rate 50 --opens-at 2026-05-01T10:00:00+02:00\n"
      "  resv queue status --watch 2\n"
      "  resv queue status --fail-if-stuck 120 -q || page-oncall\n"
      "  resv queue pause --concert 12 --yes\n"
      "  resv queue history --concert 12");
  queue_cmd::add_status(*queue, ctx);
  queue_cmd::add_list(*queue, ctx);
  queue_cmd::add_inspect(*queue, ctx);
  queue_cmd::add_changes(*queue, ctx);
  queue_cmd::add_history(*queue, ctx);
}

}  // namespace resv::cli
