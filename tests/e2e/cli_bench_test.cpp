// resv bench against a real resv-server: counts that add up, the audit of
// what the scenario sold, thresholds, the open loop's view of a stall, bad
// input.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <thread>

#include "cli_run.h"
#include "e2e_util.h"
#include "server_cli.h"
#include "test_db.h"

namespace {

using namespace resv::test;
using namespace resv::e2e;

struct CliBench : ::testing::Test {
  TestDatabase db;
  ServerCli cli{db.url(), 1};
  void SetUp() override { ASSERT_EQ(cli.start().code, 0); }
  CliRun bench(std::vector<std::string> args) {
    args.insert(args.begin(), "bench");
    args.insert(args.end(), {"--url", "http://127.0.0.1:" + std::to_string(cli.port), "--db", db.url(), "--state-dir",
                             cli.state().string()});
    return run_resv(args);
  }
  static int64_t sum(const json& counts) {
    int64_t n = 0;
    for (const auto& [k, v] : counts.items()) n += v.get<int64_t>();
    return n;
  }
};

TEST_F(CliBench, RushSellsThePoolExactlyOnceAndEveryAnswerIsCounted) {
  const std::string trace = cli.state().string() + "/rush.trace";
  auto r = bench({"rush", "--connections", "20", "--attempts", "3", "--capacity", "8", "--party", "2", "--json",
                  "--trace", trace});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  // The trace: a header, then one line per answer, in due order.
  auto lines = lines_of(read_file(trace));
  ASSERT_EQ(lines.size(), 61u);
  EXPECT_TRUE(lines[0].rfind("# resv bench rush, started at ", 0) == 0) << lines[0];
  EXPECT_TRUE(contains(lines[0], " ms: due_ms sent_ms latency_ms status code method target step")) << lines[0];
  // A winner's later attempts are LIMIT_EXCEEDED (it holds its party already)
  // unless the pool had sold out by then.
  int rejected = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_TRUE(contains(lines[i], " 201 - POST /api/reservations hold") ||
                contains(lines[i], " 409 SOLD_OUT POST /api/reservations hold") ||
                contains(lines[i], " 409 LIMIT_EXCEEDED POST /api/reservations hold"))
        << lines[i];
    rejected += contains(lines[i], " 409 ");
  }
  EXPECT_EQ(rejected, 56);
  auto j = parse_or_null(r.out);
  const auto& total = j["total"];
  EXPECT_EQ(total["requests"], 60);
  EXPECT_EQ(total["successes"], 4) << "8 units in parties of 2";
  EXPECT_EQ(total["rejections"].value("SOLD_OUT", 0) + total["rejections"].value("LIMIT_EXCEEDED", 0), 56) << total;
  EXPECT_LE(total["rejections"].value("LIMIT_EXCEEDED", 0), 8) << "only the 4 winners' 2 later attempts each";
  EXPECT_EQ(total["successes"].get<int64_t>() + sum(total["rejections"]) + sum(total["systemErrors"]), 60);
  for (const auto& a : j["audit"]) EXPECT_EQ(a["violations"], 0) << a;
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM pool_units WHERE reservation_id IS NOT NULL AND pool_id = " +
                      std::to_string(j["poolId"].get<int64_t>())),
            "8");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM concerts WHERE id <> " + std::to_string(j["concertId"].get<int64_t>())),
            "0")
      << "one concert of its own, nothing else";
}

// On two load threads: their counts merge into the same totals.
TEST_F(CliBench, SeatsHoldsThenPaysAndTheAuditMatchesTheAnswers) {
  auto r = bench({"seats", "--requests", "200", "--connections", "8", "--seats", "300", "--threads", "2", "--json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto j = parse_or_null(r.out);
  EXPECT_EQ(j["total"]["requests"], 200);
  int64_t holds = 0, pays = 0;
  for (const auto& s : j["steps"]) {
    if (s["step"] == "hold") holds = s["successes"].get<int64_t>();
    if (s["step"] == "pay") pays = s["successes"].get<int64_t>();
  }
  EXPECT_GT(holds, 0);
  EXPECT_GT(pays, 0);
  const std::string schedule = std::to_string(j["scheduleId"].get<int64_t>());
  EXPECT_EQ(db.scalar("SELECT count(*) FROM reservations WHERE schedule_id = " + schedule), std::to_string(holds));
  EXPECT_EQ(db.scalar("SELECT count(*) FROM reservations WHERE status = 'CONFIRMED' AND schedule_id = " + schedule),
            std::to_string(pays));
  for (const auto& a : j["audit"]) EXPECT_EQ(a["violations"], 0) << a;
}

TEST_F(CliBench, JourneyBuyersPassTheWaitingRoomAndEachPaysForOneSeat) {
  auto r = bench({"journey", "--connections", "12", "--seats", "40", "--admit-rate", "50", "--json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto j = parse_or_null(r.out);
  std::map<std::string, json> steps;
  for (const auto& s : j["steps"]) steps[s["step"].get<std::string>()] = s;
  EXPECT_EQ(steps["queue token"]["successes"], 12);
  EXPECT_EQ(steps["pay"]["successes"], 12) << "every buyer got through and paid: " << r.out;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM reservations WHERE status = 'CONFIRMED' AND schedule_id = " +
                      std::to_string(j["scheduleId"].get<int64_t>())),
            "12");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM queue_tokens WHERE concert_id = " +
                      std::to_string(j["concertId"].get<int64_t>())),
            "12");
  for (const auto& a : j["audit"]) EXPECT_EQ(a["violations"], 0) << a;
}

