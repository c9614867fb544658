#pragma once
// The SQL every database connection of the server prepares, by name: shared
// by PgStore (libpqxx, blocking) and AsyncPg (libpq, non-blocking) so both
// run exactly the same statements.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace resv {

struct Statement {
  const char* name;
  const char* sql;
};
// Every prepared statement.
const std::vector<Statement>& statements();

// Session settings sent after connecting.
std::string session_settings(int statement_timeout_ms, int lock_timeout_ms);

// Run once on a fresh connection so that its statements are prepared and
// planned, and its PL/pgSQL compiled, before the first buyer arrives (the
// list: booking/bookings.h's warm_up_calls()). Statement name, parameters
// (nullopt: NULL), and the answer it gives when it ran all the way, if it
// tells.
struct WarmUpCall {
  std::string statement;
  std::vector<std::optional<std::string>> params;
  const char* expect = nullptr;
};

// Logs a warning (once per process) when `call` expects an answer and got
// another: the warm-up no longer warms (e.g. a migration broke it), which
// costs the first buyers time but is no reason to refuse the connection.
void check_warm_up_answer(const WarmUpCall& call, const char* answer);

// Maps a PostgreSQL error to a Status: DbUnavailable for connection classes
// (08, 57P) or a dead connection, Busy for lock/statement timeouts,
// serialization failures and deadlocks, Internal otherwise.
Status status_from_sql_error(const std::string& sqlstate, const std::string& message, bool connection_ok);

}  // namespace resv
