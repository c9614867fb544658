#include "booking/sweeper.h"

#include <spdlog/spdlog.h>

namespace resv {

Sweeper::Sweeper(SweeperOptions options, std::unique_ptr<Store> store, MetricsRegistry& metrics)
    : opts_(options),
      store_(std::move(store)),
      expired_(metrics.counter("resv_holds_expired_total", "Holds released by this server's sweeper.")),
      pruned_keys_(metrics.counter("resv_pruned_total", "Rows past their retention deleted by this server's sweeper.",
                                   "what=\"idempotency_keys\"")),
      pruned_tokens_(metrics.counter("resv_pruned_total", "Rows past their retention deleted by this server's sweeper.",
                                     "what=\"queue_tokens\"")),
      pruned_outbox_(metrics.counter("resv_pruned_total", "Rows past their retention deleted by this server's sweeper.",
                                     "what=\"outbox\"")),
      backlog_(metrics.gauge("resv_outbox_backlog", "Outbox rows not yet published (sampled by the sweeper).")),
      oldest_unpublished_(metrics.gauge("resv_outbox_oldest_unpublished_seconds",
                                        "How long the oldest unpublished outbox row has waited (0: none).")) {}

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
  bool expired_all = true;
  for (;;) {
    auto n = store_->expire_holds(opts_.batch);
    if (!n.ok()) {
      expired_all = false;
      break;
    }
    total += n.value();
    expired_.inc(static_cast<uint64_t>(n.value()));
    if (n.value() < opts_.batch) break;
  }
  if (expired_all)
    last_pass_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now().time_since_epoch()).count();
  if (auto b = store_->outbox_backlog(); b.ok()) {
    backlog_.set(b->unpublished);
    oldest_unpublished_.set(static_cast<int64_t>(b->oldest_age_s));
  }
  return total;
}

Store::Pruned Sweeper::prune_once() {
  Store::Pruned total;
  for (;;) {
    auto n = store_->prune(opts_.retention, opts_.batch);
    if (!n.ok()) break;
    total.idempotency_keys += n->idempotency_keys;
    total.queue_tokens += n->queue_tokens;
    total.outbox += n->outbox;
    pruned_keys_.inc(static_cast<uint64_t>(n->idempotency_keys));
    pruned_tokens_.inc(static_cast<uint64_t>(n->queue_tokens));
    pruned_outbox_.inc(static_cast<uint64_t>(n->outbox));
    if (n->idempotency_keys < opts_.batch && n->queue_tokens < opts_.batch && n->outbox < opts_.batch) break;
  }
  return total;
}

void Sweeper::run() {
  std::unique_lock lock(mu_);
  auto next_prune = std::chrono::steady_clock::now();
  while (!stop_) {
    lock.unlock();
    int64_t n = sweep_once();
    if (n > 0) spdlog::info("msg=\"expired holds released\" count={}", n);
    if (db_ok_ && std::chrono::steady_clock::now() >= next_prune) {
      auto pruned = prune_once();
      if (pruned.idempotency_keys + pruned.queue_tokens + pruned.outbox > 0)
        spdlog::info("msg=\"pruned past retention\" idempotency_keys={} queue_tokens={} outbox={}",
                     pruned.idempotency_keys, pruned.queue_tokens, pruned.outbox);
      next_prune = std::chrono::steady_clock::now() + opts_.prune_interval;
    }
    lock.lock();
    cv_.wait_for(lock, opts_.interval, [this] { return stop_; });
  }
}

}  // namespace resv
