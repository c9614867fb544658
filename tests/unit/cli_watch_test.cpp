// --watch and Ctrl-C (cli/watch.h, cli/interrupt.h): rounds until SIGINT,
// a dependency that went away is a warning, a failure ends the watch, the
// screen is cleared only on a terminal, and the SIGINT handling there was
// before a scope is back after it.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "captured_stream.h"
#include "cli/interrupt.h"
#include "cli/watch.h"

namespace {

using namespace resv::cli;
using namespace std::chrono_literals;

using Captured = resv::test::CapturedStream;

volatile sig_atomic_t g_outer_handler_ran = 0;
void outer_handler(int) { g_outer_handler_ran = 1; }

TEST(Watch, WithoutAnIntervalTheRoundRunsOnceAndItsOutcomeIsTheCommands) {
  Captured out, err;
  Output o({}, false, false, out.f, err.f);
  int rounds = 0;
  auto r = run_watch(o, 0ms, [&](const WatchFrame& frame) {
    ++rounds;
    EXPECT_FALSE(frame.watching());
    EXPECT_EQ(frame.start(), "");
    EXPECT_EQ(frame.title("queues at T"), "");
    return Outcome::Unreachable("database gone");
  });
  EXPECT_EQ(rounds, 1);
  EXPECT_EQ(r.exit(), Exit::Unreachable);
  EXPECT_EQ(err.text(), "") << "not watching: no warning, the error is the command's";
}

TEST(Watch, RoundsGoOnUntilCtrlCAndTheLastOutcomeIsReturned) {
  Captured out, err;
  Output o({}, false, false, out.f, err.f);
  int rounds = 0;
  auto r = run_watch(o, 10ms, [&](const WatchFrame& frame) {
    EXPECT_TRUE(frame.watching());
    if (++rounds == 3) ::raise(SIGINT);
    return Outcome::Ok();
  });
  EXPECT_EQ(rounds, 3);
  EXPECT_TRUE(r.ok());
}

TEST(Watch, AnUnreachableRoundIsAWarningAndTheWatchGoesOn) {
  Captured out, err;
  Output o({}, false, false, out.f, err.f);
  int rounds = 0;
  auto r = run_watch(o, 10ms, [&](const WatchFrame&) {
    ++rounds;
    if (rounds == 1) return Outcome::Unreachable("cannot connect to db");
    if (rounds == 2) ::raise(SIGINT);
    return Outcome::Ok();
  });
  EXPECT_EQ(rounds, 2);
  EXPECT_TRUE(r.ok()) << "the database came back before Ctrl-C";
  EXPECT_EQ(err.text(), "resv: warning: cannot connect to db; trying again in 10 ms\n");
}

TEST(Watch, AnyOtherFailureEndsTheWatchWithIt) {
  Captured out, err;
  Output o({}, false, false, out.f, err.f);
  int rounds = 0;
  auto r = run_watch(o, 10ms, [&](const WatchFrame&) {
    return ++rounds == 2 ? Outcome::Problem("stuck") : Outcome::Ok();
  });
  EXPECT_EQ(rounds, 2);
  EXPECT_EQ(r.exit(), Exit::Problem);
}

TEST(Watch, FramesClearTheScreenOnlyOnATerminal) {
  Captured out, err;
  Output tty({}, true, false, out.f, err.f);
  Output pipe({}, false, false, out.f, err.f);
  EXPECT_EQ(WatchFrame(tty, 2000ms).start(), "\x1b[H\x1b[2J");
  EXPECT_EQ(WatchFrame(pipe, 2000ms).start(), "");
  EXPECT_EQ(WatchFrame(tty, 0ms).start(), "") << "not watching";
  EXPECT_EQ(WatchFrame(pipe, 2000ms).title("queues at 10:00"), "queues at 10:00 (every 2 s; Ctrl-C to stop)\n");
}

TEST(Interrupt, AScopeTurnsCtrlCIntoAFlagAndPutsTheOldHandlingBack) {
  struct sigaction outer {};
  outer.sa_handler = outer_handler;
  struct sigaction saved {};
  ASSERT_EQ(::sigaction(SIGINT, &outer, &saved), 0);
  {
    InterruptScope scope("");
    EXPECT_FALSE(interrupted());
    ::raise(SIGINT);
    EXPECT_TRUE(interrupted());
    EXPECT_TRUE(sleep_unless_interrupted(10s)) << "returns at once once interrupted";
    EXPECT_EQ(g_outer_handler_ran, 0);
  }
  ::raise(SIGINT);
  EXPECT_EQ(g_outer_handler_ran, 1) << "the handling before the scope is back";
  ::sigaction(SIGINT, &saved, nullptr);
}

TEST(Interrupt, ANewScopeStartsUninterruptedAndSleepsItsTime) {
  InterruptScope scope;
  EXPECT_FALSE(interrupted());
  EXPECT_FALSE(sleep_unless_interrupted(1ms));
}

}  // namespace
