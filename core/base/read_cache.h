#pragma once
// Short-lived cache of rendered read responses (seat maps, schedule lists).
// Serves stale while exactly one caller refreshes, so an expiring entry under
// load causes one database query, not a stampede.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace resv {

class ReadCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Body = std::shared_ptr<const std::string>;
  explicit ReadCache(std::chrono::milliseconds ttl) : ttl_(ttl) {}

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
    Clock::time_point at;
    bool refreshing = false;
  };
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace resv
