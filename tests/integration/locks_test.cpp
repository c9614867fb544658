// Lock diagnostics (core/ops/locks.h) against a real PostgreSQL: real
// sessions hold and wait for row, table, advisory, unique-key and prepared
// transaction locks, and the report read from the catalogue names who
// blocks whom and on what; then the way out (terminate, with its audit row)
// and the rows pgrowlocks shows.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "db/pg_text.h"
#include "eventually.h"
#include "ops/locks.h"
#include "test_db.h"
#include "test_seed.h"

namespace {

using namespace resv;
using namespace resv::test;

constexpr const char* kServerApp = "resv-server:8080 write";
constexpr const char* kHolderApp = "resv-test holder";

// A connection of its own, under an application name, as another program's
// session would be.
struct Session {
  Session(const std::string& url, const std::string& application)
      : conn(with_application_name(url, application)), pid(conn.backendpid()) {}
  pqxx::connection conn;
  int pid;
};

// A statement that blocks on a lock, run in a transaction of its own on its
// own connection in a thread of its own; it commits as soon as it gets
// through. A test that fails before releasing it is cleaned up: the
// destructor cancels the wait (then terminates the session) and joins.
class Blocked {
 public:
  Blocked(const std::string& url, const std::string& application, std::string sql)
      : url_(url),
        conn_(with_application_name(url, application)),
        pid_(conn_.backendpid()),
        thread_([this, statement = std::move(sql)] { run(statement); }) {}
  Blocked(const Blocked&) = delete;
  Blocked& operator=(const Blocked&) = delete;
  ~Blocked() {
    if (!thread_.joinable()) return;
    for (const char* signal : {"pg_cancel_backend", "pg_terminate_backend"}) {
      bool ended = eventually(
          [&] {
            if (finished_) return true;
            signal_backend(signal);
            return false;
          },
          10, 100);
      if (ended) break;
    }
    thread_.join();
  }

  int pid() const { return pid_; }
  // Waits for the statement to end once its lock was released: "" when it
  // succeeded, else why not.
  std::string finish() {
    if (!eventually([&] { return finished_.load(); })) return "still waiting after 30 s";
    thread_.join();
    return error_;
  }

 private:
  void run(const std::string& sql) {
    try {
      pqxx::work tx(conn_);
      tx.exec(sql);
      tx.commit();
    } catch (const std::exception& e) {
      error_ = std::string("failed: ") + e.what();
    }
    finished_ = true;
  }
  void signal_backend(const char* function) const {
    try {
      pqxx::connection c(url_);
      pqxx::nontransaction tx(c);
      tx.exec(std::string("SELECT ") + function + "(" + std::to_string(pid_) + ")");
    } catch (const std::exception&) {
      // The cluster is going away, or the session already has.
    }
  }

  std::string url_;
  pqxx::connection conn_;
  int pid_;
  std::atomic<bool> finished_{false};
  std::string error_;
  std::thread thread_;  // last: starts once the rest is ready
};

// Rolls a prepared transaction back when it goes out of scope, failed test
// or not: one left behind keeps its locks, and its database, past the test.
class PreparedGuard {
 public:
  PreparedGuard(std::string url, std::string gid) : url_(std::move(url)), gid_(std::move(gid)) {}
  PreparedGuard(const PreparedGuard&) = delete;
  PreparedGuard& operator=(const PreparedGuard&) = delete;
  ~PreparedGuard() {
    try {
      rollback();
    } catch (const std::exception&) {
      // Never prepared (the test failed before), or rolled back already.
    }
  }
  void rollback() {
    pqxx::connection c(url_);
    pqxx::nontransaction tx(c);
    tx.exec("ROLLBACK PREPARED " + c.quote(gid_));
  }

 private:
  std::string url_, gid_;
};

// Prepared transactions belong to the cluster, not to a database
// (pg_prepared_xacts; their locks have no pid). A test that prepares one, or
// that expects no blocking at all, holds this session lock on the
// maintenance database while it runs, so that the test processes `ctest -j`
// runs side by side never see each other's.
class ClusterWideScene {
 public:
  ClusterWideScene() : conn_(cluster_url()) { pqxx::nontransaction(conn_).exec("SELECT pg_advisory_lock(4250)"); }

