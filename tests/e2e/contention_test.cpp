// Many concurrent buyers against one server: no seat or unit is ever sold
// twice, every one is sold, and contention never turns into a 5xx.
#include <gtest/gtest.h>

#include "e2e_util.h"
#include "rush.h"
#include "test_seed.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;

// Correctness under contention, not load shedding: let queued requests wait
// for a connection rather than be refused after the default 500 ms (slow
// sanitizer builds on two cores).
const std::vector<std::string> kPatientServer = {"--db-max-wait-ms", "30000"};

// 2,000 buyers in parties of 4 rush a pool of 40 on one server started with
// `server_args`: exactly 10 holds, every other attempt SOLD_OUT, no 5xx.
void rush_a_forty_unit_pool(const std::vector<std::string>& server_args) {
  constexpr int kCapacity = 40, kParty = 4, kBuyers = 2000, kThreads = 160;
  TestDatabase db;
  auto s = seed(db, {.seats = 1, .users = kBuyers});
  int64_t pool = add_pool(db, s.schedule_id, kCapacity, kParty, kParty);
  ServerProcess server(db.url(), server_args);

  auto rush = pool_rush(s.schedule_id, pool, s.first_user_id, kBuyers, kParty, kThreads, {server.port()});

  expect_pool_rush_consistent(db, rush, pool, kCapacity, kParty, kBuyers);
  auto m = metrics_text(server);
  EXPECT_EQ(api_5xx(m), 0) << m;
  EXPECT_EQ(server.terminate(), 0);
}

TEST(Contention, TwoHundredClientsSellAThousandSeatsExactlyOnceEach) {
  constexpr int kSeats = 1000, kClients = 200;
  TestDatabase db;
  auto s = seed(db, {.seats = kSeats, .users = kClients, .max_seats_per_user = kSeats});
  ServerProcess server(db.url(), kPatientServer);

  auto rush = seat_rush(s.schedule_id, s.first_user_id, kClients, {server.port()});

  expect_seat_rush_consistent(db, rush, kSeats);
  EXPECT_GT(rush.seat_taken, 0) << "the clients did contend for seats";
  auto m = metrics_text(server);
  EXPECT_EQ(api_5xx(m), 0) << m;
  HttpClient http("127.0.0.1", server.port());
  auto left = http.get("/api/schedules/" + str(s.schedule_id) + "/seats?status=available");
  ASSERT_EQ(left.status, 200);
  EXPECT_TRUE(json::parse(left.body)["seats"].empty());
  EXPECT_EQ(server.terminate(), 0);
}

TEST(Contention, TwoThousandBuyersOfAFortyUnitPoolGetExactlyTenHoldsAndSoldOut) {
  rush_a_forty_unit_pool(kPatientServer);
}

// With several I/O threads the database pool runs on a thread of its own
// (with one it shares the I/O thread's loop, as every other test here runs).
TEST(Contention, WithTwoIoThreadsTwoThousandBuyersOfAFortyUnitPoolGetExactlyTenHolds) {
  auto args = kPatientServer;
  args.insert(args.end(), {"--io-threads", "2"});
  rush_a_forty_unit_pool(args);
}

// Party sizes 1..4 against the same pool: a buyer must never be told SOLD_OUT
// while enough units are in fact left (e.g. units another buyer had locked
// and then let go), so with this many buyers every unit ends up sold.
TEST(Contention, BuyersOfMixedPartySizesSellEveryUnitOfAPool) {
  constexpr int kCapacity = 40, kMaxParty = 4, kBuyers = 2000, kThreads = 160;
  TestDatabase db;
  auto s = seed(db, {.seats = 1, .users = kBuyers});
  int64_t pool = add_pool(db, s.schedule_id, kCapacity, kMaxParty, kMaxParty);
  ServerProcess server(db.url(), kPatientServer);
  auto quantity_of = [](int i) { return static_cast<int64_t>(1 + (i * 7 + i / 5) % kMaxParty); };

  auto rush = pool_rush(s.schedule_id, pool, s.first_user_id, kBuyers, quantity_of, kThreads, {server.port()});

  EXPECT_TRUE(rush.unexpected.empty()) << rush.unexpected.size() << " unexpected answers, first: "
                                       << (rush.unexpected.empty() ? "" : rush.unexpected.front());
  EXPECT_EQ(rush.sold_out_with_units_left, 0);
  EXPECT_EQ(rush.created + rush.sold_out, kBuyers);
  const std::string p = str(pool);
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE pool_id = " + p + " AND reservation_id IS NOT NULL"),
            kCapacity)
      << "units were left unsold although " << rush.sold_out << " buyers were told SOLD_OUT";
  EXPECT_EQ(db.count("SELECT coalesce(sum(quantity), 0) FROM reservations WHERE pool_id = " + p), kCapacity);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE pool_id = " + p), rush.created);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations r WHERE pool_id = " + p +
                     " AND (SELECT count(*) FROM pool_units u WHERE u.reservation_id = r.id) <> r.quantity"),
            0);
  EXPECT_EQ(api_5xx(metrics_text(server)), 0);
}

}  // namespace
