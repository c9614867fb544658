#include "db/async_pg.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange
#include <boost/asio.hpp>
#include <spdlog/spdlog.h>

#include "base/logfmt.h"
#include "base/event_loop.h"
#include "base/flat_json.h"
#include "db/pg_text.h"
#include "db/statements.h"

namespace resv {

namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

struct AsyncPg::Impl {
  // A connection in transit from the connector thread to the strand.
  struct OwnedConn {
    explicit OwnedConn(PGconn* p) : pg(p) {}
    ~OwnedConn() {
      if (pg) PQfinish(pg);
    }
    OwnedConn(const OwnedConn&) = delete;
    OwnedConn& operator=(const OwnedConn&) = delete;
    PGconn* release() { return std::exchange(pg, nullptr); }
    PGconn* pg;
  };
  struct Job {
    Call call;
    Callback cb;
    Precheck precheck;
    Clock::time_point enqueued;
  };
  struct Slot {
    PGconn* pg = nullptr;
    std::unique_ptr<net::posix::stream_descriptor> sock;
    bool busy = false;
    Job job;
    std::vector<Job> riders;  // the jobs that went in one batch with `job`
    std::optional<Result<std::string>> outcome;
    // An idle connection's socket is watched: PostgreSQL ending the session
    // (pg_terminate_backend, a restart) makes it readable, and the slot
    // reconnects before any job finds it dead. `generation` tells a wait of
    // an earlier connection of the slot from the current one's.
    bool watching = false;
    bool ending = false;  // the server said it ends the session (on_notice)
    uint64_t generation = 0;
  };

  Impl(AsyncPgOptions o, MetricsRegistry& m)
      : opts(std::move(o)),
        ioc(opts.loop ? *opts.loop : own_loop.emplace(1)),
        slots(static_cast<size_t>(opts.size)),
        in_use_gauge(m.gauge("resv_db_pool_in_use", "Database connections running a job.", "pool=\"write\"")),
        waiting_gauge(m.gauge("resv_db_pool_waiting", "Jobs waiting for a database connection.", "pool=\"write\"")),
        connected_gauge(m.gauge("resv_db_pool_connected", "Database connections up.", "pool=\"write\"")),
        wait_seconds(m.histogram("resv_db_pool_wait_seconds", "Time a job waited for a database connection.",
                                 "pool=\"write\"")),
        rejected(m.counter("resv_db_pool_rejected_total", "Jobs refused because the wait queue was full.",
                           "pool=\"write\"")),
        timed_out(m.counter("resv_db_pool_timed_out_total", "Jobs dropped after waiting longer than max wait.",
                            "pool=\"write\"")),
        batched(m.counter("resv_db_pool_batched_total",
                          "Jobs that went to the database in one statement with the job ahead of them.",
                          "pool=\"write\"")) {
    m.gauge("resv_db_pool_size", "Database connections in the pool.", "pool=\"write\"").set(opts.size);
  }

  ~Impl() { close_all(); }

  // ---- connecting (background thread) ----

