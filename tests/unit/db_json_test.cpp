#include "booking/db_json.h"
#include "db/answer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace resv;
using nlohmann::json;

// Every converter, reduced to the Status it answers (Ok for a value).
const std::vector<std::pair<const char*, std::function<Status(std::string_view)>>>& converters() {
  static const std::vector<std::pair<const char*, std::function<Status(std::string_view)>>> all = {
      {"status", [](std::string_view t) { return status_from_db_json(t); }},
      {"hold", [](std::string_view t) { return hold_from_db_json(t).status(); }},
      {"payment", [](std::string_view t) { return payment_from_db_json(t).status(); }},
      {"cancellation", [](std::string_view t) { return cancellation_from_db_json(t).status(); }},
      {"balance", [](std::string_view t) { return balance_from_db_json(t).status(); }},
  };
  return all;
}

// A malformed answer must come back as Internal, not as an exception.
void expect_internal_from_every_converter(std::string_view text) {
  for (const auto& [name, convert] : converters()) {
    try {
      Status s = convert(text);
      EXPECT_EQ(s.code(), ErrorCode::Internal)
          << name << " converter on " << text << " answered " << code_name(s.code()) << ": " << s.message();
    } catch (const std::exception& e) {
      ADD_FAILURE() << name << " converter on " << text << " threw instead of answering Internal: " << e.what();
    }
  }
}

