#pragma once
// Waiting for an asynchronous effect (another thread, process or server) in
// a test. Header-only, for every test binary.
#include <chrono>
#include <functional>
#include <thread>

namespace resv::test {

// Polls `done()` every `step_ms` until it is true (returns true) or `seconds`
// have passed (returns false). The deadline is generous on purpose: callers
// assert the outcome, never how long it took.
inline bool eventually(const std::function<bool()>& done, int seconds = 30, int step_ms = 20) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(step_ms));
  }
}

}  // namespace resv::test
