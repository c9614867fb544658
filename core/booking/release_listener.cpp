#include "booking/release_listener.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "db/pg_text.h"

namespace resv {

std::optional<ReleaseEvent> parse_release_payload(const std::string& payload) {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  // Data replaced wholesale (resv seed): everything derived from it goes.
  if (j.is_object() && j.contains("reset") && j["reset"] == true) {
    ReleaseEvent everything;
    everything.lost = true;
    return everything;
  }
  if (j.is_discarded() || !j.is_object() || !j.contains("scheduleId") || !j["scheduleId"].is_number_integer())
    return std::nullopt;
  ReleaseEvent ev;
  ev.schedule_id = j["scheduleId"].get<int64_t>();
  if (j.contains("poolId") && j["poolId"].is_number_integer()) ev.pool_id = j["poolId"].get<int64_t>();
  if (j.contains("seatIds") && j["seatIds"].is_array())
    for (const auto& s : j["seatIds"])
      if (s.is_number_integer()) ev.seat_ids.push_back(s.get<int64_t>());
  return ev;
}

namespace {
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, std::function<void(const ReleaseEvent&)>& cb)
      : pqxx::notification_receiver(c, "resv_release"), cb_(cb) {}
  void operator()(const std::string& payload, int) override {
    if (auto ev = parse_release_payload(payload))
      cb_(*ev);
    else
      spdlog::warn("msg=\"malformed release notification ignored\"");
  }

 private:
  std::function<void(const ReleaseEvent&)>& cb_;
};
}  // namespace

ReleaseListener::ReleaseListener(std::string url, std::function<void(const ReleaseEvent&)> on_event)
    : url_(std::move(url)), on_event_(std::move(on_event)) {}

ReleaseListener::~ReleaseListener() { stop(); }

void ReleaseListener::start() { thread_ = std::thread([this] { run(); }); }

void ReleaseListener::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ReleaseListener::run() {
  bool logged_down = false;
  while (!stop_) {
    try {
      pqxx::connection conn(with_connect_timeout(url_, 2));
      Receiver receiver(conn, on_event_);
      conn.get_notifs();  // issues the LISTEN
      connected_ = true;
      logged_down = false;
      on_event_(ReleaseEvent{true, 0, std::nullopt, {}});
      while (!stop_) conn.await_notification(0, 200000);
      connected_ = false;
    } catch (const std::exception& e) {
      connected_ = false;
      if (!logged_down) spdlog::warn("msg=\"release listener lost the database\" error=\"{}\"", e.what());
      logged_down = true;
      on_event_(ReleaseEvent{true, 0, std::nullopt, {}});
      for (int i = 0; i < 5 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace resv
