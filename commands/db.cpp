// resv db: the embedded PostgreSQL cluster (up, down) and any configured
// database (status, migrate, psql, reset).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/db_connect.h"
#include "cli/embedded_pg.h"
#include "cli/output.h"
#include "db/migrations.h"

namespace resv::cli {

namespace {

struct DbOptions {
  int down_timeout = 60;
  bool dry_run = false;
  int lock_timeout_s = 5;
  bool yes = false;
  std::vector<std::string> psql_args;
};

// A core Status from the migrations runner, with the unreachable hint when
// it is DbUnavailable.
Outcome from_status(const Context& ctx, const Status& s) {
  if (s.code() == ErrorCode::DbUnavailable) return Outcome::Unreachable(first_line(s.message()), unreachable_hint(ctx));
  return Outcome::From(s);
}

// The shell's single quotes around `s`.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// "postgresql://u:p%40ss@h/db" -> {"postgresql://u@h/db", "p@ss"}; a URL
// without a password, or a key=value string, comes back unchanged.
std::pair<std::string, std::string> split_password(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return {url, ""};
  auto at = url.find('@', scheme + 3);
  auto slash = url.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return {url, ""};
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return {url, ""};
  std::string encoded = url.substr(colon + 1, at - colon - 1), password;
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '%' && i + 2 < encoded.size() && std::isxdigit(static_cast<unsigned char>(encoded[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(encoded[i + 2]))) {
      password += static_cast<char>(std::stoi(encoded.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      password += encoded[i];
    }
  }
  return {url.substr(0, colon) + url.substr(at), password};
}

Outcome run_up(const Context& ctx) {
  auto up = embedded_up(ctx);
  if (!up.ok()) return up.outcome();
  const std::string url = up->db.url();
  if (up->already_running) ctx.out().info("the embedded PostgreSQL is already up on 127.0.0.1:" + std::to_string(up->db.port));
  if (up->migrations_applied > 0)
    ctx.out().info("applied " + std::to_string(up->migrations_applied) + " migration(s); schema at version " +
                   std::to_string(latest_migration_version()));
  if (ctx.out().json()) {
    ctx.out().print_json({{"url", url},
                          {"port", up->db.port},
                          {"dataDir", ctx.state().pg_data().string()},
                          {"alreadyRunning", up->already_running},
                          {"created", up->created},
                          {"migrationsApplied", up->migrations_applied}});
    return Outcome::Ok();
  }
  // stdout is one line of shell, so that eval "$(resv db up)" works; the
  // URL on its own goes with the messages.
  ctx.out().info("connection URL: " + url);
  ctx.out().data("export RESV_DATABASE_URL=" + shell_quote(url));
  return Outcome::Ok();
}

Outcome run_down(const Context& ctx, int timeout) {
  auto stopped = embedded_down(ctx, timeout);
  if (!stopped.ok()) return stopped.outcome();
  ctx.out().info(stopped.value() ? "stopped the embedded PostgreSQL" : "the embedded PostgreSQL is not running");
  return Outcome::Ok();
}

struct ServerFacts {
  std::string version, data_dir;
  long long size_bytes = 0, connections = 0, max_connections = 0;
  std::string shared_buffers;
  std::string wal;  // the WAL and durability settings, as one line
};

Outcome run_status(const Context& ctx) {
  const Settings& s = ctx.settings();
  nlohmann::json j{{"running", false},      {"embedded", s.embedded_db},   {"url", nullptr},
                   {"dataDir", nullptr},      {"version", nullptr},          {"sizeBytes", nullptr},
                   {"connections", nullptr},  {"maxConnections", nullptr},   {"sharedBuffers", nullptr}, {"wal", nullptr},
                   {"schemaVersion", nullptr},
                   {"latestVersion", latest_migration_version()},            {"pendingMigrations", nullptr},
                   {"staleFunctions", nullptr}};
  if (s.embedded_db) j["dataDir"] = ctx.state().pg_data().string();
  if (!s.database_url.value.empty()) j["url"] = s.database_url.shown();

  auto print = [&] {
    if (ctx.out().json()) {
      ctx.out().print_json(j);
      return;
    }
    auto text = [&](const char* key) { return j[key].is_null() ? std::string("-") : j[key].get<std::string>(); };
    std::vector<std::pair<std::string, std::string>> rows{
        {"running", j["running"].get<bool>() ? ctx.out().green("yes") : ctx.out().red("no")},
        {"embedded", s.embedded_db ? "yes" : "no"},
        {"url", text("url")},
        {"data dir", text("dataDir")}};
    if (j["running"].get<bool>()) {
      rows.push_back({"version", text("version")});
      rows.push_back({"size", human_bytes(j["sizeBytes"].get<long long>())});
      rows.push_back({"connections", std::to_string(j["connections"].get<long long>()) + " of " +
                                         std::to_string(j["maxConnections"].get<long long>())});
      rows.push_back({"shared buffers", text("sharedBuffers")});
      rows.push_back({"wal", text("wal")});
      if (!j["schemaVersion"].is_null()) {
        const int pending = j["pendingMigrations"].get<int>(), stale = j["staleFunctions"].get<int>();
        std::string behind;
        if (pending > 0) behind = std::to_string(pending) + " migration(s)";
        if (stale > 0) behind += (behind.empty() ? "" : " and ") + std::to_string(stale) + " function file(s)";
        rows.push_back({"schema", "version " + std::to_string(j["schemaVersion"].get<int>()) + " of " +
                                      std::to_string(j["latestVersion"].get<int>()) +
                                      (behind.empty() ? " (current)" : " (" + behind + " pending: resv db migrate)")});
      }
    }
    ctx.out().data(key_values(rows));
  };

  auto url = ctx.database_url();
  if (!url.ok()) {
    print();
    return url.outcome();
  }
  ServerFacts facts;
  try {
    pqxx::connection conn(url.value());
    pqxx::read_transaction tx(conn);
    // data_directory is readable only with pg_read_all_settings (or as superuser).
    auto row = tx.exec(
        "SELECT current_setting('server_version'), pg_database_size(current_database()),"
        " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()),"
        " current_setting('max_connections')::bigint,"
        " CASE WHEN pg_has_role('pg_read_all_settings', 'MEMBER') THEN current_setting('data_directory') END,"
        " current_setting('shared_buffers'),"
        " format('synchronous_commit %s, fsync %s, wal_compression %s, max_wal_size %s, checkpoint_timeout %s',"
        "        current_setting('synchronous_commit'), current_setting('fsync'), current_setting('wal_compression'),"
        "        current_setting('max_wal_size'), current_setting('checkpoint_timeout'))")[0];
    facts.version = row[0].as<std::string>();
    facts.size_bytes = row[1].as<long long>();
    facts.connections = row[2].as<long long>();
    facts.max_connections = row[3].as<long long>();
    if (!row[4].is_null()) facts.data_dir = row[4].as<std::string>();
    facts.shared_buffers = row[5].as<std::string>();
    facts.wal = row[6].as<std::string>();
  } catch (const pqxx::broken_connection& e) {
    print();
    return cannot_connect(ctx, url.value(), e.what());
  }
  j["running"] = true;
  j["version"] = facts.version;
  j["sizeBytes"] = facts.size_bytes;
  j["connections"] = facts.connections;
  j["sharedBuffers"] = facts.shared_buffers;
  j["wal"] = facts.wal;
  j["maxConnections"] = facts.max_connections;
  if (!facts.data_dir.empty()) j["dataDir"] = facts.data_dir;
  auto state = migration_state(url.value());
  if (state.ok()) {
    j["schemaVersion"] = state->applied;
    j["pendingMigrations"] = state->pending.size();
    j["staleFunctions"] = state->stale.size();
  }
  print();
  // A schema this binary cannot use is a problem the check found.
  if (!state.ok()) return Outcome::Problem(first_line(state.status().message()));
  return Outcome::Ok();
}

nlohmann::json migration_list(const std::vector<Migration>& ms) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : ms) list.push_back({{"version", m.version}, {"name", m.name}});
  return list;
}

std::string migration_table(const std::vector<Migration>& ms) {
  Table t({"VERSION", "NAME"});
  for (const auto& m : ms) t.add({std::to_string(m.version), m.name});
  return t.render();
}

Outcome run_migrate(const Context& ctx, bool dry_run, int lock_timeout_s) {
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  auto state = migration_state(url.value());
  if (!state.ok()) return from_status(ctx, state.status());
  std::vector<Migration> applied;
  std::vector<std::string> functions;
  bool adopted = false;
  if (dry_run) {
    for (const auto& f : state->stale) functions.push_back(f.name);
  } else {
    auto done = apply_migrations(url.value(), {std::chrono::seconds(lock_timeout_s)});
    if (!done.ok()) return from_status(ctx, done.status());
    for (const auto& m : bundled_migrations())
      if (std::find(done->versions.begin(), done->versions.end(), m.version) != done->versions.end())
        applied.push_back(m);
    functions = done->functions;
    adopted = done->adopted_legacy;
  }
  const std::vector<Migration>& listed = dry_run ? state->pending : applied;
  // The highest version applied: a gap filled below it does not lower it.
  const int level = dry_run || applied.empty() ? state->applied : std::max(state->applied, applied.back().version);
  if (ctx.out().json()) {
    ctx.out().print_json({{"dryRun", dry_run},
                          {"schemaVersion", level},
                          {"latestVersion", state->latest},
                          {"pending", migration_list(dry_run ? state->pending : std::vector<Migration>{})},
                          {"applied", migration_list(applied)},
                          {"functions", functions},
                          {"rerecorded", dry_run ? state->legacy : adopted}});
    return Outcome::Ok();
  }
  if (!listed.empty()) ctx.out().data(migration_table(listed));
  const std::string where = " on " + mask_url_password(url.value()) + "; schema at version " + std::to_string(level) +
                            " of " + std::to_string(state->latest);
  std::string files;
  for (const auto& f : functions) files += (files.empty() ? "" : ", ") + f;
  if (dry_run) {
    if (state->legacy)
      ctx.out().info("the database was built by the migrations of resv before 0.1.0: they will be re-recorded as "
                     "0001_baseline (the schema is the same)");
    ctx.out().info(std::to_string(listed.size()) + " migration(s) pending" + where +
                   (functions.empty() ? "" : "; function files to apply: " + files) +
                   (listed.empty() && functions.empty() ? "" : " (nothing applied: --dry-run)"));
  } else {
    if (adopted)
      ctx.out().info("re-recorded the migrations of resv before 0.1.0 as 0001_baseline (the schema is the same)");
    ctx.out().info("applied " + std::to_string(applied.size()) + " migration(s)" +
                   (functions.empty() ? "" : " and function files " + files) + where);
  }
  return Outcome::Ok();
}

Outcome run_psql(const Context& ctx, const std::vector<std::string>& args) {
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  // The password goes through the environment, not argv, which `ps` shows.
  auto [bare, password] = split_password(url.value());
  if (!password.empty()) ::setenv("PGPASSWORD", password.c_str(), 1);
  std::vector<std::string> argv{"psql", "--dbname=" + bare};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  ::execvp("psql", cargv.data());
  int err = errno;
  if (err == ENOENT)
    return Outcome::Failed("psql was not found on PATH",
                           "install the PostgreSQL client (Debian: apt-get install postgresql-client-15)");
  return Outcome::Failed(std::string("cannot run psql: ") + std::strerror(err));
}

Outcome run_reset(const Context& ctx, bool yes) {
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  const std::string shown = mask_url_password(url.value());
  try {
    pqxx::connection probe(url.value());  // say so before asking, if it cannot be reached
  } catch (const pqxx::broken_connection& e) {
    return cannot_connect(ctx, url.value(), e.what());
  }
  if (auto ok = confirm(ctx, "Wipe all data in " + shown + "? Schema public is dropped and migrated afresh.", yes);
      !ok.ok())
    return ok;
  try {
    pqxx::connection conn(url.value());
    pqxx::work tx(conn);
    // A resv-server holding locks would otherwise make this wait forever.
    tx.exec("SET LOCAL lock_timeout = '10s'");
    tx.exec("DROP SCHEMA IF EXISTS public CASCADE");
    // As initdb makes it in PostgreSQL 15.
    tx.exec("CREATE SCHEMA public AUTHORIZATION pg_database_owner");
    tx.exec("GRANT USAGE ON SCHEMA public TO PUBLIC");
    tx.commit();
  } catch (const pqxx::broken_connection& e) {
    return cannot_connect(ctx, url.value(), e.what());
  } catch (const pqxx::sql_error& e) {
    std::string hint = e.sqlstate() == "55P03"
                           ? "sessions hold locks on its tables: stop resv-server ('resv server stop') and try again"
                           : "the role in the URL must own schema public (or be a superuser)";
    return Outcome::Failed("could not wipe " + shown + ": " + first_line(e.what()), hint);
  }
  auto done = apply_migrations(url.value());
  if (!done.ok()) return from_status(ctx, done.status());
  if (ctx.out().json()) {
    ctx.out().print_json({{"url", shown},
                          {"schemaVersion", latest_migration_version()},
                          {"migrationsApplied", done->versions.size()}});
    return Outcome::Ok();
  }
  ctx.out().info("wiped " + shown + "; applied " + std::to_string(done->versions.size()) + " migration(s), schema at version " +
                 std::to_string(latest_migration_version()));
  return Outcome::Ok();
}

}  // namespace

void register_db(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<DbOptions>();
  auto* db = app.add_subcommand("db", "Run the embedded PostgreSQL; inspect, migrate and reset a database");
  db->require_subcommand(1);
  db->footer(
      "up and down manage the embedded cluster under the state directory; status, migrate,\n"
      "psql and reset work on whichever database is configured (--db, RESV_DATABASE_URL,\n"
      "config file), else on the embedded one.\n"
      "\n"
      "Examples:\n"
      "  eval \"$(resv db up -q)\"\n"
      "  resv db status\n"
      "  resv db migrate --dry-run --db \"$PROD_URL\"");

  auto* up = db->add_subcommand("up", "Create, start and migrate the embedded PostgreSQL cluster");
  up->footer(
      "The first run creates a PostgreSQL 15 cluster in <state>/pg/data (as root, owned by\n"
      "the postgres user), listening on 127.0.0.1 only, on a port chosen free from 54320 up,\n"
      "with a role `resv` and a generated password (kept in <state>/pg/embedded.json, mode\n"
      "0600), and a database `resv`. Every run starts it if it is down (a pidfile left by a\n"
      "killed server is taken over), waits until it accepts connections and applies pending\n"
      "migrations. If another process took its port while it was down, it moves to the next\n"
      "free port, with a warning (export RESV_DATABASE_URL again). Its log is\n"
      "<state>/pg/run/postgres.log.\n"
      "\n"
      "stdout is one line of shell that sets RESV_DATABASE_URL (with the password); messages\n"
      "go to stderr. When a database is configured (--db, RESV_DATABASE_URL, config file),\n"
      "up refuses with exit 2: it manages only the embedded cluster (use 'resv db migrate').\n"
      "\n"
      "Examples:\n"
      "  resv db up\n"
      "  eval \"$(resv db up -q)\"          # set RESV_DATABASE_URL in this shell\n"
      "  resv db up --json | jq -r .url\n"
      "\n"
      "JSON (--json):\n"
      "  {\"url\": string (with the password), \"port\": int, \"dataDir\": string,\n"
      "   \"alreadyRunning\": bool, \"created\": bool, \"migrationsApplied\": int}");
  ctx.on_run(up, [&ctx] { return run_up(ctx); });

  auto* down = db->add_subcommand("down", "Stop the embedded PostgreSQL cluster");
  down->add_option("--timeout", opts->down_timeout, "Seconds to wait for it to stop")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  down->footer(
      "A fast shutdown: open sessions are ended and their transactions rolled back. When it\n"
      "is not running (or was never created) down says so and exits 0.\n"
      "\n"
      "Examples:\n"
      "  resv db down\n"
      "  resv db down --timeout 120");
  ctx.on_run(down, [&ctx, opts] { return run_down(ctx, opts->down_timeout); });

  auto* status = db->add_subcommand("status", "Show whether the database runs, its version, size, connections and schema level");
  status->footer(
      "Exits 3 when the database is not running or cannot be reached (the fields that need a\n"
      "connection are then null, and the error says why), 4 when its schema cannot be used by\n"
      "this resv (ahead of it, or an applied migration differs). Connections count the\n"
      "client sessions of the whole server, this one excluded.\n"
      "\n"
      "Examples:\n"
      "  resv db status\n"
      "  resv db status --json | jq .pendingMigrations\n"
      "\n"
      "JSON (--json):\n"
      "  {\"running\": bool, \"embedded\": bool, \"url\": string|null (password masked),\n"
      "   \"dataDir\": string|null, \"version\": string|null, \"sizeBytes\": int|null,\n"
      "   \"connections\": int|null, \"maxConnections\": int|null, \"sharedBuffers\": string|null,\n"
      "   \"wal\": string|null (\"synchronous_commit on, fsync on, wal_compression off, ...\"),\n"
      "   \"schemaVersion\": int|null, \"latestVersion\": int, \"pendingMigrations\": int|null,\n"
      "   \"staleFunctions\": int|null (function files not applied as this resv has them)}");
  ctx.on_run(status, [&ctx] { return run_status(ctx); });

  auto* migrate = db->add_subcommand("migrate", "Apply pending schema migrations");
  migrate->add_flag("--dry-run", opts->dry_run, "List the pending migrations; apply nothing");
  migrate->add_option("--lock-timeout", opts->lock_timeout_s,
                      "Seconds a migration may wait for a table lock before it gives up")
      ->type_name("SECONDS")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  migrate->footer(
      "Applies the pending schema migrations (sql/migrations/), each in its own transaction,\n"
      "then the function files (sql/functions/) whose content changed, together in one\n"
      "transaction, all under an advisory lock (several migrators at once are safe). A\n"
      "statement that waits longer than --lock-timeout for a lock (a long transaction on the\n"
      "table) fails its migration, which then changed nothing: exit 1, retry later. Refuses a\n"
      "database that is ahead of this resv or whose applied migrations differ from the\n"
      "bundled ones. Prints the migrations applied (or, with --dry-run, pending) as a table;\n"
      "the summary, with the function files, goes to stderr.\n"
      "\n"
      "Examples:\n"
      "  resv db migrate --dry-run\n"
      "  resv db migrate --db postgresql://resv@db.internal/resv\n"
      "\n"
      "JSON (--json):\n"
      "  {\"dryRun\": bool, \"schemaVersion\": int (after this run), \"latestVersion\": int,\n"
      "   \"pending\": [{\"version\": int, \"name\": string}] (with --dry-run; else []),\n"
      "   \"applied\": [{\"version\": int, \"name\": string}],\n"
      "   \"functions\": [string] (function files applied; with --dry-run, to apply),\n"
      "   \"rerecorded\": bool (the records of resv before 0.1.0 became 0001_baseline)}");
  ctx.on_run(migrate, [&ctx, opts] { return run_migrate(ctx, opts->dry_run, opts->lock_timeout_s); });

  auto* psql = db->add_subcommand("psql", "Run psql on the database, passing ARGS through");
  psql->add_option("args", opts->psql_args, "Arguments for psql (after --)");
  psql->footer(
      "psql replaces resv, so its exit code is the command's. The password is passed in\n"
      "PGPASSWORD, not on the command line.\n"
      "\n"
      "Examples:\n"
      "  resv db psql\n"
      "  resv db psql -- -At -c 'select count(*) from reservations'");
  ctx.on_run(psql, [&ctx, opts] { return run_psql(ctx, opts->psql_args); });

  auto* reset = db->add_subcommand("reset", "Delete all data: drop schema public and migrate afresh");
  reset->add_flag("-y,--yes", opts->yes, "Do not ask for confirmation (needed when stdin is not a terminal)");
  reset->footer(
      "Asks first, naming the database; without a terminal it refuses (exit 2) unless --yes\n"
      "is given. Every object in schema public goes, then the migrations are applied again:\n"
      "the schema is current and every table is empty.\n"
      "\n"
      "Examples:\n"
      "  resv db reset\n"
      "  resv db reset --yes --db postgresql://resv@127.0.0.1/resv_test\n"
      "\n"
      "JSON (--json):\n"
      "  {\"url\": string (password masked), \"schemaVersion\": int, \"migrationsApplied\": int}");
  ctx.on_run(reset, [&ctx, opts] { return run_reset(ctx, opts->yes); });
}

}  // namespace resv::cli
