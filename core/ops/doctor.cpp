#include "ops/doctor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <pqxx/pqxx>
#include <stdexcept>

#include "db/pg_text.h"

namespace resv {
namespace {

using nlohmann::json;

std::string n(int64_t v) { return std::to_string(v); }

// "12 s", "4 min", "2.5 h".
std::string age(double s) {
  if (s < 120) return std::to_string(static_cast<int64_t>(std::lround(s))) + " s";
  if (s < 7200) return std::to_string(static_cast<int64_t>(std::lround(s / 60))) + " min";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  return buf;
}

std::string join(const std::vector<std::string>& parts, const char* sep = "; ") {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

double num(const json& j, const char* pointer, double fallback = 0) {
  const json::json_pointer p(pointer);
  return j.is_object() && j.contains(p) && j.at(p).is_number() ? j.at(p).get<double>() : fallback;
}

// The servers whose /admin/status was read.
std::vector<const ServerSample*> with_status(const std::vector<ServerSample>& servers) {
  std::vector<const ServerSample*> out;
  for (const auto& s : servers)
    if (s.running && s.status.is_object()) out.push_back(&s);
  return out;
}

}  // namespace

std::string_view check_state_name(CheckState s) {
  switch (s) {
    case CheckState::Ok: return "ok";
    case CheckState::Warn: return "warn";
    case CheckState::Fail: return "fail";
    case CheckState::Unreachable: return "unreachable";
  }
  return "?";
}

const std::vector<CheckInfo>& doctor_checks() {
  static const std::vector<CheckInfo> checks{
      {"db_reachable", "database", "the database answers and its schema is this binary's", "database-unreachable"},
      {"db_connections", "database", "connections in use against max_connections", "pool-saturated"},
      {"db_blocking", "database", "sessions blocking others, idle in transaction, long statements", "lock-blocking"},
      {"servers_up", "servers", "every resv-server instance runs and is ready", "server-down"},
      {"server_pool", "servers", "each server's write pool: in use, waiting requests", "pool-saturated"},
      {"server_errors", "servers", "each server's 503 and 5xx answers and p95 over the last minute", "pool-saturated"},
      {"server_clock", "servers", "each server's clock against the database's", ""},
      {"queue_paused", "queue", "waiting rooms paused (by whom, since when) with people waiting", "queue-paused"},
      {"queue_stuck", "queue", "waiting rooms where nobody is admitted though people wait", "queue-stuck"},
      {"queue_abandoned", "queue", "abandoned places that no admission leader ends", "queue-stuck"},
      {"holds_expired", "holds", "holds past their expiry not released", "stale-holds"},
      {"sweeper_alive", "holds", "a server's sweeper releases expired holds", "stale-holds"},
      {"events_backlog", "events", "unpublished events, their age, the relay leader", "events-backlog"},
      {"events_broker", "events", "the Kafka broker answers", "events-backlog"},
      {"events_lag", "events", "the known consumer groups' lag verdicts", "events-backlog"},
      {"warm_openings", "warmup", "concerts opening within the hour are warm on every server", "opening-checklist"},
      {"audit_quick", "data", "resv audit of the last hour's rows, within the deadline", "overbooking"},
      {"state_disk", "host", "free space where the state directory is", ""},
      {"embedded_cluster", "host", "the embedded PostgreSQL runs (when it is the database)", "database-unreachable"},
  };
  return checks;
}

const CheckInfo* find_check(std::string_view name) {
  for (const auto& c : doctor_checks())
    if (name == c.name) return &c;
  return nullptr;
}

std::vector<std::string> doctor_layers() {
  std::vector<std::string> out;
  for (const auto& c : doctor_checks())
    if (std::find(out.begin(), out.end(), c.layer) == out.end()) out.push_back(c.layer);
  return out;
}

CheckResult check_result(const char* name, CheckState state, std::string finding, std::string next) {
  const CheckInfo* info = find_check(name);
  if (!info) throw std::logic_error(std::string("no doctor check ") + name);
  CheckResult r;
  r.name = name;
  r.layer = info->layer;
  r.state = state;
  r.finding = std::move(finding);
  r.next = std::move(next);
  return r;
}

int doctor_exit_code(const std::vector<CheckResult>& results) {
  auto any = [&](CheckState s) {
    return std::any_of(results.begin(), results.end(), [s](const CheckResult& r) { return r.state == s; });
  };
  if (any(CheckState::Unreachable)) return 3;
  if (any(CheckState::Fail)) return 4;
  return 0;
}

// ---- facts --------------------------------------------------------------------------

Result<DbFacts> read_doctor_facts(const std::string& url) {
  const auto& st = bundled_statements("ops/doctor.sql");
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(with_application_name(url, "resv doctor"));
  } catch (const std::exception& e) {
    return Status::DbUnavailable(e.what());
  }
  try {
    DbFacts f;
    pqxx::read_transaction tx(*conn);
    const double before = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto row = tx.exec1(st.at(0));
    const double after = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    f.version = row["version"].as<std::string>();
    f.connections = row["connections"].as<int64_t>();
    f.max_connections = row["max_connections"].as<int64_t>();
    f.reserved = row["reserved"].as<int64_t>();
    f.clock_offset_s = row["clock"].as<double>() - (before + after) / 2;
    auto schema = migration_state(tx);
    if (schema.ok())
      f.schema = schema.value();
    else
      f.schema_problem = schema.status().message();
    if (schema.ok() && schema->applied > 0)
      for (const auto& r : tx.exec(st.at(1))) f.abandoned_by_concert[r[0].as<int64_t>()] = r[1].as<int64_t>();
    return f;
  } catch (const pqxx::broken_connection& e) {
    return Status::DbUnavailable(e.what());
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "57014") return Status::Overloaded(std::string("no answer within the deadline: ") + e.what());
    throw;
  }
}

