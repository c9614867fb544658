#pragma once
// Running an Asio loop so that a handler that throws (a bug) is logged and
// the loop goes on: one bad request or answer must not end the process, and
// every other buyer's request with it.
namespace boost::asio {
class io_context;
}

namespace resv {

// Runs `loop` until it is stopped or out of work. Each exception that escapes
// a handler is logged as `msg="<what>" error="<its what()>"`, and the loop
// runs on.
void run_logging_errors(boost::asio::io_context& loop, const char* what);

}  // namespace resv
