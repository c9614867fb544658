#include "ops/seed.h"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <thread>

namespace resv {

namespace {

using Clock = std::chrono::steady_clock;

// ---- the data ---------------------------------------------------------------

uint64_t mix(uint64_t x) {  // splitmix64: a good 64-bit hash of a counter
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A value of row `index` of a table, for one purpose (`salt`): depends on
// nothing else, so rows can be generated in any order, by any thread.
uint64_t pick(const SeedSpec& s, uint64_t salt, int64_t index) {
  return mix(mix(s.seed ^ (salt * 0x2545F4914F6CDD1Dull)) ^ static_cast<uint64_t>(index));
}

enum Salt : uint64_t { kArtist = 1, kTour, kVenue, kPriceLevel, kBalance };

const std::array<const char*, 12> kArtists = {"Aurora Lane", "The Night Owls", "Seoul Symphony", "Blue Harbor",
                                              "Kim Jiwoo",   "Echo Parade",    "Lumen",          "Marigold",
                                              "Static Bloom", "Han River Trio", "Nova",          "Paper Lanterns"};
const std::array<const char*, 6> kTours = {"World Tour", "Live", "Encore", "Unplugged", "Anniversary Show", "in Concert"};
const std::array<const char*, 8> kVenues = {"Olympic Hall",  "Grand Arena", "Riverside Stage", "City Opera House",
                                            "Blue Square",   "KSPO Dome",   "Harbor Pavilion", "Sejong Center"};

struct Shape {  // the sizes derived from a spec
  int64_t schedules, seat_base, seat_extra, pools;
  explicit Shape(const SeedSpec& s)
      : schedules(s.concerts * s.schedules_per_concert),
        seat_base(schedules ? s.seats / schedules : 0),
        seat_extra(schedules ? s.seats % schedules : 0),
        pools(schedules * s.pools_per_schedule) {}
  // Schedule (0-based) and position in it of seat `i` (0-based): the first
  // `seat_extra` schedules have one seat more.
  std::pair<int64_t, int64_t> seat_place(int64_t i) const {
    int64_t big = seat_extra * (seat_base + 1);
    if (i < big) return {i / (seat_base + 1), i % (seat_base + 1)};
    return {seat_extra + (i - big) / seat_base, (i - big) % seat_base};
  }
  int64_t seats_in(int64_t schedule) const { return seat_base + (schedule < seat_extra ? 1 : 0); }
};

// Prices of a concert: 80-150 % of the list price, in steps of 1,000.
int64_t price(const SeedSpec& s, int64_t concert, int64_t list) {
  int64_t percent = 80 + static_cast<int64_t>(pick(s, kPriceLevel, concert) % 71);
  return list * percent / 100 / 1000 * 1000;
}

std::string ts(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S+00", &tm);
  return buf;
}

// "A".."Z", "AA".."AZ", ...: row names of a hall.
std::string row_name(int64_t r) {
  std::string out;
  for (++r; r > 0; r = (r - 1) / 26) out.insert(out.begin(), static_cast<char>('A' + (r - 1) % 26));
  return out;
}

class Rows {
 public:
  Rows(const SeedSpec& s, std::time_t now) : s_(s), shape_(s) {
    // Times relative to the seeding moment: today at 00:00 UTC, and the next
    // full hour (sales of concert c open c hours after it).
    day_ = now - now % 86400;
    next_hour_ = now - now % 3600 + 3600;
  }

  int64_t count(const std::string& table) const {
    if (table == "concerts") return s_.concerts;
    if (table == "schedules") return shape_.schedules;
    if (table == "seats") return s_.seats;
    if (table == "pools") return shape_.pools;
    if (table == "users") return s_.users;
    return 0;
  }

  // Appends row `i` (0-based) of `table` as a COPY text line.
  void append(std::string& out, const std::string& table, int64_t i) const {
    const int64_t id = i + 1;
    auto field = [&out](const std::string& v) { out += v; out += '\t'; };
    auto last = [&out](const std::string& v) { out += v; out += '\n'; };
    auto num = [](int64_t v) { return std::to_string(v); };
    if (table == "concerts") {
      field(num(id));
      field(std::string(kArtists[pick(s_, kArtist, i) % kArtists.size()]) + " " + kTours[pick(s_, kTour, i) % kTours.size()]);
      last(kVenues[pick(s_, kVenue, i) % kVenues.size()]);
    } else if (table == "schedules") {
      int64_t concert = i / s_.schedules_per_concert, nth = i % s_.schedules_per_concert;
      field(num(id));
      field(num(concert + 1));
      field(ts(day_ + (7 + concert + nth) * 86400 + 19 * 3600));  // 19:00, a week out, then a day apart
      field(ts(next_hour_ + concert * 3600));
      field("4");
      last("300");
    } else if (table == "seats") {
      auto [schedule, pos] = shape_.seat_place(i);
      int64_t concert = schedule / s_.schedules_per_concert, in_hall = shape_.seats_in(schedule);
      // The front 10 % VIP, the next 30 % R, the rest S; rows of 25.
      const char* grade = pos * 10 < in_hall ? "VIP" : pos * 10 < in_hall * 4 ? "R" : "S";
      int64_t list = pos * 10 < in_hall ? 150000 : pos * 10 < in_hall * 4 ? 110000 : 80000;
      field(num(id));
      field(num(schedule + 1));
      field(row_name(pos / 25) + num(pos % 25 + 1));
      field(grade);
      last(num(price(s_, concert, list)));
    } else if (table == "pools") {
      int64_t schedule = i / s_.pools_per_schedule, concert = schedule / s_.schedules_per_concert;
      std::string name = s_.pool_kind == "COUPON"            ? "Coupon"
                         : s_.pool_kind == "RESTAURANT_SLOT" ? "Table for up to " + num(s_.pool_max_party)
                                                             : "General admission";
      if (s_.pools_per_schedule > 1) name += " " + num(i % s_.pools_per_schedule + 1);
      int64_t list = s_.pool_kind == "COUPON" ? 0 : s_.pool_kind == "RESTAURANT_SLOT" ? 10000 : 50000;
      field(num(id));
      field(num(schedule + 1));
      field(name);
      field(s_.pool_kind);
      field(num(s_.pool_capacity));
      field(num(price(s_, concert, list)));
      field("1");
      field(num(s_.pool_max_party));
      last(num(s_.pool_max_per_user));
    } else if (table == "users") {
      field(num(id));
      field("user-" + num(id));
      last(num(s_.balance * (50 + static_cast<int64_t>(pick(s_, kBalance, i) % 101)) / 100 / 100 * 100));
    }
  }

 private:
  const SeedSpec& s_;
  Shape shape_;
  std::time_t day_, next_hour_;
};

// Load order (parents first) and the columns COPY names.
struct Target {
  const char* table;
  const char* columns;
};
const std::array<Target, 5> kTargets = {{
    {"concerts", "id, name, venue"},
    {"schedules", "id, concert_id, starts_at, sales_open_at, max_seats_per_user, hold_seconds"},
    {"seats", "id, schedule_id, label, grade, price"},
    {"pools", "id, schedule_id, name, kind, capacity, price, min_party, max_party, max_per_user"},
    {"users", "id, name, balance"},
}};

// Every table seeding empties (children included), and those whose
// secondary indexes and constraints are dropped while loading.
const char* kAllTables =
    "concerts, schedules, seats, pools, pool_units, users, reservations, payments, balance_ledger, outbox, "
    "idempotency_keys, queue_concerts, queue_tokens";
const char* kLoadedTables = "'concerts', 'schedules', 'seats', 'pools', 'pool_units', 'users'";

// ---- the database -------------------------------------------------------------

struct PgConn {
  PGconn* c = nullptr;
  ~PgConn() {
    if (c) PQfinish(c);
  }
};

struct PgResult {
  PGresult* r = nullptr;
  ~PgResult() {
    if (r) PQclear(r);
  }
};

Status failure(PGconn* c, PGresult* r, const std::string& what) {
  if (PQstatus(c) != CONNECTION_OK)
    return Status::DbUnavailable("lost the database connection while " + what + ": " + PQerrorMessage(c));
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  if (state && (std::strcmp(state, "55P03") == 0 || std::strcmp(state, "57014") == 0 ||
                std::strcmp(state, "40P01") == 0))
    return Status::Error(ErrorCode::Busy, "the tables stayed locked by other sessions while " + what + " (" + msg + ")");
  return Status::Internal(what + " failed: " + msg);
}

// Runs `sql` (with text parameters); the rows, or why not.
Result<std::vector<std::vector<std::string>>> query(PGconn* c, const std::string& sql, const std::string& what,
                                                    const std::vector<std::string>& params = {}) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  PgResult res{PQexecParams(c, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0)};
  auto st = PQresultStatus(res.r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return failure(c, res.r, what);
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < PQntuples(res.r); ++i) {
    std::vector<std::string> row;
    for (int j = 0; j < PQnfields(res.r); ++j) row.emplace_back(PQgetvalue(res.r, i, j));
    rows.push_back(std::move(row));
  }
  return rows;
}

Status exec(PGconn* c, const std::string& sql, const std::string& what) {
  auto r = query(c, sql, what);
  return r.ok() ? Status::Ok() : r.status();
}

std::string quote_ident(PGconn* c, const std::string& name) {
  char* q = PQescapeIdentifier(c, name.c_str(), name.size());
  std::string out = q ? q : name;
  PQfreemem(q);
  return out;
}

// COPYs one table, rows generated `jobs` chunks ahead on other threads.
Status copy_table(PGconn* c, const Rows& rows, const Target& t, const SeedOptions& o, SeedTable& report) {
  const int64_t total = rows.count(t.table);
  report.name = t.table;
  report.rows = total;
  auto started = Clock::now();
  std::string sql = std::string("COPY ") + t.table + " (" + t.columns + ") FROM STDIN WITH (FREEZE)";
  PgResult begin{PQexec(c, sql.c_str())};
  if (PQresultStatus(begin.r) != PGRES_COPY_IN) return failure(c, begin.r, std::string("starting COPY ") + t.table);

  constexpr int64_t kChunk = 16384;
  const std::string table = t.table;
  auto make = [&rows, table, total](int64_t from) {
    std::string buf;
    buf.reserve(static_cast<size_t>(kChunk) * 48);
    for (int64_t i = from; i < std::min(total, from + kChunk); ++i) rows.append(buf, table, i);
    return buf;
  };
  std::deque<std::future<std::string>> ahead;
  int64_t next = 0, done = 0;
  const size_t window = static_cast<size_t>(std::max(1, o.jobs));
  const char* abort_reason = nullptr;
  if (o.progress) o.progress(table, 0, total);
  while (done < total) {
    while (ahead.size() < window && next < total) {
      ahead.push_back(std::async(o.jobs > 1 ? std::launch::async : std::launch::deferred, make, next));
      next += kChunk;
    }
    std::string buf = ahead.front().get();
    ahead.pop_front();
    if (o.interrupted && o.interrupted()) {
      abort_reason = "interrupted";
      break;
    }
    if (PQputCopyData(c, buf.data(), static_cast<int>(buf.size())) != 1) {
      abort_reason = "sending rows failed";
      break;
    }
    done = std::min(total, done + kChunk);
    if (o.progress && done < total) o.progress(table, done, total);
  }
  for (auto& f : ahead) f.wait();  // no thread outlives `rows`
  if (PQputCopyEnd(c, abort_reason) != 1) return failure(c, nullptr, "finishing COPY " + table);
  PgResult end{PQgetResult(c)};
  while (PGresult* extra = PQgetResult(c)) PQclear(extra);
  if (abort_reason && std::strcmp(abort_reason, "interrupted") == 0)
    return Status::Error(ErrorCode::Cancelled, "interrupted while loading " + table + "; nothing was changed");
  if (PQresultStatus(end.r) != PGRES_COMMAND_OK) return failure(c, end.r, "loading " + table);
  report.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  if (o.progress) o.progress(table, total, total);
  return Status::Ok();
}

struct Dropped {
  std::vector<std::string> restore;  // statements that put them back, in order
};

// Drops the secondary indexes, unique and foreign-key constraints of the
// loaded tables (as pg_restore loads before it builds them), remembering how
// to restore them. Primary keys stay: ids arrive in order, so they cost
// little, and other tables' foreign keys depend on them.
Result<Dropped> drop_secondary(PGconn* c) {
  Dropped d;
  auto cons = query(c,
                    std::string("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype"
                                " FROM pg_constraint WHERE contype IN ('f', 'u') AND conrelid::regclass::text IN (") +
                        kLoadedTables + ") ORDER BY contype, conname",
                    "reading constraints");
  if (!cons.ok()) return cons.status();
  auto idx = query(c,
                   std::string("SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
                               " WHERE i.indrelid::regclass::text IN (") +
                       kLoadedTables +
                       ") AND NOT i.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint k"
                       " WHERE k.conindid = i.indexrelid) ORDER BY 1",
                   "reading indexes");
  if (!idx.ok()) return idx.status();
  // Foreign keys first ('f' sorts before 'u'), so unique constraints they
  // might rely on can go too; restored in the opposite order.
  std::vector<std::string> add_constraints;
  for (const auto& row : cons.value()) {
    std::string table = quote_ident(c, row[0]), name = quote_ident(c, row[1]);
    if (auto s = exec(c, "ALTER TABLE " + table + " DROP CONSTRAINT " + name, "dropping constraint " + row[1]); !s.ok())
      return s;
    add_constraints.insert(add_constraints.begin(), "ALTER TABLE " + table + " ADD CONSTRAINT " + name + " " + row[2]);
  }
  for (const auto& row : idx.value()) {
    if (auto s = exec(c, "DROP INDEX " + row[0], "dropping index " + row[0]); !s.ok()) return s;
    d.restore.push_back(row[1]);
  }
  d.restore.insert(d.restore.end(), add_constraints.begin(), add_constraints.end());
  return d;
}

// Begins the load's transaction holding every table. Each try waits at most
// 200 ms for the locks: a waiting ACCESS EXCLUSIVE request queues every
// buyer's read behind it, and a server query that holds one table while it
// asks for another deadlocks with it. Tries again until 10 s have passed;
// then Busy.
Status begin_with_all_tables(PGconn* c) {
  const auto give_up = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    if (auto s = exec(c, "BEGIN", "starting the transaction"); !s.ok()) return s;
    Status locked = exec(c, "SET LOCAL lock_timeout = '200ms'", "setting lock_timeout");
    if (locked.ok())
      locked = exec(c, std::string("LOCK TABLE ") + kAllTables + " IN ACCESS EXCLUSIVE MODE", "locking the tables");
    if (locked.ok()) return exec(c, "SET LOCAL lock_timeout = '10s'", "setting lock_timeout");
    if (auto s = exec(c, "ROLLBACK", "rolling back"); !s.ok()) return s;
    if (locked.code() != ErrorCode::Busy || Clock::now() >= give_up) return locked;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<SeedReport> load(PGconn* c, const SeedSpec& spec, const SeedOptions& o) {
  auto started = Clock::now();
  if (auto s = begin_with_all_tables(c); !s.ok()) return s;
  auto present = query(c,
                       "SELECT (SELECT count(*) FROM reservations), (SELECT count(*) FROM payments),"
                       " (SELECT count(*) FROM concerts), (SELECT count(*) FROM users)",
                       "looking at what is there");
  if (!present.ok()) return present.status();
  const auto& p = present.value()[0];
  const int64_t reservations = std::stoll(p[0]), payments = std::stoll(p[1]), concerts = std::stoll(p[2]),
                users = std::stoll(p[3]);
  if ((reservations > 0 || payments > 0) && !o.force)
    return Status::Error(ErrorCode::Conflict, "the database holds " + std::to_string(reservations) +
                                                  " reservation(s) and " + std::to_string(payments) +
                                                  " payment(s), which seeding would delete");
  if ((concerts > 0 || users > 0) && !o.reset)
    return Status::Error(ErrorCode::Conflict, "the database already holds data (" + std::to_string(concerts) +
                                                  " concert(s), " + std::to_string(users) +
                                                  " user(s)); seeding adds only to empty tables");
  // TRUNCATE in this transaction also lets COPY write frozen rows.
  if (auto s = exec(c, std::string("TRUNCATE ") + kAllTables + " RESTART IDENTITY", "emptying the tables"); !s.ok())
    return s;
  auto dropped = drop_secondary(c);
  if (!dropped.ok()) return dropped.status();

  SeedReport report;
  Rows rows(spec, std::time(nullptr));
  for (const auto& t : kTargets) {
    SeedTable table;
    if (auto s = copy_table(c, rows, t, o, table); !s.ok()) return s;
    report.tables.push_back(table);
    if (std::strcmp(t.table, "pools") == 0)  // the pools' trigger made their units
      report.tables.push_back({"pool_units", spec.pool_capacity * Shape(spec).pools, 0});
  }
  auto rebuild_started = Clock::now();
  for (const auto& stmt : dropped.value().restore)
    if (auto s = exec(c, stmt, "rebuilding (" + stmt.substr(0, 60) + ")"); !s.ok()) return s;
  for (const auto& t : kTargets)
    if (auto s = exec(c,
                      std::string("SELECT setval(pg_get_serial_sequence('") + t.table + "', 'id'), " +
                          "coalesce(max(id), 0) + 1, false) FROM " + t.table,
                      std::string("setting the id sequence of ") + t.table);
        !s.ok())
      return s;
  nlohmann::json counts = nlohmann::json::object();
  for (const auto& t : report.tables) counts[t.name] = t.rows;
  nlohmann::json spec_json{{"concerts", spec.concerts},
                           {"schedules_per_concert", spec.schedules_per_concert},
                           {"seats", spec.seats},
                           {"pools_per_schedule", spec.pools_per_schedule},
                           {"pool_capacity", spec.pool_capacity},
                           {"pool_max_party", spec.pool_max_party},
                           {"pool_max_per_user", spec.pool_max_per_user},
                           {"pool_kind", spec.pool_kind},
                           {"users", spec.users},
                           {"balance", spec.balance}};
  if (auto r = query(c, "INSERT INTO seed_runs (profile, seed, spec, row_counts) VALUES ($1, $2, $3, $4)",
                     "recording the seed", {spec.profile, std::to_string(static_cast<int64_t>(spec.seed)),
                                            spec_json.dump(), counts.dump()});
      !r.ok())
    return r.status();
  if (auto s = exec(c, std::string("ANALYZE ") + kAllTables, "analyzing the tables"); !s.ok()) return s;
  // Delivered at commit: every server forgets what it cached of the old data.
  if (auto s = exec(c, "SELECT pg_notify('resv_release', '{\"reset\":true}')", "notifying servers"); !s.ok()) return s;
  if (auto s = exec(c, "COMMIT", "committing"); !s.ok()) return s;
  // Index and constraint builds count with the table they belong to, spread
  // over the loaded rows: the rate is what a caller waits for.
  double rebuild = std::chrono::duration<double>(Clock::now() - rebuild_started).count();
  int64_t loaded = 0;
  for (const auto& t : report.tables) loaded += t.seconds > 0 ? t.rows : 0;
  for (auto& t : report.tables)
    if (t.seconds > 0 && loaded > 0) t.seconds += rebuild * static_cast<double>(t.rows) / static_cast<double>(loaded);
  report.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return report;
}

}  // namespace

const std::vector<std::string>& seed_profile_names() {
  static const std::vector<std::string> names{"concert", "festival", "restaurant", "coupon"};
  return names;
}

Result<SeedSpec> seed_profile(const std::string& name) {
  SeedSpec s;
  s.profile = name;
  if (name == "concert") {
    s.seats = 1000;
    s.users = 10000;
  } else if (name == "festival") {
    s.concerts = 10;
    s.schedules_per_concert = 3;
    s.seats = 10 * 3 * 5000;
    s.users = 50000;
  } else if (name == "restaurant") {
    s.pools_per_schedule = 1;
    s.pool_capacity = 40;
    s.pool_max_party = 4;
    s.pool_max_per_user = 4;
    s.pool_kind = "RESTAURANT_SLOT";
    s.users = 2000;
  } else if (name == "coupon") {
    s.pools_per_schedule = 1;
    s.pool_capacity = 100000;
    s.pool_kind = "COUPON";
    s.users = 150000;
  } else {
    return Status::NotFound("no seed profile '" + name + "' (profiles: concert, festival, restaurant, coupon)");
  }
  return s;
}

namespace {
constexpr int64_t kMax = 1'000'000'000;  // rows in one table
}  // namespace

Result<SeedSpec> scale_spec(SeedSpec s, int64_t scale) {
  if (scale < 1) return Status::Invalid("scale must be at least 1 (got " + std::to_string(scale) + ")");
  for (auto [v, what] : {std::pair{&s.concerts, "concerts"}, {&s.seats, "seats"}, {&s.users, "users"}}) {
    int64_t scaled = 0;
    if (__builtin_mul_overflow(*v, scale, &scaled) || scaled > kMax || scaled < -kMax)
      return Status::Invalid(std::string(what) + " x scale " + std::to_string(scale) + " is beyond 1,000,000,000 (" +
                             std::to_string(*v) + " x " + std::to_string(scale) + ")");
    *v = scaled;
  }
  return s;
}

Status validate_spec(const SeedSpec& s) {
  auto within = [&](int64_t v, int64_t lo, const char* what) -> Status {
    if (v < lo || v > kMax)
      return Status::Invalid(std::string(what) + " must be between " + std::to_string(lo) + " and 1,000,000,000 (got " +
                             std::to_string(v) + ")");
    return Status::Ok();
  };
  for (auto st : {within(s.concerts, 1, "concerts"), within(s.schedules_per_concert, 1, "schedules per concert"),
                  within(s.seats, 0, "seats"), within(s.pools_per_schedule, 0, "pools per schedule"),
                  within(s.users, 0, "users"), within(s.balance, 0, "balance")})
    if (!st.ok()) return st;
  // Each factor is at most a billion, checked before it is multiplied: no
  // product below overflows.
  const int64_t schedules = s.concerts * s.schedules_per_concert;
  if (auto st = within(schedules, 1, "concerts x schedules"); !st.ok()) return st;
  if (s.pools_per_schedule > 0) {
    if (s.pool_capacity < 1 || s.pool_capacity > 10'000'000)
      return Status::Invalid("pool capacity must be between 1 and 10,000,000 when there are pools");
    const int64_t pools = schedules * s.pools_per_schedule;
    if (auto st = within(pools, 0, "pools in total"); !st.ok()) return st;
    if (auto st = within(pools * s.pool_capacity, 0, "pool units in total"); !st.ok()) return st;
    if (s.pool_max_party < 1 || s.pool_max_per_user < 1)
      return Status::Invalid("a pool's party size and per-user limit must be at least 1");
  }
  if (s.pool_kind != "GENERAL_ADMISSION" && s.pool_kind != "RESTAURANT_SLOT" && s.pool_kind != "COUPON")
    return Status::Invalid("pool kind must be GENERAL_ADMISSION, RESTAURANT_SLOT or COUPON");
  return Status::Ok();
}

std::vector<SeedTable> seed_plan(const SeedSpec& spec) {
  Shape shape(spec);
  return {{"concerts", spec.concerts, 0},           {"schedules", shape.schedules, 0},
          {"seats", spec.seats, 0},                 {"pools", shape.pools, 0},
          {"pool_units", shape.pools * spec.pool_capacity, 0}, {"users", spec.users, 0}};
}

std::string seed_row(const SeedSpec& spec, const std::string& table, int64_t index) {
  std::string out;
  Rows(spec, std::time(nullptr)).append(out, table, index);
  if (!out.empty()) out.pop_back();
  return out;
}

Result<SeedReport> seed(const std::string& url, const SeedSpec& spec, const SeedOptions& options) {
  if (auto s = validate_spec(spec); !s.ok()) return s;
  PgConn conn{PQconnectdb(url.c_str())};
  if (PQstatus(conn.c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn.c);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return Status::DbUnavailable("cannot connect to the database: " + msg);
  }
  // Closing the connection without COMMIT rolls everything back.
  return load(conn.c, spec, options);
}

// ---- the demo set ---------------------------------------------------------------

Result<DemoSet> seed_demo(const std::string& database_url) {
  constexpr int kSeats = 200, kUsers = 500, kPoolCapacity = 40, kPoolMaxParty = 4;
  constexpr int64_t kBalance = 1'000'000;
  try {
    pqxx::connection c(database_url);
    pqxx::work tx(c);
    DemoSet d;
    d.balance = kBalance;
    d.pool_capacity = kPoolCapacity;
    d.pool_max_party = kPoolMaxParty;
    d.concert_id = tx.exec1("INSERT INTO concerts (name, venue) VALUES ('resv demo concert', 'Demo Hall')"
                            " RETURNING id")[0]
                       .as<int64_t>();
    d.schedule_id = tx.exec_params1("INSERT INTO schedules (concert_id, starts_at, sales_open_at, max_seats_per_user,"
                                    " hold_seconds) VALUES ($1, date_trunc('hour', now()) + interval '7 days 20 hours',"
                                    " now(), 4, 300) RETURNING id",
                                    d.concert_id)[0]
                        .as<int64_t>();
    // Rows A-J of 20 seats: A-B VIP, C-F R, G-J S.
    for (const auto& row : tx.exec_params(
             "INSERT INTO seats (schedule_id, label, grade, price)"
             " SELECT $1, chr(65 + (g - 1) / 20) || ((g - 1) % 20 + 1),"
             "        CASE WHEN g <= 40 THEN 'VIP' WHEN g <= 120 THEN 'R' ELSE 'S' END,"
             "        CASE WHEN g <= 40 THEN 150000 WHEN g <= 120 THEN 110000 ELSE 80000 END"
             " FROM generate_series(1, $2) g ORDER BY g RETURNING id",
             d.schedule_id, kSeats))
      d.seat_ids.push_back(row[0].as<int64_t>());
    d.pool_id = tx.exec_params1("INSERT INTO pools (schedule_id, name, kind, capacity, price, min_party, max_party,"
                                " max_per_user) VALUES ($1, 'General admission', 'GENERAL_ADMISSION', $2, 50000, 1, $3, $3)"
                                " RETURNING id",
                                d.schedule_id, kPoolCapacity, kPoolMaxParty)[0]
                    .as<int64_t>();
    for (const auto& row : tx.exec_params("INSERT INTO users (name, balance) SELECT 'demo-user-' || g, $1"
                                          " FROM generate_series(1, $2) g RETURNING id",
                                          kBalance, kUsers))
      d.user_ids.push_back(row[0].as<int64_t>());
    tx.commit();
    std::sort(d.seat_ids.begin(), d.seat_ids.end());
    std::sort(d.user_ids.begin(), d.user_ids.end());
    return d;
  } catch (const pqxx::broken_connection& e) {
    return Status::DbUnavailable(std::string("cannot reach the database: ") + e.what());
  } catch (const std::exception& e) {
    return Status::Internal(std::string("seeding the demo data failed: ") + e.what());
  }
}

}  // namespace resv
