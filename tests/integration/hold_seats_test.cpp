// Seat holds against a real PostgreSQL through PgStore.
#include <gtest/gtest.h>

#include "pg_store.h"
#include "seed.h"

using namespace resv;
using namespace resv::test;

namespace {
struct HoldSeats : ::testing::Test {
  TestDatabase db;
  Seeded s = seed(db, {.seats = 10});
  PgStore store{PgStoreOptions{db.url()}};
  HoldSeatsRequest req(int64_t user_offset, std::vector<int64_t> seat_idx) {
    HoldSeatsRequest r{s.first_user_id + user_offset, s.schedule_id, {}, {}, {}};
    for (auto i : seat_idx) r.seat_ids.push_back(s.seat_ids[i]);
    return r;
  }
};
}  // namespace

TEST_F(HoldSeats, HoldsFreeSeatsAndWritesReservationAndOutbox) {
  auto h = store.hold_seats(req(0, {0, 1}));
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->status, "HELD");
  EXPECT_EQ(h->amount, 2000);
  auto id = std::to_string(h->reservation_id);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id = " + id), 2);
  EXPECT_EQ(db.scalar("SELECT status FROM reservations WHERE id = " + id), "HELD");
  EXPECT_EQ(db.count("SELECT count(*) FROM outbox WHERE event_type = 'ReservationHeld' AND aggregate_id = " + id), 1);
}

TEST_F(HoldSeats, SecondHolderOfTheSameSeatGetsSeatTaken) {
  ASSERT_TRUE(store.hold_seats(req(0, {3})).ok());
  auto second = store.hold_seats(req(1, {3}));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::SeatTaken);
  EXPECT_NE(second.status().details_json().find(std::to_string(s.seat_ids[3])), std::string::npos);
}

TEST_F(HoldSeats, MultiSeatRequestIsAllOrNothing) {
  ASSERT_TRUE(store.hold_seats(req(0, {2})).ok());
  auto r = store.hold_seats(req(1, {1, 2}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::SeatTaken);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE id = " + std::to_string(s.seat_ids[1]) +
                     " AND reservation_id IS NOT NULL"),
            0)
      << "the free seat of a failed request stays free";
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 1);
}
