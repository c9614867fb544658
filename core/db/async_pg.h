#pragma once
// Asynchronous PostgreSQL pool for the hot paths (hold, pay, cancel,
// balance). libpq connections in non-blocking mode are driven by an event
// loop that sleeps until a database answers and then at once hands the next
// waiting job to the freed connection. The loop is a thread of the pool's
// own, or a loop that one thread runs for others too (a server's only I/O
// thread): handing every job and every answer between two threads costs a
// server with one I/O thread a fifth of its CPU per hold (bench/RESULTS.md).
// Bounded like DbPool: when every connection is busy and `queue_limit`
// requests wait, submit() refuses at once; a request that waited longer than
// `max_wait` gets Overloaded; with no live connection, DbUnavailable at once.
// Connecting (and reconnecting after a loss) happens on a background thread.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/metrics.h"
#include "base/status.h"
#include "db/statements.h"

namespace boost::asio {
class io_context;
}

namespace resv {

struct AsyncPgOptions {
  std::string url;
  int size = 16;
  int queue_limit = 4096;
  std::chrono::milliseconds max_wait{500};
  int statement_timeout_ms = 5000;
  int lock_timeout_ms = 2000;
  // At most this many jobs of one group (submit's `group`) run at once; the
  // others wait in line. 0: no limit.
  int group_limit = 0;
  std::chrono::milliseconds reconnect_backoff{200};
  // At most this many jobs go to the database in one batch (see Batchable).
  // PostgreSQL tracks 64 subtransactions per transaction cheaply; a pool
  // hold may use one.
  int batch_limit = 32;
  // The loop to run on, which exactly one thread must run (the pool's state
  // is that thread's alone); null: a thread of the pool's own. The caller
  // runs it and stops it before stop().
  boost::asio::io_context* loop = nullptr;
  // Run on every new connection before it takes jobs (db/statements.h).
  std::vector<WarmUpCall> warm_up = {};
  // Called on the loop each time the database finished a statement (a job
  // or a batch), before its answers: what may have committed outbox rows.
  std::function<void()> on_finished = {};
};

class AsyncPg {
 public:
  // The first column of the first row as text, or why there is none.
  using Callback = std::function<void(Result<std::string>)>;

  // How a job may share one statement with others of its group that wait
  // in the group's line when it is sent: those with the same `statement` and
  // `shared` parameters (at most batch_limit in all) go as that prepared
  // statement with `shared` and then a JSON array of their `item`s, in the
  // order they came.
  // It must answer a JSON array with one answer per item, in item order,
  // or per item of a prefix (at least one): the jobs past it wait again at
  // the front of their group's line. Each job's callback gets its own
  // answer as text, as if it had run alone.
  // Every job of a batch passes its precheck and max_wait first. A batch
  // that fails as a whole (an SQL error: it changed nothing) is run again one
  // job at a time, each by its own statement; a lost connection answers all.
  struct Batchable {
    std::string statement;
    std::vector<std::optional<std::string>> shared;
    std::string item;
  };

  // A job: prepared statement `statement` (db/statements.h) with text
  // parameters (nullopt: NULL). Jobs of one `group` (0: none) run at most
  // group_limit at a time, and with `batch` may run together (see
  // Batchable).
  struct Call {
    Call() = default;
    Call(const char* statement_, std::vector<std::optional<std::string>> params_, int64_t group_ = 0,
         std::optional<Batchable> batch_ = std::nullopt)
        : statement(statement_), params(std::move(params_)), group(group_), batch(std::move(batch_)) {}
    const char* statement = nullptr;  // a name of statements(), which live as long as the program
    std::vector<std::optional<std::string>> params;
    int64_t group = 0;
    std::optional<Batchable> batch;
  };

  AsyncPg(AsyncPgOptions options, MetricsRegistry& metrics);
  ~AsyncPg();  // stop()
  AsyncPg(const AsyncPg&) = delete;
  AsyncPg& operator=(const AsyncPg&) = delete;

  // Starts the pool's thread (if it has its own loop) and connects every
  // connection (each also warms up, see statements.h).
  void start();
  // Stops the pool's thread (or, on a loop of the caller's, expects it
  // stopped) and closes every connection; jobs still waiting or running are
  // dropped without their callback. Idempotent.
  void stop();

  // Asked on the pool's loop right before the statement is sent (after any
  // wait in the queue): a Status answers the request without the database.
  using Precheck = std::function<std::optional<Status>()>;

  // Runs `call`. The callback runs on the pool's loop, exactly once
  // (unless stop() drops the job first): hand its result to your own
  // executor (e.g. the connection's) there.
  // False, without calling back, when the pool and its queue are full.
  bool submit(Call call, Callback cb, Precheck precheck = {});

  // Runs the precheck of every waiting request now, answering those it
  // answers: call it when something was learned (e.g. "sold out") that lets
  // queued requests be answered without waiting for a connection.
  void recheck_waiting();

  int size() const;
  int in_use() const;
  // Jobs waiting for a connection as of the pool loop's last turn: a job
  // answered without a connection (recheck_waiting) stops counting just
  // after its callback has run.
  int waiting() const;
  int connected() const;
  // How long the oldest waiting job has waited (0 when none waits).
  std::chrono::milliseconds oldest_wait() const;
  // Jobs answered Overloaded (503) so far: the queue was full, or they
  // waited longer than max_wait.
  uint64_t overloaded_total() const;
  // Connections not yet tried once since start() (connecting and warming up
  // one after another): until 0, a burst would find the pool short.
  int starting() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace resv
