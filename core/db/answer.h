#pragma once
// The answer of a resv_* SQL function (sql/): {"ok":true,...} on success,
// {"ok":false,"code":C,"message":M,...extra} for a business outcome.
#include <nlohmann/json.hpp>
#include <string_view>

#include "base/status.h"

namespace resv {

// The answer's object when it says ok; else its Status (details = extra).
// Internal for text that is not of either form, or an unknown code.
Result<nlohmann::json> parse_db_answer(std::string_view text);
// The Status of a failure answer; Internal for anything else.
Status status_from_db_json(std::string_view text);

}  // namespace resv
