// `resv queue` through the real binary on a database of its own per test:
// status (table, JSON, stuck, watch), list, inspect (tokens checked as the
// servers would), the changes (refused without --yes, --dry-run, audited
// with --yes) and the audit history. Concerts, users and tokens are made with
// SQL; time is moved by setting timestamps back, never by waiting.
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.h"
#include "e2e_util.h"
#include "queue/token.h"
#include "test_db.h"

namespace {

namespace fs = std::filesystem;
using namespace resv::e2e;
using resv::test::TestDatabase;

std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The table row whose first cell is `first`; "" when there is none.
std::string row_starting(const std::string& table, const std::string& first) {
  for (const auto& line : lines_of(table)) {
    auto w = words_of(line);
    if (!w.empty() && w[0] == first) return line;
  }
  return "";
}

// Word `i` of the first row whose first cell is `first`; "" when there is none.
std::string cell(const std::string& table, const std::string& first, size_t i) {
  auto w = words_of(row_starting(table, first));
  return i < w.size() ? w[i] : "";
}

std::string os_user() {
  const passwd* pw = ::getpwuid(::geteuid());
  return pw && pw->pw_name ? pw->pw_name : "unknown";
}

const char* kSecret = "the-servers-queue-secret";

// Each test: a fresh database with three concerts and twenty users, a state
// directory of its own, a clean configuration.
class CliQueue : public ::testing::Test {
 protected:
  CliQueue() {
    char tmpl[] = "/tmp/resv-queue-test-XXXXXX";
    state_ = ::mkdtemp(tmpl);
    db.exec("INSERT INTO concerts (id, name, venue) VALUES (1, 'Rock Night', 'Hall A'), (2, 'Jazz Evening', 'Hall B'),"
            " (3, 'Opera Gala', 'Hall C')");
    db.exec("INSERT INTO users (id, name) SELECT g, 'user ' || g FROM generate_series(1, 20) g");
  }
  ~CliQueue() override {
    std::error_code ec;
    fs::remove_all(state_, ec);
  }

  std::map<std::string, std::string> env(const std::string& url) const {
    return {{"RESV_DATABASE_URL", url},  {"RESV_STATE_DIR", state_}, {"XDG_CONFIG_HOME", state_ + "/config"},
            {"RESV_CONFIG", ""},         {"NO_COLOR", "1"},          {"RESV_QUEUE_SECRET", ""}};
  }
  // `resv queue ARGS...` on this test's database.
  CliRun queue(std::vector<std::string> args, std::map<std::string, std::string> extra = {}) const {
    args.insert(args.begin(), "queue");
    auto e = env(db.url());
    for (auto& [k, v] : extra) e[k] = v;
    return run_resv(args, e);
  }
  json queue_json(std::vector<std::string> args) const {
    args.push_back("--json");
    auto r = queue(args);
    EXPECT_EQ(r.code, 0) << r.err;
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_object()) << "stdout holds only the JSON document: " << r.out;
    return j;
  }

  // A queue made the way the CLI makes it (one audit line by test-setup).
  void make_queue(int64_t concert, const json& settings) const {
    json set = settings;
    set["enabled"] = true;
    auto answer = json::parse(db.scalar("SELECT resv_queue_configure(" + str(concert) + ", '" + set.dump() +
                                        "'::jsonb, 'test-setup', 'enable')"));
    ASSERT_TRUE(answer.value("ok", false)) << answer.dump();
  }
  void configure(int64_t concert, const json& set) const {
    auto answer = json::parse(db.scalar("SELECT resv_queue_configure(" + str(concert) + ", '" + set.dump() +
                                        "'::jsonb, 'test-setup', 'set')"));
    ASSERT_TRUE(answer.value("ok", false)) << answer.dump();
  }
  // Tokens for users first..last, placed in that order.
  void issue(int64_t concert, int first, int last) const {
    auto answer = json::parse(db.scalar("SELECT resv_queue_issue(" + str(concert) + ", ARRAY(SELECT generate_series(" +
                                        str(first) + ", " + str(last) + "))::bigint[])"));
    ASSERT_TRUE(answer.value("ok", false)) << answer.dump();
  }
  void admit(int64_t concert, int n) const {
    auto answer = json::parse(db.scalar("SELECT resv_queue_admit(" + str(concert) + ", " + str(n) + ", 'test-setup')"));
    ASSERT_EQ(answer.value("admitted", -1), n) << answer.dump();
  }

  // Everything the changing commands could touch, as one string.
  std::string queue_state() const {
    return db.scalar(
        "SELECT concat_ws(' | ',"
        " (SELECT string_agg(concat_ws(',', concert_id, enabled, paused, max_active, rate_per_s, token_ttl_s,"
        "   abandon_after_s, opens_at, admitted_total, last_position), ';' ORDER BY concert_id) FROM queue_concerts),"
        " (SELECT string_agg(concat_ws(',', concert_id, user_id, status, position, end_reason, admitted_at), ';'"
        "   ORDER BY concert_id, user_id) FROM queue_tokens),"
        " (SELECT count(*) FROM queue_audit))");
  }
  int64_t audit_rows() const { return db.count("SELECT count(*) FROM queue_audit"); }
  // The newest audit line as {"actor", "action", "concertId", "old", "new"}.
  json last_audit() const {
    return json::parse(db.scalar("SELECT jsonb_build_object('actor', actor, 'action', action, 'concertId', concert_id,"
                                 " 'old', old_values, 'new', new_values) FROM queue_audit ORDER BY id DESC LIMIT 1"));
  }

