// systemd's notification protocol, spoken to a datagram socket of the test's
// own standing in for systemd's.
#include "server/systemd_notify.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "fake_systemd.h"

namespace {

using namespace resv;
using resv::test::FakeSystemd;

TEST(SystemdNotify, AStateReachesTheSocketNamedByNotifySocketAsOneDatagram) {
  auto path = std::filesystem::temp_directory_path() / ("resv-notify-" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  FakeSystemd systemd(path.string());
  ASSERT_TRUE(notify_systemd("READY=1\nSTATUS=ready"));
  EXPECT_EQ(systemd.receive(), "READY=1\nSTATUS=ready");
}

TEST(SystemdNotify, AnAbstractSocketNameStartsWithAnAt) {
  FakeSystemd systemd("@resv-notify-test-" + std::to_string(::getpid()));
  ASSERT_TRUE(notify_systemd("STOPPING=1"));
  EXPECT_EQ(systemd.receive(), "STOPPING=1");
}

TEST(SystemdNotify, WithoutNotifySocketNothingIsSentAndNothingFails) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(notify_systemd("READY=1"));
}

TEST(SystemdNotify, ASocketThatIsGoneIsReportedAsAFailure) {
  ::setenv("NOTIFY_SOCKET", "/nonexistent/resv/notify", 1);
  EXPECT_FALSE(notify_systemd("READY=1"));
  ::unsetenv("NOTIFY_SOCKET");
}

TEST(SystemdNotify, StatusSaysReadyOrListsTheReasonsOnOneLine) {
  EXPECT_EQ(systemd_status({}), "STATUS=ready");
  EXPECT_EQ(systemd_status({"database unreachable", "waiting room\nnot synced"}),
            "STATUS=not ready: database unreachable, waiting room not synced");
}

}  // namespace
