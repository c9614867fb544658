#include "cli/watch.h"

#include "cli/interrupt.h"

namespace resv::cli {

std::string WatchFrame::start() const { return watching() && out_.stdout_is_tty() ? "\x1b[H\x1b[2J" : ""; }

std::string WatchFrame::title(const std::string& what) const {
  return watching() ? what + " (every " + every() + "; Ctrl-C to stop)\n" : "";
}

std::string WatchFrame::every() const {
  const auto ms = every_.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

Outcome run_watch(const Output& out, std::chrono::milliseconds every, const WatchRound& round, WatchUntil until) {
  const WatchFrame frame(out, every);
  if (!frame.watching()) return round(frame);
  InterruptScope ctrl_c;
  Outcome last;
  do {
    last = round(frame);
    if (last.exit() == Exit::Unreachable)
      out.warn(last.what() + "; trying again in " + frame.every());
    else if (!last.ok() && until == WatchUntil::Problem)
      return last;
  } while (!sleep_unless_interrupted(every));
  return last;
}

}  // namespace resv::cli
