#pragma once
// The two sell-out scenarios shared by contention_test and two_servers_test:
// many clients racing for seats, and many buyers racing for a small pool.
// Each returns what the clients saw; the tests check that against the
// database.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <pqxx/pqxx>
#include <random>
#include <set>

#include "e2e_util.h"
#include "test_db.h"

namespace resv::e2e {

struct SeatRush {
  int created = 0;                                   // 201 answers
  std::map<int64_t, int64_t> seat_of_reservation;    // from the 201 answers
  std::map<int64_t, int64_t> user_of_reservation;
  int seat_taken = 0;                                // 409 SEAT_TAKEN answers
  std::vector<std::string> unexpected;               // anything else
  bool gave_up = false;                              // a client hit the safety deadline
};

// `clients` threads, each with its own keep-alive connection (to
// ports[t % ports.size()]) and its own user (first_user + t), reserve one
// random available seat at a time until the seat map shows none available.
// A client re-reads the seat map after three conflicts in a row.
inline SeatRush seat_rush(int64_t schedule, int64_t first_user, int clients, const std::vector<uint16_t>& ports) {
  SeatRush out;
  std::mutex mu;
  const auto give_up_at = std::chrono::steady_clock::now() + std::chrono::minutes(3);  // safety net only
  run_threads(clients, [&](int t) {
    HttpClient http("127.0.0.1", ports[static_cast<size_t>(t) % ports.size()]);
    const int64_t user = first_user + t;
    std::mt19937_64 rng(static_cast<uint64_t>(t) * 7919 + 17);
    for (;;) {
      if (std::chrono::steady_clock::now() > give_up_at) {
        std::lock_guard lock(mu);
        out.gave_up = true;
        return;
      }
      auto map = http.get("/api/schedules/" + str(schedule) + "/seats?status=available");
      if (map.status != 200) {
        std::lock_guard lock(mu);
        out.unexpected.push_back("seat map: " + std::to_string(map.status) + " " + map.body + map.error);
        if (map.status == 0 || out.unexpected.size() > 50) return;
        continue;
      }
      std::vector<int64_t> free;
      const json seat_map = json::parse(map.body);
      for (const auto& seat : seat_map.at("seats")) free.push_back(seat.at("id").get<int64_t>());
      if (free.empty()) return;
      std::shuffle(free.begin(), free.end(), rng);
      int conflicts_in_a_row = 0;
      for (size_t i = 0; i < free.size() && conflicts_in_a_row < 3; ++i) {
        auto r = http.post("/api/reservations", seat_body(user, schedule, {free[i]}));
        std::lock_guard lock(mu);
        if (r.status == 201) {
          int64_t id = json::parse(r.body)["reservationId"].get<int64_t>();
          out.created++;
          out.seat_of_reservation[id] = free[i];
          out.user_of_reservation[id] = user;
          conflicts_in_a_row = 0;
        } else if (r.status == 409 && error_code(r) == "SEAT_TAKEN") {
          out.seat_taken++;
          conflicts_in_a_row++;
        } else {
          out.unexpected.push_back(std::to_string(r.status) + " " + r.body + r.error);
          if (r.status == 0 || out.unexpected.size() > 50) return;
          conflicts_in_a_row++;
        }
      }
    }
  });
  return out;
}

// Checks the database after a seat rush over `seats` seats: every seat held
// by exactly one reservation, one seat per reservation, and exactly the
// reservations (with the seats and users) that the clients were told of.
inline void expect_seat_rush_consistent(const test::TestDatabase& db, const SeatRush& rush, int seats) {
  EXPECT_FALSE(rush.gave_up) << "clients were still reserving at the safety deadline";
  EXPECT_TRUE(rush.unexpected.empty()) << rush.unexpected.size() << " unexpected answers, first: "
                                       << (rush.unexpected.empty() ? "" : rush.unexpected.front());
  EXPECT_EQ(rush.created, seats) << "every seat is sold exactly once";
  EXPECT_EQ(rush.seat_of_reservation.size(), static_cast<size_t>(rush.created)) << "reservation ids are unique";
  std::set<int64_t> seats_sold;
  for (const auto& [res, seat] : rush.seat_of_reservation) seats_sold.insert(seat);
  EXPECT_EQ(seats_sold.size(), static_cast<size_t>(rush.created)) << "no seat was sold twice";

  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), seats);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), seats);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE status = 'HELD'"), seats);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations r"
                     " WHERE (SELECT count(*) FROM seats s WHERE s.reservation_id = r.id) <> 1"),
            0)
      << "each reservation holds exactly one seat";
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE quantity <> 1"), 0);

  pqxx::connection c(db.url());
  pqxx::nontransaction tx(c);
  size_t matched = 0;
  for (const auto& row : tx.exec("SELECT s.id, s.reservation_id, r.user_id FROM seats s"
                                 " JOIN reservations r ON r.id = s.reservation_id")) {
    int64_t seat = row[0].as<int64_t>(), res = row[1].as<int64_t>(), user = row[2].as<int64_t>();
    auto it = rush.seat_of_reservation.find(res);
    if (it == rush.seat_of_reservation.end()) {
      ADD_FAILURE() << "reservation " << res << " holds seat " << seat << " but no client was told of it";
      continue;
    }
    EXPECT_EQ(it->second, seat) << "reservation " << res;
    EXPECT_EQ(rush.user_of_reservation.at(res), user) << "reservation " << res;
    ++matched;
  }
  EXPECT_EQ(matched, rush.seat_of_reservation.size());
}

