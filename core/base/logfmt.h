#pragma once
// Values in the logs' logfmt records (key=value ...).
#include <string>
#include <string_view>

namespace resv {

// `s` as one logfmt value: in double quotes, with '"' and '\' escaped by a
// backslash and line breaks and other control characters as \n, \r, \t or
// \xNN, so that a record stays one valid line whatever the value holds
// (PostgreSQL's messages span lines; error texts and paths hold quotes).
std::string logfmt(std::string_view s);

}  // namespace resv
