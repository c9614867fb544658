#pragma once
// Minimal test data: a concert with one schedule, seats, pools and users.
#include <cstdint>
#include <string>
#include <vector>

#include "test_db.h"

namespace resv::test {

struct SeedSpec {
  int seats = 10;
  int64_t seat_price = 1000;
  int users = 10;
  int64_t balance = 100000;
  int max_seats_per_user = 4;
  int hold_seconds = 300;
};

struct Seeded {
  int64_t concert_id = 0;
  int64_t schedule_id = 0;
  std::vector<int64_t> seat_ids;  // ascending
  int64_t first_user_id = 0;      // users are first_user_id .. first_user_id + users - 1
};

Seeded seed(const TestDatabase& db, const SeedSpec& spec = {});
// Adds a capacity pool to a schedule; returns its id.
int64_t add_pool(const TestDatabase& db, int64_t schedule_id, int capacity, int max_party, int max_per_user,
                 int64_t price = 500, const std::string& kind = "GENERAL_ADMISSION");

}  // namespace resv::test
