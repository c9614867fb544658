#pragma once
// The blocking side of the database behind a small interface: the catalog
// reads the server caches, and the sweeper's upkeep. (The write paths go
// through booking/bookings.h on the asynchronous pool.) PgStore
// (pg_store.h) is the PostgreSQL implementation; every call is one round
// trip, and every failure comes back as a Status: DbUnavailable when the
// database cannot be reached, Busy on lock or statement timeouts.
#include <chrono>
#include <cstdint>
#include <vector>

#include "base/status.h"
#include "booking/domain.h"
#include "db/db_pool.h"
#include "db/migrations.h"

namespace resv {

class Store {
 public:
  virtual ~Store() = default;

  virtual Result<std::vector<Concert>> concerts() = 0;
  // NotFound if there is no such concert.
  virtual Result<Concert> concert(int64_t id) = 0;
  // Schedules of a concert with available seat and pool counts;
  // NotFound if there is no such concert.
  virtual Result<std::vector<Schedule>> schedules(int64_t concert_id) = 0;
  // NotFound if there is no such schedule.
  virtual Result<std::vector<Seat>> seats(int64_t schedule_id, bool available_only) = 0;

  // Releases up to `batch` expired holds; returns how many.
  virtual Result<int64_t> expire_holds(int batch) = 0;
  // How long what has served its time is kept.
  struct Retention {
    std::chrono::seconds idempotency_keys{24 * 3600};  // since the answer
    std::chrono::seconds queue_tokens{7 * 24 * 3600};  // since the token ended
    std::chrono::seconds outbox{24 * 3600};            // since it was written (never before it is published)
  };
  // Deletes up to `batch` of each past its retention (an outbox row only
  // once published), never waiting for a row someone holds.
  struct Pruned {
    int64_t idempotency_keys = 0;
    int64_t queue_tokens = 0;
    int64_t outbox = 0;
  };
  virtual Result<Pruned> prune(const Retention& retention, int batch) = 0;
  // Outbox rows not yet published, and how long the oldest has waited.
  struct Backlog {
    int64_t unpublished = 0;
    double oldest_age_s = 0;  // 0 when there is none
  };
  virtual Result<Backlog> outbox_backlog() = 0;
  // Connects and runs every write path once with ids that cannot exist (so
  // nothing changes), leaving statements prepared and PL/pgSQL compiled: the
  // first buyers of an opening do not pay for it. DbUnavailable if unreachable.
  virtual Status warm_up() = 0;
  // The schema's level: migrations applied, function files current.
  virtual Result<MigrationState> schema_state() = 0;
};

// The blocking pool of Store sessions behind the server's cached reads.
using StorePool = DbPool<Store>;

}  // namespace resv