  // A changing command is refused without --yes and without a terminal, and
  // with --dry-run shows `would` without changing anything.
  void expect_guarded(const std::vector<std::string>& args, const std::string& would) const {
    const std::string before = queue_state();
    auto refused = queue(args);
    EXPECT_EQ(refused.code, 2) << refused.err;
    EXPECT_TRUE(contains(refused.err, "--yes")) << refused.err;
    EXPECT_EQ(refused.out, "");
    EXPECT_EQ(queue_state(), before) << "refused, yet changed";

    auto dry_args = args;
    dry_args.push_back("--dry-run");
    auto dry = queue(dry_args);
    EXPECT_EQ(dry.code, 0) << dry.err;
    EXPECT_TRUE(contains(dry.out, "would record: " + would)) << dry.out;
    EXPECT_TRUE(contains(dry.err, "nothing was changed")) << dry.err;
    EXPECT_EQ(queue_state(), before) << "a dry run changed the database";
  }

  std::string token_of(int64_t concert, int64_t user, const std::string& secret = kSecret) const {
    int64_t nonce = db.count("SELECT nonce FROM queue_tokens WHERE concert_id = " + str(concert) +
                             " AND user_id = " + str(user));
    return resv::sign_queue_token({concert, user, nonce}, secret);
  }

  TestDatabase db;
  std::string state_;
};

// ---- status ---------------------------------------------------------------------

// Concert 1: four issued, one admitted whose token then ran out (TTL), three
// waiting; concert 2: a queue switched off.
class CliQueueStatus : public CliQueue {
 protected:
  void SetUp() override {
    make_queue(1, {{"maxActive", 5}, {"ratePerSecond", 2}});
    make_queue(2, {{"maxActive", 10}});
    configure(2, {{"enabled", false}});
    issue(1, 1, 4);
    admit(1, 1);
    configure(1, {{"paused", true}});  // the tick below must not admit anyone
    db.exec("UPDATE queue_tokens SET expires_at = now() - interval '1 second' WHERE concert_id = 1 AND user_id = 1");
    ASSERT_EQ(json::parse(db.scalar("SELECT resv_queue_tick(1)")).value("expired", -1), 1);
    configure(1, {{"paused", false}});
  }
};