// ---- judges ---------------------------------------------------------------------------

CheckResult judge_db_reachable(const Result<DbFacts>& db) {
  if (!db.ok()) {
    const std::string& why = db.status().message();
    return check_result("db_reachable", CheckState::Unreachable,
                        "the database does not answer: " + why.substr(0, why.find('\n')), "resv db status");
  }
  const DbFacts& f = db.value();
  if (!f.schema_problem.empty())
    return check_result("db_reachable", CheckState::Fail, "PostgreSQL " + f.version + " answers, but " + f.schema_problem,
                        "resv db status");
  if (!f.schema.current())
    return check_result("db_reachable", CheckState::Fail,
                        "PostgreSQL " + f.version + " answers; " + schema_lag(f.schema), "resv db migrate");
  auto r = check_result("db_reachable", CheckState::Ok,
                        "PostgreSQL " + f.version.substr(0, f.version.find(' ')) + " answers; schema at migration " +
                            n(f.schema.applied) + " (current)");
  r.details = {{"version", f.version}, {"schemaVersion", f.schema.applied}, {"latestVersion", f.schema.latest}};
  return r;
}

CheckResult judge_db_connections(const DbFacts& db) {
  const int64_t usable = std::max<int64_t>(1, db.max_connections - db.reserved);
  const int64_t pct = db.connections * 100 / usable;
  std::string finding = n(db.connections) + " of " + n(usable) + " connections in use (" + n(pct) +
                        " %; max_connections " + n(db.max_connections) + ", " + n(db.reserved) + " reserved)";
  CheckState state = pct >= 95 ? CheckState::Fail : pct >= 80 ? CheckState::Warn : CheckState::Ok;
  auto r = check_result("db_connections", state, finding,
                        state == CheckState::Ok ? "" : "resv locks  # who holds them; 'resv server status' the pools");
  r.details = {{"connections", db.connections}, {"maxConnections", db.max_connections}, {"reserved", db.reserved}};
  return r;
}

