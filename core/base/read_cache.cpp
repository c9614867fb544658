#include "base/read_cache.h"

namespace resv {

ReadCache::Lookup ReadCache::get(const std::string& key) {
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

void ReadCache::put(const std::string& key, Body body) {
  if (!enabled()) return;
  std::lock_guard lock(mu_);
  entries_[key] = Entry{std::move(body), Clock::now(), false};
}

void ReadCache::abandon(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  if (it->second.body)
    it->second.refreshing = false;
  else
    entries_.erase(it);
}

void ReadCache::invalidate_prefix(const std::string& prefix) {
  std::lock_guard lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->first.compare(0, prefix.size(), prefix) == 0)
      it = entries_.erase(it);
    else
      ++it;
  }
}

}  // namespace resv
