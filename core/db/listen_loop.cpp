#include "db/listen_loop.h"

#include <memory>
#include <spdlog/spdlog.h>
#include <thread>

#include "base/logfmt.h"
#include "db/pg_text.h"

namespace resv {
namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  using Handler = std::function<void(const std::string&, const std::string&)>;
  Receiver(pqxx::connection_base& c, const std::string& channel, const Handler& handler)
      : pqxx::notification_receiver(c, channel), handler_(handler) {}
  void operator()(const std::string& payload, int) override {
    if (handler_) handler_(channel(), payload);
  }

 private:
  const Handler& handler_;
};

}  // namespace

void run_listening(const ListenOptions& o, const std::atomic<bool>& stop,
                   const std::function<void(const std::string&, const std::string&)>& on_notify,
                   const std::function<void(pqxx::connection&)>& session, const std::function<void()>& on_lost) {
  bool logged_down = false;
  while (!stop) {
    try {
      pqxx::connection conn(with_connect_timeout(o.url, 2));
      std::vector<std::unique_ptr<Receiver>> receivers;
      for (const auto& channel : o.channels) receivers.push_back(std::make_unique<Receiver>(conn, channel, on_notify));
      conn.get_notifs();  // issues the LISTENs
      logged_down = false;
      session(conn);
    } catch (const std::exception& e) {
      const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
      const std::string state = sql ? sql->sqlstate() : "";
      const bool gone = dynamic_cast<const pqxx::broken_connection*>(&e) || state.rfind("08", 0) == 0 ||
                        state.rfind("57P", 0) == 0;
      if (!gone) {
        // The database answered, and refused: a defect or a bad setting, not
        // an outage. An error each time, with the statement's SQLSTATE.
        spdlog::error("msg={} sqlstate={} error={}", logfmt(std::string(o.what) + " failed; it starts again"), state,
                      logfmt(e.what()));
      } else if (!logged_down) {
        spdlog::warn("msg={} error={}", logfmt(std::string(o.what) + " lost the database"), logfmt(e.what()));
      }
      logged_down = true;
      if (on_lost) on_lost();
      for (auto waited = std::chrono::milliseconds(0); waited < o.retry && !stop; waited += std::chrono::milliseconds(100))
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace resv
