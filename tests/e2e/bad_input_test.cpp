// Hostile and malformed input through the real server: every bad request is a
// 4xx with a stable error code and a message, never a 5xx, a hang or a crash;
// the server keeps serving afterwards.
#include <gtest/gtest.h>

#include "e2e_util.h"
#include "test_seed.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;

constexpr int kMaxBodyBytes = 4096;
constexpr int kMaxHeaderBytes = 2048;

struct BadInput : ::testing::Test {
  TestDatabase db;
  Seeded s = seed(db, {.seats = 20, .users = 20});
  int64_t pool = add_pool(db, s.schedule_id, 8, 4, 4);
  ServerProcess server{db.url(),
                       {"--max-body-bytes", std::to_string(kMaxBodyBytes), "--max-header-bytes",
                        std::to_string(kMaxHeaderBytes)}};
  HttpClient http{"127.0.0.1", server.port()};

  int64_t user(int i) const { return s.first_user_id + i; }

  // An error answer: the status, the stable code, and a non-empty message.
  static void expect_error(const HttpResult& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body << r.error;
    EXPECT_EQ(error_code(r), code) << r.body;
    EXPECT_FALSE(error_message(r).empty()) << r.body;
  }

  void expect_reservation_rejected(const std::string& body, const std::string& message_part = "") {
    SCOPED_TRACE("body: " + body.substr(0, 200));
    auto r = http.post("/api/reservations", body);
    expect_error(r, 400, "INVALID_REQUEST");
    if (!message_part.empty()) {
      EXPECT_NE(error_message(r).find(message_part), std::string::npos)
          << "the message should name '" << message_part << "': " << r.body;
    }
  }

  // After every test: nothing was reserved by the bad requests, the server
  // still serves a normal request, and it answered no 5xx on the API.
  void TearDown() override {
    EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 0) << "a rejected request changed state";
    HttpClient fresh("127.0.0.1", server.port());
    auto ok = fresh.post("/api/reservations", seat_body(user(19), s.schedule_id, {s.seat_ids[19]}));
    EXPECT_EQ(ok.status, 201) << ok.body << ok.error;
    EXPECT_EQ(fresh.get("/api/concerts").status, 200);
    auto m = metrics_text(server);
    ASSERT_FALSE(m.empty());
    EXPECT_EQ(api_5xx(m), 0) << m;
    EXPECT_TRUE(failed_api_requests_in_log(server.log()).empty()) << server.log();
  }
};

TEST_F(BadInput, MalformedJsonBodiesAreInvalidRequests) {
  for (std::string body : {"{", "not json", "{\"userId\":1,", "{'userId':1}", "{\"userId\":1}}", "\xff\xfe\xfd",
                           "{\"userId\":1,\"scheduleId\":1,\"seatIds\":[1,]}"})
    expect_reservation_rejected(body, "JSON");
  for (std::string body : {"[1,2,3]", "null", "\"a string\"", "42", "true"})
    expect_reservation_rejected(body, "object");
  expect_reservation_rejected("", "empty");

  // The same rules on the other JSON endpoints.
  expect_error(http.post("/api/reservations/1/payment", "{oops"), 400, "INVALID_REQUEST");
  expect_error(http.post("/api/reservations/1/payment", ""), 400, "INVALID_REQUEST");
  expect_error(http.post("/api/users/" + str(user(0)) + "/balance", "[]"), 400, "INVALID_REQUEST");
}

