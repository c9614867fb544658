#include "server/converters.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <random>

namespace {

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

// How request bodies were read before the server stopped building a json
// tree for them: the reference the faster readers must agree with.
Result<ReservationRequest> parse_reservation_with_a_tree(std::string_view body) {
  if (body.empty()) return Status::Invalid("the request body is empty; send a JSON object");
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return Status::Invalid("the request body is not valid JSON");
  if (!j.is_object()) return Status::Invalid("the request body must be a JSON object");
  auto positive_int = [&](const char* field) -> Result<int64_t> {
    auto it = j.find(field);
    if (it == j.end()) return Status::Invalid(std::string(field) + " is required");
    if (!it->is_number_integer()) return Status::Invalid(std::string(field) + " must be an integer");
    if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return Status::Invalid(std::string(field) + " is too large");
    if (it->get<int64_t>() <= 0) return Status::Invalid(std::string(field) + " must be a positive integer");
    return it->get<int64_t>();
  };
  auto user = positive_int("userId");
  if (!user.ok()) return user.status();
  auto schedule = positive_int("scheduleId");
  if (!schedule.ok()) return schedule.status();
  if (j.contains("seatIds") == j.contains("poolId"))
    return Status::Invalid("send either seatIds, or poolId with quantity");
  if (j.contains("seatIds")) {
    if (!j["seatIds"].is_array()) return Status::Invalid("seatIds must be an array of seat ids");
    HoldSeatsRequest r{user.value(), schedule.value(), {}, {}, {}};
    for (const auto& e : j["seatIds"]) {
      if (!e.is_number_integer() || e.get<int64_t>() <= 0)
        return Status::Invalid("seatIds must hold positive integers");
      r.seat_ids.push_back(e.get<int64_t>());
    }
    return ReservationRequest{std::move(r)};
  }
  auto pool = positive_int("poolId");
  if (!pool.ok()) return pool.status();
  auto qty = positive_int("quantity");
  if (!qty.ok()) return qty.status();
  return ReservationRequest{HoldPoolRequest{user.value(), schedule.value(), pool.value(), qty.value(), {}, {}}};
}

std::string describe(const Result<ReservationRequest>& r) {
  if (!r.ok()) return "error: " + r.status().message();
  if (auto* p = std::get_if<HoldPoolRequest>(&r.value()))
    return "pool " + std::to_string(p->user_id) + " " + std::to_string(p->schedule_id) + " " +
           std::to_string(p->pool_id) + " " + std::to_string(p->quantity);
  const auto& s = std::get<HoldSeatsRequest>(r.value());
  std::string out = "seats " + std::to_string(s.user_id) + " " + std::to_string(s.schedule_id);
  for (auto id : s.seat_ids) out.append(" ").append(std::to_string(id));
  return out;
}

TEST(ParseReservation, AgreesWithAJsonTreeOnTwentyThousandMutatedBodies) {
  const std::vector<std::string> seeds = {
      R"({"userId":7,"scheduleId":3,"poolId":4,"quantity":2})",
      R"({ "userId" : 7 , "scheduleId":3, "seatIds" : [ 5, 2 ,9 ] })",
      R"({"userId":-7,"scheduleId":0,"seatIds":[],"x":{"poolId":1},"y":"s","z":[true,null,1.5]})",
      R"({"userId":9223372036854775807,"scheduleId":18446744073709551615,"poolId":1e3,"quantity":"2"})",
      "{\"userId\":1,\"scheduleId\":2,\"seatIds\":[3],\"caf\xc3\xa9\":1,\"a\\\"b\":2}",
  };
  const std::string alphabet = "{}[]\":, \t\n0123456789-+.eE\\ntrufalsx\xc3\xa9\xff";
  std::mt19937 rng(20261122);
  int agreed_ok = 0, agreed_error = 0;
  for (int n = 0; n < 20000; ++n) {
    std::string body = seeds[rng() % seeds.size()];
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0 && !body.empty(); --edits) {
      size_t at = rng() % body.size();
      char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: body[at] = c; break;
        case 1: body.insert(body.begin() + static_cast<long>(at), c); break;
        default: body.erase(at, 1);
      }
    }
    auto want = parse_reservation_with_a_tree(body);
    ASSERT_EQ(describe(parse_reservation(body)), describe(want)) << body;
    (want.ok() ? agreed_ok : agreed_error)++;
  }
  EXPECT_GT(agreed_ok, 300);  // both outcomes were exercised, not only malformed bodies
  EXPECT_GT(agreed_error, 1000);
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

