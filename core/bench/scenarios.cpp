#include "bench/scenarios.h"

#include <chrono>
#include <cstdlib>
#include <pqxx/pqxx>
#include <random>

#include "db/pg_text.h"
#include "db/statements.h"

namespace resv {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

BenchRequest hold_seat(int64_t user, int64_t schedule, int64_t seat) {
  return {"hold", "POST", "/api/reservations",
          "{\"userId\":" + str(user) + ",\"scheduleId\":" + str(schedule) + ",\"seatIds\":[" + str(seat) + "]}", {}};
}

BenchRequest hold_pool(int64_t user, const ScenarioData& d, int quantity) {
  return {"hold", "POST", "/api/reservations",
          "{\"userId\":" + str(user) + ",\"scheduleId\":" + str(d.schedule_id) + ",\"poolId\":" + str(d.pool_id) +
              ",\"quantity\":" + str(quantity) + "}",
          {}};
}

class Browse final : public ConnectionScript {
 public:
  explicit Browse(const ScenarioData& d)
      : reads_{BenchRequest{"schedules", "GET", "/api/concerts/" + str(d.concert_id) + "/schedules", "", {}},
               BenchRequest{"seat map", "GET", "/api/schedules/" + str(d.schedule_id) + "/seats", "", {}}} {}
  std::optional<BenchRequest> next(const BenchAnswer*) override { return reads_[n_++ % 2]; }

 private:
  const BenchRequest reads_[2];
  int64_t n_ = 0;
};

// Holds a random seat; pays for it when the hold succeeded.
class Seats final : public ConnectionScript {
 public:
  Seats(const ScenarioData& d, int conn, uint64_t seed)
      : d_(d), user_(d.first_user + conn % d.users), rng_(seed * 1000003 + static_cast<uint64_t>(conn)) {}
  std::optional<BenchRequest> next(const BenchAnswer* previous) override {
    if (held_ && previous && previous->status == 201) {
      held_ = false;
      const auto at = previous->body.find("\"reservationId\":");
      if (at != std::string_view::npos) {
        const int64_t id = std::strtoll(previous->body.data() + at + 16, nullptr, 10);
        return BenchRequest{"pay", "POST", "/api/reservations/" + str(id) + "/payment",
                            "{\"userId\":" + str(user_) + "}", {}};
      }
    }
    held_ = true;
    std::uniform_int_distribution<int64_t> seat(d_.first_seat, d_.first_seat + d_.seats - 1);
    return hold_seat(user_, d_.schedule_id, seat(rng_));
  }

 private:
  const ScenarioData& d_;
  int64_t user_;
  std::mt19937_64 rng_;
  bool held_ = false;  // the last request was a hold
};

class Rush final : public ConnectionScript {
 public:
  Rush(const ScenarioData& d, int conn) : d_(d), user_(d.first_user + conn % d.users) {}
  std::optional<BenchRequest> next(const BenchAnswer*) override {
    if (sent_++ >= d_.attempts) return std::nullopt;
    return hold_pool(user_, d_, d_.party);
  }

 private:
  const ScenarioData& d_;
  int64_t user_;
  int sent_ = 0;
};

// Connection c takes users c, c + connections, c + 2 * connections, ...
class Coupon final : public ConnectionScript {
 public:
  Coupon(const ScenarioData& d, int conn) : d_(d), next_(conn) {}
  std::optional<BenchRequest> next(const BenchAnswer*) override {
    if (next_ >= d_.users) return std::nullopt;
    const int64_t user = d_.first_user + next_;
    next_ += d_.connections;
    return hold_pool(user, d_, 1);
  }

