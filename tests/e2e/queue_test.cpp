// The waiting room through the real server: issuing across two servers,
// status from memory, token checks, admission, restarts and leadership.
#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "db/migrations.h"
#include "e2e_util.h"
#include "private_cluster.h"
#include "queue/token.h"
#include "test_seed.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;

const std::vector<std::string> kFastQueue = {"--queue-interval-ms", "20", "--db-max-wait-ms", "30000"};

void enable_queue(const TestDatabase& db, int64_t concert, const std::string& settings) {
  auto answer = json::parse(db.scalar("SELECT resv_queue_configure(" + str(concert) + ", '" + settings +
                                      "'::jsonb, 'test', 'enable')"));
  ASSERT_TRUE(answer["ok"].get<bool>()) << answer.dump();
}

std::string token_body(int64_t user, int64_t concert) {
  return "{\"userId\":" + str(user) + ",\"concertId\":" + str(concert) + "}";
}

struct Issued {
  std::string token;
  int64_t position = 0;
};

Issued issue(HttpClient& http, int64_t user, int64_t concert) {
  auto r = http.post("/api/queue/tokens", token_body(user, concert));
  EXPECT_EQ(r.status, 201) << r.body << r.error;
  auto j = parse_or_null(r.body);
  if (!j.is_object() || !j.contains("token")) return {};
  return {j["token"].get<std::string>(), j["position"].is_number() ? j["position"].get<int64_t>() : 0};
}

json token_status(HttpClient& http, const std::string& token) {
  auto r = http.get("/api/queue/tokens/" + token);
  return r.status == 200 ? parse_or_null(r.body) : json{{"httpStatus", r.status}, {"body", r.body}};
}

bool has_status(HttpClient& http, const std::string& token, const std::string& status) {
  auto j = token_status(http, token);
  return j.contains("status") && j["status"] == status;
}

std::string seat_hold(int64_t user, int64_t schedule, int64_t seat) {
  return "{\"userId\":" + str(user) + ",\"scheduleId\":" + str(schedule) + ",\"seatIds\":[" + str(seat) + "]}";
}

double leaders(const std::vector<const ServerProcess*>& servers) {
  double sum = 0;
  for (const auto* s : servers) sum += metric_sum(metrics_text(*s), "resv_queue_leader");
  return sum;
}

TEST(Queue, TenThousandUsersIssuingAtOnceAcrossTwoServersGetUniqueGapFreePositions) {
  constexpr int kUsers = 10000, kThreads = 100;
  TestDatabase db;
  auto s = seed(db, {.seats = 1, .users = kUsers});
  enable_queue(db, s.concert_id, R"({"enabled":true,"maxActive":100})");
  ServerProcess a(db.url(), kFastQueue), b(db.url(), kFastQueue);

  std::mutex mu;
  std::map<int64_t, Issued> by_user;
  std::vector<std::string> unexpected;
  for_each_item(
      kThreads, kUsers, [&](int t) { return t % 2 ? a.port() : b.port(); },
      [&](HttpClient& http, int i) {
        int64_t user = s.first_user_id + i;
        auto r = http.post("/api/queue/tokens", token_body(user, s.concert_id));
        std::lock_guard lock(mu);
        auto j = parse_or_null(r.body);
        if (r.status != 201 || !j.is_object() || !j["position"].is_number()) {
          unexpected.push_back(std::to_string(r.status) + " " + r.body + r.error);
          return;
        }
        by_user[user] = {j["token"].get<std::string>(), j["position"].get<int64_t>()};
      });

  ASSERT_TRUE(unexpected.empty()) << unexpected.size() << " unexpected answers, first: " << unexpected.front();
  ASSERT_EQ(by_user.size(), static_cast<size_t>(kUsers));
  std::set<int64_t> positions;
  std::set<std::string> tokens;
  for (const auto& [user, issued] : by_user) {
    positions.insert(issued.position);
    tokens.insert(issued.token);
  }
  EXPECT_EQ(tokens.size(), static_cast<size_t>(kUsers)) << "one distinct token per user";
  ASSERT_EQ(positions.size(), static_cast<size_t>(kUsers)) << "no position given twice";
  EXPECT_EQ(*positions.begin(), 1);
  EXPECT_EQ(*positions.rbegin(), kUsers) << "positions 1..N without a gap";
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_tokens WHERE concert_id = " + str(s.concert_id)), kUsers);

  // Asking again, through either server, gives back the same token and place.
  HttpClient again_a("127.0.0.1", a.port()), again_b("127.0.0.1", b.port());
  for (int i = 0; i < kUsers; i += 97) {
    int64_t user = s.first_user_id + i;
    auto again = issue(i % 2 ? again_a : again_b, user, s.concert_id);
    EXPECT_EQ(again.token, by_user[user].token) << "user " << user;
    EXPECT_EQ(again.position, by_user[user].position) << "user " << user;
  }
  EXPECT_EQ(api_5xx(metrics_text(a)), 0);
  EXPECT_EQ(api_5xx(metrics_text(b)), 0);
}

