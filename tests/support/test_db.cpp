#include "test_db.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <pqxx/pqxx>
#include <stdexcept>

#include "db/migrations.h"
#include "db/pg_text.h"

namespace resv::test {

std::string cluster_url() {
  if (const char* u = std::getenv("RESV_TEST_PG_URL")) return u;
  const char* dir = std::getenv("RESV_TEST_PG_DIR");
  if (!dir) throw std::runtime_error("RESV_TEST_PG_DIR is not set: run the tests through ctest (scripts/test.sh)");
  std::ifstream f(std::string(dir) + "/url");
  std::string url;
  if (!(f >> url)) throw std::runtime_error(std::string("no PostgreSQL URL in ") + dir + "/url: is the pg fixture up?");
  return url;
}

std::string with_database(const std::string& url, const std::string& db) {
  auto slash = url.rfind('/');
  auto q = url.find('?', slash);
  return url.substr(0, slash + 1) + db + (q == std::string::npos ? "" : url.substr(q));
}

namespace {

// Template named after the schema's checksum: a changed migration or
// function file gets a new one.
std::string template_name() { return "resv_tpl_" + bundled_schema_checksum(); }

void ensure_template(const std::string& admin_url) {
  static std::once_flag once;
  std::call_once(once, [&] {
    pqxx::connection c(admin_url);
    pqxx::nontransaction tx(c);
    tx.exec("SELECT pg_advisory_lock(4242)");  // several test processes race here
    std::string name = template_name();
    bool exists = !tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", name).empty();
    if (!exists) {
      std::string building = name + "_building";
      tx.exec("DROP DATABASE IF EXISTS " + building);
      tx.exec("CREATE DATABASE " + building);
      auto applied = apply_migrations(with_database(admin_url, building));
      if (!applied.ok()) throw std::runtime_error("migrating the test template failed: " + applied.status().message());
      tx.exec("ALTER DATABASE " + building + " RENAME TO " + name);
    }
    tx.exec("SELECT pg_advisory_unlock(4242)");
  });
}

}  // namespace

TestDatabase::TestDatabase() {
  std::string admin = cluster_url();
  ensure_template(admin);
  static std::atomic<int> counter{0};
  name_ = "t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  pqxx::connection c(admin);
  pqxx::nontransaction tx(c);
  tx.exec("DROP DATABASE IF EXISTS " + name_);
  tx.exec("CREATE DATABASE " + name_ + " TEMPLATE " + template_name());
  // A generous connect timeout: tests open hundreds of sessions at once on a
  // loaded two-core host, where the servers' 2 s would fail a race test for
  // the host's sake, not the code's.
  url_ = with_connect_timeout(with_database(admin, name_), 30);
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection c(with_database(url_, "postgres"));
    pqxx::nontransaction tx(c);
    tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception&) {
    // The cluster is thrown away after the run anyway.
  }
}

std::string TestDatabase::scalar(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  auto r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].as<std::string>();
}

void TestDatabase::exec(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

}  // namespace resv::test
