#include "booking/availability.h"

#include <mutex>

namespace resv {

std::vector<int64_t> AvailabilityFilter::known_taken(int64_t schedule_id, std::span<const int64_t> seats) const {
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

void AvailabilityFilter::record_taken(int64_t schedule_id, std::span<const int64_t> seats,
                                      uint64_t generation_before) {
  std::unique_lock lock(mu_);
  // Checked under the lock: release_* bumps the generation under it too.
  if (generation_.load(std::memory_order_acquire) != generation_before) return;
  auto now = Clock::now();
  auto& m = taken_[schedule_id];
  for (int64_t s : seats) m[s] = now;
}

bool AvailabilityFilter::known_sold_out(int64_t pool_id, int64_t quantity, int64_t* remaining) const {
  std::shared_lock lock(mu_);
  auto it = pools_.find(pool_id);
  if (it == pools_.end() || !fresh(it->second.at) || quantity <= it->second.remaining) return false;
  if (remaining) *remaining = it->second.remaining;
  return true;
}

void AvailabilityFilter::record_remaining(int64_t pool_id, int64_t remaining, uint64_t generation_before) {
  std::unique_lock lock(mu_);
  if (generation_.load(std::memory_order_acquire) != generation_before) return;
  pools_[pool_id] = Remaining{remaining, Clock::now()};
}

void AvailabilityFilter::release_seats(int64_t schedule_id, std::span<const int64_t> seats) {
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

void AvailabilityFilter::release_pool(int64_t pool_id) {
  std::unique_lock lock(mu_);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  pools_.erase(pool_id);
}

void AvailabilityFilter::clear() {
  std::unique_lock lock(mu_);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  taken_.clear();
  pools_.clear();
}

}  // namespace resv
