#pragma once
// In-memory availability filter: answers "seat taken" and "sold out" without
// a database round trip, but only with what the database itself answered.
// It is a filter, never the truth:
//  - entries come only from database answers (record_*),
//  - a release anywhere (NOTIFY from any server) drops the affected entries,
//  - an answer recorded while a release happened in between is discarded
//    (generation check), so a stale "sold out" can never outlive a release,
//  - entries older than `ttl` are ignored, a backstop should a release
//    notification be lost.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <unordered_map>
#include <vector>

namespace resv {

// AvailabilityFilter (below) is the one the server uses, on
// std::chrono::steady_clock. The clock is a template parameter so that a test
// can age entries with a clock of its own instead of sleeping; the server's
// calls stay direct.
template <class ClockT = std::chrono::steady_clock>
class BasicAvailabilityFilter {
 public:
  using Clock = ClockT;
  explicit BasicAvailabilityFilter(std::chrono::milliseconds ttl) : ttl_(ttl) {}

  // Read before sending a request to the database; pass to record_*.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Seats among `seats` the database recently said are taken.
  std::vector<int64_t> known_taken(int64_t schedule_id, std::span<const int64_t> seats) const;
  void record_taken(int64_t schedule_id, std::span<const int64_t> seats, uint64_t generation_before);

  // True when the database recently said pool `pool_id` has fewer than
  // `quantity` units left; `remaining` receives that count.
  bool known_sold_out(int64_t pool_id, int64_t quantity, int64_t* remaining = nullptr) const;
  void record_remaining(int64_t pool_id, int64_t remaining, uint64_t generation_before);

  // A release of seats (empty span: the whole schedule) or of a pool.
  void release_seats(int64_t schedule_id, std::span<const int64_t> seats);
  void release_pool(int64_t pool_id);
  // Forget everything (e.g. the notification connection was lost).
  void clear();

 private:
  using TimePoint = typename Clock::time_point;
  bool fresh(TimePoint t) const { return Clock::now() - t < ttl_; }

  std::chrono::milliseconds ttl_;
  std::atomic<uint64_t> generation_{0};
  mutable std::shared_mutex mu_;
  std::unordered_map<int64_t, std::unordered_map<int64_t, TimePoint>> taken_;  // schedule -> seat -> when
  struct Remaining {
    int64_t remaining;
    TimePoint at;
  };
  std::unordered_map<int64_t, Remaining> pools_;
};

using AvailabilityFilter = BasicAvailabilityFilter<>;

template <class ClockT>
std::vector<int64_t> BasicAvailabilityFilter<ClockT>::known_taken(int64_t schedule_id,
                                                                  std::span<const int64_t> seats) const {
  std::vector<int64_t> out;
  std::shared_lock lock(mu_);
  auto it = taken_.find(schedule_id);
  if (it == taken_.end()) return out;
  for (int64_t s : seats) {
    auto e = it->second.find(s);
    if (e != it->second.end() && fresh(e->second)) out.push_back(s);
  }
  return out;
}

template <class ClockT>
void BasicAvailabilityFilter<ClockT>::record_taken(int64_t schedule_id, std::span<const int64_t> seats,
                                                   uint64_t generation_before) {
  std::unique_lock lock(mu_);
  // Checked under the lock: release_* bumps the generation under it too.
  if (generation_.load(std::memory_order_acquire) != generation_before) return;
  auto now = Clock::now();
  auto& m = taken_[schedule_id];
  for (int64_t s : seats) m[s] = now;
}

template <class ClockT>
bool BasicAvailabilityFilter<ClockT>::known_sold_out(int64_t pool_id, int64_t quantity, int64_t* remaining) const {
  std::shared_lock lock(mu_);
  auto it = pools_.find(pool_id);
  if (it == pools_.end() || !fresh(it->second.at) || quantity <= it->second.remaining) return false;
  if (remaining) *remaining = it->second.remaining;
  return true;
}

template <class ClockT>
void BasicAvailabilityFilter<ClockT>::record_remaining(int64_t pool_id, int64_t remaining,
                                                       uint64_t generation_before) {
  std::unique_lock lock(mu_);
  if (generation_.load(std::memory_order_acquire) != generation_before) return;
  pools_[pool_id] = Remaining{remaining, Clock::now()};
}

template <class ClockT>
void BasicAvailabilityFilter<ClockT>::release_seats(int64_t schedule_id, std::span<const int64_t> seats) {
  std::unique_lock lock(mu_);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  auto it = taken_.find(schedule_id);
  if (it == taken_.end()) return;
  if (seats.empty()) {
    taken_.erase(it);
    return;
  }
  for (int64_t s : seats) it->second.erase(s);
}

template <class ClockT>
void BasicAvailabilityFilter<ClockT>::release_pool(int64_t pool_id) {
  std::unique_lock lock(mu_);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  pools_.erase(pool_id);
}

template <class ClockT>
void BasicAvailabilityFilter<ClockT>::clear() {
  std::unique_lock lock(mu_);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  taken_.clear();
  pools_.clear();
}

// Compiled once, in availability.cpp.
extern template class BasicAvailabilityFilter<std::chrono::steady_clock>;

}  // namespace resv
