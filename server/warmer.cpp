#include "server/warmer.h"

#include <spdlog/spdlog.h>

#include "base/logfmt.h"
#include "server/converters.h"

namespace resv {

Warmer::Warmer(PgStoreOptions store, std::chrono::milliseconds interval, ReadCache& cache, AvailabilityFilter& filter,
               MetricsRegistry& metrics)
    : store_(std::move(store)),
      cache_(cache),
      filter_(filter),
      interval_(interval),
      passes_(metrics.counter("resv_warm_passes_total",
                              "Passes over a warm concert: its catalog reads rendered, its availability loaded.")),
      warm_concerts_(metrics.gauge("resv_warm_concerts", "Concerts this server keeps warm (resv warmup).")) {}

std::chrono::milliseconds refresh_interval(std::chrono::milliseconds interval, double last_pass_ms) {
  return std::max(interval, std::chrono::milliseconds(static_cast<int64_t>(last_pass_ms * 9)));
}

Warmer::~Warmer() { stop(); }

void Warmer::start() { thread_ = std::thread([this] { run(); }); }

void Warmer::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& job : jobs_) job.done(Status::Overloaded("the server is shutting down; warm the others"));
  jobs_.clear();
}

void Warmer::warm(std::vector<int64_t> concerts, std::chrono::seconds window, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!stop_) {
      jobs_.push_back({std::move(concerts), window, std::move(done)});
      cv_.notify_all();
      return;
    }
  }
  done(Status::Overloaded("the server is shutting down; warm the others"));
}

std::vector<WarmState> Warmer::states() const {
  std::lock_guard lock(mu_);
  std::vector<WarmState> out;
  for (const auto& [id, s] : warm_) out.push_back(s);
  return out;
}

Result<WarmPass> Warmer::pass(int64_t concert_id) {
  const auto t0 = std::chrono::steady_clock::now();
  WarmPass p;
  p.concert_id = concert_id;
  auto put = [&](const std::string& key, std::string body) {
    cache_.put(key, std::make_shared<const std::string>(std::move(body)));
    ++p.cache_entries;
  };
  auto concert = store_.concert(concert_id);
  if (!concert.ok()) return concert.status();
  put(catalog_key::concert(concert_id), concert_json(concert.value()));
  auto concerts = store_.concerts();
  if (!concerts.ok()) return concerts.status();
  put(catalog_key::concerts(), concerts_json(concerts.value()));

  // The filter's generation is read before each answer it records, so that
  // a release in between discards that answer.
  uint64_t generation = filter_.generation();
  auto schedules = store_.schedules(concert_id);
  if (!schedules.ok()) return schedules.status();
  put(catalog_key::schedules(concert_id), schedules_json(concert_id, schedules.value()));
  for (const auto& s : schedules.value())
    for (const auto& pool : s.pools) {
      filter_.record_remaining(pool.id, pool.available, generation);
      ++p.pools;
      p.pool_units_left += pool.available;
    }

  for (const auto& s : schedules.value()) {
    ++p.schedules;
    generation = filter_.generation();
    auto seats = store_.seats(s.id, false);
    if (!seats.ok()) return seats.status();
    std::vector<int64_t> taken;
    std::vector<Seat> available;
    for (const auto& seat : seats.value()) {
      if (seat.status == "AVAILABLE")
        available.push_back(seat);
      else
        taken.push_back(seat.id);
    }
    filter_.record_taken(s.id, taken, generation);
    p.seats_taken += static_cast<int64_t>(taken.size());
    put(catalog_key::seats(s.id, false), seats_json(s.id, seats.value()));
    // The same answer as the database's "available only" list: those
    // AVAILABLE, in its order.
    put(catalog_key::seats(s.id, true), seats_json(s.id, available));
  }
  p.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  passes_.inc();
  return p;
}

Result<WarmPass> Warmer::pass_reconnecting(int64_t concert_id) {
  auto p = pass(concert_id);
  // The session's connection died with a database restart since its last
  // use: the store connects again on the next call.
  if (!p.ok() && p.status().code() == ErrorCode::DbUnavailable) p = pass(concert_id);
  return p;
}

void Warmer::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (!jobs_.empty()) {
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      std::vector<WarmPass> passes;
      Status failed = Status::Ok();
      for (int64_t id : job.concerts) {
        auto p = pass_reconnecting(id);
        if (!p.ok()) {
          failed = p.status();
          break;
        }
        passes.push_back(p.value());
      }
      lock.lock();
      if (failed.ok()) {
        const auto now = std::chrono::system_clock::now();
        for (const auto& p : passes) {
          auto [it, fresh] = warm_.try_emplace(p.concert_id);
          if (fresh) it->second.since = now;
          it->second.until = std::max(it->second.until, now + job.window);
          it->second.last = p;
          it->second.last_refresh = now;
          it->second.last_error.clear();
          it->second.refresh_interval = refresh_interval(interval_, p.ms);
        }
        warm_concerts_.set(static_cast<int64_t>(warm_.size()));
      }
      lock.unlock();
      job.done(failed.ok() ? Result<std::vector<WarmPass>>(std::move(passes)) : Result<std::vector<WarmPass>>(failed));
      lock.lock();
      continue;
    }
    // The warm concert whose pass is due first; those past their window go.
    const auto now = std::chrono::system_clock::now();
    std::erase_if(warm_, [&](const auto& e) { return e.second.until <= now; });
    warm_concerts_.set(static_cast<int64_t>(warm_.size()));
    int64_t due_id = 0;
    auto due_at = std::chrono::system_clock::time_point::max();
    for (const auto& [id, s] : warm_)
      if (s.last_refresh + s.refresh_interval < due_at) {
        due_at = s.last_refresh + s.refresh_interval;
        due_id = id;
      }
    if (due_id == 0 || due_at > now) {
      cv_.wait_until(lock, std::min(due_at, now + std::chrono::seconds(1)), [this] { return stop_ || !jobs_.empty(); });
      continue;
    }
    lock.unlock();
    auto p = pass_reconnecting(due_id);
    lock.lock();
    auto it = warm_.find(due_id);
    if (it == warm_.end()) continue;
    it->second.last_refresh = std::chrono::system_clock::now();
    ++it->second.refreshes;
    if (p.ok()) {
      it->second.last = p.value();
      it->second.last_error.clear();
      it->second.refresh_interval = refresh_interval(interval_, p->ms);
    } else {
      if (it->second.last_error.empty())
        spdlog::warn("msg=\"keeping a concert warm failed; tried again at the next pass\" concert={} error={}",
                     due_id, logfmt(p.status().message()));
      it->second.last_error = p.status().message();
    }
  }
}

}  // namespace resv
