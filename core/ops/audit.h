#pragma once
// `resv audit`: proves from the database alone (servers may be down) that
// nothing was sold twice, charged twice or lost. Each invariant is one
// set-based statement of sql/ops/audit.sql, named (runbooks and doctor call
// one by its name); all run in one REPEATABLE READ READ ONLY transaction, so
// they see one snapshot. The audit only reads: it never fixes anything.
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace resv {

// One invariant: its name, and what it promises in plain words.
struct AuditInvariant {
  const char* name;
  const char* promise;
};

// Every invariant, in the order sql/ops/audit.sql checks them.
const std::vector<AuditInvariant>& audit_invariants();

struct AuditOptions {
  std::optional<int64_t> concert;   // only the rows of this concert's schedules
  std::optional<std::string> since;  // only rows changed since (a timestamptz PostgreSQL reads)
  std::vector<std::string> only;     // these invariants (names); empty: all
  // Each statement's limit (0: none): a bounded audit (resv doctor) stops
  // with Overloaded instead of waiting.
  std::chrono::milliseconds statement_timeout{0};
};

struct InvariantResult {
  std::string name;
  std::string promise;
  int64_t checked = 0;     // rows (reservations, pools, users, ...) it looked at
  int64_t violations = 0;  // of them, those that break it
  nlohmann::json examples = nlohmann::json::array();  // the first 10, each naming its rows' ids
};

struct AuditReport {
  std::string snapshot_at;  // the database's clock when the snapshot was taken, ISO 8601 UTC
  double seconds = 0;
  std::vector<InvariantResult> results;
  int64_t violations() const;
};

// Ok when every name is an invariant's; else InvalidRequest naming the
// unknown one and the known ones.
Status check_invariant_names(const std::vector<std::string>& names);

// Runs the audit. DbUnavailable when the database cannot be reached;
// NotFound for a concert that does not exist; InvalidRequest for a `since`
// PostgreSQL cannot read as a time; Overloaded when a statement ran past
// the statement timeout.
Result<AuditReport> run_audit(const std::string& url, const AuditOptions& o);

}  // namespace resv
