#include "queue/issuer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using namespace resv;
using nlohmann::json;

constexpr int64_t kConcert = 7;
constexpr char kSecret[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// One element of "tokens" as resv_queue_token_json writes it.
json token_json(int64_t user, const std::string& nonce, json position, const std::string& status = "WAITING",
                json expires_at = nullptr, int64_t change_no = 3) {
  return json{{"userId", user},           {"nonce", nonce},
              {"position", position},     {"status", status},
              {"endReason", nullptr},     {"issuedAt", "2026-11-21T14:00:00.000Z"},
              {"admittedAt", nullptr},    {"expiresAt", expires_at},
              {"lastSeenAt", nullptr},    {"changeNo", change_no}};
}

std::string answer(const json& tokens, const json& unknown = json::array()) {
  return json{{"ok", true}, {"tokens", tokens}, {"unknownUsers", unknown}}.dump();
}

// Every result, expecting the same failure code; never an exception.
void expect_all(const std::string& text, const std::vector<int64_t>& users, ErrorCode code) {
  try {
    std::vector<QueueTokenRow> rows;
    auto results = issued_from_db_json(text, kConcert, users, kSecret, &rows);
    ASSERT_EQ(results.size(), users.size()) << text;
    for (const auto& r : results) {
      ASSERT_FALSE(r.ok()) << text;
      EXPECT_EQ(r.status().code(), code) << text << " answered " << code_name(r.status().code()) << ": "
                                         << r.status().message();
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw on " << text << " instead of answering " << code_name(code) << ": " << e.what();
  }
}

TEST(QueueIssuedFromDbJson, OneResultPerAskedUserInTheAskedOrder) {
  std::string text = answer(json::array({token_json(13, "5550001", nullptr), token_json(11, "4440001", 5)}), json::array({12}));
  auto results = issued_from_db_json(text, kConcert, {11, 12, 13}, kSecret);
  ASSERT_EQ(results.size(), 3u);

  ASSERT_TRUE(results[0].ok()) << results[0].status().message();
  EXPECT_EQ(results[0]->user_id, 11);
  EXPECT_EQ(results[0]->concert_id, kConcert);
  EXPECT_EQ(results[0]->position, 5);
  EXPECT_EQ(results[0]->state, TokenState::Waiting);

  ASSERT_FALSE(results[1].ok());
  EXPECT_EQ(results[1].status().code(), ErrorCode::NotFound);
  EXPECT_NE(results[1].status().message().find("12"), std::string::npos) << results[1].status().message();

  ASSERT_TRUE(results[2].ok()) << results[2].status().message();
  EXPECT_EQ(results[2]->user_id, 13);
  EXPECT_EQ(results[2]->position, 0) << "null position: in the pre-queue";
}

TEST(QueueIssuedFromDbJson, TokensAreSignedForConcertUserAndNonce) {
  std::string text = answer(json::array({token_json(11, "4440001", 5), token_json(13, "9199999999999999999", nullptr)}));
  auto results = issued_from_db_json(text, kConcert, {11, 13}, kSecret);
  ASSERT_EQ(results.size(), 2u);
  ASSERT_TRUE(results[0].ok() && results[1].ok());
  EXPECT_EQ(verify_queue_token(results[0]->token, kSecret), (QueueTokenClaims{kConcert, 11, 4440001}));
  EXPECT_EQ(verify_queue_token(results[1]->token, kSecret), (QueueTokenClaims{kConcert, 13, 9199999999999999999}));
  EXPECT_FALSE(verify_queue_token(results[0]->token, "another secret").has_value());
}

TEST(QueueIssuedFromDbJson, RepeatedUserGetsTheSameToken) {
  auto results = issued_from_db_json(answer(json::array({token_json(11, "4440001", 5)})), kConcert, {11, 11}, kSecret);
  ASSERT_EQ(results.size(), 2u);
  ASSERT_TRUE(results[0].ok() && results[1].ok());
  EXPECT_EQ(results[0]->token, results[1]->token);
}

TEST(QueueIssuedFromDbJson, FillsOneRowPerTokenForTheView) {
  std::string text = answer(json::array({token_json(11, "4440001", 5, "ACTIVE", "2026-11-21T14:02:20.036Z", 8),
                                         token_json(13, "5550001", nullptr, "WAITING", nullptr, 6)}),
                            json::array({12}));
  std::vector<QueueTokenRow> rows;
  auto results = issued_from_db_json(text, kConcert, {11, 12, 13}, kSecret, &rows);
  ASSERT_EQ(rows.size(), 2u);
  const QueueTokenRow& active = rows[0].user_id == 11 ? rows[0] : rows[1];
  const QueueTokenRow& waiting = rows[0].user_id == 11 ? rows[1] : rows[0];
  EXPECT_EQ(active.user_id, 11);
  EXPECT_EQ(active.nonce, 4440001);
  EXPECT_EQ(active.position, 5);
  EXPECT_EQ(active.state, TokenState::Active);
  ASSERT_TRUE(active.expires_at.has_value());
  EXPECT_EQ(*active.expires_at, SysTime{} + std::chrono::milliseconds(1795269740036));
  EXPECT_EQ(active.change_no, 8);
  EXPECT_EQ(waiting.user_id, 13);
  EXPECT_EQ(waiting.nonce, 5550001);
  EXPECT_EQ(waiting.position, 0);
  EXPECT_EQ(waiting.state, TokenState::Waiting);
  EXPECT_FALSE(waiting.expires_at.has_value());
  EXPECT_EQ(waiting.change_no, 6);
  ASSERT_TRUE(results[0].ok());
  EXPECT_EQ(results[0]->state, TokenState::Active);
}

TEST(QueueIssuedFromDbJson, FailureAnswerIsThatStatusForEveryone) {
  std::string text =
      R"({"ok":false,"code":"NOT_FOUND","message":"concert 7 has no waiting room; reserve without a queue token"})";
  std::vector<QueueTokenRow> rows;
  auto results = issued_from_db_json(text, kConcert, {11, 12, 13}, kSecret, &rows);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::NotFound);
    EXPECT_EQ(r.status().message(), "concert 7 has no waiting room; reserve without a queue token");
  }
  EXPECT_TRUE(rows.empty());
}

