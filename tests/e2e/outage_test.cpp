// A database outage on a private PostgreSQL cluster: while it is down the
// server answers 503 with Retry-After (never hangs, never 500) and reports
// not ready; when it is back, the same server process recovers by itself.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "db/migrations.h"
#include "e2e_util.h"
#include "eventually.h"
#include "private_cluster.h"
#include "test_db.h"
#include "test_seed.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;
using nlohmann::json;

struct OutageData {
  int64_t schedule_id = 0;
  std::vector<int64_t> seats;
  int64_t first_user = 0;
};

// A migrated database on the private cluster with one schedule, 20 seats
// and 3 users.
OutageData create_and_seed(const std::string& admin_url, const std::string& db_url, const std::string& name) {
  {
    pqxx::connection c(admin_url);
    pqxx::nontransaction tx(c);
    tx.exec("CREATE DATABASE " + name);
  }
  auto migrated = resv::apply_migrations(db_url);
  if (!migrated.ok()) throw std::runtime_error("migrations failed: " + migrated.status().message());
  pqxx::connection c(db_url);
  pqxx::work tx(c);
  OutageData s;
  auto concert = tx.exec1("INSERT INTO concerts (name, venue) VALUES ('Outage', 'Hall') RETURNING id")[0]
                     .as<int64_t>();
  s.schedule_id = tx.exec1("INSERT INTO schedules (concert_id, starts_at) VALUES (" + str(concert) +
                           ", now() + interval '7 days') RETURNING id")[0]
                      .as<int64_t>();
  for (const auto& row : tx.exec("INSERT INTO seats (schedule_id, label, grade, price) SELECT " +
                                 str(s.schedule_id) + ", 'S' || g, 'R', 1000 FROM generate_series(1, 20) g"
                                 " RETURNING id"))
    s.seats.push_back(row[0].as<int64_t>());
  std::sort(s.seats.begin(), s.seats.end());
  s.first_user = tx.exec1("WITH x AS (INSERT INTO users (name, balance) SELECT 'u' || g, 100000"
                          " FROM generate_series(1, 3) g RETURNING id) SELECT min(id) FROM x")[0]
                     .as<int64_t>();
  tx.commit();
  return s;
}

bool is_unavailable_answer(const HttpResult& r) {
  auto code = error_code(r);
  return r.status == 503 && (code == "DB_UNAVAILABLE" || code == "OVERLOADED") && !header(r, "retry-after").empty();
}