TEST_F(CliQueueStatus, TablePrintsOneRowPerQueueWithItsFigures) {
  auto r = queue({"status"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(words_of(lines[0])[0], "CONCERT");
  EXPECT_TRUE(contains(lines[0], "ETA-LAST")) << lines[0];

  const std::string one = row_starting(r.out, "1");
  auto w = words_of(one);
  ASSERT_GE(w.size(), 7u) << one;
  // CONCERT STATE WAITING PRE-QUEUE ACTIVE MAX-ACTIVE RATE/S
  EXPECT_EQ(std::vector<std::string>(w.begin(), w.begin() + 7),
            (std::vector<std::string>{"1", "running", "3", "0", "0", "5", "2"}))
      << one;
  EXPECT_TRUE(contains(one, "10m 0s")) << "token TTL: " << one;
  EXPECT_TRUE(contains(one, "  4  ")) << "issued: " << one;
  EXPECT_TRUE(contains(one, "0.07")) << "4 issued in the last minute: " << one;
  EXPECT_TRUE(contains(one, "0.02")) << "1 admitted in the last minute: " << one;
  EXPECT_TRUE(contains(one, "3m 0s")) << "ETA: 3 waiting at 1 a minute: " << one;
  EXPECT_TRUE(contains(one, "TTL 1")) << "expired by reason: " << one;

  const std::string two = row_starting(r.out, "2");
  auto w2 = words_of(two);
  ASSERT_GE(w2.size(), 3u) << two;
  EXPECT_EQ(w2[1], "disabled");
  EXPECT_EQ(w2[2], "0");
  EXPECT_EQ(r.err, "");
}

TEST_F(CliQueueStatus, JsonCarriesTheStatusObjectsWithStuckAndEta) {
  auto j = queue_json({"status"});
  ASSERT_TRUE(j.contains("concerts") && j["concerts"].is_array()) << j.dump();
  ASSERT_EQ(j["concerts"].size(), 2u) << j.dump();
  const json& c1 = j["concerts"][0];
  EXPECT_EQ(c1.value("concertId", 0), 1);
  EXPECT_EQ(c1.value("concertName", ""), "Rock Night");
  EXPECT_EQ(c1.value("enabled", false), true);
  EXPECT_EQ(c1.value("paused", true), false);
  EXPECT_EQ(c1.value("waiting", -1), 3);
  EXPECT_EQ(c1.value("preQueue", -1), 0);
  EXPECT_EQ(c1.value("active", -1), 0);
  EXPECT_EQ(c1.value("issued", -1), 4);
  EXPECT_EQ(c1.value("admittedTotal", -1), 1);
  EXPECT_EQ(c1.value("issuedLastMinute", -1), 4);
  EXPECT_EQ(c1.value("admittedLastMinute", -1), 1);
  EXPECT_EQ(c1["expiredLastMinute"], json({{"TTL", 1}}));
  EXPECT_EQ(c1.value("maxActive", -1), 5);
  EXPECT_EQ(c1.value("ratePerSecond", -1.0), 2.0);
  EXPECT_EQ(c1.value("tokenTtlSeconds", -1), 600);
  EXPECT_EQ(c1.value("stuck", true), false);
  ASSERT_TRUE(c1["etaLastSeconds"].is_number()) << c1.dump();
  EXPECT_DOUBLE_EQ(c1["etaLastSeconds"].get<double>(), 180.0);
  ASSERT_TRUE(c1["oldestWaitSeconds"].is_number()) << c1.dump();
  EXPECT_TRUE(c1["lastAdmitAt"].is_string()) << c1.dump();

  const json& c2 = j["concerts"][1];
  EXPECT_EQ(c2.value("concertId", 0), 2);
  EXPECT_EQ(c2.value("enabled", true), false);
  EXPECT_EQ(c2.value("stuck", true), false);
  EXPECT_EQ(c2.value("waiting", -1), 0);

  auto only = queue_json({"status", "--concert", "2"});
  ASSERT_EQ(only["concerts"].size(), 1u) << only.dump();
  EXPECT_EQ(only["concerts"][0].value("concertId", 0), 2);
}

TEST_F(CliQueueStatus, FailIfStuckExitsFourWhenPeopleWaitAndNothingWasAdmittedForLonger) {
  db.exec("UPDATE queue_concerts SET last_admit_at = now() - interval '10 minutes' WHERE concert_id = 1");
  db.exec("UPDATE queue_tokens SET issued_at = now() - interval '11 minutes',"
          " admitted_at = admitted_at - interval '10 minutes' WHERE concert_id = 1");
  auto r = queue({"status", "--fail-if-stuck", "120"});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_TRUE(contains(r.err, "concert 1 (Rock Night)")) << r.err;
  EXPECT_TRUE(contains(r.err, "3 waiting")) << r.err;
  EXPECT_TRUE(contains(r.err, "nothing admitted since")) << r.err;
  EXPECT_FALSE(contains(r.err, "concert 2")) << "a disabled queue is not stuck: " << r.err;
  EXPECT_EQ(cell(r.out, "1", 1), "stuck") << r.out;

  auto j = queue({"status", "--fail-if-stuck", "120", "--json"});
  EXPECT_EQ(j.code, 4);
  auto doc = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << j.out;
  EXPECT_EQ(doc["concerts"][0].value("stuck", false), true);
  EXPECT_TRUE(doc["concerts"][0]["etaLastSeconds"].is_null()) << "nobody admitted in the last minute";

  // Below the threshold it is not.
  EXPECT_EQ(queue({"status", "--fail-if-stuck", "900"}).code, 0);
}

TEST_F(CliQueueStatus, FailIfStuckExitsZeroWhenPausedOrAfterARecentAdmission) {
  db.exec("UPDATE queue_concerts SET last_admit_at = now() - interval '10 minutes' WHERE concert_id = 1");
  configure(1, {{"paused", true}});
  auto paused = queue({"status", "--fail-if-stuck", "60"});
  EXPECT_EQ(paused.code, 0) << paused.err;
  EXPECT_EQ(cell(paused.out, "1", 1), "paused") << paused.out;

  configure(1, {{"paused", false}});
  ASSERT_EQ(queue({"status", "--fail-if-stuck", "60"}).code, 4) << "stuck once resumed";
  db.exec("UPDATE queue_concerts SET last_admit_at = now() - interval '5 seconds' WHERE concert_id = 1");
  auto recent = queue({"status", "--fail-if-stuck", "60"});
  EXPECT_EQ(recent.code, 0) << recent.err;
  EXPECT_EQ(cell(recent.out, "1", 1), "running") << recent.out;
}

TEST_F(CliQueue, APreQueueBeforeTheOpeningIsNotStuck) {
  make_queue(3, {{"maxActive", 5}, {"opensAt", "2099-01-01T00:00:00Z"}});
  issue(3, 1, 4);
  ASSERT_EQ(db.count("SELECT count(*) FROM queue_tokens WHERE concert_id = 3 AND position IS NULL"), 4);
  auto r = queue({"status", "--concert", "3", "--fail-if-stuck", "0", "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  auto j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["concerts"][0].value("preQueue", -1), 4);
  EXPECT_EQ(j["concerts"][0].value("stuck", true), false);
}

TEST_F(CliQueue, StatusOfAConcertWithoutAQueueExitsOneWithTheEnableHint) {
  auto r = queue({"status", "--concert", "2"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "concert 2 (Jazz Evening) has no waiting room")) << r.err;
  EXPECT_TRUE(contains(r.err, "resv queue enable --concert 2")) << r.err;
  EXPECT_EQ(r.out, "");

  auto missing = queue({"status", "--concert", "99"});
  EXPECT_EQ(missing.code, 1) << missing.err;
  EXPECT_TRUE(contains(missing.err, "concert 99 does not exist")) << missing.err;
}

TEST_F(CliQueue, StatusWithNoQueueAnywhereIsAnEmptyListNotAnError) {
  auto j = queue_json({"status"});
  EXPECT_EQ(j, json({{"concerts", json::array()}}));
}

TEST_F(CliQueue, AnUnreachableDatabaseExitsThree) {
  const std::string url = unreachable_url();
  const std::vector<std::vector<std::string>> cases = {{"queue", "status"},
                                                       {"queue", "list"},
                                                       {"queue", "history"},
                                                       {"queue", "inspect", "--user", "1", "--concert", "1"},
                                                       {"queue", "pause", "--concert", "1", "--yes"}};
  for (const auto& args : cases) {
    auto r = run_resv(args, env(url));
    EXPECT_EQ(r.code, 3) << args[1] << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "resv: error: cannot connect")) << r.err;
    EXPECT_EQ(r.out, "") << args[1];
  }
}

TEST_F(CliQueue, WatchPrintsSnapshotsWithoutClearingAPipeUntilCtrlC) {
  make_queue(1, {{"maxActive", 5}});
  issue(1, 1, 2);
  const std::string out_path = state_ + "/watch.out", err_path = state_ + "/watch.err";
  pid_t pid = spawn_resv({"queue", "status", "--concert", "1", "--watch", "1"}, env(db.url()), out_path, err_path);
  ASSERT_GT(pid, 0);
  auto snapshots = [&] {
    size_t n = 0;
    for (const auto& line : lines_of(read_file(out_path))) n += line.rfind("queues at ", 0) == 0;
    return n;
  };
  bool two = eventually([&] { return snapshots() >= 2; }, 30, 50);
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(two) << read_file(out_path) << read_file(err_path);
  ASSERT_TRUE(WIFEXITED(status)) << "Ctrl-C ends the watch";
  EXPECT_EQ(WEXITSTATUS(status), 0) << read_file(err_path);
  const std::string out = read_file(out_path);
  EXPECT_FALSE(contains(out, "\x1b[")) << "no screen clearing when stdout is not a terminal";
  EXPECT_GE(std::count(out.begin(), out.end(), '\n'), 6) << out;
  EXPECT_EQ(cell(out, "1", 2), "2") << out;
}

// ---- list ---------------------------------------------------------------------------

TEST_F(CliQueue, ListFiltersByStatusLimitsAndPutsThePreQueueLast) {
  make_queue(1, {{"maxActive", 5}});
  issue(1, 1, 5);
  admit(1, 2);
  configure(1, {{"opensAt", "2099-01-01T00:00:00Z"}});
  issue(1, 6, 6);  // after an opening time is set again: pre-queue
  make_queue(2, {{"maxActive", 5}});
  issue(2, 7, 7);

  auto all = queue_json({"list", "--concert", "1"});
  std::vector<std::string> order;
  for (const auto& t : all["tokens"])
    order.push_back(str(t.value("userId", 0)) + "@" + (t["position"].is_null() ? "pre" : t["position"].dump()));
  EXPECT_EQ(order, (std::vector<std::string>{"1@1", "2@2", "3@3", "4@4", "5@5", "6@pre"}));
  EXPECT_EQ(all["tokens"][0].value("concertId", 0), 1);
  EXPECT_EQ(all["tokens"][0].value("status", ""), "ACTIVE");
  EXPECT_TRUE(all["tokens"][0]["expiresAt"].is_string());

  auto waiting = queue_json({"list", "--concert", "1", "--status", "WAITING"});
  std::vector<int> users;
  for (const auto& t : waiting["tokens"]) users.push_back(t.value("userId", 0));
  EXPECT_EQ(users, (std::vector<int>{3, 4, 5, 6}));

  auto limited = queue({"list", "--status", "WAITING", "--limit", "2"});
  ASSERT_EQ(limited.code, 0) << limited.err;
  auto lines = lines_of(limited.out);
  ASSERT_EQ(lines.size(), 3u) << limited.out;
  EXPECT_EQ(words_of(lines[0])[0], "CONCERT");
  // CONCERT USER POSITION STATUS END-REASON
  auto first = words_of(lines[1]);
  ASSERT_GE(first.size(), 5u) << lines[1];
  EXPECT_EQ(std::vector<std::string>(first.begin(), first.begin() + 5),
            (std::vector<std::string>{"1", "3", "3", "WAITING", "-"}));
  EXPECT_EQ(cell(lines[2], "1", 1), "4") << lines[2];
  EXPECT_TRUE(contains(limited.err, "showing 2 of 5")) << limited.err;

  auto active = queue({"list", "--status", "ACTIVE"});
  ASSERT_EQ(active.code, 0) << active.err;
  EXPECT_EQ(lines_of(active.out).size(), 3u) << active.out;
  EXPECT_EQ(cell(active.out, "1", 3), "ACTIVE") << active.out;

  auto bad = queue({"list", "--status", "GONE"});
  EXPECT_EQ(bad.code, 2) << bad.err;
}

// ---- inspect --------------------------------------------------------------------------

class CliQueueInspect : public CliQueue {
 protected:
  void SetUp() override {
    make_queue(1, {{"maxActive", 5}});
    issue(1, 1, 5);
    admit(1, 1);
    db.exec("INSERT INTO queue_secret (id, secret) VALUES (1, '" + std::string(kSecret) + "')");
  }
};

TEST_F(CliQueueInspect, AValidTokenShowsItsPlaceAndVerifiesWithTheDatabaseSecret) {
  const std::string token = token_of(1, 4);
  auto r = queue({"inspect", token});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "concert 1 (Rock Night)")) << r.out;
  EXPECT_TRUE(contains(r.out, "4 (2 waiting ahead)")) << r.out;
  EXPECT_TRUE(contains(r.out, "valid (secret from queue_secret)")) << r.out;
  EXPECT_TRUE(contains(r.out, "matches the stored token")) << r.out;

  auto j = queue_json({"inspect", token});
  EXPECT_EQ(j.value("concertId", 0), 1);
  EXPECT_EQ(j.value("userId", 0), 4);
  EXPECT_EQ(j.value("position", 0), 4);
  EXPECT_EQ(j.value("ahead", -1), 2);
  EXPECT_EQ(j.value("status", ""), "WAITING");
  EXPECT_EQ(j["token"], json({{"signatureValid", true}, {"secretSource", "queue_secret"}, {"nonceMatches", true}}));
}