 private:
  pqxx::connection conn_;  // the lock ends with the session
};

// A snapshot and the report built from it (the report points into it).
struct Watched {
  LockSnapshot snapshot;
  LockReport report;
  bool ready = false;
};

// Reads snapshots until `ready` holds of one (for up to 30 s); returns the
// last one read, with `ready` saying whether it held. Null when the
// snapshot could not be read (the test has failed then).
std::unique_ptr<Watched> watch(const std::string& url, const std::function<bool(const Watched&)>& ready,
                            const LockReportOptions& options = {}) {
  std::unique_ptr<Watched> seen;
  eventually(
      [&] {
        auto s = read_lock_snapshot(url);
        if (!s.ok()) {
          ADD_FAILURE() << "read_lock_snapshot: " << s.status().message();
          seen.reset();
          return true;
        }
        seen = std::make_unique<Watched>();
        seen->snapshot = std::move(s.value());
        seen->report = build_lock_report(seen->snapshot, options);
        seen->ready = ready(*seen);
        return seen->ready;
      },
      30, 50);
  return seen;
}

const BlockingTree* tree_of(const LockReport& r, int root_pid) {
  for (const auto& t : r.trees)
    if (t.root.pid == root_pid) return &t;
  return nullptr;
}

const LockNode* find_node(const LockNode& n, int pid) {
  if (n.pid == pid) return &n;
  for (const auto& w : n.waiters)
    if (const LockNode* found = find_node(w, pid)) return found;
  return nullptr;
}

// Every pid under `n`, at any depth.
std::set<int> pids_under(const LockNode& n) {
  std::set<int> out;
  for (const auto& w : n.waiters) {
    out.insert(w.pid);
    auto deeper = pids_under(w);
    out.insert(deeper.begin(), deeper.end());
  }
  return out;
}

// True when the tree rooted at `root` has exactly `waiters` under it.
bool tree_is(const Watched& seen, int root, const std::set<int>& waiters) {
  const BlockingTree* t = tree_of(seen.report, root);
  return t && pids_under(t->root) == waiters;
}

const LockSession* session_of(const LockSnapshot& s, int pid) {
  for (const auto& x : s.sessions)
    if (x.pid == pid) return &x;
  return nullptr;
}

bool blocked(const Watched& seen, int pid) {
  const LockSession* x = session_of(seen.snapshot, pid);
  return x && !x->blocked_by.empty();
}

// The trees, for failure messages.
void describe(const LockNode& n, int depth, std::string& out) {
  out += std::string(static_cast<size_t>(depth) * 2, ' ') + "pid " + std::to_string(n.pid);
  if (!n.prepared_gid.empty()) out += " gid " + n.prepared_gid;
  if (n.waits_for) out += " waits for " + n.waits_for->kind + ": " + n.waits_for->text;
  out += "\n";
  for (const auto& w : n.waiters) describe(w, depth + 1, out);
}
std::string describe(const Watched* seen) {
  if (!seen) return "no snapshot";
  std::string out = std::to_string(seen->report.trees.size()) + " tree(s)\n";
  for (const auto& t : seen->report.trees) describe(t.root, 1, out);
  return out;
}

struct Locks : ::testing::Test {
  TestDatabase db;  // first: `s` uses it
  Seeded s = seed(db, {.seats = 6, .users = 2});

  int64_t seat(size_t i) const { return s.seat_ids.at(i); }
  // The seat as `resv locks` names it, from what the database has.
  std::string seat_words(int64_t id) const {
    return "seat " + db.scalar("SELECT label FROM seats WHERE id = " + str(id)) + ", id " + str(id) + ", schedule " +
           db.scalar("SELECT schedule_id FROM seats WHERE id = " + str(id));
  }
  std::string lock_seat_sql(int64_t id) const { return "SELECT id FROM seats WHERE id = " + str(id) + " FOR UPDATE"; }
  std::string update_seat_sql(int64_t id) const {
    return "UPDATE seats SET grade = grade WHERE id = " + str(id);
  }
};

// The row scene: `holder` locks seat 0 and three server sessions wait for it.
struct RowContention {
  explicit RowContention(const Locks& t) : holder(t.db.url(), kHolderApp), tx(holder.conn) {
    tx.exec(t.lock_seat_sql(t.seat(0)));
    waiters.push_back(std::make_unique<Blocked>(t.db.url(), kServerApp, t.lock_seat_sql(t.seat(0))));
    waiters.push_back(std::make_unique<Blocked>(t.db.url(), kServerApp, t.update_seat_sql(t.seat(0))));
    waiters.push_back(std::make_unique<Blocked>(t.db.url(), kServerApp, t.lock_seat_sql(t.seat(0))));
  }
  std::set<int> waiter_pids() const {
    std::set<int> out;
    for (const auto& w : waiters) out.insert(w->pid());
    return out;
  }

