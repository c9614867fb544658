#pragma once
// Keeps concerts warm in this server before an opening (resv warmup): their
// catalog reads rendered in the read cache (the concert list, the concert,
// its schedules, every seat map) and what the database says is taken or left
// in the availability filter (each seat map's held and sold seats, each
// pool's units left), so that the first buyers are answered from memory.
// Then, until the warm window ends, it renders and loads them again in the
// background (one pass after the other on its own session), so that no
// buyer pays for a render and the filter's entries do not age out.
//
// The filter keeps its rules: every entry comes from a database answer read
// after the filter's generation was taken (a release in between discards
// it), and releases still drop entries as they come.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/metrics.h"
#include "base/read_cache.h"
#include "booking/availability.h"
#include "booking/pg_store.h"

namespace resv {

// The read cache's keys of the catalog reads: one place for the routes
// (routes_catalog.cpp) and the warmer.
namespace catalog_key {
inline std::string concerts() { return "concerts"; }
inline std::string concert(int64_t id) { return "concert:" + std::to_string(id); }
inline std::string schedules(int64_t concert_id) { return "schedules:" + std::to_string(concert_id); }
inline std::string seats(int64_t schedule_id, bool available_only) {
  return "seats:" + std::to_string(schedule_id) + (available_only ? ":available" : ":all");
}
}  // namespace catalog_key

// What one pass over a concert loaded.
struct WarmPass {
  int64_t concert_id = 0;
  int schedules = 0;
  int cache_entries = 0;   // rendered and put in the read cache
  int64_t seats_taken = 0;  // recorded in the filter
  int pools = 0;           // whose units left are recorded in the filter
  int64_t pool_units_left = 0;  // their units left, in all
  double ms = 0;
};

// A warm concert, for /admin/status.
struct WarmState {
  WarmPass last;  // the last pass
  std::chrono::system_clock::time_point since, until, last_refresh;
  int64_t refreshes = 0;   // passes after the first
  std::string last_error;  // of the last pass that failed ("" when it did not)
  std::chrono::milliseconds refresh_interval{0};  // from this pass to the next
};

// Pure. The time between two passes over a warm concert: `interval`, or, for
// a concert whose pass takes longer than a tenth of it, nine times its last
// pass, so that keeping a large concert warm takes at most a tenth of one
// core from the buyers (a pass over 300,000 seats every 250 ms took all of
// one). Entries then age past the read cache's lifetime between passes; a
// buyer is still answered from the stale copy while one request refreshes it.
std::chrono::milliseconds refresh_interval(std::chrono::milliseconds interval, double last_pass_ms);

class Warmer {
 public:
  // `interval`: between two passes over a warm concert (half the read
  // cache's lifetime, so that an entry is rendered again before it goes
  // stale), stretched for a large concert by refresh_interval().
  Warmer(PgStoreOptions store, std::chrono::milliseconds interval, ReadCache& cache, AvailabilityFilter& filter,
         MetricsRegistry& metrics);
  ~Warmer();  // stop()
  void start();
  void stop();

  // Warms `concerts` now, on the warmer's thread, and keeps them warm for
  // `window`; `done` gets one pass per concert in order, or the first
  // failure (NotFound for a concert that does not exist: nothing is kept
  // warm then).
  using Done = std::function<void(Result<std::vector<WarmPass>>)>;
  void warm(std::vector<int64_t> concerts, std::chrono::seconds window, Done done);

  // The concerts kept warm now, by id.
  std::vector<WarmState> states() const;

 private:
  struct Job {
    std::vector<int64_t> concerts;
    std::chrono::seconds window;
    Done done;
  };
  void run();
  Result<WarmPass> pass(int64_t concert_id);
  Result<WarmPass> pass_reconnecting(int64_t concert_id);  // once more after a lost connection

  PgStore store_;  // the warmer thread's session
  ReadCache& cache_;
  AvailabilityFilter& filter_;
  std::chrono::milliseconds interval_;  // between passes over a warm concert
  Counter& passes_;
  Gauge& warm_concerts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::map<int64_t, WarmState> warm_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace resv
