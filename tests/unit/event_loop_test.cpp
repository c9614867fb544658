// run_logging_errors: a handler that throws is a bug to log, not the end of
// the loop that serves every other request.
#include <gtest/gtest.h>

#include <stdexcept>
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "base/event_loop.h"

namespace {

using namespace resv;

TEST(EventLoop, AHandlerThatThrowsDoesNotStopTheHandlersAfterIt) {
  boost::asio::io_context loop{1};
  int ran_after = 0;
  boost::asio::post(loop, [] { throw std::runtime_error("a bug"); });
  boost::asio::post(loop, [&ran_after] { ++ran_after; });
  boost::asio::post(loop, [] { throw std::logic_error("another bug"); });
  boost::asio::post(loop, [&ran_after] { ++ran_after; });

  run_logging_errors(loop, "test handler threw");  // returns once out of work

  EXPECT_EQ(ran_after, 2);
}

}  // namespace
