// The public API through the real resv-server binary.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server_process.h"
#include "test_http.h"
#include "test_seed.h"

namespace {

using namespace resv::test;
using nlohmann::json;

TEST(Api, BrowseReservePayCancelThroughTheRealServer) {
  TestDatabase db;
  auto s = seed(db, {.seats = 20});
  ServerProcess server(db.url());
  HttpClient http("127.0.0.1", server.port());

  auto concerts = http.get("/api/concerts");
  ASSERT_EQ(concerts.status, 200);
  EXPECT_EQ(json::parse(concerts.body)["concerts"][0]["id"], s.concert_id);

  auto seats = http.get("/api/schedules/" + std::to_string(s.schedule_id) + "/seats?status=available");
  ASSERT_EQ(seats.status, 200);
  EXPECT_EQ(json::parse(seats.body)["seats"].size(), 20u);

  json body{{"userId", s.first_user_id}, {"scheduleId", s.schedule_id}, {"seatIds", {s.seat_ids[0]}}};
  auto held = http.post("/api/reservations", body.dump());
  ASSERT_EQ(held.status, 201) << held.body;
  int64_t res = json::parse(held.body)["reservationId"];

  auto paid = http.post("/api/reservations/" + std::to_string(res) + "/payment",
                        json{{"userId", s.first_user_id}}.dump());
  ASSERT_EQ(paid.status, 200) << paid.body;
  EXPECT_EQ(json::parse(paid.body)["status"], "CONFIRMED");
  EXPECT_EQ(json::parse(paid.body)["balance"], 100000 - 1000);

  auto cancelled = http.request("DELETE", "/api/reservations/" + std::to_string(res) + "?userId=" +
                                              std::to_string(s.first_user_id));
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(json::parse(cancelled.body)["refunded"], 1000);
  EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = " + std::to_string(s.first_user_id)), 100000);
  EXPECT_EQ(server.terminate(), 0);
}

}  // namespace
