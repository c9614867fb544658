#pragma once
// Text forms that libpq takes: connection strings and array parameters.
#include <cstdint>
#include <string>
#include <vector>

namespace resv {

// Adds connect_timeout (seconds) to a libpq URL or key=value string unless
// it already has one.
std::string with_connect_timeout(const std::string& url, int seconds);
// The URL or key=value string with application_name `name` (replacing one it
// had): how its sessions show in pg_stat_activity, e.g. "resv-server:8080 write".
std::string with_application_name(const std::string& url, const std::string& name);
// `url` with `-c statement_timeout=MS` in its options: every statement of
// every session opened on it ends after that long (57014). Replaces options
// the URL had (libpq takes the last of a repeated parameter).
std::string with_statement_timeout(const std::string& url, int64_t ms);
// "{1,2,3}": a PostgreSQL array literal of integers.
std::string pg_int_array(const std::vector<int64_t>& v);

}  // namespace resv