  Session holder;
  pqxx::work tx;
  std::vector<std::unique_ptr<Blocked>> waiters;  // destroyed (cancelled) before the holder's transaction ends
};

TEST_F(Locks, RowWaitersFormOneTreeUnderTheHolderNamingTheSeat) {
  RowContention scene(*this);
  const std::set<int> waiters = scene.waiter_pids();
  auto seen = watch(db.url(), [&](const Watched& x) { return tree_is(x, scene.holder.pid, waiters); });
  ASSERT_TRUE(seen && seen->ready) << describe(seen.get());

  const BlockingTree* t = tree_of(seen->report, scene.holder.pid);
  ASSERT_NE(t->root.session, nullptr);
  EXPECT_EQ(t->root.session->application, kHolderApp);
  EXPECT_FALSE(t->root.waits_for) << "the root waits for nobody";
  const std::string words = seat_words(seat(0));
  ASSERT_EQ(t->holds.size(), 1u) << describe(seen.get());
  EXPECT_EQ(t->holds[0].kind, "row");
  EXPECT_EQ(t->holds[0].text, words);
  EXPECT_EQ(t->holds[0].relation, "seats");
  EXPECT_EQ(t->waiters, 3);
  EXPECT_EQ(t->server_waiters, 3);
  // Whatever the chain's shape, every waiter wants that seat.
  for (int pid : waiters) {
    const LockNode* n = find_node(t->root, pid);
    ASSERT_NE(n, nullptr);
    ASSERT_TRUE(n->waits_for) << "pid " << pid;
    EXPECT_EQ(n->waits_for->kind, "row") << "pid " << pid;
    EXPECT_EQ(n->waits_for->text, words) << "pid " << pid;
    ASSERT_NE(n->session, nullptr);
    EXPECT_EQ(n->session->application, kServerApp);
  }
  int trees_with_ours = 0;
  for (const auto& tree : seen->report.trees)
    if (tree.root.pid == scene.holder.pid || waiters.count(tree.root.pid)) ++trees_with_ours;
  EXPECT_EQ(trees_with_ours, 1);
  EXPECT_GE(seen->report.waiting, 3);

  scene.tx.abort();
  for (auto& w : scene.waiters) EXPECT_EQ(w->finish(), "");
}

TEST_F(Locks, ChainedRowWaitsNestUnderTheirDirectBlocker) {
  Session a(db.url(), "resv-test a");
  pqxx::work a_tx(a.conn);
  a_tx.exec(lock_seat_sql(seat(0)));
  // B takes seat 1, then waits for seat 0 (in one transaction).
  Blocked b(db.url(), "resv-test b", lock_seat_sql(seat(1)) + "; " + lock_seat_sql(seat(0)));
  auto b_waits = watch(db.url(), [&](const Watched& x) { return blocked(x, b.pid()); });
  ASSERT_TRUE(b_waits && b_waits->ready) << describe(b_waits.get());
  Blocked c(db.url(), "resv-test c", lock_seat_sql(seat(1)));

  auto seen = watch(db.url(), [&](const Watched& x) { return tree_is(x, a.pid, {b.pid(), c.pid()}); });
  ASSERT_TRUE(seen && seen->ready) << describe(seen.get());
  const BlockingTree* t = tree_of(seen->report, a.pid);
  int trees_with_ours = 0;
  for (const auto& tree : seen->report.trees)
    if (tree.root.pid == a.pid || tree.root.pid == b.pid() || tree.root.pid == c.pid()) ++trees_with_ours;
  EXPECT_EQ(trees_with_ours, 1);
  ASSERT_EQ(t->root.waiters.size(), 1u) << describe(seen.get());
  const LockNode& bn = t->root.waiters[0];
  EXPECT_EQ(bn.pid, b.pid());
  ASSERT_TRUE(bn.waits_for);
  EXPECT_EQ(bn.waits_for->kind, "row");
  EXPECT_EQ(bn.waits_for->text, seat_words(seat(0)));
  ASSERT_EQ(bn.waiters.size(), 1u) << describe(seen.get());
  const LockNode& cn = bn.waiters[0];
  EXPECT_EQ(cn.pid, c.pid());
  ASSERT_TRUE(cn.waits_for);
  EXPECT_EQ(cn.waits_for->kind, "row");
  EXPECT_EQ(cn.waits_for->text, seat_words(seat(1)));
  EXPECT_TRUE(cn.waiters.empty());
  EXPECT_EQ(t->waiters, 2);
  EXPECT_EQ(t->server_waiters, 0);
  ASSERT_EQ(t->holds.size(), 1u);
  EXPECT_EQ(t->holds[0].text, seat_words(seat(0))) << "A holds what B wants, not what C wants";

  a_tx.abort();
  EXPECT_EQ(b.finish(), "");
  EXPECT_EQ(c.finish(), "");
}

TEST_F(Locks, TableLockNamesTheModeHeldAndWhoTakesIt) {
  Session holder(db.url(), kHolderApp);
  pqxx::work tx(holder.conn);
  tx.exec("LOCK TABLE seats IN ACCESS EXCLUSIVE MODE");
  Blocked reader(db.url(), kServerApp, "SELECT count(*) FROM seats");

  auto seen = watch(db.url(), [&](const Watched& x) { return tree_is(x, holder.pid, {reader.pid()}); });
  ASSERT_TRUE(seen && seen->ready) << describe(seen.get());
  const BlockingTree* t = tree_of(seen->report, holder.pid);
  const LockNode* n = find_node(t->root, reader.pid());
  ASSERT_TRUE(n && n->waits_for);
  const LockTarget& w = *n->waits_for;
  EXPECT_EQ(w.kind, "relation");
  EXPECT_EQ(w.relation, "seats");
  EXPECT_EQ(w.text, "table seats");
  EXPECT_EQ(w.mode, "AccessShareLock");
  EXPECT_EQ(w.held_mode, "AccessExclusiveLock");
  EXPECT_NE(w.taken_by.find("resv seed"), std::string::npos) << w.taken_by;
  ASSERT_EQ(t->holds.size(), 1u);
  EXPECT_EQ(t->holds[0].held_mode, "AccessExclusiveLock");
  EXPECT_EQ(t->server_waiters, 1);

  tx.abort();
  EXPECT_EQ(reader.finish(), "");
}

TEST_F(Locks, AdvisoryLocksHeldAreNamedFromTheRegistryOrShownRaw) {
  Session holder(db.url(), kHolderApp);
  {
    pqxx::nontransaction tx(holder.conn);
    tx.exec("SELECT pg_advisory_lock(8243121645518415221)");
    tx.exec("SELECT pg_advisory_lock(7236001)");
    tx.exec("SELECT pg_advisory_lock(424242)");
  }
  Session writer(db.url(), kServerApp);
  pqxx::work idem(writer.conn);
  idem.exec("SELECT pg_advisory_xact_lock(1919251305, hashtext('7/abc'))");

  using Entry = std::tuple<std::string, std::string, int>;  // name, key, count
  auto entries_of = [](const Watched& x, int pid) {
    std::set<Entry> out;
    for (const auto& a : x.report.advisory)
      if (a.pid == pid) out.insert({a.name, a.key, a.count});
    return out;
  };
  const std::set<Entry> held{{"waiting-room leader", "", 1}, {"migration runner", "", 1}, {"", "424242", 1}};
  const std::set<Entry> idem_held{{"idempotency key", "", 1}};
  auto seen = watch(db.url(), [&](const Watched& x) {
    return entries_of(x, holder.pid) == held && entries_of(x, writer.pid) == idem_held;
  });
  ASSERT_TRUE(seen);
  EXPECT_EQ(entries_of(*seen, holder.pid), held);
  EXPECT_EQ(entries_of(*seen, writer.pid), idem_held);
  EXPECT_TRUE(tree_of(seen->report, holder.pid) == nullptr) << "nobody waits yet";
}

TEST_F(Locks, WaiterOnTheLeaderKeyWaitsForTheNamedAdvisoryLock) {
  Session holder(db.url(), kHolderApp);
  pqxx::nontransaction(holder.conn).exec("SELECT pg_advisory_lock(8243121645518415221)");
  Blocked contender(db.url(), "resv-server:8081 leader", "SELECT pg_advisory_lock(8243121645518415221)");

  auto seen = watch(db.url(), [&](const Watched& x) { return tree_is(x, holder.pid, {contender.pid()}); });
  ASSERT_TRUE(seen && seen->ready) << describe(seen.get());
  const BlockingTree* t = tree_of(seen->report, holder.pid);
  const LockNode* n = find_node(t->root, contender.pid());
  ASSERT_TRUE(n && n->waits_for);
  EXPECT_EQ(n->waits_for->kind, "advisory");
  EXPECT_EQ(n->waits_for->advisory_name, "waiting-room leader");
  EXPECT_EQ(n->waits_for->advisory_key, "8243121645518415221");
  EXPECT_NE(n->waits_for->text.find("waiting-room leader"), std::string::npos) << n->waits_for->text;
  EXPECT_EQ(t->server_waiters, 1);
  for (const auto& a : seen->report.advisory)
    EXPECT_NE(a.pid, contender.pid()) << "a lock waited for is not held: " << a.name;

  pqxx::nontransaction(holder.conn).exec("SELECT pg_advisory_unlock(8243121645518415221)");
  EXPECT_EQ(contender.finish(), "");
}

TEST_F(Locks, InsertOfATakenUniqueKeyWaitsForTheKey) {
  const std::string insert =
      "INSERT INTO idempotency_keys (user_id, key, request_hash, response)"
      " VALUES (" + str(s.first_user_id) + ", 'abc', 'hash', '{}'::jsonb)";
  Session first(db.url(), kHolderApp);
  pqxx::work tx(first.conn);
  tx.exec(insert);
  const std::string xid = tx.exec("SELECT pg_current_xact_id()::text")[0][0].as<std::string>();
  Blocked second(db.url(), kServerApp, insert);

  auto seen = watch(db.url(), [&](const Watched& x) { return tree_is(x, first.pid, {second.pid()}); });
  ASSERT_TRUE(seen && seen->ready) << describe(seen.get());
  const LockNode* n = find_node(tree_of(seen->report, first.pid)->root, second.pid());
  ASSERT_TRUE(n && n->waits_for);
  EXPECT_EQ(n->waits_for->kind, "unique-key");
  EXPECT_EQ(n->waits_for->relation, "idempotency_keys");
  EXPECT_NE(n->waits_for->text.find("transaction " + xid + " "), std::string::npos) << n->waits_for->text;
  EXPECT_NE(n->waits_for->text.find("CREATE UNIQUE INDEX idempotency_keys_pkey"), std::string::npos)
      << n->waits_for->text;

  tx.abort();
  EXPECT_EQ(second.finish(), "");
  EXPECT_EQ(db.count("SELECT count(*) FROM idempotency_keys"), 1) << "the second insert went through";
}

TEST_F(Locks, PreparedTransactionIsARootWithItsGid) {
  ClusterWideScene alone;
  PreparedGuard prepared(db.url(), "resv-test-gid");  // before PREPARE: rolled back whatever happens next
  {
    pqxx::connection c(db.url());
    pqxx::nontransaction tx(c);
    tx.exec("BEGIN");
    tx.exec(lock_seat_sql(seat(2)));
    tx.exec("PREPARE TRANSACTION 'resv-test-gid'");
  }
  Blocked waiter(db.url(), kServerApp, lock_seat_sql(seat(2)));

  auto seen = watch(db.url(), [&](const Watched& x) { return tree_is(x, 0, {waiter.pid()}); });
  ASSERT_TRUE(seen && seen->ready) << describe(seen.get());
  const BlockingTree* t = tree_of(seen->report, 0);
  EXPECT_EQ(t->root.prepared_gid, "resv-test-gid");
  EXPECT_EQ(t->root.session, nullptr);
  ASSERT_EQ(t->holds.size(), 1u);
  EXPECT_EQ(t->holds[0].kind, "row");
  EXPECT_EQ(t->holds[0].text, seat_words(seat(2)));
  auto refused = kill_refusal(seen->snapshot, 0);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("ROLLBACK PREPARED"), std::string::npos) << *refused;

