// The waiting room's SQL (sql/0004_queue.sql) against a real PostgreSQL: the
// functions are called directly and their jsonb answers parsed. Time is moved
// by setting timestamps into the past, never by sleeping.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "eventually.h"
#include "test_db.h"
#include "test_seed.h"

namespace {

using json = nlohmann::json;
using namespace resv::test;

std::string array_of(const std::vector<int64_t>& ids) {
  std::string out = "ARRAY[";
  for (size_t i = 0; i < ids.size(); ++i) out.append(i ? "," : "").append(std::to_string(ids[i]));
  return out + "]::bigint[]";
}

// SELECT (expr)::text, parsed; JSON null for SQL NULL.
json call_on(pqxx::connection_base& c, const std::string& expr) {
  pqxx::nontransaction tx(c);
  auto row = tx.exec1("SELECT (" + expr + ")::text");
  return row[0].is_null() ? json(nullptr) : json::parse(row[0].c_str());
}

bool ok(const json& r) { return r.is_object() && r.value("ok", false); }
// "OK", or the failure's code.
std::string code(const json& r) {
  if (ok(r)) return "OK";
  return r.is_object() && r.contains("code") ? r["code"].get<std::string>() : "no answer: " + r.dump();
}

const char* const kFuture = "2999-01-01T00:00:00Z";

struct Token {
  std::string nonce;
  std::optional<int64_t> position;
  std::string status, end_reason, admitted_at;
  int64_t change_no = 0;
  // What the queue functions change (expires_at and last_seen_at are moved by the tests too).
  std::string state() const {
    return status + "|" + (position ? std::to_string(*position) : "-") + "|" + end_reason + "|" + admitted_at;
  }
};

struct QueueSql : ::testing::Test {
  TestDatabase db;  // declared first: the others use it
  Seeded s = seed(db, {.seats = 20, .seat_price = 1000, .users = 20, .balance = 100000, .max_seats_per_user = 4});
  pqxx::connection conn{db.url()};

  int64_t user(int offset) const { return s.first_user_id + offset; }
  std::string uid(int offset) const { return str(user(offset)); }
  std::vector<int64_t> users(int from, int to) const {
    std::vector<int64_t> out;
    for (int i = from; i < to; ++i) out.push_back(user(i));
    return out;
  }
  std::string concert() const { return str(s.concert_id); }

  json call(const std::string& expr) { return call_on(conn, expr); }
  json configure(int64_t concert_id, const json& set, const std::string& actor = "tester",
                 const std::string& action = "set") {
    return call("resv_queue_configure(" + str(concert_id) + ", " + conn.quote(set.dump()) + "::jsonb, " +
                conn.quote(actor) + ", " + conn.quote(action) + ")");
  }
  // Switches the seeded concert's queue on with these settings.
  json enable(json set) {
    set["enabled"] = true;
    return configure(s.concert_id, set, "tester", "enable");
  }
  json issue(int64_t concert_id, const std::vector<int64_t>& user_ids) {
    return call("resv_queue_issue(" + str(concert_id) + ", " + array_of(user_ids) + ")");
  }
  json issue(const std::vector<int64_t>& user_ids) { return issue(s.concert_id, user_ids); }
  json tick(int64_t concert_id) { return call("resv_queue_tick(" + str(concert_id) + ")"); }
  json tick() { return tick(s.concert_id); }
  json status() { return call("resv_queue_status(" + concert() + ")"); }
  json admit(int64_t n, const std::string& actor = "tester") {
    return call("resv_queue_admit(" + concert() + ", " + str(n) + ", " + conn.quote(actor) + ")");
  }
  json drain(const std::string& actor = "tester") {
    return call("resv_queue_drain(" + concert() + ", " + conn.quote(actor) + ")");
  }
  // A seat hold through the gate; token_concert is an id or "NULL".
  json hold_at(int64_t user_id, int64_t schedule, int64_t seat, const std::string& token_concert,
               const std::string& key = "NULL", const std::string& hash = "NULL") {
    return call("resv_hold_seats(" + str(user_id) + ", " + str(schedule) + ", " + array_of({seat}) + ", " + key +
                ", " + hash + ", p_token_concert => " + token_concert + ")");
  }
  json hold(int offset, size_t seat_idx, const std::string& token_concert) {
    return hold_at(user(offset), s.schedule_id, s.seat_ids[seat_idx], token_concert);
  }
  json pay(int64_t reservation, int64_t user_id, const std::string& token_concert) {
    return call("resv_pay(" + str(reservation) + ", " + str(user_id) + ", p_token_concert => " + token_concert + ")");
  }

  std::map<int64_t, Token> tokens(int64_t concert_id) {
    pqxx::nontransaction tx(conn);
    std::map<int64_t, Token> out;
    for (const auto& row : tx.exec("SELECT user_id, nonce::text, position, status, coalesce(end_reason, ''),"
                                   " coalesce(resv_ts(admitted_at), ''), change_no FROM queue_tokens"
                                   " WHERE concert_id = " + str(concert_id))) {
      Token t;
      t.nonce = row[1].as<std::string>();
      if (!row[2].is_null()) t.position = row[2].as<int64_t>();
      t.status = row[3].as<std::string>();
      t.end_reason = row[4].as<std::string>();
      t.admitted_at = row[5].as<std::string>();
      t.change_no = row[6].as<int64_t>();
      out.emplace(row[0].as<int64_t>(), t);
    }
    return out;
  }
  std::map<int64_t, Token> tokens() { return tokens(s.concert_id); }
  // Users whose token has this status, by position.
  std::vector<int64_t> with_status(const std::string& st) {
    pqxx::nontransaction tx(conn);
    std::vector<int64_t> out;
    for (const auto& row : tx.exec("SELECT user_id FROM queue_tokens WHERE concert_id = " + concert() +
                                   " AND status = " + conn.quote(st) + " ORDER BY position, user_id"))
      out.push_back(row[0].as<int64_t>());
    return out;
  }
  std::string token_of(int offset) {
    return db.scalar("SELECT status || '/' || coalesce(end_reason, '-') FROM queue_tokens WHERE concert_id = " +
                     concert() + " AND user_id = " + uid(offset));
  }
  int64_t position_of(int offset) {
    return db.count("SELECT position FROM queue_tokens WHERE concert_id = " + concert() + " AND user_id = " +
                    uid(offset));
  }
  int64_t queue_field(const std::string& column) {
    return db.count("SELECT " + column + " FROM queue_concerts WHERE concert_id = " + concert());
  }
  void move_token(int offset, const std::string& assignment) {
    db.exec("UPDATE queue_tokens SET " + assignment + " WHERE concert_id = " + concert() + " AND user_id = " +
            uid(offset));
    // Users who stopped polling are looked for every abandon_after/10: when a
    // test moves a poll into the past, it moves the last look too.
    if (assignment.find("last_seen_at") != std::string::npos)
      db.exec("UPDATE queue_concerts SET last_sweep_at = NULL WHERE concert_id = " + concert());
  }
  int64_t audits() { return db.count("SELECT count(*) FROM queue_audit"); }
  std::vector<int64_t> add_users(size_t n) {
    pqxx::nontransaction tx(conn);
    std::vector<int64_t> out;
    for (const auto& row : tx.exec("INSERT INTO users (name) SELECT 'queued' || g FROM generate_series(1, " +
                                   std::to_string(n) + ") g RETURNING id"))
      out.push_back(row[0].as<int64_t>());
    std::sort(out.begin(), out.end());
    return out;
  }