CheckResult judge_db_blocking(const LockSnapshot& snapshot) {
  LockReportOptions o;
  o.long_query_s = 10;
  o.idle_in_transaction_s = 10;
  const LockReport rep = build_lock_report(snapshot, o);
  json details = {{"blockers", json::array()}, {"idleInTransaction", json::array()}, {"longRunning", json::array()}};
  std::vector<std::string> found;
  int first_pid = 0;
  bool fail = false;
  for (const auto& t : rep.trees) {
    const LockSession* s = t.root.session;
    std::string who = t.root.pid == 0 ? "prepared transaction " + t.root.prepared_gid : "session " + n(t.root.pid);
    if (s) who += " (" + (s->application.empty() ? s->user : s->application) + ", " + s->state + ")";
    std::string on = t.holds.empty() ? "" : " on " + t.holds.front().text;
    found.push_back(who + " blocks " + n(t.waiters) + " session(s) (" + n(t.server_waiters) + " of resv-server) for " +
                    age(t.longest_wait_s) + on);
    details["blockers"].push_back({{"pid", t.root.pid}, {"state", s ? s->state : std::string()},
                                   {"waiters", t.waiters}, {"serverWaiters", t.server_waiters},
                                   {"longestWaitSeconds", t.longest_wait_s}});
    if (!first_pid) first_pid = t.root.pid;
    // A wait of a second already costs buyers what the field reports saw.
    fail = fail || t.longest_wait_s >= 1 || t.server_waiters > 0;
  }
  for (const auto* s : rep.idle_in_transaction) {
    found.push_back("session " + n(s->pid) + " (" + (s->application.empty() ? s->user : s->application) +
                    ") idle in transaction for " + age(s->state_age_s.value_or(0)));
    details["idleInTransaction"].push_back({{"pid", s->pid}, {"seconds", s->state_age_s.value_or(0)}});
    if (!first_pid) first_pid = s->pid;
  }
  for (const auto* s : rep.long_running) {
    found.push_back("session " + n(s->pid) + " runs one statement for " + age(s->query_age_s.value_or(0)));
    details["longRunning"].push_back({{"pid", s->pid}, {"seconds", s->query_age_s.value_or(0)}});
  }
  if (found.empty()) return check_result("db_blocking", CheckState::Ok, "no session blocks another");
  const CheckState state = fail ? CheckState::Fail : CheckState::Warn;
  auto r = check_result("db_blocking", state, join(found),
                        first_pid > 0 ? "resv locks  # then: resv locks cancel " + n(first_pid) +
                                            " (or terminate " + n(first_pid) + ")"
                                      : "resv locks");
  r.details = details;
  return r;
}

CheckResult judge_servers_up(const std::vector<ServerSample>& servers) {
  if (servers.empty())
    return check_result("servers_up", CheckState::Fail, "no resv-server instance is recorded or configured",
                        "resv server start");
  std::vector<std::string> down;
  bool dead = false, db_down = false;
  for (const auto& s : servers) {
    if (s.ready) continue;
    dead = dead || !s.running;
    for (const auto& why : s.reasons) db_down = db_down || why == "database unreachable";
    down.push_back(s.name + ": " + (s.running ? "not ready (" + join(s.reasons, ", ") + ")" : join(s.reasons, ", ")));
  }
  if (down.empty())
    return check_result("servers_up", CheckState::Ok, n(static_cast<int64_t>(servers.size())) + " instance(s) ready");
  // A restart cannot bring the database back: the way out is there.
  std::string next = db_down ? "resv db status" : dead ? "resv server restart  # then: resv server logs" : "resv server logs";
  return check_result("servers_up", CheckState::Fail,
                      n(static_cast<int64_t>(down.size())) + " of " + n(static_cast<int64_t>(servers.size())) +
                          " instance(s) down: " + join(down),
                      next);
}

CheckResult judge_server_pool(const std::vector<ServerSample>& servers) {
  auto asked = with_status(servers);
  if (asked.empty()) return check_result("server_pool", CheckState::Warn, "no server's status could be read", "resv server status");
  std::vector<std::string> parts;
  CheckState state = CheckState::Ok;
  json details = json::array();
  for (const auto* s : asked) {
    const auto size = static_cast<int64_t>(num(s->status, "/dbPool/size"));
    const auto in_use = static_cast<int64_t>(num(s->status, "/dbPool/inUse"));
    const auto waiting = static_cast<int64_t>(num(s->status, "/dbPool/waiting"));
    const double oldest_ms = num(s->status, "/dbPool/oldestWaitMs");
    details.push_back({{"server", s->name}, {"size", size}, {"inUse", in_use}, {"waiting", waiting},
                       {"oldestWaitMs", oldest_ms}});
    std::string part = s->name + ": " + n(in_use) + "/" + n(size) + " in use, " + n(waiting) + " waiting";
    if (waiting > 0) part += " (oldest " + n(static_cast<int64_t>(oldest_ms)) + " ms)";
    parts.push_back(part);
    // Requests queued behind a full pool for a second are the field
    // reports' seconds-long p95 beginning.
    if (waiting > 0 && oldest_ms >= 1000) state = CheckState::Fail;
    else if ((waiting > 0 || (size > 0 && in_use >= size)) && state == CheckState::Ok) state = CheckState::Warn;
  }
  auto r = check_result("server_pool", state, join(parts),
                        state == CheckState::Ok ? "" : "resv locks  # slow statements and their blockers");
  r.details = details;
  return r;
}