TEST_F(BadInput, WrongJsonTypesAreInvalidRequestsNamingTheField) {
  const auto sch = s.schedule_id;
  const auto seat = s.seat_ids[0];
  const auto u = user(0);
  expect_reservation_rejected(json{{"userId", "1"}, {"scheduleId", sch}, {"seatIds", {seat}}}.dump(), "userId");
  expect_reservation_rejected(json{{"userId", 1.5}, {"scheduleId", sch}, {"seatIds", {seat}}}.dump(), "userId");
  expect_reservation_rejected(json{{"userId", true}, {"scheduleId", sch}, {"seatIds", {seat}}}.dump(), "userId");
  expect_reservation_rejected(json{{"userId", nullptr}, {"scheduleId", sch}, {"seatIds", {seat}}}.dump(), "userId");
  expect_reservation_rejected(json{{"userId", {{"id", 1}}}, {"scheduleId", sch}, {"seatIds", {seat}}}.dump(),
                              "userId");
  expect_reservation_rejected(json{{"userId", u}, {"scheduleId", "x"}, {"seatIds", {seat}}}.dump(), "scheduleId");
  expect_reservation_rejected(json{{"userId", u}, {"scheduleId", sch}, {"seatIds", seat}}.dump(), "seatIds");
  expect_reservation_rejected(json{{"userId", u}, {"scheduleId", sch}, {"seatIds", "1,2"}}.dump(), "seatIds");
  expect_reservation_rejected(json{{"userId", u}, {"scheduleId", sch}, {"seatIds", {1.5}}}.dump(), "seatIds");
  expect_reservation_rejected(json{{"userId", u}, {"scheduleId", sch}, {"seatIds", {"7"}}}.dump(), "seatIds");
  expect_reservation_rejected(json{{"userId", u}, {"scheduleId", sch}, {"seatIds", {nullptr}}}.dump(), "seatIds");
  expect_reservation_rejected(
      json{{"userId", u}, {"scheduleId", sch}, {"poolId", "p"}, {"quantity", 1}}.dump(), "poolId");
  expect_reservation_rejected(
      json{{"userId", u}, {"scheduleId", sch}, {"poolId", pool}, {"quantity", "4"}}.dump(), "quantity");
  expect_reservation_rejected(
      json{{"userId", u}, {"scheduleId", sch}, {"poolId", pool}, {"quantity", 1e3}}.dump(), "quantity");
  // Deeply nested value where a number belongs.
  std::string nested = std::string(1500, '[') + std::string(1500, ']');
  expect_reservation_rejected("{\"userId\":" + nested + ",\"scheduleId\":1,\"seatIds\":[1]}", "userId");

  expect_error(http.post("/api/reservations/1/payment", json{{"userId", "me"}}.dump()), 400, "INVALID_REQUEST");
  expect_error(http.post("/api/users/" + str(u) + "/balance", json{{"amount", "100"}}.dump()), 400,
               "INVALID_REQUEST");
}

TEST_F(BadInput, NegativeZeroAndOutOfRangeNumbersAreInvalidRequests) {
  const auto sch = s.schedule_id;
  const auto u = user(0);
  for (json qty : {json(-4), json(0), json(1001), json(-9223372036854775807LL), json(18446744073709551615ULL)})
    expect_reservation_rejected(
        json{{"userId", u}, {"scheduleId", sch}, {"poolId", pool}, {"quantity", qty}}.dump(), "quantity");
  // Above the pool's max party (4): refused by the database function, still a 400.
  expect_reservation_rejected(json{{"userId", u}, {"scheduleId", sch}, {"poolId", pool}, {"quantity", 5}}.dump(),
                              "quantity");
  expect_reservation_rejected(json{{"userId", -1}, {"scheduleId", sch}, {"seatIds", {s.seat_ids[0]}}}.dump(),
                              "userId");
  expect_reservation_rejected(json{{"userId", 0}, {"scheduleId", sch}, {"seatIds", {s.seat_ids[0]}}}.dump(),
                              "userId");
  expect_reservation_rejected(
      json{{"userId", 9223372036854775808ULL}, {"scheduleId", sch}, {"seatIds", {s.seat_ids[0]}}}.dump(), "userId");
  expect_reservation_rejected(json{{"userId", u}, {"scheduleId", -7}, {"seatIds", {s.seat_ids[0]}}}.dump(),
                              "scheduleId");
  expect_reservation_rejected(json{{"userId", u}, {"scheduleId", sch}, {"seatIds", {-3}}}.dump(), "seatIds");
  expect_reservation_rejected(json{{"userId", u}, {"scheduleId", sch}, {"seatIds", {0}}}.dump(), "seatIds");
  expect_reservation_rejected(
      json{{"userId", u}, {"scheduleId", sch}, {"seatIds", {9223372036854775808ULL}}}.dump(), "seatIds");
  expect_reservation_rejected(json{{"userId", u}, {"scheduleId", sch}, {"poolId", -1}, {"quantity", 1}}.dump(),
                              "poolId");

  for (json amount : {json(-5), json(0), json(1'000'000'000'001LL)})
    expect_error(http.post("/api/users/" + str(u) + "/balance", json{{"amount", amount}}.dump()), 400,
                 "INVALID_REQUEST");
  EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = " + str(u)), 100000) << "no top-up happened";
  EXPECT_EQ(db.count("SELECT count(*) FROM balance_ledger"), 0);
}