  void connector() {
    for (;;) {
      size_t index;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [this] { return stopping || !to_connect.empty(); });
        if (stopping) return;
        index = to_connect.front();
        to_connect.pop_front();
      }
      PGconn* pg = connect_and_warm();
      const bool first = !tried[index];
      tried[index] = true;
      if (!pg) {
        if (first) --first_pass_left;
        std::unique_lock lock(mu);
        cv.wait_for(lock, opts.reconnect_backoff, [this] { return stopping; });
        to_connect.push_back(index);
        continue;
      }
      // Owned by the handler: if the loop stops before it runs, the
      // handler's destruction still closes the connection.
      auto owned = std::make_shared<OwnedConn>(pg);
      net::post(ioc, [this, index, owned, first] {
        attach(index, owned->release());
        if (first) --first_pass_left;
      });
    }
  }

  // Blocking: connect, configure, prepare, warm up; nullptr on failure.
  PGconn* connect_and_warm() {
    PGconn* pg = PQconnectdb(with_connect_timeout(opts.url, 2).c_str());
    auto ok = [](PGresult* r) {
      bool good = r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
      PQclear(r);
      return good;
    };
    bool good = PQstatus(pg) == CONNECTION_OK &&
                ok(PQexec(pg, session_settings(opts.statement_timeout_ms, opts.lock_timeout_ms).c_str()));
    for (const auto& st : statements())
      if (good) good = ok(PQprepare(pg, st.name, st.sql, 0, nullptr));
    for (const auto& call : opts.warm_up) {
      if (!good) break;
      std::vector<const char*> values;
      for (const auto& p : call.params) values.push_back(p ? p->c_str() : nullptr);
      PGresult* r = PQexecPrepared(pg, call.statement.c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                                   nullptr, 0);
      if (r && PQresultStatus(r) == PGRES_TUPLES_OK)
        check_warm_up_answer(call, PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : nullptr);
      good = ok(r);
    }
    if (good) good = PQsetnonblocking(pg, 1) == 0;
    if (good) PQsetNoticeReceiver(pg, on_notice, nullptr);
    if (!good) {
      if (!logged_down.exchange(true))
        spdlog::warn("msg=\"database connection failed\" error={}", logfmt(PQerrorMessage(pg)));
      PQfinish(pg);
      return nullptr;
    }
    logged_down = false;
    return pg;
  }

  // The server's messages outside a statement go to the log, not to stderr
  // as libpq's default does. A FATAL one is the server ending the session
  // (pg_terminate_backend, a shutdown): `ending` (a Slot's) turns true at
  // once, since the socket's EOF follows only after the backend's exit work.
  static void on_notice(void* ending, const PGresult* r) {
    const char* severity = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (ending && severity && (std::strcmp(severity, "FATAL") == 0 || std::strcmp(severity, "PANIC") == 0))
      *static_cast<bool*>(ending) = true;
    spdlog::info("msg=\"database notice\" text={}", logfmt(PQresultErrorMessage(r)));
  }

  // ---- on the loop thread ----

  // Calls back; a callback that throws (a bug) is logged, and the pool's
  // state, which the caller has already settled, stays consistent.
  static void answer(Callback& cb, Result<std::string> result) {
    try {
      cb(std::move(result));
    } catch (const std::exception& e) {
      spdlog::error("msg=\"database pool callback threw\" error={}", logfmt(e.what()));
    }
  }

  void attach(size_t index, PGconn* pg) {
    if (stopped) return PQfinish(pg);
    int fd = ::dup(PQsocket(pg));
    if (fd < 0) {  // out of descriptors (thousands of clients): try again later
      spdlog::warn("msg=\"database connection dropped\" error=\"dup: {}\"", std::strerror(errno));
      PQfinish(pg);
      return reconnect_later(index);
    }
    Slot& s = slots[index];
    s.pg = pg;
    s.sock = std::make_unique<net::posix::stream_descriptor>(ioc, fd);
    s.watching = false;
    s.ending = false;
    PQsetNoticeReceiver(pg, on_notice, &s.ending);
    ++s.generation;
    connected_gauge.set(++connected);
    dispatch();
  }

  // Whether an idle connection is still there: reads and parses (PQisBusy)
  // what the server sent, without blocking; the session's end (its FATAL
  // message, or EOF) says it is not.
  static bool alive(Slot& s) {
    if (!PQconsumeInput(s.pg)) return false;
    PQisBusy(s.pg);
    return !s.ending && PQstatus(s.pg) == CONNECTION_OK;
  }
  static const char* why_dead(Slot& s) { return s.ending ? "the server ended the session" : PQerrorMessage(s.pg); }

  void watch_idle(Slot& s) {
    if (!s.pg || s.busy || s.watching) return;
    s.watching = true;
    const size_t index = static_cast<size_t>(&s - slots.data());
    s.sock->async_wait(net::posix::stream_descriptor::wait_read,
                       [this, index, generation = s.generation](boost::system::error_code ec) {
                         Slot& slot = slots[index];
                         if (!slot.pg || slot.generation != generation) return;  // closed, or another connection
                         slot.watching = false;
                         if (slot.busy) return;  // its job's own wait reads the answer
                         if (ec || !alive(slot)) return lost(slot, ec ? ec.message().c_str() : why_dead(slot));
                         watch_idle(slot);  // a notice or a parameter change: still there
                       });
  }

  // Hands slot `index` back to the connector thread.
  void reconnect_later(size_t index) {
    {
      std::lock_guard lock(mu);
      to_connect.push_back(index);
    }
    cv.notify_one();
  }

  void dispatch() {
    fail_fast_without_connections();
    while (!queue.empty()) {
      Slot* idle = nullptr;
      for (auto& s : slots)
        if (s.pg && !s.busy) {
          idle = &s;
          break;
        }
      if (!idle) break;
      // Checked right before its use too (the watch may not have run yet):
      // a job is never sent on a connection known to be gone.
      if (!alive(*idle)) {
        drop(*idle, why_dead(*idle));
        fail_fast_without_connections();
        continue;
      }
      auto job = pop();
      if (answered_before_sending(job)) {
        release(job.call.group);
        continue;
      }
      if (job.call.group && opts.group_limit > 0 && running_of(job.call.group) >= opts.group_limit) {
        queued.fetch_add(1);  // still waiting, in its group's line
        parked[job.call.group].push_back(std::move(job));
        continue;
      }
      if (job.call.group) ++group_running[job.call.group];
      auto riders = job.call.batch ? riders_for(job) : std::vector<Job>{};
      send(*idle, std::move(job), std::move(riders));
    }
    for (auto& s : slots) watch_idle(s);
    waiting_gauge.set(static_cast<int64_t>(waiting_now()));
  }

  // No connection at all: every waiting job fails fast rather than wait out
  // max_wait.
  void fail_fast_without_connections() {
    if (connected > 0) return;
    unpark_all();
    while (!queue.empty()) {
      auto job = pop();
      answer(job.cb, Status::DbUnavailable("the database is unreachable; retry shortly"));
    }
  }

  // A job about to be sent that waited too long, or that its precheck
  // answers, is answered here instead.
  bool answered_before_sending(Job& job) {
    auto waited = Clock::now() - job.enqueued;
    wait_seconds.observe(std::chrono::duration<double>(waited).count());
    if (waited > opts.max_wait) {
      timed_out.inc();
      answer(job.cb, Status::Overloaded("the server is overloaded; retry shortly"));
      return true;
    }
    if (!job.precheck) return false;
    auto reply = job.precheck();
    if (reply) answer(job.cb, std::move(*reply));
    return reply.has_value();
  }

  // Takes the jobs that may share `lead`'s statement out of its group's line.
  std::vector<Job> riders_for(const Job& lead) {
    std::vector<Job> riders;
    auto it = parked.find(lead.call.group);
    if (it == parked.end()) return riders;
    auto& line = it->second;
    for (auto j = line.begin(); j != line.end() && static_cast<int>(riders.size()) + 1 < opts.batch_limit;) {
      const auto& b = j->call.batch;
      if (!b || b->statement != lead.call.batch->statement || b->shared != lead.call.batch->shared) {
        ++j;
        continue;
      }
      Job job = std::move(*j);
      j = line.erase(j);
      queued.fetch_sub(1);
      if (!answered_before_sending(job)) riders.push_back(std::move(job));
    }
    if (line.empty()) parked.erase(it);
    batched.inc(static_cast<int64_t>(riders.size()));
    return riders;
  }

  int running_of(int64_t group) const {
    auto it = group_running.find(group);
    return it == group_running.end() ? 0 : it->second;
  }

  // Lets as many of `group`'s line back into the queue, at its front, as the
  // group has room to run. Called whenever a job of the group ends or leaves
  // without running. Letting too many back is harmless (dispatch parks them
  // again); too few would strand the line.
  void release(int64_t group) {
    auto it = parked.find(group);
    if (it == parked.end()) return;
    auto& line = it->second;
    auto n = std::min(line.size(), static_cast<size_t>(std::max(0, opts.group_limit - running_of(group))));
    queue.insert(queue.begin(), std::make_move_iterator(line.begin()),
                 std::make_move_iterator(line.begin() + static_cast<long>(n)));
    line.erase(line.begin(), line.begin() + static_cast<long>(n));
    if (line.empty()) parked.erase(it);
  }

  void group_done(int64_t group) {
    if (!group) return;
    if (--group_running[group] == 0) group_running.erase(group);
    release(group);
  }

  size_t waiting_now() {
    size_t n = queue.size();
    Clock::time_point oldest = queue.empty() ? Clock::time_point::max() : queue.front().enqueued;
    for (const auto& [group, line] : parked) {
      n += line.size();
      if (!line.empty()) oldest = std::min(oldest, line.front().enqueued);
    }
    oldest_enqueued.store(n ? oldest.time_since_epoch().count() : 0, std::memory_order_relaxed);
    return n;
  }

  void unpark_all() {
    for (auto& [group, line] : parked)
      for (auto& job : line) queue.push_back(std::move(job));
    parked.clear();
  }

  void recheck() {
    auto answered = [this](Job& job) {
      if (!job.precheck) return false;
      auto reply = job.precheck();
      if (!reply) return false;
      queued.fetch_sub(1);
      answer(job.cb, std::move(*reply));
      return true;
    };
    std::erase_if(queue, answered);
    std::vector<int64_t> groups;
    for (auto& [group, line] : parked) {
      std::erase_if(line, answered);
      groups.push_back(group);
    }
    for (auto group : groups) {
      release(group);  // jobs of the group answered from the queue leave room
      if (auto it = parked.find(group); it != parked.end() && it->second.empty()) parked.erase(it);
    }
    dispatch();
  }

  Job pop() {
    Job j = std::move(queue.front());
    queue.pop_front();
    queued.fetch_sub(1);
    return j;
  }

  void send(Slot& s, Job job, std::vector<Job> riders) {
    s.busy = true;
    in_use_gauge.set(++busy);
    s.job = std::move(job);
    s.riders = std::move(riders);
    const char* statement = s.job.call.statement;
    const auto* params = &s.job.call.params;
    std::vector<std::optional<std::string>> batch_params;
    if (!s.riders.empty()) {
      const Batchable& batch = *s.job.call.batch;
      batch_params = batch.shared;
      std::string items = "[" + batch.item;
      for (const auto& r : s.riders) items += "," + r.call.batch->item;
      batch_params.push_back(items + "]");
      statement = batch.statement.c_str();
      params = &batch_params;
    }
    std::vector<const char*> values;
    for (const auto& p : *params) values.push_back(p ? p->c_str() : nullptr);
    if (!PQsendQueryPrepared(s.pg, statement, static_cast<int>(values.size()), values.data(), nullptr, nullptr, 0))
      return lost(s, PQerrorMessage(s.pg));
    flush(s);
  }

  void flush(Slot& s) {
    int f = PQflush(s.pg);
    if (f < 0) return lost(s, PQerrorMessage(s.pg));
    auto what = f == 1 ? net::posix::stream_descriptor::wait_write : net::posix::stream_descriptor::wait_read;
    size_t index = static_cast<size_t>(&s - slots.data());
    s.sock->async_wait(what, [this, index, f](boost::system::error_code ec) {
      Slot& slot = slots[index];
      if (!slot.pg) return;
      if (ec) return lost(slot, ec.message().c_str());
      if (f == 1) return flush(slot);
      on_readable(slot);
    });
  }

  void on_readable(Slot& s) {
    if (!PQconsumeInput(s.pg)) return lost(s, PQerrorMessage(s.pg));
    for (;;) {
      if (PQisBusy(s.pg)) return flush(s);  // flush() with nothing to send waits for input
      PGresult* r = PQgetResult(s.pg);
      if (!r) break;
      if (!s.outcome) s.outcome = outcome_of(s, r);
      PQclear(r);
    }
    auto outcome = std::move(*s.outcome);
    s.outcome.reset();
    s.busy = false;
    if (opts.on_finished) opts.on_finished();
    in_use_gauge.set(--busy);
    const int64_t group = s.job.call.group;
    if (s.riders.empty()) {
      group_done(group);
      auto cb = std::move(s.job.cb);
      answer(cb, std::move(outcome));
    } else {
      settle_batch(std::move(s.job), std::exchange(s.riders, {}), std::move(outcome));
      group_done(group);  // after the jobs settle_batch put back, so that they go first
    }
    dispatch();
  }

  // Puts jobs back at the front of their group's line, in order: ahead of
  // those that came after them.
  void line_up_again(std::vector<Job>& jobs, size_t from) {
    for (size_t i = jobs.size(); i-- > from;) {
      queued.fetch_add(1);
      parked[jobs[i].call.group].push_front(std::move(jobs[i]));
    }
  }

  // Hands each job of a batch its own answer, or sends them again one by one
  // when the batch failed as a whole.
  void settle_batch(Job lead, std::vector<Job> riders, Result<std::string> outcome) {
    riders.insert(riders.begin(), std::move(lead));
    auto& jobs = riders;
    if (!outcome.ok() && outcome.status().code() != ErrorCode::DbUnavailable) {
      spdlog::warn("msg=\"batch failed; its jobs run one by one\" jobs={} error={}", jobs.size(),
                   logfmt(outcome.status().message()));
      for (auto& job : jobs) job.call.batch.reset();
      return line_up_again(jobs, 0);
    }
    std::optional<std::vector<std::string_view>> answers;
    if (outcome.ok()) {
      answers = json_array_elements(outcome.value());
      if (!answers || answers->empty() || answers->size() > jobs.size())
        outcome = Status::Internal("the database answered a batch of " + std::to_string(jobs.size()) +
                                   " jobs with something else than one answer per job");
    }
    if (!outcome.ok()) {
      for (auto& job : jobs) answer(job.cb, outcome.status());
      return;
    }
    line_up_again(jobs, answers->size());  // the jobs it did not reach
    for (size_t i = 0; i < answers->size(); ++i) answer(jobs[i].cb, std::string((*answers)[i]));
  }

  Result<std::string> outcome_of(Slot& s, PGresult* r) {
    switch (PQresultStatus(r)) {
      case PGRES_TUPLES_OK:
        if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) return std::string(PQgetvalue(r, 0, 0));
        return Status::Internal("the database answered no row");
      case PGRES_FATAL_ERROR: {
        const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        return status_from_sql_error(state ? state : "", PQresultErrorMessage(r), PQstatus(s.pg) == CONNECTION_OK);
      }
      default:
        return Status::Internal(std::string("unexpected database result ") + PQresStatus(PQresultStatus(r)));
    }
  }

  // The connection is gone: answer its job, close it, reconnect in the background.
  void lost(Slot& s, const char* why) {
    auto jobs = drop(s, why);
    for (auto& job : jobs) answer(job.cb, Status::DbUnavailable("lost the database connection; retry shortly"));
    dispatch();
  }

  // Closes a lost connection and hands its slot to the connector; returns
  // the jobs it was running, unanswered.
  std::vector<Job> drop(Slot& s, const char* why) {
    spdlog::warn("msg=\"database connection lost\" error={}", logfmt(why ? why : ""));
    std::vector<Job> jobs;
    if (s.busy) {
      jobs = std::exchange(s.riders, {});
      jobs.insert(jobs.begin(), std::move(s.job));
      s.busy = false;
      in_use_gauge.set(--busy);
      group_done(jobs.front().call.group);
    }
    s.outcome.reset();
    close(s);
    connected_gauge.set(--connected);
    reconnect_later(static_cast<size_t>(&s - slots.data()));
    return jobs;
  }

  void close(Slot& s) {
    if (s.sock) {
      boost::system::error_code ignored;
      s.sock->close(ignored);
      s.sock.reset();
    }
    if (s.pg) PQfinish(s.pg);
    s.pg = nullptr;
  }

  void close_all() {
    for (auto& s : slots) close(s);
  }

  AsyncPgOptions opts;
  // The pool's own loop, run by `io_thread`, unless options.loop names the
  // loop to run on; declared before the slots so that their descriptors are
  // gone when it is destroyed (with any handler left).
  std::optional<net::io_context> own_loop;
  net::io_context& ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::thread io_thread;
  std::vector<Slot> slots;
  std::deque<Job> queue;  // loop thread only
  std::unordered_map<int64_t, int> group_running;        // loop thread only
  std::unordered_map<int64_t, std::deque<Job>> parked;  // loop thread only: jobs whose group is at its limit
  std::atomic<Clock::rep> oldest_enqueued{0};  // of the jobs waiting at the last dispatch; 0: none
  int busy = 0;           // loop thread only
  int connected = 0;      // loop thread only
  std::atomic<int> queued{0};
  std::atomic<bool> logged_down{false};
  bool stopped = false;

  std::mutex mu;  // connector state
  std::condition_variable cv;
  std::deque<size_t> to_connect;
  std::vector<bool> tried;  // connector thread only: slots it has tried to connect
  std::atomic<int> first_pass_left{0};  // slots neither connected nor failed once yet
  bool stopping = false;
  std::thread thread;  // the connector

  Gauge& in_use_gauge;
  Gauge& waiting_gauge;
  Gauge& connected_gauge;
  Histogram& wait_seconds;
  Counter& rejected;
  Counter& timed_out;
  Counter& batched;
};

