#pragma once
// Built-in data sets. `demo`: a small concert for `resv demo` and first
// steps: one schedule a week from now with 200 assigned seats in three
// grades, a general-admission pool of 40 (parties up to 4), and 500 users
// with enough balance to buy. Each call adds a new, separate set.
#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace resv {

struct DemoSet {
  int64_t concert_id = 0;
  int64_t schedule_id = 0;
  std::vector<int64_t> seat_ids;  // ascending
  int64_t pool_id = 0;
  int pool_capacity = 0;
  int pool_max_party = 0;
  std::vector<int64_t> user_ids;  // ascending
  int64_t balance = 0;            // each user's
};

// Adds one demo set in a single transaction (all or nothing). DbUnavailable
// when the database cannot be reached; Internal on any other SQL error
// (e.g. migrations not applied).
Result<DemoSet> seed_demo(const std::string& database_url);

}  // namespace resv
