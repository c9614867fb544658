// The admin listener (health, readiness, metrics, status), request ids, and
// hold expiry through the server's sweeper.
#include <gtest/gtest.h>

#include <set>

#include "e2e_util.h"
#include "resv/version.h"
#include "test_seed.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;

TEST(Admin, HealthAndReadinessNeedNoTokenAndReportReady) {
  TestDatabase db;
  seed(db);
  ServerProcess server(db.url());
  HttpClient admin("127.0.0.1", server.admin_port());

  auto health = admin.get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(parse_or_null(health.body)["status"], "ok") << health.body;

  auto ready = admin.get("/readyz");
  ASSERT_EQ(ready.status, 200) << ready.body;
  auto j = parse_or_null(ready.body);
  EXPECT_EQ(j["ready"], true) << ready.body;
  EXPECT_TRUE(j["reasons"].empty()) << ready.body;
}

TEST(Admin, MetricsAndStatusRequireTheBearerToken) {
  TestDatabase db;
  seed(db);
  ServerProcess server(db.url());
  HttpClient admin("127.0.0.1", server.admin_port());
  const std::string token = ServerProcess::kAdminToken;

  for (const std::string target : {"/metrics", "/admin/status"}) {
    for (const std::map<std::string, std::string>& auth :
         std::vector<std::map<std::string, std::string>>{{},
                                                         {{"Authorization", token}},
                                                         {{"Authorization", "Bearer "}},
                                                         {{"Authorization", "Bearer wrong-token"}},
                                                         {{"Authorization", "Bearer " + token + "x"}},
                                                         {{"Authorization", "Bearer " + token.substr(1)}},
                                                         {{"Authorization", "Basic dGVzdC10b2tlbg=="}},
                                                         {{"X-Admin-Token", token}}}) {
      SCOPED_TRACE(target + " with " + (auth.empty() ? "no header" : auth.begin()->first + ": " + auth.begin()->second));
      auto r = admin.get(target, auth);
      EXPECT_EQ(r.status, 401) << r.body;
      EXPECT_EQ(error_code(r), "UNAUTHORIZED") << r.body;
      EXPECT_FALSE(error_message(r).empty());
      EXPECT_EQ(r.body.find("resv_"), std::string::npos) << "nothing is disclosed without the token";
    }
  }

  // Some traffic first, so that the request series have data.
  HttpClient http("127.0.0.1", server.port());
  ASSERT_EQ(http.get("/api/concerts").status, 200);
  ASSERT_EQ(http.get("/api/nothing").status, 404);

  auto m = admin.get("/metrics", admin_auth());
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(header(m, "content-type").rfind("text/plain", 0), 0u) << header(m, "content-type");
  for (const char* name : {"resv_http_requests_total", "resv_http_request_duration_seconds_bucket",
                           "resv_db_pool_in_use", "resv_db_pool_waiting", "resv_db_pool_wait_seconds",
                           "resv_holds_expired_total", "resv_outbox_backlog"})
    EXPECT_NE(m.body.find(name), std::string::npos) << name << " missing from /metrics";
  EXPECT_GE(metric_sum(m.body, "resv_http_requests_total",
                       {"listener=\"api\"", "route=\"GET /api/concerts\"", "class=\"2xx\""}),
            1);
  EXPECT_GE(metric_sum(m.body, "resv_http_requests_total", {"listener=\"api\"", "route=\"unmatched\"",
                                                            "class=\"4xx\""}),
            1);
  EXPECT_GE(metric_sum(m.body, "resv_http_request_duration_seconds_count",
                       {"listener=\"api\"", "route=\"GET /api/concerts\""}),
            1);
  // The answer can reach the client just before its worker counts itself free.
  EXPECT_TRUE(eventually([&] { return metric_sum(metrics_text(server), "resv_db_pool_in_use") == 0; }, 30))
      << "no connection stays in use once the requests are answered";
}

TEST(Admin, StatusShowsVersionCommitUptimeAndConfigButNeverTheToken) {
  TestDatabase db;
  seed(db);
  ServerProcess server(db.url(), {"--db-pool-size", "3", "--filter-ttl-ms", "1234"});
  HttpClient admin("127.0.0.1", server.admin_port());

  auto r = admin.get("/admin/status", admin_auth());
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = parse_or_null(r.body);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["version"], resv::kVersion);
  EXPECT_EQ(j["commit"], resv::kCommit);
  ASSERT_TRUE(j["uptimeSeconds"].is_number_integer()) << r.body;
  EXPECT_GE(j["uptimeSeconds"].get<int64_t>(), 0);
  EXPECT_EQ(j["ready"], true);
  EXPECT_EQ(j["pid"], server.pid());
  ASSERT_TRUE(j["config"].is_object()) << r.body;
  EXPECT_EQ(j["config"]["dbPoolSize"], 3);
  EXPECT_EQ(j["config"]["filterTtlMs"], 1234);
  EXPECT_EQ(j["config"]["adminTokenSet"], true);
  EXPECT_EQ(j["dbPool"]["size"], 3);

  const std::string token = ServerProcess::kAdminToken;
  EXPECT_EQ(r.body.find(token), std::string::npos) << "the admin token leaked into /admin/status: " << r.body;
  EXPECT_EQ(metrics_text(server).find(token), std::string::npos) << "the admin token leaked into /metrics";
  EXPECT_EQ(server.log().find(token), std::string::npos) << "the admin token leaked into the log";
}