AsyncPg::AsyncPg(AsyncPgOptions options, MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), metrics)) {}

AsyncPg::~AsyncPg() { stop(); }

void AsyncPg::start() {
  auto& i = *impl_;
  {
    std::lock_guard lock(i.mu);
    for (size_t n = 0; n < i.slots.size(); ++n) i.to_connect.push_back(n);
  }
  i.tried.assign(i.slots.size(), false);
  i.first_pass_left = static_cast<int>(i.slots.size());
  if (!i.opts.loop) {
    i.work.emplace(i.ioc.get_executor());
    i.io_thread = std::thread([&i] { run_logging_errors(i.ioc, "database pool handler threw"); });
  }
  i.thread = std::thread([&i] { i.connector(); });
}

void AsyncPg::stop() {
  auto& i = *impl_;
  {
    std::lock_guard lock(i.mu);
    i.stopping = true;
  }
  i.cv.notify_all();
  if (i.thread.joinable()) i.thread.join();
  if (!i.opts.loop) {
    i.work.reset();
    i.ioc.stop();
    if (i.io_thread.joinable()) i.io_thread.join();
  }
  // The loop no longer runs: nothing else touches the slots. Jobs still
  // queued are dropped unanswered with the loop's handlers.
  i.stopped = true;
  i.close_all();
}

