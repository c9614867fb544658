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
#include <optional>
#include <shared_mutex>
#include <span>
#include <unordered_map>
#include <vector>

namespace resv {

class AvailabilityFilter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit AvailabilityFilter(std::chrono::milliseconds ttl) : ttl_(ttl) {}

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
  bool fresh(Clock::time_point t) const { return Clock::now() - t < ttl_; }

  std::chrono::milliseconds ttl_;
  std::atomic<uint64_t> generation_{0};
  mutable std::shared_mutex mu_;
  std::unordered_map<int64_t, std::unordered_map<int64_t, Clock::time_point>> taken_;  // schedule -> seat -> when
  struct Remaining {
    int64_t remaining;
    Clock::time_point at;
  };
  std::unordered_map<int64_t, Remaining> pools_;
};

}  // namespace resv