TEST_F(CliQueueInspect, ATamperedTokenIsReportedAsNotVerifyingWithExitFour) {
  std::string token = token_of(1, 4);
  token.back() = token.back() == 'A' ? 'B' : 'A';
  auto r = queue({"inspect", token});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_TRUE(contains(r.out, "DOES NOT VERIFY")) << r.out;
  EXPECT_TRUE(contains(r.err, "signature does not verify")) << r.err;

  auto j = queue({"inspect", token, "--json"});
  EXPECT_EQ(j.code, 4);
  auto doc = json::parse(j.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << j.out;
  EXPECT_EQ(doc["token"].value("signatureValid", true), false);
  EXPECT_EQ(doc.value("userId", 0), 4) << "the details are printed all the same";

  // Another user's id in a token signed for user 4.
  std::string other = token_of(1, 4);
  other.replace(other.find(".4."), 3, ".5.");
  auto swapped = queue({"inspect", other, "--json"});
  EXPECT_EQ(swapped.code, 4) << swapped.err;
  EXPECT_EQ(json::parse(swapped.out, nullptr, false)["token"].value("signatureValid", true), false) << swapped.out;

  // Signed with another secret: RESV_QUEUE_SECRET, when set, is the servers' secret.
  auto env_secret = queue({"inspect", token_of(1, 4), "--json"}, {{"RESV_QUEUE_SECRET", "another-secret"}});
  EXPECT_EQ(env_secret.code, 4) << env_secret.err;
  auto env_doc = json::parse(env_secret.out, nullptr, false);
  EXPECT_EQ(env_doc["token"], json({{"signatureValid", false}, {"secretSource", "RESV_QUEUE_SECRET"},
                                    {"nonceMatches", true}}));
  EXPECT_EQ(queue({"inspect", token_of(1, 4, "another-secret")}, {{"RESV_QUEUE_SECRET", "another-secret"}}).code, 0);
}

TEST_F(CliQueueInspect, ATokenOfAnEarlierQueueHasAnotherNonce) {
  int64_t nonce = db.count("SELECT nonce FROM queue_tokens WHERE concert_id = 1 AND user_id = 3");
  const std::string stale = resv::sign_queue_token({1, 3, nonce + 1}, kSecret);
  auto r = queue({"inspect", stale, "--json"});
  EXPECT_EQ(r.code, 4) << r.err;
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_EQ(j["token"], json({{"signatureValid", true}, {"secretSource", "queue_secret"}, {"nonceMatches", false}}));
  EXPECT_TRUE(contains(r.err, "nonce differs")) << r.err;
}

TEST_F(CliQueueInspect, ByUserShowsTheSameTokenWithoutATokenCheck) {
  auto r = queue({"inspect", "--user", "2", "--concert", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "2 (0 waiting ahead)")) << r.out;
  EXPECT_FALSE(contains(r.out, "signature")) << r.out;

  auto active = queue_json({"inspect", "--user", "1", "--concert", "1"});
  EXPECT_EQ(active.value("status", ""), "ACTIVE");
  EXPECT_TRUE(active["admittedAt"].is_string());
  EXPECT_TRUE(active["expiresAt"].is_string());
  EXPECT_TRUE(active["token"].is_null());
}

TEST_F(CliQueueInspect, MalformedTokensAreUsageErrorsAndUnknownOnesNotFound) {
  const std::vector<std::string> malformed = {"nonsense", "q1.1.4", "q1.1.4.5.tooshort",
                                              "q1.x.4.5." + std::string(22, 'A'), "q1.1.4.05." + std::string(22, 'A')};
  for (const auto& bad : malformed) {
    auto r = queue({"inspect", bad});
    EXPECT_EQ(r.code, 2) << bad << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "not a queue token")) << r.err;
  }
  auto both = queue({"inspect", token_of(1, 4), "--user", "4"});
  EXPECT_EQ(both.code, 2) << both.err;
  auto neither = queue({"inspect", "--user", "4"});
  EXPECT_EQ(neither.code, 2) << neither.err;

  auto nobody = queue({"inspect", "--user", "20", "--concert", "1"});
  EXPECT_EQ(nobody.code, 1) << nobody.err;
  EXPECT_TRUE(contains(nobody.err, "user 20 has no token for concert 1")) << nobody.err;
  EXPECT_TRUE(contains(nobody.err, "resv queue list --concert 1")) << nobody.err;
  auto unknown_token = queue({"inspect", resv::sign_queue_token({1, 20, 7}, kSecret)});
  EXPECT_EQ(unknown_token.code, 1) << unknown_token.err;
}