  prepared.rollback();
  EXPECT_EQ(waiter.finish(), "");
}

TEST_F(Locks, WaiterOnAnUpdatedRowStillGetsWords) {
  Session holder(db.url(), kHolderApp);
  pqxx::work tx(holder.conn);
  tx.exec(update_seat_sql(seat(3)));
  Blocked waiter(db.url(), kServerApp, update_seat_sql(seat(3)));

  auto seen = watch(db.url(), [&](const Watched& x) { return tree_is(x, holder.pid, {waiter.pid()}); });
  ASSERT_TRUE(seen && seen->ready) << describe(seen.get());
  const BlockingTree* t = tree_of(seen->report, holder.pid);
  const LockNode* n = find_node(t->root, waiter.pid());
  ASSERT_TRUE(n && n->waits_for);
  EXPECT_EQ(n->waits_for->kind, "row");
  const std::string& text = n->waits_for->text;
  EXPECT_FALSE(text.empty());
  EXPECT_TRUE(text == seat_words(seat(3)) || text.find("has changed since") != std::string::npos) << text;
  ASSERT_EQ(t->holds.size(), 1u);
  EXPECT_EQ(t->holds[0].kind, "row");

  tx.abort();
  EXPECT_EQ(waiter.finish(), "");
}

TEST_F(Locks, NoBlockingGivesNoTrees) {
  ClusterWideScene alone;
  auto snapshot = read_lock_snapshot(db.url());
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().message();
  const LockSnapshot& snap = snapshot.value();
  EXPECT_EQ(snap.database, db.name());
  EXPECT_GT(snap.own_pid, 0);
  EXPECT_EQ(session_of(snap, snap.own_pid), nullptr) << "the reader leaves itself out";
  EXPECT_TRUE(snap.superuser) << "the test cluster's role is postgres";
  LockReport r = build_lock_report(snap, {});
  EXPECT_TRUE(r.trees.empty()) << r.trees.size() << " tree(s), the first rooted at pid " << r.trees.front().root.pid;
  EXPECT_EQ(r.waiting, 0);
}

