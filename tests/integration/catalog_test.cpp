// Catalog reads (concerts, schedules with availability, seat maps) against a
// real PostgreSQL through PgStore.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

#include "booking/pg_store.h"
#include "store_fixture.h"

namespace {

using namespace resv;
using namespace resv::test;

struct Catalog : StoreTest {
  Catalog() : StoreTest({.seats = 10, .seat_price = 1000, .users = 3, .balance = 100000}) {}

  std::map<int64_t, std::string> seat_statuses(bool available_only) {
    std::map<int64_t, std::string> out;
    auto seats = store.seats(s.schedule_id, available_only);
    if (!seats.ok()) throw std::runtime_error(seats.status().message());
    for (const auto& seat : seats.value()) out[seat.id] = seat.status;
    return out;
  }
  const Schedule* find(const std::vector<Schedule>& v, int64_t id) {
    for (const auto& x : v)
      if (x.id == id) return &x;
    return nullptr;
  }
};

// "2024-05-01T19:30:00.000Z": ISO 8601 UTC with milliseconds.
bool iso_utc(const std::string& t) {
  const std::string shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (t.size() != shape.size()) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    bool digit = t[i] >= '0' && t[i] <= '9';
    if (shape[i] == 'd' ? !digit : t[i] != shape[i]) return false;
  }
  return true;
}

TEST_F(Catalog, ConcertsAreListedInIdOrder) {
  auto second = std::stoll(db.scalar("INSERT INTO concerts (name, venue) VALUES ('Second', 'Arena') RETURNING id"));
  auto all = store.concerts();
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all.value()[0].id, s.concert_id);
  EXPECT_EQ(all.value()[0].name, "Test Concert");
  EXPECT_EQ(all.value()[0].venue, "Test Hall");
  EXPECT_EQ(all.value()[1].id, second);
  EXPECT_EQ(all.value()[1].name, "Second");
  EXPECT_EQ(all.value()[1].venue, "Arena");
}

TEST_F(Catalog, ConcertByIdAndUnknownConcertIsNotFound) {
  auto c = store.concert(s.concert_id);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->name, "Test Concert");
  EXPECT_EQ(c->venue, "Test Hall");
  EXPECT_EQ(code_of(store.concert(s.concert_id + 1000)), "NOT_FOUND");
  EXPECT_EQ(code_of(store.schedules(s.concert_id + 1000)), "NOT_FOUND");
}

TEST_F(Catalog, SchedulesListOnlyTheirConcertsInStartOrder) {
  auto earlier = std::stoll(db.scalar("INSERT INTO schedules (concert_id, starts_at) VALUES (" +
                                      std::to_string(s.concert_id) + ", now() + interval '1 day') RETURNING id"));
  auto other_concert = db.scalar("INSERT INTO concerts (name) VALUES ('Other') RETURNING id");
  db.exec("INSERT INTO schedules (concert_id, starts_at) VALUES (" + other_concert + ", now())");
  auto list = store.schedules(s.concert_id);
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(list.value()[0].id, earlier);
  EXPECT_EQ(list.value()[1].id, s.schedule_id);
  for (const auto& sc : list.value()) {
    EXPECT_EQ(sc.concert_id, s.concert_id);
    EXPECT_TRUE(iso_utc(sc.starts_at)) << sc.starts_at;
    EXPECT_TRUE(iso_utc(sc.sales_open_at)) << sc.sales_open_at;
  }
  EXPECT_EQ(list.value()[0].total_seats, 0);
  EXPECT_TRUE(list.value()[0].pools.empty());
  auto empty = store.schedules(std::stoll(other_concert));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 1u);
}