 private:
  const ScenarioData& d_;
  int64_t next_;
};

int64_t number_after(std::string_view body, std::string_view key) {
  const auto at = body.find(key);
  return at == std::string_view::npos ? 0 : std::strtoll(body.data() + at + key.size(), nullptr, 10);
}

std::string string_after(std::string_view body, std::string_view key) {
  const auto at = body.find(key);
  if (at == std::string_view::npos) return "";
  const auto start = at + key.size(), end = body.find('"', start);
  return end == std::string_view::npos ? "" : std::string(body.substr(start, end - start));
}

// Report 001's buyer: one journey through the waiting room, then done.
class Journey final : public ConnectionScript {
 public:
  Journey(const ScenarioData& d, int conn, uint64_t seed)
      : d_(d), user_(d.first_user + conn % d.users), rng_(seed * 1000003 + static_cast<uint64_t>(conn)) {}
  std::optional<BenchRequest> next(const BenchAnswer* a) override {
    const int status = a ? a->status : 0;
    switch (state_) {
      case 0:  // nothing sent yet
        state_ = 1;
        return BenchRequest{"queue token", "POST", "/api/queue/tokens",
                            "{\"userId\":" + str(user_) + ",\"concertId\":" + str(d_.concert_id) + "}", {}};
      case 1:  // the token, or its status
        if (status != 200 && status != 201) return std::nullopt;
        if (token_.empty()) token_ = string_after(a->body, "\"token\":\"");
        if (token_.empty()) return std::nullopt;
        if (a->body.find("\"status\":\"ACTIVE\"") == std::string_view::npos) {
          BenchRequest poll{"queue status", "GET", "/api/queue/tokens/" + token_, "", {}};
          if (polled_++ > 0) poll.wait = std::chrono::milliseconds(200);  // as a browser polls
          return poll;
        }
        state_ = 2;
        return BenchRequest{"schedules", "GET", "/api/concerts/" + str(d_.concert_id) + "/schedules", "", gate()};
      case 2:  // the schedules: read the available seats
        if (status != 200) return std::nullopt;
        state_ = 3;
        return seat_list();
      case 3: {  // the available seats: hold one
        if (status != 200) return std::nullopt;
        seats_.clear();
        for (size_t at = a->body.find("\"id\":"); at != std::string_view::npos; at = a->body.find("\"id\":", at + 5))
          seats_.push_back(std::strtoll(a->body.data() + at + 5, nullptr, 10));
        return hold();
      }
      case 4:  // the hold: pay, or another seat
        if (status == 409 && !seats_.empty()) return hold();
        if (status == 409) {
          state_ = 3;
          return seat_list();
        }
        if (status != 201) return std::nullopt;
        state_ = 5;
        return BenchRequest{"pay", "POST", "/api/reservations/" + str(number_after(a->body, "\"reservationId\":")) +
                                               "/payment",
                            "{\"userId\":" + str(user_) + "}", gate()};
      default:
        return std::nullopt;  // paid (or not): this buyer is done
    }
  }

 private:
  std::vector<std::pair<std::string, std::string>> gate() const { return {{"Queue-Token", token_}}; }
  BenchRequest seat_list() {
    return {"seat map", "GET", "/api/schedules/" + str(d_.schedule_id) + "/seats?status=available", "", gate()};
  }
  std::optional<BenchRequest> hold() {
    if (seats_.empty()) return std::nullopt;  // sold out
    state_ = 4;
    std::uniform_int_distribution<size_t> pick(0, seats_.size() - 1);
    const size_t i = pick(rng_);
    const int64_t seat = seats_[i];
    seats_[i] = seats_.back();
    seats_.pop_back();
    BenchRequest r = hold_seat(user_, d_.schedule_id, seat);
    r.headers = gate();
    return r;
  }

  const ScenarioData& d_;
  int64_t user_;
  std::mt19937_64 rng_;
  int state_ = 0, polled_ = 0;
  std::string token_;
  std::vector<int64_t> seats_;
};

// Each hold and each payment sent three times with one Idempotency-Key: the
// first is the step "hold" or "pay", its copies "hold (again)", "pay (again)";
// the first answer decides what comes next.
class Duplicates final : public ConnectionScript {
 public:
  Duplicates(const ScenarioData& d, int conn) : d_(d), conn_(conn), user_(d.first_user + conn % d.users) {}
  std::optional<BenchRequest> next(const BenchAnswer* a) override {
    if (a && sent_ == 1) {
      first_ok_ = a->status / 100 == 2;
      reservation_ = number_after(a->body, "\"reservationId\":");
    }
    if (sent_ > 0 && sent_ < 3) {
      ++sent_;
      BenchRequest r = current_;
      r.step += " (again)";
      return r;
    }
    sent_ = 1;
    if (current_.step == "hold" && first_ok_) {
      current_ = BenchRequest{"pay", "POST", "/api/reservations/" + str(reservation_) + "/payment",
                              "{\"userId\":" + str(user_) + "}",
                              {{"Idempotency-Key", "bench-" + str(d_.concert_id) + "-pay-" + str(reservation_)}}};
      return current_;
    }
    // A new hold: the next seat of this connection's share.
    const int64_t i = conn_ + n_++ * d_.connections;
    if (i >= d_.seats) return std::nullopt;
    current_ = hold_seat(user_, d_.schedule_id, d_.first_seat + i);
    current_.headers = {{"Idempotency-Key", "bench-" + str(d_.concert_id) + "-hold-" + str(i)}};
    return current_;
  }

