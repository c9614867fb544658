#include "cli/commands.h"

namespace resv::cli {

// The command groups, in the order `resv --help` lists them.
void register_commands(CLI::App& app, Context& ctx) {
  register_demo(app, ctx);
  register_db(app, ctx);
  register_server(app, ctx);
  register_seed(app, ctx);
  register_warmup(app, ctx);
  register_bench(app, ctx);
  register_queue(app, ctx);
  register_locks(app, ctx);
  register_audit(app, ctx);
  register_doctor(app, ctx);
  register_runbook(app, ctx);
  register_events(app, ctx);
  register_config(app, ctx);
  register_completion(app, ctx);
}

}  // namespace resv::cli
