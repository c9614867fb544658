#pragma once
// Lock diagnostics (`resv locks`): who blocks whom, on what, in domain words.
//
// read_lock_snapshot() reads the catalogue (sql/ops/locks.sql: sessions,
// pg_locks, pg_blocking_pids, prepared transactions) and names the rows that
// waiters want from their tuple locks; build_lock_report() is the pure part
// that turns a snapshot into blocking trees, what each lock guards, and the
// sessions that are the next incident. Both work without any resv-server.
// cancel_or_terminate() is the way out, with its audit row.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "base/status.h"

namespace resv {

// One backend of pg_stat_activity (client backends, parallel workers,
// autovacuum workers). Ages are seconds; nullopt when PostgreSQL has none.
struct LockSession {
  int pid = 0;
  std::optional<int> leader_pid;  // a parallel worker's leader
  std::string database;
  std::string user;
  std::string application;
  std::string client;  // "10.0.0.5:51234", "local", or "" (background)
  std::string backend_type;
  std::string state;  // active, idle, idle in transaction, ...
  std::optional<double> xact_age_s;
  std::optional<double> state_age_s;
  std::optional<double> query_age_s;
  std::string wait_event_type;
  std::string wait_event;
  std::string xid;    // its transaction id, "" before it has one
  std::string query;  // its current or last statement, at most 300 characters
  bool superuser = false;
  std::vector<int> blocked_by;  // pg_blocking_pids (0: a prepared transaction)
};

// One row of pg_locks that matters (sql/ops/locks.sql, statement 3).
struct LockEntry {
  std::optional<int> pid;  // none: held by a prepared transaction
  std::string locktype;    // relation, tuple, transactionid, advisory, ...
  std::string mode;
  bool granted = false;
  bool here = false;         // in the database `resv locks` reads
  std::string relation;      // the relation's name, when here
  std::string relkind;       // r table, i index, ...
  bool unique_index = false;
  std::string index_table;   // for an index: its table
  std::string index_def;     // for a unique index: CREATE UNIQUE INDEX ...
  std::optional<int64_t> page, tuple;
  std::string xid;           // transactionid locks
  std::optional<uint32_t> classid, objid;
  int objsubid = 0;
  std::string virtualtransaction;  // "-1/<xid>" for a prepared transaction
  std::optional<double> wait_s;    // how long it has waited (not granted)
};

struct PreparedXact {
  std::string gid, xid, owner, database;
  double age_s = 0;
};

struct LockSettings {
  std::string lock_timeout, deadlock_timeout, idle_in_transaction_timeout, statement_timeout, log_lock_waits;
};

// A row version a waiter wants: (relation, page, tuple).
using RowVersion = std::tuple<std::string, int64_t, int64_t>;

struct LockSnapshot {
  std::string database;
  std::string now;  // the database's clock, ISO 8601 UTC
  int own_pid = 0;
  bool superuser = false;
  LockSettings settings;
  int64_t deadlocks = 0;  // pg_stat_database, since stats_age_s
  std::optional<double> stats_age_s;
  std::vector<LockSession> sessions;
  std::vector<LockEntry> locks;
  std::vector<PreparedXact> prepared;
  // What read_lock_snapshot found at each row version a waiter wants, in
  // domain words ("seat A-12, id 42, schedule 3"); missing when that version
  // is no longer the current one (the row was updated or deleted since).
  std::map<RowVersion, std::string> rows;
};

// Reads a snapshot on `url`. DbUnavailable when the database cannot be
// reached; Unauthorized when the role may not read what it needs.
Result<LockSnapshot> read_lock_snapshot(const std::string& url);

// How a domain table's row reads in words: "seat " || label || ... as a SQL
// expression over the row (for tables resv owns), or nullptr.
const char* domain_row_label(const std::string& table);

// The tables domain_row_label() names: the ones `resv locks rows` reads.
std::vector<std::string> domain_tables();

// A row locked right now (pgrowlocks), in domain words.
struct LockedRow {
  std::string row;     // "seat A-12, id 42, schedule 3"
  std::string ctid;    // "(0,7)"
  std::string modes;   // "{"For Update"}"
  std::vector<int> pids;
  std::string xids;    // the lockers' transaction ids
};

// The rows of `table` (one of domain_tables()) locked now, by `pid` or by
// anyone, with pgrowlocks: it reads the whole table (a sequential scan,
// taking AccessShareLock), so it costs what a full read of the table costs.
// InvalidRequest for another table; Conflict when the pgrowlocks extension
// is not installed in the database.
Result<std::vector<LockedRow>> locked_rows(const std::string& url, const std::string& table, std::optional<int> pid);

// ---- the report (pure) ----------------------------------------------------------

// What one lock protects, in words, and the raw lock behind it.
struct LockTarget {
  // row: a table row (a domain object when it is one of resv's);
  // unique-key: an insert waiting on another transaction's same key;
  // relation: a whole table or index; advisory: an advisory key;
  // transaction: waiting for a transaction to end; other: anything else.
  std::string kind;
  std::string text;  // "seat A-12, id 42, schedule 3"
  std::string relation;
  std::string mode;  // the mode waited for
  // For relation locks: the mode the blocker holds, and who takes that mode
  // ("TRUNCATE, ALTER TABLE, ...: resv seed or a migration").
  std::string held_mode;
  std::string taken_by;
  // For advisory locks: the registered name, or "" when unknown (key shown raw).
  std::string advisory_name;
  std::string advisory_key;
};

// A session in the tree: a blocker (root) or a waiter under it.
struct LockNode {
  int pid = 0;  // 0: a prepared transaction (gid in `prepared_gid`)
  std::string prepared_gid;
  const LockSession* session = nullptr;  // null for a prepared transaction or a vanished pid
  std::optional<double> wait_s;          // waiters: how long this wait has lasted
  std::optional<LockTarget> waits_for;   // waiters: what it wants
  std::vector<int> workers;              // parallel workers folded into this leader
  std::vector<int> also_blocked_by;      // waiters: other blockers than the parent
  std::vector<LockNode> waiters;         // sessions it blocks directly
};

struct BlockingTree {
  LockNode root;
  std::vector<LockTarget> holds;  // held_by(root)
  int waiters = 0;         // every session under the root, at any depth
  int server_waiters = 0;  // of which resv-server sessions
  double longest_wait_s = 0;
};

struct LockReportOptions {
  bool all_databases = false;  // --all: every database, not only the one read
  double min_wait_s = 0;       // --min-wait: trees whose longest wait is shorter are left out
  double long_query_s = 5;     // an active statement this old is shown as long-running
  double idle_in_transaction_s = 1;  // an open idle transaction this old is shown
};

struct LockReport {
  std::vector<BlockingTree> trees;  // longest wait first
  // Not blocking anyone (yet): idle in transaction, long-running statements.
  std::vector<const LockSession*> idle_in_transaction;
  std::vector<const LockSession*> long_running;
  // Advisory locks held: per session, one entry per registered name and one
  // for all its unregistered keys.
  struct Advisory {
    int pid = 0;
    std::string name;  // "" for the unregistered keys
    std::string key;   // the first unregistered key, raw; "" for a registered name
    int count = 0;     // keys held
  };
  std::vector<Advisory> advisory;
  int sessions = 0;  // in scope
  int waiting = 0;   // sessions in scope waiting for a lock
};

LockReport build_lock_report(const LockSnapshot& s, const LockReportOptions& o);

// What the sessions directly under `n` want (what `n` holds), each once.
std::vector<LockTarget> held_by(const LockNode& n);

// True for a resv-server session ("resv-server:<port> <role>").
bool is_server_session(const LockSession& s);
// Who takes a relation lock mode, in words.
const char* relation_mode_takers(const std::string& mode);
// "SELECT ... FOR UPDATE" shortened to `width` characters on one line.
std::string short_query(const std::string& query, size_t width);

// ---- the way out ------------------------------------------------------------------

struct KillRequest {
  int pid = 0;
  bool terminate = false;  // pg_terminate_backend, else pg_cancel_backend
  std::string actor;       // who, for the audit row
  // What it held and who waited, as the report showed them: the audit row's
  // old values (JSON object text).
  std::string held_json = "{}";
  std::vector<int> waiters;  // pids that waited on it: checked afterwards
  int release_wait_ms = 5000;  // how long to wait for them to be released
};

struct KillResult {
  int64_t audit_id = 0;      // the ops_audit row
  bool signalled = false;    // PostgreSQL accepted the signal
  bool ended = false;        // the session (terminate) or its statement (cancel) is gone
  std::vector<int> still_blocked;  // waiters still blocked by it afterwards
};

// Why `pid` may not be signalled by a session that is `own_pid` and
// superuser or not: its own session, a superuser's session for a
// non-superuser, a session resv cannot signal (a prepared transaction,
// pid 0); nullopt when it may. Pure.
std::optional<std::string> kill_refusal(const LockSnapshot& s, int pid);

// Writes the ops_audit row (committed first: no signal without its row),
// then cancels or terminates `pid`, then waits up to
// release_wait_ms for the waiters to stop being blocked by it and records
// the result in the row. Refuses (InvalidRequest) what kill_refusal refuses,
// NotFound when no such session exists.
Result<KillResult> cancel_or_terminate(const std::string& url, const KillRequest& r);

}  // namespace resv
