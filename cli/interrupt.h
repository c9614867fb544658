#pragma once
// The CLI's one SIGINT handling. By default Ctrl-C ends resv at once, which
// is right for almost every command. A command that must stop in an orderly
// way instead (end a watch, roll a load back) opens an InterruptScope around
// that part: while it lives, the first Ctrl-C only raises a flag that the
// command polls; a second Ctrl-C ends the process at once, as if no scope
// were open (for when the orderly way hangs). One scope at a time: scopes
// do not nest.
#include <chrono>
#include <string_view>

namespace resv::cli {

class InterruptScope {
 public:
  // `notice`, when not empty, is written to stderr at the first Ctrl-C (from
  // the signal handler: say what happens now, e.g. that the load rolls back).
  // Texts longer than 255 bytes are cut. Clears the flag.
  explicit InterruptScope(std::string_view notice = {});
  // Puts back the SIGINT handling there was before.
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
};

// True once Ctrl-C came while an InterruptScope was open (until the next
// scope opens). Safe to call from any thread.
bool interrupted();

// Sleeps for `d`, or less when Ctrl-C comes first; true when it did.
bool sleep_unless_interrupted(std::chrono::milliseconds d);

}  // namespace resv::cli