// ---- the changes ------------------------------------------------------------------------

TEST_F(CliQueue, EnableCreatesTheQueueOnlyWithYesAndAuditsIt) {
  const std::vector<std::string> args = {"enable",      "--concert", "2",   "--max-active",    "50",
                                         "--rate",      "5",         "--token-ttl", "2m",  "--abandon-after",
                                         "90s",         "--opens-at", "2030-01-01T10:00:00Z"};
  expect_guarded(args, "enable ");
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_concerts WHERE concert_id = 2"), 0) << "no queue row from a dry run";

  auto with_yes = args;
  with_yes.push_back("--yes");
  auto r = queue(with_yes);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(db.scalar("SELECT concat_ws(',', enabled, paused, max_active, rate_per_s, token_ttl_s, abandon_after_s,"
                      " to_char(opens_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')) FROM queue_concerts"
                      " WHERE concert_id = 2"),
            "t,f,50,5,120,90,2030-01-01 10:00");
  EXPECT_EQ(audit_rows(), 1);
  auto a = last_audit();
  EXPECT_EQ(a.value("actor", ""), os_user()) << "the OS user by default";
  EXPECT_EQ(a.value("action", ""), "enable");
  EXPECT_EQ(a.value("concertId", 0), 2);
  // A new queue: old holds no setting that was on before; new every setting given.
  EXPECT_EQ(a["old"].value("enabled", false), false) << a.dump();
  const json given = {{"enabled", true},         {"maxActive", 50},           {"ratePerSecond", 5},
                      {"tokenTtlSeconds", 120},   {"abandonAfterSeconds", 90}, {"opensAt", "2030-01-01T10:00:00.000Z"}};
  for (const auto& [key, value] : given.items()) EXPECT_EQ(a["new"][key], value) << key << " in " << a.dump();
  EXPECT_EQ(r.out.rfind("audit #", 0), 0u) << r.out;
  EXPECT_TRUE(contains(r.out, " by " + os_user() + ": enable ")) << r.out;
  EXPECT_TRUE(contains(r.out, "maxActive=50")) << r.out;

  auto missing = queue({"enable", "--concert", "99", "--yes"});
  EXPECT_EQ(missing.code, 1) << missing.err;
  EXPECT_TRUE(contains(missing.err, "concert 99 does not exist")) << missing.err;
  EXPECT_EQ(audit_rows(), 1);
}

