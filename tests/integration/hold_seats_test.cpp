// Seat holds against a real PostgreSQL, through the write paths the server
// runs (SyncBookings).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "booking/pg_store.h"
#include "store_fixture.h"

namespace {

using namespace resv;
using namespace resv::test;

struct HoldSeats : StoreTest {
  HoldSeats() : StoreTest({.seats = 10}) {}
};

TEST_F(HoldSeats, HoldsFreeSeatsAndWritesReservationAndOutbox) {
  auto h = bookings.hold_seats(hold_req(0, {0, 1}));
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->status, "HELD");
  EXPECT_EQ(h->amount, 2000);
  auto id = std::to_string(h->reservation_id);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id = " + id), 2);
  EXPECT_EQ(db.scalar("SELECT status FROM reservations WHERE id = " + id), "HELD");
  EXPECT_EQ(db.count("SELECT count(*) FROM outbox WHERE event_type = 'ReservationHeld' AND aggregate_id = " + id), 1);
}

TEST_F(HoldSeats, SecondHolderOfTheSameSeatGetsSeatTaken) {
  ASSERT_TRUE(bookings.hold_seats(hold_req(0, {3})).ok());
  auto second = bookings.hold_seats(hold_req(1, {3}));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::SeatTaken);
  EXPECT_NE(second.status().details_json().find(std::to_string(s.seat_ids[3])), std::string::npos);
}

TEST_F(HoldSeats, MultiSeatRequestIsAllOrNothing) {
  ASSERT_TRUE(bookings.hold_seats(hold_req(0, {2})).ok());
  auto r = bookings.hold_seats(hold_req(1, {1, 2}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::SeatTaken);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE id = " + std::to_string(s.seat_ids[1]) +
                     " AND reservation_id IS NOT NULL"),
            0)
      << "the free seat of a failed request stays free";
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 1);
}

// A second schedule of the same concert with `n` seats; returns {schedule, seat ids}.
std::pair<int64_t, std::vector<int64_t>> add_schedule(const TestDatabase& db, int64_t concert_id, int n) {
  auto sched = db.scalar("INSERT INTO schedules (concert_id, starts_at) VALUES (" + std::to_string(concert_id) +
                         ", now() + interval '8 days') RETURNING id");
  db.exec("INSERT INTO seats (schedule_id, label, grade, price) SELECT " + sched +
          ", 'T' || g, 'R', 1000 FROM generate_series(1, " + std::to_string(n) + ") g");
  std::vector<int64_t> ids;
  auto list = db.scalar("SELECT string_agg(id::text, ',' ORDER BY id) FROM seats WHERE schedule_id = " + sched);
  for (size_t pos = 0; pos < list.size();) {
    auto comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    ids.push_back(std::stoll(list.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return {std::stoll(sched), ids};
}

TEST_F(HoldSeats, ReservationRecordsAmountQuantityAndExpiryHoldSecondsAhead) {
  db.exec("UPDATE seats SET price = 2500 WHERE id = " + std::to_string(s.seat_ids[4]));
  auto h = bookings.hold_seats(hold_req(0, {4, 5}));
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->amount, 3500);
  EXPECT_FALSE(h->replayed);
  auto id = std::to_string(h->reservation_id);
  EXPECT_EQ(db.scalar("SELECT user_id || ' ' || schedule_id || ' ' || quantity || ' ' || amount || ' ' ||"
                      " (pool_id IS NULL) FROM reservations WHERE id = " + id),
            std::to_string(s.first_user_id) + " " + std::to_string(s.schedule_id) + " 2 3500 true");
  EXPECT_EQ(db.count("SELECT extract(epoch FROM expires_at - created_at)::bigint FROM reservations WHERE id = " + id),
            300);
  EXPECT_EQ(db.scalar("SELECT resv_ts(expires_at) FROM reservations WHERE id = " + id), h->expires_at);
}

TEST_F(HoldSeats, HoldingBeyondThePerUserLimitIsLimitExceeded) {
  ASSERT_TRUE(bookings.hold_seats(hold_req(0, {0, 1, 2})).ok());
  auto over = bookings.hold_seats(hold_req(0, {3, 4}));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(code_of(over), "LIMIT_EXCEEDED");
  auto d = nlohmann::json::parse(over.status().details_json());
  EXPECT_EQ(d["limit"], 4);
  EXPECT_EQ(d["held"], 3);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE user_id = " + std::to_string(s.first_user_id)), 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 3);

  auto up_to_limit = bookings.hold_seats(hold_req(0, {3}));
  ASSERT_TRUE(up_to_limit.ok()) << "exactly the limit is allowed: " << up_to_limit.status().message();
  EXPECT_EQ(db.count("SELECT count(*) FROM seats s JOIN reservations r ON r.id = s.reservation_id"
                     " WHERE r.user_id = " + std::to_string(s.first_user_id)),
            4);
}

TEST_F(HoldSeats, ConfirmedSeatsCountTowardTheLimitAndCancelledOnesDoNot) {
  auto first = bookings.hold_seats(hold_req(0, {0, 1}));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(bookings.pay({first->reservation_id, s.first_user_id, {}, {}}).ok());
  auto second = bookings.hold_seats(hold_req(0, {2, 3}));
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(code_of(bookings.hold_seats(hold_req(0, {4}))), "LIMIT_EXCEEDED");

  ASSERT_TRUE(bookings.cancel(second->reservation_id, s.first_user_id).ok());
  auto third = bookings.hold_seats(hold_req(0, {4, 5}));
  ASSERT_TRUE(third.ok()) << third.status().message();
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE status IN ('HELD', 'CONFIRMED')"), 2);
}

TEST_F(HoldSeats, ExpiredHoldNoLongerCountsTowardTheLimit) {
  auto first = bookings.hold_seats(hold_req(0, {0, 1, 2, 3}));
  ASSERT_TRUE(first.ok());
  db.exec("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = " +
          std::to_string(first->reservation_id));
  auto next = bookings.hold_seats(hold_req(0, {4, 5}));
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id = " + std::to_string(next->reservation_id)), 2);
}

TEST_F(HoldSeats, LimitIsPerSchedule) {
  auto [other, other_seats] = add_schedule(db, s.concert_id, 5);
  ASSERT_TRUE(bookings.hold_seats(hold_req(0, {0, 1, 2, 3})).ok());
  auto h = bookings.hold_seats({s.first_user_id, other, {other_seats[0], other_seats[1]}, {}, {}});
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE schedule_id = " + std::to_string(other) +
                     " AND reservation_id IS NOT NULL"),
            2);
}

