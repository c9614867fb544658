// The advisory lock registry: every key the sources take is registered, so
// that `resv locks` can name it.
#include <gtest/gtest.h>

#include <filesystem>
#include <cctype>
#include <fstream>
#include <sstream>
#include <string>

#include "db/advisory_locks.h"

namespace resv {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every source file of the shipped code: C++ and SQL.
std::vector<fs::path> sources() {
  std::vector<fs::path> out;
  for (const char* dir : {"core", "server", "cli", "commands", "sql"})
    for (const auto& e : fs::recursive_directory_iterator(fs::path(RESV_SOURCE_DIR) / dir)) {
      const auto ext = e.path().extension();
      if (e.is_regular_file() && (ext == ".cpp" || ext == ".h" || ext == ".sql")) out.push_back(e.path());
    }
  return out;
}

TEST(AdvisoryLocks, EveryRegisteredLockIsFoundByItsOwnKey) {
  for (const auto& lock : advisory_locks()) {
    const AdvisoryLock* found = find_advisory_lock(lock.classid, lock.objid.value_or(12345), lock.objsubid);
    ASSERT_NE(found, nullptr) << lock.name;
    EXPECT_STREQ(found->name, lock.name);
  }
  EXPECT_EQ(find_advisory_lock(0, 424242, 1), nullptr) << "an unknown key is not given a name";
  EXPECT_EQ(find_advisory_lock(0, 7236001, 2), nullptr) << "the two-int form of the same numbers is another key";
}

TEST(AdvisoryLocks, KeysReadAsSqlWritesThem) {
  EXPECT_EQ(advisory_key_text(0, 7236001, 1), "7236001");
  EXPECT_EQ(advisory_key_text(0x72657376, 0x71756575, 1), "8243121645518415221");
  EXPECT_EQ(advisory_key_text(1919251305, 0xffffffffu, 2), "1919251305, -1");
}

// Each call of an advisory lock function in `text`: its first argument and
// whether a second follows. (No std::regex: GCC 12 warns inside it under
// the sanitizers.)
struct Call {
  std::string first;
  bool pair = false;
};
std::vector<Call> advisory_calls(const std::string& text) {
  std::vector<Call> out;
  for (size_t at = text.find("pg_"); at != std::string::npos; at = text.find("pg_", at + 3)) {
    size_t open = at;
    while (open < text.size() && (std::islower(static_cast<unsigned char>(text[open])) || text[open] == '_')) ++open;
    const std::string name = text.substr(at, open - at);
    if (open >= text.size() || text[open] != '(' || name.find("advisory_") == std::string::npos ||
        name.find("lock") == std::string::npos)
      continue;
    size_t end = text.find_first_of(",)", open + 1);
    Call c;
    c.first = text.substr(open + 1, end - open - 1);
    c.first.erase(0, c.first.find_first_not_of(" \n"));
    c.first.erase(c.first.find_last_not_of(" \n") + 1);
    c.pair = end != std::string::npos && text[end] == ',';
    out.push_back(c);
  }
  return out;
}

bool is_integer(const std::string& s) {
  size_t i = !s.empty() && s[0] == '-' ? 1 : 0;
  if (i >= s.size()) return false;
  for (; i < s.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

TEST(AdvisoryLocks, CxxTakesThemOnlyThroughTheRegistry) {
  for (const auto& p : sources()) {
    if (p.extension() == ".sql" || p.filename() == "advisory_locks.cpp" || p.filename() == "advisory_locks.h") continue;
    EXPECT_TRUE(advisory_calls(read(p)).empty())
        << p << " takes an advisory lock itself: use try_advisory_lock() with a key of core/db/advisory_locks.h";
  }
}

TEST(AdvisoryLocks, EverySqlCallUsesARegisteredKeyLiteral) {
  int calls = 0;
  for (const auto& p : sources()) {
    if (p.extension() != ".sql") continue;
    for (const auto& call : advisory_calls(read(p))) {
      ++calls;
      ASSERT_TRUE(is_integer(call.first))
          << p << ": the advisory key '" << call.first << "' must be a literal registered in core/db/advisory_locks.h";
      const long long n = std::stoll(call.first);
      const auto classid = static_cast<uint32_t>(call.pair ? n : (static_cast<unsigned long long>(n) >> 32));
      const auto objid = static_cast<uint32_t>(call.pair ? 0 : n);
      bool known = false;
      for (const auto& lock : advisory_locks())
        known = known || (lock.classid == classid && lock.objsubid == (call.pair ? 2 : 1) &&
                          (call.pair || !lock.objid || *lock.objid == objid));
      EXPECT_TRUE(known) << p << ": advisory key " << call.first << " is not registered in core/db/advisory_locks.h";
    }
  }
  EXPECT_GE(calls, 1) << "the idempotency key lock of sql/functions/10_common.sql was not found: is the scan broken?";
}

TEST(AdvisoryLocks, TheScanFindsEveryFormOfCall) {
  auto calls = advisory_calls("SELECT pg_try_advisory_xact_lock(1919251305, hashtext(k)), pg_advisory_unlock( 7 )");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].first, "1919251305");
  EXPECT_TRUE(calls[0].pair);
  EXPECT_EQ(calls[1].first, "7");
  EXPECT_FALSE(calls[1].pair);
  EXPECT_TRUE(advisory_calls("pg_blocking_pids(pid), pg_advisory_locks_view").empty());
}

}  // namespace
}  // namespace resv
