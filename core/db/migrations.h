#pragma once
// The database schema, compiled into the binary from sql/ in two kinds of
// files (as Flyway keeps versioned and repeatable migrations):
//  - sql/migrations/NNNN_name.sql: schema changes, append-only. Applied once
//    each, in version order, each in its own transaction (or, when its first
//    line is `-- resv: no-transaction`, statement by statement in autocommit,
//    for CREATE INDEX CONCURRENTLY and the like), recorded in
//    schema_migrations with a checksum. An applied migration that differs
//    from the bundled one, or a database ahead of the binary, is refused.
//  - sql/functions/NN_area.sql: the current definition of every function
//    (and trigger), one place each. Re-applied whenever its content differs
//    from what schema_functions recorded, after the migrations, in name order,
//    all in one transaction.
// A database built by the 0001-0010 series of resv before 0.1.0, which
// 0001_baseline squashed, is re-recorded as built by the baseline.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/checksum.h"  // checksum_hex: a migration's recorded checksum
#include "base/status.h"

namespace pqxx {
class transaction_base;
}

namespace resv {

struct SqlFile {
  const char* path;  // relative to sql/, e.g. "migrations/0001_baseline.sql"
  const char* sql;
};
// Generated at build time from sql/ (cmake/embed_migrations.cmake).
const std::vector<SqlFile>& bundled_sql_files();
// The statements of one bundled file ("ops/audit.sql"), in order, split
// once and kept; throws std::logic_error when no such file is bundled (a
// build defect).
const std::vector<std::string>& bundled_statements(std::string_view path);

struct Migration {
  int version = 0;
  std::string name;      // "baseline" for 0001_baseline.sql
  std::string sql;
  std::string checksum;  // hex FNV-1a 64 of the SQL text
  bool transactional = true;
};

struct FunctionFile {
  std::string name;  // "10_common.sql"
  std::string sql;
  std::string checksum;
};

// "0001_schema.sql" -> {1, "schema"}; nullopt for anything else.
std::optional<std::pair<int, std::string>> parse_migration_filename(std::string_view filename);
// A schema: migrations sorted by version, function files sorted by name.
struct SchemaFiles {
  std::vector<Migration> migrations;
  std::vector<FunctionFile> functions;
};
// The bundled schema; throws std::logic_error on a bad or duplicate file
// name (a build defect).
const SchemaFiles& bundled_schema();
const std::vector<Migration>& bundled_migrations();    // bundled_schema().migrations
const std::vector<FunctionFile>& bundled_functions();  // bundled_schema().functions
int latest_migration_version();
// One checksum over every bundled file: equal for binaries that build the
// same schema.
std::string bundled_schema_checksum();

// The statements of a SQL text, split at semicolons outside quotes,
// dollar-quoted bodies and comments; empty ones dropped. Pure.
std::vector<std::string> split_sql_statements(std::string_view sql);

struct MigrationState {
  int applied = 0;                     // highest applied version (0: none)
  int latest = 0;                      // highest bundled version
  std::vector<Migration> pending;      // bundled, not applied, in order
  std::vector<FunctionFile> stale;     // function files not applied as bundled, in order
  bool legacy = false;                 // built by the series before 0.1.0: re-recorded on migrate
  bool current() const { return applied == latest && pending.empty() && stale.empty() && !legacy; }
};

// Reads the database's schema level. DbUnavailable if unreachable; Internal
// (with a hint) if the database is ahead of the binary or an applied
// migration's checksum differs. Creates nothing.
// `schema` is the bundled one but in tests.
Result<MigrationState> migration_state(const std::string& url, const SchemaFiles& schema = bundled_schema());
// The same on a transaction of the caller's (a session of its own).
Result<MigrationState> migration_state(pqxx::transaction_base& tx, const SchemaFiles& schema = bundled_schema());

// What keeps `state` from being current, e.g. "the database schema is at
// migration 1, this binary needs 2; 3 function files differ from this
// binary's"; "" when it is current.
std::string schema_lag(const MigrationState& state);

struct MigrateOptions {
  // How long a statement may wait for a table lock: a migration queued
  // behind a long transaction would otherwise hold every buyer behind it.
  std::chrono::milliseconds lock_timeout{5000};
};

struct MigrationRun {
  std::vector<int> versions;          // migrations applied, in order
  std::vector<std::string> functions;  // function files (re-)applied, in order
  bool adopted_legacy = false;         // the pre-0.1.0 records were re-recorded as the baseline
};

// Applies what is pending under an advisory lock (safe if several processes
// migrate at once). DbUnavailable if unreachable; Busy when a statement
// waited longer than lock_timeout for a lock (that migration changed
// nothing, or, outside a transaction, up to the statement named); Internal
// for any other failure, naming the file.
Result<MigrationRun> apply_migrations(const std::string& url, const MigrateOptions& options = {},
                                      const SchemaFiles& schema = bundled_schema());

}  // namespace resv
