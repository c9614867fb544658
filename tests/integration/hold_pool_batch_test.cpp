// resv_hold_pool_batch (sql/0008, 0009): many holds of one pool in one statement,
// against a real PostgreSQL.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "test_seed.h"

namespace {

using namespace resv;
using namespace resv::test;
using nlohmann::json;

struct HoldPoolBatch : ::testing::Test {
  TestDatabase db;
  Seeded s = seed(db, {.seats = 1, .users = 20});
  // capacity 12, parties of 1..4, at most 4 units per user
  int64_t pool = add_pool(db, s.schedule_id, 12, 4, 4, 500);

  json item(int user_offset, int quantity, const std::string& key = "") const {
    json i{{"userId", s.first_user_id + user_offset}, {"quantity", quantity}};
    if (!key.empty()) i.update({{"key", key}, {"hash", "h-" + key}});
    return i;
  }
  // The statement the server sends.
  json batch(const std::vector<json>& items) const {
    return json::parse(db.scalar("SELECT resv_hold_pool_batch(" + std::to_string(s.schedule_id) + ", " +
                                 std::to_string(pool) + ", '" + json(items).dump() + "')"));
  }
  int64_t taken() const {
    return db.count("SELECT count(*) FROM pool_units WHERE pool_id = " + std::to_string(pool) +
                    " AND reservation_id IS NOT NULL");
  }
  // Locks 2 of the 4 units left after two parties of 4 from another
  // session, as a buyer in flight would.
  void lock_two_of_four_left(pqxx::work& in_flight) {
    batch({item(0, 4), item(1, 4)});
    in_flight.exec("SELECT unit_no FROM pool_units WHERE pool_id = " + std::to_string(pool) +
                   " AND reservation_id IS NULL ORDER BY unit_no LIMIT 2 FOR UPDATE");
  }
  int64_t reservations_of(int user_offset) const {
    return db.count("SELECT count(*) FROM reservations WHERE user_id = " +
                    std::to_string(s.first_user_id + user_offset));
  }
};

// Holds a user's row locked from another session until the test ends.
struct UserRowLock {
  UserRowLock(const std::string& url, int64_t user) : conn(url), tx(conn) {
    tx.exec("SELECT 1 FROM users WHERE id = " + std::to_string(user) + " FOR UPDATE");
  }
  pqxx::connection conn;
  pqxx::work tx;
};

TEST_F(HoldPoolBatch, AnswersEveryItemInOrderAsSingleHoldsWould) {
  auto answers = batch({item(0, 4), item(1, 4), item(2, 3), item(3, 2), item(4, 1)});
  ASSERT_EQ(answers.size(), 5u) << answers;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(answers[i]["status"], "HELD") << i << ": " << answers[i];
    EXPECT_EQ(db.scalar("SELECT user_id - " + std::to_string(s.first_user_id) + " FROM reservations WHERE id = " +
                        answers[i]["reservationId"].dump()),
              std::to_string(i))
        << "item " << i << " was answered with its own reservation";
  }
  EXPECT_EQ(answers[3]["code"], "SOLD_OUT");
  EXPECT_EQ(answers[3]["remaining"], 1);
  EXPECT_EQ(answers[4]["status"], "HELD") << "a party that still fits is served after one that did not";
  EXPECT_EQ(taken(), 12);
  EXPECT_EQ(db.count("SELECT count(*) FROM outbox WHERE event_type = 'ReservationHeld'"), 4);
}

TEST_F(HoldPoolBatch, PerUserLimitCountsHoldsEarlierInTheSameBatch) {
  auto answers = batch({item(0, 3), item(0, 2)});
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0]["status"], "HELD");
  EXPECT_EQ(answers[1]["code"], "LIMIT_EXCEEDED");
  EXPECT_EQ(answers[1]["held"], 3);
}

