#pragma once
// `resv doctor`: every check of every layer, each a named unit, so that a
// runbook can run one (`resv doctor --check NAME`). A check judges facts
// that the command gathers (the database's, each server's /admin/status,
// the broker's offsets, the state directory's disk); the judges here are
// pure: facts in, a state, a finding in plain words and the next command
// out. Gathering lives with the command, bounded by deadlines.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "db/migrations.h"
#include "events/inspect.h"
#include "ops/audit.h"
#include "ops/locks.h"
#include "ops/prewarm.h"
#include "queue/admin.h"

namespace resv {

// In order of severity for the reader: a check that could not get its
// facts (unreachable, or no answer within its deadline) is listed with the
// failures.
enum class CheckState { Ok, Warn, Fail, Unreachable };
std::string_view check_state_name(CheckState s);  // "ok", "warn", "fail", "unreachable"

struct CheckInfo {
  const char* name;     // db_reachable, ...
  const char* layer;    // database, servers, queue, holds, events, warmup, data, host
  const char* what;     // what it checks, in plain words
  const char* runbook;  // the runbook for its failure (resv runbook, later), or ""
};

// Every check, grouped by layer, layers in the order doctor reports them.
const std::vector<CheckInfo>& doctor_checks();
const CheckInfo* find_check(std::string_view name);
std::vector<std::string> doctor_layers();

struct CheckResult {
  std::string name;
  std::string layer;
  CheckState state = CheckState::Ok;
  std::string finding;  // what it found, in plain words (also when ok)
  std::string next;     // the exact command to run next; "" when nothing is to do
  nlohmann::json details = nlohmann::json::object();
  double seconds = 0;   // how long gathering its facts took
};

// The result of `name` with its layer filled in.
CheckResult check_result(const char* name, CheckState state, std::string finding, std::string next = {});

// The doctor's exit, DESIGN.md's codes: 3 when any check could not reach
// its dependency, else 4 when any failed, else 0 (warnings pass).
int doctor_exit_code(const std::vector<CheckResult>& results);

// ---- facts read from the database ------------------------------------------------

struct DbFacts {
  std::string version;       // server_version
  int64_t connections = 0;   // client backends, this one included
  int64_t max_connections = 0;
  int64_t reserved = 0;      // superuser_reserved_connections
  MigrationState schema;
  std::string schema_problem;  // migration_state's refusal (ahead, checksum); "" when it could read it
  double clock_offset_s = 0;   // the database's clock minus this host's, at the middle of the round trip
  // Waiting tokens not seen for longer than their queue's abandon time
  // plus a minute: the admission leader should have ended them.
  std::map<int64_t, int64_t> abandoned_by_concert;
};

// One connection, read-only. DbUnavailable when unreachable (or no answer
// within the URL's connect_timeout); Overloaded past its statement_timeout.
Result<DbFacts> read_doctor_facts(const std::string& url);

// ---- facts of a server ------------------------------------------------------------

struct ServerSample {
  std::string name;  // "instance 1 (port 8080)"
  bool running = false;
  bool ready = false;
  std::vector<std::string> reasons;  // why it is not ready
  nlohmann::json status;             // /admin/status; null when it could not be read
  std::optional<double> clock_offset_s;  // its clock minus this host's
};

// ---- the judges (pure) -------------------------------------------------------------

CheckResult judge_db_reachable(const Result<DbFacts>& db);
CheckResult judge_db_connections(const DbFacts& db);
CheckResult judge_db_blocking(const LockSnapshot& snapshot);
CheckResult judge_servers_up(const std::vector<ServerSample>& servers);
CheckResult judge_server_pool(const std::vector<ServerSample>& servers);
CheckResult judge_server_errors(const std::vector<ServerSample>& servers);
CheckResult judge_server_clock(const std::vector<ServerSample>& servers, double db_offset_s);
CheckResult judge_sweeper(const std::vector<ServerSample>& servers);
// `paused_by`: per paused concert, the audit line that paused it (who, when).
CheckResult judge_queue_paused(const QueueSnapshot& q, const std::map<int64_t, QueueAuditEntry>& paused_by);
CheckResult judge_queue_stuck(const QueueSnapshot& q);
CheckResult judge_queue_abandoned(const DbFacts& db);
CheckResult judge_holds(const AuditReport& holds_released);
CheckResult judge_events_backlog(const OutboxStatus& s);
// Verdict per group (known_groups), worst first.
CheckResult judge_events_lag(const std::map<std::string, LagVerdict>& groups);
// `upcoming`: concerts opening soon (concerts_to_warm); `findings`: every
// server's judge_warm_server and the database's residency.
CheckResult judge_warm(const std::vector<ConcertToWarm>& upcoming, const std::vector<WarmFinding>& findings,
                       size_t servers_asked);
CheckResult judge_audit(const AuditReport& r, const std::string& scope);
CheckResult judge_disk(const std::string& dir, uint64_t available_bytes, uint64_t total_bytes);

}  // namespace resv
