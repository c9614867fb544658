#pragma once
// A throwaway PostgreSQL cluster of a test's own (scripts/pg-test.sh), for
// tests that stop the database: pausing it does not disturb other tests.
// Header-only (e2e tests get RESV_PG_TEST_SCRIPT from CMake).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

namespace resv::e2e {

// A throwaway cluster of its own (scripts/pg-test.sh), so that pausing it
// does not disturb other tests. Stopped and deleted in the destructor, also
// when the test fails.
class PrivateCluster {
 public:
  PrivateCluster() {
    char tmpl[] = "/tmp/resv-pg-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    if (run("start") != 0) {
      run("stop");
      throw std::runtime_error("pg-test.sh start failed for " + dir_);
    }
    std::ifstream f(dir_ + "/url");
    if (!(f >> url_)) {
      run("stop");
      throw std::runtime_error("no URL in " + dir_ + "/url");
    }
  }
  ~PrivateCluster() { run("stop"); }
  PrivateCluster(const PrivateCluster&) = delete;
  PrivateCluster& operator=(const PrivateCluster&) = delete;

  const std::string& url() const { return url_; }
  void pause() { ASSERT_EQ(run("pause"), 0) << "pg-test.sh pause failed"; }
  void resume() { ASSERT_EQ(run("resume"), 0) << "pg-test.sh resume failed"; }

 private:
  int run(const std::string& cmd) const {
    std::string line = std::string("'") + RESV_PG_TEST_SCRIPT + "' " + cmd + " '" + dir_ + "' >/dev/null";
    return std::system(line.c_str());
  }
  std::string dir_, url_;
};

}  // namespace resv::e2e
