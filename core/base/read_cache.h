#pragma once
// Short-lived cache of rendered read responses (seat maps, schedule lists).
// Serves stale while exactly one caller refreshes, so an expiring entry under
// load causes one database query, not a stampede; a missing entry is fetched
// by one caller while the others wait for its answer (with a waiter), and an
// invalidated one is served stale while one caller fetches it again.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

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
  // Called with the fetching caller's body, or null when its fetch failed.
  using Waiter = std::function<void(Body)>;
  // A fresh body (refresh=false); a stale body, with refresh=true for the one
  // caller that should refresh it; or, on a miss, no body and refresh=true.
  // On a miss while another caller fetches: no body and refresh=false, and the
  // Waiter that `make_waiter()` returns (called under the cache's lock, only
  // then, so a hit builds nothing) gets that caller's answer, from its put()
  // or abandon(), outside the lock. Without `make_waiter`, refresh=true.
  template <class MakeWaiter>
  Lookup get(const std::string& key, MakeWaiter&& make_waiter);
  Lookup get(const std::string& key) { return get(key, [] { return Waiter(); }); }
  void put(const std::string& key, Body body);
  // Ends a failed refresh: a stale body stays for the next caller to refresh,
  // a missing entry is dropped; its waiters get null.
  void abandon(const std::string& key);
  // Marks every entry whose key starts with `prefix` ("" all) stale: served
  // until one caller has fetched it again, never a cold miss for everyone.
  void invalidate_prefix(const std::string& prefix);
  bool enabled() const { return ttl_.count() > 0; }

 private:
  struct Entry {
    Body body;
    typename Clock::time_point at;
    bool refreshing = false;
    std::vector<Waiter> waiters;  // of a missing entry being fetched
  };
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

using ReadCache = BasicReadCache<>;

template <class ClockT>
template <class MakeWaiter>
typename BasicReadCache<ClockT>::Lookup BasicReadCache<ClockT>::get(const std::string& key, MakeWaiter&& make_waiter) {
  if (!enabled()) return {nullptr, true};
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    entries_[key] = Entry{nullptr, Clock::now(), true, {}};
    return {nullptr, true};
  }
  Entry& e = it->second;
  if (!e.body) {
    Waiter waiter = make_waiter();
    if (!waiter) return {nullptr, true};
    e.waiters.push_back(std::move(waiter));  // another caller fetches it
    return {nullptr, false};
  }
  if (Clock::now() - e.at < ttl_ || e.refreshing) return {e.body, false};
  e.refreshing = true;
  return {e.body, true};
}

template <class ClockT>
void BasicReadCache<ClockT>::put(const std::string& key, Body body) {
  if (!enabled()) return;
  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mu_);
    Entry& e = entries_[key];
    waiters.swap(e.waiters);
    e = Entry{body, Clock::now(), false, {}};
  }
  for (auto& w : waiters) w(body);
}

template <class ClockT>
void BasicReadCache<ClockT>::abandon(const std::string& key) {
  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    waiters.swap(it->second.waiters);
    if (it->second.body)
      it->second.refreshing = false;
    else
      entries_.erase(it);
  }
  for (auto& w : waiters) w(nullptr);
}

template <class ClockT>
void BasicReadCache<ClockT>::invalidate_prefix(const std::string& prefix) {
  std::lock_guard lock(mu_);
  for (auto& [key, e] : entries_)
    if (key.compare(0, prefix.size(), prefix) == 0) e.at = Clock::now() - ttl_;
}

// Compiled once, in read_cache.cpp.
extern template class BasicReadCache<std::chrono::steady_clock>;

}  // namespace resv
