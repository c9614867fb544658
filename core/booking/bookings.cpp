#include "booking/bookings.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>
#include <string>
#include <utility>

#include "base/flat_json.h"
#include "booking/db_json.h"
#include "db/pg_text.h"

namespace resv {
namespace {

using Param = std::optional<std::string>;

// "" (no Idempotency-Key, no hash) and id 0 (no Queue-Token) are SQL NULL.
Param opt(const std::string& s) { return s.empty() ? std::nullopt : Param(s); }
Param opt_id(int64_t id) { return id ? Param(std::to_string(id)) : std::nullopt; }

// SEAT_TAKEN details carry the taken seat ids; SOLD_OUT the units left.
std::vector<int64_t> detail_ints(const Status& s, const char* field) {
  FlatObject details;
  if (details.read(s.details_json()) != FlatObject::Read::Object) return {};
  const FlatMember* m = details.find(field);
  return m && m->kind == FlatMember::Kind::IntArray ? m->elements : std::vector<int64_t>{};
}

int64_t detail_int(const Status& s, const char* field, int64_t fallback) {
  FlatObject details;
  if (details.read(s.details_json()) != FlatObject::Read::Object) return fallback;
  return details.integer(field).value_or(fallback);
}

const char* const kOverloaded =
    "the server is at capacity (database pool and queue full); retry after the Retry-After delay";

}  // namespace

Status pool_sold_out(const HoldPoolRequest& r, int64_t remaining) {
  return Status::SoldOut(
      fmt::format("pool {} has {} left, fewer than the {} requested", r.pool_id, remaining, r.quantity),
      fmt::format(R"({{"remaining":{}}})", remaining));
}

AsyncPg::Call db_call(const HoldSeatsRequest& r) {
  return {"hold_seats",
          {std::to_string(r.user_id), std::to_string(r.schedule_id), pg_int_array(r.seat_ids), opt(r.idempotency_key),
           opt(r.request_hash), opt_id(r.token_concert)}};
}

// Holds of one pool go to the database a few at a time: more at once cannot
// finish sooner (they want the same units and the same CPU), and at a
// sell-out the surplus would only queue on the last units while everyone
// behind them waits for the "sold out" that the few find as fast. Those that
// waited in the line go together, as one resv_hold_pool_batch: selling out
// takes as many round trips as the line moves, not one per buyer. Seats need
// no line: buyers of different seats do not contend.
AsyncPg::Call db_call(const HoldPoolRequest& r) {
  std::string item = fmt::format(R"({{"userId":{},"quantity":{})", r.user_id, r.quantity);
  if (!r.idempotency_key.empty())
    item += R"(,"key":)" + nlohmann::json(r.idempotency_key).dump() + R"(,"hash":)" +
            nlohmann::json(r.request_hash).dump();
  if (r.token_concert) item += R"(,"tokenConcert":)" + std::to_string(r.token_concert);
  item += '}';
  return {"hold_pool",
          {std::to_string(r.user_id), std::to_string(r.schedule_id), std::to_string(r.pool_id),
                     std::to_string(r.quantity), opt(r.idempotency_key), opt(r.request_hash), opt_id(r.token_concert)},
          r.pool_id,
          AsyncPg::Batchable{"hold_pool_batch", {std::to_string(r.schedule_id), std::to_string(r.pool_id)},
                             std::move(item)}};
}

AsyncPg::Call db_call(const PaymentRequest& r) {
  return {"pay",
          {std::to_string(r.reservation_id), std::to_string(r.user_id), opt(r.idempotency_key), opt(r.request_hash),
           opt_id(r.token_concert)}};
}

AsyncPg::Call db_call(const CancelRequest& r) {
  return {"cancel", {std::to_string(r.reservation_id), std::to_string(r.user_id)}};
}

AsyncPg::Call db_call(const BalanceRequest& r) {
  return {"balance", {std::to_string(r.user_id)}};
}

AsyncPg::Call db_call(const TopUpRequest& r) {
  return {"top_up",
          {std::to_string(r.user_id), std::to_string(r.amount), opt(r.idempotency_key), opt(r.request_hash)}};
}

const std::vector<WarmUpCall>& warm_up_calls() {
  static const std::vector<WarmUpCall> calls = [] {
    std::vector<WarmUpCall> out;
    auto add = [&](const AsyncPg::Call& c) { out.push_back({c.statement, c.params}); };
    add(db_call(HoldSeatsRequest{}));
    HoldPoolRequest one_unit;
    one_unit.quantity = 1;
    auto pool = db_call(one_unit);
    add(pool);
    auto shared = pool.batch->shared;
    shared.push_back("[" + pool.batch->item + "]");
    out.push_back({pool.batch->statement, shared});
    add(db_call(PaymentRequest{}));
    add(db_call(CancelRequest{}));
    TopUpRequest one;
    one.amount = 1;
    add(db_call(one));
    add(db_call(BalanceRequest{}));
    out.push_back({"warm_up", {}, "ok"});
    return out;
  }();
  return calls;
}

Bookings::Bookings(AsyncPg& db, AvailabilityFilter& filter, Counter& filter_answers)
    : db_(db), filter_(filter), filter_answers_(filter_answers) {}

std::optional<Status> Bookings::known_answer(const HoldSeatsRequest& r) {
  if (!r.idempotency_key.empty()) return std::nullopt;
  auto taken = filter_.known_taken(r.schedule_id, r.seat_ids);
  if (taken.empty()) return std::nullopt;
  filter_answers_.inc();
  return Status::SeatTaken("seat(s) already held or sold; pick other seats", nlohmann::json{{"seatIds", taken}}.dump());
}

std::optional<int64_t> Bookings::known_remaining(const HoldPoolRequest& r) {
  int64_t remaining = 0;
  if (!r.idempotency_key.empty() || !filter_.known_sold_out(r.pool_id, r.quantity, &remaining)) return std::nullopt;
  filter_answers_.inc();
  return remaining;
}

std::optional<Status> Bookings::known_answer(const HoldPoolRequest& r) {
  auto remaining = known_remaining(r);
  return remaining ? std::optional(pool_sold_out(r, *remaining)) : std::nullopt;
}

// What the filter learns from a failed hold: only from the database (the
// filter knows its own answers). Requests already waiting for a connection
// may be answered by it at once.
void Bookings::learn(const HoldSeatsRequest& r, const Status& s, uint64_t generation) {
  if (s.code() != ErrorCode::SeatTaken) return;
  filter_.record_taken(r.schedule_id, detail_ints(s, "seatIds"), generation);
  db_.recheck_waiting();
}

void Bookings::learn(const HoldPoolRequest& r, const Status& s, uint64_t generation) {
  if (s.code() != ErrorCode::SoldOut) return;
  filter_.record_remaining(r.pool_id, detail_int(s, "remaining", 0), generation);
  db_.recheck_waiting();
}

template <class Request>
void Bookings::run_hold(Request r, Done<Hold> done) {
  if (auto known = known_answer(r)) return done(std::move(*known));
  // The filter is asked again right before the statement is sent (requests
  // queued behind the one that learned "sold out" need no round trip
  // either), and its generation read then: an answer that raced a release
  // is not learned.
  struct Pending {
    Request request;
    Done<Hold> done;
    uint64_t generation = 0;
  };
  auto p = std::make_shared<Pending>(Pending{std::move(r), std::move(done)});
  AsyncPg::Precheck precheck = [this, p]() -> std::optional<Status> {
    p->generation = filter_.generation();
    return known_answer(p->request);
  };
  auto answered = [this, p](Result<std::string> answer) {
    if (!answer.ok()) return p->done(answer.status());  // the pool's or the filter's (precheck)
    auto held = hold_from_db_json(answer.value());
    if (!held.ok()) learn(p->request, held.status(), p->generation);
    p->done(std::move(held));
  };
  if (!db_.submit(db_call(p->request), std::move(answered), std::move(precheck)))
    p->done(Status::Overloaded(kOverloaded));
}

void Bookings::hold(HoldSeatsRequest r, Done<Hold> done) { run_hold(std::move(r), std::move(done)); }
void Bookings::hold(HoldPoolRequest r, Done<Hold> done) { run_hold(std::move(r), std::move(done)); }

template <class T>
void Bookings::run(AsyncPg::Call call, Result<T> (*parse)(std::string_view), Done<T> done) {
  auto shared = std::make_shared<Done<T>>(std::move(done));
  auto answered = [parse, shared](Result<std::string> answer) {
    (*shared)(answer.ok() ? parse(answer.value()) : Result<T>(answer.status()));
  };
  if (!db_.submit(std::move(call), std::move(answered))) (*shared)(Status::Overloaded(kOverloaded));
}

void Bookings::pay(PaymentRequest r, Done<Payment> done) {
  run(db_call(r), &payment_from_db_json, std::move(done));
}
void Bookings::cancel(CancelRequest r, Done<Cancellation> done) {
  run(db_call(r), &cancellation_from_db_json, std::move(done));
}
void Bookings::balance(BalanceRequest r, Done<Balance> done) {
  run(db_call(r), &balance_from_db_json, std::move(done));
}
void Bookings::top_up(TopUpRequest r, Done<Balance> done) { run(db_call(r), &balance_from_db_json, std::move(done)); }

}  // namespace resv