TEST_F(CliBench, DuplicatesMakeOneReservationAndOneChargePerKey) {
  auto r = bench({"duplicates", "--connections", "4", "--seats", "20", "--json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto j = parse_or_null(r.out);
  std::map<std::string, json> steps;
  for (const auto& s : j["steps"]) steps[s["step"].get<std::string>()] = s;
  EXPECT_EQ(steps["hold"]["successes"], 20);
  EXPECT_EQ(steps["hold (again)"]["successes"], 40) << "each copy answered as the first";
  EXPECT_EQ(steps["pay"]["successes"], 20);
  EXPECT_EQ(steps["pay (again)"]["successes"], 40);
  const std::string schedule = std::to_string(j["scheduleId"].get<int64_t>());
  EXPECT_EQ(db.scalar("SELECT count(*) FROM reservations WHERE schedule_id = " + schedule), "20");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM payments p JOIN reservations r ON r.id = p.reservation_id"
                      " WHERE r.schedule_id = " + schedule),
            "20");
  for (const auto& a : j["audit"]) EXPECT_EQ(a["violations"], 0) << a;
}

TEST_F(CliBench, SlowConsumerPaysWhileAConsumerGroupLagsBehindTheEvents) {
  auto r = bench({"slow-consumer", "--duration", "4s", "--connections", "4", "--seats", "500", "--json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto j = parse_or_null(r.out);
  EXPECT_GE(j["slowConsumerRead"].get<int64_t>(), 1) << "the consumer read the relay's events: " << r.out;
  int64_t pays = 0;
  for (const auto& s : j["steps"])
    if (s["step"] == "pay") pays = s["successes"].get<int64_t>();
  EXPECT_GT(pays, j["slowConsumerRead"].get<int64_t>()) << "payments did not wait for the consumer";
  for (const auto& a : j["audit"]) EXPECT_EQ(a["violations"], 0) << a;
}

TEST_F(CliBench, MixedSplitsTheConnectionsByWeightOnOneScheduleAndTheAuditHolds) {
  auto r = bench({"mixed", "--mix", "browse:50,seats:30,rush:20", "--connections", "10", "--requests", "300",
                  "--seats", "100", "--capacity", "8", "--party", "2", "--json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto j = parse_or_null(r.out);
  std::map<std::string, json> steps;
  for (const auto& s : j["steps"]) steps[s["step"].get<std::string>()] = s;
  EXPECT_EQ(j["total"]["requests"], 300);
  EXPECT_TRUE(steps.count("seat map") && steps.count("schedules")) << "browse: 5 connections";
  EXPECT_TRUE(steps.count("hold")) << "seats: 3 connections, rush: 2";
  EXPECT_LE(std::stoi(db.scalar("SELECT count(*) FROM pool_units WHERE reservation_id IS NOT NULL AND pool_id = " +
                                std::to_string(j["poolId"].get<int64_t>()))),
            8);
  for (const auto& a : j["audit"]) EXPECT_EQ(a["violations"], 0) << a;
  auto bad = bench({"mixed", "--mix", "browse:70,coupon:30"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_TRUE(contains(bad.err, "'coupon:30'")) << bad.err;
}

TEST_F(CliBench, ReuseRunsOnAnExistingScheduleAndAuditsOnlyWhatThisRunMade) {
  auto first = bench({"seats", "--requests", "60", "--connections", "4", "--seats", "200", "--json"});
  ASSERT_EQ(first.code, 0) << first.err;
  const auto j1 = parse_or_null(first.out);
  const std::string schedule = std::to_string(j1["scheduleId"].get<int64_t>());
  const std::string concerts = db.scalar("SELECT count(*) FROM concerts");

  auto again = bench({"seats", "--reuse", schedule, "--requests", "60", "--connections", "4", "--json"});
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  const auto j2 = parse_or_null(again.out);
  EXPECT_EQ(j2["scheduleId"], j1["scheduleId"]);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM concerts"), concerts) << "nothing seeded";
  for (const auto& a : j2["audit"]) EXPECT_EQ(a["violations"], 0) << a;
  int64_t holds = 0;
  for (const auto& s : j1["steps"]) holds += s["step"] == "hold" ? s["successes"].get<int64_t>() : 0;
  for (const auto& s : j2["steps"]) holds += s["step"] == "hold" ? s["successes"].get<int64_t>() : 0;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM reservations WHERE schedule_id = " + schedule), std::to_string(holds))
      << "both runs' holds, each audited on its own";

  auto missing = bench({"seats", "--reuse", "999999"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_TRUE(contains(missing.err, "schedule 999999 does not exist")) << missing.err;
  auto no_pool = bench({"rush", "--reuse", schedule});
  EXPECT_EQ(no_pool.code, 2);
  EXPECT_TRUE(contains(no_pool.err, "has no pool")) << no_pool.err;
}

TEST_F(CliBench, ACrossedThresholdExitsFourAndNamesIt) {
  auto r = bench({"browse", "--requests", "20", "--threshold", "p50<1us", "--threshold", "system_errors==0"});
  EXPECT_EQ(r.code, 4) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "threshold crossed: p50<1us")) << r.err;
  EXPECT_FALSE(contains(r.err, "system_errors==0")) << "only what was crossed is named: " << r.err;
  EXPECT_TRUE(contains(r.out, "threshold p50<1us: crossed")) << r.out;
  EXPECT_FALSE(contains(r.err, " answered, ")) << "no progress line off a terminal: " << r.err;
}

TEST_F(CliBench, TheOpenLoopCountsAStalledServersSecondFromWhenEachRequestWasDue) {
  const long pid = instances_of(cli.resv({"server", "status", "--json"}))[0]["pid"].get<long>();
  CliRun r;
  std::thread load([&] { r = bench({"browse", "--rate", "50", "--duration", "4s", "--connections", "4", "--json"}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  kill(static_cast<pid_t>(pid), SIGSTOP);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  kill(static_cast<pid_t>(pid), SIGCONT);
  load.join();
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto j = parse_or_null(r.out);
  EXPECT_EQ(j["total"]["requests"], 200) << "every due request sent and answered";
  EXPECT_EQ(j["total"]["successes"], 200);
  // The request due as the stall began waited the whole second (at least),
  // though no connection was ever busy for it before it was sent.
  EXPECT_GE(j["total"]["latencyMs"]["max"].get<double>(), 950) << j["total"];
  EXPECT_GT(j["lateSends"].get<int64_t>(), 0) << "requests were sent after they were due";
}

TEST_F(CliBench, ARampSendsExactlyTheRequestsItsStagesAddUpTo) {
  // 0 -> 100/s over 1 s (50 requests), then 100/s for 1 s (100).
  auto r = bench({"browse", "--ramp", "1s:100,1s:100", "--connections", "8", "--json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(parse_or_null(r.out)["total"]["requests"], 150) << r.out;
  auto bad = bench({"browse", "--ramp", "1s:100,fast"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_TRUE(contains(bad.err, "'fast' is not DURATION:RATE")) << bad.err;
  EXPECT_EQ(bench({"browse", "--ramp", "1s:100", "--duration", "5s"}).code, 2) << "the ramp sets the length";
}

TEST_F(CliBench, BadInputIsAUsageErrorWithAHintAndSeedsNothing) {
  auto unknown = bench({"stampede"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_TRUE(contains(unknown.err, "browse, seats, rush, coupon")) << unknown.err;
  auto threshold = bench({"rush", "--threshold", "p95<20"});
  EXPECT_EQ(threshold.code, 2);
  EXPECT_TRUE(contains(threshold.err, "a latency needs a unit")) << threshold.err;
  auto url = run_resv({"bench", "rush", "--url", "localhost:8080", "--db", db.url()});
  EXPECT_EQ(url.code, 2);
  EXPECT_TRUE(contains(url.err, "http://HOST:PORT")) << url.err;
  auto trace = bench({"rush", "--trace", "/nonexistent/dir/trace"});
  EXPECT_EQ(trace.code, 2);
  EXPECT_TRUE(contains(trace.err, "cannot write the trace file")) << trace.err;
  auto closed = run_resv({"bench", "browse", "-n", "10", "--url", "http://127.0.0.1:1", "--db", db.url(), "--state-dir",
                          cli.state().string()});
  EXPECT_EQ(closed.code, 3) << "nothing answered: " << closed.err;
  EXPECT_TRUE(contains(closed.err, "nothing answers at http://127.0.0.1:1")) << closed.err;
  auto size = bench({"rush", "--party", "50", "--capacity", "8"});
  EXPECT_EQ(size.code, 2) << size.err;
  EXPECT_EQ(db.scalar("SELECT count(*) FROM concerts"), "0") << "nothing seeded";
}

}  // namespace