  // The answer of an operator action wrote exactly one audit row (the last),
  // by `actor` for `action`, whose old and new values name the same keys and
  // differ in each.
  void expect_one_audit(const json& answer, int64_t audits_before, const std::string& actor,
                        const std::string& action) {
    ASSERT_TRUE(ok(answer)) << answer.dump();
    EXPECT_EQ(audits(), audits_before + 1);
    json row = json::parse(db.scalar(
        "SELECT jsonb_build_object('id', id, 'concertId', concert_id, 'actor', actor, 'action', action,"
        " 'old', old_values, 'new', new_values)::text FROM queue_audit ORDER BY id DESC LIMIT 1"));
    EXPECT_EQ(row["concertId"], s.concert_id);
    EXPECT_EQ(row["actor"], actor);
    EXPECT_EQ(row["action"], action);
    const json& audit = answer["audit"];
    EXPECT_EQ(audit["id"], row["id"]);
    EXPECT_EQ(audit["actor"], actor);
    EXPECT_EQ(audit["action"], action);
    EXPECT_EQ(audit["old"], row["old"]);
    EXPECT_EQ(audit["new"], row["new"]);
    const json& before = row["old"];
    const json& after = row["new"];
    EXPECT_FALSE(after.empty()) << row.dump();
    for (const auto& [key, value] : after.items()) {
      if (!before.contains(key)) continue;  // e.g. admit's "requested"
      EXPECT_NE(before[key], value) << key << " is recorded but did not change: " << row.dump();
    }
    for (const auto& [key, value] : before.items())
      EXPECT_TRUE(after.contains(key)) << key << " has an old value but no new one: " << row.dump();
  }
};

// ---- issue ---------------------------------------------------------------------

TEST_F(QueueSql, IssueGivesGapFreeUniquePositionsUnderConcurrency) {
  constexpr size_t kUsers = 10000;
  constexpr size_t kThreads = 16;
  ASSERT_TRUE(ok(enable({{"maxActive", 100}})));
  const std::vector<int64_t> all = add_users(kUsers);
  ASSERT_EQ(all.size(), kUsers);

  // Each thread gets 625 users of its own, in batches of 1..500, plus repeats:
  // of a user already in the batch, of any user (maybe another thread's, maybe
  // issued already or not yet), and batches of one repeated user.
  std::mt19937_64 rng(20240501);
  std::vector<int64_t> order = all;
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::vector<std::vector<int64_t>>> plan(kThreads);
  size_t largest = 0, smallest = kUsers;
  for (size_t t = 0; t < kThreads; ++t) {
    const size_t per = kUsers / kThreads;
    const std::vector<int64_t> slice(order.begin() + static_cast<std::ptrdiff_t>(t * per),
                                     order.begin() + static_cast<std::ptrdiff_t>((t + 1) * per));
    auto& batches = plan[t];
    size_t i = 0;
    while (i < slice.size()) {
      size_t size = (t == 0 && batches.empty()) ? 500 : (rng() % 4 == 0) ? 1 + rng() % 500 : 1 + rng() % 60;
      size_t extra = size / 10;
      size_t fresh = std::min(size - extra, slice.size() - i);
      std::vector<int64_t> batch(slice.begin() + static_cast<std::ptrdiff_t>(i),
                                 slice.begin() + static_cast<std::ptrdiff_t>(i + fresh));
      i += fresh;
      for (size_t k = 0; k < extra; ++k) batch.push_back(k % 2 ? batch[rng() % fresh] : order[rng() % kUsers]);
      std::shuffle(batch.begin(), batch.end(), rng);
      batches.push_back(std::move(batch));
      if (batches.size() % 4 == 3) batches.push_back({order[rng() % kUsers]});
    }
    for (const auto& b : batches) {
      largest = std::max(largest, b.size());
      smallest = std::min(smallest, b.size());
    }
  }
  ASSERT_EQ(largest, 500u);
  ASSERT_EQ(smallest, 1u);

  struct Seen {
    int64_t user;
    std::string nonce;
    int64_t position;
  };
  std::vector<std::vector<Seen>> seen(kThreads);
  std::vector<std::vector<std::string>> errors(kThreads);
  std::latch start(static_cast<std::ptrdiff_t>(kThreads));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      auto& err = errors[t];
      std::unique_ptr<pqxx::connection> c;
      try {
        c = std::make_unique<pqxx::connection>(db.url());
      } catch (const std::exception& e) {
        err.push_back(std::string("connect: ") + e.what());
      }
      start.arrive_and_wait();
      if (!c) return;
      try {
        for (const auto& batch : plan[t]) {
          json r = call_on(*c, "resv_queue_issue(" + concert() + ", " + array_of(batch) + ")");
          if (!ok(r)) {
            err.push_back(r.dump());
            continue;
          }
          const std::set<int64_t> asked(batch.begin(), batch.end());
          if (r["tokens"].size() != asked.size())
            err.push_back(std::to_string(r["tokens"].size()) + " tokens for " + std::to_string(asked.size()) +
                          " distinct users");
          if (!r["unknownUsers"].empty()) err.push_back("unknownUsers: " + r["unknownUsers"].dump());
          for (const auto& tok : r["tokens"]) {
            const auto u = tok["userId"].get<int64_t>();
            if (!asked.count(u)) err.push_back("a token for user " + std::to_string(u) + ", who was not asked for");
            if (tok["position"].is_null() || tok["status"] != "WAITING")
              err.push_back("not a waiting token with a position: " + tok.dump());
            else
              seen[t].push_back({u, tok["nonce"].get<std::string>(), tok["position"].get<int64_t>()});
          }
        }
      } catch (const std::exception& e) {
        err.push_back(e.what());
      }
    });
  for (auto& th : threads) th.join();
  for (size_t t = 0; t < kThreads; ++t)
    for (size_t k = 0; k < std::min<size_t>(errors[t].size(), 5); ++k)
      ADD_FAILURE() << "thread " << t << ": " << errors[t][k];

  auto stored = tokens();
  EXPECT_EQ(stored.size(), kUsers);
  size_t without = 0;
  std::set<int64_t> positions;
  for (auto u : all) {
    auto it = stored.find(u);
    if (it == stored.end()) {
      ++without;
      continue;
    }
    EXPECT_EQ(it->second.status, "WAITING");
    if (it->second.position) positions.insert(*it->second.position);
  }
  EXPECT_EQ(without, 0u) << "every user asked for has a token";
  EXPECT_EQ(positions.size(), kUsers) << "no duplicate or missing position";
  ASSERT_FALSE(positions.empty());
  EXPECT_EQ(*positions.begin(), 1);
  EXPECT_EQ(*positions.rbegin(), static_cast<int64_t>(kUsers)) << "no gap";
  EXPECT_EQ(queue_field("last_position"), static_cast<int64_t>(kUsers));

  size_t answers = 0, disagreeing = 0;
  for (const auto& per_thread : seen)
    for (const auto& a : per_thread) {
      ++answers;
      auto it = stored.find(a.user);
      if (it == stored.end() || it->second.nonce != a.nonce || it->second.position != a.position) ++disagreeing;
    }
  EXPECT_GE(answers, kUsers);
  EXPECT_EQ(disagreeing, 0u) << "every answer, also to a repeat, names the one stored token";

  // Asking again, all at once, gives every user the same token and moves nothing.
  std::shuffle(order.begin(), order.end(), rng);
  json again = issue(order);
  ASSERT_TRUE(ok(again)) << again.dump().substr(0, 300);
  ASSERT_EQ(again["tokens"].size(), kUsers);
  size_t changed = 0;
  for (const auto& tok : again["tokens"]) {
    const auto& t = stored.at(tok["userId"].get<int64_t>());
    if (tok["nonce"] != t.nonce || tok["position"] != *t.position) ++changed;
  }
  EXPECT_EQ(changed, 0u);
  EXPECT_EQ(queue_field("last_position"), static_cast<int64_t>(kUsers));
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_tokens"), static_cast<int64_t>(kUsers));
}