TEST(Queue, StatusIsAnsweredFromMemoryWhileTheDatabaseIsDown) {
  PrivateCluster cluster;
  const std::string db_url = with_database(cluster.url(), "queue_status");
  {
    pqxx::connection c(cluster.url());
    pqxx::nontransaction tx(c);
    tx.exec("CREATE DATABASE queue_status");
  }
  ASSERT_TRUE(resv::apply_migrations(db_url).ok());
  int64_t concert = 0, first_user = 0;
  {
    pqxx::connection c(db_url);
    pqxx::work tx(c);
    concert = tx.exec1("INSERT INTO concerts (name) VALUES ('Q') RETURNING id")[0].as<int64_t>();
    first_user = tx.exec1("WITH x AS (INSERT INTO users (name) SELECT 'u' || g FROM generate_series(1, 3) g"
                          " RETURNING id) SELECT min(id) FROM x")[0]
                     .as<int64_t>();
    tx.exec("SELECT resv_queue_configure(" + str(concert) + ", '{\"enabled\":true,\"maxActive\":1}', 't', 'enable')");
    tx.commit();
  }
  ServerProcess server(db_url, kFastQueue);
  HttpClient http("127.0.0.1", server.port());
  std::vector<std::string> tokens;
  for (int i = 0; i < 3; ++i) tokens.push_back(issue(http, first_user + i, concert).token);
  ASSERT_TRUE(eventually([&] { return has_status(http, tokens[0], "ACTIVE"); }));
  json before[3];
  for (int i = 0; i < 3; ++i) before[i] = token_status(http, tokens[static_cast<size_t>(i)]);
  EXPECT_EQ(before[1]["status"], "WAITING");
  EXPECT_EQ(before[1]["position"], 2);
  EXPECT_EQ(before[1]["ahead"], 0);
  EXPECT_EQ(before[2]["ahead"], 1);

  cluster.pause();
  for (int round = 0; round < 50; ++round)
    for (int i = 0; i < 3; ++i) {
      auto now = token_status(http, tokens[static_cast<size_t>(i)]);
      ASSERT_EQ(now, before[i]) << "token " << i << " in round " << round;
    }
  // The database really is gone: what needs it fails.
  EXPECT_EQ(http.post("/api/queue/tokens", token_body(first_user, concert)).status, 503);
  cluster.resume();
}

