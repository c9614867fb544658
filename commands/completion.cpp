// resv completion bash|zsh|fish: the completion script for a shell, made
// from the command tree (the same as completions/ in the source tree).
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/docgen.h"

namespace resv::cli {

void register_completion(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("completion", "Print the shell completion script for bash, zsh or fish");
  auto shell = std::make_shared<std::string>();
  ctx.choices(cmd->add_option("shell", *shell, "The shell")->required(), {"bash", "zsh", "fish"});
  cmd->footer(
      "Examples:\n"
      "  source <(resv completion bash)\n"
      "  resv completion zsh > \"${fpath[1]}/_resv\"\n"
      "  resv completion fish > ~/.config/fish/completions/resv.fish");
  const CLI::App* root = &app;
  ctx.on_run(cmd, [&ctx, root, shell] {
    if (*shell == "bash") ctx.out().data(bash_completion(*root, ctx));
    else if (*shell == "zsh") ctx.out().data(zsh_completion(*root, ctx));
    else ctx.out().data(fish_completion(*root, ctx));
    return Outcome::Ok();
  });
}

}  // namespace resv::cli
