#pragma once
// Shell completions and man pages, produced from the same command tree as
// `--help` (build_cli), so that a new command or option shows up everywhere.
// completions/ and man/ hold the generated files; a test fails when they
// are out of date (regenerate with `ninja -C build docs`).
#include <string>

namespace CLI {
class App;
}

namespace resv::cli {

class Context;

std::string bash_completion(const CLI::App& root, const Context& ctx);
std::string zsh_completion(const CLI::App& root, const Context& ctx);
std::string fish_completion(const CLI::App& root, const Context& ctx);

// resv(1): synopsis, every command with its options, examples and --json
// schema (from each command's footer), exit codes, environment, files.
std::string resv_man_page(const CLI::App& root, const Context& ctx);
// resv-server(8): options with their environment variables and defaults,
// endpoints, signals, metrics.
std::string server_man_page();

}  // namespace resv::cli
