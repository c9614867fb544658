// The advisory lock registry: every key the sources take is registered, so
// that `resv locks` can name it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
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

TEST(AdvisoryLocks, CxxTakesThemOnlyThroughTheRegistry) {
  const std::regex call(R"(pg_(try_)?advisory_(xact_)?(un)?lock)");
  for (const auto& p : sources()) {
    if (p.extension() == ".sql" || p.filename() == "advisory_locks.cpp" || p.filename() == "advisory_locks.h") continue;
    EXPECT_FALSE(std::regex_search(read(p), call))
        << p << " takes an advisory lock itself: use try_advisory_lock() with a key of core/db/advisory_locks.h";
  }
}

TEST(AdvisoryLocks, EverySqlCallUsesARegisteredKeyLiteral) {
  const std::regex call(R"(pg_(?:try_)?advisory_(?:xact_)?(?:un)?lock(?:_shared)?\(\s*([^,)]*)\s*(,?))");
  int calls = 0;
  for (const auto& p : sources()) {
    if (p.extension() != ".sql") continue;
    const std::string text = read(p);
    for (std::sregex_iterator it(text.begin(), text.end(), call), end; it != end; ++it) {
      ++calls;
      const std::string first = (*it)[1];
      const bool pair = (*it)[2] == ",";
      ASSERT_TRUE(std::regex_match(first, std::regex("-?[0-9]+")))
          << p << ": the advisory key '" << first << "' must be a literal registered in core/db/advisory_locks.h";
      const long long n = std::stoll(first);
      const auto classid = static_cast<uint32_t>(pair ? n : (static_cast<unsigned long long>(n) >> 32));
      const auto objid = static_cast<uint32_t>(pair ? 0 : n);
      bool known = false;
      for (const auto& lock : advisory_locks())
        known = known || (lock.classid == classid && lock.objsubid == (pair ? 2 : 1) &&
                          (pair || !lock.objid || *lock.objid == objid));
      EXPECT_TRUE(known) << p << ": advisory key " << first << " is not registered in core/db/advisory_locks.h";
    }
  }
  EXPECT_GE(calls, 1) << "the idempotency key lock of sql/functions/10_common.sql was not found: is the scan broken?";
}

}  // namespace
}  // namespace resv
