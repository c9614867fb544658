// Upkeep: Idempotency-Key answers, ended queue tokens and published events
// past their retention are deleted in batches that never wait for a row
// someone holds.
#include <gtest/gtest.h>

#include <chrono>
#include <pqxx/pqxx>
#include <string>

#include "base/metrics.h"
#include "booking/pg_store.h"
#include "booking/sweeper.h"
#include "test_seed.h"

namespace {

using namespace resv;
using namespace resv::test;
using namespace std::chrono_literals;

struct Prune : ::testing::Test {
  TestDatabase db;
  Seeded s = seed(db, {.seats = 1, .users = 20});
  PgStore store{PgStoreOptions{db.url()}};

  std::string uid(int i) const { return std::to_string(s.first_user_id + i); }
  // An Idempotency-Key answer stored `age` ago.
  void key(int user, const std::string& k, const std::string& age) const {
    db.exec("INSERT INTO idempotency_keys (user_id, key, request_hash, response, created_at) VALUES (" + uid(user) +
            ", '" + k + "', 'h', '{\"ok\":true}', now() - interval '" + age + "')");
  }
  // A queue token of user `user` for the seeded concert in `status`, its
  // times `age` ago.
  void token(int user, const std::string& status, const std::string& age) const {
    const bool ended = status == "EXPIRED";
    db.exec("INSERT INTO queue_tokens (concert_id, user_id, nonce, position, status, end_reason, ended_at, issued_at,"
            " change_no) VALUES (" + std::to_string(s.concert_id) + ", " + uid(user) + ", 1, " + std::to_string(user + 1) +
            ", '" + status + "', " + (ended ? "'TTL'" : "NULL") + ", " +
            (ended ? "now() - interval '" + age + "'" : "NULL") + ", now() - interval '" + age + "', 1)");
  }
  // An outbox event written `age` ago; published or not (a published one
  // stands for those of before migration 0007: no txid).
  void event(const std::string& type, const std::string& age, bool published) const {
    db.exec("INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, created_at" +
            std::string(published ? ", txid" : "") + ") VALUES ('reservation', 1, '" + type +
            "', '{}', now() - interval '" + age + "'" + (published ? ", NULL" : "") + ")");
  }
  int64_t keys() const { return db.count("SELECT count(*) FROM idempotency_keys"); }
  int64_t tokens() const { return db.count("SELECT count(*) FROM queue_tokens"); }
};

TEST_F(Prune, DeletesOnlyWhatIsPastItsRetention) {
  db.exec("INSERT INTO queue_concerts (concert_id, max_active) VALUES (" + std::to_string(s.concert_id) + ", 10)");
  for (int i = 0; i < 3; ++i) key(i, "old", "2 days");
  for (int i = 3; i < 5; ++i) key(i, "new", "1 hour");
  for (int i = 0; i < 3; ++i) token(i, "EXPIRED", "8 days");
  token(3, "EXPIRED", "1 hour");
  token(4, "WAITING", "30 days");  // still in line, however long ago it came
  token(5, "ACTIVE", "30 days");
  event("Unpublished", "30 days", false);  // never pruned, however old
  event("Old", "2 days", true);
  event("Recent", "1 hour", true);

  auto pruned = store.prune({24h, 7 * 24h, 24h}, 1000);
  ASSERT_TRUE(pruned.ok()) << pruned.status().message();
  EXPECT_EQ(pruned->idempotency_keys, 3);
  EXPECT_EQ(pruned->queue_tokens, 3);
  EXPECT_EQ(pruned->outbox, 1);
  EXPECT_EQ(db.scalar("SELECT string_agg(event_type, ',' ORDER BY id) FROM outbox"), "Unpublished,Recent");
  EXPECT_EQ(db.scalar("SELECT string_agg(key, ',' ORDER BY user_id) FROM idempotency_keys"), "new,new");
  EXPECT_EQ(db.scalar("SELECT string_agg(status, ',' ORDER BY user_id) FROM queue_tokens"), "EXPIRED,WAITING,ACTIVE");

  auto again = store.prune({24h, 7 * 24h, 24h}, 1000);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->idempotency_keys + again->queue_tokens + again->outbox, 0) << "nothing left to prune";
}

TEST_F(Prune, TheSweeperPrunesInBatchesAndSkipsARowSomeoneHolds) {
  for (int i = 0; i < 7; ++i) key(i, "old", "2 days");
  pqxx::connection other(db.url());
  pqxx::work held(other);
  held.exec("SELECT 1 FROM idempotency_keys WHERE user_id = " + uid(0) + " FOR UPDATE");

  MetricsRegistry metrics;
  SweeperOptions o;
  o.batch = 2;
  Sweeper sweeper(o, std::make_unique<PgStore>(PgStoreOptions{db.url()}), metrics);
  auto pruned = sweeper.prune_once();  // does not wait for the held row: it would hang here
  EXPECT_EQ(pruned.idempotency_keys, 6);
  EXPECT_EQ(keys(), 1);
  EXPECT_EQ(db.count("SELECT user_id FROM idempotency_keys"), s.first_user_id) << "the held row is left";
  EXPECT_EQ(metrics.counter("resv_pruned_total", "", "what=\"idempotency_keys\"").value(), 6u);
  held.abort();

  EXPECT_EQ(sweeper.prune_once().idempotency_keys, 1) << "the next round takes it";
  EXPECT_EQ(keys(), 0);
}

TEST_F(Prune, AUserWhoseEndedTokenWasPrunedQueuesAgainAtTheEnd) {
  db.exec("INSERT INTO queue_concerts (concert_id, max_active, last_position) VALUES (" + std::to_string(s.concert_id) +
          ", 10, 3)");
  token(0, "EXPIRED", "8 days");
  ASSERT_TRUE(store.prune({24h, 7 * 24h, 24h}, 1000).ok());
  EXPECT_EQ(tokens(), 0);
  auto issued = db.scalar("SELECT resv_queue_issue(" + std::to_string(s.concert_id) + ", ARRAY[" + uid(0) + "])");
  EXPECT_NE(issued.find("\"position\": 4"), std::string::npos) << issued;
  EXPECT_NE(issued.find("\"status\": \"WAITING\""), std::string::npos) << issued;
}

}  // namespace
