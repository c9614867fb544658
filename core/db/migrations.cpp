#include "db/migrations.h"

#include <algorithm>
#include <cstdio>
#include <pqxx/pqxx>
#include <set>
#include <stdexcept>

namespace resv {

std::optional<std::pair<int, std::string>> parse_migration_filename(std::string_view f) {
  if (f.size() < 10 || f.substr(f.size() - 4) != ".sql" || f[4] != '_') return std::nullopt;
  int version = 0;
  for (size_t i = 0; i < 4; ++i) {
    if (f[i] < '0' || f[i] > '9') return std::nullopt;
    version = version * 10 + (f[i] - '0');
  }
  std::string name(f.substr(5, f.size() - 9));
  if (version == 0 || name.empty()) return std::nullopt;
  for (char c : name)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
      return std::nullopt;
  return std::make_pair(version, name);
}

std::string checksum_hex(std::string_view text) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

const std::vector<Migration>& bundled_migrations() {
  static const std::vector<Migration> all = [] {
    std::vector<Migration> out;
    std::set<int> seen;
    for (const auto& f : bundled_migration_files()) {
      auto parsed = parse_migration_filename(f.filename);
      if (!parsed) throw std::logic_error(std::string("bad migration file name: ") + f.filename);
      if (!seen.insert(parsed->first).second) throw std::logic_error(std::string("duplicate migration version: ") + f.filename);
      out.push_back({parsed->first, parsed->second, f.sql, checksum_hex(f.sql)});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
    return out;
  }();
  return all;
}

int latest_migration_version() {
  const auto& all = bundled_migrations();
  return all.empty() ? 0 : all.back().version;
}

namespace {

constexpr const char* kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

Result<MigrationState> read_state(pqxx::transaction_base& tx) {
  MigrationState st;
  st.latest = latest_migration_version();
  auto exists = tx.exec1("SELECT to_regclass('schema_migrations') IS NOT NULL")[0].as<bool>();
  std::vector<std::tuple<int, std::string, std::string>> applied;
  if (exists)
    for (const auto& row : tx.exec("SELECT version, name, checksum FROM schema_migrations ORDER BY version"))
      applied.emplace_back(row[0].as<int>(), row[1].as<std::string>(), row[2].as<std::string>());
  for (const auto& [version, name, sum] : applied) {
    st.applied = std::max(st.applied, version);
    if (version > st.latest)
      return Status::Internal("the database is at migration " + std::to_string(version) + " but this binary knows only " +
                              std::to_string(st.latest) + " (hint: upgrade resv before using this database)");
    auto it = std::find_if(bundled_migrations().begin(), bundled_migrations().end(),
                           [&](const Migration& m) { return m.version == version; });
    if (it == bundled_migrations().end() || it->checksum != sum)
      return Status::Internal("applied migration " + std::to_string(version) + " (" + name +
                              ") differs from the one in this binary (hint: migrations are append-only; restore "
                              "the original file and add a new migration)");
  }
  for (const auto& m : bundled_migrations())
    if (std::none_of(applied.begin(), applied.end(), [&](const auto& a) { return std::get<0>(a) == m.version; }))
      st.pending.push_back(m);
  return st;
}

template <class F>
auto with_connection(const std::string& url, F&& fn) -> decltype(fn(std::declval<pqxx::connection&>())) {
  try {
    pqxx::connection conn(url);
    return fn(conn);
  } catch (const pqxx::broken_connection& e) {
    return Status::DbUnavailable(std::string("cannot connect to the database: ") + e.what());
  } catch (const pqxx::sql_error& e) {
    return Status::Internal(std::string("migration failed: ") + e.what());
  }
}

}  // namespace

Result<MigrationState> migration_state(const std::string& url) {
  return with_connection(url, [](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    return read_state(tx);
  });
}

Result<std::vector<int>> apply_migrations(const std::string& url) {
  return with_connection(url, [](pqxx::connection& conn) -> Result<std::vector<int>> {
    // Session advisory lock: concurrent migrators wait, then find nothing to do.
    pqxx::nontransaction(conn).exec("SELECT pg_advisory_lock(7236001)");
    std::vector<int> done;
    Status failure;
    int current = 0;
    try {
      {
        pqxx::work tx(conn);
        tx.exec(kCreateTable);
        tx.commit();
      }
      Result<MigrationState> st = [&] {
        pqxx::read_transaction tx(conn);
        return read_state(tx);
      }();
      if (!st.ok()) {
        failure = st.status();
      } else {
        for (const auto& m : st->pending) {
          current = m.version;
          pqxx::work tx(conn);
          tx.exec(m.sql);
          tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", m.version,
                         m.name, m.checksum);
          tx.commit();
          done.push_back(m.version);
        }
      }
    } catch (const pqxx::sql_error& e) {
      failure = Status::Internal("migration " + std::to_string(current) + " failed and was rolled back: " + e.what());
    }
    pqxx::nontransaction(conn).exec("SELECT pg_advisory_unlock(7236001)");
    if (!failure.ok()) return failure;
    return done;
  });
}

}  // namespace resv
