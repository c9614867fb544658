// resv: the operator CLI. The command tree is built in context.cpp and
// commands.cpp; each group lives in commands/.
#include <CLI/CLI.hpp>
#include <string>

#include "cli/context.h"

int main(int argc, char** argv) {
  resv::cli::Context ctx;
  if (std::string(argv[0]).find('/') != std::string::npos) ctx.program = argv[0];
  auto app = resv::cli::build_cli(ctx);
  try {
    app->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app->exit(e) == 0 ? 0 : 2;
  }
  return ctx.run(*app);
}
