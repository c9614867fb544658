// resv seed [PROFILE]: deterministic test data, bulk-loaded in one
// transaction (core/seed.h).
#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/interrupt.h"
#include "ops/seed.h"

namespace resv::cli {

namespace {

struct SeedFlags {
  std::string profile;
  std::optional<int64_t> concerts, schedules, seats, pools, capacity, users, balance;
  std::optional<int> party, per_user;
  std::string kind;
  int64_t scale = 1;
  std::optional<int64_t> seed;
  int jobs = 2;
  bool reset = false, force = false, yes = false, dry_run = false;
  std::string to_files;
};

// The profile's spec with the explicit sizes applied over it (or, without a
// profile, the sizes alone describe the whole set).
Expected<SeedSpec> spec_from(const SeedFlags& f) {
  SeedSpec spec;
  if (!f.profile.empty()) {
    auto p = seed_profile(f.profile);
    if (!p.ok()) return Outcome::Usage(p.status().message());
    spec = p.value();
  } else if (!f.concerts && !f.seats && !f.pools && !f.users) {
    return Outcome::Usage("nothing to seed: name a profile or give sizes",
                          "e.g. 'resv seed concert', or 'resv seed --seats 1000000 --users 1000000'");
  } else {
    spec.profile = "custom";
  }
  if (f.concerts) spec.concerts = *f.concerts;
  if (f.schedules) spec.schedules_per_concert = *f.schedules;
  if (f.seats) spec.seats = *f.seats;
  if (f.pools) spec.pools_per_schedule = *f.pools;
  if (f.capacity) spec.pool_capacity = *f.capacity;
  if (f.party) spec.pool_max_party = *f.party;
  if (f.per_user) spec.pool_max_per_user = *f.per_user;
  if (!f.kind.empty()) spec.pool_kind = f.kind;
  if (f.users) spec.users = *f.users;
  if (f.balance) spec.balance = *f.balance;
  if (spec.pools_per_schedule > 0 && spec.pool_capacity == 0) spec.pool_capacity = 100;
  auto scaled = scale_spec(spec, f.scale);
  if (!scaled.ok()) return Outcome::Usage(scaled.status().message());
  spec = scaled.value();
  spec.seed = f.seed ? static_cast<uint64_t>(*f.seed) : kDefaultSeed;
  if (auto s = validate_spec(spec); !s.ok()) return Outcome::Usage(s.message());
  return spec;
}

std::string thousands(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v), out = v < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string rate(int64_t rows, double seconds) {
  return seconds > 0 && rows > 0 ? thousands(static_cast<int64_t>(static_cast<double>(rows) / seconds)) : "-";
}

// A progress bar on a terminal; a line per finished table otherwise.
class Progress {
 public:
  explicit Progress(const Output& out) : out_(out) {}
  void operator()(const std::string& table, int64_t done, int64_t total) {
    auto now = std::chrono::steady_clock::now();
    if (table != table_) {  // the call that says a table begins
      table_ = table;
      started_ = now;
      return;
    }
    double secs = std::chrono::duration<double>(now - started_).count();
    if (done == total) {
      out_.progress_done();
      out_.info(table + ": " + thousands(total) + " rows in " + fmt(secs) + " s (" + rate(total, secs) + " rows/s)");
      return;
    }
    if (now - drawn_ < std::chrono::milliseconds(100)) return;
    drawn_ = now;
    constexpr int kWidth = 30;
    int filled = static_cast<int>(kWidth * done / std::max<int64_t>(total, 1));
    double per_s = secs > 0 ? static_cast<double>(done) / secs : 0;
    double eta = per_s > 0 ? static_cast<double>(total - done) / per_s : 0;
    out_.progress(table + " [" + std::string(static_cast<size_t>(filled), '#') +
                  std::string(static_cast<size_t>(kWidth - filled), '.') + "] " + thousands(done) + "/" +
                  thousands(total) + "  " + rate(done, secs) + " rows/s  ETA " + human_duration(eta));
  }

 private:
  static std::string fmt(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", s);
    return buf;
  }
  const Output& out_;
  std::string table_;
  std::chrono::steady_clock::time_point started_, drawn_;
};

nlohmann::json tables_json(const std::vector<SeedTable>& tables) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& t : tables) {
    nlohmann::json row{{"table", t.name}, {"rows", t.rows}};
    if (t.seconds > 0) {
      row["seconds"] = t.seconds;
      row["rowsPerSecond"] = static_cast<double>(t.rows) / t.seconds;
    }
    arr.push_back(row);
  }
  return arr;
}

