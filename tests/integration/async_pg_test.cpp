// AsyncPg, the non-blocking pool behind the hot paths, against a real PostgreSQL.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <pqxx/pqxx>
#include <thread>
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "booking/bookings.h"
#include "db/async_pg.h"
#include "test_seed.h"

namespace {

using namespace resv;
using namespace resv::test;
using namespace std::chrono_literals;

bool wait_started(const AsyncPg& pg) {
  for (int i = 0; i < 600 && pg.starting() > 0; ++i) std::this_thread::sleep_for(50ms);
  return pg.starting() == 0;
}

bool wait_connected(const AsyncPg& pg, int n) {
  for (int i = 0; i < 600 && pg.connected() < n; ++i) std::this_thread::sleep_for(50ms);
  return pg.connected() >= n;
}

Result<std::string> call(AsyncPg& pg, const char* statement, std::vector<std::optional<std::string>> params,
                         AsyncPg::Precheck precheck = {}, int64_t group = 0) {
  auto promise = std::make_shared<std::promise<Result<std::string>>>();
  auto future = promise->get_future();
  if (!pg.submit({statement, std::move(params), group},
                 [promise](Result<std::string> r) { promise->set_value(std::move(r)); }, std::move(precheck)))
    return Status::Overloaded("refused");
  if (future.wait_for(30s) != std::future_status::ready) return Status::Internal("no answer within 30 s");
  return future.get();
}

// Holds a user's row locked (FOR UPDATE) from another session until
// release(), so that jobs touching that user wait in the database.
struct RowLock {
  RowLock(const std::string& url, const std::string& user) : conn(url), tx(conn) {
    tx.exec("SELECT 1 FROM users WHERE id = " + user + " FOR UPDATE");
  }
  void release() { tx.commit(); }
  pqxx::connection conn;
  pqxx::work tx;
};

// A precheck that answers "sold out" once `learned` is set, as the filter
// does once the database said so.
AsyncPg::Precheck sold_out_once(const std::atomic<bool>& learned) {
  return [&learned]() -> std::optional<Status> {
    if (learned) return Status::SoldOut("learned meanwhile");
    return std::nullopt;
  };
}

struct AsyncPgTest : ::testing::Test {
  TestDatabase db;
  Seeded s = seed(db, {.seats = 4, .users = 2});
  MetricsRegistry metrics;
  std::string uid(int i) const { return std::to_string(s.first_user_id + i); }
};

TEST_F(AsyncPgTest, RunsAPreparedStatementAndAnswersItsText) {
  AsyncPg pg({db.url(), 2}, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 2));
  auto r = call(pg, "balance", {uid(0)});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_NE(r.value().find("\"balance\": 100000"), std::string::npos) << r.value();
  pg.stop();
}

// A server with one I/O thread runs the pool on that thread's loop.
TEST_F(AsyncPgTest, OnACallersLoopJobsAndTheirCallbacksRunOnTheThreadThatRunsIt) {
  boost::asio::io_context loop{1};
  auto work = boost::asio::make_work_guard(loop);
  std::thread runner([&loop] { loop.run(); });
  AsyncPgOptions options{db.url(), 2};
  options.loop = &loop;
  AsyncPg pg(options, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 2));

  std::thread::id precheck_thread, callback_thread;
  auto promise = std::make_shared<std::promise<Result<std::string>>>();
  ASSERT_TRUE(pg.submit(
      db_call(HoldSeatsRequest{s.first_user_id, s.schedule_id, {s.seat_ids[0]}, {}, {}, 0}),
      [&callback_thread, promise](Result<std::string> r) {
        callback_thread = std::this_thread::get_id();
        promise->set_value(std::move(r));
      },
      [&precheck_thread]() -> std::optional<Status> {
        precheck_thread = std::this_thread::get_id();
        return std::nullopt;
      }));
  auto future = promise->get_future();
  ASSERT_EQ(future.wait_for(30s), std::future_status::ready);
  auto r = future.get();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_NE(r.value().find("\"ok\": true"), std::string::npos) << r.value();
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL"), 1);
  EXPECT_EQ(precheck_thread, runner.get_id());
  EXPECT_EQ(callback_thread, runner.get_id());

  // The caller stops its loop first, then the pool.
  work.reset();
  loop.stop();
  runner.join();
  pg.stop();
  EXPECT_EQ(pg.in_use(), 0);
}