TEST_F(BadInput, MissingOrContradictoryFieldsAreInvalidRequests) {
  const auto sch = s.schedule_id;
  const auto u = user(0);
  expect_reservation_rejected("{}", "userId");
  expect_reservation_rejected(json{{"scheduleId", sch}, {"seatIds", {s.seat_ids[0]}}}.dump(), "userId");
  expect_reservation_rejected(json{{"userId", u}, {"seatIds", {s.seat_ids[0]}}}.dump(), "scheduleId");
  expect_reservation_rejected(json{{"userId", u}, {"scheduleId", sch}}.dump(), "seatIds");
  expect_reservation_rejected(
      json{{"userId", u}, {"scheduleId", sch}, {"seatIds", {s.seat_ids[0]}}, {"poolId", pool}, {"quantity", 1}}.dump(),
      "seatIds");
  expect_reservation_rejected(json{{"userId", u}, {"scheduleId", sch}, {"poolId", pool}}.dump(), "quantity");
  expect_reservation_rejected(json{{"userId", u}, {"scheduleId", sch}, {"seatIds", json::array()}}.dump(), "seatIds");
  std::vector<int64_t> too_many(s.seat_ids.begin(), s.seat_ids.end());  // 20 seats + 1
  too_many.push_back(s.seat_ids.back() + 1);
  expect_reservation_rejected(seat_body(u, sch, too_many), "seatIds");
  expect_reservation_rejected(seat_body(u, sch, {s.seat_ids[1], s.seat_ids[1]}), "seatIds");

  expect_error(http.post("/api/reservations/1/payment", "{}"), 400, "INVALID_REQUEST");
  expect_error(http.post("/api/users/" + str(u) + "/balance", "{}"), 400, "INVALID_REQUEST");
}

TEST_F(BadInput, UnknownRoutesAreNotFound) {
  for (std::string target : {"/", "/api", "/api/nothing", "/api/concerts/1/nothing", "/api/schedules/1",
                             "/api/reservations/1/payment/extra", "/healthz", "/metrics", "/API/CONCERTS"}) {
    SCOPED_TRACE(target);
    auto r = http.get(target);
    expect_error(r, 404, "NOT_FOUND");
  }
  expect_error(http.post("/api/nothing", "{}"), 404, "NOT_FOUND");
  HttpClient admin("127.0.0.1", server.admin_port());
  expect_error(admin.get("/api/concerts"), 404, "NOT_FOUND");
}

TEST_F(BadInput, WrongMethodOnAKnownPathIsMethodNotAllowed) {
  struct Case {
    std::string method, target;
  };
  for (const auto& c : {Case{"PUT", "/api/concerts"}, Case{"DELETE", "/api/concerts/1"},
                        Case{"POST", "/api/concerts/1/schedules"}, Case{"GET", "/api/reservations"},
                        Case{"PATCH", "/api/users/1/balance"}, Case{"GET", "/api/reservations/1/payment"},
                        Case{"PUT", "/api/reservations/1"}, Case{"POST", "/api/schedules/1/seats"}}) {
    SCOPED_TRACE(c.method + " " + c.target);
    auto r = http.request(c.method, c.target, c.method == "GET" ? "" : "{}");
    expect_error(r, 405, "METHOD_NOT_ALLOWED");
  }
  HttpClient admin("127.0.0.1", server.admin_port());
  expect_error(admin.post("/healthz", "{}"), 405, "METHOD_NOT_ALLOWED");
  expect_error(admin.request("DELETE", "/metrics"), 405, "METHOD_NOT_ALLOWED");
}

