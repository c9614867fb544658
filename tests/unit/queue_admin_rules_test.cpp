// The waiting room as an operator reads it (core/queue/admin.h), without a
// database: when a queue is stuck, the ETA of the last in line, how a token
// given by hand is judged, what a change asks resv_queue_configure() for, and
// how a resv_queue_status() object is read. What touches SQL is tested
// through the real binary (tests/e2e/cli_queue_test.cpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "queue/admin.h"
#include "queue/token.h"

namespace {

using namespace resv;
using nlohmann::json;

QueueStatus running(int waiting, const std::optional<std::string>& last_admit_at, double since_admit) {
  QueueStatus q;
  q.settings.enabled = true;
  q.settings.paused = false;
  q.waiting = waiting;
  q.pre_queue = 0;
  q.last_admit_at = last_admit_at;
  q.now = "2026-05-01T10:00:00.000Z";
  q.seconds_since_last_admit = since_admit;
  return q;
}

TEST(QueueAdminRules, StuckWhenPeopleWaitAndNothingWasAdmittedForLongerThanTheThreshold) {
  EXPECT_TRUE(queue_stuck(running(3, "2026-05-01T09:50:00.000Z", 600), 120));
  EXPECT_FALSE(queue_stuck(running(3, "2026-05-01T09:59:55.000Z", 5), 120));
  EXPECT_FALSE(queue_stuck(running(3, "2026-05-01T09:58:00.000Z", 120), 120)) << "more than, not equal";
  EXPECT_TRUE(queue_stuck(running(3, std::nullopt, 0), 120)) << "nobody ever admitted";
  EXPECT_FALSE(queue_stuck(running(0, "2026-05-01T09:50:00.000Z", 600), 120)) << "nobody waits";
}

TEST(QueueAdminRules, PausedOrDisabledQueuesAreNeverStuck) {
  auto paused = running(3, std::nullopt, 0);
  paused.settings.paused = true;
  EXPECT_FALSE(queue_stuck(paused, 0));
  auto disabled = running(3, std::nullopt, 0);
  disabled.settings.enabled = false;
  EXPECT_FALSE(queue_stuck(disabled, 0));
}

TEST(QueueAdminRules, APreQueueBeforeTheOpeningIsNotStuckButAfterItIs) {
  auto before = running(4, std::nullopt, 0);
  before.pre_queue = 4;
  before.settings.opens_at = "2026-05-01T11:00:00.000Z";
  EXPECT_FALSE(queue_stuck(before, 0));
  before.waiting = 5;  // one placed besides the pre-queue
  EXPECT_TRUE(queue_stuck(before, 0));

  auto after = running(4, std::nullopt, 0);
  after.pre_queue = 4;
  after.settings.opens_at = "2026-05-01T09:00:00.000Z";  // passed, not yet opened by a tick
  EXPECT_TRUE(queue_stuck(after, 0));
}

TEST(QueueAdminRules, EtaIsWaitingOverTheLastMinutesAdmissionRate) {
  auto q = running(3, "2026-05-01T09:59:55.000Z", 5);
  q.admitted_last_minute = 1;
  EXPECT_DOUBLE_EQ(eta_last_seconds(q).value(), 180.0);
  q.admitted_last_minute = 120;
  EXPECT_DOUBLE_EQ(eta_last_seconds(q).value(), 1.5);
  q.admitted_last_minute = 0;
  EXPECT_EQ(eta_last_seconds(q), std::nullopt) << "nobody admitted in the last minute: unknown";
  q.admitted_last_minute = 60;
  q.settings.paused = true;
  EXPECT_EQ(eta_last_seconds(q), std::nullopt) << "paused: unknown";
  auto empty = running(0, std::nullopt, 0);
  EXPECT_EQ(eta_last_seconds(empty), 0.0) << "nobody waits";
}

TEST(QueueAdminRules, EtaOfADisabledQueueIsUnknownWhileSomeoneWaits) {
  auto q = running(3, "2026-05-01T09:59:55.000Z", 5);
  q.admitted_last_minute = 60;
  q.settings.enabled = false;
  EXPECT_EQ(eta_last_seconds(q), std::nullopt);
}

TEST(QueueAdminRules, AHandGivenTokenIsRefusedWhenItsMacOrItsNonceIsWrong) {
  const std::string token = sign_queue_token({12, 42, 7}, "the-secret");

  auto good = check_queue_token(token, std::string("the-secret"), 7);
  EXPECT_EQ(good.signature_valid, true);
  EXPECT_EQ(good.nonce_matches, true);
  EXPECT_FALSE(good.refused());

  auto other_secret = check_queue_token(token, std::string("another-secret"), 7);
  EXPECT_EQ(other_secret.signature_valid, false);
  EXPECT_TRUE(other_secret.refused());

  auto earlier_queue = check_queue_token(token, std::string("the-secret"), 8);
  EXPECT_EQ(earlier_queue.signature_valid, true);
  EXPECT_EQ(earlier_queue.nonce_matches, false);
  EXPECT_TRUE(earlier_queue.refused());
}

TEST(QueueAdminRules, WithoutASecretOrAStoredTokenTheCheckSaysNothing) {
  const std::string token = sign_queue_token({12, 42, 7}, "the-secret");
  auto unchecked = check_queue_token(token, std::nullopt, std::nullopt);
  EXPECT_EQ(unchecked.signature_valid, std::nullopt);
  EXPECT_EQ(unchecked.nonce_matches, std::nullopt);
  EXPECT_FALSE(unchecked.refused());
  EXPECT_EQ(check_queue_token(token, std::string(), 7).signature_valid, std::nullopt) << "an empty secret is none";
}

TEST(QueueAdminRules, ConfigureGetsTheSettingsGivenAndWhatTheActionSwitches) {
  QueueChange enable;
  enable.action = QueueAction::Enable;
  enable.settings = {{"maxActive", 50}, {"opensAt", nullptr}};
  EXPECT_EQ(queue_configure_set(enable), json({{"maxActive", 50}, {"opensAt", nullptr}, {"enabled", true}}));

  QueueChange set;
  set.action = QueueAction::Set;
  set.settings = {{"ratePerSecond", 7.5}};
  EXPECT_EQ(queue_configure_set(set), json({{"ratePerSecond", 7.5}}));

  QueueChange pause;
  pause.action = QueueAction::Pause;
  pause.settings = {{"maxActive", 1}};  // only enable and set carry settings
  EXPECT_EQ(queue_configure_set(pause), json({{"paused", true}}));
  pause.action = QueueAction::Resume;
  EXPECT_EQ(queue_configure_set(pause), json({{"paused", false}}));
  pause.action = QueueAction::Disable;
  EXPECT_EQ(queue_configure_set(pause), json({{"enabled", false}}));
}

TEST(QueueAdminRules, ActionsAreNamedAsInTheAuditLog) {
  EXPECT_EQ(queue_action_name(QueueAction::Enable), "enable");
  EXPECT_EQ(queue_action_name(QueueAction::Disable), "disable");
  EXPECT_EQ(queue_action_name(QueueAction::Pause), "pause");
  EXPECT_EQ(queue_action_name(QueueAction::Resume), "resume");
  EXPECT_EQ(queue_action_name(QueueAction::Set), "set");
  EXPECT_EQ(queue_action_name(QueueAction::Admit), "admit");
  EXPECT_EQ(queue_action_name(QueueAction::Drain), "drain");
}

TEST(QueueAdminRules, AStatusObjectIsReadFieldByField) {
  const json j = {{"concertId", 12},
                  {"concertName", "Rock Night"},
                  {"enabled", true},
                  {"paused", false},
                  {"maxActive", 500},
                  {"ratePerSecond", 2.5},
                  {"tokenTtlSeconds", 600},
                  {"abandonAfterSeconds", 60},
                  {"opensAt", "2026-05-01T11:00:00.000Z"},
                  {"waiting", 7},
                  {"preQueue", 4},
                  {"active", 3},
                  {"issued", 10},
                  {"admittedTotal", 3},
                  {"issuedLastMinute", 9},
                  {"admittedLastMinute", 2},
                  {"expiredLastMinute", {{"TTL", 1}, {"PAID", 2}}},
                  {"oldestWaitSeconds", 12.5},
                  {"lastAdmitAt", "2026-05-01T09:59:00.000Z"},
                  {"secondsSinceLastAdmit", 60.25},
                  {"now", "2026-05-01T10:00:00.250Z"}};
  const QueueStatus q = queue_status_from_json(j);
  EXPECT_EQ(q.concert_id, 12);
  EXPECT_EQ(q.concert_name, "Rock Night");
  EXPECT_TRUE(q.settings.enabled);
  EXPECT_FALSE(q.settings.paused);
  EXPECT_EQ(q.settings.max_active, 500);
  EXPECT_EQ(q.settings.rate_per_second, 2.5);
  EXPECT_EQ(q.settings.token_ttl_seconds, 600);
  EXPECT_EQ(q.settings.abandon_after_seconds, 60);
  EXPECT_EQ(q.settings.opens_at, "2026-05-01T11:00:00.000Z");
  EXPECT_EQ(q.waiting, 7);
  EXPECT_EQ(q.pre_queue, 4);
  EXPECT_EQ(q.active, 3);
  EXPECT_EQ(q.issued, 10);
  EXPECT_EQ(q.admitted_total, 3);
  EXPECT_EQ(q.issued_last_minute, 9);
  EXPECT_EQ(q.admitted_last_minute, 2);
  EXPECT_EQ(q.expired_last_minute, (std::map<std::string, int64_t>{{"PAID", 2}, {"TTL", 1}}));
  EXPECT_EQ(q.oldest_wait_seconds, 12.5);
  EXPECT_EQ(q.last_admit_at, "2026-05-01T09:59:00.000Z");
  EXPECT_EQ(q.seconds_since_last_admit, 60.25);
  EXPECT_EQ(q.now, "2026-05-01T10:00:00.250Z");
}

TEST(QueueAdminRules, NullsInAStatusObjectAreNone) {
  const json j = {{"concertId", 3},     {"enabled", false},       {"paused", false},  {"maxActive", nullptr},
                  {"ratePerSecond", nullptr}, {"opensAt", nullptr}, {"waiting", 0},    {"expiredLastMinute", json::object()},
                  {"oldestWaitSeconds", nullptr}, {"lastAdmitAt", nullptr}, {"secondsSinceLastAdmit", nullptr}};
  const QueueStatus q = queue_status_from_json(j);
  EXPECT_EQ(q.settings.max_active, std::nullopt);
  EXPECT_EQ(q.settings.rate_per_second, std::nullopt);
  EXPECT_EQ(q.settings.opens_at, std::nullopt);
  EXPECT_TRUE(q.expired_last_minute.empty());
  EXPECT_EQ(q.oldest_wait_seconds, std::nullopt);
  EXPECT_EQ(q.last_admit_at, std::nullopt);
  EXPECT_EQ(q.seconds_since_last_admit, std::nullopt);
  EXPECT_FALSE(q.stuck) << "derived by the reader, not read";
  EXPECT_EQ(q.eta_last_seconds, std::nullopt);
}

}  // namespace