TEST_F(AsyncPgTest, WritesThroughTheSameFunctionsAsTheStore) {
  AsyncPg pg({db.url(), 1}, metrics);
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

TEST_F(AsyncPgTest, AWarmUpThatNoLongerRunsThroughDoesNotCostTheConnection) {
  db.exec("CREATE OR REPLACE FUNCTION resv_warm_up() RETURNS text LANGUAGE sql AS "
          "$$ SELECT 'warm-up stopped: broken by a test' $$");
  AsyncPg pg({db.url(), 1}, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 1));
  auto r = call(pg, "balance", {uid(0)});
  EXPECT_TRUE(r.ok()) << r.status().message();
  pg.stop();
}

TEST_F(AsyncPgTest, ACallbackThatThrowsIsLoggedAndThePoolGoesOn) {
  AsyncPg pg({db.url(), 1}, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 1));
  ASSERT_TRUE(pg.submit({"balance", {uid(0)}}, [](Result<std::string>) { throw std::runtime_error("a bug"); }));
  auto r = call(pg, "balance", {uid(0)});
  EXPECT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(pg.in_use(), 0);
  pg.stop();
}

TEST_F(AsyncPgTest, PrecheckAnswersWithoutTheDatabase) {
  AsyncPg pg({db.url(), 1}, metrics);
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
  AsyncPg pg({db.url(), 1, 16, 500ms, 5000, 100}, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 1));
  // Hold the user's row so the top-up runs into lock_timeout (100 ms).
  RowLock lock(db.url(), uid(0));
  auto r = call(pg, "top_up", {uid(0), "5", std::nullopt, std::nullopt});
  lock.release();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::Busy);
  EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = " + uid(0)), 100000) << "nothing changed";
  auto after = call(pg, "balance", {uid(0)});
  EXPECT_TRUE(after.ok()) << "the connection is still usable: " << after.status().message();
  pg.stop();
}

TEST_F(AsyncPgTest, RefusesAtOnceWhenEveryConnectionIsBusyAndTheQueueIsFull) {
  AsyncPgOptions o{db.url(), 1, 0};
  o.lock_timeout_ms = 30000;  // the job on the lock must outlast a slow (sanitizer, loaded) run
  AsyncPg pg(o, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 1));
  RowLock lock(db.url(), uid(0));
  auto first = std::async(std::launch::async, [&] { return call(pg, "top_up", {uid(0), "5", std::nullopt, std::nullopt}); });
  for (int i = 0; i < 600 && pg.in_use() < 1; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(pg.in_use(), 1);
  bool accepted = pg.submit({"balance", {uid(1)}}, [](Result<std::string>) {});
  EXPECT_FALSE(accepted);
  lock.release();
  auto r = first.get();
  EXPECT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = " + uid(0)), 100005);
  pg.stop();
}