TEST_F(QueueSql, IssueRefusesAConcertWithoutAnEnabledQueueAndReportsUnknownUsers) {
  json none = issue({user(0)});
  EXPECT_EQ(code(none), "NOT_FOUND") << none.dump();
  EXPECT_EQ(code(issue(s.concert_id + 1000, {user(0)})), "NOT_FOUND");
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_concerts"), 0) << "asking does not create a queue";

  ASSERT_TRUE(ok(enable({{"maxActive", 5}})));
  ASSERT_TRUE(ok(configure(s.concert_id, {{"enabled", false}}, "tester", "disable")));
  json disabled = issue({user(0)});
  EXPECT_EQ(code(disabled), "NOT_FOUND") << disabled.dump();
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_tokens"), 0);

  ASSERT_TRUE(ok(configure(s.concert_id, {{"enabled", true}}, "tester", "enable")));
  const int64_t ghost = user(0) + 100000, ghost2 = ghost + 7;
  json r = issue({user(2), ghost, user(0), ghost, user(1), ghost2, user(2)});
  ASSERT_TRUE(ok(r)) << r.dump();
  std::set<int64_t> unknown;
  for (const auto& u : r["unknownUsers"]) unknown.insert(u.get<int64_t>());
  EXPECT_EQ(unknown, (std::set<int64_t>{ghost, ghost2}));
  EXPECT_EQ(r["unknownUsers"].size(), 2u) << "each unknown user once";
  std::map<int64_t, int64_t> position;
  for (const auto& tok : r["tokens"]) position[tok["userId"].get<int64_t>()] = tok["position"].get<int64_t>();
  EXPECT_EQ(position, (std::map<int64_t, int64_t>{{user(2), 1}, {user(0), 2}, {user(1), 3}}))
      << "known users are placed in the order given, each once: " << r.dump();
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_tokens"), 3);
  EXPECT_EQ(queue_field("last_position"), 3);

  json only_ghosts = issue({ghost});
  ASSERT_TRUE(ok(only_ghosts)) << only_ghosts.dump();
  EXPECT_TRUE(only_ghosts["tokens"].empty());
  EXPECT_EQ(only_ghosts["unknownUsers"], json::array({ghost}));
  EXPECT_EQ(queue_field("last_position"), 3);
}

// ---- pre-queue -----------------------------------------------------------------

