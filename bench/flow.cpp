// resv-flow: field report 001's buyer journey through the waiting room, for
// bench/queue.sh. Each of --users threads is one buyer with its own
// keep-alive connection: issue a token, poll its status until ACTIVE, list
// the concert's schedules, read the available seats, hold a random one
// (another on SEAT_TAKEN), pay. Prints one JSON line: per step the count,
// p50/p95/max latency in ms and the number of 5xx or failed requests, plus
// the time spent waiting in the queue.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "cli/http_client.h"

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  uint16_t port = 8080;
  int users = 300;
  int64_t first_user = 1, concert = 1, schedule = 1;
  int poll_ms = 200;
};

struct Step {
  std::vector<double> ms;
  long failed = 0;  // 5xx or no answer
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"resv-flow: the issue -> wait -> browse -> reserve -> pay journey", "resv-flow"};
  app.add_option("--port", o.port)->required();
  app.add_option("--users", o.users);
  app.add_option("--first-user", o.first_user);
  app.add_option("--concert", o.concert);
  app.add_option("--schedule", o.schedule);
  app.add_option("--poll-ms", o.poll_ms, "Status polling interval while waiting");
  CLI11_PARSE(app, argc, argv);

  std::mutex mu;
  std::map<std::string, Step> steps;
  std::vector<double> waited_s;
  long paid = 0, gave_up = 0;
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < o.users; ++t)
    threads.emplace_back([&, t] {
      resv::cli::HttpClient http("127.0.0.1", o.port, std::chrono::seconds(60));
      const int64_t user = o.first_user + t;
      std::mt19937_64 rng(static_cast<uint64_t>(user));
      auto timed = [&](const std::string& step, auto&& call) {
        auto start = Clock::now();
        resv::cli::HttpResult r = call();
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        std::lock_guard lock(mu);
        steps[step].ms.push_back(ms);
        if (r.status == 0 || r.status >= 500) steps[step].failed++;
        return r;
      };
      auto fail = [&] {
        std::lock_guard lock(mu);
        gave_up++;
      };
      auto issued = timed("issue", [&] {
        return http.post("/api/queue/tokens",
                         json{{"userId", user}, {"concertId", o.concert}}.dump());
      });
      if (issued.status != 201) return fail();
      std::string token = json::parse(issued.body)["token"];
      std::map<std::string, std::string> with_token{{"Queue-Token", token}};
      auto wait_start = Clock::now();
      for (;;) {
        auto st = timed("status", [&] { return http.get("/api/queue/tokens/" + token); });
        if (st.status != 200) return fail();
        auto status = json::parse(st.body)["status"].get<std::string>();
        if (status == "ACTIVE") break;
        if (status != "WAITING") return fail();
        std::this_thread::sleep_for(std::chrono::milliseconds(o.poll_ms));
      }
      {
        std::lock_guard lock(mu);
        waited_s.push_back(std::chrono::duration<double>(Clock::now() - wait_start).count());
      }
      if (timed("schedules", [&] { return http.get("/api/concerts/" + std::to_string(o.concert) + "/schedules"); })
              .status != 200)
        return fail();
      for (int attempt = 0; attempt < 20; ++attempt) {
        auto seats = timed("seats", [&] {
          return http.get("/api/schedules/" + std::to_string(o.schedule) + "/seats?status=available");
        });
        if (seats.status != 200) return fail();
        std::vector<int64_t> free;
        const json map = json::parse(seats.body);
        for (const auto& s : map["seats"]) free.push_back(s["id"].get<int64_t>());
        if (free.empty()) return fail();
        int64_t seat = free[std::uniform_int_distribution<size_t>(0, free.size() - 1)(rng)];
        auto hold = timed("reserve", [&] {
          return http.post("/api/reservations",
                           json{{"userId", user}, {"scheduleId", o.schedule}, {"seatIds", {seat}}}.dump(), with_token);
        });
        if (hold.status == 409) continue;  // lost the race for that seat: pick another
        if (hold.status != 201) return fail();
        auto id = json::parse(hold.body)["reservationId"].get<int64_t>();
        auto pay = timed("pay", [&] {
          return http.post("/api/reservations/" + std::to_string(id) + "/payment", json{{"userId", user}}.dump(),
                           with_token);
        });
        if (pay.status != 200) return fail();
        std::lock_guard lock(mu);
        paid++;
        return;
      }
      fail();
    });
  for (auto& th : threads) th.join();

  json out{{"users", o.users},
           {"paid", paid},
           {"gaveUp", gave_up},
           {"seconds", std::chrono::duration<double>(Clock::now() - t0).count()},
           {"waitP50Seconds", percentile(waited_s, 50)},
           {"waitP95Seconds", percentile(waited_s, 95)}};
  for (const auto& [name, s] : steps)
    out["steps"][name] = {{"count", s.ms.size()},
                          {"p50_ms", percentile(s.ms, 50)},
                          {"p95_ms", percentile(s.ms, 95)},
                          {"max_ms", s.ms.empty() ? 0 : *std::max_element(s.ms.begin(), s.ms.end())},
                          {"failed", s.failed}};
  std::printf("%s\n", out.dump().c_str());
  return gave_up == 0 ? 0 : 1;
}
