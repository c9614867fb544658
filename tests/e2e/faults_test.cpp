// Faults under load, the short version of bench/faults.sh that CI runs: two
// servers on one database, buyers holding and paying seats through both,
// while every server session is ended (pg_terminate_backend), one server is
// killed with SIGKILL and the other frozen with SIGSTOP. Every answer is
// recorded and then accounted for against the database: no payment answered
// 200 is lost, nothing is sold twice, balances equal their ledgers, and no
// answer is other than 2xx, 4xx or 503 (the killed server's refused, reset
// or closed connections are counted apart).
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "e2e_util.h"
#include "test_seed.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;
using nlohmann::json;
using namespace std::chrono_literals;

struct Tally {
  std::mutex mu;
  std::vector<int64_t> paid;  // reservations whose payment was answered 200
  int64_t ok = 0, rejected = 0, unavailable = 0, refused = 0;  // refused: the killed server's lost connections
  std::vector<std::string> other;  // answers other than 2xx, 4xx, 503 or a killed server's lost connection
  std::atomic<bool> killed{false};  // set just before the kill: no connection may end unanswered before

  // `killable`: the request went to the server that is killed.
  void count(const HttpResult& r, const std::string& what, bool killable) {
    std::lock_guard lock(mu);
    if (r.status >= 200 && r.status < 300) ++ok;
    else if (r.status >= 400 && r.status < 500) ++rejected;
    else if (r.status == 503 && !header(r, "retry-after").empty()) ++unavailable;
    // A killed server refuses connections, and the ones it was answering on
    // end without an answer: reset, or closed ("end of stream") when it had
    // read the whole request. Counted apart; a timeout is not one of them,
    // nor any of these from the other server or before the kill.
    else if (killable && killed && r.status == 0 &&
             (r.error.find("refused") != std::string::npos || r.error.find("reset") != std::string::npos ||
              r.error.find("end of stream") != std::string::npos))
      ++refused;
    else other.push_back(what + ": " + std::to_string(r.status) + " " + r.body + r.error);
  }
};

TEST(FaultsUnderLoad, EveryAnswerIsAccountedForThroughEndedSessionsAKillAndAFreeze) {
  TestDatabase db;
  constexpr int kBuyers = 8, kSeatsEach = 500;
  auto s = seed(db, {.seats = kBuyers * kSeatsEach, .users = kBuyers});
  db.exec("UPDATE schedules SET max_seats_per_user = 1000");
  ServerProcess a(db.url()), b(db.url());
  const uint16_t ports[2] = {a.port(), b.port()};

  Tally tally;
  std::atomic<bool> stop{false};
  std::vector<std::thread> buyers;
  for (int t = 0; t < kBuyers; ++t)
    buyers.emplace_back([&, t] {
      const int64_t user = s.first_user_id + t;
      // Paced (about 40 seats a second each), so that the load spans every fault.
      for (int i = 0; !stop && i < kSeatsEach; ++i, std::this_thread::sleep_for(25ms)) {
        // Each request to the servers in turn, on a new connection: a killed
        // or frozen server costs a buyer one answer, not the rest of the run.
        HttpClient hold_to("127.0.0.1", ports[i % 2], 10s);
        json body{{"userId", user}, {"scheduleId", s.schedule_id}, {"seatIds", {s.seat_ids[t * kSeatsEach + i]}}};
        auto held = hold_to.post("/api/reservations", body.dump());
        tally.count(held, "hold", i % 2 == 0);
        if (held.status != 201) continue;
        const int64_t id = json::parse(held.body)["reservationId"].get<int64_t>();
        HttpClient pay_to("127.0.0.1", ports[(i + 1) % 2], 10s);
        auto paid = pay_to.post("/api/reservations/" + std::to_string(id) + "/payment", json{{"userId", user}}.dump());
        tally.count(paid, "pay", (i + 1) % 2 == 0);
        if (paid.status == 200) {
          std::lock_guard lock(tally.mu);
          tally.paid.push_back(id);
        }
      }
    });

  std::this_thread::sleep_for(1s);
  db.count("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
           " WHERE datname = current_database() AND pid <> pg_backend_pid()");
  std::this_thread::sleep_for(1s);
  tally.killed = true;
  a.signal(SIGKILL);
  std::this_thread::sleep_for(1s);
  b.signal(SIGSTOP);
  std::this_thread::sleep_for(2s);
  b.signal(SIGCONT);
  std::this_thread::sleep_for(2s);
  stop = true;
  for (auto& t : buyers) t.join();

  EXPECT_TRUE(tally.other.empty()) << tally.other.size() << " answers other than 2xx/4xx/503, first: "
                                   << tally.other.front();
  EXPECT_GT(tally.ok, 0);
  EXPECT_GT(tally.unavailable + tally.refused, 0) << "the faults reached the buyers";
  ASSERT_FALSE(tally.paid.empty());
  std::string ids;
  for (int64_t id : tally.paid) ids += (ids.empty() ? "" : ",") + std::to_string(id);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations r WHERE r.id IN (" + ids + ") AND r.status = 'CONFIRMED'"
                     " AND (SELECT count(*) FROM payments p WHERE p.reservation_id = r.id AND p.status = 'PAID') = 1"
                     " AND (SELECT count(*) FROM balance_ledger l WHERE l.reservation_id = r.id"
                     "      AND l.reason = 'PAYMENT') = 1"),
            static_cast<int64_t>(tally.paid.size()))
      << "payments answered 200 but not confirmed once in the database";
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations r WHERE r.status IN ('HELD', 'CONFIRMED')"
                     " AND (SELECT count(*) FROM seats s WHERE s.reservation_id = r.id) <> r.quantity"),
            0)
      << "seats sold twice or lost";
  EXPECT_EQ(db.count("SELECT count(*) FROM (SELECT reservation_id FROM payments WHERE status = 'PAID'"
                     " GROUP BY reservation_id HAVING count(*) > 1) x"),
            0)
      << "reservations charged twice";
  EXPECT_EQ(db.count("SELECT count(*) FROM users u WHERE EXISTS (SELECT 1 FROM balance_ledger l WHERE l.user_id = u.id)"
                     " AND u.balance <> (SELECT balance_after FROM balance_ledger l WHERE l.user_id = u.id"
                     " ORDER BY id DESC LIMIT 1)"),
            0)
      << "balances that differ from their ledgers";
  std::cout << "answers: " << tally.ok << " 2xx, " << tally.rejected << " 4xx, " << tally.unavailable << " 503, "
            << tally.refused << " connections of the killed server refused, reset or closed; " << tally.paid.size() << " payments answered 200\n";
}

}  // namespace