TEST(HoldJson, WritesTheSameBytesAsAJsonTree) {
  for (const Hold& h : {Hold{12, "HELD", "2026-01-01T00:00:00.000Z", 3000, false}, Hold{1, "a\"b", "\n", -5, true}})
    EXPECT_EQ(hold_json(h), json({{"reservationId", h.reservation_id}, {"status", h.status},
                                  {"expiresAt", h.expires_at}, {"amount", h.amount}})
                                .dump());
}

TEST(SchedulesJson, IncludesAvailabilityAndPools) {
  Schedule s{5, 1, "a", "b", 100, 40, {PoolInfo{9, 5, "ga", "COUPON", 10, 3, 100, 1, 1, 1}}};
  auto j = json::parse(schedules_json(1, {s}));
  EXPECT_EQ(j["schedules"][0]["availableSeats"], 40);
  EXPECT_EQ(j["schedules"][0]["pools"][0]["available"], 3);
  EXPECT_EQ(j["schedules"][0]["pools"][0]["kind"], "COUPON");
}

TEST(ParseWarmRequest, ConcertIdsWithTheWindowOrItsDefault) {
  auto r = parse_warm_request(R"({"concertIds": [3, 1], "windowSeconds": 60})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->concerts, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(r->window, std::chrono::seconds(60));
  EXPECT_EQ(parse_warm_request(R"({"concertIds": [1]})")->window, std::chrono::seconds(900));
}

TEST(ParseWarmRequest, RefusesWhatCannotBeAConcertListOrAWindow) {
  for (const char* body : {"", "[1]", "{}", R"({"concertIds": []})", R"({"concertIds": [0]})",
                           R"({"concertIds": ["1"]})", R"({"concertIds": [1.5]})", R"({"concertIds": [1], "windowSeconds": 0})",
                           R"({"concertIds": [1], "windowSeconds": 604801})", R"({"concertIds": [1], "windowSeconds": "1m"})"}) {
    auto r = parse_warm_request(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), ErrorCode::InvalidRequest) << body;
  }
}

TEST(BearerToken, TheSchemeIsMatchedWhateverItsCase) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer abc"), "abc");
  EXPECT_EQ(bearer_token("BEARER abc"), "abc");
  EXPECT_EQ(bearer_token("Bearer   abc"), "abc") << "spaces after the scheme";
}

TEST(BearerToken, AnotherSchemeOrNoTokenGivesNothing) {
  EXPECT_EQ(bearer_token(""), "");
  EXPECT_EQ(bearer_token("Bearer"), "");
  EXPECT_EQ(bearer_token("Bearer "), "");
  EXPECT_EQ(bearer_token("Basic abc"), "");
  EXPECT_EQ(bearer_token("Bearerabc"), "");
  EXPECT_EQ(bearer_token("Bearers abc"), "");
}

}  // namespace

TEST(SeatsJson, IsByteForByteWhatAJsonTreeWritesEvenForQuotesAndNonAsciiLabels) {
  std::vector<Seat> seats{{1, "A-1", "VIP", 150000, "AVAILABLE"},
                          {2, "B \"2\"", "R", 0, "HELD"},
                          {3, "\xEB\xB0\x95-3", "S\\x", 90000, "SOLD"}};
  json arr = json::array();
  for (const auto& s : seats)
    arr.push_back({{"id", s.id}, {"label", s.label}, {"grade", s.grade}, {"price", s.price}, {"status", s.status}});
  EXPECT_EQ(seats_json(7, seats), json({{"scheduleId", 7}, {"seats", arr}}).dump());
  EXPECT_EQ(seats_json(7, {}), R"({"scheduleId":7,"seats":[]})");
}
