#include "converters.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace resv;
using nlohmann::json;

TEST(ParseReservation, SeatRequestGivesSeatIdsInOrder) {
  auto r = parse_reservation(R"({"userId":7,"scheduleId":3,"seatIds":[5,2,9]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto& s = std::get<HoldSeatsRequest>(r.value());
  EXPECT_EQ(s.user_id, 7);
  EXPECT_EQ(s.schedule_id, 3);
  EXPECT_EQ(s.seat_ids, (std::vector<int64_t>{5, 2, 9}));
}

TEST(ParseReservation, PoolRequestGivesPoolAndQuantity) {
  auto r = parse_reservation(R"({"userId":7,"scheduleId":3,"poolId":4,"quantity":2})");
  ASSERT_TRUE(r.ok());
  auto& p = std::get<HoldPoolRequest>(r.value());
  EXPECT_EQ(p.pool_id, 4);
  EXPECT_EQ(p.quantity, 2);
}

TEST(ParseReservation, RejectsMalformedJsonWithInvalidRequest) {
  auto r = parse_reservation("{not json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidRequest);
  EXPECT_NE(r.status().message().find("JSON"), std::string::npos);
}

TEST(ParseReservation, RejectsWrongTypesNamingTheField) {
  for (const char* body : {R"({"userId":"7","scheduleId":3,"seatIds":[1]})", R"({"userId":7.5,"scheduleId":3,"seatIds":[1]})",
                           R"({"userId":7,"scheduleId":3,"seatIds":"1"})", R"({"userId":7,"scheduleId":3,"seatIds":[-1]})",
                           R"({"userId":7,"scheduleId":3,"poolId":1,"quantity":-4})",
                           R"({"userId":7,"scheduleId":3,"poolId":1,"quantity":0})",
                           R"({"userId":99999999999999999999,"scheduleId":3,"seatIds":[1]})", "[]", ""}) {
    auto r = parse_reservation(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), ErrorCode::InvalidRequest) << body;
  }
}

TEST(ParseReservation, RejectsBothOrNeitherSeatsAndPool) {
  EXPECT_FALSE(parse_reservation(R"({"userId":1,"scheduleId":1})").ok());
  EXPECT_FALSE(parse_reservation(R"({"userId":1,"scheduleId":1,"seatIds":[1],"poolId":1,"quantity":1})").ok());
}

TEST(ParseReservation, FieldsInsideNestedValuesAreNotTopLevelFields) {
  auto r =
      parse_reservation(R"({"userId":7,"scheduleId":3,"meta":{"poolId":1,"quantity":1,"seatIds":[8]},"seatIds":[1]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(std::get<HoldSeatsRequest>(r.value()).seat_ids, (std::vector<int64_t>{1}));
}

TEST(ParseReservation, TheLastOfARepeatedFieldCounts) {
  auto r = parse_reservation(R"({"userId":7,"userId":8,"scheduleId":3,"poolId":4,"quantity":2})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(std::get<HoldPoolRequest>(r.value()).user_id, 8);
}

TEST(ParseReservation, SaysWhichRuleANestedOrOutOfRangeValueBreaks) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"userId":{"id":7},"scheduleId":3,"seatIds":[1]})", "userId must be an integer"},
      {R"({"userId":[7],"scheduleId":3,"seatIds":[1]})", "userId must be an integer"},
      {R"({"userId":18446744073709551615,"scheduleId":3,"seatIds":[1]})", "userId is too large"},
      {R"({"userId":7,"scheduleId":3,"seatIds":[[1]]})", "seatIds must hold positive integers"},
      {R"({"userId":7,"scheduleId":3,"seatIds":[1,{"id":2}]})", "seatIds must hold positive integers"},
      {R"({"userId":7,"scheduleId":3,"seatIds":[1,18446744073709551615]})", "seatIds must hold positive integers"},
      {R"({"userId":7,"scheduleId":3,"seatIds":{"0":1}})", "seatIds must be an array of seat ids"},
      {R"({"userId":7,"scheduleId":3,"seatIds":[1]} x)", "the request body is not valid JSON"},
      {"7", "the request body must be a JSON object"},
      {R"([{"userId":7,"scheduleId":3,"seatIds":[1]}])", "the request body must be a JSON object"},
  };
  for (const auto& [body, message] : cases) {
    auto r = parse_reservation(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().message(), message) << body;
  }
}

