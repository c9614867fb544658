#pragma once
// LISTENs on the `resv_release` channel, which the SQL functions notify at
// commit whenever seats or pool units are released (cancel, expiry), and
// resv seed when it replaced the data, and
// hands each release to a callback. Reconnects on its own; after every
// (re)connect it reports `lost = true` so callers drop everything they
// derived from notifications they may have missed.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace resv {

struct ReleaseEvent {
  bool lost = false;  // notifications may have been missed: forget everything
  int64_t schedule_id = 0;
  std::optional<int64_t> pool_id;
  std::vector<int64_t> seat_ids;  // empty with no pool: the whole schedule
};

// Parses a notification payload; nullopt if malformed. {"reset":true} (data
// replaced by resv seed) is reported as `lost`. Pure.
std::optional<ReleaseEvent> parse_release_payload(const std::string& payload);

class ReleaseListener {
 public:
  ReleaseListener(std::string url, std::function<void(const ReleaseEvent&)> on_event);
  ~ReleaseListener();
  void start();
  void stop();
  bool connected() const { return connected_.load(); }

 private:
  void run();
  std::string url_;
  std::function<void(const ReleaseEvent&)> on_event_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

}  // namespace resv
