#pragma once
// Store on PostgreSQL via libpqxx. One connection per PgStore; not
// thread-safe (the DbPool gives each worker its own). Connects lazily and
// reconnects after a lost connection, failing fast (DbUnavailable) for
// `reconnect_backoff` after a failed attempt instead of piling up attempts.
#include <chrono>
#include <memory>
#include <string>

#include "booking/store.h"

namespace resv {

struct PgStoreOptions {
  std::string url;
  std::chrono::milliseconds statement_timeout{5000};
  std::chrono::milliseconds lock_timeout{2000};
  std::chrono::milliseconds reconnect_backoff{200};
};

class PgStore final : public Store {
 public:
  explicit PgStore(PgStoreOptions options);
  ~PgStore() override;
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  Result<std::vector<Concert>> concerts() override;
  Result<Concert> concert(int64_t id) override;
  Result<std::vector<Schedule>> schedules(int64_t concert_id) override;
  Result<std::vector<Seat>> seats(int64_t schedule_id, bool available_only) override;
  Result<int64_t> expire_holds(int batch) override;
  Result<Pruned> prune(const Retention& retention, int batch) override;
  Result<Backlog> outbox_backlog() override;
  Status warm_up() override;
  Result<MigrationState> schema_state() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace resv