struct PoolRush {
  int created = 0;
  std::set<int64_t> reservations;  // from the 201 answers
  int sold_out = 0;                // 409 SOLD_OUT answers
  int sold_out_with_units_left = 0;  // SOLD_OUT whose "remaining" was >= the quantity asked
  std::vector<std::string> unexpected;
};

// `attempts` buyers (users first_user .. first_user + attempts - 1), buyer i
// asking once for quantity_of(i) units of `pool`, sent by `threads` client
// threads (thread t talks to ports[t % ports.size()]).
inline PoolRush pool_rush(int64_t schedule, int64_t pool, int64_t first_user, int attempts,
                          const std::function<int64_t(int)>& quantity_of, int threads,
                          const std::vector<uint16_t>& ports);

inline PoolRush pool_rush(int64_t schedule, int64_t pool, int64_t first_user, int attempts, int64_t quantity,
                          int threads, const std::vector<uint16_t>& ports) {
  return pool_rush(schedule, pool, first_user, attempts, [quantity](int) { return quantity; }, threads, ports);
}

inline PoolRush pool_rush(int64_t schedule, int64_t pool, int64_t first_user, int attempts,
                          const std::function<int64_t(int)>& quantity_of, int threads,
                          const std::vector<uint16_t>& ports) {
  PoolRush out;
  std::mutex mu;
  for_each_item(
      threads, attempts, [&](int t) { return ports[static_cast<size_t>(t) % ports.size()]; },
      [&](HttpClient& http, int i) {
        const int64_t quantity = quantity_of(i);
        auto r = http.post("/api/reservations", pool_body(first_user + i, schedule, pool, quantity));
        std::lock_guard lock(mu);
        if (r.status == 201) {
          out.created++;
          out.reservations.insert(json::parse(r.body)["reservationId"].get<int64_t>());
        } else if (r.status == 409 && error_code(r) == "SOLD_OUT") {
          out.sold_out++;
          auto j = json::parse(r.body);
          if (j["error"].contains("remaining") && j["error"]["remaining"].get<int64_t>() >= quantity)
            out.sold_out_with_units_left++;
        } else {
          out.unexpected.push_back(std::to_string(r.status) + " " + r.body + r.error);
        }
      });
  return out;
}

inline void expect_pool_rush_consistent(const test::TestDatabase& db, const PoolRush& rush, int64_t pool,
                                        int capacity, int64_t quantity, int attempts) {
  const int winners = static_cast<int>(capacity / quantity);
  EXPECT_TRUE(rush.unexpected.empty()) << rush.unexpected.size() << " unexpected answers, first: "
                                       << (rush.unexpected.empty() ? "" : rush.unexpected.front());
  EXPECT_EQ(rush.created, winners);
  EXPECT_EQ(rush.sold_out, attempts - winners);
  EXPECT_EQ(rush.sold_out_with_units_left, 0) << "SOLD_OUT was answered while enough units were left";
  EXPECT_EQ(rush.reservations.size(), static_cast<size_t>(winners));

  const std::string p = str(pool);
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE pool_id = " + p + " AND reservation_id IS NOT NULL"),
            capacity);
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE pool_id = " + p), capacity);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE pool_id = " + p), winners);
  EXPECT_EQ(db.count("SELECT coalesce(sum(quantity), 0) FROM reservations WHERE pool_id = " + p), capacity);
  EXPECT_EQ(db.count("SELECT count(DISTINCT user_id) FROM reservations WHERE pool_id = " + p), winners);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations r WHERE pool_id = " + p +
                     " AND (SELECT count(*) FROM pool_units u WHERE u.reservation_id = r.id) <> r.quantity"),
            0)
      << "each reservation holds exactly its quantity of units";
  pqxx::connection c(db.url());
  pqxx::nontransaction tx(c);
  std::set<int64_t> in_db;
  for (const auto& row : tx.exec("SELECT id FROM reservations WHERE pool_id = " + p))
    in_db.insert(row[0].as<int64_t>());
  EXPECT_EQ(in_db, rush.reservations) << "the database holds exactly the reservations the buyers were told of";
}

}  // namespace resv::e2e
