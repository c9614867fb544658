// build_lock_report: snapshots as PostgreSQL gives them, turned into blocking
// trees and words, without a database.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ops/locks.h"

namespace resv {
namespace {

LockSession session(int pid, std::string application, std::vector<int> blocked_by = {}, std::string state = "active") {
  LockSession s;
  s.pid = pid;
  s.database = "resv";
  s.user = "resv";
  s.application = std::move(application);
  s.backend_type = "client backend";
  s.state = std::move(state);
  s.state_age_s = 10;
  s.query_age_s = 10;
  s.blocked_by = std::move(blocked_by);
  if (!s.blocked_by.empty()) s.wait_event_type = "Lock";
  return s;
}

LockEntry lock(int pid, std::string type, bool granted, std::string mode = "ExclusiveLock") {
  LockEntry l;
  l.pid = pid;
  l.locktype = std::move(type);
  l.granted = granted;
  l.mode = std::move(mode);
  l.here = true;
  return l;
}

LockEntry tuple_lock(int pid, bool granted, int64_t page, int64_t tuple) {
  LockEntry l = lock(pid, "tuple", granted);
  l.relation = "seats";
  l.relkind = "r";
  l.page = page;
  l.tuple = tuple;
  if (!granted) l.wait_s = 30;
  return l;
}

LockEntry xid_wait(int pid, std::string xid) {
  LockEntry l = lock(pid, "transactionid", false, "ShareLock");
  l.xid = std::move(xid);
  l.wait_s = 31;
  return l;
}

// A holder (100, idle in transaction) of seat A-12; 200 waits for its
// transaction holding the row version's tuple lock; 201 and 202 wait for
// that tuple lock behind 200.
LockSnapshot seat_incident() {
  LockSnapshot s;
  s.database = "resv";
  s.own_pid = 1;
  s.sessions = {session(100, "psql", {}, "idle in transaction"), session(200, "resv-server:8080 write", {100}),
                session(201, "resv-server:8080 write", {200}), session(202, "resv-server:8081 write", {200})};
  s.sessions[0].xid = "777";
  s.locks = {xid_wait(200, "777"), tuple_lock(200, true, 0, 7), tuple_lock(201, false, 0, 7),
             tuple_lock(202, false, 0, 7)};
  s.rows[{"seats", 0, 7}] = "seat A-12, id 42, schedule 3";
  return s;
}

TEST(LockReport, ASeatHolderIsTheRootWithEveryWaiterUnderItAndTheSeatInWords) {
  const LockSnapshot s = seat_incident();
  const LockReport r = build_lock_report(s, {});
  ASSERT_EQ(r.trees.size(), 1u);
  const BlockingTree& t = r.trees[0];
  EXPECT_EQ(t.root.pid, 100);
  EXPECT_EQ(t.waiters, 3);
  EXPECT_EQ(t.server_waiters, 3);
  EXPECT_DOUBLE_EQ(t.longest_wait_s, 31);
  ASSERT_EQ(t.holds.size(), 1u);
  EXPECT_EQ(t.holds[0].kind, "row");
  EXPECT_EQ(t.holds[0].text, "seat A-12, id 42, schedule 3");
  ASSERT_EQ(t.root.waiters.size(), 1u);
  const LockNode& first = t.root.waiters[0];
  EXPECT_EQ(first.pid, 200);
  ASSERT_EQ(first.waiters.size(), 2u);
  EXPECT_EQ(first.waiters[0].waits_for->text, "seat A-12, id 42, schedule 3");
  EXPECT_EQ(r.waiting, 3);
  EXPECT_TRUE(r.idle_in_transaction.empty()) << "a blocker is in its tree, not in the list of the next incidents";
}

TEST(LockReport, ARowVersionNoLongerCurrentIsSaidToHaveChangedNotLeftBlank) {
  LockSnapshot s = seat_incident();
  s.rows.clear();
  const LockReport r = build_lock_report(s, {});
  ASSERT_EQ(r.trees.size(), 1u);
  EXPECT_NE(r.trees[0].holds[0].text.find("a row of seats at (0,7) that has changed since"), std::string::npos)
      << r.trees[0].holds[0].text;
}

TEST(LockReport, AChainOfThreeNestsToTheDepthItHas) {
  LockSnapshot s;
  s.database = "resv";
  s.sessions = {session(1, "a"), session(2, "b", {1}), session(3, "c", {2})};
  s.locks = {xid_wait(2, "11"), tuple_lock(2, true, 1, 1), xid_wait(3, "12"), tuple_lock(3, true, 2, 2)};
  s.rows[{"seats", 1, 1}] = "seat A-1, id 1, schedule 1";
  s.rows[{"seats", 2, 2}] = "seat A-2, id 2, schedule 1";
  const LockReport r = build_lock_report(s, {});
  ASSERT_EQ(r.trees.size(), 1u);
  const LockNode& a = r.trees[0].root;
  ASSERT_EQ(a.pid, 1);
  ASSERT_EQ(a.waiters.size(), 1u);
  const LockNode& b = a.waiters[0];
  EXPECT_EQ(b.pid, 2);
  EXPECT_EQ(b.waits_for->text, "seat A-1, id 1, schedule 1");
  ASSERT_EQ(b.waiters.size(), 1u);
  EXPECT_EQ(b.waiters[0].pid, 3);
  EXPECT_EQ(b.waiters[0].waits_for->text, "seat A-2, id 2, schedule 1");
  EXPECT_EQ(r.trees[0].waiters, 2);
  EXPECT_EQ(r.trees[0].server_waiters, 0);
}

TEST(LockReport, ARelationLockNamesTheTableTheHeldModeAndWhoTakesIt) {
  LockSnapshot s;
  s.database = "resv";
  s.sessions = {session(10, "resv seed", {}, "idle in transaction"), session(11, "resv-server:8080 write", {10})};
  LockEntry held = lock(10, "relation", true, "AccessExclusiveLock");
  held.relation = "seats";
  held.relkind = "r";
  LockEntry wanted = lock(11, "relation", false, "RowExclusiveLock");
  wanted.relation = "seats";
  wanted.relkind = "r";
  wanted.wait_s = 5;
  s.locks = {held, wanted};
  const LockReport r = build_lock_report(s, {});
  ASSERT_EQ(r.trees.size(), 1u);
  const LockTarget& t = r.trees[0].holds.at(0);
  EXPECT_EQ(t.kind, "relation");
  EXPECT_EQ(t.text, "table seats");
  EXPECT_EQ(t.mode, "RowExclusiveLock");
  EXPECT_EQ(t.held_mode, "AccessExclusiveLock");
  EXPECT_NE(t.taken_by.find("resv seed"), std::string::npos);
}

TEST(LockReport, AdvisoryLocksAreNamedFromTheRegistryAndUnknownKeysShownRaw) {
  LockSnapshot s;
  s.database = "resv";
  s.sessions = {session(20, "psql"), session(21, "resv-server:8080 queue", {20}), session(22, "other")};
  LockEntry leader = lock(20, "advisory", true);
  leader.classid = 0x72657376;
  leader.objid = 0x71756575;
  leader.objsubid = 1;
  LockEntry wants_leader = leader;
  wants_leader.pid = 21;
  wants_leader.granted = false;
  wants_leader.wait_s = 2;
  LockEntry unknown = lock(22, "advisory", true);
  unknown.classid = 0;
  unknown.objid = 424242;
  unknown.objsubid = 1;
  LockEntry idempotency = lock(22, "advisory", true);
  idempotency.classid = 1919251305;
  idempotency.objid = 123456;
  idempotency.objsubid = 2;
  LockEntry unknown2 = unknown;
  unknown2.objid = 424243;
  s.locks = {leader, wants_leader, unknown, unknown2, idempotency};
  const LockReport r = build_lock_report(s, {});
  ASSERT_EQ(r.trees.size(), 1u);
  EXPECT_EQ(r.trees[0].holds.at(0).kind, "advisory");
  EXPECT_EQ(r.trees[0].holds.at(0).advisory_name, "waiting-room leader");
  std::vector<std::string> names, keys;
  std::vector<int> counts;
  for (const auto& a : r.advisory) {
    names.push_back(a.name);
    keys.push_back(a.key);
    counts.push_back(a.count);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"waiting-room leader", "", "idempotency key"}));
  EXPECT_EQ(keys, (std::vector<std::string>{"", "424242", ""})) << "a session's unknown keys: one entry, the first key";
  EXPECT_EQ(counts, (std::vector<int>{1, 2, 1}));
}

