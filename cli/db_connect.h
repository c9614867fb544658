#pragma once
// What commands that connect to the configured database say when they
// cannot: the same message and hint for every group (exit code 3).
#include <string>

#include "cli/context.h"

namespace resv::cli {

// What to do when the database cannot be reached: check the URL given, or
// start (or look at the log of) the embedded cluster.
std::string unreachable_hint(const Context& ctx);

// Unreachable: "cannot connect to URL (password masked): <first line of why>",
// with unreachable_hint().
Outcome cannot_connect(const Context& ctx, const std::string& url, const std::string& why);

}  // namespace resv::cli
