#pragma once
// The write paths (holds, payments, cancellations, balances), from a typed
// request to its SQL function and back: the one path that resv-server runs
// and that the integration tests drive.
//
// db_call() is the one mapping from a request to its SQL call (prepared
// statement, parameters, the line it waits in, how it batches); Bookings
// runs those calls on the asynchronous pool, answers "taken" / "sold out"
// from the availability filter when the database already said so, teaches
// the filter what the database answers, and turns each answer into its
// domain result.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "base/metrics.h"
#include "base/status.h"
#include "booking/availability.h"
#include "booking/domain.h"
#include "db/async_pg.h"
#include "db/statements.h"

namespace resv {

// Pure. A seat hold runs on its own; holds of one pool wait in that pool's
// line (group = pool id, at most AsyncPgOptions::group_limit at once) and
// those that waited together go as one resv_hold_pool_batch.
AsyncPg::Call db_call(const HoldSeatsRequest& r);
AsyncPg::Call db_call(const HoldPoolRequest& r);
AsyncPg::Call db_call(const PaymentRequest& r);
AsyncPg::Call db_call(const CancelRequest& r);
AsyncPg::Call db_call(const BalanceRequest& r);
AsyncPg::Call db_call(const TopUpRequest& r);

// The SoldOut answer to `r` for a pool with `remaining` units left, as the
// database words it.
Status pool_sold_out(const HoldPoolRequest& r, int64_t remaining);

// Every write path's call with ids that cannot exist (each function returns
// at its first lookup), its batch statement, then resv_warm_up(), which runs
// them all end to end and rolls back: what a new connection runs before it
// takes buyers (AsyncPgOptions::warm_up, PgStore).
const std::vector<WarmUpCall>& warm_up_calls();

class Bookings {
 public:
  template <class T>
  using Done = std::function<void(Result<T>)>;

  // `filter_answers` counts the requests answered from the filter.
  Bookings(AsyncPg& db, AvailabilityFilter& filter, Counter& filter_answers);

  // Each answers `done` exactly once: on the pool's loop with the database's
  // answer (business outcomes as their Status: SeatTaken with details
  // {"seatIds":[...]}, SoldOut with {"remaining":n}, ...), or at once on the
  // caller's thread when the filter knows the answer or the pool and its
  // queue are full (Overloaded). A request with an Idempotency-Key always
  // reaches the database: its retry must get its own stored answer, not
  // "taken" by its first attempt.
  void hold(HoldSeatsRequest r, Done<Hold> done);
  void hold(HoldPoolRequest r, Done<Hold> done);
  void pay(PaymentRequest r, Done<Payment> done);
  void cancel(CancelRequest r, Done<Cancellation> done);
  void balance(BalanceRequest r, Done<Balance> done);
  void top_up(TopUpRequest r, Done<Balance> done);

  // The units left in a pool the filter knows cannot serve `r` (counted as
  // an answer from the filter); nullopt when it does not know, or `r` has
  // an Idempotency-Key. For a server that renders that answer itself.
  std::optional<int64_t> known_remaining(const HoldPoolRequest& r);

 private:
  template <class Request>
  void run_hold(Request r, Done<Hold> done);
  std::optional<Status> known_answer(const HoldSeatsRequest& r);
  std::optional<Status> known_answer(const HoldPoolRequest& r);
  void learn(const HoldSeatsRequest& r, const Status& s, uint64_t generation);
  void learn(const HoldPoolRequest& r, const Status& s, uint64_t generation);
  template <class T>
  void run(AsyncPg::Call call, Result<T> (*parse)(std::string_view), Done<T> done);

  AsyncPg& db_;
  AvailabilityFilter& filter_;
  Counter& filter_answers_;
};

}  // namespace resv
