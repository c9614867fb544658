// The --json objects of `resv queue` (commands/queue/): each is the SQL
// function's object key for key, read into core's types and written back,
// so that scripts read what the HTTP API and the database write.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "commands/queue/queue.h"
#include "queue/admin.h"

namespace {

using namespace resv;
using namespace resv::cli::queue_cmd;
using nlohmann::json;

// A resv_queue_status() object as PostgreSQL writes it (integral doubles
// without a fraction).
json sql_status() {
  return json::parse(R"({"concertId": 1, "concertName": "Rock Night", "enabled": true, "paused": false,
    "maxActive": 5, "ratePerSecond": 2, "tokenTtlSeconds": 600, "abandonAfterSeconds": 60, "opensAt": null,
    "waiting": 3, "preQueue": 0, "active": 0, "issued": 4, "admittedTotal": 1, "issuedLastMinute": 4,
    "admittedLastMinute": 1, "expiredLastMinute": {"TTL": 1}, "oldestWaitSeconds": 1.234567,
    "lastAdmitAt": "2026-05-01T09:59:59.000Z", "secondsSinceLastAdmit": 1.5, "now": "2026-05-01T10:00:00.500Z"})");
}

TEST(QueueJson, StatusCarriesEveryFieldOfTheSqlObjectPlusStuckAndEta) {
  QueueStatus q = queue_status_from_json(sql_status());
  q.stuck = queue_stuck(q, kDefaultStuckSeconds);
  q.eta_last_seconds = eta_last_seconds(q);
  json expected = sql_status();
  expected["stuck"] = false;
  expected["etaLastSeconds"] = 180.0;
  EXPECT_EQ(status_json(q), expected);
  EXPECT_EQ(status_json(q).dump(), expected.dump()) << "the same text: 2, not 2.0";
}

TEST(QueueJson, UnknownFiguresAreNull) {
  json sql = sql_status();
  for (const char* key : {"maxActive", "ratePerSecond", "opensAt", "oldestWaitSeconds", "lastAdmitAt",
                          "secondsSinceLastAdmit"})
    sql[key] = nullptr;
  sql["admittedLastMinute"] = 0;
  QueueStatus q = queue_status_from_json(sql);
  q.eta_last_seconds = eta_last_seconds(q);
  json out = status_json(q);
  for (const char* key : {"maxActive", "ratePerSecond", "opensAt", "oldestWaitSeconds", "lastAdmitAt",
                          "secondsSinceLastAdmit", "etaLastSeconds"})
    EXPECT_TRUE(out[key].is_null()) << key << " in " << out.dump();
}

TEST(QueueJson, TokensAndAuditLinesKeepTheSqlFunctionsKeys) {
  QueueToken t;
  t.concert_id = 1;
  t.user_id = 4;
  t.nonce = 8315570023;
  t.status = "WAITING";
  t.position = 4;
  t.issued_at = "2026-05-01T09:00:00.000Z";
  t.last_seen_at = "2026-05-01T09:59:00.000Z";
  t.change_no = 9;
  EXPECT_EQ(token_json(t), json::parse(R"({"concertId": 1, "userId": 4, "nonce": "8315570023", "position": 4,
    "status": "WAITING", "endReason": null, "issuedAt": "2026-05-01T09:00:00.000Z", "admittedAt": null,
    "expiresAt": null, "lastSeenAt": "2026-05-01T09:59:00.000Z", "changeNo": 9})"));

  QueueAuditEntry a;
  a.id = 3;
  a.at = "2026-05-01T10:00:00.000Z";
  a.concert_id = 1;
  a.actor = "ops";
  a.action = "pause";
  a.old_values = {{"paused", false}};
  a.new_values = {{"paused", true}};
  EXPECT_EQ(audit_json(a), json::parse(R"({"id": 3, "at": "2026-05-01T10:00:00.000Z", "concertId": 1,
    "actor": "ops", "action": "pause", "old": {"paused": false}, "new": {"paused": true}})"));
}

}  // namespace
