// Idempotency-Key through the real server: concurrent retries of one request
// take effect once; a retry gets the original answer; a key reused for a
// different request is refused. Payments never charge twice.
#include <gtest/gtest.h>

#include <mutex>

#include "e2e_util.h"
#include "test_seed.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;

struct Answer {
  int status = 0;
  std::string code;      // error code, "" on success
  int64_t id = 0;        // reservationId / paymentId on success
  int64_t balance = -1;  // payments: balance after
  bool replayed = false;
  std::string raw;
};

Answer answer_of(const HttpResult& r, const char* id_field) {
  Answer a{r.status, error_code(r), 0, -1, header(r, "idempotent-replayed") == "true", r.body + r.error};
  auto j = parse_or_null(r.body);
  if ((r.status == 200 || r.status == 201) && j.is_object()) {
    if (j.contains(id_field) && j[id_field].is_number_integer()) a.id = j[id_field].get<int64_t>();
    if (j.contains("balance") && j["balance"].is_number_integer()) a.balance = j["balance"].get<int64_t>();
  }
  return a;
}

TEST(Idempotency, ConcurrentRetriesWithOneKeyReserveOnceAndConcurrentPaymentsChargeOnce) {
  constexpr int kUsers = 2000, kTries = 3, kThreads = 96;
  constexpr int64_t kBalance = 100000, kPrice = 1000;
  TestDatabase db;
  auto s = seed(db, {.seats = kUsers, .seat_price = kPrice, .users = kUsers, .balance = kBalance});
  ServerProcess server(db.url(), {"--db-max-wait-ms", "30000"});
  const auto port = [&](int) { return server.port(); };
  std::mutex mu;

  // Phase 1: every user sends the same reservation three times at once, with
  // one key. The three copies are next to each other in the work order, so
  // they run on different threads at the same time.
  std::vector<std::vector<Answer>> held(kUsers);
  for_each_item(kThreads, kUsers * kTries, port, [&](HttpClient& http, int i) {
    const int u = i / kTries;
    auto r = http.post("/api/reservations", seat_body(s.first_user_id + u, s.schedule_id, {s.seat_ids[u]}),
                       {{"Idempotency-Key", "reserve-" + std::to_string(u)}});
    auto a = answer_of(r, "reservationId");
    std::lock_guard lock(mu);
    held[static_cast<size_t>(u)].push_back(std::move(a));
  });

  std::vector<int64_t> reservation_of(kUsers, 0);
  int originals = 0, replays = 0, duplicates = 0;
  for (int u = 0; u < kUsers; ++u) {
    SCOPED_TRACE("user #" + std::to_string(u));
    ASSERT_EQ(held[u].size(), static_cast<size_t>(kTries));
    int original = 0;
    for (const auto& a : held[u]) {
      if (a.status == 201) {
        (a.replayed ? replays : originals)++;
        if (!a.replayed) original++;
        ASSERT_GT(a.id, 0) << a.raw;
        if (reservation_of[u] == 0) reservation_of[u] = a.id;
        EXPECT_EQ(a.id, reservation_of[u]) << "a replay names the original reservation";
      } else {
        EXPECT_EQ(a.status, 409) << a.raw;
        EXPECT_EQ(a.code, "DUPLICATE_REQUEST") << a.raw;
        duplicates++;
      }
    }
    ASSERT_EQ(original, 1) << "exactly one of the copies made the reservation";
  }
  EXPECT_EQ(originals, kUsers);
  EXPECT_EQ(originals + replays + duplicates, kUsers * kTries);

  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), kUsers);
  EXPECT_EQ(db.count("SELECT count(*) FROM (SELECT user_id FROM reservations GROUP BY user_id"
                     " HAVING count(*) > 1) x"),
            0)
      << "at most one reservation per user";
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), kUsers);
  EXPECT_EQ(db.count("SELECT count(*) FROM idempotency_keys"), kUsers);
  {
    pqxx::connection c(db.url());
    pqxx::nontransaction tx(c);
    for (const auto& row : tx.exec("SELECT id, user_id FROM reservations")) {
      int64_t u = row[1].as<int64_t>() - s.first_user_id;
      ASSERT_TRUE(u >= 0 && u < kUsers);
      EXPECT_EQ(row[0].as<int64_t>(), reservation_of[static_cast<size_t>(u)]);
    }
  }

  // Phase 2: every user pays three times at once. Even users send one
  // Idempotency-Key (a copy may be refused as DUPLICATE_REQUEST while the
  // first runs); odd users send none (the copies queue on the reservation).
  std::vector<std::vector<Answer>> paid(kUsers);
  for_each_item(kThreads, kUsers * kTries, port, [&](HttpClient& http, int i) {
    const int u = i / kTries;
    std::map<std::string, std::string> headers;
    if (u % 2 == 0) headers["Idempotency-Key"] = "pay-" + std::to_string(u);
    auto r = http.post("/api/reservations/" + str(reservation_of[static_cast<size_t>(u)]) + "/payment",
                       json{{"userId", s.first_user_id + u}}.dump(), headers);
    auto a = answer_of(r, "paymentId");
    std::lock_guard lock(mu);
    paid[static_cast<size_t>(u)].push_back(std::move(a));
  });

  for (int u = 0; u < kUsers; ++u) {
    SCOPED_TRACE("user #" + std::to_string(u));
    int charged = 0;
    int64_t payment = 0;
    for (const auto& a : paid[u]) {
      if (a.status == 200) {
        if (!a.replayed) charged++;
        if (payment == 0) payment = a.id;
        EXPECT_EQ(a.id, payment) << "every answer names the one payment";
        EXPECT_EQ(a.balance, kBalance - kPrice) << a.raw;
      } else {
        EXPECT_EQ(u % 2, 0) << "without a key every copy is answered 200: " << a.raw;
        EXPECT_EQ(a.status, 409) << a.raw;
        EXPECT_EQ(a.code, "DUPLICATE_REQUEST") << a.raw;
      }
    }
    EXPECT_EQ(charged, 1) << "exactly one copy charged";
  }

  EXPECT_EQ(db.count("SELECT count(*) FROM payments"), kUsers);
  EXPECT_EQ(db.count("SELECT count(*) FROM (SELECT reservation_id FROM payments GROUP BY reservation_id"
                     " HAVING count(*) > 1) x"),
            0);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE status = 'CONFIRMED'"), kUsers);
  EXPECT_EQ(db.count("SELECT count(*) FROM users WHERE balance <> " + str(kBalance - kPrice)), 0)
      << "each balance debited exactly once";
  EXPECT_EQ(db.count("SELECT count(*) FROM balance_ledger WHERE reason = 'PAYMENT'"), kUsers);
  EXPECT_EQ(db.count("SELECT count(*) FROM (SELECT user_id FROM balance_ledger GROUP BY user_id"
                     " HAVING count(*) <> 1) x"),
            0);
  EXPECT_EQ(api_5xx(metrics_text(server)), 0);
  EXPECT_EQ(server.terminate(), 0);
}

