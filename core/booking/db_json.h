#pragma once
// Converters from the jsonb answers of the resv_* SQL functions
// (db/answer.h) to domain results. Pure; unit-tested without a DB.
#include <string_view>

#include "base/status.h"
#include "booking/domain.h"

namespace resv {

Result<Hold> hold_from_db_json(std::string_view text);
Result<Payment> payment_from_db_json(std::string_view text);
Result<Cancellation> cancellation_from_db_json(std::string_view text);
Result<Balance> balance_from_db_json(std::string_view text);

}  // namespace resv
