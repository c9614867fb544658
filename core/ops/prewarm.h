#pragma once
// The database side of `resv warmup`: the relations an opening reads and
// writes (the tables of bookings, payments, the waiting room and the outbox,
// with their indexes) loaded into shared buffers with pg_prewarm, and their
// residency read from pg_buffercache before and after.
//
// Both extensions ship with PostgreSQL 15 (Debian's postgresql-15), but only
// a superuser may create them, so they are not created by a migration (that
// would stop every server of a database whose owner is not one): warm-up
// creates them when it may (the embedded cluster's role may), and says what
// to run when it may not.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace resv {

struct RelationResidency {
  std::string name;   // "seats", "seats_pkey"
  std::string table;  // the table it belongs to (itself for a table)
  int64_t blocks = 0;         // its size in blocks
  int64_t cached_before = 0;  // of those in shared buffers before
  int64_t cached_after = 0;   // and after (= before when nothing was loaded)
};

struct PrewarmReport {
  std::vector<RelationResidency> relations;  // tables first, each followed by its indexes
  int64_t block_size = 8192;
  int64_t shared_buffers_blocks = 0;
  bool measured = false;  // residency was read (pg_buffercache is installed)
  bool loaded = false;    // pg_prewarm ran (false: residency only, or it could not)
  std::string not_loaded_why;  // when it could not: what to run
  double seconds = 0;
};

// Loads the hot relations (load) or only reads their residency (!load).
// DbUnavailable when the database cannot be reached; a missing extension
// that cannot be created is not an error: the report says why (and, without
// pg_buffercache, residency is unknown: cached_* stay 0).
Result<PrewarmReport> prewarm_database(const std::string& url, bool load);

// What the database says of a concert now, as a warm server's pass reads it
// (server/warmer.h): its seats held or sold, its pools and their units left.
// NotFound when there is no such concert; DbUnavailable when unreachable.
struct ConcertCounts {
  int64_t seats_taken = 0;
  int pools = 0;
  int64_t pool_units_left = 0;
};
Result<ConcertCounts> concert_counts(const std::string& url, int64_t concert_id);

// The concerts an opening needs warm: those `schedules` belong to (NotFound
// names the first that does not exist), and, with `within`, those whose
// sales (a schedule's sales_open_at) or waiting room (opens_at) open from
// now to `within` seconds from now. `opens_in_s` is the latest such opening
// of the concert, in seconds from now (0 for one named by schedule only), so
// that the warm window can reach past it. In concert id order.
struct ConcertToWarm {
  int64_t concert_id = 0;
  int64_t opens_in_s = 0;
};
Result<std::vector<ConcertToWarm>> concerts_to_warm(const std::string& url, const std::vector<int64_t>& schedules,
                                                    std::optional<int64_t> within_s);

// Pure. The hot set's blocks, and its blocks in shared buffers before and after.
struct ResidencyTotals {
  int64_t blocks = 0, before = 0, after = 0;
};
ResidencyTotals residency_totals(const PrewarmReport& r);
// Pure. The warning when the hot set does not fit in shared_buffers (then
// warm-up cannot keep it resident, and an opening reads from disk or the
// page cache), with what to change; nullopt when it fits.
std::optional<std::string> residency_warning(const PrewarmReport& r);

// One part of an opening that is not warm, as `resv warmup --verify` and
// `resv doctor` name it.
struct WarmFinding {
  std::string where;     // "database", or the server's label
  int64_t concert = 0;   // 0: none
  std::string state;     // cold, stale, failing, mismatch
  std::string what;
};

// Pure. What one server's warm list (/admin/status "warm") says of the
// concerts of `db` (the database's counts now): a concert missing is cold,
// one whose last pass is older than 10 s or three of its refresh intervals
// is stale (its warm-up is stuck), one whose last pass failed is failing,
// one whose counts differ from the database's is a mismatch.
std::vector<WarmFinding> judge_warm_server(const std::string& where, const nlohmann::json& warm,
                                           const std::map<int64_t, ConcertCounts>& db);

}  // namespace resv
