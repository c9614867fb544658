#include "cli/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

namespace resv::cli {

namespace {

static_assert(std::atomic<bool>::is_always_lock_free, "the flag is set from a signal handler");
std::atomic<bool> g_interrupted{false};

// The notice the handler writes: a fixed buffer, since a handler may not
// allocate or lock.
char g_notice[256];
size_t g_notice_len = 0;

struct sigaction g_previous;

extern "C" void on_sigint(int) {
  g_interrupted.store(true);
  if (g_notice_len > 0) {
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, g_notice, g_notice_len);
  }
}

}  // namespace

InterruptScope::InterruptScope(std::string_view notice) {
  g_notice_len = std::min(notice.size(), sizeof g_notice);
  if (g_notice_len > 0) std::memcpy(g_notice, notice.data(), g_notice_len);  // data() may be null when empty
  g_interrupted.store(false);
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  // SA_RESETHAND: the handler runs once, then the default action is back, so
  // that a second Ctrl-C ends the process. SA_RESTART: system calls under
  // libpq and the file streams go on as they would without a handler.
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  ::sigaction(SIGINT, &sa, &g_previous);
}

InterruptScope::~InterruptScope() {
  ::sigaction(SIGINT, &g_previous, nullptr);
  g_notice_len = 0;
}

bool interrupted() { return g_interrupted.load(); }

bool sleep_unless_interrupted(std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  constexpr std::chrono::milliseconds kPoll{50};
  while (!interrupted()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds::zero()) return false;
    std::this_thread::sleep_for(std::min(left, kPoll));
  }
  return true;
}

}  // namespace resv::cli
