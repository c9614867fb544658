#pragma once
// Converters from the jsonb answers of the resv_* SQL functions
// (sql/0002_functions.sql) to domain results. Pure; unit-tested without a DB.
#include <string_view>

#include "domain.h"
#include "status.h"

namespace resv {

// {"ok":false,"code":C,"message":M,...extra} -> Status with details = extra.
// Internal for an answer that is not of that form.
Status status_from_db_json(std::string_view text);
Result<Hold> hold_from_db_json(std::string_view text);
Result<Payment> payment_from_db_json(std::string_view text);
Result<Cancellation> cancellation_from_db_json(std::string_view text);
Result<Balance> balance_from_db_json(std::string_view text);

}  // namespace resv
