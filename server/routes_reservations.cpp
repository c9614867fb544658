// Reserve (seats or pool units), pay, cancel.
#include "app.h"
#include "converters.h"
#include "errors.h"
#include "router.h"
#include "validation.h"

#include <nlohmann/json.hpp>

namespace resv {
namespace {

// SEAT_TAKEN details carry the taken seat ids; SOLD_OUT the units left.
std::vector<int64_t> detail_ints(const Status& s, const char* field) {
  std::vector<int64_t> out;
  auto j = nlohmann::json::parse(s.details_json(), nullptr, false);
  if (j.is_object() && j.contains(field) && j[field].is_array())
    for (const auto& v : j[field]) out.push_back(v.get<int64_t>());
  return out;
}

int64_t detail_int(const Status& s, const char* field, int64_t fallback) {
  auto j = nlohmann::json::parse(s.details_json(), nullptr, false);
  return j.is_object() && j.contains(field) && j[field].is_number_integer() ? j[field].get<int64_t>() : fallback;
}

// A replayed Idempotency-Key answer is the original answer, marked as such.
HttpResponse hold_response(const Hold& hold) {
  HttpResponse r = json_response(201, hold_json(hold));
  if (hold.replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

// The filter's answer, if it has one: asked before queueing for a connection
// and again when the connection is free, since requests queued behind the
// one that learned "sold out" need no database round trip either.
std::optional<Status> filter_answer(App& app, const HoldSeatsRequest& req) {
  auto taken = app.filter.known_taken(req.schedule_id, req.seat_ids);
  if (taken.empty()) return std::nullopt;
  app.filter_answers.inc();
  return Status::SeatTaken("seat(s) already held or sold; pick other seats", nlohmann::json{{"seatIds", taken}}.dump());
}

std::optional<Status> filter_answer(App& app, const HoldPoolRequest& req) {
  int64_t remaining = 0;
  if (!app.filter.known_sold_out(req.pool_id, req.quantity, &remaining)) return std::nullopt;
  app.filter_answers.inc();
  return Status::SoldOut("pool " + std::to_string(req.pool_id) + " has " + std::to_string(remaining) +
                             " left, fewer than the " + std::to_string(req.quantity) + " requested",
                         nlohmann::json{{"remaining", remaining}}.dump());
}

// What the filter learns from a failed hold.
void learn(App& app, const HoldSeatsRequest& req, const Status& s, uint64_t gen) {
  if (s.code() == ErrorCode::SeatTaken) app.filter.record_taken(req.schedule_id, detail_ints(s, "seatIds"), gen);
}

void learn(App& app, const HoldPoolRequest& req, const Status& s, uint64_t gen) {
  if (s.code() == ErrorCode::SoldOut) app.filter.record_remaining(req.pool_id, detail_int(s, "remaining", 0), gen);
}

Result<Hold> hold(Store& store, const HoldSeatsRequest& req) { return store.hold_seats(req); }
Result<Hold> hold(Store& store, const HoldPoolRequest& req) { return store.hold_pool(req); }

// A request with an Idempotency-Key skips the filter: its retry must reach
// the database to be answered with its own stored result (201), not with
// "taken by someone" because its first attempt took it.
template <class Request>
void reserve(App& app, Request req, Reply reply) {
  const bool use_filter = req.idempotency_key.empty();
  if (use_filter)
    if (auto answer = filter_answer(app, req)) return reply(error_response(*answer));
  run_db(app, std::move(reply), [&app, req = std::move(req), use_filter](Store& store, Reply& out) {
    if (use_filter)
      if (auto answer = filter_answer(app, req)) return out(error_response(*answer));
    uint64_t gen = app.filter.generation();
    auto held = hold(store, req);
    if (!held.ok()) {
      learn(app, req, held.status(), gen);
      return out(error_response(held.status()));
    }
    out(hold_response(held.value()));
  });
}

}  // namespace

void register_reservation_routes(Router& r, App& app) {
  r.add("POST", "/api/reservations", [&app](const HttpRequest& req, Reply reply) {
    auto parsed = parse_reservation(req.body);
    if (!parsed.ok()) return reply(error_response(parsed.status()));
    std::string key = req.header("idempotency-key");
    std::string hash = key.empty() ? "" : request_hash(req.method, req.path, req.body);
    if (auto* seats = std::get_if<HoldSeatsRequest>(&parsed.value())) {
      seats->idempotency_key = key;
      seats->request_hash = hash;
      if (auto s = validate(*seats); !s.ok()) return reply(error_response(s));
      return reserve(app, std::move(*seats), std::move(reply));
    }
    auto& pool = std::get<HoldPoolRequest>(parsed.value());
    pool.idempotency_key = key;
    pool.request_hash = hash;
    if (auto s = validate(pool); !s.ok()) return reply(error_response(s));
    reserve(app, std::move(pool), std::move(reply));
  });

  r.add("POST", "/api/reservations/{id}/payment", [&app](const HttpRequest& req, Reply reply) {
    auto id = parse_id(req.params[0], "reservation id");
    if (!id.ok()) return reply(error_response(id.status()));
    auto user = parse_user_id_body(req.body);
    if (!user.ok()) return reply(error_response(user.status()));
    PaymentRequest p{id.value(), user.value(), req.header("idempotency-key"), {}};
    if (auto s = validate_idempotency_key(p.idempotency_key); !s.ok()) return reply(error_response(s));
    if (!p.idempotency_key.empty()) p.request_hash = request_hash(req.method, req.path, req.body);
    run_db(app, std::move(reply), [p = std::move(p)](Store& store, Reply& out) {
      auto paid = store.pay(p);
      if (!paid.ok()) return out(error_response(paid.status()));
      HttpResponse resp = json_response(200, payment_json(paid.value()));
      if (paid->replayed) resp.headers.emplace_back("Idempotent-Replayed", "true");
      out(std::move(resp));
    });
  });

  r.add("DELETE", "/api/reservations/{id}", [&app](const HttpRequest& req, Reply reply) {
    auto id = parse_id(req.params[0], "reservation id");
    if (!id.ok()) return reply(error_response(id.status()));
    auto user_param = req.query_param("userId");
    if (!user_param) return reply(error_response(Status::Invalid("userId query parameter is required")));
    auto user = parse_id(*user_param, "userId");
    if (!user.ok()) return reply(error_response(user.status()));
    run_db(app, std::move(reply), [res = id.value(), user = user.value()](Store& store, Reply& out) {
      auto c = store.cancel(res, user);
      if (!c.ok()) return out(error_response(c.status()));
      out(json_response(200, cancellation_json(c.value())));
    });
  });
}

}  // namespace resv
