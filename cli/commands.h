#pragma once
// Every command group, one file each in commands/. The list that registers
// them, in order, is register_commands() in cli/commands.cpp.
namespace CLI {
class App;
}

namespace resv::cli {

class Context;

void register_commands(CLI::App& app, Context& ctx);

void register_db(CLI::App& app, Context& ctx);
void register_server(CLI::App& app, Context& ctx);
void register_demo(CLI::App& app, Context& ctx);
void register_seed(CLI::App& app, Context& ctx);
void register_queue(CLI::App& app, Context& ctx);
void register_locks(CLI::App& app, Context& ctx);
void register_audit(CLI::App& app, Context& ctx);
void register_doctor(CLI::App& app, Context& ctx);
void register_runbook(CLI::App& app, Context& ctx);
void register_warmup(CLI::App& app, Context& ctx);
void register_bench(CLI::App& app, Context& ctx);
void register_events(CLI::App& app, Context& ctx);
void register_config(CLI::App& app, Context& ctx);
void register_completion(CLI::App& app, Context& ctx);

}  // namespace resv::cli