TEST(Outage, WhileTheDatabaseIsDownRequestsGet503AndTheServerRecoversWithoutRestart) {
  PrivateCluster cluster;
  const std::string name = "resv_outage";
  const std::string db_url = with_database(cluster.url(), name);
  auto s = create_and_seed(cluster.url(), db_url, name);
  ServerProcess server(db_url);
  HttpClient http("127.0.0.1", server.port());
  HttpClient admin("127.0.0.1", server.admin_port());
  const int64_t u = s.first_user;

  auto before = http.post("/api/reservations", seat_body(u, s.schedule_id, {s.seats[0]}));
  ASSERT_EQ(before.status, 201) << before.body;
  const std::string pay_target =
      "/api/reservations/" + str(json::parse(before.body)["reservationId"].get<int64_t>()) + "/payment";

  cluster.pause();
  if (HasFatalFailure()) return;

  // Every database-bound request is refused with 503 and Retry-After.
  for (int i = 0; i < 10; ++i) {
    SCOPED_TRACE("attempt " + std::to_string(i));
    auto r = http.post("/api/reservations", seat_body(u + 1, s.schedule_id, {s.seats[1 + static_cast<size_t>(i)]}));
    EXPECT_TRUE(is_unavailable_answer(r)) << r.status << " " << r.body << r.error;
    auto b = http.get("/api/users/" + str(u) + "/balance");
    EXPECT_TRUE(is_unavailable_answer(b)) << b.status << " " << b.body << b.error;
    auto p = http.post(pay_target, json{{"userId", u}}.dump());
    EXPECT_TRUE(is_unavailable_answer(p)) << p.status << " " << p.body << p.error;
  }
  HttpResult ready;
  EXPECT_TRUE(eventually([&] { return (ready = admin.get("/readyz")).status == 503; }, 60))
      << "/readyz kept answering " << ready.status << " " << ready.body;
  if (ready.status == 503) {
    auto j = parse_or_null(ready.body);
    EXPECT_EQ(j["ready"], false);
    EXPECT_FALSE(j["reasons"].empty()) << ready.body;
  }
  EXPECT_EQ(admin.get("/healthz").status, 200) << "liveness does not depend on the database";

  cluster.resume();
  if (HasFatalFailure()) return;

  // The same process recovers: a retried request (same Idempotency-Key, so
  // it can never take effect twice) eventually succeeds.
  std::vector<std::string> odd;
  HttpResult after;
  bool recovered = eventually(
      [&] {
        after = http.post("/api/reservations", seat_body(u + 1, s.schedule_id, {s.seats[15]}),
                          {{"Idempotency-Key", "after-outage"}});
        if (after.status != 201 && !is_unavailable_answer(after))
          odd.push_back(std::to_string(after.status) + " " + after.body + after.error);
        return after.status == 201;
      },
      60, 100);
  ASSERT_TRUE(recovered) << "last answer: " << after.status << " " << after.body << after.error;
  EXPECT_TRUE(odd.empty()) << "answers other than 201/503 while recovering, first: " << odd.front();
  EXPECT_TRUE(eventually([&] { return (ready = admin.get("/readyz")).status == 200; }, 60))
      << "/readyz: " << ready.status << " " << ready.body;
  EXPECT_EQ(parse_or_null(ready.body)["ready"], true) << ready.body;
  EXPECT_EQ(kill(server.pid(), 0), 0) << "the server process was not restarted";

  auto balance = http.get("/api/users/" + str(u) + "/balance");
  EXPECT_EQ(balance.status, 200) << balance.body;
  auto paid = http.post(pay_target, json{{"userId", u}}.dump());
  EXPECT_EQ(paid.status, 200) << "the hold from before the outage is still payable: " << paid.body;

  // The refused requests changed nothing: only the two successful holds exist.
  pqxx::connection c(db_url);
  pqxx::nontransaction tx(c);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM reservations")[0].as<int64_t>(), 2);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL")[0].as<int64_t>(), 2);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM payments")[0].as<int64_t>(), 1);
  EXPECT_EQ(server.terminate(), 0) << server.log();
}

TEST(Outage, SessionsTheDatabaseEndedAreReplacedBeforePaymentsUseThem) {
  // pg_terminate_backend of every session of the server (as an operator, or
  // a restart, does): the pool used to keep its dead connections and fail
  // the first request on each with 503, minutes later, while it counted
  // them as up.
  TestDatabase db;
  auto s = seed(db, {.seats = 20, .users = 20});
  ServerProcess server(db.url());
  HttpClient http("127.0.0.1", server.port());
  std::vector<int64_t> held;
  for (int i = 0; i < 20; ++i) {
    json body{{"userId", s.first_user_id + i}, {"scheduleId", s.schedule_id}, {"seatIds", {s.seat_ids[i]}}};
    auto r = http.post("/api/reservations", body.dump());
    ASSERT_EQ(r.status, 201) << r.body;
    held.push_back(json::parse(r.body)["reservationId"].get<int64_t>());
  }
  const double pool_size = metric_sum(metrics_text(server), "resv_db_pool_size", {"pool=\"write\""});
  ASSERT_GT(pool_size, 0);
  const std::string others = "datname = current_database() AND pid <> pg_backend_pid()";
  ASSERT_GT(db.count("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE " + others), 0);
  ASSERT_TRUE(eventually([&] {
    return metric_sum(metrics_text(server), "resv_db_pool_connected", {"pool=\"write\""}) == pool_size &&
           db.count("SELECT count(*) FROM pg_stat_activity WHERE " + others + " AND backend_start > now() - "
                    "interval '1 minute'") >= pool_size;
  })) << "the server did not replace its ended sessions";

  std::vector<std::thread> payers;
  std::vector<int> statuses(20);
  for (int i = 0; i < 20; ++i)
    payers.emplace_back([&, i] {
      HttpClient own("127.0.0.1", server.port());
      statuses[i] = own.post("/api/reservations/" + std::to_string(held[i]) + "/payment",
                             json{{"userId", s.first_user_id + i}}.dump())
                        .status;
    });
  for (auto& t : payers) t.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 20) << "payments answered otherwise than 200";
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE status = 'CONFIRMED'"), 20);
}

}  // namespace
