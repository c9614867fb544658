// Two servers on one database: the database decides, so the sell-out
// guarantees hold across servers; a release on one server reaches the other
// server's in-memory "sold out" answers through NOTIFY.
#include <gtest/gtest.h>

#include "e2e_util.h"
#include "rush.h"
#include "test_seed.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;

const std::vector<std::string> kPatientServer = {"--db-max-wait-ms", "30000"};

double reservations_answered(const ServerProcess& server, const std::string& cls) {
  return metric_sum(metrics_text(server), "resv_http_requests_total",
                    {"listener=\"api\"", "route=\"POST /api/reservations\"", "class=\"" + cls + "\""});
}

TEST(TwoServers, ClientsSplitOverTwoServersSellAThousandSeatsExactlyOnceEach) {
  constexpr int kSeats = 1000, kClients = 200;
  TestDatabase db;
  auto s = seed(db, {.seats = kSeats, .users = kClients, .max_seats_per_user = kSeats});
  ServerProcess a(db.url(), kPatientServer), b(db.url(), kPatientServer);

  auto rush = seat_rush(s.schedule_id, s.first_user_id, kClients, {a.port(), b.port()});

  expect_seat_rush_consistent(db, rush, kSeats);
  EXPECT_GT(reservations_answered(a, "2xx"), 0) << "server A sold seats";
  EXPECT_GT(reservations_answered(b, "2xx"), 0) << "server B sold seats";
  EXPECT_EQ(reservations_answered(a, "2xx") + reservations_answered(b, "2xx"), kSeats);
  EXPECT_EQ(api_5xx(metrics_text(a)), 0);
  EXPECT_EQ(api_5xx(metrics_text(b)), 0);
  EXPECT_EQ(a.terminate(), 0);
  EXPECT_EQ(b.terminate(), 0);
}

TEST(TwoServers, BuyersSplitOverTwoServersGetExactlyTenHoldsOfAFortyUnitPool) {
  constexpr int kCapacity = 40, kParty = 4, kBuyers = 2000, kThreads = 160;
  TestDatabase db;
  auto s = seed(db, {.seats = 1, .users = kBuyers});
  int64_t pool = add_pool(db, s.schedule_id, kCapacity, kParty, kParty);
  ServerProcess a(db.url(), kPatientServer), b(db.url(), kPatientServer);

  auto rush = pool_rush(s.schedule_id, pool, s.first_user_id, kBuyers, kParty, kThreads, {a.port(), b.port()});

  expect_pool_rush_consistent(db, rush, pool, kCapacity, kParty, kBuyers);
  EXPECT_GT(reservations_answered(a, "4xx"), 0) << "server A answered buyers";
  EXPECT_GT(reservations_answered(b, "4xx"), 0) << "server B answered buyers";
  EXPECT_EQ(api_5xx(metrics_text(a)), 0);
  EXPECT_EQ(api_5xx(metrics_text(b)), 0);
  EXPECT_EQ(a.terminate(), 0);
  EXPECT_EQ(b.terminate(), 0);
}

TEST(TwoServers, ACancellationOnOneServerReopensSalesOnTheOtherThroughNotifications) {
  TestDatabase db;
  auto s = seed(db, {.seats = 1, .users = 4});
  int64_t pool = add_pool(db, s.schedule_id, 4, 2, 2);
  // A very long filter TTL: only the release notification can clear B's
  // remembered "sold out" within this test.
  const std::vector<std::string> args = {"--filter-ttl-ms", "600000"};
  ServerProcess a(db.url(), args), b(db.url(), args);
  HttpClient to_a("127.0.0.1", a.port()), to_b("127.0.0.1", b.port());
  const int64_t u0 = s.first_user_id, u1 = u0 + 1, u2 = u0 + 2, u3 = u0 + 3;
  auto reserve = [&](HttpClient& http, int64_t user) {
    return http.post("/api/reservations", pool_body(user, s.schedule_id, pool, 2));
  };

  // Sell the pool out, half through each server.
  auto first = reserve(to_a, u0);
  ASSERT_EQ(first.status, 201) << first.body;
  ASSERT_EQ(reserve(to_b, u1).status, 201);

  // Both servers answer SOLD_OUT; each one's second answer comes from memory.
  for (auto* server : {&a, &b}) {
    SCOPED_TRACE(server == &a ? "server A" : "server B");
    HttpClient http("127.0.0.1", server->port());
    const int64_t buyer = server == &a ? u2 : u3;
    auto from_db = reserve(http, buyer);
    EXPECT_EQ(from_db.status, 409) << from_db.body;
    EXPECT_EQ(error_code(from_db), "SOLD_OUT");
    double before = metric_sum(metrics_text(*server), "resv_filter_answers_total");
    auto from_memory = reserve(http, buyer);
    EXPECT_EQ(from_memory.status, 409) << from_memory.body;
    EXPECT_EQ(error_code(from_memory), "SOLD_OUT");
    EXPECT_GT(metric_sum(metrics_text(*server), "resv_filter_answers_total"), before)
        << "the repeated SOLD_OUT was answered from memory";
  }

  // Cancel one hold through A; B learns of it through NOTIFY.
  double releases_before = metric_sum(metrics_text(b), "resv_release_notifications_total");
  int64_t res = json::parse(first.body)["reservationId"];
  auto cancelled = to_a.request("DELETE", "/api/reservations/" + str(res) + "?userId=" + str(u0));
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(json::parse(cancelled.body)["status"], "CANCELLED");
  ASSERT_TRUE(eventually(
      [&] { return metric_sum(metrics_text(b), "resv_release_notifications_total") > releases_before; }, 30))
      << "server B never received the release notification";

  auto reopened = reserve(to_b, u3);
  EXPECT_EQ(reopened.status, 201) << "B must not answer from a stale sold-out: " << reopened.body;

  // Sold out again, and the database agrees with what the buyers were told.
  EXPECT_EQ(error_code(reserve(to_a, u2)), "SOLD_OUT");
  const std::string p = str(pool);
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE pool_id = " + p + " AND reservation_id IS NOT NULL"), 4);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE pool_id = " + p + " AND status = 'HELD'"), 2);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE pool_id = " + p + " AND status = 'CANCELLED'"), 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE user_id = " + str(u3) + " AND status = 'HELD'"), 1);
  EXPECT_EQ(api_5xx(metrics_text(a)), 0);
  EXPECT_EQ(api_5xx(metrics_text(b)), 0);
}

}  // namespace