TEST(Queue, ForgedAlteredOtherUsersAndInactiveTokensAreRefused) {
  TestDatabase db;
  auto s = seed(db, {.seats = 4, .users = 3});
  enable_queue(db, s.concert_id, R"({"enabled":true,"maxActive":1})");
  ServerProcess server(db.url(), kFastQueue);
  HttpClient http("127.0.0.1", server.port());
  const int64_t u1 = s.first_user_id, u2 = u1 + 1;
  auto t1 = issue(http, u1, s.concert_id).token;
  auto t2 = issue(http, u2, s.concert_id).token;
  ASSERT_TRUE(eventually([&] { return has_status(http, t1, "ACTIVE"); }));

  auto claims = resv::parse_queue_token(t1);
  ASSERT_TRUE(claims);
  std::string altered_mac = t1;
  altered_mac.back() = altered_mac.back() == 'A' ? 'B' : 'A';
  std::string altered_user = "q1." + str(s.concert_id) + "." + str(u2) + "." + str(claims->nonce) +
                             t1.substr(t1.rfind('.'));
  std::string other_secret = resv::sign_queue_token(*claims, "not-the-servers-secret");
  for (const auto& bad : {altered_mac, altered_user, other_secret, std::string("q1.garbage")}) {
    auto r = http.get("/api/queue/tokens/" + bad);
    EXPECT_EQ(r.status, 401) << bad << " " << r.body;
    EXPECT_EQ(error_code(r), "QUEUE_TOKEN_INVALID") << bad;
    auto hold = http.post("/api/reservations", seat_hold(u1, s.schedule_id, s.seat_ids[0]), {{"Queue-Token", bad}});
    EXPECT_EQ(hold.status, 401) << bad << " " << hold.body;
  }

  auto without = http.post("/api/reservations", seat_hold(u1, s.schedule_id, s.seat_ids[0]));
  EXPECT_EQ(without.status, 401) << without.body;
  EXPECT_EQ(error_code(without), "QUEUE_TOKEN_INVALID");
  auto others = http.post("/api/reservations", seat_hold(u2, s.schedule_id, s.seat_ids[0]), {{"Queue-Token", t1}});
  EXPECT_EQ(others.status, 401) << "user 2 with user 1's token: " << others.body;
  auto waiting = http.post("/api/reservations", seat_hold(u2, s.schedule_id, s.seat_ids[0]), {{"Queue-Token", t2}});
  EXPECT_EQ(waiting.status, 403) << waiting.body;
  EXPECT_EQ(error_code(waiting), "QUEUE_TOKEN_NOT_ACTIVE");
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 0) << "no refused request reserved anything";

  auto ok = http.post("/api/reservations", seat_hold(u1, s.schedule_id, s.seat_ids[0]), {{"Queue-Token", t1}});
  EXPECT_EQ(ok.status, 201) << ok.body;

  // Expired: the controller ends it, and the token no longer opens the door.
  db.exec("UPDATE queue_tokens SET expires_at = now() - interval '1 second' WHERE user_id = " + str(u1));
  ASSERT_TRUE(eventually([&] { return has_status(http, t1, "EXPIRED"); }));
  auto expired = http.post("/api/reservations", seat_hold(u1, s.schedule_id, s.seat_ids[1]), {{"Queue-Token", t1}});
  EXPECT_EQ(expired.status, 403) << expired.body;
  EXPECT_EQ(error_code(expired), "QUEUE_TOKEN_NOT_ACTIVE");
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 1);
}

TEST(Queue, AdmissionByMaxActiveAdmitsTheNextInLineWhenAnActiveUserPays) {
  TestDatabase db;
  auto s = seed(db, {.seats = 4, .users = 5});
  enable_queue(db, s.concert_id, R"({"enabled":true,"maxActive":2})");
  ServerProcess server(db.url(), kFastQueue);
  HttpClient http("127.0.0.1", server.port());
  std::vector<std::string> tokens;
  for (int i = 0; i < 5; ++i) tokens.push_back(issue(http, s.first_user_id + i, s.concert_id).token);
  ASSERT_TRUE(eventually([&] { return has_status(http, tokens[1], "ACTIVE"); }));
  EXPECT_TRUE(has_status(http, tokens[0], "ACTIVE"));
  for (int i = 2; i < 5; ++i) EXPECT_TRUE(has_status(http, tokens[static_cast<size_t>(i)], "WAITING")) << i;
  EXPECT_EQ(token_status(http, tokens[4])["ahead"], 2);

  const int64_t u1 = s.first_user_id;
  auto hold = http.post("/api/reservations", seat_hold(u1, s.schedule_id, s.seat_ids[0]), {{"Queue-Token", tokens[0]}});
  ASSERT_EQ(hold.status, 201) << hold.body;
  auto id = json::parse(hold.body)["reservationId"].get<int64_t>();
  auto paid = http.post("/api/reservations/" + str(id) + "/payment", "{\"userId\":" + str(u1) + "}",
                        {{"Queue-Token", tokens[0]}});
  ASSERT_EQ(paid.status, 200) << paid.body;

  ASSERT_TRUE(eventually([&] { return has_status(http, tokens[2], "ACTIVE"); }));
  EXPECT_TRUE(has_status(http, tokens[0], "EXPIRED")) << "a completed payment frees the place early";
  EXPECT_EQ(db.scalar("SELECT end_reason FROM queue_tokens WHERE user_id = " + str(u1)), "PAID");
  EXPECT_TRUE(has_status(http, tokens[3], "WAITING"));
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_tokens WHERE status = 'ACTIVE'"), 2);
}