Outcome write_files(const Context& ctx, const SeedSpec& spec, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Outcome::Failed("cannot create " + dir + ": " + ec.message());
  for (const auto& t : seed_plan(spec)) {
    if (t.name == "pool_units") continue;  // made by the pools' trigger
    std::string path = dir + "/" + t.name + ".copy";
    std::ofstream f(path, std::ios::binary);
    std::string buf;
    for (int64_t i = 0; i < t.rows; ++i) {
      buf += seed_row(spec, t.name, i);
      buf += '\n';
      if (buf.size() > (1 << 20)) {
        f << buf;
        buf.clear();
      }
    }
    f << buf;
    if (!f) return Outcome::Failed("cannot write " + path);
    ctx.out().info("wrote " + path + " (" + thousands(t.rows) + " rows)");
  }
  return Outcome::Ok();
}

Outcome run_seed(const Context& ctx, const SeedFlags& f) {
  auto spec = spec_from(f);
  if (!spec.ok()) return spec.outcome();
  const Output& out = ctx.out();
  out.info("seed " + std::to_string(spec->seed) +
           (f.seed ? "" : " (the default; --seed N for another data set, the same N for the same data)"));
  if (!f.to_files.empty()) return write_files(ctx, spec.value(), f.to_files);
  if (f.dry_run) {
    auto plan = seed_plan(spec.value());
    if (out.json()) {
      out.print_json({{"dryRun", true}, {"profile", spec->profile}, {"seed", spec->seed}, {"tables", tables_json(plan)}});
    } else {
      Table t({"TABLE", "ROWS"});
      for (const auto& row : plan) t.add({row.name, thousands(row.rows)});
      out.data(t.render());
      out.info(std::string("dry run: nothing was written") +
               (f.reset ? "; with --reset, every table would be emptied first" : ""));
    }
    return Outcome::Ok();
  }
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  if (f.reset)
    if (auto ok = confirm(ctx, "delete every concert, user and reservation in " + ctx.settings().database_url.shown() +
                                   " and seed '" + spec->profile + "' in their place?",
                          f.yes);
        !ok.ok())
      return ok;

  Progress progress(out);
  SeedOptions o;
  o.reset = f.reset;
  o.force = f.force;
  o.jobs = f.jobs;
  o.progress = [&progress](const std::string& table, int64_t done, int64_t total) { progress(table, done, total); };
  o.interrupted = [] { return interrupted(); };
  auto report = [&] {
    // The first Ctrl-C stops at the next chunk and rolls back; a second one
    // (e.g. during the index rebuild) ends the process, which rolls back too.
    InterruptScope ctrl_c("\nresv: interrupting; nothing will be kept (Ctrl-C again to quit at once)\n");
    return seed(url.value(), spec.value(), o);
  }();
  out.progress_done();
  if (!report.ok()) {
    const Status& s = report.status();
    if (s.code() == ErrorCode::Conflict)
      return Outcome::Failed(s.message() + "; nothing was changed",
                             s.message().find("reservation") != std::string::npos
                                 ? "pass --reset --force to delete them anyway"
                                 : "pass --reset to replace it");
    if (s.code() == ErrorCode::Cancelled) return Outcome::Failed(s.message());
    if (s.code() == ErrorCode::Busy)
      return Outcome::Failed(s.message() + "; nothing was changed", "stop the servers using it (resv server stop) and retry");
    if (s.code() == ErrorCode::DbUnavailable) return Outcome::Unreachable(s.message() + "; nothing was changed");
    return Outcome::Failed(s.message() + "; nothing was changed", "is the schema current? run 'resv db migrate'");
  }
  int64_t rows = 0;
  for (const auto& t : report->tables) rows += t.rows;
  if (out.json()) {
    out.print_json({{"profile", spec->profile},
                    {"seed", spec->seed},
                    {"reset", f.reset},
                    {"tables", tables_json(report->tables)},
                    {"rows", rows},
                    {"seconds", report->seconds},
                    {"rowsPerSecond", report->seconds > 0 ? static_cast<double>(rows) / report->seconds : 0}});
  } else {
    Table t({"TABLE", "ROWS", "SECONDS", "ROWS/S"});
    for (const auto& row : report->tables) {
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.2f", row.seconds);
      t.add({row.name, thousands(row.rows), row.seconds > 0 ? secs : "-", rate(row.rows, row.seconds)});
    }
    char total[32];
    std::snprintf(total, sizeof total, "%.2f", report->seconds);
    t.add({"total", thousands(rows), total, rate(rows, report->seconds)});
    out.data(t.render());
  }
  out.info("running resv-servers on this database were told to drop their caches");
  return Outcome::Ok();
}

}  // namespace