TEST_F(HoldSeats, UnknownSeatIsNotFoundAndHoldsNothing) {
  auto r = bookings.hold_seats({s.first_user_id, s.schedule_id, {s.seat_ids[0], s.seat_ids.back() + 1000}, {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r), "NOT_FOUND");
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM outbox"), 0);
}

TEST_F(HoldSeats, SeatOfAnotherScheduleIsNotFound) {
  auto [other, other_seats] = add_schedule(db, s.concert_id, 3);
  auto r = bookings.hold_seats({s.first_user_id, s.schedule_id, {other_seats[0]}, {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r), "NOT_FOUND");
  auto mixed = bookings.hold_seats({s.first_user_id, other, {other_seats[1], s.seat_ids[0]}, {}, {}});
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(code_of(mixed), "NOT_FOUND");
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 0);
}

TEST_F(HoldSeats, UnknownUserIsNotFound) {
  auto r = bookings.hold_seats({s.first_user_id + 1000, s.schedule_id, {s.seat_ids[0]}, {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r), "NOT_FOUND");
  EXPECT_NE(r.status().message().find("user"), std::string::npos) << r.status().message();
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 0);
}

TEST_F(HoldSeats, UnknownScheduleIsNotFound) {
  auto r = bookings.hold_seats({s.first_user_id, s.schedule_id + 1000, {s.seat_ids[0]}, {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r), "NOT_FOUND");
  EXPECT_NE(r.status().message().find("schedule"), std::string::npos) << r.status().message();
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 0);
}

TEST_F(HoldSeats, ExpiredButUnsweptHoldKeepsItsSeatUntilSwept) {
  auto first = bookings.hold_seats(hold_req(0, {6}));
  ASSERT_TRUE(first.ok());
  auto first_id = std::to_string(first->reservation_id);
  db.exec("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = " + first_id);

  auto blocked = bookings.hold_seats(hold_req(1, {6}));
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(code_of(blocked), "SEAT_TAKEN");
  EXPECT_EQ(db.scalar("SELECT reservation_id FROM seats WHERE id = " + std::to_string(s.seat_ids[6])), first_id);

  auto swept = store.expire_holds(100);
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(swept.value(), 1);
  EXPECT_EQ(db.scalar("SELECT status FROM reservations WHERE id = " + first_id), "EXPIRED");

  auto now_free = bookings.hold_seats(hold_req(1, {6}));
  ASSERT_TRUE(now_free.ok()) << now_free.status().message();
  EXPECT_EQ(db.scalar("SELECT reservation_id FROM seats WHERE id = " + std::to_string(s.seat_ids[6])),
            std::to_string(now_free->reservation_id));
}

}  // namespace
