#include "db/migrations.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <stdexcept>
#include <thread>

#include "db/advisory_locks.h"

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

namespace {

constexpr std::string_view kMigrationsDir = "migrations/";
constexpr std::string_view kFunctionsDir = "functions/";
constexpr std::string_view kNoTransaction = "-- resv: no-transaction";

// The file name after `dir`, or nullopt for a file elsewhere.
std::optional<std::string_view> in_dir(std::string_view path, std::string_view dir) {
  if (path.substr(0, dir.size()) != dir) return std::nullopt;
  return path.substr(dir.size());
}

}  // namespace

const SchemaFiles& bundled_schema() {
  static const SchemaFiles schema = [] {
    SchemaFiles out;
    std::set<int> seen;
    for (const auto& f : bundled_sql_files()) {
      if (auto name = in_dir(f.path, kMigrationsDir)) {
        auto parsed = parse_migration_filename(*name);
        if (!parsed) throw std::logic_error(std::string("bad migration file name: ") + f.path);
        if (!seen.insert(parsed->first).second)
          throw std::logic_error(std::string("duplicate migration version: ") + f.path);
        std::string_view sql = f.sql;
        out.migrations.push_back({parsed->first, parsed->second, f.sql, checksum_hex(f.sql),
                                  sql.substr(0, kNoTransaction.size()) != kNoTransaction});
      } else if (auto file = in_dir(f.path, kFunctionsDir)) {
        if (file->size() < 5 || file->substr(file->size() - 4) != ".sql")
          throw std::logic_error(std::string("bad function file name: ") + f.path);
        out.functions.push_back({std::string(*file), f.sql, checksum_hex(f.sql)});
      }
    }
    std::sort(out.migrations.begin(), out.migrations.end(),
              [](const auto& a, const auto& b) { return a.version < b.version; });
    std::sort(out.functions.begin(), out.functions.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
  }();
  return schema;
}

const std::vector<Migration>& bundled_migrations() { return bundled_schema().migrations; }
const std::vector<FunctionFile>& bundled_functions() { return bundled_schema().functions; }

int latest_migration_version() {
  const auto& all = bundled_migrations();
  return all.empty() ? 0 : all.back().version;
}

std::string bundled_schema_checksum() {
  std::string all;
  for (const auto& m : bundled_migrations()) all += m.checksum;
  for (const auto& f : bundled_functions()) all += f.name + f.checksum;
  return checksum_hex(all);
}

const std::vector<std::string>& bundled_statements(std::string_view path) {
  static std::mutex mu;
  static std::map<std::string, std::vector<std::string>, std::less<>> split;
  std::lock_guard lock(mu);
  if (auto it = split.find(path); it != split.end()) return it->second;
  for (const auto& f : bundled_sql_files())
    if (path == f.path) return split[std::string(path)] = split_sql_statements(f.sql);
  throw std::logic_error(std::string(path) + " is not bundled");
}

std::vector<std::string> split_sql_statements(std::string_view sql) {
  std::vector<std::string> out;
  std::string current;
  auto flush = [&] {
    auto first = current.find_first_not_of(" \t\r\n");
    if (first != std::string::npos) out.push_back(current.substr(first));
    current.clear();
  };
  size_t i = 0;
  // Copies through `end` (exclusive), or to the end when it is npos.
  auto copy_to = [&](size_t end) {
    end = std::min(end, sql.size());
    current.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < sql.size()) {
    char c = sql[i];
    if (c == ';') {
      ++i;
      flush();
    } else if (c == '-' && sql.substr(i, 2) == "--") {
      auto nl = sql.find('\n', i);
      copy_to(nl == std::string_view::npos ? nl : nl + 1);
    } else if (c == '/' && sql.substr(i, 2) == "/*") {
      size_t j = i + 2;
      for (int depth = 1; j < sql.size() && depth > 0;) {
        if (sql.substr(j, 2) == "/*") ++depth, j += 2;
        else if (sql.substr(j, 2) == "*/") --depth, j += 2;
        else ++j;
      }
      copy_to(j);
    } else if (c == '\'' || c == '"') {
      // A quoted literal or identifier; a doubled quote stays inside. E''
      // strings take backslash escapes.
      bool backslashes = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
      size_t j = i + 1;
      while (j < sql.size()) {
        if (backslashes && sql[j] == '\\') j += 2;
        else if (sql[j] == c && j + 1 < sql.size() && sql[j + 1] == c) j += 2;
        else if (sql[j] == c) break;
        else ++j;
      }
      copy_to(j + 1);
    } else if (c == '$') {
      // $tag$ ... $tag$ (the tag: letters, digits, underscores, not first a digit).
      size_t j = i + 1;
      while (j < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[j])) || sql[j] == '_')) ++j;
      bool tag = j < sql.size() && sql[j] == '$' && !(j > i + 1 && std::isdigit(static_cast<unsigned char>(sql[i + 1])));
      if (!tag) {
        copy_to(i + 1);
        continue;
      }
      std::string_view delimiter = sql.substr(i, j - i + 1);
      auto close = sql.find(delimiter, j + 1);
      copy_to(close == std::string_view::npos ? close : close + delimiter.size());
    } else {
      current += c;
      ++i;
    }
  }
  flush();
  return out;
}

