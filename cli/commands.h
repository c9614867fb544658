#pragma once
// Every command group, one file each in commands/. The list that registers
// them, in order, is register_commands() in cli/commands.cpp.
#include <nlohmann/json_fwd.hpp>

#include "outcome.h"

namespace CLI {
class App;
}

namespace resv {
struct DemoSet;
}

namespace resv::cli {

class Context;

void register_commands(CLI::App& app, Context& ctx);

void register_db(CLI::App& app, Context& ctx);
void register_server(CLI::App& app, Context& ctx);
void register_demo(CLI::App& app, Context& ctx);
void register_seed(CLI::App& app, Context& ctx);
void register_config(CLI::App& app, Context& ctx);
void register_completion(CLI::App& app, Context& ctx);

// Shared by `resv seed demo` and `resv demo` (commands/seed.cpp): adds the
// demo data set, asking first when the database is not the embedded one.
Expected<DemoSet> seed_demo_set(const Context& ctx, bool yes);
nlohmann::json demo_set_json(const DemoSet& d);

}  // namespace resv::cli