TEST(DbJson, HoldAnswerBecomesAHold) {
  auto r = hold_from_db_json(
      R"({"ok":true,"reservationId":12,"status":"HELD","expiresAt":"2026-01-01T00:00:00.000Z","amount":3000,"scheduleId":3})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->reservation_id, 12);
  EXPECT_EQ(r->status, "HELD");
  EXPECT_EQ(r->expires_at, "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(r->amount, 3000);
  EXPECT_FALSE(r->replayed);
}

// A flat success answer is read without a json tree; an answer with a
// nested member always takes the tree. Adding one must change nothing.
TEST(DbJson, HoldAnswersReadWithoutATreeAgreeWithTheTreeOnMutatedAnswers) {
  const std::string seeds[] = {
      R"({"ok":true,"reservationId":12,"status":"HELD","expiresAt":"2026-01-01T00:00:00.000Z","amount":3000})",
      R"({"ok": true, "amount": 1, "status": "HELD", "replayed": true, "expiresAt": "x", "reservationId": 9})",
  };
  const std::string alphabet = "{}[]\":, 0123456789-.eEtruefalsn\\";
  std::mt19937 rng(7);
  int flat_ok = 0;
  for (int n = 0; n < 5000; ++n) {
    std::string text = seeds[rng() % 2];
    for (int edits = static_cast<int>(rng() % 3); edits > 0; --edits) {
      size_t at = rng() % text.size();
      char c = alphabet[rng() % alphabet.size()];
      if (rng() % 2) text[at] = c; else text.insert(text.begin() + static_cast<long>(at), c);
    }
    if (text.rfind("{\"", 0) != 0) continue;  // a nested member can be put first only in an object with members
    auto flat = hold_from_db_json(text);
    auto tree = hold_from_db_json("{\"zz\":[0]," + text.substr(1));
    ASSERT_EQ(flat.ok(), tree.ok()) << text;
    if (!flat.ok()) {
      EXPECT_EQ(flat.status().code(), tree.status().code()) << text;
      continue;
    }
    ++flat_ok;
    EXPECT_EQ(flat->reservation_id, tree->reservation_id) << text;
    EXPECT_EQ(flat->status, tree->status) << text;
    EXPECT_EQ(flat->expires_at, tree->expires_at) << text;
    EXPECT_EQ(flat->amount, tree->amount) << text;
    EXPECT_EQ(flat->replayed, tree->replayed) << text;
  }
  EXPECT_GT(flat_ok, 500);
}

TEST(DbJson, ReplayedHoldIsMarkedReplayed) {
  auto r = hold_from_db_json(
      R"({"ok":true,"reservationId":12,"status":"HELD","expiresAt":"x","amount":1,"replayed":true})");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->replayed);
}

TEST(DbJson, PaymentAnswerBecomesAPayment) {
  auto r = payment_from_db_json(
      R"({"ok":true,"status":"CONFIRMED","reservationId":5,"paymentId":9,"amount":100,"balance":400})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->reservation_id, 5);
  EXPECT_EQ(r->payment_id, 9);
  EXPECT_EQ(r->amount, 100);
  EXPECT_EQ(r->balance, 400);
  EXPECT_EQ(r->status, "CONFIRMED");
  EXPECT_FALSE(r->replayed);

  auto again = payment_from_db_json(
      R"({"ok":true,"status":"CONFIRMED","reservationId":5,"paymentId":9,"amount":100,"balance":400,"replayed":true})");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
}

TEST(DbJson, CancellationAnswerBecomesACancellation) {
  auto r = cancellation_from_db_json(R"({"ok":true,"status":"CANCELLED","reservationId":5,"refunded":100})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->reservation_id, 5);
  EXPECT_EQ(r->status, "CANCELLED");
  EXPECT_EQ(r->refunded, 100);

  auto expired = cancellation_from_db_json(R"({"ok":true,"status":"EXPIRED","reservationId":6,"refunded":0})");
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->status, "EXPIRED");
  EXPECT_EQ(expired->refunded, 0);
}

TEST(DbJson, BalanceAnswerBecomesABalance) {
  auto r = balance_from_db_json(R"({"ok":true,"userId":7,"balance":500})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->user_id, 7);
  EXPECT_EQ(r->balance, 500);
}

TEST(DbJson, SeatTakenKeepsTheSeatIdsAsDetails) {
  auto r = hold_from_db_json(R"({"ok":false,"code":"SEAT_TAKEN","message":"seat(s) 3, 4 are taken","seatIds":[3,4]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::SeatTaken);
  EXPECT_EQ(r.status().message(), "seat(s) 3, 4 are taken");
  EXPECT_EQ(json::parse(r.status().details_json()), json::parse(R"({"seatIds":[3,4]})"));
}

TEST(DbJson, SoldOutKeepsTheRemainingCountAsDetails) {
  auto r = hold_from_db_json(R"({"ok":false,"code":"SOLD_OUT","message":"pool 4 has 2 left","remaining":2})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::SoldOut);
  auto d = json::parse(r.status().details_json());
  EXPECT_EQ(d, json::parse(R"({"remaining":2})"));
}

TEST(DbJson, DetailsNeverRepeatOkCodeMessageOrReplayed) {
  auto s = status_from_db_json(
      R"({"ok":false,"code":"INSUFFICIENT_BALANCE","message":"top up","balance":10,"amount":50,"replayed":true})");
  EXPECT_EQ(s.code(), ErrorCode::InsufficientBalance);
  auto d = json::parse(s.details_json());
  EXPECT_EQ(d, json::parse(R"({"balance":10,"amount":50})"));
  for (const char* k : {"ok", "code", "message", "replayed"}) EXPECT_FALSE(d.contains(k)) << k;
}

TEST(DbJson, FailureWithoutExtraFieldsHasNoDetails) {
  auto r = payment_from_db_json(R"({"ok":false,"code":"HOLD_EXPIRED","message":"the hold expired"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::HoldExpired);
  EXPECT_EQ(r.status().details_json(), "");
}

TEST(DbJson, FailureWithoutMessageIsNamedByItsCode) {
  auto s = status_from_db_json(R"({"ok":false,"code":"NOT_FOUND"})");
  EXPECT_EQ(s.code(), ErrorCode::NotFound);
  EXPECT_EQ(s.message(), "NOT_FOUND");
}

TEST(DbJson, EveryErrorCodeNameMapsToItsCode) {
  for (int i = static_cast<int>(ErrorCode::InvalidRequest); i <= static_cast<int>(ErrorCode::Internal); ++i) {
    auto code = static_cast<ErrorCode>(i);
    json answer = {{"ok", false}, {"code", std::string(code_name(code))}, {"message", "m"}};
    auto s = status_from_db_json(answer.dump());
    EXPECT_EQ(s.code(), code) << code_name(code);
    EXPECT_EQ(s.message(), "m");
  }
}

TEST(DbJson, EveryConverterPassesFailuresThrough) {
  const std::string answer = R"({"ok":false,"code":"NOT_FOUND","message":"no such thing"})";
  for (const auto& [name, convert] : converters()) {
    Status s = convert(answer);
    EXPECT_EQ(s.code(), ErrorCode::NotFound) << name;
    EXPECT_EQ(s.message(), "no such thing") << name;
  }
}

TEST(DbJson, StatusOfASuccessAnswerIsInternal) {
  auto s = status_from_db_json(R"({"ok":true,"userId":7,"balance":500})");
  EXPECT_EQ(s.code(), ErrorCode::Internal);
}

TEST(DbJson, UnknownErrorCodeIsInternal) {
  auto s = status_from_db_json(R"({"ok":false,"code":"NO_SUCH_CODE","message":"x"})");
  EXPECT_EQ(s.code(), ErrorCode::Internal);
  EXPECT_NE(s.message().find("NO_SUCH_CODE"), std::string::npos) << s.message();
  expect_internal_from_every_converter(R"({"ok":false,"code":"NO_SUCH_CODE","message":"x"})");
  expect_internal_from_every_converter(R"({"ok":false,"message":"no code at all"})");
}

TEST(DbJson, MalformedAnswersAreInternal) {
  for (const char* text : {"", "not json", "{", "null", "[]", "42", R"("ok")", "{}", R"({"code":"SEAT_TAKEN"})"})
    expect_internal_from_every_converter(text);
}

TEST(DbJson, FailureNamedOkIsInternalNotASuccess) {
  // "OK" is a valid code name but not a failure: a failure must never come
  // back as a Status that says ok().
  expect_internal_from_every_converter(R"({"ok":false,"code":"OK","message":"x"})");
}

TEST(DbJson, NonBooleanOkIsInternal) {
  for (const char* text : {R"({"ok":"false","code":"NOT_FOUND"})", R"({"ok":1})", R"({"ok":null})"})
    expect_internal_from_every_converter(text);
}

TEST(DbJson, NonStringCodeOrMessageIsInternal) {
  expect_internal_from_every_converter(R"({"ok":false,"code":7,"message":"x"})");
  expect_internal_from_every_converter(R"({"ok":false,"code":"NOT_FOUND","message":["x"]})");
}

TEST(DbJson, SuccessAnswerMissingAFieldIsInternal) {
  for (const auto& [name, convert] : converters()) {
    if (std::string_view(name) == "status") continue;  // Internal for any success
    try {
      Status s = convert(R"({"ok":true})");
      EXPECT_EQ(s.code(), ErrorCode::Internal) << name << " answered " << code_name(s.code());
    } catch (const std::exception& e) {
      ADD_FAILURE() << name << R"( converter on {"ok":true} threw instead of answering Internal: )" << e.what();
    }
  }
  try {
    auto r = hold_from_db_json(R"({"ok":true,"reservationId":"12","status":"HELD","expiresAt":"x","amount":1})");
    EXPECT_EQ(r.status().code(), ErrorCode::Internal) << "reservationId of the wrong type";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "a string reservationId threw instead of answering Internal: " << e.what();
  }
}

}  // namespace