TEST_F(Locks, IdleTransactionHoldingARowIsListedWithItsXid) {
  Session idle(db.url(), kHolderApp);
  pqxx::work tx(idle.conn);
  tx.exec(lock_seat_sql(seat(4)));

  LockReportOptions options;
  options.idle_in_transaction_s = 0;
  auto listed = [&](const Watched& x) -> const LockSession* {
    for (const LockSession* session : x.report.idle_in_transaction)
      if (session->pid == idle.pid) return session;
    return nullptr;
  };
  auto seen = watch(db.url(), [&](const Watched& x) { return listed(x) != nullptr; }, options);
  ASSERT_TRUE(seen && seen->ready);
  const LockSession* x = listed(*seen);
  EXPECT_EQ(x->state, "idle in transaction");
  EXPECT_FALSE(x->xid.empty()) << "a row lock gives the transaction an xid";
  EXPECT_EQ(x->xid, tx.exec("SELECT pg_current_xact_id()::text")[0][0].as<std::string>());
  EXPECT_EQ(x->application, kHolderApp);
  EXPECT_EQ(tree_of(seen->report, idle.pid), nullptr) << "nobody waits for it";
}

TEST_F(Locks, TerminatingTheHolderReleasesItsWaitersAndIsAudited) {
  RowContention scene(*this);
  const std::set<int> waiters = scene.waiter_pids();
  auto seen = watch(db.url(), [&](const Watched& x) { return tree_is(x, scene.holder.pid, waiters); });
  ASSERT_TRUE(seen && seen->ready) << describe(seen.get());
  EXPECT_FALSE(kill_refusal(seen->snapshot, scene.holder.pid)) << *kill_refusal(seen->snapshot, scene.holder.pid);

  KillRequest request;
  request.pid = scene.holder.pid;
  request.terminate = true;
  request.actor = "test";
  request.held_json = "{}";
  request.waiters.assign(waiters.begin(), waiters.end());
  auto r = cancel_or_terminate(db.url(), request);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->signalled);
  EXPECT_TRUE(r->ended);
  EXPECT_TRUE(r->still_blocked.empty());
  EXPECT_GT(r->audit_id, 0);

  for (auto& w : scene.waiters) EXPECT_EQ(w->finish(), "");
  const std::string target = "pid " + std::to_string(scene.holder.pid);
  EXPECT_EQ(db.count("SELECT count(*) FROM ops_audit"), 1);
  EXPECT_EQ(db.scalar("SELECT concat_ws('|', id, action, target, actor, new_values->>'ended', "
                      "new_values->>'signalled', jsonb_array_length(new_values->'stillBlocked')) FROM ops_audit"),
            std::to_string(r->audit_id) + "|locks.terminate|" + target + "|test|true|true|0");
}