bool AsyncPg::submit(Call call, Callback cb, Precheck precheck) {
  auto& i = *impl_;
  if (i.queued.load() + i.in_use_gauge.value() >= i.opts.size + i.opts.queue_limit) {
    i.rejected.inc();
    return false;
  }
  i.queued.fetch_add(1);
  net::post(i.ioc, [&i, job = Impl::Job{std::move(call), std::move(cb), std::move(precheck), Clock::now()}]() mutable {
    i.queue.push_back(std::move(job));
    i.dispatch();
  });
  return true;
}

void AsyncPg::recheck_waiting() {
  auto& i = *impl_;
  if (i.queued.load() == 0) return;  // the common case: nothing waits, nothing to post
  net::post(i.ioc, [&i] {
    if (!i.queue.empty() || !i.parked.empty()) i.recheck();
  });
}

int AsyncPg::size() const { return impl_->opts.size; }
int AsyncPg::in_use() const { return static_cast<int>(impl_->in_use_gauge.value()); }
int AsyncPg::waiting() const { return static_cast<int>(impl_->waiting_gauge.value()); }
std::chrono::milliseconds AsyncPg::oldest_wait() const {
  auto since = impl_->oldest_enqueued.load(std::memory_order_relaxed);
  if (since == 0) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - Clock::time_point(Clock::duration(since)));
}
uint64_t AsyncPg::overloaded_total() const { return impl_->rejected.value() + impl_->timed_out.value(); }
int AsyncPg::starting() const { return impl_->first_pass_left.load(); }
int AsyncPg::connected() const { return static_cast<int>(impl_->connected_gauge.value()); }

}  // namespace resv