TEST_F(Catalog, AvailabilityCountsFollowHoldsPaymentsAndCancellations) {
  int64_t pool = add_pool(db, s.schedule_id, 10, 4, 4, 750, "RESTAURANT_SLOT");
  auto initial = store.schedules(s.concert_id);
  ASSERT_TRUE(initial.ok()) << initial.status().message();
  const Schedule* sc = find(initial.value(), s.schedule_id);
  ASSERT_NE(sc, nullptr);
  EXPECT_EQ(sc->total_seats, 10);
  EXPECT_EQ(sc->available_seats, 10);
  ASSERT_EQ(sc->pools.size(), 1u);
  const PoolInfo& p = sc->pools[0];
  EXPECT_EQ(p.id, pool);
  EXPECT_EQ(p.schedule_id, s.schedule_id);
  EXPECT_EQ(p.name, "pool");
  EXPECT_EQ(p.kind, "RESTAURANT_SLOT");
  EXPECT_EQ(p.capacity, 10);
  EXPECT_EQ(p.available, 10);
  EXPECT_EQ(p.price, 750);
  EXPECT_EQ(p.min_party, 1);
  EXPECT_EQ(p.max_party, 4);
  EXPECT_EQ(p.max_per_user, 4);

  auto seats = bookings.hold_seats({user(0), s.schedule_id, {s.seat_ids[0], s.seat_ids[1], s.seat_ids[2]}, {}, {}});
  ASSERT_TRUE(seats.ok());
  auto units = bookings.hold_pool({user(1), s.schedule_id, pool, 3, {}, {}});
  ASSERT_TRUE(units.ok());
  ASSERT_TRUE(bookings.pay({units->reservation_id, user(1), {}, {}}).ok());

  auto held = store.schedules(s.concert_id);
  ASSERT_TRUE(held.ok());
  sc = find(held.value(), s.schedule_id);
  ASSERT_NE(sc, nullptr);
  EXPECT_EQ(sc->total_seats, 10);
  EXPECT_EQ(sc->available_seats, 7);
  ASSERT_EQ(sc->pools.size(), 1u);
  EXPECT_EQ(sc->pools[0].available, 7);
  EXPECT_EQ(sc->pools[0].capacity, 10);

  ASSERT_TRUE(bookings.cancel(seats->reservation_id, user(0)).ok());
  ASSERT_TRUE(bookings.cancel(units->reservation_id, user(1)).ok());
  auto after = store.schedules(s.concert_id);
  ASSERT_TRUE(after.ok());
  sc = find(after.value(), s.schedule_id);
  ASSERT_NE(sc, nullptr);
  EXPECT_EQ(sc->available_seats, 10);
  EXPECT_EQ(sc->pools[0].available, 10);
}

TEST_F(Catalog, SeatMapShowsAvailableHeldAndSold) {
  auto held = bookings.hold_seats({user(0), s.schedule_id, {s.seat_ids[0]}, {}, {}});
  ASSERT_TRUE(held.ok());
  auto sold = bookings.hold_seats({user(1), s.schedule_id, {s.seat_ids[1]}, {}, {}});
  ASSERT_TRUE(sold.ok());
  ASSERT_TRUE(bookings.pay({sold->reservation_id, user(1), {}, {}}).ok());

  auto all = store.seats(s.schedule_id, false);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 10u);
  for (size_t i = 0; i < all->size(); ++i) {
    const Seat& seat = all.value()[i];
    EXPECT_EQ(seat.id, s.seat_ids[i]) << "in id order";
    EXPECT_EQ(seat.price, 1000);
    EXPECT_EQ(seat.label, std::string("S").append(std::to_string(i + 1)));
    EXPECT_EQ(seat.grade, (i + 1) % 10 == 0 ? "VIP" : "R");
    EXPECT_EQ(seat.status, i == 0 ? "HELD" : i == 1 ? "SOLD" : "AVAILABLE") << "seat " << i;
  }

  auto available = seat_statuses(true);
  EXPECT_EQ(available.size(), 8u);
  EXPECT_EQ(available.count(s.seat_ids[0]), 0u);
  EXPECT_EQ(available.count(s.seat_ids[1]), 0u);
  for (const auto& [id, status] : available) EXPECT_EQ(status, "AVAILABLE") << id;

  ASSERT_TRUE(bookings.cancel(held->reservation_id, user(0)).ok());
  EXPECT_EQ(seat_statuses(false)[s.seat_ids[0]], "AVAILABLE");
  EXPECT_EQ(seat_statuses(true).size(), 9u);
}

TEST_F(Catalog, ExpiredButUnsweptHoldStillShowsHeld) {
  auto held = bookings.hold_seats({user(0), s.schedule_id, {s.seat_ids[3]}, {}, {}});
  ASSERT_TRUE(held.ok());
  db.exec("UPDATE reservations SET expires_at = now() - interval '1 second'");
  EXPECT_EQ(seat_statuses(false)[s.seat_ids[3]], "HELD");
  EXPECT_EQ(seat_statuses(true).count(s.seat_ids[3]), 0u);
  ASSERT_TRUE(store.expire_holds(10).ok());
  EXPECT_EQ(seat_statuses(false)[s.seat_ids[3]], "AVAILABLE");
  EXPECT_EQ(seat_statuses(true).count(s.seat_ids[3]), 1u);
}

TEST_F(Catalog, SeatsOfAnUnknownScheduleIsNotFound) {
  EXPECT_EQ(code_of(store.seats(s.schedule_id + 1000, false)), "NOT_FOUND");
  EXPECT_EQ(code_of(store.seats(s.schedule_id + 1000, true)), "NOT_FOUND");
  auto bare = std::stoll(db.scalar("INSERT INTO schedules (concert_id, starts_at) VALUES (" +
                                   std::to_string(s.concert_id) + ", now()) RETURNING id"));
  auto none = store.seats(bare, false);
  ASSERT_TRUE(none.ok()) << "a schedule without seats has an empty seat map";
  EXPECT_TRUE(none->empty());
}

}  // namespace
