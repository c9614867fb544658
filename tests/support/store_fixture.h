#pragma once
// The fixture most integration tests share: a fresh database, seeded, with
// the write paths as the server runs them (`bookings`) and a PgStore for the
// catalog reads on it, plus the helpers that look at what they did there.
// Header-only, so that it needs no change to the test support library.
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "booking/pg_store.h"
#include "sync_bookings.h"
#include "test_seed.h"

namespace resv::test {

// "OK", or the name of the result's error code ("SEAT_TAKEN", ...).
template <class T>
std::string code_of(const Result<T>& r) {
  return r.ok() ? "OK" : std::string(code_name(r.status().code()));
}

// A derived fixture picks its data by passing its own seed spec:
//   struct Payments : StoreTest {
//     Payments() : StoreTest({.users = 3}) {}
//   };
struct StoreTest : ::testing::Test {
  explicit StoreTest(const SeedSpec& spec = {}) : s(seed(db, spec)) {}

  TestDatabase db;  // declared first: `s` and `store` use it
  Seeded s;
  SyncBookings bookings{db.url()};
  PgStore store{PgStoreOptions{db.url()}};

  // Seeded users by offset: user(0) is the first one.
  int64_t user(int offset) const { return s.first_user_id + offset; }
  std::string uid(int offset) const { return std::to_string(user(offset)); }

  // A request for the seeded seats at the given indexes (s.seat_ids[i]).
  HoldSeatsRequest hold_req(int user_offset, std::vector<size_t> seat_idx, std::string key = {},
                            std::string hash = {}) const {
    HoldSeatsRequest r{user(user_offset), s.schedule_id, {}, std::move(key), std::move(hash)};
    for (auto i : seat_idx) r.seat_ids.push_back(s.seat_ids[i]);
    return r;
  }
  // Holds seats (by index) for a user; throws (failing the test) if refused.
  int64_t hold(int user_offset, std::vector<size_t> seat_idx) {
    auto h = bookings.hold_seats(hold_req(user_offset, std::move(seat_idx)));
    if (!h.ok()) throw std::runtime_error("hold failed: " + h.status().message());
    return h->reservation_id;
  }

  std::string status_of(int64_t reservation) const {
    return db.scalar("SELECT status FROM reservations WHERE id = " + std::to_string(reservation));
  }
  // Seats the reservation holds now.
  int64_t seats_of(int64_t reservation) const {
    return db.count("SELECT count(*) FROM seats WHERE reservation_id = " + std::to_string(reservation));
  }
  int64_t payments_of(int64_t reservation) const {
    return db.count("SELECT count(*) FROM payments WHERE reservation_id = " + std::to_string(reservation));
  }
  int64_t balance(int offset) const { return db.count("SELECT balance FROM users WHERE id = " + uid(offset)); }
  // Outbox events of `type` about the reservation.
  int64_t events(const std::string& type, int64_t reservation) const {
    return db.count("SELECT count(*) FROM outbox WHERE event_type = '" + type +
                    "' AND aggregate_id = " + std::to_string(reservation));
  }
};

}  // namespace resv::test
