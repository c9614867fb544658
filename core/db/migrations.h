#pragma once
// Ordered schema migrations (sql/NNNN_name.sql), compiled into the binary.
// Applied in version order, each in its own transaction, recorded in
// schema_migrations with a checksum; idempotent; a database that is ahead of
// the binary, or whose applied migration differs from the bundled one, is
// refused.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace resv {

struct MigrationFile {
  const char* filename;  // e.g. "0001_schema.sql"
  const char* sql;
};
// Generated at build time from sql/ (cmake/embed_migrations.cmake).
const std::vector<MigrationFile>& bundled_migration_files();

struct Migration {
  int version = 0;
  std::string name;      // "schema" for 0001_schema.sql
  std::string sql;
  std::string checksum;  // hex FNV-1a 64 of the SQL text
};

// "0001_schema.sql" -> {1, "schema"}; nullopt for anything else.
std::optional<std::pair<int, std::string>> parse_migration_filename(std::string_view filename);
std::string checksum_hex(std::string_view text);
// Bundled migrations, sorted by version; throws std::logic_error on a bad
// or duplicate file name (a build defect).
const std::vector<Migration>& bundled_migrations();
int latest_migration_version();

struct MigrationState {
  int applied = 0;                // highest applied version (0: none)
  int latest = 0;                 // highest bundled version
  std::vector<Migration> pending; // bundled, not applied, in order
  bool current() const { return applied == latest; }
};

// Reads the database's migration level. DbUnavailable if unreachable;
// Internal (with a hint) if the database is ahead of the binary or an applied
// migration's checksum differs.
Result<MigrationState> migration_state(const std::string& url);
// Applies pending migrations under an advisory lock (safe if several
// processes migrate at once). Returns the versions applied.
Result<std::vector<int>> apply_migrations(const std::string& url);

}  // namespace resv
