#pragma once
// Tests talk HTTP through the CLI's client.
#include "cli/http_client.h"

namespace resv::test {
using cli::HttpClient;
using cli::HttpResult;
}  // namespace resv::test
