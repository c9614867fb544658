// AsyncPg, the non-blocking pool behind the hot paths, against a real PostgreSQL.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <pqxx/pqxx>
#include <thread>
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange
#include <boost/asio.hpp>

#include "async_pg.h"
#include "test_seed.h"

using namespace resv;
using namespace resv::test;
using namespace std::chrono_literals;

namespace {

// Runs an io_context on its own thread for the pool under test.
struct Loop {
  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread{[this] { ioc.run(); }};
  ~Loop() {
    work.reset();
    ioc.stop();
    thread.join();
  }
};

bool wait_connected(const AsyncPg& pg, int n) {
  for (int i = 0; i < 600 && pg.connected() < n; ++i) std::this_thread::sleep_for(50ms);
  return pg.connected() >= n;
}

Result<std::string> call(AsyncPg& pg, const char* statement, std::vector<std::optional<std::string>> params,
                         AsyncPg::Precheck precheck = {}) {
  auto promise = std::make_shared<std::promise<Result<std::string>>>();
  auto future = promise->get_future();
  if (!pg.submit(statement, std::move(params), [promise](Result<std::string> r) { promise->set_value(std::move(r)); },
                 std::move(precheck)))
    return Status::Overloaded("refused");
  if (future.wait_for(30s) != std::future_status::ready) return Status::Internal("no answer within 30 s");
  return future.get();
}

struct AsyncPgTest : ::testing::Test {
  TestDatabase db;
  Seeded s = seed(db, {.seats = 4, .users = 2});
  MetricsRegistry metrics;
  Loop loop;
  std::string uid(int i) const { return std::to_string(s.first_user_id + i); }
};

}  // namespace

TEST_F(AsyncPgTest, RunsAPreparedStatementAndAnswersItsText) {
  AsyncPg pg(loop.ioc, {db.url(), 2}, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 2));
  auto r = call(pg, "balance", {uid(0)});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_NE(r.value().find("\"balance\": 100000"), std::string::npos) << r.value();
  pg.stop();
}

TEST_F(AsyncPgTest, WritesThroughTheSameFunctionsAsTheStore) {
  AsyncPg pg(loop.ioc, {db.url(), 1}, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 1));
  auto r = call(pg, "hold_seats",
                {uid(0), std::to_string(s.schedule_id), "{" + std::to_string(s.seat_ids[0]) + "}", std::nullopt,
                 std::nullopt, std::nullopt});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_NE(r.value().find("\"ok\": true"), std::string::npos) << r.value();
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 1);
  pg.stop();
}

TEST_F(AsyncPgTest, PrecheckAnswersWithoutTheDatabase) {
  AsyncPg pg(loop.ioc, {db.url(), 1}, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 1));
  auto r = call(pg, "hold_seats",
                {uid(0), std::to_string(s.schedule_id), "{" + std::to_string(s.seat_ids[0]) + "}", std::nullopt,
                 std::nullopt, std::nullopt},
                [] { return std::optional<Status>(Status::SeatTaken("known taken")); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::SeatTaken);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 0) << "the statement was never sent";
  pg.stop();
}

TEST_F(AsyncPgTest, SqlErrorsBecomeStatuses) {
  AsyncPg pg(loop.ioc, {db.url(), 1, 16, 500ms, 5000, 100}, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 1));
  // Hold the user's row so the top-up runs into lock_timeout (100 ms).
  pqxx::connection blocker(db.url());
  pqxx::work tx(blocker);
  tx.exec("SELECT 1 FROM users WHERE id = " + uid(0) + " FOR UPDATE");
  auto r = call(pg, "top_up", {uid(0), "5", std::nullopt, std::nullopt});
  tx.abort();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::Busy);
  EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = " + uid(0)), 100000) << "nothing changed";
  auto after = call(pg, "balance", {uid(0)});
  EXPECT_TRUE(after.ok()) << "the connection is still usable: " << after.status().message();
  pg.stop();
}

TEST_F(AsyncPgTest, RefusesAtOnceWhenEveryConnectionIsBusyAndTheQueueIsFull) {
  AsyncPg pg(loop.ioc, {db.url(), 1, 0}, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 1));
  pqxx::connection blocker(db.url());
  pqxx::work tx(blocker);
  tx.exec("SELECT 1 FROM users WHERE id = " + uid(0) + " FOR UPDATE");
  auto first = std::async(std::launch::async, [&] { return call(pg, "top_up", {uid(0), "5", std::nullopt, std::nullopt}); });
  for (int i = 0; i < 600 && pg.in_use() < 1; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(pg.in_use(), 1);
  bool accepted = pg.submit("balance", {uid(1)}, [](Result<std::string>) {});
  EXPECT_FALSE(accepted);
  tx.commit();
  auto r = first.get();
  EXPECT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = " + uid(0)), 100005);
  pg.stop();
}

TEST_F(AsyncPgTest, RecheckAnswersQueuedRequestsWhileEveryConnectionIsBusy) {
  AsyncPg pg(loop.ioc, {db.url(), 1}, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 1));
  pqxx::connection blocker(db.url());
  pqxx::work tx(blocker);
  tx.exec("SELECT 1 FROM users WHERE id = " + uid(0) + " FOR UPDATE");
  // The only connection waits on the lock; the second request queues behind it.
  auto first = std::async(std::launch::async, [&] { return call(pg, "top_up", {uid(0), "5", std::nullopt, std::nullopt}); });
  for (int i = 0; i < 600 && pg.in_use() < 1; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(pg.in_use(), 1);
  std::atomic<bool> learned{false};
  auto queued = std::async(std::launch::async, [&] {
    return call(pg, "top_up", {uid(1), "5", std::nullopt, std::nullopt}, [&]() -> std::optional<Status> {
      if (learned) return Status::SoldOut("learned meanwhile");
      return std::nullopt;
    });
  });
  for (int i = 0; i < 600 && pg.waiting() < 1; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(pg.waiting(), 1);
  learned = true;
  pg.recheck_waiting();
  ASSERT_EQ(queued.wait_for(30s), std::future_status::ready) << "answered while the connection is still busy";
  auto r = queued.get();
  EXPECT_EQ(r.status().code(), ErrorCode::SoldOut);
  EXPECT_EQ(pg.waiting(), 0);
  tx.commit();
  EXPECT_TRUE(first.get().ok());
  EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = " + uid(1)), 100000) << "the queued top-up never ran";
  pg.stop();
}

TEST(AsyncPgUnreachable, AnswersDbUnavailableWithoutWaiting) {
  MetricsRegistry metrics;
  Loop loop;
  AsyncPg pg(loop.ioc, {"postgresql://nobody@127.0.0.1:1/none", 2}, metrics);
  pg.start();
  auto r = call(pg, "balance", {"1"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::DbUnavailable);
  EXPECT_EQ(pg.connected(), 0);
  pg.stop();
}
