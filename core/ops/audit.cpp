#include "ops/audit.h"

#include <algorithm>
#include <pqxx/pqxx>
#include <stdexcept>

#include "db/migrations.h"
#include "db/pg_text.h"

namespace resv {
namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

bool wanted(const AuditOptions& o, const std::string& name) {
  return o.only.empty() || std::find(o.only.begin(), o.only.end(), name) != o.only.end();
}

}  // namespace

const std::vector<AuditInvariant>& audit_invariants() {
  static const std::vector<AuditInvariant> all = {
      {"seat_sold_twice", "every live reservation holds exactly the seats it was sold"},
      {"seat_released", "no seat is kept by a cancelled or expired reservation"},
      {"pool_over_capacity", "no pool sold more units than its capacity"},
      {"pool_units_match", "each pool's taken units are those of its live reservations"},
      {"confirmed_paid", "every confirmed reservation has one payment of its amount"},
      {"payment_has_reservation", "every payment belongs to a confirmed (or, refunded, a cancelled) reservation"},
      {"charged_once", "every payment charged the balance once, and refunded it at most once"},
      {"balance_matches_ledger", "every balance equals the sum of its ledger lines"},
      {"holds_released", "no hold is left more than 10 s past its expiry (a sweeper runs)"},
      {"outbox_complete", "every reservation's state change has its outbox event"},
      {"queue_positions", "waiting-room positions are within those issued, one per token"},
  };
  return all;
}

int64_t AuditReport::violations() const {
  int64_t n = 0;
  for (const auto& r : results) n += r.violations;
  return n;
}

Status check_invariant_names(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    bool known = false;
    std::string all;
    for (const auto& i : audit_invariants()) {
      known = known || name == i.name;
      all += (all.empty() ? "" : ", ") + std::string(i.name);
    }
    if (!known) return Status::Invalid("no invariant '" + name + "' (invariants: " + all + ")");
  }
  return Status::Ok();
}

Result<AuditReport> run_audit(const std::string& url, const AuditOptions& o) {
  if (auto s = check_invariant_names(o.only); !s.ok()) return s;
  const auto& statements = bundled_statements("ops/audit.sql");
  const auto& invariants = audit_invariants();
  if (statements.size() != invariants.size()) throw std::logic_error("sql/ops/audit.sql and audit_invariants() differ");
  const auto started = std::chrono::steady_clock::now();
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(with_application_name(with_connect_timeout(url, 5), "resv audit"));
  } catch (const std::exception& e) {
    return Status::DbUnavailable(e.what());
  }
  try {
    pqxx::work tx(*conn);
    tx.exec0("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
    tx.exec_params("SELECT set_config('statement_timeout', $1, true)", std::to_string(o.statement_timeout.count()));
    AuditReport report;
    report.snapshot_at = tx.exec1("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")[0]
                             .as<std::string>();
    if (o.since) {
      try {
        pqxx::subtransaction check(tx, "since");
        check.exec_params1("SELECT $1::timestamptz", *o.since);
        check.commit();
      } catch (const pqxx::data_exception&) {
        return Status::Invalid("--since '" + *o.since +
                                      "' is no time PostgreSQL reads (use 2026-12-01T20:00:00Z, or a duration: 2h)");
      }
    }
    if (o.concert && tx.exec_params("SELECT 1 FROM concerts WHERE id = $1", *o.concert).empty())
      return Status::NotFound("no concert " + std::to_string(*o.concert) + " in this database");
    tx.exec_params("SELECT set_config('resv.audit_concert', $1, true), set_config('resv.audit_since', $2, true)",
                    o.concert ? std::to_string(*o.concert) : std::string(), o.since.value_or(""));
    for (size_t i = 0; i < statements.size(); ++i) {
      if (!wanted(o, invariants[i].name)) continue;
      auto row = tx.exec1(statements[i]);
      InvariantResult r;
      r.name = row["invariant"].as<std::string>();
      if (r.name != invariants[i].name)
        throw std::logic_error("sql/ops/audit.sql statement " + std::to_string(i + 1) + " is " + r.name);
      r.promise = invariants[i].promise;
      r.checked = row["checked"].as<int64_t>();
      r.violations = row["violations"].as<int64_t>();
      r.examples = nlohmann::json::parse(row["examples"].as<std::string>());
      report.results.push_back(std::move(r));
    }
    tx.commit();
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
  } catch (const pqxx::broken_connection& e) {
    return Status::DbUnavailable(e.what());
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "57014")
      return Status::Overloaded("the audit ran past its time limit of " + std::to_string(o.statement_timeout.count()) +
                                " ms per invariant: " + first_line(e.what()));
    if (e.sqlstate() == "42P01" || e.sqlstate() == "42703")
      return Status::Internal("the database's schema is not resv's current one (resv db migrate): " +
                                                    first_line(e.what()));
    throw;
  }
}

}  // namespace resv