TEST_F(CliQueue, PauseStopsAdmissionsOnlyWithYesAndAuditsTheActor) {
  make_queue(1, {{"maxActive", 5}});
  const std::vector<std::string> args = {"pause", "--concert", "1", "--actor", "incident-42"};
  expect_guarded(args, "pause paused=false -> paused=true (by incident-42)");
  EXPECT_EQ(db.scalar("SELECT paused FROM queue_concerts WHERE concert_id = 1"), "f");

  const int64_t before = audit_rows();
  auto with_yes = args;
  with_yes.push_back("--yes");
  auto r = queue(with_yes);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(db.scalar("SELECT paused FROM queue_concerts WHERE concert_id = 1"), "t");
  EXPECT_EQ(audit_rows(), before + 1);
  auto a = last_audit();
  EXPECT_EQ(a.value("actor", ""), "incident-42");
  EXPECT_EQ(a.value("action", ""), "pause");
  EXPECT_EQ(a["old"], json({{"paused", false}}));
  EXPECT_EQ(a["new"], json({{"paused", true}}));
  EXPECT_TRUE(contains(r.out, "by incident-42: pause paused=false -> paused=true")) << r.out;

  auto no_queue = queue({"pause", "--concert", "2", "--yes"});
  EXPECT_EQ(no_queue.code, 1) << no_queue.err;
  EXPECT_TRUE(contains(no_queue.err, "resv queue enable --concert 2")) << no_queue.err;
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_concerts WHERE concert_id = 2"), 0);
}

