#include "db/listen_loop.h"

#include <memory>
#include <spdlog/spdlog.h>
#include <thread>

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
      if (!logged_down) spdlog::warn("msg=\"{} lost the database\" error=\"{}\"", o.what, e.what());
      logged_down = true;
      if (on_lost) on_lost();
      for (auto waited = std::chrono::milliseconds(0); waited < o.retry && !stop; waited += std::chrono::milliseconds(100))
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace resv