namespace {

// resv before 0.1.0 built its schema with these ten migrations, now
// 0001_baseline: a database recorded as built by exactly these is re-recorded
// as built by the baseline (tests/integration/migrations_test.cpp shows the
// two schemas are the same).
constexpr std::pair<int, const char*> kLegacy[] = {
    {1, "bfb39f7b485450b0"}, {2, "12edd2835f0ad95a"}, {3, "8e6b49eac33beded"}, {4, "922a56c260fbbd4a"},
    {5, "0410f3541107da3c"}, {6, "14088e93cdc963cb"}, {7, "781c582733856bd2"}, {8, "99c092f0e7c08a2a"},
    {9, "acd8dcdc80d2c5da"}, {10, "e6d3de97e665b628"},
};

constexpr const char* kCreateTables =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE IF NOT EXISTS schema_functions ("
    " name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())";

bool is_legacy(const std::map<int, std::string>& applied) {
  if (applied.size() != std::size(kLegacy)) return false;
  return std::all_of(std::begin(kLegacy), std::end(kLegacy), [&](const auto& l) {
    auto it = applied.find(l.first);
    return it != applied.end() && it->second == l.second;
  });
}

bool table_exists(pqxx::transaction_base& tx, const char* name) {
  return tx.exec_params1("SELECT to_regclass($1) IS NOT NULL", name)[0].as<bool>();
}

Result<MigrationState> read_state(pqxx::transaction_base& tx, const SchemaFiles& schema) {
  MigrationState st;
  st.latest = schema.migrations.empty() ? 0 : schema.migrations.back().version;
  std::map<int, std::string> applied;  // version -> checksum
  std::map<int, std::string> names;
  if (table_exists(tx, "schema_migrations"))
    for (const auto& row : tx.exec("SELECT version, name, checksum FROM schema_migrations ORDER BY version")) {
      applied[row[0].as<int>()] = row[2].as<std::string>();
      names[row[0].as<int>()] = row[1].as<std::string>();
    }
  if (is_legacy(applied)) {
    st.legacy = true;
    const auto& baseline = schema.migrations.front();
    applied = {{baseline.version, baseline.checksum}};
  }
  for (const auto& [version, sum] : applied) {
    st.applied = std::max(st.applied, version);
    if (version > st.latest)
      return Status::Internal("the database is at migration " + std::to_string(version) + " but this binary knows only " +
                              std::to_string(st.latest) + " (hint: upgrade resv before using this database)");
    auto it = std::find_if(schema.migrations.begin(), schema.migrations.end(),
                           [v = version](const Migration& m) { return m.version == v; });
    if (it != schema.migrations.end() && it->checksum == sum) continue;
    if (version == kLegacy[0].first && sum == kLegacy[0].second)
      return Status::Internal("the database was built by a development version of resv older than 0.1.0 and stopped "
                              "half way through its migrations, which this binary cannot finish (hint: rebuild it; "
                              "'resv db reset' deletes all data and migrates afresh)");
    return Status::Internal("applied migration " + std::to_string(version) + " (" + names[version] +
                            ") differs from the one in this binary (hint: migrations are append-only; restore "
                            "the original file and add a new migration)");
  }
  for (const auto& m : schema.migrations)
    if (!applied.count(m.version)) st.pending.push_back(m);
  std::map<std::string, std::string> functions;
  if (table_exists(tx, "schema_functions"))
    for (const auto& row : tx.exec("SELECT name, checksum FROM schema_functions"))
      functions[row[0].as<std::string>()] = row[1].as<std::string>();
  for (const auto& f : schema.functions) {
    auto it = functions.find(f.name);
    if (it == functions.end() || it->second != f.checksum) st.stale.push_back(f);
  }
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

std::string seconds_text(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

// What a failed step says: which file, what became of it, what to do.
Status step_failed(const std::string& what, const pqxx::sql_error& e, const MigrateOptions& o, bool transactional) {
  std::string undone = transactional ? " and was rolled back" : "; the statements before it stay applied";
  if (e.sqlstate() == "55P03")
    return Status::Error(ErrorCode::Busy,
                         what + " waited " + seconds_text(o.lock_timeout) + " for a lock that another session holds" +
                             undone +
                             " (hint: retry when the load is lower, or with a longer --lock-timeout; "
                             "'resv locks' shows the session that holds it)");
  return Status::Internal(what + " failed" + undone + ": " + e.what());
}

}  // namespace

std::string schema_lag(const MigrationState& s) {
  std::string out;
  if (s.legacy) out = "the database was built by the migrations of resv before 0.1.0, not yet re-recorded";
  if (s.applied != s.latest)
    out += (out.empty() ? "" : "; ") + std::string("the database schema is at migration ") +
           std::to_string(s.applied) + ", this binary needs " + std::to_string(s.latest);
  if (!s.stale.empty())
    out += (out.empty() ? "" : "; ") + std::to_string(s.stale.size()) + " function file(s) differ from this binary's";
  return out;
}

Result<MigrationState> migration_state(pqxx::transaction_base& tx, const SchemaFiles& schema) {
  return read_state(tx, schema);
}

Result<MigrationState> migration_state(const std::string& url, const SchemaFiles& schema) {
  return with_connection(url, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    return read_state(tx, schema);
  });
}

Result<MigrationRun> apply_migrations(const std::string& url, const MigrateOptions& options,
                                      const SchemaFiles& schema) {
  return with_connection(url, [&](pqxx::connection& conn) -> Result<MigrationRun> {
    // Session advisory lock: concurrent migrators wait, then find nothing to
    // do. They wait between short tries, not in a statement: CREATE INDEX
    // CONCURRENTLY waits for every open snapshot, and one waiting for this
    // lock would be a deadlock. The lock timeout is for the migrations.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(10);
    while (!try_advisory_lock(conn, advisory::kMigrations)) {
      if (std::chrono::steady_clock::now() > give_up)
        return Status::Error(ErrorCode::Busy,
                             "another migration of this database has run for 10 minutes and still runs (hint: "
                             "'resv locks' shows what it waits for; then retry)");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    pqxx::nontransaction(conn).exec("SET lock_timeout = " + std::to_string(options.lock_timeout.count()));
    MigrationRun run;
    Status failure;
    std::string step;
    bool transactional = true;
    try {
      step = "creating the migration tables";
      {
        pqxx::work tx(conn);
        tx.exec(kCreateTables);
        tx.commit();
      }
      Result<MigrationState> st = [&] {
        pqxx::read_transaction tx(conn);
        return read_state(tx, schema);
      }();
      if (!st.ok()) {
        failure = st.status();
      } else {
        if (st->legacy) {
          step = "re-recording the migrations of resv before 0.1.0 as the baseline";
          pqxx::work tx(conn);
          const auto& baseline = schema.migrations.front();
          tx.exec("DELETE FROM schema_migrations");
          tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                         baseline.version, baseline.name, baseline.checksum);
          tx.commit();
          run.adopted_legacy = true;
        }
        for (const auto& m : st->pending) {
          step = "migration " + std::to_string(m.version) + " (" + m.name + ")";
          transactional = m.transactional;
          auto record = [&](pqxx::transaction_base& tx) {
            tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", m.version,
                           m.name, m.checksum);
          };
          if (m.transactional) {
            pqxx::work tx(conn);
            tx.exec(m.sql);
            record(tx);
            tx.commit();
          } else {
            // Statement by statement, each its own transaction: written to
            // be run again should one fail (IF NOT EXISTS, DROP ... IF EXISTS).
            for (const auto& statement : split_sql_statements(m.sql)) pqxx::nontransaction(conn).exec(statement);
            pqxx::work tx(conn);
            record(tx);
            tx.commit();
          }
          run.versions.push_back(m.version);
        }
        transactional = true;
        if (!st->stale.empty()) {
          step = "the function files";
          pqxx::work tx(conn);
          for (const auto& f : st->stale) {
            step = "function file " + f.name;
            tx.exec(f.sql);
            tx.exec_params("INSERT INTO schema_functions (name, checksum) VALUES ($1, $2) ON CONFLICT (name) DO "
                           "UPDATE SET checksum = excluded.checksum, applied_at = now()",
                           f.name, f.checksum);
          }
          tx.commit();
          for (const auto& f : st->stale) run.functions.push_back(f.name);
        }
      }
    } catch (const pqxx::broken_connection&) {
      throw;  // with_connection: DbUnavailable
    } catch (const pqxx::sql_error& e) {
      failure = step_failed(step, e, options, transactional);
    }
    try {
      advisory_unlock(conn, advisory::kMigrations);
    } catch (const pqxx::sql_error&) {
      // The session ends right after; its lock goes with it.
    }
    if (!failure.ok()) return failure;
    return run;
  });
}

}  // namespace resv