TEST_F(QueueSql, PreQueueGetsGapFreePositionsAtTheFirstTickAfterOpeningAndLaterArrivalsComeAfter) {
  ASSERT_TRUE(ok(enable({{"maxActive", 2}, {"opensAt", kFuture}})));
  json early = issue(users(0, 8));
  ASSERT_TRUE(ok(early)) << early.dump();
  ASSERT_EQ(early["tokens"].size(), 8u);
  for (const auto& tok : early["tokens"]) {
    EXPECT_TRUE(tok["position"].is_null()) << tok.dump();
    EXPECT_EQ(tok["status"], "WAITING");
  }
  json st = status();
  EXPECT_EQ(st["preQueue"], 8);
  EXPECT_EQ(st["waiting"], 8);
  EXPECT_EQ(st["issued"], 8);
  EXPECT_FALSE(st["opensAt"].is_null());

  json before_opening = tick();
  EXPECT_EQ(before_opening["opened"], 0) << before_opening.dump();
  EXPECT_EQ(before_opening["admitted"], 0) << "nobody is admitted before the opening";
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_tokens WHERE position IS NOT NULL"), 0);

  db.exec("UPDATE queue_concerts SET opens_at = now() - interval '1 second' WHERE concert_id = " + concert());
  json opening = tick();
  EXPECT_EQ(opening["opened"], 8) << opening.dump();
  EXPECT_EQ(opening["admitted"], 2) << opening.dump();
  std::set<int64_t> positions;
  for (const auto& [u, t] : tokens()) {
    ASSERT_TRUE(t.position) << "user " << u;
    positions.insert(*t.position);
  }
  EXPECT_EQ(positions, (std::set<int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_tokens WHERE status = 'ACTIVE' AND position IN (1, 2)"), 2)
      << "the first two of the shuffled order are admitted";
  EXPECT_EQ(queue_field("last_position"), 8);
  st = status();
  EXPECT_EQ(st["preQueue"], 0);
  EXPECT_EQ(st["waiting"], 6);
  EXPECT_EQ(st["issued"], 8);
  EXPECT_TRUE(st["opensAt"].is_null());

  json late = issue({user(9), user(8)});
  ASSERT_TRUE(ok(late)) << late.dump();
  EXPECT_EQ(position_of(9), 9);
  EXPECT_EQ(position_of(8), 10);
  EXPECT_EQ(queue_field("last_position"), 10);
}

TEST_F(QueueSql, PreQueueOpensOnTheFirstIssueAfterOpeningTime) {
  ASSERT_TRUE(ok(enable({{"maxActive", 2}, {"opensAt", kFuture}})));
  ASSERT_TRUE(ok(issue(users(0, 6))));
  EXPECT_EQ(status()["preQueue"], 6);
  db.exec("UPDATE queue_concerts SET opens_at = now() - interval '1 second' WHERE concert_id = " + concert());

  json r = issue({user(6), user(0)});
  ASSERT_TRUE(ok(r)) << r.dump();
  std::set<int64_t> early;
  for (int i = 0; i < 6; ++i) early.insert(position_of(i));
  EXPECT_EQ(early, (std::set<int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(position_of(6), 7) << "the arrival after opening comes after the whole pre-queue";
  for (const auto& tok : r["tokens"]) EXPECT_FALSE(tok["position"].is_null()) << tok.dump();
  EXPECT_EQ(queue_field("last_position"), 7);
  EXPECT_EQ(status()["preQueue"], 0);
}

// ---- admission -----------------------------------------------------------------

TEST_F(QueueSql, MaxActiveAdmitsTheLowestPositionsAndOneMoreForEachExpiredToken) {
  ASSERT_TRUE(ok(enable({{"maxActive", 3}})));
  // Arrival order differs from user order: admission must follow positions.
  const std::vector<int> arrival{5, 2, 9, 0, 7, 1, 8, 3, 6, 4};
  std::vector<int64_t> ids;
  for (int i : arrival) ids.push_back(user(i));
  ASSERT_TRUE(ok(issue(ids)));

  json first = tick();
  EXPECT_EQ(first["admitted"], 3) << first.dump();
  EXPECT_EQ(with_status("ACTIVE"), (std::vector<int64_t>{user(5), user(2), user(9)}));
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_tokens WHERE status = 'ACTIVE'"
                     " AND expires_at = admitted_at + interval '600 seconds' AND admitted_at IS NOT NULL"),
            3)
      << "an admitted token lives for the token TTL";
  EXPECT_EQ(queue_field("admitted_total"), 3);

  json second = tick();
  EXPECT_EQ(second["admitted"], 0) << second.dump();
  EXPECT_EQ(with_status("ACTIVE").size(), 3u);

  move_token(2, "expires_at = now() - interval '1 second'");
  json third = tick();
  EXPECT_EQ(third["expired"], 1) << third.dump();
  EXPECT_EQ(third["admitted"], 1) << third.dump();
  EXPECT_EQ(token_of(2), "EXPIRED/TTL");
  EXPECT_EQ(with_status("ACTIVE"), (std::vector<int64_t>{user(5), user(9), user(0)}))
      << "the next in position order is admitted";
  EXPECT_EQ(with_status("WAITING").size(), 6u);
  EXPECT_EQ(queue_field("admitted_total"), 4);
}

TEST_F(QueueSql, RateAdmitsAtMostOneSecondsWorthPerTickWhateverTheGap) {
  ASSERT_TRUE(ok(enable({{"maxActive", nullptr}, {"ratePerSecond", 5}})));
  json st = status();
  EXPECT_TRUE(st["maxActive"].is_null()) << st.dump();
  EXPECT_EQ(st["ratePerSecond"], 5);
  ASSERT_TRUE(ok(issue(users(0, 20))));

  json first = tick();
  EXPECT_EQ(first["admitted"], 0) << "no credit before the first tick: " << first.dump();
  EXPECT_EQ(db.scalar("SELECT last_tick_at IS NOT NULL FROM queue_concerts"), "t");

  db.exec("UPDATE queue_concerts SET last_tick_at = now() - interval '10 seconds'");
  json after_gap = tick();
  const auto admitted = after_gap["admitted"].get<int64_t>();
  EXPECT_GE(admitted, 1) << after_gap.dump();
  EXPECT_LE(admitted, 5) << "the bucket holds one second's worth: " << after_gap.dump();
  auto active = with_status("ACTIVE");
  EXPECT_EQ(static_cast<int64_t>(active.size()), admitted);
  const auto arrivals = users(0, 20);
  EXPECT_EQ(active, std::vector<int64_t>(arrivals.begin(), arrivals.begin() + admitted))
      << "the lowest positions are admitted";

  db.exec("UPDATE queue_concerts SET last_tick_at = now() - interval '1 hour'");
  json after_hour = tick();
  EXPECT_GE(after_hour["admitted"].get<int64_t>(), 1) << after_hour.dump();
  EXPECT_LE(after_hour["admitted"].get<int64_t>(), 5) << "an hour without a tick is no burst: " << after_hour.dump();
  EXPECT_LE(with_status("ACTIVE").size(), 10u);

  // Below one a second, the bucket still holds one admission.
  ASSERT_TRUE(ok(configure(s.concert_id, {{"ratePerSecond", 0.5}})));
  db.exec("UPDATE queue_concerts SET last_tick_at = now() - interval '10 seconds'");
  const auto before = with_status("ACTIVE").size();
  json slow = tick();
  EXPECT_EQ(slow["admitted"], 1) << slow.dump();
  EXPECT_EQ(with_status("ACTIVE").size(), before + 1);
}

TEST_F(QueueSql, PauseStopsAdmissionAndKeepsPlaces) {
  ASSERT_TRUE(ok(enable({{"maxActive", 2}})));
  ASSERT_TRUE(ok(issue({user(3), user(1), user(5), user(0), user(4), user(2)})));
  ASSERT_EQ(tick()["admitted"], 2);
  EXPECT_EQ(with_status("ACTIVE"), (std::vector<int64_t>{user(3), user(1)}));

  ASSERT_TRUE(ok(configure(s.concert_id, {{"paused", true}}, "tester", "pause")));
  auto before = tokens();
  db.exec("UPDATE queue_tokens SET expires_at = now() - interval '1 second' WHERE status = 'ACTIVE'");
  json paused = tick();
  EXPECT_EQ(paused["expired"], 2) << "time still runs out while paused: " << paused.dump();
  EXPECT_EQ(paused["admitted"], 0) << paused.dump();
  EXPECT_EQ(tick()["admitted"], 0);
  EXPECT_TRUE(with_status("ACTIVE").empty());
  EXPECT_EQ(with_status("WAITING"), (std::vector<int64_t>{user(5), user(0), user(4), user(2)}));
  for (const auto& [u, t] : tokens()) EXPECT_EQ(t.position, before.at(u).position) << "user " << u;
  EXPECT_EQ(status()["paused"], true);

  ASSERT_TRUE(ok(configure(s.concert_id, {{"paused", false}}, "tester", "resume")));
  json resumed = tick();
  EXPECT_EQ(resumed["admitted"], 2) << resumed.dump();
  EXPECT_EQ(with_status("ACTIVE"), (std::vector<int64_t>{user(5), user(0)}))
      << "admission continues from the lowest waiting position";
}

TEST_F(QueueSql, WaitingUserWhoStopsPollingIsAbandonedAndTheNextIsAdmitted) {
  ASSERT_TRUE(ok(enable({{"maxActive", 2}, {"abandonAfterSeconds", 30}})));
  ASSERT_TRUE(ok(issue(users(0, 5))));
  ASSERT_EQ(tick()["admitted"], 2);
  move_token(2, "last_seen_at = now() - interval '1 hour'");      // waiting, gone
  move_token(3, "last_seen_at = now() - interval '10 seconds'");  // waiting, still polling
  move_token(0, "last_seen_at = now() - interval '1 hour'");      // active: not abandoned
  EXPECT_EQ(status()["waiting"], 3);

  move_token(1, "expires_at = now() - interval '1 second'");
  json t = tick();
  EXPECT_EQ(t["abandoned"], 1) << t.dump();
  EXPECT_EQ(t["expired"], 1) << t.dump();
  EXPECT_EQ(t["admitted"], 1) << t.dump();
  EXPECT_EQ(token_of(2), "EXPIRED/ABANDONED");
  EXPECT_EQ(token_of(1), "EXPIRED/TTL");
  EXPECT_EQ(token_of(0), "ACTIVE/-");
  EXPECT_EQ(token_of(3), "ACTIVE/-") << "the next user is admitted in the abandoned one's place";
  EXPECT_EQ(token_of(4), "WAITING/-");
  json st = status();
  EXPECT_EQ(st["waiting"], 1) << st.dump();
  EXPECT_EQ(st["active"], 2) << st.dump();
}

TEST_F(QueueSql, PaymentEndsTheTokenEarlyAndTheNextUserIsAdmitted) {
  // User 1 bought before the waiting room existed: that purchase does not end
  // the token they get later.
  json before_queue = hold(1, 5, "NULL");
  ASSERT_TRUE(ok(before_queue)) << before_queue.dump();
  ASSERT_TRUE(ok(pay(before_queue["reservationId"].get<int64_t>(), user(1), "NULL")));

  ASSERT_TRUE(ok(enable({{"maxActive", 1}})));
  ASSERT_TRUE(ok(issue(users(0, 3))));
  ASSERT_EQ(tick()["admitted"], 1);
  ASSERT_EQ(token_of(0), "ACTIVE/-");

  json h = hold(0, 0, concert());
  ASSERT_TRUE(ok(h)) << h.dump();
  json held_only = tick();
  EXPECT_EQ(held_only["paid"], 0) << "holding is not paying: " << held_only.dump();
  EXPECT_EQ(held_only["admitted"], 0) << held_only.dump();
  EXPECT_EQ(token_of(0), "ACTIVE/-");

  json p = pay(h["reservationId"].get<int64_t>(), user(0), concert());
  ASSERT_TRUE(ok(p)) << p.dump();
  EXPECT_EQ(p["status"], "CONFIRMED");
  json t = tick();
  EXPECT_EQ(t["paid"], 1) << t.dump();
  EXPECT_EQ(t["expired"], 0) << t.dump();
  EXPECT_EQ(t["admitted"], 1) << t.dump();
  EXPECT_EQ(token_of(0), "EXPIRED/PAID");
  EXPECT_EQ(token_of(1), "ACTIVE/-");
  EXPECT_EQ(token_of(2), "WAITING/-");

  json next = tick();
  EXPECT_EQ(next["paid"], 0) << "a purchase from before the admission does not count: " << next.dump();
  EXPECT_EQ(token_of(1), "ACTIVE/-");
}

// ---- the gate ------------------------------------------------------------------

TEST_F(QueueSql, GateLetsOnlyAnActiveTokenOfTheRightConcertHoldAndPay) {
  Seeded other = seed(db, {.seats = 5, .users = 2});  // a concert without a waiting room
  const std::string other_concert = str(other.concert_id);
  json earlier = hold(3, 10, "NULL");  // held before the waiting room: paid under it
  ASSERT_TRUE(ok(earlier)) << earlier.dump();
  const int64_t pool = add_pool(db, s.schedule_id, 10, 2, 2);
  auto hold_pool = [&](int offset, const std::string& token_concert) {
    return call("resv_hold_pool(" + uid(offset) + ", " + str(s.schedule_id) + ", " + str(pool) +
                ", 1, p_token_concert => " + token_concert + ")");
  };

  ASSERT_TRUE(ok(enable({{"maxActive", 1}})));
  ASSERT_TRUE(ok(issue(users(0, 4))));
  ASSERT_EQ(tick()["admitted"], 1);
  ASSERT_EQ(token_of(0), "ACTIVE/-");

  // User 1 is waiting.
  EXPECT_EQ(code(hold(1, 1, "NULL")), "QUEUE_TOKEN_INVALID");
  EXPECT_EQ(code(hold(1, 1, other_concert)), "QUEUE_TOKEN_INVALID");
  EXPECT_EQ(code(hold(1, 1, concert())), "QUEUE_TOKEN_NOT_ACTIVE");
  EXPECT_EQ(code(hold_pool(1, "NULL")), "QUEUE_TOKEN_INVALID");
  EXPECT_EQ(code(hold_pool(1, concert())), "QUEUE_TOKEN_NOT_ACTIVE");
  const int64_t earlier_id = earlier["reservationId"].get<int64_t>();
  EXPECT_EQ(code(pay(earlier_id, user(3), "NULL")), "QUEUE_TOKEN_INVALID");
  EXPECT_EQ(code(pay(earlier_id, user(3), concert())), "QUEUE_TOKEN_NOT_ACTIVE");
  EXPECT_EQ(code(call("resv_queue_gate(" + uid(1) + ", " + concert() + ", " + concert() + ")")),
            "QUEUE_TOKEN_NOT_ACTIVE");
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE user_id = " + uid(1)), 0);
  EXPECT_EQ(db.scalar("SELECT status FROM reservations WHERE id = " + str(earlier_id)), "HELD");
  EXPECT_EQ(db.count("SELECT count(*) FROM pool_units WHERE reservation_id IS NOT NULL"), 0);

  // User 0 is admitted: only with this concert's token.
  EXPECT_EQ(code(hold(0, 0, "NULL")), "QUEUE_TOKEN_INVALID");
  EXPECT_EQ(code(hold(0, 0, other_concert)), "QUEUE_TOKEN_INVALID");
  EXPECT_TRUE(call("resv_queue_gate(" + uid(0) + ", " + concert() + ", " + concert() + ")").is_null());
  json h = hold(0, 0, concert());
  EXPECT_TRUE(ok(h)) << h.dump();
  json hp = hold_pool(0, concert());
  EXPECT_TRUE(ok(hp)) << hp.dump();
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE status = 'HELD' AND user_id = " + uid(0)), 2);

  // Time is up, before and after the tick has noticed.
  move_token(0, "expires_at = now() - interval '1 second'");
  EXPECT_EQ(code(hold(0, 2, concert())), "QUEUE_TOKEN_NOT_ACTIVE");
  ASSERT_EQ(tick()["expired"], 1);
  ASSERT_EQ(token_of(0), "EXPIRED/TTL");
  EXPECT_EQ(code(hold(0, 2, concert())), "QUEUE_TOKEN_NOT_ACTIVE");
  EXPECT_EQ(code(hold_pool(0, concert())), "QUEUE_TOKEN_NOT_ACTIVE");
  EXPECT_EQ(db.count("SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL AND id = " + str(s.seat_ids[2])), 0);

  // A concert without a waiting room needs no token (and ignores one).
  json free_hold = hold_at(other.first_user_id, other.schedule_id, other.seat_ids[0], "NULL");
  EXPECT_TRUE(ok(free_hold)) << free_hold.dump();
  json with_token = hold_at(other.first_user_id + 1, other.schedule_id, other.seat_ids[1], concert());
  EXPECT_TRUE(ok(with_token)) << with_token.dump();
  EXPECT_TRUE(call("resv_queue_gate(" + uid(1) + ", " + other_concert + ", NULL)").is_null());
}

TEST_F(QueueSql, DisabledOrDrainedQueueNeedsNoToken) {
  ASSERT_TRUE(ok(enable({{"maxActive", 1}})));
  ASSERT_TRUE(ok(issue(users(0, 3))));
  EXPECT_EQ(code(hold(0, 0, "NULL")), "QUEUE_TOKEN_INVALID");

  ASSERT_TRUE(ok(configure(s.concert_id, {{"enabled", false}}, "tester", "disable")));
  json off = hold(0, 0, "NULL");
  EXPECT_TRUE(ok(off)) << off.dump();

  ASSERT_TRUE(ok(configure(s.concert_id, {{"enabled", true}}, "tester", "enable")));
  EXPECT_EQ(code(hold(1, 1, "NULL")), "QUEUE_TOKEN_INVALID");
  ASSERT_TRUE(ok(drain()));
  json drained = hold(1, 1, "NULL");
  EXPECT_TRUE(ok(drained)) << drained.dump();
  json pay_drained = pay(drained["reservationId"].get<int64_t>(), user(1), "NULL");
  EXPECT_TRUE(ok(pay_drained)) << pay_drained.dump();
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations"), 2);
}

TEST_F(QueueSql, RefusalByTheGateIsNotStoredAsTheIdempotencyKeysAnswer) {
  ASSERT_TRUE(ok(enable({{"maxActive", 1}})));
  ASSERT_TRUE(ok(issue(users(0, 2))));
  ASSERT_EQ(tick()["admitted"], 1);

  auto keyed = [&] { return hold_at(user(1), s.schedule_id, s.seat_ids[1], concert(), "'key-1'", "'hash-1'"); };
  json refused = keyed();
  EXPECT_EQ(code(refused), "QUEUE_TOKEN_NOT_ACTIVE") << refused.dump();
  EXPECT_EQ(db.count("SELECT count(*) FROM idempotency_keys"), 0);

  move_token(0, "expires_at = now() - interval '1 second'");
  ASSERT_EQ(tick()["admitted"], 1);
  ASSERT_EQ(token_of(1), "ACTIVE/-");
  json retry = keyed();
  ASSERT_TRUE(ok(retry)) << "the retry after admission really runs: " << retry.dump();
  EXPECT_FALSE(retry.value("replayed", false));
  EXPECT_EQ(db.count("SELECT count(*) FROM reservations WHERE user_id = " + uid(1)), 1);
  EXPECT_EQ(db.scalar("SELECT response->>'reservationId' FROM idempotency_keys WHERE key = 'key-1'"),
            retry["reservationId"].dump());
  json replay = keyed();
  ASSERT_TRUE(ok(replay)) << replay.dump();
  EXPECT_TRUE(replay.value("replayed", false));
  EXPECT_EQ(replay["reservationId"], retry["reservationId"]);
}

// ---- operator actions ----------------------------------------------------------

TEST_F(QueueSql, ConfigureWithoutAnyLimitIsInvalidRequestAndChangesNothing) {
  // A new queue with both limits cleared: not even the row is created.
  json fresh = configure(s.concert_id, {{"enabled", true}, {"maxActive", nullptr}}, "alice", "enable");
  EXPECT_EQ(code(fresh), "INVALID_REQUEST") << fresh.dump();
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_concerts"), 0);
  EXPECT_EQ(audits(), 0);
  EXPECT_EQ(code(configure(s.concert_id + 1000, {{"enabled", true}}, "alice", "enable")), "NOT_FOUND");

  // Enabling without naming a limit takes the documented default of 100.
  json defaults = enable(json::object());
  ASSERT_TRUE(ok(defaults)) << defaults.dump();
  EXPECT_EQ(defaults["settings"]["maxActive"], 100);
  EXPECT_TRUE(defaults["settings"]["ratePerSecond"].is_null());

  ASSERT_TRUE(ok(configure(s.concert_id, {{"maxActive", 7}, {"tokenTtlSeconds", 90}})));
  const json settings = status();
  const auto change_no = queue_field("change_no");
  const auto audit_rows = audits();
  for (const json& bad : {json{{"maxActive", nullptr}},
                          json{{"maxActive", nullptr}, {"ratePerSecond", nullptr}, {"paused", true}},
                          json{{"maxActive", 0}},
                          json{{"tokenTtlSeconds", 0}, {"maxActive", 9}}}) {
    json r = configure(s.concert_id, bad, "alice", "set");
    EXPECT_EQ(code(r), "INVALID_REQUEST") << bad.dump() << " -> " << r.dump();
    EXPECT_NE(r.value("message", "").find("max-active"), std::string::npos) << r.dump();
  }
  json after = status();
  for (const char* key : {"enabled", "paused", "maxActive", "ratePerSecond", "tokenTtlSeconds",
                          "abandonAfterSeconds", "opensAt"})
    EXPECT_EQ(after[key], settings[key]) << key;
  EXPECT_EQ(after["maxActive"], 7);
  EXPECT_EQ(queue_field("change_no"), change_no);
  EXPECT_EQ(audits(), audit_rows);
}

TEST_F(QueueSql, ARateOutsideAThousandthToAHundredThousandPerSecondIsRefusedAndChangesNothing) {
  // 1e308 was taken, and every admission step then failed with "bigint out
  // of range": nobody was admitted.
  json fresh = configure(s.concert_id, {{"enabled", true}, {"ratePerSecond", 1e308}}, "alice", "enable");
  EXPECT_EQ(code(fresh), "INVALID_REQUEST") << fresh.dump();
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_concerts"), 0) << "no row for a refused enable";
  ASSERT_TRUE(ok(enable({{"ratePerSecond", 100000}}))) << "the largest rate itself";
  const auto change_no = queue_field("change_no");
  for (double bad : {1e308, 100000.5, 0.0009, 0.0, -1.0}) {
    json r = configure(s.concert_id, {{"ratePerSecond", bad}});
    EXPECT_EQ(code(r), "INVALID_REQUEST") << bad << " -> " << r.dump();
    EXPECT_NE(r.value("message", "").find("ratePerSecond"), std::string::npos) << r.dump();
  }
  EXPECT_EQ(queue_field("change_no"), change_no);
  EXPECT_EQ(status()["ratePerSecond"], 100000);
  ASSERT_TRUE(ok(configure(s.concert_id, {{"ratePerSecond", 0.001}})));
  json t = tick(s.concert_id);
  EXPECT_FALSE(t.contains("code")) << "the admission step runs: " << t.dump();
}

TEST_F(QueueSql, EveryOperatorActionWritesOneAuditRowWithWhatChanged) {
  {
    SCOPED_TRACE("enable");
    json r = configure(s.concert_id, {{"enabled", true}, {"maxActive", 3}}, "alice", "enable");
    expect_one_audit(r, 0, "alice", "enable");
    EXPECT_EQ(r["audit"]["old"], json::object()) << "there was no queue before";
    EXPECT_EQ(r["audit"]["new"]["enabled"], true);
    EXPECT_EQ(r["audit"]["new"]["maxActive"], 3);
    EXPECT_EQ(r["settings"]["enabled"], true);
  }
  {
    SCOPED_TRACE("pause");
    json r = configure(s.concert_id, {{"paused", true}}, "bob", "pause");
    expect_one_audit(r, 1, "bob", "pause");
    EXPECT_EQ(r["audit"]["old"], (json{{"paused", false}}));
    EXPECT_EQ(r["audit"]["new"], (json{{"paused", true}}));
  }
  ASSERT_TRUE(ok(issue(users(0, 5))));
  {
    SCOPED_TRACE("admit while paused");
    json r = admit(2, "carol");
    expect_one_audit(r, 2, "carol", "admit");
    EXPECT_EQ(r["admitted"], 2);
    EXPECT_EQ(r["audit"]["old"]["admittedTotal"], 0);
    EXPECT_EQ(r["audit"]["new"]["admittedTotal"], 2);
    EXPECT_EQ(r["audit"]["new"]["requested"], 2);
  }
  {
    SCOPED_TRACE("resume");
    json r = configure(s.concert_id, {{"paused", false}}, "bob", "resume");
    expect_one_audit(r, 3, "bob", "resume");
    EXPECT_EQ(r["audit"]["old"], (json{{"paused", true}}));
    EXPECT_EQ(r["audit"]["new"], (json{{"paused", false}}));
  }
  {
    SCOPED_TRACE("set");
    json r = configure(s.concert_id, {{"maxActive", 5}, {"ratePerSecond", 2.5}, {"tokenTtlSeconds", 120},
                                      {"abandonAfterSeconds", 60}},
                       "dave", "set");
    expect_one_audit(r, 4, "dave", "set");
    EXPECT_EQ(r["audit"]["old"], (json{{"maxActive", 3}, {"ratePerSecond", nullptr}, {"tokenTtlSeconds", 600}}))
        << "abandonAfterSeconds was 60 already, so it is not recorded";
    EXPECT_EQ(r["audit"]["new"], (json{{"maxActive", 5}, {"ratePerSecond", 2.5}, {"tokenTtlSeconds", 120}}));
  }
  {
    SCOPED_TRACE("drain");
    json r = drain("erin");
    expect_one_audit(r, 5, "erin", "drain");
    EXPECT_EQ(r["admitted"], 3);
    EXPECT_EQ(r["audit"]["old"], (json{{"enabled", true}, {"admittedTotal", 2}}));
    EXPECT_EQ(r["audit"]["new"], (json{{"enabled", false}, {"admittedTotal", 5}}));
  }
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_audit WHERE concert_id = " + concert()), 6);
}

TEST_F(QueueSql, AdmitAdmitsExactlyNEvenWhilePausedAndFewerWhenFewerWait) {
  ASSERT_TRUE(ok(enable({{"maxActive", 1}, {"paused", true}})));
  ASSERT_TRUE(ok(issue({user(4), user(2), user(0), user(3), user(1)})));
  EXPECT_EQ(tick()["admitted"], 0) << "paused";

  json two = admit(2);
  ASSERT_TRUE(ok(two)) << two.dump();
  EXPECT_EQ(two["admitted"], 2);
  EXPECT_EQ(with_status("ACTIVE"), (std::vector<int64_t>{user(4), user(2)}))
      << "the lowest positions, beyond max-active and the pause";
  EXPECT_EQ(queue_field("admitted_total"), 2);

  json many = admit(10);
  ASSERT_TRUE(ok(many)) << many.dump();
  EXPECT_EQ(many["admitted"], 3);
  EXPECT_TRUE(with_status("WAITING").empty());
  EXPECT_EQ(with_status("ACTIVE").size(), 5u);
  EXPECT_EQ(queue_field("admitted_total"), 5);

  json nobody = admit(3);
  ASSERT_TRUE(ok(nobody)) << nobody.dump();
  EXPECT_EQ(nobody["admitted"], 0);
  EXPECT_EQ(queue_field("admitted_total"), 5);
  EXPECT_EQ(code(call("resv_queue_admit(" + str(s.concert_id + 1000) + ", 1, 'tester')")), "NOT_FOUND");
}

TEST_F(QueueSql, DrainAdmitsEveryoneWaitingAndDisablesTheQueue) {
  ASSERT_TRUE(ok(enable({{"maxActive", 2}})));
  ASSERT_TRUE(ok(issue(users(0, 7))));
  ASSERT_EQ(tick()["admitted"], 2);
  move_token(2, "last_seen_at = now() - interval '1 hour'");
  ASSERT_EQ(tick()["abandoned"], 1);

  json r = drain();
  ASSERT_TRUE(ok(r)) << r.dump();
  EXPECT_EQ(r["admitted"], 4);
  EXPECT_TRUE(with_status("WAITING").empty());
  EXPECT_EQ(with_status("ACTIVE").size(), 6u);
  EXPECT_EQ(token_of(2), "EXPIRED/ABANDONED") << "an abandoned user stays out";
  json st = status();
  EXPECT_EQ(st["enabled"], false);
  EXPECT_EQ(st["waiting"], 0);
  EXPECT_EQ(st["admittedTotal"], 6);
  EXPECT_TRUE(call("resv_queue_gate(" + uid(10) + ", " + concert() + ", NULL)").is_null());
  EXPECT_EQ(code(issue({user(10)})), "NOT_FOUND") << "no more tokens for a drained queue";
  EXPECT_TRUE(tick().is_null());
  EXPECT_EQ(code(call("resv_queue_drain(" + str(s.concert_id + 1000) + ", 'tester')")), "NOT_FOUND");
}

// Beyond the brief's list: drain before the opening time.
TEST_F(QueueSql, DrainBeforeOpeningAdmitsThePreQueueToo) {
  ASSERT_TRUE(ok(enable({{"maxActive", 2}, {"opensAt", kFuture}})));
  ASSERT_TRUE(ok(issue(users(0, 3))));
  ASSERT_EQ(status()["preQueue"], 3);

  json r = drain();
  ASSERT_TRUE(ok(r)) << r.dump();
  EXPECT_EQ(r["admitted"], 3) << "everyone waiting is admitted: " << r.dump();
  EXPECT_TRUE(with_status("WAITING").empty());
  json st = status();
  EXPECT_EQ(st["enabled"], false);
  EXPECT_EQ(st["waiting"], 0) << st.dump();
  EXPECT_EQ(st["preQueue"], 0) << st.dump();
}

// ---- status --------------------------------------------------------------------

// Beyond the brief's list: expiredLastMinute counts tokens by when they ended.
TEST_F(QueueSql, StatusCountsEndedTokensByWhenTheyEnded) {
  ASSERT_TRUE(ok(enable({{"maxActive", 1}, {"abandonAfterSeconds", 300}})));
  ASSERT_TRUE(ok(issue(users(0, 3))));
  ASSERT_EQ(tick()["admitted"], 1);
  json h = hold(0, 0, concert());
  ASSERT_TRUE(ok(h)) << h.dump();
  ASSERT_TRUE(ok(pay(h["reservationId"].get<int64_t>(), user(0), concert())));
  ASSERT_EQ(tick()["paid"], 1);
  EXPECT_EQ(status()["expiredLastMinute"], (json{{"PAID", 1}}));

  // Five minutes pass: the payment is no longer recent.
  db.exec("UPDATE queue_tokens SET issued_at = issued_at - interval '5 minutes',"
          " admitted_at = admitted_at - interval '5 minutes', expires_at = expires_at - interval '5 minutes',"
          " last_seen_at = last_seen_at - interval '5 minutes', ended_at = ended_at - interval '5 minutes'"
          " WHERE user_id = " + uid(0));
  db.exec("UPDATE reservations SET created_at = created_at - interval '5 minutes',"
          " updated_at = updated_at - interval '5 minutes' WHERE user_id = " + uid(0));
  EXPECT_EQ(status()["expiredLastMinute"].value("PAID", 0), 0) << "a payment five minutes ago is not recent";

  // User 2 stopped polling just over abandonAfterSeconds ago: abandoned now.
  move_token(2, "last_seen_at = now() - interval '301 seconds'");
  ASSERT_EQ(tick()["abandoned"], 1);
  EXPECT_EQ(status()["expiredLastMinute"].value("ABANDONED", 0), 1) << "abandoned just now";

  // User 1's time ran out just now.
  move_token(1, "expires_at = now() - interval '1 second'");
  ASSERT_EQ(tick()["expired"], 1);
  EXPECT_EQ(status()["expiredLastMinute"].value("TTL", 0), 1);
}

// ---- change numbers ------------------------------------------------------------

TEST_F(QueueSql, EveryTokenChangeCarriesTheConcertsCurrentChangeNumberInOrder) {
  ASSERT_TRUE(ok(enable({{"maxActive", 2}})));
  std::map<int64_t, Token> before;
  int64_t seen = 0;  // what a reader of `change_no > n` has read up to
  auto step = [&](const std::string& what, size_t expect_changed, const std::function<void()>& op) {
    SCOPED_TRACE(what);
    op();
    auto after = tokens();
    const int64_t current = queue_field("change_no");
    std::set<int64_t> changed;
    int64_t highest = seen;
    for (const auto& [u, t] : after) {
      highest = std::max(highest, t.change_no);
      auto it = before.find(u);
      if (it == before.end() || it->second.state() != t.state()) {
        changed.insert(u);
        EXPECT_EQ(t.change_no, current) << "user " << u << " changed without the concert's current number";
        EXPECT_GT(t.change_no, seen) << "user " << u << " changed later but got a number a reader has passed";
      } else {
        EXPECT_EQ(t.change_no, it->second.change_no) << "user " << u << " did not change but got a new number";
      }
    }
    EXPECT_EQ(changed.size(), expect_changed);
    std::set<int64_t> read;
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec("SELECT user_id FROM queue_tokens WHERE concert_id = " + concert() +
                                   " AND change_no > " + str(seen)))
      read.insert(row[0].as<int64_t>());
    EXPECT_EQ(read, changed) << "a reader of change_no > " << seen << " gets exactly the changed rows";
    seen = highest;
    before = std::move(after);
  };

  step("issue", 5, [&] { ASSERT_TRUE(ok(issue(users(0, 5)))); });
  step("issue with repeats", 3, [&] { ASSERT_TRUE(ok(issue(users(3, 8)))); });
  step("tick admits", 2, [&] { ASSERT_EQ(tick()["admitted"], 2); });
  step("tick with nothing to do", 0, [&] { ASSERT_EQ(tick()["admitted"], 0); });
  step("tick expires and admits", 2, [&] {
    move_token(0, "expires_at = now() - interval '1 second'");
    ASSERT_EQ(tick()["admitted"], 1);
  });
  step("tick abandons", 1, [&] {
    move_token(7, "last_seen_at = now() - interval '1 hour'");
    ASSERT_EQ(tick()["abandoned"], 1);
  });
  step("operator admits", 2, [&] { ASSERT_EQ(admit(2)["admitted"], 2); });
  step("pre-queue issue", 2, [&] {
    ASSERT_TRUE(ok(configure(s.concert_id, {{"opensAt", kFuture}})));
    ASSERT_TRUE(ok(issue(users(8, 10))));
  });
  step("opening tick", 2, [&] {
    db.exec("UPDATE queue_concerts SET opens_at = now() - interval '1 second'");
    ASSERT_EQ(tick()["opened"], 2);
  });
  step("pay and tick", 1, [&] {
    json h = hold(1, 0, concert());
    ASSERT_TRUE(ok(h)) << h.dump();
    ASSERT_TRUE(ok(pay(h["reservationId"].get<int64_t>(), user(1), concert())));
    ASSERT_EQ(tick()["paid"], 1);
  });
  step("drain", 4, [&] { ASSERT_EQ(drain()["admitted"], 4); });
}

TEST_F(QueueSql, AReaderOfChangeNumbersMissesNothingWhileWritersRace) {
  constexpr size_t kIssuers = 4, kBatches = 40, kBatchSize = 25;
  ASSERT_TRUE(ok(enable({{"maxActive", 1000000}})));
  const std::vector<int64_t> all = add_users(kIssuers * kBatches * kBatchSize);

  std::atomic<bool> writing{true};
  std::vector<std::string> errors;
  std::mutex mu;
  auto fail = [&](const std::string& e) {
    std::lock_guard lock(mu);
    errors.push_back(e);
  };
  // The reader's view: user -> (state, change_no), built only from `change_no > n` reads.
  std::map<int64_t, std::pair<std::string, int64_t>> view;
  size_t reads = 0;
  const std::string state_sql =
      "SELECT user_id, status || '|' || coalesce(position::text, '-') || '|' || coalesce(end_reason, ''),"
      " change_no FROM queue_tokens WHERE concert_id = " + concert() + " AND change_no > ";

  std::latch start(static_cast<std::ptrdiff_t>(kIssuers + 2));
  std::vector<std::thread> threads;
  for (size_t w = 0; w < kIssuers; ++w)
    threads.emplace_back([&, w] {
      std::unique_ptr<pqxx::connection> c;
      try {
        c = std::make_unique<pqxx::connection>(db.url());
      } catch (const std::exception& e) {
        fail(e.what());
      }
      start.arrive_and_wait();
      if (!c) return;
      try {
        for (size_t b = 0; b < kBatches; ++b) {
          const auto first = all.begin() + static_cast<std::ptrdiff_t>((w * kBatches + b) * kBatchSize);
          json r = call_on(*c, "resv_queue_issue(" + concert() + ", " +
                                   array_of(std::vector<int64_t>(first, first + kBatchSize)) + ")");
          if (!ok(r)) fail(r.dump());
        }
      } catch (const std::exception& e) {
        fail(e.what());
      }
    });
  std::thread ticker([&] {
    std::unique_ptr<pqxx::connection> c;
    try {
      c = std::make_unique<pqxx::connection>(db.url());
    } catch (const std::exception& e) {
      fail(e.what());
    }
    start.arrive_and_wait();
    if (!c) return;
    try {
      while (writing) call_on(*c, "resv_queue_tick(" + concert() + ")");
      call_on(*c, "resv_queue_tick(" + concert() + ")");
    } catch (const std::exception& e) {
      fail(e.what());
    }
  });
  std::atomic<bool> ticking{true};
  std::thread reader([&] {
    std::unique_ptr<pqxx::connection> c;
    try {
      c = std::make_unique<pqxx::connection>(db.url());
    } catch (const std::exception& e) {
      fail(e.what());
    }
    start.arrive_and_wait();
    if (!c) return;
    try {
      int64_t n = 0;
      auto read = [&] {
        pqxx::nontransaction tx(*c);
        int64_t highest = n;
        for (const auto& row : tx.exec(state_sql + str(n))) {
          const auto no = row[2].as<int64_t>();
          view[row[0].as<int64_t>()] = {row[1].as<std::string>(), no};
          highest = std::max(highest, no);
        }
        n = highest;
        ++reads;
      };
      while (ticking) read();
      read();  // after every writer has committed
    } catch (const std::exception& e) {
      fail(e.what());
    }
  });
  for (auto& th : threads) th.join();
  writing = false;
  ticker.join();
  ticking = false;
  reader.join();
  for (const auto& e : errors) ADD_FAILURE() << e;

  pqxx::nontransaction tx(conn);
  size_t rows = 0, missed = 0;
  for (const auto& row : tx.exec(state_sql + "-1")) {
    ++rows;
    auto it = view.find(row[0].as<int64_t>());
    if (it == view.end() || it->second.first != row[1].as<std::string>() ||
        it->second.second != row[2].as<int64_t>())
      ++missed;
  }
  EXPECT_EQ(rows, all.size());
  EXPECT_EQ(view.size(), all.size());
  EXPECT_EQ(missed, 0u) << "the reader's view, after " << reads << " reads, is the table";
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_tokens WHERE status = 'ACTIVE'"),
            static_cast<int64_t>(all.size()))
      << "the last tick admitted everyone";
}