TEST_F(CliQueue, ResumeAdmitsAgainOnlyWithYes) {
  make_queue(1, {{"maxActive", 5}});
  configure(1, {{"paused", true}});
  const std::vector<std::string> args = {"resume", "--concert", "1", "--actor", "ops"};
  expect_guarded(args, "resume paused=true -> paused=false");
  EXPECT_EQ(db.scalar("SELECT paused FROM queue_concerts WHERE concert_id = 1"), "t");

  const int64_t before = audit_rows();
  auto with_yes = args;
  with_yes.insert(with_yes.end(), {"--yes", "--json"});
  auto r = queue(with_yes);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(db.scalar("SELECT paused FROM queue_concerts WHERE concert_id = 1"), "f");
  EXPECT_EQ(audit_rows(), before + 1);
  auto a = last_audit();
  EXPECT_EQ(a.value("actor", ""), "ops");
  EXPECT_EQ(a.value("action", ""), "resume");
  EXPECT_EQ(a["old"], json({{"paused", true}}));
  EXPECT_EQ(a["new"], json({{"paused", false}}));
  auto j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j.value("ok", false), true);
  EXPECT_EQ(j.value("dryRun", true), false);
  EXPECT_EQ(j["audit"].value("action", ""), "resume");
  EXPECT_EQ(j["audit"].value("id", 0), db.count("SELECT max(id) FROM queue_audit"));
  EXPECT_EQ(j["settings"].value("paused", true), false);
}

TEST_F(CliQueue, DisableSwitchesTheQueueOffOnlyWithYes) {
  make_queue(1, {{"maxActive", 5}});
  const std::vector<std::string> args = {"disable", "--concert", "1", "--actor", "ops"};
  expect_guarded(args, "disable enabled=true -> enabled=false");
  auto with_yes = args;
  with_yes.push_back("--yes");
  ASSERT_EQ(queue(with_yes).code, 0);
  EXPECT_EQ(db.scalar("SELECT enabled FROM queue_concerts WHERE concert_id = 1"), "f");
  EXPECT_EQ(last_audit().value("action", ""), "disable");
  EXPECT_EQ(last_audit()["new"], json({{"enabled", false}}));
}

TEST_F(CliQueue, SetChangesOnlyTheSettingsGivenAndNeedsAtLeastOne) {
  make_queue(1, {{"maxActive", 5}, {"ratePerSecond", 2}});
  const int64_t setup_rows = audit_rows();
  auto nothing = queue({"set", "--concert", "1", "--yes"});
  EXPECT_EQ(nothing.code, 2) << nothing.err;
  EXPECT_TRUE(contains(nothing.err, "nothing to set")) << nothing.err;
  EXPECT_EQ(audit_rows(), setup_rows);

  const std::vector<std::string> args = {"set", "--concert", "1", "--max-active", "none", "--rate", "7.5",
                                         "--token-ttl", "1h", "--actor", "ops"};
  expect_guarded(args, "set maxActive=5 ratePerSecond=2 tokenTtlSeconds=600 -> maxActive=null ratePerSecond=7.5 "
                       "tokenTtlSeconds=3600");
  auto with_yes = args;
  with_yes.push_back("--yes");
  auto r = queue(with_yes);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(db.scalar("SELECT concat_ws(',', coalesce(max_active::text, 'null'), rate_per_s, token_ttl_s,"
                      " abandon_after_s, enabled, paused) FROM queue_concerts WHERE concert_id = 1"),
            "null,7.5,3600,60,t,f");
  EXPECT_EQ(audit_rows(), setup_rows + 1);
  auto a = last_audit();
  EXPECT_EQ(a.value("actor", ""), "ops");
  EXPECT_EQ(a.value("action", ""), "set");
  EXPECT_EQ(a["old"], json({{"maxActive", 5}, {"ratePerSecond", 2}, {"tokenTtlSeconds", 600}}));
  EXPECT_EQ(a["new"], json({{"maxActive", nullptr}, {"ratePerSecond", 7.5}, {"tokenTtlSeconds", 3600}}));

  // Refused by the database or by the options: exit 2, nothing changed.
  const std::string before = queue_state();
  const std::vector<std::vector<std::string>> bad_cases = {
      {"set", "--concert", "1", "--rate", "none", "--yes"},
      {"set", "--concert", "1", "--opens-at", "next tuesday-ish", "--yes"},
      {"set", "--concert", "1", "--token-ttl", "0", "--yes"},
      {"set", "--concert", "1", "--max-active", "-3", "--yes"}};
  for (const auto& bad : bad_cases) {
    auto refused = queue(bad);
    EXPECT_EQ(refused.code, 2) << bad[3] << " " << bad[4] << ": " << refused.err;
    EXPECT_TRUE(contains(refused.err, "resv: error:")) << refused.err;
  }
  EXPECT_EQ(queue_state(), before);
}