 private:
  const ScenarioData& d_;
  int conn_;
  int64_t user_, n_ = 0, reservation_ = 0;
  int sent_ = 0;  // copies of current_ sent
  bool first_ok_ = false;
  BenchRequest current_;
};

// INSERT ... RETURNING id of many rows: their first id, checked contiguous.
int64_t first_of_range(pqxx::work& tx, const std::string& insert_returning_id, int64_t rows) {
  auto r = tx.exec1("WITH ins AS (" + insert_returning_id + ") SELECT min(id), max(id), count(*) FROM ins");
  const int64_t first = r[0].as<int64_t>(), last = r[1].as<int64_t>(), n = r[2].as<int64_t>();
  if (n != rows || last - first + 1 != rows) throw std::runtime_error("ids not contiguous");
  return first;
}

// --reuse: what the schedule has, checked to be usable as the scripts use it.
Result<ScenarioData> reuse(pqxx::work& tx, ScenarioData d, const ScenarioSizes& z, bool pool) {
  const std::string s = str(z.reuse_schedule);
  auto sched = tx.exec_params("SELECT concert_id FROM schedules WHERE id = $1", z.reuse_schedule);
  if (sched.empty()) return Status::Invalid("--reuse: schedule " + s + " does not exist");
  d.schedule_id = z.reuse_schedule;
  d.concert_id = sched[0][0].as<int64_t>();
  auto seats = tx.exec_params1("SELECT coalesce(min(id), 0), coalesce(max(id), 0), count(*) FROM seats WHERE schedule_id = $1",
                               z.reuse_schedule);
  d.first_seat = seats[0].as<int64_t>();
  d.seats = seats[2].as<int64_t>();
  if (d.seats > 0 && seats[1].as<int64_t>() - d.first_seat + 1 != d.seats)
    return Status::Invalid("--reuse: the seats of schedule " + s + " are not one range of ids");
  if (d.seats == 0 && (d.scenario == "browse" || d.scenario == "seats" || d.scenario == "journey" ||
                       d.scenario == "duplicates" || d.scenario == "slow-consumer" || d.scenario == "mixed"))
    return Status::Invalid("--reuse: schedule " + s + " has no seats for the " + d.scenario + " scenario");
  if (pool) {
    auto p = tx.exec_params("SELECT id, capacity FROM pools WHERE schedule_id = $1 ORDER BY id LIMIT 1", z.reuse_schedule);
    if (p.empty()) return Status::Invalid("--reuse: schedule " + s + " has no pool for the " + d.scenario + " scenario");
    d.pool_id = p[0][0].as<int64_t>();
    d.capacity = p[0][1].as<int64_t>();
  }
  d.first_user = z.first_user ? z.first_user : tx.exec1("SELECT coalesce(min(id), 0) FROM users")[0].as<int64_t>();
  const auto found = tx.exec_params1("SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2", d.first_user,
                                     d.first_user + d.users - 1)[0]
                         .as<int64_t>();
  if (found != d.users)
    return Status::Invalid("--reuse: users " + str(d.first_user) + " to " + str(d.first_user + d.users - 1) +
                           " are not all there (" + str(found) + " are); give --first-user and --users");
  return d;
}

}  // namespace

const std::vector<std::string>& bench_scenarios() {
  static const std::vector<std::string> s{"browse",  "seats",      "rush",          "coupon",
                                          "journey", "duplicates", "slow-consumer", "mixed"};
  return s;
}

Result<std::vector<std::pair<std::string, double>>> parse_mix(const std::string& text) {
  std::vector<std::pair<std::string, double>> mix;
  size_t at = 0;
  while (at <= text.size()) {
    size_t comma = text.find(',', at);
    if (comma == std::string::npos) comma = text.size();
    const std::string part = text.substr(at, comma - at);
    at = comma + 1;
    const auto colon = part.find(':');
    const std::string name = part.substr(0, colon);
    char* end = nullptr;
    const double w = colon == std::string::npos ? -1 : std::strtod(part.c_str() + colon + 1, &end);
    if ((name != "browse" && name != "seats" && name != "rush") || w <= 0 || *end != '\0')
      return Status::Invalid("--mix part '" + part + "' is not SCENARIO:WEIGHT with SCENARIO browse, seats or rush " +
                             "and a positive weight (e.g. browse:70,seats:20,rush:10)");
    mix.emplace_back(name, w);
  }
  return mix;
}