TEST_F(Locks, KillRefusesItsOwnSessionAndPid0) {
  auto snapshot = read_lock_snapshot(db.url());
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().message();
  const LockSnapshot& snap = snapshot.value();
  auto own = kill_refusal(snap, snap.own_pid);
  ASSERT_TRUE(own);
  EXPECT_NE(own->find("own session"), std::string::npos) << *own;
  EXPECT_TRUE(kill_refusal(snap, 0));
  EXPECT_TRUE(kill_refusal(snap, -1));
}

TEST_F(Locks, KillOfAPidThatDoesNotExistIsNotFound) {
  KillRequest request;
  request.pid = 99999999;  // above any Linux pid
  request.terminate = true;
  request.actor = "test";
  auto r = cancel_or_terminate(db.url(), request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::NotFound) << r.status().message();
  EXPECT_EQ(db.count("SELECT count(*) FROM ops_audit"), 0) << "no signal, no audit row";
}

TEST_F(Locks, LockedRowsNamesTheSeatsASessionLocked) {
  db.exec("CREATE EXTENSION IF NOT EXISTS pgrowlocks");
  Session holder(db.url(), kHolderApp);
  pqxx::work tx(holder.conn);
  tx.exec("SELECT id FROM seats WHERE id IN (" + str(seat(1)) + ", " + str(seat(4)) + ") ORDER BY id FOR UPDATE");
  const std::string xid = tx.exec("SELECT pg_current_xact_id()::text")[0][0].as<std::string>();

  auto rows = locked_rows(db.url(), "seats", holder.pid);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  using Row = std::tuple<std::string, std::string>;  // words, ctid
  std::set<Row> got;
  for (const auto& r : rows.value()) {
    got.insert({r.row, r.ctid});
    EXPECT_EQ(r.pids, std::vector<int>{holder.pid}) << r.row;
    EXPECT_NE(r.modes.find("For Update"), std::string::npos) << r.modes;
    EXPECT_EQ(r.xids, "{" + xid + "}") << r.row;
  }
  std::set<Row> expected;
  for (int64_t id : {seat(1), seat(4)})
    expected.insert({seat_words(id), db.scalar("SELECT ctid::text FROM seats WHERE id = " + str(id))});
  EXPECT_EQ(rows->size(), 2u);
  EXPECT_EQ(got, expected);

  auto anyone = locked_rows(db.url(), "seats", std::nullopt);
  ASSERT_TRUE(anyone.ok()) << anyone.status().message();
  EXPECT_EQ(anyone->size(), 2u);
  auto someone_else = locked_rows(db.url(), "seats", holder.pid + 1000000);
  ASSERT_TRUE(someone_else.ok()) << someone_else.status().message();
  EXPECT_TRUE(someone_else->empty());
}

