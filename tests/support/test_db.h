#pragma once
// A fresh, migrated database per test, cloned from a template on the
// throwaway cluster that CTest starts (scripts/pg-test.sh; its directory is
// in RESV_TEST_PG_DIR). Dropped when the object goes away.
#include <cstdint>
#include <string>
#include <vector>

namespace resv::test {

// URL of the cluster's maintenance database; skips the test (GTEST_SKIP is
// not usable here, so it throws) when no cluster is configured.
std::string cluster_url();

class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  // Runs SQL (no parameters: tests only); returns the first column of the
  // first row as text ("" if none).
  std::string scalar(const std::string& sql) const;
  int64_t count(const std::string& sql) const { return std::stoll(scalar(sql)); }
  void exec(const std::string& sql) const;

 private:
  std::string name_, url_;
};

// An id spelt into a test's SQL text.
inline std::string str(int64_t v) { return std::to_string(v); }

// Replaces the database name in a postgresql:// URL.
std::string with_database(const std::string& url, const std::string& db);

}  // namespace resv::test
