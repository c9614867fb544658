// Events through the real binaries: resv-server relays the outbox to a real
// resv-broker process, and `resv events` reads both. Each state change
// arrives in order per reservation; a broker outage is exit 3, costs the API
// nothing, and drains by itself; a relay killed mid-batch loses nothing; the
// lead moves between two servers; replay asks first.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "broker_process.h"
#include "cli_run.h"
#include "e2e_util.h"
#include "test_db.h"
#include "test_seed.h"

namespace {

namespace fs = std::filesystem;
using namespace resv::e2e;
using resv::test::BrokerProcess;
using resv::test::SeedSpec;
using resv::test::TestDatabase;

class CliEvents : public ::testing::Test {
 protected:
  CliEvents() {
    char tmpl[] = "/tmp/resv-events-test-XXXXXX";
    state_ = ::mkdtemp(tmpl);
    seeded = resv::test::seed(db, SeedSpec{.seats = 40, .users = 40});
  }
  ~CliEvents() override {
    std::error_code ec;
    fs::remove_all(state_, ec);
  }

  // `resv ARGS...` on this test's database and broker (none: no broker at all).
  CliRun resv(std::vector<std::string> args, const BrokerProcess* b = nullptr) const {
    std::map<std::string, std::string> env{{"RESV_DATABASE_URL", db.url()}, {"RESV_STATE_DIR", state_},
                                           {"XDG_CONFIG_HOME", state_ + "/config"}, {"RESV_CONFIG", ""},
                                           {"NO_COLOR", "1"}};
    if (b) env["RESV_KAFKA_BROKERS"] = b->bootstrap();
    return run_resv(args, env);
  }
  json status(const BrokerProcess* b, int expect_code = 0) const {
    auto r = resv({"events", "status", "--json"}, b);
    EXPECT_EQ(r.code, expect_code) << r.err;
    return parse_or_null(r.out);
  }
  // Every event on the topics from the start, one JSON object each.
  std::vector<json> tail_all(const BrokerProcess& b) const {
    auto r = resv({"events", "tail", "--from-beginning"}, &b);
    EXPECT_EQ(r.code, 0) << r.err;
    std::vector<json> out;
    for (const auto& line : lines_of(r.out)) out.push_back(json::parse(line));
    return out;
  }
  ServerProcess server(const BrokerProcess& b, std::vector<std::string> extra = {}) const {
    extra.insert(extra.begin(), {"--kafka-brokers", b.bootstrap()});
    return ServerProcess(db.url(), extra);
  }
  int64_t unpublished() const { return db.count("SELECT unpublished FROM resv_outbox_backlog()"); }
  int64_t user(int i) const { return seeded.first_user_id + i; }
  // Holds seat i for user i and pays for it; the two HTTP statuses.
  std::pair<int, int> hold_and_pay(uint16_t port, int i) const {
    HttpClient http("127.0.0.1", port);
    json body{{"userId", user(i)}, {"scheduleId", seeded.schedule_id}, {"seatIds", {seeded.seat_ids[static_cast<size_t>(i)]}}};
    auto held = http.post("/api/reservations", body.dump());
    if (held.status != 201) return {held.status, 0};
    auto id = json::parse(held.body)["reservationId"].get<int64_t>();
    auto paid = http.post("/api/reservations/" + str(id) + "/payment", json{{"userId", user(i)}}.dump());
    return {held.status, paid.status};
  }
  // The event types per key (reservation id), in the order they arrived.
  static std::map<std::string, std::vector<std::string>> types_by_key(const std::vector<json>& events) {
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& e : events) out[e["key"].get<std::string>()].push_back(e["event"]["type"].get<std::string>());
    return out;
  }

  TestDatabase db;
  resv::test::Seeded seeded;

 private:
  std::string state_;
};