TEST(LockReport, AnInsertWaitingOnAnotherTransactionsKeyNamesTheTableAndItsUniqueIndex) {
  LockSnapshot s;
  s.database = "resv";
  s.sessions = {session(30, "a", {}, "idle in transaction"), session(31, "b", {30})};
  LockEntry index = lock(31, "relation", true, "RowExclusiveLock");
  index.relation = "idempotency_keys_pkey";
  index.relkind = "i";
  index.unique_index = true;
  index.index_table = "idempotency_keys";
  index.index_def = "CREATE UNIQUE INDEX idempotency_keys_pkey ON public.idempotency_keys USING btree (user_id, key)";
  s.locks = {xid_wait(31, "900"), index};
  const LockReport r = build_lock_report(s, {});
  ASSERT_EQ(r.trees.size(), 1u);
  const LockTarget& t = *r.trees[0].root.waiters.at(0).waits_for;
  EXPECT_EQ(t.kind, "unique-key");
  EXPECT_EQ(t.relation, "idempotency_keys");
  EXPECT_NE(t.text.find("(user_id, key)"), std::string::npos) << t.text;
  EXPECT_NE(t.text.find("transaction 900"), std::string::npos) << t.text;
}

TEST(LockReport, APreparedTransactionIsARootWithPidZeroAndItsGid) {
  LockSnapshot s;
  s.database = "resv";
  s.sessions = {session(40, "resv-server:8080 write", {0})};
  s.locks = {xid_wait(40, "555")};
  s.prepared = {{"other-gid", "554", "resv", "resv", 60}, {"the-gid", "555", "resv", "resv", 60}};
  const LockReport r = build_lock_report(s, {});
  ASSERT_EQ(r.trees.size(), 1u);
  EXPECT_EQ(r.trees[0].root.pid, 0);
  EXPECT_EQ(r.trees[0].root.prepared_gid, "the-gid");
  EXPECT_EQ(r.trees[0].root.session, nullptr);
}