TEST_F(BadInput, MalformedIdsInPathsAreInvalidRequests) {
  for (std::string id : {"abc", "0", "-1", "1.5", "1abc", "0x10", "%31", "99999999999999999999", "+1", "1e3"}) {
    SCOPED_TRACE(id);
    expect_error(http.get("/api/concerts/" + id), 400, "INVALID_REQUEST");
    expect_error(http.get("/api/concerts/" + id + "/schedules"), 400, "INVALID_REQUEST");
    expect_error(http.get("/api/schedules/" + id + "/seats"), 400, "INVALID_REQUEST");
    expect_error(http.get("/api/users/" + id + "/balance"), 400, "INVALID_REQUEST");
    expect_error(http.post("/api/reservations/" + id + "/payment", json{{"userId", user(0)}}.dump()), 400,
                 "INVALID_REQUEST");
    expect_error(http.request("DELETE", "/api/reservations/" + id + "?userId=" + str(user(0))), 400,
                 "INVALID_REQUEST");
  }
}

TEST_F(BadInput, WellFormedIdsOfMissingThingsAreNotFound) {
  const std::string missing = "987654321";
  expect_error(http.get("/api/concerts/" + missing), 404, "NOT_FOUND");
  expect_error(http.get("/api/concerts/" + missing + "/schedules"), 404, "NOT_FOUND");
  expect_error(http.get("/api/schedules/" + missing + "/seats"), 404, "NOT_FOUND");
  expect_error(http.get("/api/users/" + missing + "/balance"), 404, "NOT_FOUND");
  expect_error(http.post("/api/reservations/" + missing + "/payment", json{{"userId", user(0)}}.dump()), 404,
               "NOT_FOUND");
  expect_error(http.request("DELETE", "/api/reservations/" + missing + "?userId=" + str(user(0))), 404,
               "NOT_FOUND");
  expect_error(http.post("/api/reservations", seat_body(user(0), 987654321, {s.seat_ids[0]})), 404, "NOT_FOUND");
  expect_error(http.post("/api/reservations", seat_body(987654321, s.schedule_id, {s.seat_ids[0]})), 404,
               "NOT_FOUND");
  expect_error(http.post("/api/reservations", seat_body(user(0), s.schedule_id, {987654321})), 404, "NOT_FOUND");
  expect_error(http.post("/api/reservations", pool_body(user(0), s.schedule_id, 987654321, 1)), 404, "NOT_FOUND");
  expect_error(http.post("/api/users/" + missing + "/balance", json{{"amount", 5}}.dump()), 404, "NOT_FOUND");
}

TEST_F(BadInput, BadQueryValuesAreInvalidRequests) {
  const std::string seats = "/api/schedules/" + str(s.schedule_id) + "/seats";
  for (std::string q : {"?status=sold", "?status=", "?status", "?status=AVAILABLE", "?status=available%00"}) {
    SCOPED_TRACE(q);
    expect_error(http.get(seats + q), 400, "INVALID_REQUEST");
  }
  EXPECT_EQ(http.get(seats + "?status=available").status, 200);
  EXPECT_EQ(http.get(seats + "?other=1").status, 200) << "unknown parameters are ignored";

  for (std::string q : {"", "?", "?userId=", "?userId=abc", "?userId=-4", "?userId=0", "?userid=1", "?userId=1.0"}) {
    SCOPED_TRACE(q);
    expect_error(http.request("DELETE", "/api/reservations/1" + q), 400, "INVALID_REQUEST");
  }
}

TEST_F(BadInput, InvalidIdempotencyKeysAreInvalidRequests) {
  auto body = seat_body(user(0), s.schedule_id, {s.seat_ids[0]});
  expect_error(http.post("/api/reservations", body, {{"Idempotency-Key", std::string(129, 'k')}}), 400,
               "INVALID_REQUEST");
  expect_error(http.post("/api/reservations", body, {{"Idempotency-Key", "has space"}}), 400, "INVALID_REQUEST");
  expect_error(http.post("/api/reservations/1/payment", json{{"userId", user(0)}}.dump(),
                         {{"Idempotency-Key", std::string(200, 'k')}}),
               400, "INVALID_REQUEST");
  EXPECT_EQ(db.count("SELECT count(*) FROM idempotency_keys"), 0);
}

