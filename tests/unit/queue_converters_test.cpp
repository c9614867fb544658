#include "server/converters.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <utility>

namespace {

using namespace resv;
using namespace std::chrono_literals;
using nlohmann::json;

// 2026-11-21T14:02:20Z
const SysTime kInstant = SysTime{} + std::chrono::seconds(1795269740);

// ---- parse_queue_token_request ---------------------------------------------------

TEST(QueueTokenRequestParse, ValidBodyGivesUserAndConcert) {
  auto r = parse_queue_token_request(R"({"userId":42,"concertId":7})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->user_id, 42);
  EXPECT_EQ(r->concert_id, 7);
  auto spaced = parse_queue_token_request(R"( { "concertId" : 9223372036854775807, "userId" : 1, "extra": "x" } )");
  ASSERT_TRUE(spaced.ok()) << spaced.status().message();
  EXPECT_EQ(spaced->concert_id, 9223372036854775807);
  EXPECT_EQ(spaced->user_id, 1);
}

TEST(QueueTokenRequestParse, MissingFieldIsInvalidAndNamed) {
  auto no_concert = parse_queue_token_request(R"({"userId":42})");
  ASSERT_FALSE(no_concert.ok());
  EXPECT_EQ(no_concert.status().code(), ErrorCode::InvalidRequest);
  EXPECT_NE(no_concert.status().message().find("concertId"), std::string::npos) << no_concert.status().message();
  auto no_user = parse_queue_token_request(R"({"concertId":7})");
  ASSERT_FALSE(no_user.ok());
  EXPECT_EQ(no_user.status().code(), ErrorCode::InvalidRequest);
  EXPECT_NE(no_user.status().message().find("userId"), std::string::npos) << no_user.status().message();
  EXPECT_EQ(parse_queue_token_request("{}").status().code(), ErrorCode::InvalidRequest);
}

TEST(QueueTokenRequestParse, WrongTypesAndNonPositiveIdsAreInvalidAndNamed) {
  struct Case {
    const char* body;
    const char* field;
  };
  for (const Case& c : {Case{R"({"userId":"42","concertId":7})", "userId"},
                        Case{R"({"userId":42.5,"concertId":7})", "userId"},
                        Case{R"({"userId":true,"concertId":7})", "userId"},
                        Case{R"({"userId":null,"concertId":7})", "userId"},
                        Case{R"({"userId":[42],"concertId":7})", "userId"},
                        Case{R"({"userId":0,"concertId":7})", "userId"},
                        Case{R"({"userId":-42,"concertId":7})", "userId"},
                        Case{R"({"userId":99999999999999999999,"concertId":7})", "userId"},
                        Case{R"({"userId":42,"concertId":"7"})", "concertId"},
                        Case{R"({"userId":42,"concertId":7.0})", "concertId"},
                        Case{R"({"userId":42,"concertId":{}})", "concertId"},
                        Case{R"({"userId":42,"concertId":0})", "concertId"},
                        Case{R"({"userId":42,"concertId":-7})", "concertId"},
                        Case{R"({"userId":42,"concertId":9223372036854775808})", "concertId"}}) {
    auto r = parse_queue_token_request(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.status().code(), ErrorCode::InvalidRequest) << c.body;
    EXPECT_NE(r.status().message().find(c.field), std::string::npos) << c.body << ": " << r.status().message();
  }
}

TEST(QueueTokenRequestParse, NonObjectsAndInvalidJsonAreInvalid) {
  for (const char* body : {"", "[]", R"([{"userId":42,"concertId":7}])", "null", "42", R"("userId")", "{not json",
                           R"({"userId":42,"concertId":7)", R"({"userId":42,"concertId":7}})"}) {
    auto r = parse_queue_token_request(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), ErrorCode::InvalidRequest) << body;
  }
}

// ---- iso_utc ---------------------------------------------------------------------

TEST(QueueIsoUtc, FormatsAKnownInstantWithMilliseconds) {
  EXPECT_EQ(iso_utc(kInstant + 36ms), "2026-11-21T14:02:20.036Z");
  EXPECT_EQ(iso_utc(kInstant), "2026-11-21T14:02:20.000Z");
  EXPECT_EQ(iso_utc(kInstant + 999999us), "2026-11-21T14:02:20.999Z") << "truncated, not rounded";
  EXPECT_EQ(iso_utc(SysTime{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso_utc(SysTime{} + std::chrono::milliseconds(951868799999)), "2000-02-29T23:59:59.999Z");
}

// ---- issued_token_json -----------------------------------------------------------

TEST(QueueIssuedTokenJson, HasTheTokenFieldsAndANumberPosition) {
  json j = json::parse(issued_token_json(IssuedToken{"q1.7.42.5.abc", 7, 42, 12, TokenState::Waiting}));
  EXPECT_EQ(j["token"], "q1.7.42.5.abc");
  EXPECT_EQ(j["concertId"], 7);
  EXPECT_EQ(j["userId"], 42);
  EXPECT_EQ(j["position"], 12);
  EXPECT_EQ(j["status"], "WAITING");
  EXPECT_EQ(j.size(), 5u) << j.dump();
}

TEST(QueueIssuedTokenJson, PositionIsNullInThePreQueue) {
  json j = json::parse(issued_token_json(IssuedToken{"t", 7, 42, 0, TokenState::Waiting}));
  ASSERT_TRUE(j.contains("position"));
  EXPECT_TRUE(j["position"].is_null()) << j.dump();
  json active = json::parse(issued_token_json(IssuedToken{"t", 7, 42, 3, TokenState::Active}));
  EXPECT_EQ(active["status"], "ACTIVE");
}

// ---- token_status_json -----------------------------------------------------------

TEST(QueueTokenStatusJson, WaitingTokenHasPositionAheadAndRoundedEta) {
  TokenStatus s;
  s.state = TokenState::Waiting;
  s.position = 17;
  s.ahead = 4;
  s.eta_s = 6.4;
  s.expires_at = kInstant;  // ignored unless ACTIVE
  json j = json::parse(token_status_json({7, 42, 5}, s));
  EXPECT_EQ(j["status"], "WAITING");
  EXPECT_EQ(j["position"], 17);
  EXPECT_EQ(j["ahead"], 4);
  EXPECT_EQ(j["etaSeconds"], 6);
  EXPECT_EQ(j["concertId"], 7);
  EXPECT_EQ(j["userId"], 42);
  ASSERT_TRUE(j.contains("expiresAt"));
  EXPECT_TRUE(j["expiresAt"].is_null()) << j.dump();
  ASSERT_TRUE(j.contains("opensAt"));
  EXPECT_TRUE(j["opensAt"].is_null()) << j.dump();
  EXPECT_FALSE(j.contains("nonce")) << j.dump();
}

TEST(QueueTokenStatusJson, EtaSecondsIsAWholeNumberRoundedToNearest) {
  TokenStatus s;
  for (auto [eta, rounded] : {std::pair{6.5, 7}, std::pair{6.49, 6}, std::pair{0.2, 0}, std::pair{3599.6, 3600}}) {
    s.eta_s = eta;
    std::string text = token_status_json({7, 42, 5}, s);
    json j = json::parse(text);
    EXPECT_EQ(j["etaSeconds"], rounded) << text;
    EXPECT_TRUE(j["etaSeconds"].is_number_integer()) << "a count of seconds is written as an integer: " << text;
  }
}

TEST(QueueTokenStatusJson, EtaIsNullWhenUnknown) {
  TokenStatus s;
  s.position = 3;
  json j = json::parse(token_status_json({7, 42, 5}, s));
  ASSERT_TRUE(j.contains("etaSeconds"));
  EXPECT_TRUE(j["etaSeconds"].is_null()) << j.dump();
}

TEST(QueueTokenStatusJson, ExpiresAtOnlyWhenActive) {
  TokenStatus s;
  s.position = 3;
  s.expires_at = kInstant + 36ms;
  s.state = TokenState::Active;
  json active = json::parse(token_status_json({7, 42, 5}, s));
  EXPECT_EQ(active["status"], "ACTIVE");
  EXPECT_EQ(active["expiresAt"], "2026-11-21T14:02:20.036Z");
  s.state = TokenState::Expired;
  json expired = json::parse(token_status_json({7, 42, 5}, s));
  EXPECT_EQ(expired["status"], "EXPIRED");
  EXPECT_TRUE(expired["expiresAt"].is_null()) << expired.dump();
  s.state = TokenState::Active;
  s.expires_at.reset();
  EXPECT_TRUE(json::parse(token_status_json({7, 42, 5}, s))["expiresAt"].is_null());
}

TEST(QueueTokenStatusJson, PreQueueHasNullPositionAndOpensAt) {
  TokenStatus s;
  s.position = 0;
  s.eta_s = 90.0;
  s.opens_at = kInstant + 90s;
  json j = json::parse(token_status_json({7, 42, 5}, s));
  EXPECT_TRUE(j["position"].is_null()) << j.dump();
  EXPECT_EQ(j["opensAt"], "2026-11-21T14:03:50.000Z");
  EXPECT_EQ(j["etaSeconds"], 90);
}

}  // namespace
