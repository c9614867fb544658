#pragma once
// Short-lived cache of rendered read responses (seat maps, schedule lists).
// Serves stale while exactly one caller refreshes, so an expiring entry under
// load causes one database query, not a stampede.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace resv {

// ReadCache (below) is the one the server uses, on std::chrono::steady_clock.
// The clock is a template parameter so that a test can age entries with a
// clock of its own instead of sleeping; the server's calls stay direct.
template <class ClockT = std::chrono::steady_clock>
class BasicReadCache {
 public:
  using Clock = ClockT;
  using Body = std::shared_ptr<const std::string>;
  explicit BasicReadCache(std::chrono::milliseconds ttl) : ttl_(ttl) {}

  struct Lookup {
    Body body;            // null: nothing cached
    bool refresh = false; // this caller must fetch and put()
  };
  // A fresh body (refresh=false); a stale body, with refresh=true for the one
  // caller that should refresh it; or, on a miss, no body and refresh=true.
  Lookup get(const std::string& key);
  void put(const std::string& key, Body body);
  // Drops the entry after a failed refresh so the next caller retries.
  void abandon(const std::string& key);
  // Drops every entry whose key starts with `prefix` ("" drops all).
  void invalidate_prefix(const std::string& prefix);
  bool enabled() const { return ttl_.count() > 0; }

 private:
  struct Entry {
    Body body;
    typename Clock::time_point at;
    bool refreshing = false;
  };
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

using ReadCache = BasicReadCache<>;

template <class ClockT>
typename BasicReadCache<ClockT>::Lookup BasicReadCache<ClockT>::get(const std::string& key) {
  if (!enabled()) return {nullptr, true};
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    entries_[key] = Entry{nullptr, Clock::now(), true};
    return {nullptr, true};
  }
  Entry& e = it->second;
  if (!e.body) return {nullptr, true};  // cold: every caller fetches
  if (Clock::now() - e.at < ttl_ || e.refreshing) return {e.body, false};
  e.refreshing = true;
  return {e.body, true};
}

template <class ClockT>
void BasicReadCache<ClockT>::put(const std::string& key, Body body) {
  if (!enabled()) return;
  std::lock_guard lock(mu_);
  entries_[key] = Entry{std::move(body), Clock::now(), false};
}

template <class ClockT>
void BasicReadCache<ClockT>::abandon(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  if (it->second.body)
    it->second.refreshing = false;
  else
    entries_.erase(it);
}

template <class ClockT>
void BasicReadCache<ClockT>::invalidate_prefix(const std::string& prefix) {
  std::lock_guard lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->first.compare(0, prefix.size(), prefix) == 0)
      it = entries_.erase(it);
    else
      ++it;
  }
}

// Compiled once, in read_cache.cpp.
extern template class BasicReadCache<std::chrono::steady_clock>;

}  // namespace resv