CheckResult judge_server_errors(const std::vector<ServerSample>& servers) {
  auto asked = with_status(servers);
  if (asked.empty()) return check_result("server_errors", CheckState::Warn, "no server's status could be read", "resv server status");
  std::vector<std::string> parts;
  CheckState state = CheckState::Ok;
  std::string next;
  json details = json::array();
  for (const auto* s : asked) {
    const json& m = s->status.value("lastMinute", json::object());
    const auto requests = static_cast<int64_t>(num(m, "/requests"));
    const auto s503 = static_cast<int64_t>(num(m, "/status503"));
    const auto s5xx = static_cast<int64_t>(num(m, "/status5xx"));
    const bool has_p95 = m.is_object() && m.contains("p95Ms") && m["p95Ms"].is_number();
    const double p95 = has_p95 ? m["p95Ms"].get<double>() : 0;
    details.push_back({{"server", s->name}, {"requests", requests}, {"status503", s503}, {"status5xx", s5xx},
                       {"p95Ms", has_p95 ? json(p95) : json(nullptr)}});
    std::string part = s->name + ": " + n(requests) + " req, " + n(s503) + " 503, " + n(s5xx - s503) + " other 5xx";
    if (has_p95) part += ", p95 <= " + n(static_cast<int64_t>(p95)) + " ms";
    parts.push_back(part);
    // 5xx other than 503 is a defect or a lost dependency; 503 is load
    // shed on purpose, a problem when it is a large share.
    if (s5xx > s503) {
      state = CheckState::Fail;
      next = "resv server logs  # the failed requests: msg=\"request failed\"";
    } else if (requests > 0 && s503 * 10 >= requests) {
      state = CheckState::Fail;
      if (next.empty()) next = "resv server status  # then: resv locks";
    } else if ((s503 > 0 || p95 > 1000) && state == CheckState::Ok) {
      state = CheckState::Warn;
      if (next.empty()) next = "resv server status  # then: resv locks";
    }
  }
  auto r = check_result("server_errors", state, "last minute: " + join(parts), next);
  r.details = details;
  return r;
}

CheckResult judge_server_clock(const std::vector<ServerSample>& servers, double db_offset_s) {
  std::vector<std::string> parts;
  CheckState state = CheckState::Ok;
  double worst = 0;
  for (const auto& s : servers) {
    if (!s.clock_offset_s) continue;
    const double skew = *s.clock_offset_s - db_offset_s;
    worst = std::max(worst, std::abs(skew));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%+.2f s", skew);
    parts.push_back(s.name + " " + buf);
    // Queue tokens and holds expire by the clocks: servers a few seconds
    // apart disagree on who may still pay.
    if (std::abs(skew) > 5) state = CheckState::Fail;
    else if (std::abs(skew) > 1 && state == CheckState::Ok) state = CheckState::Warn;
  }
  if (parts.empty()) return check_result("server_clock", CheckState::Warn, "no server's clock could be read", "resv server status");
  auto r = check_result("server_clock", state, "against the database: " + join(parts, ", "),
                        state == CheckState::Ok ? "" : "timedatectl status  # on the server's host: is NTP synchronized?");
  r.details = {{"worstSkewSeconds", worst}};
  return r;
}

CheckResult judge_sweeper(const std::vector<ServerSample>& servers) {
  std::vector<std::string> stale;
  for (const auto* s : with_status(servers)) {
    const json& sw = s->status.value("sweeper", json::object());
    if (!sw.is_object() || !sw.contains("lastPassAgeSeconds") || !sw["lastPassAgeSeconds"].is_number()) {
      stale.push_back(s->name + ": no pass yet");
      continue;
    }
    const double ago = sw["lastPassAgeSeconds"].get<double>();
    const double interval_s = num(sw, "/intervalMs", 1000) / 1000;
    if (ago <= std::max(10.0, 3 * interval_s))
      return check_result("sweeper_alive", CheckState::Ok, s->name + "'s sweeper passed " + age(ago) + " ago");
    stale.push_back(s->name + ": last pass " + age(ago) + " ago");
  }
  if (stale.empty())
    return check_result("sweeper_alive", CheckState::Fail,
                        "no running server: nobody releases expired holds", "resv server start");
  return check_result("sweeper_alive", CheckState::Fail, "no sweeper passes: " + join(stale),
                      "resv server logs  # why its passes fail; 'resv db status' for the database");
}