Result<ScenarioData> seed_scenario(const std::string& url, const std::string& scenario, ScenarioSizes z) {
  ScenarioData d;
  d.scenario = scenario;
  d.connections = z.connections;
  d.admit_per_s = z.admit_per_s;
  d.max_active = z.max_active;
  const bool pool = scenario == "rush" || scenario == "coupon" || scenario == "mixed";
  if (scenario == "rush") {
    d.capacity = z.capacity;
    d.party = z.party;
    d.attempts = z.attempts;
    d.users = z.users ? z.users : z.connections;
  } else if (scenario == "coupon") {
    d.capacity = z.capacity;
    d.users = z.users ? z.users : z.capacity * 3 / 2;
  } else if (scenario == "mixed") {
    auto mix = parse_mix(z.mix);
    if (!mix.ok()) return mix.status();
    d.mix = mix.value();
    d.seats = z.seats;
    d.capacity = z.capacity;
    d.party = z.party;
    d.attempts = z.attempts;
    d.users = z.users ? z.users : z.connections;
  } else if (scenario == "browse" || scenario == "seats" || scenario == "journey" || scenario == "duplicates" ||
             scenario == "slow-consumer") {
    d.seats = z.seats;
    d.users = z.users ? z.users : z.connections;
  } else {
    return Status::Invalid("unknown scenario '" + scenario + "'");
  }
  if (d.seats < 0 || d.seats > 10'000'000 || d.users < 1 || d.users > 10'000'000 ||
      (pool && (d.capacity < 1 || d.capacity > 10'000'000 || d.party < 1 || d.party > d.capacity)))
    return Status::Invalid("sizes out of range: seats 1 to 10,000,000, users 1 to 10,000,000, capacity 1 to "
                           "10,000,000, party 1 to the capacity");
  try {
    pqxx::connection conn(with_application_name(with_connect_timeout(url, 5), "resv bench"));
    pqxx::work tx(conn);
    d.reservations_before = tx.exec1("SELECT coalesce(max(id), 0) FROM reservations")[0].as<int64_t>();
    if (z.reuse_schedule) return reuse(tx, d, z, pool);
    const std::string name = "resv bench " + scenario;
    d.concert_id = tx.exec_params1("INSERT INTO concerts (name, venue) VALUES ($1, 'resv bench') RETURNING id", name)[0]
                       .as<int64_t>();
    d.schedule_id = tx.exec_params1("INSERT INTO schedules (concert_id, starts_at, max_seats_per_user, hold_seconds)"
                                    " VALUES ($1, now() + interval '30 days', 1000000, 600) RETURNING id",
                                    d.concert_id)[0]
                        .as<int64_t>();
    if (d.seats > 0)
      d.first_seat = first_of_range(tx,
                                    "INSERT INTO seats (schedule_id, label, grade, price) SELECT " +
                                        str(d.schedule_id) + ", 'B' || g, 'S', 1000 FROM generate_series(1, " +
                                        str(d.seats) + ") g RETURNING id",
                                    d.seats);
    if (pool)
      d.pool_id = tx.exec_params1("INSERT INTO pools (schedule_id, name, kind, capacity, price, max_party, max_per_user)"
                                  " VALUES ($1, $2, $3, $4, 1000, $5, $5) RETURNING id",
                                  d.schedule_id, name, scenario == "coupon" ? "COUPON" : "RESTAURANT_SLOT", d.capacity,
                                  d.party)[0]
                      .as<int64_t>();
    if (scenario == "journey")
      tx.exec_params("INSERT INTO queue_concerts (concert_id, enabled, rate_per_s, max_active)"
                     " VALUES ($1, true, nullif($2, 0::float8), nullif($3, 0))",
                     d.concert_id, z.admit_per_s, z.max_active);
    d.first_user = first_of_range(tx,
                                  "INSERT INTO users (name, balance) SELECT 'bench' || g, 1000000000 FROM "
                                  "generate_series(1, " + str(d.users) + ") g RETURNING id",
                                  d.users);
    tx.commit();
    return d;
  } catch (const pqxx::broken_connection& e) {
    return Status::DbUnavailable(e.what());
  } catch (const pqxx::sql_error& e) {
    return status_from_sql_error(e.sqlstate(), e.what(), true);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("seeding the scenario failed: ") + e.what());
  }
}

ScriptFactory scenario_scripts(const ScenarioData& data, uint64_t seed) {
  return [&data, seed](int conn) -> std::unique_ptr<ConnectionScript> {
    std::string scenario = data.scenario;
    if (scenario == "mixed") {
      // Connection c takes the part its place (c + 1/2) / connections falls in.
      double total = 0, seen = 0;
      for (const auto& [name, w] : data.mix) total += w;
      const double place = (conn + 0.5) / data.connections * total;
      for (const auto& [name, w] : data.mix) {
        scenario = name;
        if (place < (seen += w)) break;
      }
    }
    if (scenario == "browse") return std::make_unique<Browse>(data);
    if (scenario == "seats" || scenario == "slow-consumer") return std::make_unique<Seats>(data, conn, seed);
    if (scenario == "rush") return std::make_unique<Rush>(data, conn);
    if (scenario == "journey") return std::make_unique<Journey>(data, conn, seed);
    if (scenario == "duplicates") return std::make_unique<Duplicates>(data, conn);
    return std::make_unique<Coupon>(data, conn);
  };
}