TEST_F(Locks, LockedRowsRefusesATableResvDoesNotName) {
  db.exec("CREATE EXTENSION IF NOT EXISTS pgrowlocks");
  for (const std::string& table : std::vector<std::string>{"pg_class", "seats; DROP TABLE seats", "Seats"}) {
    auto rows = locked_rows(db.url(), table, std::nullopt);
    ASSERT_FALSE(rows.ok()) << table;
    EXPECT_EQ(rows.status().code(), ErrorCode::InvalidRequest) << table;
  }
  EXPECT_EQ(db.count("SELECT count(*) FROM seats"), 6);
}

TEST_F(Locks, LockedRowsWithoutPgrowlocksIsConflict) {
  ASSERT_EQ(db.count("SELECT count(*) FROM pg_extension WHERE extname = 'pgrowlocks'"), 0);
  auto rows = locked_rows(db.url(), "seats", std::nullopt);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), ErrorCode::Conflict) << rows.status().message();
  EXPECT_NE(rows.status().message().find("pgrowlocks"), std::string::npos) << rows.status().message();
}

// The three tests below are on what another database's sessions show: a
// prepared transaction, an advisory lock, a row. `resv locks` reads one
// database unless --all (LockReportOptions::all_databases).

TEST_F(Locks, PreparedTransactionOfAnotherDatabaseIsLeftOutUnlessAll) {
  ClusterWideScene alone;
  TestDatabase other;
  Seeded theirs = seed(other, {.seats = 2, .users = 1});
  PreparedGuard prepared(other.url(), "resv-test-gid-other");  // after `other`: rolled back before it is dropped
  {
    pqxx::connection c(other.url());
    pqxx::nontransaction tx(c);
    tx.exec("BEGIN");
    tx.exec(lock_seat_sql(theirs.seat_ids[0]));
    tx.exec("PREPARE TRANSACTION 'resv-test-gid-other'");
  }
  Blocked waiter(other.url(), kServerApp, lock_seat_sql(theirs.seat_ids[0]));
  // A plain holder there too: its tree is left out (the control).
  Session holder(other.url(), kHolderApp);
  pqxx::work tx(holder.conn);
  tx.exec(lock_seat_sql(theirs.seat_ids[1]));
  Blocked second(other.url(), kServerApp, lock_seat_sql(theirs.seat_ids[1]));

  auto seen = watch(db.url(), [&](const Watched& x) { return blocked(x, waiter.pid()) && blocked(x, second.pid()); });
  ASSERT_TRUE(seen && seen->ready) << describe(seen.get());
  EXPECT_EQ(tree_of(seen->report, holder.pid), nullptr) << describe(seen.get());
  EXPECT_EQ(tree_of(seen->report, 0), nullptr)
      << "a prepared transaction of " << other.name() << " blocking a session of " << other.name()
      << " is not in the report of " << db.name() << ":\n"
      << describe(seen.get());

  LockReportOptions all;
  all.all_databases = true;
  LockReport everywhere = build_lock_report(seen->snapshot, all);
  const BlockingTree* t = tree_of(everywhere, 0);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->root.prepared_gid, "resv-test-gid-other");
  EXPECT_NE(tree_of(everywhere, holder.pid), nullptr);

  prepared.rollback();
  tx.abort();
  EXPECT_EQ(waiter.finish(), "");
  EXPECT_EQ(second.finish(), "");
}

