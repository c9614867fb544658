// The doctor's judges (core/ops/doctor.h): facts in, a state, a finding and
// the next command out, without a database or a server.
#include <gtest/gtest.h>

#include "base/iso_time.h"
#include "db/pg_text.h"
#include "ops/doctor.h"

namespace resv {
namespace {

using nlohmann::json;

ServerSample server(const std::string& name, json status, bool ready = true) {
  ServerSample s;
  s.name = name;
  s.running = true;
  s.ready = ready;
  s.status = std::move(status);
  return s;
}

TEST(DoctorExit, AnUnreachableDependencyWinsOverAFailureAndWarningsPass) {
  std::vector<CheckResult> r{check_result("db_reachable", CheckState::Ok, ""),
                             check_result("queue_paused", CheckState::Warn, "")};
  EXPECT_EQ(doctor_exit_code(r), 0);
  r.push_back(check_result("servers_up", CheckState::Fail, ""));
  EXPECT_EQ(doctor_exit_code(r), 4);
  r.push_back(check_result("events_broker", CheckState::Unreachable, ""));
  EXPECT_EQ(doctor_exit_code(r), 3);
}

TEST(DoctorCatalogue, EveryCheckHasALayerAndAnUnknownNameIsNoCheck) {
  for (const auto& c : doctor_checks()) {
    EXPECT_NE(std::string(c.layer), "") << c.name;
    EXPECT_EQ(find_check(c.name), &c);
  }
  EXPECT_EQ(find_check("disk"), nullptr);
  EXPECT_EQ(doctor_layers().front(), "database") << "causes (the database) come first";
  EXPECT_THROW(check_result("no_such_check", CheckState::Ok, ""), std::logic_error);
}

TEST(DoctorDatabase, ConnectionsWarnAtEightyPercentOfTheUsableAndFailAtNinetyFive) {
  DbFacts f;
  f.max_connections = 103;
  f.reserved = 3;
  f.connections = 79;
  EXPECT_EQ(judge_db_connections(f).state, CheckState::Ok);
  f.connections = 80;
  EXPECT_EQ(judge_db_connections(f).state, CheckState::Warn);
  f.connections = 95;
  auto r = judge_db_connections(f);
  EXPECT_EQ(r.state, CheckState::Fail);
  EXPECT_EQ(r.finding, "95 of 100 connections in use (95 %; max_connections 103, 3 reserved)");
}

TEST(DoctorDatabase, AnUnreachableDatabaseSaysSoOnOneLine) {
  auto r = judge_db_reachable(Status::DbUnavailable("connection refused\n\tIs the server running?"));
  EXPECT_EQ(r.state, CheckState::Unreachable);
  EXPECT_EQ(r.finding, "the database does not answer: connection refused");
  EXPECT_EQ(r.next, "resv db status");
}

TEST(DoctorServers, NoneRecordedADeadOneAndTheDatabaseDownEachPointWhereTheWayOutIs) {
  EXPECT_EQ(judge_servers_up({}).next, "resv server start");
  ServerSample dead;
  dead.name = "instance 2";
  dead.reasons = {"not running (its process is gone)"};
  auto r = judge_servers_up({server("instance 1", json::object()), dead});
  EXPECT_EQ(r.state, CheckState::Fail);
  EXPECT_EQ(r.finding, "1 of 2 instance(s) down: instance 2: not running (its process is gone)");
  EXPECT_EQ(r.next, "resv server restart  # then: resv server logs");
  ServerSample no_db = server("instance 1", json::object(), false);
  no_db.reasons = {"database unreachable"};
  EXPECT_EQ(judge_servers_up({no_db}).next, "resv db status") << "a restart cannot bring the database back";
}

TEST(DoctorServers, OtherFiveHundredsFailATenthOf503FailsAndASlowP95Warns) {
  auto minute = [](int req, int s503, int s5xx, json p95) {
    return json{{"lastMinute", {{"requests", req}, {"status503", s503}, {"status5xx", s5xx}, {"p95Ms", p95}}}};
  };
  EXPECT_EQ(judge_server_errors({server("a", minute(100, 0, 0, 5))}).state, CheckState::Ok);
  EXPECT_EQ(judge_server_errors({server("a", minute(100, 0, 0, nullptr))}).state, CheckState::Ok);
  auto defect = judge_server_errors({server("a", minute(100, 1, 2, 5))});
  EXPECT_EQ(defect.state, CheckState::Fail);
  EXPECT_EQ(defect.finding, "last minute: a: 100 req, 1 503, 1 other 5xx, p95 <= 5 ms");
  EXPECT_EQ(judge_server_errors({server("a", minute(100, 10, 10, 5))}).state, CheckState::Fail);
  EXPECT_EQ(judge_server_errors({server("a", minute(100, 9, 9, 5))}).state, CheckState::Warn);
  EXPECT_EQ(judge_server_errors({server("a", minute(100, 0, 0, 2500))}).state, CheckState::Warn);
}

TEST(DoctorServers, APoolWithRequestsWaitingASecondFails) {
  auto pool = [](int in_use, int waiting, int oldest_ms) {
    return json{{"dbPool", {{"size", 16}, {"inUse", in_use}, {"waiting", waiting}, {"oldestWaitMs", oldest_ms}}}};
  };
  EXPECT_EQ(judge_server_pool({server("a", pool(3, 0, 0))}).state, CheckState::Ok);
  EXPECT_EQ(judge_server_pool({server("a", pool(16, 0, 0))}).state, CheckState::Warn);
  EXPECT_EQ(judge_server_pool({server("a", pool(16, 4, 200))}).state, CheckState::Warn);
  auto r = judge_server_pool({server("a", pool(16, 40, 1500))});
  EXPECT_EQ(r.state, CheckState::Fail);
  EXPECT_EQ(r.finding, "a: 16/16 in use, 40 waiting (oldest 1500 ms)");
}

TEST(DoctorServers, ClockSkewIsMeasuredAgainstTheDatabaseNotThisHost) {
  ServerSample a = server("a", json::object());
  a.clock_offset_s = 10.2;  // this host is 10 s behind both
  EXPECT_EQ(judge_server_clock({a}, 10.0).state, CheckState::Ok);
  a.clock_offset_s = 12.0;
  EXPECT_EQ(judge_server_clock({a}, 10.0).state, CheckState::Warn);
  a.clock_offset_s = 3.0;
  auto r = judge_server_clock({a}, 10.0);
  EXPECT_EQ(r.state, CheckState::Fail);
  EXPECT_EQ(r.finding, "against the database: a -7.00 s");
}

TEST(DoctorHolds, ASweeperIsAliveWhenOneServerPassedRecently) {
  json fresh{{"sweeper", {{"intervalMs", 1000}, {"lastPassAgeSeconds", 2.0}}}};
  json stale{{"sweeper", {{"intervalMs", 1000}, {"lastPassAgeSeconds", 45.0}}}};
  EXPECT_EQ(judge_sweeper({server("a", stale), server("b", fresh)}).state, CheckState::Ok);
  auto r = judge_sweeper({server("a", stale)});
  EXPECT_EQ(r.state, CheckState::Fail);
  EXPECT_EQ(r.finding, "no sweeper passes: a: last pass 45 s ago");
}

TEST(DoctorQueue, APauseKeepingPeopleOutFailsNamingWhoAndWhenAnEmptyOneWarns) {
  QueueSnapshot q;
  QueueStatus c;
  c.concert_id = 7;
  c.settings.enabled = true;
  c.settings.paused = true;
  c.waiting = 12;
  q.concerts.push_back(c);
  QueueAuditEntry e;
  e.actor = "alice";
  e.at = "2026-12-03T00:10:00.000Z";
  auto r = judge_queue_paused(q, {{7, e}});
  EXPECT_EQ(r.state, CheckState::Fail);
  EXPECT_EQ(r.finding, "concert 7 paused by alice at 2026-12-03T00:10:00.000Z, 12 waiting");
  EXPECT_EQ(r.next, "resv queue history --concert 7  # why; then: resv queue resume --concert 7");
  q.concerts[0].waiting = 0;
  EXPECT_EQ(judge_queue_paused(q, {}).state, CheckState::Warn);
  q.concerts[0].settings.enabled = false;
  EXPECT_EQ(judge_queue_paused(q, {}).state, CheckState::Ok) << "a disabled queue's pause does not matter";
}

TEST(DoctorEvents, ABacklogWithoutARelayLeaderFailsAndAYoungOneIsOk) {
  OutboxStatus s;
  s.unpublished = 30;
  s.oldest_age_s = 2;
  s.leader = "resv-server:8080 relay";
  EXPECT_EQ(judge_events_backlog(s).state, CheckState::Ok);
  s.oldest_age_s = 20;
  EXPECT_EQ(judge_events_backlog(s).state, CheckState::Warn);
  s.oldest_age_s = 2;
  s.leader.clear();
  EXPECT_EQ(judge_events_backlog(s).state, CheckState::Fail);
}

TEST(DoctorEvents, ALaggingConsumerIsToldAsAWarningNamingTheWorstGroup) {
  EXPECT_EQ(judge_events_lag({}).state, CheckState::Ok);
  auto r = judge_events_lag({{"billing", LagVerdict::Ok}, {"mailer", LagVerdict::Stalled}});
  EXPECT_EQ(r.state, CheckState::Warn);
  EXPECT_EQ(r.next, "resv events lag --group mailer");
}

TEST(DoctorAudit, AViolationNamesTheIdsOfItsFirstExample) {
  AuditReport rep;
  InvariantResult i;
  i.name = "seat_sold_twice";
  i.checked = 10;
  i.violations = 1;
  i.examples = json::array({{{"reservationId", 12}, {"status", "CONFIRMED"},
                             {"seatsNowHeldBy", {{{"seatId", 5}, {"reservationId", 13}}}}}});
  rep.results.push_back(i);
  auto r = judge_audit(rep, "the last hour");
  EXPECT_EQ(r.state, CheckState::Fail);
  EXPECT_EQ(r.finding, "violations (the last hour): seat_sold_twice (1; first: reservation 12, reservation 13, seat 5)");
}

TEST(DoctorHost, FreeSpaceUnderOneGigabyteOrFivePercentFails) {
  constexpr uint64_t GiB = 1ull << 30;
  EXPECT_EQ(judge_disk("/s", 50 * GiB, 100 * GiB).state, CheckState::Ok);
  EXPECT_EQ(judge_disk("/s", 10 * GiB, 100 * GiB).state, CheckState::Warn);
  EXPECT_EQ(judge_disk("/s", 4 * GiB, 100 * GiB).state, CheckState::Fail);
  EXPECT_EQ(judge_disk("/s", GiB / 2, 2 * GiB).state, CheckState::Fail);
}

TEST(DoctorWarm, AMissingConcertIsColdAStaleOneStaleAndOtherCountsAMismatch) {
  std::map<int64_t, ConcertCounts> db{{1, {3, 1, 40}}, {2, {0, 0, 0}}, {3, {0, 0, 0}}};
  json warm = json::array({{{"concertId", 1}, {"lastRefreshAgeSeconds", 1.0}, {"refreshIntervalSeconds", 1.0},
                            {"lastError", nullptr}, {"seatsTaken", 2}, {"pools", 1}, {"poolUnitsLeft", 40}},
                           {{"concertId", 2}, {"lastRefreshAgeSeconds", 60.0}, {"refreshIntervalSeconds", 1.0},
                            {"lastError", nullptr}, {"seatsTaken", 0}, {"pools", 0}, {"poolUnitsLeft", 0}}});
  auto f = judge_warm_server("instance 1", warm, db);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].state, "mismatch");
  EXPECT_EQ(f[0].what, "knows 2 seats taken, 1 pools with 40 units left; the database 3, 1 with 40");
  EXPECT_EQ(f[1].state, "stale");
  EXPECT_EQ(f[2].state, "cold");
  EXPECT_EQ(judge_warm({{1, 600}}, f, 1).next, "resv warmup -c 1");
}