TEST_F(BadInput, BodyOverTheLimitIsPayloadTooLarge) {
  json big{{"userId", user(0)}, {"scheduleId", s.schedule_id}, {"seatIds", {s.seat_ids[0]}},
           {"padding", std::string(2 * kMaxBodyBytes, 'x')}};
  auto r = http.post("/api/reservations", big.dump());
  expect_error(r, 413, "PAYLOAD_TOO_LARGE");
  EXPECT_NE(error_message(r).find(std::to_string(kMaxBodyBytes)), std::string::npos) << r.body;

  // The same through chunked transfer encoding, where the size is not known up front.
  HttpClient raw("127.0.0.1", server.port());
  std::string chunk(2 * kMaxBodyBytes, ' ');
  char size_hex[32];
  std::snprintf(size_hex, sizeof size_hex, "%zx", chunk.size());
  std::string answer = raw.raw(
      "POST /api/reservations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
      std::string(size_hex) + "\r\n" + chunk + "\r\n0\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_NE(answer.find("PAYLOAD_TOO_LARGE"), std::string::npos) << answer;

  // A body just under the limit is read and judged on its content.
  json fits{{"userId", user(0)}, {"scheduleId", s.schedule_id}, {"seatIds", "nope"},
            {"padding", std::string(kMaxBodyBytes / 2, 'x')}};
  expect_error(http.post("/api/reservations", fits.dump()), 400, "INVALID_REQUEST");
}

TEST_F(BadInput, HeadersOverTheLimitAre431) {
  auto r = http.get("/api/concerts", {{"X-Padding", std::string(2 * kMaxHeaderBytes, 'h')}});
  EXPECT_EQ(r.status, 431) << r.body << r.error;
  EXPECT_EQ(error_code(r), "INVALID_REQUEST") << r.body;
  EXPECT_NE(error_message(r).find("header"), std::string::npos) << r.body;

  // Many small headers add up the same way (sent in one write).
  std::string many = "GET /api/concerts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  for (int i = 0; i < 100; ++i) many += "X-H" + std::to_string(i) + ": " + std::string(40, 'v') + "\r\n";
  HttpClient raw("127.0.0.1", server.port());
  std::string answer = raw.raw(many + "\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer;
  EXPECT_NE(answer.find("INVALID_REQUEST"), std::string::npos) << answer;

  // Under the limit: served normally.
  EXPECT_EQ(http.get("/api/concerts", {{"X-Padding", std::string(kMaxHeaderBytes / 4, 'h')}}).status, 200);
}

// A client that is still sending its (oversized) headers when the server has
// decided must still receive the 431: the server should not reset the
// connection under it (RFC 9112 section 9.6: close in stages, reading what
// the client still sends, rather than an immediate close). The HTTP client
// writes a request with many header fields in several writes.
TEST_F(BadInput, HeadersOverTheLimitAre431EvenWhileTheClientIsStillSendingThem) {
  std::map<std::string, std::string> many;
  for (int i = 0; i < 400; ++i) many["X-H" + std::to_string(i)] = std::string(40, 'v');
  int answered = 0;
  std::string last_error;
  for (int i = 0; i < 10; ++i) {
    HttpClient client("127.0.0.1", server.port());
    auto r = client.get("/api/concerts", many);
    if (r.status == 431) ++answered;
    else last_error = std::to_string(r.status) + " " + r.body + r.error;
  }
  EXPECT_EQ(answered, 10) << "requests whose 431 answer was lost; last: " << last_error;
}

TEST_F(BadInput, MalformedRawRequestsAreAnsweredWith400AndClosed) {
  for (std::string bytes : {
           std::string("NOT AN HTTP REQUEST\r\nConnection: close\r\n\r\n"),
           std::string("GET\r\nConnection: close\r\n\r\n"),
           std::string("G@T /api/concerts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
           std::string("GET /api/concerts HTTP/one\r\nHost: x\r\nConnection: close\r\n\r\n"),
           std::string("GET /api/con certs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
           std::string("GET /api/concerts HTTP/1.1\r\nNo colon here\r\nConnection: close\r\n\r\n"),
           std::string("POST /api/reservations HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\nConnection: close\r\n\r\n"),
           std::string("POST /api/reservations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n"
                       "Connection: close\r\n\r\n{}"),
           std::string("POST /api/reservations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                       "Connection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
       }) {
    SCOPED_TRACE(bytes);
    HttpClient raw("127.0.0.1", server.port());
    std::string answer = raw.raw(bytes);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
    EXPECT_NE(answer.find("\"code\":\"INVALID_REQUEST\""), std::string::npos) << answer;
    EXPECT_NE(answer.find("\"message\":\""), std::string::npos) << answer;
  }
}

}  // namespace
