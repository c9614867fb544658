#include "booking/sweeper.h"

#include <spdlog/spdlog.h>

namespace resv {

Sweeper::Sweeper(SweeperOptions options, std::unique_ptr<Store> store, MetricsRegistry& metrics)
    : opts_(options),
      store_(std::move(store)),
      expired_(metrics.counter("resv_holds_expired_total", "Holds released by this server's sweeper.")),
      backlog_(metrics.gauge("resv_outbox_backlog", "Outbox rows not yet published (sampled by the sweeper).")) {}

Sweeper::~Sweeper() { stop(); }

void Sweeper::start() { thread_ = std::thread([this] { run(); }); }

void Sweeper::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t Sweeper::sweep_once() {
  auto schema = store_->schema_state();
  db_ok_ = schema.ok() || schema.status().code() != ErrorCode::DbUnavailable;
  schema_version_ = schema.ok() ? schema->applied : -1;
  {
    std::lock_guard lock(schema_mu_);
    schema_problem_ = schema.ok() ? schema_lag(schema.value()) : db_ok_ ? schema.status().message() : "";
  }
  int64_t total = 0;
  if (!schema.ok()) return 0;
  for (;;) {
    auto n = store_->expire_holds(opts_.batch);
    if (!n.ok()) break;
    total += n.value();
    expired_.inc(static_cast<uint64_t>(n.value()));
    if (n.value() < opts_.batch) break;
  }
  if (auto b = store_->outbox_backlog(); b.ok()) backlog_.set(b.value());
  return total;
}

void Sweeper::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    int64_t n = sweep_once();
    if (n > 0) spdlog::info("msg=\"expired holds released\" count={}", n);
    lock.lock();
    cv_.wait_for(lock, opts_.interval, [this] { return stop_; });
  }
}

}  // namespace resv