TEST(Admin, RequestIdIsEchoedWhenSentAndGeneratedWhenNot) {
  TestDatabase db;
  seed(db);
  ServerProcess server(db.url());
  HttpClient http("127.0.0.1", server.port());
  HttpClient admin("127.0.0.1", server.admin_port());

  EXPECT_EQ(header(http.get("/api/concerts", {{"X-Request-Id", "req-123_a.b"}}), "x-request-id"), "req-123_a.b");
  EXPECT_EQ(header(http.get("/api/nothing", {{"X-Request-Id", "err-1"}}), "x-request-id"), "err-1")
      << "error answers carry it too";
  EXPECT_EQ(header(http.post("/api/reservations", "{", {{"X-Request-Id", "bad-1"}}), "x-request-id"), "bad-1");
  EXPECT_EQ(header(admin.get("/healthz", {{"X-Request-Id", "adm-1"}}), "x-request-id"), "adm-1");

  std::set<std::string> generated;
  for (int i = 0; i < 5; ++i) {
    auto id = header(http.get("/api/concerts"), "x-request-id");
    EXPECT_FALSE(id.empty());
    generated.insert(id);
  }
  EXPECT_EQ(generated.size(), 5u) << "generated ids are unique";

  // Ids that are not short and plain are replaced, never echoed.
  for (const std::string& bad : {std::string(65, 'a'), std::string("has space"), std::string("semi;colon"),
                                std::string("quote\"d")}) {
    auto id = header(http.get("/api/concerts", {{"X-Request-Id", bad}}), "x-request-id");
    EXPECT_FALSE(id.empty());
    EXPECT_NE(id, bad);
  }
}

TEST(Admin, SweeperReleasesExpiredHoldsAndCountsThem) {
  TestDatabase db;
  auto s = seed(db, {.seats = 3, .users = 3});
  ServerProcess server(db.url(), {"--sweep-interval-ms", "50"});
  HttpClient http("127.0.0.1", server.port());
  const int64_t seat = s.seat_ids[1];

  auto held = http.post("/api/reservations", seat_body(s.first_user_id, s.schedule_id, {seat}));
  ASSERT_EQ(held.status, 201) << held.body;
  const int64_t res = json::parse(held.body)["reservationId"];
  EXPECT_EQ(metric_sum(metrics_text(server), "resv_holds_expired_total"), 0);

  db.exec("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = " + str(res));

  auto seat_status = [&] {
    auto r = http.get("/api/schedules/" + str(s.schedule_id) + "/seats");
    if (r.status != 200) return std::string("HTTP ") + std::to_string(r.status);
    const json seats = json::parse(r.body);
    for (const auto& x : seats.at("seats"))
      if (x.at("id") == seat) return x.at("status").get<std::string>();
    return std::string("missing");
  };
  std::string last;
  EXPECT_TRUE(eventually([&] { return (last = seat_status()) == "AVAILABLE"; }, 30))
      << "the seat is still " << last;
  EXPECT_TRUE(eventually([&] { return metric_sum(metrics_text(server), "resv_holds_expired_total") > 0; }, 30));

  EXPECT_EQ(db.scalar("SELECT status FROM reservations WHERE id = " + str(res)), "EXPIRED");
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM outbox WHERE event_type = 'ReservationExpired' AND aggregate_id = " +
                     str(res)),
            1);

  auto pay = http.post("/api/reservations/" + str(res) + "/payment", json{{"userId", s.first_user_id}}.dump());
  EXPECT_EQ(pay.status, 409) << pay.body;
  EXPECT_EQ(error_code(pay), "HOLD_EXPIRED");
  auto again = http.post("/api/reservations", seat_body(s.first_user_id + 1, s.schedule_id, {seat}));
  EXPECT_EQ(again.status, 201) << "the released seat can be reserved again: " << again.body;
  EXPECT_EQ(db.count("SELECT count(*) FROM payments"), 0);
  EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = " + str(s.first_user_id)), 100000);
}

TEST(Admin, ReadinessFollowsTheDatabaseSchemaVersion) {
  TestDatabase db;
  seed(db);
  ServerProcess server(db.url(), {"--sweep-interval-ms", "50"});
  HttpClient admin("127.0.0.1", server.admin_port());
  const std::string latest = db.scalar("SELECT max(version) FROM schema_migrations");

  // Pretend the newest migration is not applied: this binary needs it.
  db.exec("UPDATE schema_migrations SET version = -version WHERE version = " + latest);
  HttpResult ready;
  EXPECT_TRUE(eventually([&] { return (ready = admin.get("/readyz")).status == 503; }, 30)) << ready.body;
  EXPECT_NE(ready.body.find("migration"), std::string::npos) << "the reason names the migration: " << ready.body;
  EXPECT_EQ(admin.get("/healthz").status, 200);

  db.exec("UPDATE schema_migrations SET version = -version WHERE version = -" + latest);
  EXPECT_TRUE(eventually([&] { return (ready = admin.get("/readyz")).status == 200; }, 30)) << ready.body;

  // A function file of another version in the database: also not ready.
  db.exec("UPDATE schema_functions SET checksum = 'x' || checksum WHERE name = '10_common.sql'");
  EXPECT_TRUE(eventually([&] { return (ready = admin.get("/readyz")).status == 503; }, 30)) << ready.body;
  EXPECT_NE(ready.body.find("1 function file(s) differ from this binary's (run resv-server --migrate)"),
            std::string::npos)
      << ready.body;
  db.exec("UPDATE schema_functions SET checksum = substr(checksum, 2) WHERE name = '10_common.sql'");
  EXPECT_TRUE(eventually([&] { return (ready = admin.get("/readyz")).status == 200; }, 30)) << ready.body;
}

}  // namespace