TEST_F(CliEvents, EveryStateChangeReachesTheTopicsInOrderAndStatusTailAndLagShowIt) {
  BrokerProcess broker;
  auto s = server(broker);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(hold_and_pay(s.port(), i), std::make_pair(201, 200));
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; })) << unpublished();

  json st = status(&broker);
  EXPECT_EQ(st["outbox"]["unpublished"], 0);
  EXPECT_EQ(st["outbox"]["publishedLastMinute"], 6);
  EXPECT_EQ(st["relay"]["leader"], "resv-server:" + str(s.port()) + " relay");
  EXPECT_EQ(st["broker"]["reachable"], true);
  EXPECT_EQ(st["broker"]["brokers"], broker.bootstrap());
  int64_t on_topic = 0;
  for (const auto& p : st["topics"])
    if (p["topic"] == "resv.reservations") on_topic += p["high"].get<int64_t>() - p["low"].get<int64_t>();
  EXPECT_EQ(on_topic, 6);

  auto events = tail_all(broker);
  ASSERT_EQ(events.size(), 6u);
  for (const auto& [key, types] : types_by_key(events))
    EXPECT_EQ(types, (std::vector<std::string>{"ReservationHeld", "ReservationConfirmed"})) << "reservation " << key;
  for (const auto& e : events) {
    EXPECT_EQ(e["headers"]["event-id"], std::to_string(e["event"]["eventId"].get<int64_t>()));
    EXPECT_EQ(e["event"]["aggregateId"].get<int64_t>(), std::stoll(e["key"].get<std::string>()));
  }

  // A group that read everything has no lag; one event later, with no
  // commit and nothing else arriving, it is STOPPED, and --fail-if-lag 0 says so.
  auto consumed = resv({"events", "tail", "--from-beginning", "--group", "billing"}, &broker);
  ASSERT_EQ(consumed.code, 0) << consumed.err;
  EXPECT_EQ(lines_of(consumed.out).size(), 6u);
  auto lag = resv({"events", "lag", "--group", "billing", "--interval", "200ms", "--json"}, &broker);
  ASSERT_EQ(lag.code, 0) << lag.err;
  json lj = parse_or_null(lag.out);
  ASSERT_EQ(lj["groups"].size(), 1u) << lag.out;
  EXPECT_EQ(lj["groups"][0]["verdict"], "OK");
  EXPECT_EQ(lj["groups"][0]["lag"], 0);

  ASSERT_EQ(hold_and_pay(s.port(), 3).first, 201);
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; }));
  auto behind = resv({"events", "lag", "--interval", "200ms", "--fail-if-lag", "0"}, &broker);
  EXPECT_EQ(behind.code, 4) << "the group remembered by tail lags: " << behind.out << behind.err;
  EXPECT_TRUE(contains(behind.out, "billing")) << behind.out;
  EXPECT_TRUE(contains(behind.out, "STOPPED")) << behind.out;
  EXPECT_TRUE(contains(behind.err, "group billing lags 2 events")) << behind.err;

  auto again = resv({"events", "tail", "--group", "billing"}, &broker);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(lines_of(again.out).size(), 2u) << "the group goes on from its committed offsets";
}

TEST_F(CliEvents, ABrokerOutageIsExitThreeCostsTheApiNothingAndTheBacklogDrainsByItself) {
  BrokerProcess broker;
  auto s = server(broker, {"--kafka-delivery-timeout-ms", "1000"});
  ASSERT_EQ(hold_and_pay(s.port(), 0), std::make_pair(201, 200));
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; }));

  broker.down();
  // Payments for 20 s while the broker does not answer: every one succeeds.
  std::atomic<int> done{0}, failed{0};
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int i = 1; std::chrono::steady_clock::now() < until && i < 40; ++i) {
    auto [held, paid] = hold_and_pay(s.port(), i);
    (held == 201 && paid == 200 ? done : failed)++;
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
  }
  EXPECT_EQ(failed.load(), 0) << "the API does not wait for the broker";
  EXPECT_GT(done.load(), 10);
  EXPECT_GE(unpublished(), 2 * done.load()) << "the backlog grew";

  auto down = resv({"events", "status"}, &broker);
  EXPECT_EQ(down.code, 3) << down.err;
  EXPECT_TRUE(contains(down.out, "UNREACHABLE")) << down.out;
  EXPECT_TRUE(contains(down.out, "unpublished")) << "the database part is still shown: " << down.out;
  EXPECT_EQ(resv({"events", "status", "--fail-if-backlog", "0"}, &broker).code, 4) << "the check comes first";
  EXPECT_EQ(resv({"events", "lag", "--group", "billing"}, &broker).code, 3);

  broker.up();
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; }, 120)) << unpublished() << " left";
  EXPECT_EQ(resv({"events", "status", "--fail-if-backlog", "0"}, &broker).code, 0);
  std::set<std::string> ids;
  for (const auto& e : tail_all(broker)) ids.insert(e["headers"]["event-id"].get<std::string>());
  EXPECT_EQ(static_cast<int64_t>(ids.size()), db.count("SELECT count(*) FROM outbox")) << "every event arrived";
}

TEST_F(CliEvents, ARelayKilledMidBatchLosesNothingAndItsDuplicatesKeepTheirIds) {
  BrokerProcess broker;
  // A backlog written while no server runs.
  db.exec("SELECT resv_outbox('reservation', g % 50, 'Drill', jsonb_build_object('n', g))"
          " FROM generate_series(1, 3000) g");
  {
    auto first = server(broker, {"--relay-batch", "50"});
    ASSERT_TRUE(eventually([&] { return unpublished() < 3000; }, 60)) << "the relay started";
    first.signal(SIGKILL);
    first.wait();
  }
  const int64_t left = unpublished();
  auto second = server(broker, {"--relay-batch", "50"});
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; }, 120)) << unpublished();

  std::map<std::string, int> copies;
  std::map<std::string, std::vector<int64_t>> ns_by_key;
  for (const auto& e : tail_all(broker)) {
    ++copies[e["headers"]["event-id"].get<std::string>()];
    ns_by_key[e["key"].get<std::string>()].push_back(e["event"]["data"]["n"].get<int64_t>());
  }
  EXPECT_GT(left, 0) << "killed before it was done";
  EXPECT_EQ(static_cast<int64_t>(copies.size()), db.count("SELECT count(*) FROM outbox"))
      << "every event at least once (" << left << " were left at the kill)";
  for (const auto& [key, ns] : ns_by_key) {
    // Per key the series may repeat its tail after the kill, never go back further.
    std::vector<int64_t> distinct;
    for (auto n : ns)
      if (distinct.empty() || n > distinct.back()) distinct.push_back(n);
    EXPECT_EQ(distinct.size(), 60u) << "key " << key << ": each of its events, in order";
  }
}

