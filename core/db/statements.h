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

// The database sessions one resv-server opens with --db-pool-size N: N for
// the writes, read_pool_size(N) for the catalog reads, and one each for the
// sweeper, warm-up, events relay, waiting room and release listener.
// `resv server start` checks them against max_connections before it starts.
inline int read_pool_size(int db_pool_size) { return db_pool_size / 8 > 2 ? db_pool_size / 8 : 2; }
inline int server_sessions(int db_pool_size) { return db_pool_size + read_pool_size(db_pool_size) + 5; }

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
