#include "booking/release_listener.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "db/listen_loop.h"

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

ReleaseListener::ReleaseListener(std::string url, std::function<void(const ReleaseEvent&)> on_event)
    : url_(std::move(url)), on_event_(std::move(on_event)) {}

ReleaseListener::~ReleaseListener() { stop(); }

void ReleaseListener::start() { thread_ = std::thread([this] { run(); }); }

void ReleaseListener::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ReleaseListener::run() {
  const ReleaseEvent lost{true, 0, std::nullopt, {}};
  run_listening(
      {url_, {"resv_release"}, "release listener"}, stop_,
      [this](const std::string&, const std::string& payload) {
        if (auto ev = parse_release_payload(payload))
          on_event_(*ev);
        else
          spdlog::warn("msg=\"malformed release notification ignored\"");
      },
      [&](pqxx::connection& conn) {
        connected_ = true;
        on_event_(lost);  // what was missed while it was not listening
        while (!stop_) conn.await_notification(0, 200000);
        connected_ = false;
      },
      [&] {
        connected_ = false;
        on_event_(lost);
      });
}

}  // namespace resv