TEST_F(CliEvents, TwoServersPublishEachReservationInOrderAndTheLeadMovesWhenTheLeaderStops) {
  BrokerProcess broker;
  auto a = std::make_unique<ServerProcess>(db.url(), std::vector<std::string>{"--kafka-brokers", broker.bootstrap()});
  ASSERT_TRUE(eventually([&] { return !status(&broker)["relay"]["leader"].is_null(); }));
  auto b = server(broker);
  EXPECT_EQ(status(&broker)["relay"]["leader"], "resv-server:" + str(a->port()) + " relay") << "the first one leads";

  for (int i = 0; i < 4; ++i) ASSERT_EQ(hold_and_pay(i % 2 ? a->port() : b.port(), i), std::make_pair(201, 200));
  EXPECT_EQ(a->terminate(), 0);
  a.reset();
  ASSERT_TRUE(eventually([&] { return status(&broker)["relay"]["leader"] == "resv-server:" + str(b.port()) + " relay"; }))
      << "the other server took the lead";
  for (int i = 4; i < 6; ++i) ASSERT_EQ(hold_and_pay(b.port(), i), std::make_pair(201, 200));
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; }));

  auto events = tail_all(broker);
  EXPECT_EQ(events.size(), 12u);
  for (const auto& [key, types] : types_by_key(events))
    EXPECT_EQ(types, (std::vector<std::string>{"ReservationHeld", "ReservationConfirmed"})) << "reservation " << key;
}

TEST_F(CliEvents, ReplayAsksFirstCountsOnADryRunAndSendsTheSameEventsAgainWithYes) {
  BrokerProcess broker;
  auto s = server(broker);
  ASSERT_EQ(hold_and_pay(s.port(), 0), std::make_pair(201, 200));
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; }));
  const std::string first = db.scalar("SELECT min(id) FROM outbox");

  auto refused = resv({"events", "replay", "--from-id", first}, &broker);
  EXPECT_EQ(refused.code, 2) << "no terminal, no --yes";
  EXPECT_TRUE(contains(refused.err, "--yes")) << refused.err;
  EXPECT_EQ(unpublished(), 0);
  auto dry = resv({"events", "replay", "--from-id", first, "--dry-run", "--json"}, &broker);
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_EQ(parse_or_null(dry.out)["events"], 2);
  EXPECT_EQ(unpublished(), 0) << "a dry run changes nothing";
  EXPECT_EQ(resv({"events", "replay", "--from-id", "9", "--to-id", "3"}, &broker).code, 2);

  auto done = resv({"events", "replay", "--from-id", first, "--yes", "--json"}, &broker);
  ASSERT_EQ(done.code, 0) << done.err;
  EXPECT_EQ(parse_or_null(done.out)["events"], 2);
  EXPECT_EQ(db.count("SELECT count(*) FROM ops_audit WHERE action = 'events.replay'"), 1);
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; }));
  std::map<std::string, int> copies;
  for (const auto& e : tail_all(broker)) ++copies[e["headers"]["event-id"].get<std::string>()];
  EXPECT_EQ(copies.size(), 2u);
  for (const auto& [id, n] : copies) EXPECT_EQ(n, 2) << "event " << id << " was sent again with its id";
}

TEST_F(CliEvents, StatusReadsTheOutboxWithEveryServerDownAndNoBroker) {
  db.exec("SELECT resv_outbox('reservation', 7, 'Drill', '{}') FROM generate_series(1, 3)");
  auto r = resv({"events", "status"});
  EXPECT_EQ(r.code, 3) << "no broker to read: " << r.err;
  EXPECT_TRUE(contains(r.out, "3 unpublished")) << r.out;
  EXPECT_TRUE(contains(r.out, "relay leader: none")) << r.out;
  EXPECT_TRUE(contains(r.out, "resv server start")) << "the way out: " << r.out;
  auto check = resv({"events", "status", "--fail-if-backlog", "2", "--json"});
  EXPECT_EQ(check.code, 4);
  json j = parse_or_null(check.out);
  EXPECT_EQ(j["outbox"]["unpublished"], 3);
  EXPECT_TRUE(j["relay"]["leader"].is_null());
  EXPECT_EQ(j["broker"]["reachable"], false);
  EXPECT_EQ(resv({"events", "status", "--fail-if-older", "soon"}).code, 2);
  EXPECT_EQ(resv({"events", "tail", "--delay", "fast"}).code, 2);
}

}  // namespace