TEST(QueueIssuedFromDbJson, GarbageIsInternalForEveryone) {
  const std::vector<int64_t> users{11, 12};
  for (const std::string& text : std::vector<std::string>{
           "",
           "not json",
           "[]",
           "null",
           "42",
           R"({"tokens":[]})",
           R"({"ok":"yes","tokens":[]})",
           R"({"ok":false})",
           R"({"ok":false,"code":"NO_SUCH_CODE","message":"x"})",
       })
    expect_all(text, users, ErrorCode::Internal);
}

TEST(QueueIssuedFromDbJson, MalformedTokenEntriesAreInternalNotAnException) {
  const std::vector<int64_t> users{11};
  json good = token_json(11, "4440001", 5);
  auto without = [&](const char* field) {
    json t = good;
    t.erase(field);
    return answer(json::array({t}));
  };
  auto with = [&](const char* field, json value) {
    json t = good;
    t[field] = std::move(value);
    return answer(json::array({t}));
  };
  for (const std::string& text : std::vector<std::string>{
           without("userId"),
           without("nonce"),
           without("status"),
           without("changeNo"),
           with("userId", "11"),
           with("nonce", 4440001),
           with("nonce", "not a number"),
           with("nonce", "99999999999999999999999"),
           with("status", 1),
           with("changeNo", "3"),
           answer(json::array({42})),
           answer(json::array({"token"})),
           R"({"ok":true,"tokens":5,"unknownUsers":[]})",
           R"({"ok":true,"tokens":"x","unknownUsers":[]})",
       })
    expect_all(text, users, ErrorCode::Internal);
}

TEST(QueueIssuedFromDbJson, SuccessWithoutTokensIsInternalNotUnknownUsers) {
  // resv_queue_issue always answers "tokens" (possibly []): without it the
  // answer is not understood, which must not tell users they do not exist.
  expect_all(R"({"ok":true})", {11, 12}, ErrorCode::Internal);
}

}  // namespace
