#pragma once
// --watch, the same for every command that has it: one round now, then one
// every interval until Ctrl-C (cli/interrupt.h). On a terminal each round
// redraws the screen in place, as top does; otherwise the rounds follow one
// another, so that a pipe or a log keeps every snapshot.
#include <chrono>
#include <functional>
#include <string>

#include "cli/outcome.h"
#include "cli/output.h"

namespace resv::cli {

// What a round draws with.
class WatchFrame {
 public:
  WatchFrame(const Output& out, std::chrono::milliseconds every) : out_(out), every_(every) {}
  // False when the command runs once (no --watch).
  bool watching() const { return every_.count() > 0; }
  // What a round's output starts with: on a terminal while watching, the
  // codes that clear the screen; else "".
  std::string start() const;
  // While watching, "<what> (every 2 s; Ctrl-C to stop)\n"; else "".
  std::string title(const std::string& what) const;
  // The interval as people read it: "2 s", "500 ms".
  std::string every() const;

 private:
  const Output& out_;
  std::chrono::milliseconds every_;
};

using WatchRound = std::function<Outcome(const WatchFrame&)>;

// Runs `round` once when `every` is zero (the outcome is the round's), else
// now and then every `every` until Ctrl-C. While watching, a round that ends
// Unreachable (a dependency went away) is a warning on stderr and the watch
// goes on, asking again at the next round: that is when the operator wants to
// see it come back. Any other failure ends the watch with that outcome (a
// check that found a problem is exit 4 at the first round that finds it).
// After Ctrl-C, the outcome of the last round.
// With WatchUntil::CtrlC, a round that found a problem is shown and the
// watch goes on too (a dashboard: resv doctor --watch).
enum class WatchUntil { Problem, CtrlC };
Outcome run_watch(const Output& out, std::chrono::milliseconds every, const WatchRound& round,
                  WatchUntil until = WatchUntil::Problem);

}  // namespace resv::cli
