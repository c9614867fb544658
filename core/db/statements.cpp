#include "db/statements.h"

#include <atomic>
#include <string_view>

#include <spdlog/spdlog.h>

#include "base/logfmt.h"

namespace resv {

const std::vector<Statement>& statements() {
  static const std::vector<Statement> all = {
      {"concerts", "SELECT id, name, venue FROM concerts ORDER BY id"},
      {"concert", "SELECT id, name, venue FROM concerts WHERE id = $1"},
      {"schedules", "SELECT * FROM resv_schedules($1)"},
      {"pools_of_concert", "SELECT * FROM resv_concert_pools($1)"},
      {"schedule_exists", "SELECT 1 FROM schedules WHERE id = $1"},
      {"seats", "SELECT * FROM resv_seats($1, false)"},
      {"seats_available", "SELECT * FROM resv_seats($1, true)"},
      {"hold_seats", "SELECT resv_hold_seats($1, $2, $3::bigint[], $4, $5, $6)::text"},
      {"hold_pool", "SELECT resv_hold_pool($1, $2, $3, $4, $5, $6, $7)::text"},
      {"hold_pool_batch", "SELECT resv_hold_pool_batch($1, $2, $3::jsonb)::text"},
      {"pay", "SELECT resv_pay($1, $2, $3, $4, $5)::text"},
      {"cancel", "SELECT resv_cancel($1, $2)::text"},
      {"balance", "SELECT resv_balance($1)::text"},
      {"top_up", "SELECT resv_top_up($1, $2, $3, $4)::text"},
      {"expire_holds", "SELECT resv_expire_holds($1)"},
      {"outbox_backlog", "SELECT * FROM resv_outbox_backlog()"},
      {"prune", "SELECT resv_prune(make_interval(secs => $1), make_interval(secs => $2), make_interval(secs => $3), $4)::text"},
      {"queue_issue", "SELECT resv_queue_issue($1, $2::bigint[])::text"},
      {"warm_up", "SELECT resv_warm_up()"},
  };
  return all;
}

std::string session_settings(int statement_timeout_ms, int lock_timeout_ms) {
  // How the functions are planned is their own business (sql/functions/):
  // the session sets only its timeouts (its name comes with the URL).
  return "SET statement_timeout = " + std::to_string(statement_timeout_ms) +
         "; SET lock_timeout = " + std::to_string(lock_timeout_ms);
}

void check_warm_up_answer(const WarmUpCall& call, const char* answer) {
  static std::atomic<bool> warned{false};
  if (!call.expect || (answer && std::string_view(answer) == call.expect) || warned.exchange(true)) return;
  spdlog::warn("msg=\"connection warm-up incomplete; the first requests on new connections will be slower\" "
               "statement={} answer={}",
               call.statement, logfmt(answer ? answer : ""));
}

Status status_from_sql_error(const std::string& state, const std::string& message, bool connection_ok) {
  if (!connection_ok || state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) {
    spdlog::warn("msg=\"database unavailable\" sqlstate={} error={}", state, logfmt(message));
    return Status::DbUnavailable("the database is unavailable; retry shortly");
  }
  if (state == "57014" || state == "55P03" || state == "40001" || state == "40P01") {
    spdlog::warn("msg=\"database busy\" sqlstate={} error={}", state, logfmt(message));
    return Status::Error(ErrorCode::Busy, "the database is busy with this item; retry shortly");
  }
  spdlog::error("msg=\"sql error\" sqlstate={} error={}", state, logfmt(message));
  return Status::Internal("database error " + state);
}

}  // namespace resv