// An opening fills queue_tokens long before autovacuum looks at it: the
// admission controller refreshes its statistics once as many rows changed as
// the last ANALYZE saw (at least 1,000), so that plans stop taking it for empty.
TEST_F(QueueSql, StatisticsOfTheTokensAreRefreshedOnceTheTableHasGrownAndNotBefore) {
  enable({{"maxActive", 10}});
  db.exec("ANALYZE queue_tokens");
  auto refresh = [&] { return db.scalar("SELECT resv_queue_refresh_statistics()"); };
  auto analyzed = [&] {
    return db.scalar("SELECT coalesce(last_analyze::text, '') FROM pg_stat_user_tables WHERE relname = 'queue_tokens'");
  };
  const std::string before = analyzed();
  // A few hundred new rows are not enough.
  db.exec("INSERT INTO queue_tokens (concert_id, user_id, nonce, position, change_no)"
          " SELECT " + concert() + ", -g, g, g, 1 FROM generate_series(1, 500) g; SELECT pg_stat_force_next_flush()");
  ASSERT_TRUE(eventually([&] {
    return db.count("SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'queue_tokens'") >= 500;
  }));
  EXPECT_EQ(refresh(), "f");
  EXPECT_EQ(analyzed(), before);

  db.exec("INSERT INTO queue_tokens (concert_id, user_id, nonce, position, change_no)"
          " SELECT " + concert() + ", -g, g, g, 1 FROM generate_series(501, 2000) g; SELECT pg_stat_force_next_flush()");
  ASSERT_TRUE(eventually([&] {
    return db.count("SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'queue_tokens'") >= 2000;
  }));
  EXPECT_EQ(refresh(), "t");
  EXPECT_NE(analyzed(), before);
  EXPECT_EQ(db.count("SELECT reltuples::bigint FROM pg_class WHERE relname = 'queue_tokens'"), 2000);
  EXPECT_EQ(refresh(), "f") << "just analyzed: nothing to do";
}

}  // namespace
