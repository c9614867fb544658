// resv-server under systemd (Type=notify, packaging/resv-server@.service):
// it tells readiness itself, from what /readyz checks, rather than systemd
// guessing from a sleep; and it says when it starts to drain. A socket of
// the test's stands in for systemd's.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <future>
#include <vector>

#include "cli_run.h"
#include "e2e_util.h"
#include "fake_systemd.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;

std::string socket_name() { return "@resv-systemd-test-" + std::to_string(::getpid()); }

// What the server sends, read as it comes (as systemd does: a socket left
// unread fills up) until STOPPING=1, or until nothing came for 30 s.
std::future<std::vector<std::string>> read_until_stopping(const FakeSystemd& systemd) {
  return std::async(std::launch::async, [&systemd] {
    std::vector<std::string> all;
    while (auto m = systemd.receive()) {
      all.push_back(*m);
      if (*m == "STOPPING=1") break;
    }
    return all;
  });
}

TEST(Systemd, TheServerSaysReadyOnceItIsReadyAndStoppingWhenItDrains) {
  TestDatabase db;
  FakeSystemd systemd(socket_name());
  ServerProcess server(db.url(), {}, ServerProcess::Wait::Listening);
  std::vector<std::string> before;
  std::optional<std::string> m;
  while ((m = systemd.receive()) && m->find("READY=1") == std::string::npos) before.push_back(*m);
  ASSERT_TRUE(m) << "no READY=1; before it: " << testing::PrintToString(before) << "\n" << server.log();
  EXPECT_EQ(*m, "READY=1\nSTATUS=ready");
  for (const auto& b : before) EXPECT_EQ(b.rfind("STATUS=not ready: ", 0), 0u) << "before READY=1: " << b;
  EXPECT_EQ(HttpClient("127.0.0.1", server.admin_port()).get("/readyz").status, 200) << "READY=1 means /readyz agrees";

  auto rest = read_until_stopping(systemd);
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(), 0) << server.log();
  auto after = rest.get();
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after.back(), "STOPPING=1") << testing::PrintToString(after);
}

TEST(Systemd, WithTheDatabaseUnreachableTheServerSaysWhyAndNeverReady) {
  FakeSystemd systemd(socket_name());
  auto messages = read_until_stopping(systemd);
  ServerProcess server(unreachable_url(), {}, ServerProcess::Wait::Listening);
  HttpClient admin("127.0.0.1", server.admin_port());
  ASSERT_TRUE(eventually([&] { return admin.get("/readyz").body.find("database unreachable") != std::string::npos; },
                         30, 20))
      << server.log();
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(), 0) << server.log();
  auto all = messages.get();
  ASSERT_GE(all.size(), 2u) << testing::PrintToString(all);
  EXPECT_EQ(all.back(), "STOPPING=1");
  bool said_why = false;
  for (size_t i = 0; i + 1 < all.size(); ++i) {
    EXPECT_EQ(all[i].rfind("STATUS=not ready: ", 0), 0u) << "told systemd it was ready without a database: " << all[i];
    said_why = said_why || all[i].find("database unreachable") != std::string::npos;
  }
  EXPECT_TRUE(said_why) << testing::PrintToString(all);
}

}  // namespace