TEST_F(AsyncPgTest, RecheckAnswersQueuedRequestsWhileEveryConnectionIsBusy) {
  AsyncPgOptions o{db.url(), 1};
  o.lock_timeout_ms = 30000;  // the job on the lock must outlast a slow (sanitizer, loaded) run
  AsyncPg pg(o, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 1));
  RowLock lock(db.url(), uid(0));
  // The only connection waits on the lock; the second request queues behind it.
  auto first = std::async(std::launch::async, [&] { return call(pg, "top_up", {uid(0), "5", std::nullopt, std::nullopt}); });
  for (int i = 0; i < 600 && pg.in_use() < 1; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(pg.in_use(), 1);
  std::atomic<bool> learned{false};
  auto queued = std::async(std::launch::async, [&] {
    return call(pg, "top_up", {uid(1), "5", std::nullopt, std::nullopt}, sold_out_once(learned));
  });
  for (int i = 0; i < 600 && pg.waiting() < 1; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(pg.waiting(), 1);
  learned = true;
  pg.recheck_waiting();
  ASSERT_EQ(queued.wait_for(30s), std::future_status::ready) << "answered while the connection is still busy";
  auto r = queued.get();
  EXPECT_EQ(r.status().code(), ErrorCode::SoldOut);
  for (int i = 0; i < 600 && pg.waiting() > 0; ++i) std::this_thread::sleep_for(10ms);  // counted after the answer
  EXPECT_EQ(pg.waiting(), 0);
  lock.release();
  EXPECT_TRUE(first.get().ok());
  EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = " + uid(1)), 100000) << "the queued top-up never ran";
  pg.stop();
}

TEST_F(AsyncPgTest, JobsOfOneGroupRunAtMostGroupLimitAtOnceAndAllFinish) {
  AsyncPgOptions o{db.url(), 4};
  o.lock_timeout_ms = 30000;
  o.group_limit = 2;
  AsyncPg pg(o, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 4));
  RowLock lock(db.url(), uid(0));
  // Six top-ups of one group, all blocked on the user's row: two run (and
  // wait on the lock), four wait in the group's line though two connections
  // are free. Another group's job is not held up by that line.
  std::vector<std::future<Result<std::string>>> group;
  for (int i = 0; i < 6; ++i)
    group.push_back(std::async(std::launch::async, [&] {
      return call(pg, "top_up", {uid(0), "1", std::nullopt, std::nullopt}, {}, 7);
    }));
  for (int i = 0; i < 600 && (pg.in_use() < 2 || pg.waiting() < 4); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(pg.in_use(), 2);
  EXPECT_EQ(pg.waiting(), 4);
  auto other = call(pg, "balance", {uid(1)}, {}, 8);
  EXPECT_TRUE(other.ok()) << other.status().message();
  EXPECT_EQ(db.count("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = "
                     "current_database()"),
            2);
  lock.release();
  for (auto& f : group) {
    ASSERT_EQ(f.wait_for(30s), std::future_status::ready) << "a job left in its group's line";
    EXPECT_TRUE(f.get().ok());
  }
  EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = " + uid(0)), 100006);
  EXPECT_EQ(pg.waiting(), 0);
  pg.stop();
}

TEST_F(AsyncPgTest, AJobOfTheLineAnsweredWithoutRunningLetsTheNextOneRun) {
  AsyncPgOptions o{db.url(), 2};
  o.lock_timeout_ms = 30000;
  o.group_limit = 1;
  AsyncPg pg(o, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 2));
  RowLock lock(db.url(), uid(0));
  auto top_up = [&](AsyncPg::Precheck precheck) {
    return std::async(std::launch::async, [&pg, this, precheck] {
      return call(pg, "top_up", {uid(0), "1", std::nullopt, std::nullopt}, precheck, 7);
    });
  };
  auto running = top_up({});
  for (int i = 0; i < 600 && pg.in_use() < 1; ++i) std::this_thread::sleep_for(10ms);
  // Next in line: a job its precheck will answer (as "sold out" would),
  // then two that must still run once it has left the line.
  std::atomic<bool> learned{false};
  auto answered = top_up(sold_out_once(learned));
  for (int i = 0; i < 600 && pg.waiting() < 1; ++i) std::this_thread::sleep_for(10ms);
  auto second = top_up({});
  for (int i = 0; i < 600 && pg.waiting() < 2; ++i) std::this_thread::sleep_for(10ms);
  auto third = top_up({});
  for (int i = 0; i < 600 && pg.waiting() < 3; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(pg.waiting(), 3);
  learned = true;
  lock.release();
  EXPECT_TRUE(running.get().ok());
  EXPECT_EQ(answered.get().status().code(), ErrorCode::SoldOut);
  for (auto* f : {&second, &third}) {
    ASSERT_EQ(f->wait_for(30s), std::future_status::ready) << "left in the line";
    EXPECT_TRUE(f->get().ok());
  }
  EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = " + uid(0)), 100003);
  pg.stop();
}

TEST_F(AsyncPgTest, RecheckAnswersAJobWaitingInItsGroupsLineWhileTheGroupStillRuns) {
  AsyncPgOptions o{db.url(), 2};
  o.lock_timeout_ms = 60000;
  o.statement_timeout_ms = 60000;  // the running job ends only when the test lets it
  o.group_limit = 1;
  AsyncPg pg(o, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 2));
  RowLock lock(db.url(), uid(0));
  auto running = std::async(std::launch::async, [&] {
    return call(pg, "top_up", {uid(0), "1", std::nullopt, std::nullopt}, {}, 7);
  });
  for (int i = 0; i < 600 && pg.in_use() < 1; ++i) std::this_thread::sleep_for(10ms);
  // A free connection, but the group is at its limit: the job waits in the
  // group's line, not in the queue, until something is learned.
  std::atomic<bool> learned{false};
  auto lined = std::async(std::launch::async, [&] {
    return call(pg, "top_up", {uid(0), "1", std::nullopt, std::nullopt}, sold_out_once(learned), 7);
  });
  for (int i = 0; i < 600 && pg.waiting() < 1; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(pg.waiting(), 1);
  learned = true;
  pg.recheck_waiting();
  ASSERT_EQ(lined.wait_for(20s), std::future_status::ready) << "not answered while its group's job still runs";
  EXPECT_EQ(lined.get().status().code(), ErrorCode::SoldOut);
  EXPECT_EQ(pg.in_use(), 1);
  lock.release();
  EXPECT_TRUE(running.get().ok());
  EXPECT_EQ(db.count("SELECT balance FROM users WHERE id = " + uid(0)), 100001) << "only the running top-up ran";
  pg.stop();
}

// Readiness waits for starting() == 0: by then every connection must be in
// the pool, not merely connected on the connector's side.
TEST_F(AsyncPgTest, StartingCountsDownOnlyAsConnectionsJoinThePool) {
  AsyncPg pg({db.url(), 4}, metrics);
  EXPECT_EQ(pg.starting(), 0) << "nothing starts before start()";
  pg.start();
  ASSERT_TRUE(wait_started(pg));
  EXPECT_EQ(pg.connected(), 4);
  pg.stop();
}

// The pids of the other sessions on the test's database (the pool's).
std::vector<int> other_sessions(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  std::vector<int> pids;
  for (const auto& r : tx.exec("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                               " AND pid <> pg_backend_pid() ORDER BY pid"))
    pids.push_back(r[0].as<int>());
  return pids;
}

// Ends `pids`' sessions (pg_terminate_backend) and waits until they are gone.
void terminate(pqxx::connection& conn, const std::vector<int>& pids) {
  pqxx::nontransaction tx(conn);
  for (int pid : pids) tx.exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
  for (int i = 0; i < 600; ++i) {
    std::string list;
    for (int pid : pids) list += (list.empty() ? "" : ",") + std::to_string(pid);
    auto left = tx.exec("SELECT count(*) FROM pg_stat_activity WHERE pid IN (" + list + ")");
    if (left[0][0].as<int>() == 0) return;
    std::this_thread::sleep_for(50ms);
  }
  throw std::runtime_error("the terminated sessions did not end in 30 s");
}

TEST_F(AsyncPgTest, SessionsEndedByTheServerWhileIdleAreReplacedWithoutAJobFindingThemDead) {
  AsyncPg pg({db.url(), 4}, metrics);
  pg.start();
  ASSERT_TRUE(wait_connected(pg, 4));
  pqxx::connection admin(db.url());
  const auto before = other_sessions(admin);
  ASSERT_EQ(before.size(), 4u);
  terminate(admin, before);
  // The pool notices by itself (no job asks) and connects anew.
  std::vector<int> after;
  for (int i = 0; i < 600; ++i) {
    after = other_sessions(admin);
    if (after.size() == 4) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(after.size(), 4u) << "the pool did not replace its ended sessions";
  for (int pid : after) EXPECT_EQ(std::count(before.begin(), before.end(), pid), 0) << "pid " << pid << " is new";
  ASSERT_TRUE(wait_connected(pg, 4));
  EXPECT_EQ(metrics.gauge("resv_db_pool_connected", "", "pool=\"write\"").value(), 4);

  // Two of the four ended: jobs sent at once all run, on the other two.
  terminate(admin, {after[0], after[1]});
  std::vector<std::future<Result<std::string>>> answers;
  for (int i = 0; i < 20; ++i)
    answers.push_back(std::async(std::launch::async, [&, i] { return call(pg, "balance", {uid(i % 2)}); }));
  for (auto& a : answers) {
    auto r = a.get();
    EXPECT_TRUE(r.ok()) << r.status().message();
  }
  pg.stop();
}

TEST(AsyncPgUnreachable, StartingEndsAfterOneFailedAttemptPerConnection) {
  MetricsRegistry metrics;
  AsyncPg pg({"postgresql://nobody@127.0.0.1:1/none", 3}, metrics);
  pg.start();
  ASSERT_TRUE(wait_started(pg)) << "a database that refuses must not keep the pool starting forever";
  EXPECT_EQ(pg.connected(), 0);
  pg.stop();
}

TEST(AsyncPgUnreachable, AnswersDbUnavailableWithoutWaiting) {
  MetricsRegistry metrics;
  AsyncPg pg({"postgresql://nobody@127.0.0.1:1/none", 2}, metrics);
  pg.start();
  auto r = call(pg, "balance", {"1"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::DbUnavailable);
  EXPECT_EQ(pg.connected(), 0);
  pg.stop();
}

// Pool holds through AsyncPg as the server sends them: each may ride in one
// resv_hold_pool_batch with the holds of its pool waiting in the line.
struct AsyncPgBatchTest : ::testing::Test {
  TestDatabase db;
  Seeded s = seed(db, {.seats = 1, .users = 8});
  int64_t pool = add_pool(db, s.schedule_id, 40, 4, 4);
  MetricsRegistry metrics;
  AsyncPg pg{options(), metrics};

  AsyncPgOptions options() const {
    AsyncPgOptions o{db.url(), 2};
    o.lock_timeout_ms = 30000;
    o.group_limit = 1;
    return o;
  }
  // Starts the pool with user 0's hold running alone, waiting on `lock` (on
  // user 0's row), so that the holds submitted next wait in the line.
  std::future<Result<std::string>> start_with_first_hold_waiting(const RowLock&) {
    pg.start();
    EXPECT_TRUE(wait_connected(pg, 2));
    auto first = hold(0);
    EXPECT_TRUE(wait_for([&] { return pg.in_use() == 1; }));
    return first;
  }
  // Holds of users from..to, once all of them wait in the line.
  std::vector<std::future<Result<std::string>>> line_of(int from, int to) {
    std::vector<std::future<Result<std::string>>> line;
    for (int i = from; i <= to; ++i) line.push_back(hold(i));
    EXPECT_TRUE(wait_for([&] { return pg.waiting() == to - from + 1; }));
    return line;
  }
  int64_t user(int i) const { return s.first_user_id + i; }
  // A hold of 2 units for user i, as the server sends it (db_call); `item`
  // replaces its batch item.
  std::future<Result<std::string>> hold(int i, std::string item = "") {
    auto promise = std::make_shared<std::promise<Result<std::string>>>();
    auto future = promise->get_future();
    AsyncPg::Call held = db_call(HoldPoolRequest{user(i), s.schedule_id, pool, 2, {}, {}, 0});
    if (!item.empty()) held.batch->item = item;
    bool accepted = pg.submit(std::move(held), [promise](Result<std::string> r) { promise->set_value(std::move(r)); });
    EXPECT_TRUE(accepted);
    return future;
  }
  // The hold answered to user i is that user's own reservation.
  void expect_held_for(Result<std::string> r, int i) {
    ASSERT_TRUE(r.ok()) << r.status().message();
    auto j = nlohmann::json::parse(r.value());
    ASSERT_EQ(j["status"], "HELD") << j;
    EXPECT_EQ(db.count("SELECT user_id FROM reservations WHERE id = " + j["reservationId"].dump()), user(i));
  }
  std::string batched() const {
    const std::string name = "resv_db_pool_batched_total{pool=\"write\"} ";
    auto text = metrics.render();
    auto at = text.find(name);
    if (at == std::string::npos) return "absent";
    at += name.size();
    return text.substr(at, text.find('\n', at) - at);
  }
  static bool wait_for(const std::function<bool()>& done) {
    for (int i = 0; i < 3000 && !done(); ++i) std::this_thread::sleep_for(10ms);
    return done();
  }
};

TEST_F(AsyncPgBatchTest, HoldsWaitingInTheirPoolsLineGoAsOneStatementAndEachGetsItsOwnAnswer) {
  RowLock lock(db.url(), std::to_string(user(0)));
  auto first = start_with_first_hold_waiting(lock);
  auto line = line_of(1, 5);
  lock.release();
  expect_held_for(first.get(), 0);
  for (int i = 1; i <= 5; ++i) expect_held_for(line[static_cast<size_t>(i - 1)].get(), i);
  EXPECT_EQ(batched(), "4") << "the five waiting holds went as one statement";
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE reservation_id IS NOT NULL"), 12);
}

TEST_F(AsyncPgBatchTest, ABatchThatFailsAsAWholeRunsItsJobsOneByOne) {
  RowLock lock(db.url(), std::to_string(user(0)));
  auto first = start_with_first_hold_waiting(lock);
  auto good = hold(1);
  auto broken = hold(2, R"({"userId": not json})");  // fails the batch statement, not its own
  auto last = hold(3);
  ASSERT_TRUE(wait_for([&] { return pg.waiting() == 3; }));
  lock.release();
  expect_held_for(first.get(), 0);
  expect_held_for(good.get(), 1);
  expect_held_for(broken.get(), 2);
  expect_held_for(last.get(), 3);
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 4) << "each hold once: the failed batch changed nothing";
}

TEST_F(AsyncPgBatchTest, HoldsABatchStoppedShortOfGoBackToTheFrontOfTheQueueAndAreAnswered) {
  RowLock lock(db.url(), std::to_string(user(0)));
  RowLock later(db.url(), std::to_string(user(3)));  // the batch stops before user 3's hold
  auto first = start_with_first_hold_waiting(lock);
  auto line = line_of(1, 5);
  lock.release();
  expect_held_for(first.get(), 0);
  // The batch answered the holds before user 3's; user 3's now leads the
  // next statement and, holding nothing, waits for the lock.
  ASSERT_TRUE(wait_for([&] { return db.count("SELECT count(*) FROM reservations") == 3 && pg.in_use() == 1; }));
  EXPECT_EQ(line[2].wait_for(0s), std::future_status::timeout) << "user 3's hold cannot be answered while locked";
  later.release();
  for (int i = 1; i <= 5; ++i) expect_held_for(line[static_cast<size_t>(i - 1)].get(), i);
}

TEST_F(AsyncPgBatchTest, HoldsABatchStoppedShortOfKeepTheirPlaceAheadOfHoldsThatCameLater) {
  RowLock lock(db.url(), std::to_string(user(0)));
  RowLock batch_lead(db.url(), std::to_string(user(1)));  // the batch waits on its first hold
  RowLock later(db.url(), std::to_string(user(3)));       // and stops before user 3's
  auto first = start_with_first_hold_waiting(lock);
  auto line = line_of(1, 5);
  lock.release();
  expect_held_for(first.get(), 0);
  ASSERT_TRUE(wait_for([&] { return pg.in_use() == 1 && pg.waiting() == 0; })) << "the batch of 1-5 runs";
  auto newer = line_of(6, 7);  // come while the batch runs
  batch_lead.release();
  ASSERT_TRUE(wait_for([&] { return db.count("SELECT count(*) FROM reservations") == 3; }));
  later.release();
  for (int i = 1; i <= 5; ++i) expect_held_for(line[static_cast<size_t>(i - 1)].get(), i);
  for (int i = 6; i <= 7; ++i) expect_held_for(newer[static_cast<size_t>(i - 6)].get(), i);
  EXPECT_EQ(db.scalar("SELECT string_agg((user_id - " + std::to_string(user(0)) + ")::text, ' ' ORDER BY id)"
                      " FROM reservations"),
            "0 1 2 3 4 5 6 7")
      << "users 3-5, put back in line, were held before 6 and 7, who came after them";
}

}  // namespace