TEST(IsoTime, ParsesWhatItWritesAndNothingElse) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1796256000123));
  EXPECT_EQ(parse_iso_utc(iso_utc(t)), t);
  EXPECT_TRUE(parse_iso_utc("2026-12-03T00:10:00Z").has_value());
  EXPECT_FALSE(parse_iso_utc("2026-12-03 00:10:00Z").has_value());
  EXPECT_FALSE(parse_iso_utc("2026-13-03T00:10:00.000Z").has_value());
  EXPECT_FALSE(parse_iso_utc("2026-12-03T00:10:00.000+01:00").has_value());
  EXPECT_FALSE(parse_iso_utc("").has_value());
}

TEST(PgText, AStatementTimeoutGoesIntoTheOptionsOfAUriAndOfAKeyValueString) {
  EXPECT_EQ(with_statement_timeout("postgresql://u@h/db", 4500),
            "postgresql://u@h/db?options=-c%20statement_timeout%3D4500");
  EXPECT_EQ(with_statement_timeout("postgresql://u@h/db?sslmode=disable", 1),
            "postgresql://u@h/db?sslmode=disable&options=-c%20statement_timeout%3D1");
  EXPECT_EQ(with_statement_timeout("host=h dbname=db", 4500), "host=h dbname=db options='-c statement_timeout=4500'");
}

}  // namespace
}  // namespace resv
