// Regression: two buyers splitting the last units of a pool between their
// partial locks must not both answer SOLD_OUT and leave the units unsold.
#include <gtest/gtest.h>

#include <barrier>
#include <thread>

#include "booking/pg_store.h"
#include "sync_bookings.h"
#include "test_seed.h"

namespace {

using namespace resv;
using namespace resv::test;

TEST(PoolSplit, LastUnitsAreSoldWhenTwoBuyersRaceForThem) {
  TestDatabase db;
  auto s = seed(db, {.seats = 0, .users = 400});
  const int rounds = 100;
  std::vector<int64_t> pools;
  for (int r = 0; r < rounds; ++r) pools.push_back(add_pool(db, s.schedule_id, 8, 4, 4));
  // Each pool starts with 4 of 8 units held, so exactly one of two racing
  // requests for 4 can and must succeed.
  SyncBookings setup{db.url(), {.size = 1}};
  for (int r = 0; r < rounds; ++r)
    ASSERT_TRUE(setup.hold_pool({s.first_user_id + 399, s.schedule_id, pools[r], 4, {}, {}}).ok());

  std::vector<int> wins(rounds, 0), sold_out(rounds, 0);
  std::barrier sync(2);
  auto buyer = [&](int64_t user_base) {
    SyncBookings bookings{db.url(), {.size = 1}};
    for (int r = 0; r < rounds; ++r) {
      sync.arrive_and_wait();
      auto h = bookings.hold_pool({user_base + r, s.schedule_id, pools[r], 4, {}, {}});
      if (h.ok())
        __atomic_add_fetch(&wins[r], 1, __ATOMIC_RELAXED);
      else if (h.status().code() == ErrorCode::SoldOut)
        __atomic_add_fetch(&sold_out[r], 1, __ATOMIC_RELAXED);
      else
        ADD_FAILURE() << "unexpected " << code_name(h.status().code()) << ": " << h.status().message();
    }
  };
  std::thread a(buyer, s.first_user_id), b(buyer, s.first_user_id + 200);
  a.join();
  b.join();
  for (int r = 0; r < rounds; ++r) {
    EXPECT_EQ(wins[r], 1) << "round " << r;
    EXPECT_EQ(sold_out[r], 1) << "round " << r;
  }
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE reservation_id IS NULL"), 0)
      << "no unit is left unsold";
}

}  // namespace