TEST_F(HoldPoolBatch, AfterSoldOutLaterLargerPartiesAreAnsweredWithoutRunningButKeyedOnesRun) {
  batch({item(0, 4), item(1, 4), item(2, 4)});
  auto answers = batch({item(3, 2), item(4, 4), item(5, 4, "retry-5")});
  ASSERT_EQ(answers.size(), 3u);
  for (const auto& a : answers) {
    EXPECT_EQ(a["code"], "SOLD_OUT") << a;
    EXPECT_EQ(a["remaining"], 0);
  }
  EXPECT_EQ(db.count("SELECT count(*) FROM idempotency_keys WHERE key = 'retry-5'"), 1)
      << "the keyed item ran and stored its answer for its retry";
  EXPECT_EQ(batch({item(5, 4, "retry-5")})[0]["replayed"], true);
}

TEST_F(HoldPoolBatch, AnswersWithTheGateAndTheIdempotencyKeyLikeASingleHold) {
  auto first = batch({item(0, 2, "k0")})[0];
  ASSERT_EQ(first["status"], "HELD") << first;
  auto again = batch({item(1, 1), item(0, 2, "k0")});
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[1]["reservationId"], first["reservationId"]) << "a retry returns the original answer";
  EXPECT_EQ(again[1]["replayed"], true);
  json reused = item(0, 3, "k0");
  reused["hash"] = "another request";
  EXPECT_EQ(batch({reused})[0]["code"], "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(reservations_of(0), 1);
}

TEST_F(HoldPoolBatch, TheSameKeyTwiceInOneBatchHoldsOnceAndAnswersTheSecondAsInFlight) {
  auto answers = batch({item(0, 2, "k0"), item(1, 1, "k0"), item(0, 2, "k0"), item(0, 1, "k1")});
  ASSERT_EQ(answers.size(), 4u) << answers;
  EXPECT_EQ(answers[0]["status"], "HELD");
  EXPECT_EQ(answers[1]["status"], "HELD") << "keys are per user: another user's k0 is another request";
  EXPECT_EQ(answers[2]["code"], "DUPLICATE_REQUEST") << answers[2];
  EXPECT_EQ(answers[3]["status"], "HELD") << "a later item with another key of the same user runs";
  EXPECT_EQ(reservations_of(0), 2);
  EXPECT_EQ(batch({item(0, 2, "k0")})[0]["reservationId"], answers[0]["reservationId"])
      << "a retry after the batch gets the first answer back";
}

TEST_F(HoldPoolBatch, StopsBeforeALaterItemThatWouldWaitAndLeavesItUntouched) {
  UserRowLock lock(db.url(), s.first_user_id + 2);
  auto answers = batch({item(0, 2), item(1, 2), item(2, 2), item(3, 2)});
  ASSERT_EQ(answers.size(), 2u) << "answers the items before the one whose user is locked: " << answers;
  EXPECT_EQ(answers[0]["status"], "HELD");
  EXPECT_EQ(answers[1]["status"], "HELD");
  EXPECT_EQ(reservations_of(2), 0);
  EXPECT_EQ(reservations_of(3), 0) << "items past the stop are not run either";
  EXPECT_EQ(taken(), 4);
}

TEST_F(HoldPoolBatch, StopsBeforeALaterItemWhoseUnitsAreLockedByABuyerInFlight) {
  pqxx::connection other(db.url());
  pqxx::work in_flight(other);
  lock_two_of_four_left(in_flight);
  auto answers = batch({item(2, 1), item(3, 3), item(4, 1)});
  ASSERT_EQ(answers.size(), 1u) << "the party of 3 would wait for the locked units: " << answers;
  EXPECT_EQ(answers[0]["status"], "HELD");
  EXPECT_EQ(reservations_of(3) + reservations_of(4), 0);
}

TEST_F(HoldPoolBatch, ALaterItemThatTheLockedUnitsCouldNotSatisfyEitherIsSoldOutAtOnce) {
  pqxx::connection other(db.url());
  pqxx::work in_flight(other);
  lock_two_of_four_left(in_flight);
  auto answers = batch({item(2, 1), item(3, 4), item(4, 4)});
  ASSERT_EQ(answers.size(), 3u) << answers;
  EXPECT_EQ(answers[1]["code"], "SOLD_OUT") << "3 left counting the locked ones: no wait could serve 4";
  EXPECT_EQ(answers[1]["remaining"], 3);
  EXPECT_EQ(answers[2]["code"], "SOLD_OUT");
}

}  // namespace