CheckResult judge_queue_paused(const QueueSnapshot& q, const std::map<int64_t, QueueAuditEntry>& paused_by) {
  std::vector<std::string> parts;
  CheckState state = CheckState::Ok;
  int64_t first = 0;
  for (const auto& c : q.concerts) {
    if (!c.settings.enabled || !c.settings.paused) continue;
    std::string part = "concert " + n(c.concert_id) + " paused";
    if (auto it = paused_by.find(c.concert_id); it != paused_by.end())
      part += " by " + it->second.actor + " at " + it->second.at;
    part += ", " + n(c.waiting) + " waiting";
    parts.push_back(part);
    if (!first) first = c.concert_id;
    // Nobody waiting: a pause costs nothing yet; people waiting are kept out.
    state = c.waiting > 0 ? CheckState::Fail : std::max(state, CheckState::Warn);
  }
  if (parts.empty()) return check_result("queue_paused", CheckState::Ok, "no waiting room is paused");
  auto r = check_result("queue_paused", state, join(parts),
                        "resv queue history --concert " + n(first) + "  # why; then: resv queue resume --concert " +
                            n(first));
  r.details = {{"concertId", first}};
  return r;
}

CheckResult judge_queue_stuck(const QueueSnapshot& q) {
  std::vector<std::string> parts;
  int64_t first = 0;
  for (const auto& c : q.concerts) {
    if (!c.stuck) continue;
    parts.push_back("concert " + n(c.concert_id) + ": " + n(c.waiting) + " waiting, nothing admitted " +
                    (c.seconds_since_last_admit ? "for " + age(*c.seconds_since_last_admit) : std::string("ever")));
    if (!first) first = c.concert_id;
  }
  if (parts.empty())
    return check_result("queue_stuck", CheckState::Ok,
                        n(static_cast<int64_t>(q.concerts.size())) + " waiting room(s), none stuck");
  auto r = check_result("queue_stuck", CheckState::Fail, join(parts),
                        "resv queue status --concert " + n(first) + "  # then: resv server status (the leader admits)");
  r.details = {{"concertId", first}};
  return r;
}

CheckResult judge_queue_abandoned(const DbFacts& db) {
  std::vector<std::string> parts;
  int64_t total = 0;
  for (const auto& [concert, count] : db.abandoned_by_concert) {
    parts.push_back("concert " + n(concert) + ": " + n(count));
    total += count;
  }
  if (parts.empty()) return check_result("queue_abandoned", CheckState::Ok, "no abandoned place left waiting");
  auto r = check_result("queue_abandoned", CheckState::Warn,
                        n(total) + " place(s) abandoned a minute past the queue's abandon time, not ended (" +
                            join(parts, ", ") + "): no admission leader ends them",
                        "resv server status  # a server leads admissions; a paused queue does not sweep");
  r.details = {{"abandoned", total}};
  return r;
}

CheckResult judge_holds(const AuditReport& holds_released) {
  int64_t stuck = 0, checked = 0;
  std::string first;
  for (const auto& i : holds_released.results) {
    stuck += i.violations;
    checked += i.checked;
    if (!i.examples.empty() && first.empty())
      first = "; first: reservation " + i.examples[0].value("reservationId", json()).dump() + ", expired " +
              i.examples[0].value("expiredSecondsAgo", json()).dump() + " s ago";
  }
  if (stuck == 0) return check_result("holds_expired", CheckState::Ok, n(checked) + " held reservation(s), none past its expiry");
  auto r = check_result("holds_expired", CheckState::Fail,
                        n(stuck) + " hold(s) past their expiry by more than the sweep's grace, still HELD" + first,
                        "resv audit --check holds_released -v  # then: resv server status (the sweeper runs there)");
  r.details = {{"expiredHolds", stuck}};
  return r;
}

CheckResult judge_events_backlog(const OutboxStatus& s) {
  std::string finding = n(s.unpublished) + " unpublished event(s)";
  if (s.unpublished > 0) finding += ", the oldest " + age(s.oldest_age_s);
  finding += "; " + n(s.published_last_minute) + " published in the last minute; relay leader: " +
             (s.leader.empty() ? "none" : s.leader);
  CheckState state = CheckState::Ok;
  if (s.unpublished > 0 && (s.leader.empty() || s.oldest_age_s >= 60)) state = CheckState::Fail;
  else if (s.unpublished > 0 && s.oldest_age_s >= 10) state = CheckState::Warn;
  auto r = check_result("events_backlog", state, finding, state == CheckState::Ok ? "" : "resv events status");
  r.details = {{"unpublished", s.unpublished}, {"oldestAgeSeconds", s.oldest_age_s}, {"leader", s.leader}};
  return r;
}