TEST(LockReport, ParallelWorkersAreFoldedIntoTheirLeader) {
  LockSnapshot s;
  s.database = "resv";
  LockSession worker = session(51, "", {50});
  worker.backend_type = "parallel worker";
  worker.leader_pid = 52;
  LockSession leader = session(52, "report", {50});
  leader.leader_pid = 52;
  s.sessions = {session(50, "psql", {}, "idle in transaction"), worker, leader};
  LockEntry held = lock(50, "relation", true, "AccessExclusiveLock");
  held.relation = "reservations";
  LockEntry wanted = lock(52, "relation", false, "AccessShareLock");
  wanted.relation = "reservations";
  wanted.wait_s = 3;
  s.locks = {held, wanted};
  const LockReport r = build_lock_report(s, {});
  ASSERT_EQ(r.trees.size(), 1u);
  ASSERT_EQ(r.trees[0].root.waiters.size(), 1u);
  EXPECT_EQ(r.trees[0].root.waiters[0].pid, 52);
  EXPECT_EQ(r.trees[0].root.waiters[0].workers, std::vector<int>{51});
  EXPECT_EQ(r.trees[0].waiters, 1) << "a worker is not a session of its own";
}

TEST(LockReport, MinWaitLeavesOutTreesWhoseLongestWaitIsShorter) {
  LockReportOptions o;
  o.min_wait_s = 60;
  EXPECT_TRUE(build_lock_report(seat_incident(), o).trees.empty());
  o.min_wait_s = 31;
  EXPECT_EQ(build_lock_report(seat_incident(), o).trees.size(), 1u);
}

TEST(LockReport, OtherDatabasesAreLeftOutUnlessAll) {
  LockSnapshot s = seat_incident();
  for (auto& x : s.sessions) x.database = "other";
  EXPECT_TRUE(build_lock_report(s, {}).trees.empty());
  LockReportOptions all;
  all.all_databases = true;
  EXPECT_EQ(build_lock_report(s, all).trees.size(), 1u);
}

TEST(LockReport, IdleTransactionsAndLongStatementsThatBlockNobodyAreListed) {
  LockSnapshot s;
  s.database = "resv";
  s.sessions = {session(60, "psql", {}, "idle in transaction"), session(61, "report"), session(62, "quick")};
  s.sessions[2].query_age_s = 0.1;
  const LockReport r = build_lock_report(s, {});
  EXPECT_TRUE(r.trees.empty());
  ASSERT_EQ(r.idle_in_transaction.size(), 1u);
  EXPECT_EQ(r.idle_in_transaction[0]->pid, 60);
  ASSERT_EQ(r.long_running.size(), 1u);
  EXPECT_EQ(r.long_running[0]->pid, 61);
}

TEST(LockReport, ADeadlockNotYetBrokenStillShowsAsATree) {
  LockSnapshot s;
  s.database = "resv";
  s.sessions = {session(70, "a", {71}), session(71, "b", {70})};
  s.locks = {xid_wait(70, "1"), xid_wait(71, "2")};
  const LockReport r = build_lock_report(s, {});
  ASSERT_EQ(r.trees.size(), 1u);
  EXPECT_EQ(r.trees[0].waiters, 1);
}

TEST(KillRefusal, RefusesItsOwnSessionPidZeroAndASuperusersSessionForAPlainRole) {
  LockSnapshot s;
  s.own_pid = 5;
  s.superuser = false;
  s.sessions = {session(6, "psql"), session(7, "admin")};
  s.sessions[1].superuser = true;
  EXPECT_TRUE(kill_refusal(s, 5).has_value());
  EXPECT_TRUE(kill_refusal(s, 0).has_value());
  EXPECT_NE(kill_refusal(s, 7).value_or("").find("superuser"), std::string::npos);
  EXPECT_FALSE(kill_refusal(s, 6).has_value());
  s.superuser = true;
  EXPECT_FALSE(kill_refusal(s, 7).has_value());
}

TEST(ShortQuery, FoldsWhitespaceAndCutsToTheWidth) {
  EXPECT_EQ(short_query("SELECT 1\n  FROM   seats", 100), "SELECT 1 FROM seats");
  EXPECT_EQ(short_query("SELECT something long", 10), "SELECT ...");
}

}  // namespace
}  // namespace resv
