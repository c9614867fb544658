#include "base/event_loop.h"

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "base/logfmt.h"

namespace resv {

void run_logging_errors(boost::asio::io_context& loop, const char* what) {
  for (;;) {
    try {
      loop.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("msg={} error={}", logfmt(what), logfmt(e.what()));
    }
  }
}

}  // namespace resv