Result<std::vector<AuditCheck>> audit_scenario(const std::string& url, const ScenarioData& d, int64_t holds_ok,
                                               int64_t payments_ok, bool exact) {
  // Each: rows checked, rows that break it, the first of them (as text).
  struct Query {
    const char* name;
    std::string sql;  // $1: the schedule
  };
  const std::string live = "r.status IN ('HELD', 'CONFIRMED')";
  const std::vector<Query> queries{
      {"seats: a live reservation holds exactly its seats, no seat held by another",
       "SELECT count(*), count(*) FILTER (WHERE bad), min(id::text) FILTER (WHERE bad) FROM ("
       " SELECT r.id, (" + live + ") <> (n > 0) OR (" + live + " AND n <> r.quantity) AS bad FROM reservations r"
       " CROSS JOIN LATERAL (SELECT count(*) AS n FROM seats s WHERE s.reservation_id = r.id) c"
       " WHERE r.schedule_id = $1 AND r.pool_id IS NULL) x"},
      {"pools: units held = units of live reservations, never over capacity",
       "SELECT count(*), count(*) FILTER (WHERE bad), min(id::text) FILTER (WHERE bad) FROM ("
       " SELECT p.id, taken > p.capacity OR taken <> coalesce(live_units, 0) AS bad FROM pools p"
       " CROSS JOIN LATERAL (SELECT count(*) AS taken FROM pool_units u WHERE u.pool_id = p.id"
       "                      AND u.reservation_id IS NOT NULL) t"
       " CROSS JOIN LATERAL (SELECT sum(quantity) AS live_units FROM reservations r WHERE r.pool_id = p.id AND " +
           live + ") l"
       " WHERE p.schedule_id = $1) x"},
      {"payments: a confirmed reservation has one payment of its amount, no other has one",
       "SELECT count(*), count(*) FILTER (WHERE bad), min(id::text) FILTER (WHERE bad) FROM ("
       " SELECT r.id, (r.status = 'CONFIRMED') <> (n = 1 AND paid = r.amount) OR n > 1 AS bad FROM reservations r"
       " CROSS JOIN LATERAL (SELECT count(*) AS n, sum(amount) AS paid FROM payments p WHERE p.reservation_id = r.id"
       "                      AND p.status = 'PAID') c"
       " WHERE r.schedule_id = $1) x"},
  };
  try {
    pqxx::connection conn(with_application_name(with_connect_timeout(url, 5), "resv bench"));
    pqxx::read_transaction tx(conn);
    std::vector<AuditCheck> out;
    for (const auto& q : queries) {
      auto r = tx.exec_params1(q.sql, d.schedule_id);
      out.push_back({q.name, r[0].as<int64_t>(), r[1].as<int64_t>(),
                     r[2].is_null() ? "" : "reservation " + r[2].as<std::string>()});
      if (std::string(q.name).rfind("pools", 0) == 0 && !out.back().example.empty())
        out.back().example = "pool " + r[2].as<std::string>();
    }
    // What the generator was told against what the database has.
    auto r = tx.exec_params1(
        "SELECT count(*), count(*) FILTER (WHERE status = 'CONFIRMED') FROM reservations"
        " WHERE schedule_id = $1 AND id > $2",
        d.schedule_id, d.reservations_before);
    const int64_t made = r[0].as<int64_t>(), confirmed = r[1].as<int64_t>();
    auto told = [&](const char* name, int64_t ok, int64_t db) {
      const bool bad = exact ? ok != db : ok > db;
      out.push_back({name, ok, bad ? std::abs(db - ok) : 0,
                     bad ? std::to_string(ok) + " answered, " + std::to_string(db) + " in the database" : ""});
    };
    told(exact ? "holds answered 201 = reservations made" : "holds answered 201 <= reservations made", holds_ok, made);
    told(exact ? "payments answered 200 = reservations confirmed" : "payments answered 200 <= reservations confirmed",
         payments_ok, confirmed);
    return out;
  } catch (const pqxx::broken_connection& e) {
    return Status::DbUnavailable(e.what());
  } catch (const pqxx::sql_error& e) {
    return status_from_sql_error(e.sqlstate(), e.what(), true);
  }
}

}  // namespace resv
