#pragma once
// The one place where a core Status becomes an HTTP answer.
#include "base/status.h"
#include "server/http.h"

namespace resv {

// Business outcomes are 4xx; only a lost dependency or a defect is 5xx.
int http_status(ErrorCode code);
// {"error":{"code":..,"message":..,...details}} with the mapped status, and
// Retry-After on 429/503.
HttpResponse error_response(const Status& status);

}  // namespace resv