TEST(Queue, PlacesAndAdmissionsSurviveRestartingEveryServer) {
  constexpr int kUsers = 50;
  TestDatabase db;
  auto s = seed(db, {.seats = 1, .users = kUsers});
  enable_queue(db, s.concert_id, R"({"enabled":true,"maxActive":10})");
  std::vector<Issued> issued;
  {
    ServerProcess a(db.url(), kFastQueue), b(db.url(), kFastQueue);
    HttpClient ha("127.0.0.1", a.port()), hb("127.0.0.1", b.port());
    for (int i = 0; i < kUsers; ++i) issued.push_back(issue(i % 2 ? ha : hb, s.first_user_id + i, s.concert_id));
    ASSERT_TRUE(eventually([&] { return has_status(ha, issued[9].token, "ACTIVE"); }));
    EXPECT_EQ(a.terminate(), 0);
    EXPECT_EQ(b.terminate(), 0);
  }
  ServerProcess a(db.url(), kFastQueue), b(db.url(), kFastQueue);
  HttpClient ha("127.0.0.1", a.port()), hb("127.0.0.1", b.port());
  for (int i = 0; i < kUsers; ++i) {
    auto again = issue(i % 2 ? hb : ha, s.first_user_id + i, s.concert_id);
    EXPECT_EQ(again.token, issued[static_cast<size_t>(i)].token) << i;
    EXPECT_EQ(again.position, issued[static_cast<size_t>(i)].position) << i;
    auto st = token_status(i % 2 ? ha : hb, issued[static_cast<size_t>(i)].token);
    EXPECT_EQ(st["position"], issued[static_cast<size_t>(i)].position) << i;
    EXPECT_EQ(st["status"], i < 10 ? "ACTIVE" : "WAITING") << i;
  }
}

TEST(Queue, OneServerRunsTheAdmissionControllerAndAnotherTakesOverWhenItStops) {
  TestDatabase db;
  auto s = seed(db, {.seats = 1, .users = 4});
  enable_queue(db, s.concert_id, R"({"enabled":true,"maxActive":1})");
  // A starts first, so it is the leader; B waits for the lock.
  auto a = std::make_unique<ServerProcess>(db.url(), kFastQueue);
  ASSERT_TRUE(eventually([&] { return leaders({a.get()}) == 1; }));
  ServerProcess b(db.url(), kFastQueue);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(leaders({a.get(), &b}), 1) << "sample " << i;
  EXPECT_EQ(leaders({&b}), 0);

  HttpClient hb("127.0.0.1", b.port());
  auto t1 = issue(hb, s.first_user_id, s.concert_id).token;
  auto t2 = issue(hb, s.first_user_id + 1, s.concert_id).token;
  ASSERT_TRUE(eventually([&] { return has_status(hb, t1, "ACTIVE"); })) << "A admits for B's users";
  EXPECT_TRUE(has_status(hb, t2, "WAITING"));
  EXPECT_EQ(a->terminate(), 0);
  a.reset();
  ASSERT_TRUE(eventually([&] { return leaders({&b}) == 1; })) << "B takes over";
  db.exec("UPDATE queue_tokens SET expires_at = now() WHERE user_id = " + str(s.first_user_id));
  EXPECT_TRUE(eventually([&] { return has_status(hb, t2, "ACTIVE"); })) << "admission goes on under B";
}

TEST(Queue, PollingKeepsAWaitingUserFromBeingDroppedAsGone) {
  TestDatabase db;
  auto s = seed(db, {.seats = 1, .users = 2});
  enable_queue(db, s.concert_id, R"({"enabled":true,"maxActive":1,"abandonAfterSeconds":60})");
  ServerProcess server(db.url(), kFastQueue);
  HttpClient http("127.0.0.1", server.port());
  issue(http, s.first_user_id, s.concert_id);
  auto waiting = issue(http, s.first_user_id + 1, s.concert_id).token;
  const std::string seen = "SELECT count(*) FROM queue_tokens WHERE user_id = " + str(s.first_user_id + 1) +
                           " AND last_seen_at > now() - interval '30 seconds'";
  db.exec("UPDATE queue_tokens SET last_seen_at = now() - interval '50 seconds' WHERE user_id = " +
          str(s.first_user_id + 1));
  ASSERT_EQ(db.count(seen), 0);
  ASSERT_TRUE(has_status(http, waiting, "WAITING"));
  EXPECT_TRUE(eventually([&] { return db.count(seen) == 1; })) << "the poll reached the database";
  EXPECT_TRUE(has_status(http, waiting, "WAITING"));
}

}  // namespace