TEST_F(Locks, AdvisoryLockOfAnotherDatabaseIsLeftOutUnlessAll) {
  TestDatabase other;
  // Advisory keys are per database: 7236001 there is not this database's migration runner.
  Session there(other.url(), kHolderApp);
  pqxx::nontransaction(there.conn).exec("SELECT pg_advisory_lock(7236001)");
  Session here(db.url(), kHolderApp);
  pqxx::nontransaction(here.conn).exec("SELECT pg_advisory_lock(424242)");

  auto holds_any = [](const LockReport& r, int pid) {
    return std::any_of(r.advisory.begin(), r.advisory.end(),
                       [&](const LockReport::Advisory& a) { return a.pid == pid; });
  };
  auto seen = watch(db.url(), [&](const Watched& x) { return holds_any(x.report, here.pid); });
  ASSERT_TRUE(seen && seen->ready);
  EXPECT_FALSE(holds_any(seen->report, there.pid))
      << "the advisory lock of a session of " << other.name() << " is in the report of " << db.name();

  LockReportOptions all;
  all.all_databases = true;
  EXPECT_TRUE(holds_any(build_lock_report(seen->snapshot, all), there.pid));
}

TEST_F(Locks, RowWaitInAnotherDatabaseIsNotSaidToHaveChanged) {
  TestDatabase other;
  Seeded theirs = seed(other, {.seats = 1, .users = 1});
  Session holder(other.url(), kHolderApp);
  pqxx::work tx(holder.conn);
  tx.exec(lock_seat_sql(theirs.seat_ids[0]));
  Blocked waiter(other.url(), kServerApp, lock_seat_sql(theirs.seat_ids[0]));

  LockReportOptions all;
  all.all_databases = true;
  auto seen = watch(db.url(), [&](const Watched& x) { return tree_is(x, holder.pid, {waiter.pid()}); }, all);
  ASSERT_TRUE(seen && seen->ready) << describe(seen.get());
  const LockNode* n = find_node(tree_of(seen->report, holder.pid)->root, waiter.pid());
  ASSERT_TRUE(n && n->waits_for);
  EXPECT_EQ(n->waits_for->kind, "row");
  // The row is unchanged; it is only out of reach of a reader connected elsewhere.
  EXPECT_EQ(n->waits_for->text.find("has changed since"), std::string::npos) << n->waits_for->text;
  EXPECT_EQ(n->waits_for->text.find("a row of  "), std::string::npos) << n->waits_for->text;

  tx.abort();
  EXPECT_EQ(waiter.finish(), "");
}

TEST_F(Locks, EachPreparedTransactionIsNamedForTheWaitersItBlocks) {
  ClusterWideScene alone;
  PreparedGuard first(db.url(), "resv-test-gid-1");
  PreparedGuard second(db.url(), "resv-test-gid-2");
  for (size_t i : {0u, 1u}) {
    pqxx::connection c(db.url());
    pqxx::nontransaction tx(c);
    tx.exec("BEGIN");
    tx.exec(lock_seat_sql(seat(i)));
    tx.exec("PREPARE TRANSACTION 'resv-test-gid-" + std::to_string(i + 1) + "'");
  }
  Blocked on_first(db.url(), kServerApp, lock_seat_sql(seat(0)));
  Blocked on_second(db.url(), kServerApp, lock_seat_sql(seat(1)));

  auto seen = watch(db.url(), [&](const Watched& x) { return blocked(x, on_first.pid()) && blocked(x, on_second.pid()); });
  ASSERT_TRUE(seen && seen->ready) << describe(seen.get());
  // ROLLBACK PREPARED of the gid shown above a waiter must be what releases it.
  auto gid_above = [&](int pid) {
    for (const auto& t : seen->report.trees)
      if (find_node(t.root, pid)) return t.root.prepared_gid;
    return std::string("(in no tree)");
  };
  EXPECT_EQ(gid_above(on_first.pid()), "resv-test-gid-1") << describe(seen.get());
  EXPECT_EQ(gid_above(on_second.pid()), "resv-test-gid-2") << describe(seen.get());

  first.rollback();
  EXPECT_EQ(on_first.finish(), "");
  second.rollback();
  EXPECT_EQ(on_second.finish(), "");
}

}  // namespace
