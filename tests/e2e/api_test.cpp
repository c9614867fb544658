// The public API through the real resv-server binary.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <latch>
#include <thread>
#include <vector>

#include "e2e_util.h"
#include "server_process.h"
#include "test_http.h"
#include "test_seed.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;

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

TEST(Api, ManyFirstRequestsForOneSeatMapShareOneRenderWithTheSameBody) {
  TestDatabase db;
  auto s = seed(db, {.seats = 500});
  // A cache that outlives the test: no entry goes stale while it runs.
  ServerProcess server(db.url(), {"--read-cache-ms", "600000"});
  constexpr int kClients = 16;
  std::vector<HttpResult> answers(kClients);
  std::latch go(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&, i] {
      HttpClient http("127.0.0.1", server.port());
      go.arrive_and_wait();
      answers[static_cast<size_t>(i)] = http.get("/api/schedules/" + str(s.schedule_id) + "/seats");
    });
  for (auto& c : clients) c.join();
  for (const auto& a : answers) {
    EXPECT_EQ(a.status, 200) << a.body << a.error;
    EXPECT_EQ(a.body, answers[0].body);
  }
  EXPECT_EQ(json::parse(answers[0].body)["seats"].size(), 500u);
  EXPECT_EQ(metric_sum(metrics_text(server), "resv_read_renders_total", {}), 1)
      << "the first request renders; the others wait for its body";
}

}  // namespace