TEST(ParseId, AcceptsOnlyPositiveDecimal) {
  EXPECT_EQ(parse_id("42", "id").value(), 42);
  for (const char* bad : {"0", "-1", "4x", "", "99999999999999999999", " 1"}) EXPECT_FALSE(parse_id(bad, "id").ok()) << bad;
}

TEST(RequestHash, IgnoresKeyOrderAndSpacingButNotValues) {
  auto a = request_hash("POST", "/api/reservations", R"({"userId":1,"scheduleId":2,"seatIds":[3]})");
  auto b = request_hash("POST", "/api/reservations", R"({ "seatIds":[3], "scheduleId":2, "userId":1 })");
  auto c = request_hash("POST", "/api/reservations", R"({"userId":1,"scheduleId":2,"seatIds":[4]})");
  auto d = request_hash("POST", "/api/other", R"({"userId":1,"scheduleId":2,"seatIds":[3]})");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
}

TEST(ErrorJson, CarriesCodeMessageAndDetails) {
  auto j = json::parse(error_json(Status::SeatTaken("taken", R"({"seatIds":[3]})")));
  EXPECT_EQ(j["error"]["code"], "SEAT_TAKEN");
  EXPECT_EQ(j["error"]["message"], "taken");
  EXPECT_EQ(j["error"]["seatIds"], json::array({3}));
}

TEST(ErrorJson, EscapesTheMessageAndKeepsInvalidUtf8FromBreakingTheJson) {
  for (std::string message :
       {std::string("say \"hi\"\n\\ \t"), std::string("caf\xc3\xa9"), std::string("bad \xff\xfe byte")}) {
    auto text = error_json(Status::NotFound(message));
    auto j = json::parse(text, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << text;
    EXPECT_EQ(j["error"]["code"], "NOT_FOUND");
    if (message.find('\xff') == std::string::npos)
      EXPECT_EQ(j["error"]["message"], message);
    else
      EXPECT_EQ(j["error"]["message"], "bad \xef\xbf\xbd\xef\xbf\xbd byte");  // U+FFFD twice
  }
}

TEST(ErrorJson, WithoutDetailsHasOnlyCodeAndMessage) {
  for (const char* details : {"", "{}"}) {
    auto j = json::parse(error_json(Status::SoldOut("gone", details)));
    EXPECT_EQ(j, json::parse(R"({"error":{"code":"SOLD_OUT","message":"gone"}})")) << details;
  }
}

TEST(HoldJson, HasTheApiFields) {
  auto j = json::parse(hold_json(Hold{12, "HELD", "2026-01-01T00:00:00.000Z", 3000, false}));
  EXPECT_EQ(j["reservationId"], 12);
  EXPECT_EQ(j["status"], "HELD");
  EXPECT_EQ(j["expiresAt"], "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(j["amount"], 3000);
}

TEST(SchedulesJson, IncludesAvailabilityAndPools) {
  Schedule s{5, 1, "a", "b", 100, 40, {PoolInfo{9, 5, "ga", "COUPON", 10, 3, 100, 1, 1, 1}}};
  auto j = json::parse(schedules_json(1, {s}));
  EXPECT_EQ(j["schedules"][0]["availableSeats"], 40);
  EXPECT_EQ(j["schedules"][0]["pools"][0]["available"], 3);
  EXPECT_EQ(j["schedules"][0]["pools"][0]["kind"], "COUPON");
}
