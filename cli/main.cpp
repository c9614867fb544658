// resv: the operator CLI. This first version offers --version and
// `resv migrate`; the next issue builds out the command tree.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "migrations.h"
#include "resv/version.h"

int main(int argc, char** argv) {
  CLI::App app{"resv: operate resv-server and the data behind it", "resv"};
  app.set_version_flag("--version", std::string("resv ") + resv::kVersion);
  app.require_subcommand(0, 1);
  std::string url = "postgresql:///resv";
  auto* migrate = app.add_subcommand("migrate", "Apply pending schema migrations to the database");
  migrate->add_option("--db", url, "PostgreSQL connection URL")->envname("RESV_DATABASE_URL");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*migrate) {
    auto done = resv::apply_migrations(url);
    if (!done.ok()) {
      std::fprintf(stderr, "resv: error: %s\n", done.status().message().c_str());
      return done.status().code() == resv::ErrorCode::DbUnavailable ? 3 : 1;
    }
    std::printf("applied %zu migration(s); schema at version %d\n", done->size(), resv::latest_migration_version());
    return 0;
  }
  std::fputs(app.help().c_str(), stdout);
  return 0;
}