TEST(Idempotency, KeyReusedForADifferentRequestIsRefusedAndTheSameRequestIsReplayed) {
  TestDatabase db;
  auto s = seed(db, {.seats = 4, .users = 2});
  ServerProcess server(db.url());
  HttpClient http("127.0.0.1", server.port());
  const int64_t u = s.first_user_id, other = u + 1;
  const std::map<std::string, std::string> key{{"Idempotency-Key", "k-1"}};

  auto first = http.post("/api/reservations", seat_body(u, s.schedule_id, {s.seat_ids[0]}), key);
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(header(first, "idempotent-replayed"), "");
  int64_t res = json::parse(first.body)["reservationId"];

  auto different = http.post("/api/reservations", seat_body(u, s.schedule_id, {s.seat_ids[1]}), key);
  EXPECT_EQ(different.status, 422) << different.body;
  EXPECT_EQ(error_code(different), "IDEMPOTENCY_KEY_REUSED");
  EXPECT_FALSE(error_message(different).empty());

  // The same request, spelled differently (key order, spacing): a replay.
  std::string respelled = "{ \"seatIds\": [" + str(s.seat_ids[0]) + "], \"scheduleId\": " + str(s.schedule_id) +
                          ", \"userId\": " + str(u) + " }";
  auto again = http.post("/api/reservations", respelled, key);
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(header(again, "idempotent-replayed"), "true");
  EXPECT_EQ(json::parse(again.body)["reservationId"], res);
  EXPECT_EQ(json::parse(again.body)["expiresAt"], json::parse(first.body)["expiresAt"]);

  // Keys belong to a user: another user's identical key is a new request.
  auto others = http.post("/api/reservations", seat_body(other, s.schedule_id, {s.seat_ids[2]}), key);
  ASSERT_EQ(others.status, 201) << others.body;
  EXPECT_NE(json::parse(others.body)["reservationId"], res);

  // Payments: a key used for one reservation cannot pay another.
  const std::map<std::string, std::string> pay_key{{"Idempotency-Key", "pay-1"}};
  auto paid = http.post("/api/reservations/" + str(res) + "/payment", json{{"userId", u}}.dump(), pay_key);
  ASSERT_EQ(paid.status, 200) << paid.body;
  auto second = http.post("/api/reservations", seat_body(u, s.schedule_id, {s.seat_ids[3]}));
  ASSERT_EQ(second.status, 201) << second.body;
  auto wrong = http.post("/api/reservations/" + str(json::parse(second.body)["reservationId"].get<int64_t>()) +
                             "/payment",
                         json{{"userId", u}}.dump(), pay_key);
  EXPECT_EQ(wrong.status, 422) << wrong.body;
  EXPECT_EQ(error_code(wrong), "IDEMPOTENCY_KEY_REUSED");

  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE user_id = " + str(u)), 2);
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE id = " + str(s.seat_ids[1]) + " AND reservation_id IS NULL"),
            1)
      << "the refused request reserved nothing";
  EXPECT_EQ(db.count("SELECT count(*) FROM payments"), 1);
  EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = " + str(u)), 100000 - 1000);
  EXPECT_EQ(api_5xx(metrics_text(server)), 0);
}