CheckResult judge_events_lag(const std::map<std::string, LagVerdict>& groups) {
  if (groups.empty()) return check_result("events_lag", CheckState::Ok, "no consumer group known");
  std::vector<std::string> parts;
  std::string worst_group;
  LagVerdict worst = LagVerdict::Ok;
  for (const auto& [g, v] : groups) {
    parts.push_back(g + " " + std::string(verdict_name(v)));
    if (v > worst || worst_group.empty()) {
      worst = std::max(worst, v);
      if (v == worst) worst_group = g;
    }
  }
  // Consumers are other teams' programs: their lag is told, never a failure of resv's.
  const CheckState state = worst == LagVerdict::Ok ? CheckState::Ok : CheckState::Warn;
  return check_result("events_lag", state, join(parts, ", "),
                      state == CheckState::Ok ? "" : "resv events lag --group " + worst_group);
}

CheckResult judge_warm(const std::vector<ConcertToWarm>& upcoming, const std::vector<WarmFinding>& findings,
                       size_t servers_asked) {
  if (upcoming.empty()) return check_result("warm_openings", CheckState::Ok, "no opening within the hour");
  std::string concerts;
  for (const auto& c : upcoming) concerts += (concerts.empty() ? "" : " -c ") + n(c.concert_id);
  if (findings.empty())
    return check_result("warm_openings", CheckState::Ok,
                        n(static_cast<int64_t>(upcoming.size())) + " concert(s) opening within the hour, warm on " +
                            n(static_cast<int64_t>(servers_asked)) + " server(s)");
  std::vector<std::string> parts;
  json details = json::array();
  for (const auto& f : findings) {
    parts.push_back(f.where + (f.concert ? " concert " + n(f.concert) : std::string()) + ": " + f.state + " (" + f.what + ")");
    details.push_back({{"where", f.where}, {"concertId", f.concert}, {"state", f.state}, {"problem", f.what}});
  }
  auto r = check_result("warm_openings", CheckState::Fail, join(parts), "resv warmup -c " + concerts);
  r.details = details;
  return r;
}

// "reservation 12, reservation 13, seat 5": the ids an audit example names
// (its keys ending in "Id", at any depth, keys in name order), each once.
static void example_ids(const json& e, std::vector<std::string>& out) {
  if (e.is_array())
    for (const auto& x : e) example_ids(x, out);
  if (!e.is_object()) return;
  for (const auto& [key, v] : e.items()) {
    if (v.is_number_integer() && key.size() > 2 && key.compare(key.size() - 2, 2, "Id") == 0) {
      std::string id = key.substr(0, key.size() - 2) + " " + v.dump();
      if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    } else if (v.is_structured()) {
      example_ids(v, out);
    }
  }
}

CheckResult judge_audit(const AuditReport& rep, const std::string& scope) {
  std::vector<std::string> broken;
  int64_t checked = 0;
  json details = json::array();
  for (const auto& i : rep.results) {
    checked += i.checked;
    if (i.violations == 0) continue;
    std::vector<std::string> ids;
    if (!i.examples.empty()) example_ids(i.examples[0], ids);
    broken.push_back(i.name + " (" + n(i.violations) + (ids.empty() ? "" : "; first: " + join(ids, ", ")) + ")");
    details.push_back({{"invariant", i.name}, {"violations", i.violations}, {"examples", i.examples}});
  }
  if (broken.empty())
    return check_result("audit_quick", CheckState::Ok,
                        "no violation in " + n(checked) + " row(s) (" + scope + "; all: resv audit)");
  auto r = check_result("audit_quick", CheckState::Fail, "violations (" + scope + "): " + join(broken, ", "),
                        "resv audit -v  # every affected row; nothing is changed for you");
  r.details = details;
  return r;
}

CheckResult judge_disk(const std::string& dir, uint64_t available_bytes, uint64_t total_bytes) {
  const uint64_t pct = total_bytes ? available_bytes * 100 / total_bytes : 0;
  const uint64_t mib = available_bytes >> 20;
  std::string finding = std::to_string(mib) + " MiB free (" + std::to_string(pct) + " %) where " + dir + " is";
  // PostgreSQL stops (PANIC) when its WAL cannot be written.
  CheckState state = (mib < 1024 || pct < 5) ? CheckState::Fail : pct < 15 ? CheckState::Warn : CheckState::Ok;
  auto r = check_result("state_disk", state, finding,
                        state == CheckState::Ok ? "" : "du -sh " + dir + "/*  # what grows: logs, the embedded cluster");
  r.details = {{"availableBytes", available_bytes}, {"totalBytes", total_bytes}};
  return r;
}

}  // namespace resv
