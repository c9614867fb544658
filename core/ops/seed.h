#pragma once
// Test and rehearsal data.
//
// seed(): a deterministic data set of any size, bulk-loaded with COPY in one
// transaction (all or nothing: an interrupted or failed seed leaves the
// database as it was). Ids start at 1 in every table and every value
// (names, grades, prices, balances) comes from `seed` and the row's id, so
// the same spec and seed give the same rows, whatever the number of
// generator threads. Times (schedule starts, sales openings) are relative to
// the moment of seeding.
//
// seed_demo(): the small set `resv demo` adds on each run, beside what is there.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace resv {

inline constexpr uint64_t kDefaultSeed = 20261121;

struct SeedSpec {
  std::string profile = "custom";
  int64_t concerts = 1;
  int64_t schedules_per_concert = 1;
  int64_t seats = 0;  // in total, spread evenly over every schedule
  int64_t pools_per_schedule = 0;
  int64_t pool_capacity = 0;
  int pool_max_party = 1;
  int pool_max_per_user = 1;
  std::string pool_kind = "GENERAL_ADMISSION";  // or RESTAURANT_SLOT, COUPON
  int64_t users = 0;
  int64_t balance = 1'000'000;  // mean balance of a user (each gets 50-150 % of it)
  uint64_t seed = kDefaultSeed;
};

// The field reports' set-ups: concert (1 schedule, 1,000 seats, 10,000
// users), festival (10 concerts x 3 schedules x 5,000 seats, 50,000 users),
// restaurant (one slot: a pool of 40, parties up to 4, 2,000 users), coupon
// (a pool of 100,000, one per user, 150,000 users). NotFound for another name.
Result<SeedSpec> seed_profile(const std::string& name);
const std::vector<std::string>& seed_profile_names();

// `scale` copies of the events (concerts), and `scale` times the seats and
// the users. InvalidRequest for a scale below 1 or a product beyond a
// billion (never a wrapped-around one).
Result<SeedSpec> scale_spec(SeedSpec spec, int64_t scale);

// InvalidRequest when a size is negative, zero where it must not be, or too
// large (over a billion rows in one table).
Status validate_spec(const SeedSpec& spec);

struct SeedTable {
  std::string name;
  int64_t rows = 0;
  double seconds = 0;  // loading time (0 in a plan)
};

// The rows `spec` creates per table, in load order (pool_units: made by the
// pools' trigger).
std::vector<SeedTable> seed_plan(const SeedSpec& spec);

struct SeedOptions {
  bool reset = false;  // replace the data there is (else the tables must be empty)
  bool force = false;  // even when reservations or payments exist
  int jobs = 2;        // threads generating rows while one connection loads them
  // Called on the loading thread as rows go out: (table, 0, total) when a
  // table begins, (table, total, total) when it is loaded.
  std::function<void(const std::string& table, int64_t done, int64_t total)> progress;
  // Polled between chunks; true rolls everything back (Ctrl-C).
  std::function<bool()> interrupted;
};

struct SeedReport {
  std::vector<SeedTable> tables;
  double seconds = 0;  // the whole transaction, index builds and ANALYZE included
};

// Loads `spec` into the database at `url`: one transaction that checks what
// is there, empties the tables (TRUNCATE, so COPY can FREEZE), drops their
// secondary indexes and constraints, COPYs every table, rebuilds indexes and
// constraints, sets the id sequences, records the run in seed_runs, ANALYZEs
// and tells running servers to drop their caches (NOTIFY, on commit).
// Conflict when the tables hold data and !reset, or when reservations or
// payments exist and !force; Cancelled when interrupted; DbUnavailable when
// the database cannot be reached or the connection is lost; Busy when the
// tables stay locked by other sessions (e.g. a busy server) for 10 s.
Result<SeedReport> seed(const std::string& url, const SeedSpec& spec, const SeedOptions& options);

// One row of a table as COPY text (no trailing newline), for tests and the
// benchmark's pre-generated files: the exact bytes seed() sends.
// `table` is one of concerts, schedules, seats, pools, users; `index` 0-based.
std::string seed_row(const SeedSpec& spec, const std::string& table, int64_t index);

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

// Adds one demo set (1 concert, 1 schedule a week from now, 200 seats in
// three grades, a general-admission pool of 40 with parties up to 4, 500
// users) beside what is there, in one transaction. DbUnavailable when the
// database cannot be reached; Internal on any other SQL error (e.g. the
// schema is not migrated).
Result<DemoSet> seed_demo(const std::string& database_url);

}  // namespace resv