// A client that lost the answer to its reservation retries with the same key.
// It must get its own hold back, even after other buyers were told the seat
// (or the pool) is gone and the server remembers that in memory.
TEST(Idempotency, RetryWithTheSameKeyReplaysTheHoldAfterOthersWereToldItIsTaken) {
  TestDatabase db;
  auto s = seed(db, {.seats = 2, .users = 4});
  int64_t pool = add_pool(db, s.schedule_id, 2, 2, 2);
  ServerProcess server(db.url(), {"--filter-ttl-ms", "600000"});
  HttpClient http("127.0.0.1", server.port());
  const int64_t buyer = s.first_user_id, rival = buyer + 1, pool_buyer = buyer + 2, pool_rival = buyer + 3;

  const auto seat_request = seat_body(buyer, s.schedule_id, {s.seat_ids[0]});
  auto held = http.post("/api/reservations", seat_request, {{"Idempotency-Key", "seat-retry"}});
  ASSERT_EQ(held.status, 201) << held.body;
  auto taken = http.post("/api/reservations", seat_body(rival, s.schedule_id, {s.seat_ids[0]}));
  ASSERT_EQ(error_code(taken), "SEAT_TAKEN") << taken.body;
  auto retry = http.post("/api/reservations", seat_request, {{"Idempotency-Key", "seat-retry"}});
  EXPECT_EQ(retry.status, 201) << "the retry must replay the original hold, got: " << retry.body;
  EXPECT_EQ(header(retry, "idempotent-replayed"), "true");
  if (retry.status == 201) {
    EXPECT_EQ(json::parse(retry.body)["reservationId"], json::parse(held.body)["reservationId"]);
  }

  const auto pool_request = pool_body(pool_buyer, s.schedule_id, pool, 2);
  auto pool_held = http.post("/api/reservations", pool_request, {{"Idempotency-Key", "pool-retry"}});
  ASSERT_EQ(pool_held.status, 201) << pool_held.body;
  auto sold_out = http.post("/api/reservations", pool_body(pool_rival, s.schedule_id, pool, 2));
  ASSERT_EQ(error_code(sold_out), "SOLD_OUT") << sold_out.body;
  auto pool_retry = http.post("/api/reservations", pool_request, {{"Idempotency-Key", "pool-retry"}});
  EXPECT_EQ(pool_retry.status, 201) << "the retry must replay the original hold, got: " << pool_retry.body;
  EXPECT_EQ(header(pool_retry, "idempotent-replayed"), "true");

  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 2) << "retries created nothing new";
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE user_id IN (" + str(rival) + "," + str(pool_rival) +
                     ")"),
            0);
}

}  // namespace