void register_seed(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<SeedFlags>();
  auto* cmd = app.add_subcommand("seed", "Load deterministic test data, as fast as PostgreSQL takes it");
  ctx.choices(cmd->add_option("profile", f->profile, "A field report's set-up"), seed_profile_names());
  cmd->add_option("--concerts", f->concerts, "Concerts (events)");
  cmd->add_option("--schedules", f->schedules, "Schedules per concert");
  cmd->add_option("--seats", f->seats, "Assigned seats in total, spread over every schedule");
  cmd->add_option("--pools", f->pools, "Capacity pools per schedule");
  cmd->add_option("--capacity", f->capacity, "Units per pool");
  cmd->add_option("--party", f->party, "Largest party (units per reservation) of a pool")->check(CLI::Range(1, 1000000));
  cmd->add_option("--per-user", f->per_user, "Units of a pool one user may hold")->check(CLI::Range(1, 1000000));
  ctx.choices(cmd->add_option("--kind", f->kind, "Pool kind"), {"GENERAL_ADMISSION", "RESTAURANT_SLOT", "COUPON"});
  cmd->add_option("--users", f->users, "Users");
  cmd->add_option("--balance", f->balance, "Mean balance of a user (each gets 50-150 % of it)");
  cmd->add_option("--scale", f->scale, "Multiply the events and users")->check(CLI::Range(1, 100000));
  cmd->add_option("--seed", f->seed, "Seed of the generator: the same seed, the same data")
      ->check(CLI::Range(int64_t{0}, INT64_MAX));
  cmd->add_option("-j,--jobs", f->jobs, "Threads generating rows while one connection loads them")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_flag("--reset", f->reset, "Replace the data there is (asks first)");
  cmd->add_flag("--force", f->force, "Even when reservations or payments exist (they are deleted)");
  cmd->add_flag("-y,--yes", f->yes, "Do not ask for confirmation (needed without a terminal)");
  cmd->add_flag("--dry-run", f->dry_run, "Print what would be created, write nothing");
  cmd->add_option("--to-files", f->to_files, "Write the rows as COPY files into this directory instead of loading");
  cmd->footer(
      "Profiles (field reports): concert 1 schedule, 1,000 seats, 10,000 users; festival 10\n"
      "concerts x 3 schedules x 5,000 seats, 50,000 users; restaurant one slot, a pool of 40 with\n"
      "parties up to 4, 2,000 users; coupon a pool of 100,000, one per user, 150,000 users.\n"
      "Sizes given with a profile change it; without one they describe the whole set.\n"
      "\n"
      "Everything happens in one transaction: the tables must be empty (or --reset), reservations\n"
      "and payments are never deleted without --force, and an interrupted seed (Ctrl-C, killed,\n"
      "database gone) leaves the database as it was. Ids start at 1; with the same --seed the\n"
      "same ids, names, prices and balances every time (times are relative to now). Secondary\n"
      "indexes and constraints are dropped for the load and rebuilt, then ANALYZE runs; running\n"
      "servers are told to drop their caches.\n"
      "\n"
      "Examples:\n"
      "  resv seed concert\n"
      "  resv seed festival --scale 2 --reset --yes\n"
      "  resv seed --seats 1000000 --users 1000000 -j 4 --json\n"
      "  resv seed coupon --dry-run\n"
      "\n"
      "JSON (--json):\n"
      "  {\"profile\": string, \"seed\": int, \"reset\": bool, \"rows\": int, \"seconds\": number,\n"
      "   \"rowsPerSecond\": number, \"tables\": [{\"table\": string, \"rows\": int, \"seconds\": number,\n"
      "   \"rowsPerSecond\": number}]}   (pool_units, made by a trigger, has no seconds)\n"
      "  --dry-run: {\"dryRun\": true, \"profile\": string, \"seed\": int, \"tables\": [{\"table\", \"rows\"}]}");
  ctx.on_run(cmd, [&ctx, f] { return run_seed(ctx, *f); });
}

}  // namespace resv::cli
