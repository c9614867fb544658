#pragma once
// The scenarios of resv bench, from the field reports: what each seeds (a
// concert of its own beside whatever is there, never touching other data),
// what each connection sends, and the audit of the scenario's data after
// the run (set-based queries on its schedule only).
//   browse  schedule lists and seat maps (reads only)
//   seats   a random seat held, then paid; another on SEAT_TAKEN
//   rush    report 003: each connection one buyer making `attempts` holds of
//           `party` units of one pool of `capacity`
//   coupon  report 004: one unit each for many users, from a large pool
//   journey report 001: each connection one buyer through the waiting room:
//           queue token, its status until ACTIVE, schedules, available seats,
//           a hold (another seat on SEAT_TAKEN), the payment
//   duplicates  every seat hold and payment sent 3 times with one
//           Idempotency-Key: one reservation, one charge each
//   slow-consumer  report 000: seats, while (resv bench runs it) a consumer
//           lags 0.5-1.5 s an event behind the relay's topics
//   mixed   connections split by weight between browse, seats and rush on one
//           schedule with both seats and a pool ("browse:70,seats:20,rush:10")
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "bench/load.h"

namespace resv {

const std::vector<std::string>& bench_scenarios();

struct ScenarioSizes {
  int64_t seats = 1000;      // browse, seats
  int64_t capacity = 40;     // rush (coupon: 10,000 unless given)
  int party = 4;             // rush
  int attempts = 3;          // rush: holds per connection
  int64_t users = 0;         // 0: what the scenario needs (rush: one per connection)
  int connections = 32;
  uint64_t seed = 1;         // of the random seats
  double admit_per_s = 100;  // journey (0: no limit by rate)
  int max_active = 0;        // journey: buyers active at once (0: no limit by count)
  std::string mix = "browse:70,seats:20,rush:10";  // mixed
  int64_t reuse_schedule = 0;  // run on this existing schedule instead of seeding one
  int64_t first_user = 0;      // with reuse_schedule: the first of `users` existing users (0: the lowest id)
};

// What a scenario seeded (ids are contiguous ranges).
struct ScenarioData {
  std::string scenario;
  int64_t concert_id = 0, schedule_id = 0, pool_id = 0;  // pool 0: none
  int64_t first_seat = 0, seats = 0;
  int64_t first_user = 0, users = 0;
  int64_t capacity = 0;
  int party = 1, attempts = 1;
  int connections = 1;
  double admit_per_s = 0;  // journey: the waiting room's admission rate
  int max_active = 0;
  int64_t reservations_before = 0;  // the highest reservation id before the run
  std::vector<std::pair<std::string, double>> mix;  // mixed: scenario and weight
};

// "browse:70,seats:20,rush:10" -> the mix; InvalidRequest naming what is wrong.
Result<std::vector<std::pair<std::string, double>>> parse_mix(const std::string& text);

// Seeds the scenario's concert, or with reuse_schedule reads what that
// schedule has (its seats, one id range; its first pool; `users` users from
// first_user); InvalidRequest for an unknown scenario, a size out of range,
// a schedule or users that are not there; DbUnavailable when the database
// cannot be reached.
Result<ScenarioData> seed_scenario(const std::string& url, const std::string& scenario, ScenarioSizes sizes);

// Each connection's script.
ScriptFactory scenario_scripts(const ScenarioData& data, uint64_t seed);

// One invariant checked on the scenario's data: rows looked at, rows that
// break it, the first of them.
struct AuditCheck {
  std::string name;
  int64_t checked = 0, violations = 0;
  std::string example;  // "" when none
};
// The checks, with what the generator was told: successes of the "hold" and
// "pay" steps must match the database (exactly when `exact`: no answer was
// lost to a timeout or a connection error).
Result<std::vector<AuditCheck>> audit_scenario(const std::string& url, const ScenarioData& data, int64_t holds_ok,
                                               int64_t payments_ok, bool exact);

}  // namespace resv