TEST_F(CliQueue, AdmitLetsTheNextNInOnlyWithYes) {
  make_queue(1, {{"maxActive", 1}});
  issue(1, 1, 5);
  const std::vector<std::string> args = {"admit", "2", "--concert", "1", "--actor", "ops"};
  expect_guarded(args, "admit admittedTotal=0 -> admittedTotal=2 requested=2");

  auto dry_json = queue({"admit", "2", "--concert", "1", "--dry-run", "--json"});
  ASSERT_EQ(dry_json.code, 0) << dry_json.err;
  auto dry = json::parse(dry_json.out, nullptr, false);
  EXPECT_EQ(dry.value("dryRun", false), true);
  EXPECT_EQ(dry.value("admitted", -1), 2);
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_tokens WHERE status = 'ACTIVE'"), 0);

  const int64_t before = audit_rows();
  auto with_yes = args;
  with_yes.push_back("--yes");
  auto r = queue(with_yes);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(db.scalar("SELECT string_agg(user_id::text, ',' ORDER BY user_id) FROM queue_tokens WHERE status = 'ACTIVE'"),
            "1,2")
      << "the two who waited longest, beyond max-active";
  EXPECT_EQ(db.count("SELECT admitted_total FROM queue_concerts WHERE concert_id = 1"), 2);
  EXPECT_EQ(audit_rows(), before + 1);
  auto a = last_audit();
  EXPECT_EQ(a.value("actor", ""), "ops");
  EXPECT_EQ(a.value("action", ""), "admit");
  EXPECT_EQ(a["old"], json({{"admittedTotal", 0}}));
  EXPECT_EQ(a["new"], json({{"admittedTotal", 2}, {"requested", 2}}));
  EXPECT_TRUE(contains(r.err, "admitted 2 user(s)")) << r.err;

  EXPECT_EQ(queue({"admit", "0", "--concert", "1", "--yes"}).code, 2);
  EXPECT_EQ(audit_rows(), before + 1);
}

TEST_F(CliQueue, DrainAdmitsEveryoneAndSwitchesOffOnlyWithYes) {
  make_queue(1, {{"maxActive", 1}});
  issue(1, 1, 5);
  const std::vector<std::string> args = {"drain", "--concert", "1", "--actor", "ops"};
  expect_guarded(args, "drain admittedTotal=0 enabled=true -> admittedTotal=5 enabled=false");

  const int64_t before = audit_rows();
  auto with_yes = args;
  with_yes.push_back("--yes");
  auto r = queue(with_yes);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(db.count("SELECT count(*) FROM queue_tokens WHERE concert_id = 1 AND status = 'ACTIVE'"), 5);
  EXPECT_EQ(db.scalar("SELECT enabled FROM queue_concerts WHERE concert_id = 1"), "f");
  EXPECT_EQ(audit_rows(), before + 1);
  auto a = last_audit();
  EXPECT_EQ(a.value("action", ""), "drain");
  EXPECT_EQ(a["old"], json({{"enabled", true}, {"admittedTotal", 0}}));
  EXPECT_EQ(a["new"], json({{"enabled", false}, {"admittedTotal", 5}}));
}

// ---- history --------------------------------------------------------------------------------

TEST_F(CliQueue, HistoryListsTheActionsNewestFirst) {
  make_queue(1, {{"maxActive", 5}});
  make_queue(2, {{"maxActive", 5}});
  ASSERT_EQ(queue({"pause", "--concert", "1", "--yes", "--actor", "alice"}).code, 0);
  ASSERT_EQ(queue({"resume", "--concert", "1", "--yes", "--actor", "bob"}).code, 0);
  ASSERT_EQ(queue({"set", "--concert", "1", "--max-active", "7", "--yes", "--actor", "carol"}).code, 0);

  auto j = queue_json({"history"});
  ASSERT_TRUE(j.contains("entries") && j["entries"].is_array()) << j.dump();
  std::vector<std::string> seen;
  int64_t previous = INT64_MAX;
  for (const auto& e : j["entries"]) {
    seen.push_back(e.value("action", "?") + "/" + e.value("actor", "?") + "/" + str(e.value("concertId", 0)));
    EXPECT_LT(e.value("id", INT64_MAX), previous) << "newest first";
    previous = e.value("id", INT64_MAX);
    EXPECT_TRUE(e["at"].is_string());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"set/carol/1", "resume/bob/1", "pause/alice/1", "enable/test-setup/2",
                                            "enable/test-setup/1"}));
  EXPECT_EQ(j["entries"][0]["old"], json({{"maxActive", 5}}));
  EXPECT_EQ(j["entries"][0]["new"], json({{"maxActive", 7}}));

  auto one = queue_json({"history", "--concert", "2"});
  ASSERT_EQ(one["entries"].size(), 1u);
  EXPECT_EQ(one["entries"][0].value("concertId", 0), 2);
  auto latest = queue_json({"history", "--limit", "1"});
  ASSERT_EQ(latest["entries"].size(), 1u);
  EXPECT_EQ(latest["entries"][0].value("actor", ""), "carol");

  auto table = queue({"history", "--concert", "1"});
  ASSERT_EQ(table.code, 0) << table.err;
  auto lines = lines_of(table.out);
  ASSERT_EQ(lines.size(), 5u) << table.out;
  EXPECT_EQ(words_of(lines[0]), (std::vector<std::string>{"ID", "AT", "CONCERT", "ACTOR", "ACTION", "OLD", "NEW"}));
  auto newest = words_of(lines[1]);
  ASSERT_EQ(newest.size(), 7u) << lines[1];
  EXPECT_EQ(newest[3], "carol");
  EXPECT_EQ(newest[4], "set");
  EXPECT_EQ(newest[5], "maxActive=5");
  EXPECT_EQ(newest[6], "maxActive=7");
  EXPECT_EQ(words_of(lines[4])[4], "enable");
}

}  // namespace
