// Reserve (seats or pool units), pay, cancel.
#include "booking/db_json.h"
#include "booking/validation.h"
#include "db/pg_text.h"
#include "server/app.h"
#include "server/converters.h"
#include "server/errors.h"
#include "server/router.h"

#include <map>
#include <nlohmann/json.hpp>
#include <tuple>
#include <spdlog/fmt/fmt.h>

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

Status sold_out(const HoldPoolRequest& req, int64_t remaining) {
  return Status::SoldOut(fmt::format("pool {} has {} left, fewer than the {} requested", req.pool_id, remaining,
                                     req.quantity),
                         fmt::format(R"({{"remaining":{}}})", remaining));
}

// The units left when the filter knows the pool cannot serve `req`.
std::optional<int64_t> known_sold_out(App& app, const HoldPoolRequest& req) {
  int64_t remaining = 0;
  if (!app.filter.known_sold_out(req.pool_id, req.quantity, &remaining)) return std::nullopt;
  app.filter_answers.inc();
  return remaining;
}

std::optional<Status> filter_answer(App& app, const HoldPoolRequest& req) {
  auto remaining = known_sold_out(app, req);
  return remaining ? std::optional(sold_out(req, *remaining)) : std::nullopt;
}

// The filter's answer as a reply, before a request queues for a connection.
// A pool's "sold out" is rendered once per (pool, units left, quantity) and
// I/O thread: at an opening, thousands of late buyers get these same bytes.
std::optional<HttpResponse> filter_reply(App& app, const HoldSeatsRequest& req) {
  auto s = filter_answer(app, req);
  return s ? std::optional(error_response(*s)) : std::nullopt;
}

std::optional<HttpResponse> filter_reply(App& app, const HoldPoolRequest& req) {
  auto remaining = known_sold_out(app, req);
  if (!remaining) return std::nullopt;
  using Key = std::tuple<int64_t, int64_t, int64_t>;
  thread_local std::map<Key, HttpResponse> rendered;
  Key key{req.pool_id, *remaining, req.quantity};
  auto it = rendered.find(key);
  if (it == rendered.end()) {
    if (rendered.size() >= 1024) rendered.clear();  // a bound; only the pools selling out now matter
    HttpResponse r = error_response(sold_out(req, *remaining));
    r.shared_body = std::make_shared<const std::string>(std::move(r.body));
    r.body.clear();
    it = rendered.emplace(key, std::move(r)).first;
  }
  return it->second;  // a copy that shares the body
}

// What the filter learns from a failed hold.
// Requests already queued for a connection may be answered by it at once.
void learn(App& app, const HoldSeatsRequest& req, const Status& s, uint64_t gen) {
  if (s.code() != ErrorCode::SeatTaken) return;
  app.filter.record_taken(req.schedule_id, detail_ints(s, "seatIds"), gen);
  app.writes.recheck_waiting();
}

void learn(App& app, const HoldPoolRequest& req, const Status& s, uint64_t gen) {
  if (s.code() != ErrorCode::SoldOut) return;
  app.filter.record_remaining(req.pool_id, detail_int(s, "remaining", 0), gen);
  app.writes.recheck_waiting();
}

std::optional<std::string> opt_id(int64_t id) { return id ? std::optional(std::to_string(id)) : std::nullopt; }

Params hold_params(const HoldSeatsRequest& r) {
  return {std::to_string(r.user_id), std::to_string(r.schedule_id), pg_int_array(r.seat_ids), opt(r.idempotency_key),
          opt(r.request_hash),       opt_id(r.token_concert)};
}

Params hold_params(const HoldPoolRequest& r) {
  return {std::to_string(r.user_id),  std::to_string(r.schedule_id), std::to_string(r.pool_id),
          std::to_string(r.quantity), opt(r.idempotency_key),        opt(r.request_hash),
          opt_id(r.token_concert)};
}

// The waiting room's gate, from memory: refuses a request that carries no
// valid Queue-Token of its user for a concert that queues, or whose token is
// not ACTIVE here; otherwise the concert of the token it carries (0: none).
// The database checks again (resv_queue_gate): this view may lag by one
// sync interval, the database does not.
Result<int64_t> queue_gate(const App& app, const HttpRequest& req, int64_t user_id,
                           std::optional<int64_t> schedule_id) {
  std::optional<int64_t> concert;
  if (schedule_id) concert = app.queue.concert_of_schedule(*schedule_id);
  bool queued = concert && app.queue.queue_enabled(*concert);
  std::string token = req.header("queue-token");
  if (token.empty()) {
    if (!queued) return int64_t{0};
    return Status::Error(ErrorCode::QueueTokenInvalid,
                         "concert " + std::to_string(*concert) +
                             " has a waiting room: send the Queue-Token header with the token from "
                             "POST /api/queue/tokens");
  }
  auto claims = app.queue.verify(token);
  if (!claims)
    return Status::Error(ErrorCode::QueueTokenInvalid,
                         "the Queue-Token is malformed or was not issued by this service; ask POST "
                         "/api/queue/tokens for one");
  if (claims->user_id != user_id)
    return Status::Error(ErrorCode::QueueTokenInvalid, "the Queue-Token belongs to another user; send your own");
  if (queued && claims->concert_id != *concert)
    return Status::Error(ErrorCode::QueueTokenInvalid, "the Queue-Token is for concert " +
                                                           std::to_string(claims->concert_id) + ", not concert " +
                                                           std::to_string(*concert) + "; send this concert's token");
  if (app.queue.queue_enabled(claims->concert_id)) {
    auto st = app.queue.status(*claims, std::chrono::system_clock::now());
    if (!st.ok()) return st.status();
    if (st->state != TokenState::Active)
      return Status::Error(ErrorCode::QueueTokenNotActive,
                           "the Queue-Token is " + std::string(token_state_name(st->state)) +
                               (st->state == TokenState::Waiting ? " (" + std::to_string(st->ahead) + " ahead)" : "") +
                               ", not ACTIVE: poll GET /api/queue/tokens/{token} until it is");
  }
  return claims->concert_id;
}

const char* hold_statement(const HoldSeatsRequest&) { return "hold_seats"; }
const char* hold_statement(const HoldPoolRequest&) { return "hold_pool"; }

// Holds of one pool go to the database a few at a time: more at once cannot
// finish sooner (they want the same units and the same CPU), and at a
// sell-out the surplus would only queue on the last units while everyone
// behind them waits for the "sold out" that the few find as fast. Seats need
// no line: buyers of different seats do not contend.
int64_t hold_group(const HoldSeatsRequest&) { return 0; }
int64_t hold_group(const HoldPoolRequest& r) { return r.pool_id; }

// Holds of a pool that wait in its line go to the database together, as one
// resv_hold_pool_batch (sql/0008): selling out takes as many round trips as
// the line moves, not one per buyer.
std::optional<AsyncPg::Batchable> hold_batch(const HoldSeatsRequest&) { return std::nullopt; }
std::optional<AsyncPg::Batchable> hold_batch(const HoldPoolRequest& r) {
  nlohmann::json item{{"userId", r.user_id}, {"quantity", r.quantity}};
  if (!r.idempotency_key.empty()) item.update({{"key", r.idempotency_key}, {"hash", r.request_hash}});
  if (r.token_concert) item["tokenConcert"] = r.token_concert;
  return AsyncPg::Batchable{"hold_pool_batch", {std::to_string(r.schedule_id), std::to_string(r.pool_id)},
                            item.dump()};
}

// A request with an Idempotency-Key skips the filter: its retry must reach
// the database to be answered with its own stored result (201), not with
// "taken by someone" because its first attempt took it.
template <class Request>
void reserve(App& app, Request req, Reply reply) {
  const bool use_filter = req.idempotency_key.empty();
  if (use_filter)
    if (auto answer = filter_reply(app, req)) return reply(std::move(*answer));
  // The generation is read right before the statement is sent, together with
  // the filter's second look (requests queued behind the one that learned
  // "sold out" need no round trip either).
  auto gen = std::make_shared<uint64_t>(0);
  AsyncPg::Precheck precheck = [&app, req, use_filter, gen]() -> std::optional<Status> {
    *gen = app.filter.generation();
    return use_filter ? filter_answer(app, req) : std::nullopt;
  };
  const char* statement = hold_statement(req);
  auto params = hold_params(req);
  const int64_t group = hold_group(req);
  auto batch = hold_batch(req);
  run_write(
      app, std::move(reply), statement, std::move(params),
      [&app, req = std::move(req), gen](Result<std::string> answer, Reply& out) {
        if (!answer.ok()) return out(error_response(answer.status()));  // the pool's or the filter's (precheck)
        auto held = hold_from_db_json(answer.value());
        if (!held.ok()) {
          learn(app, req, held.status(), *gen);  // only from the database: the filter knows its own answers
          return out(error_response(held.status()));
        }
        out(hold_response(held.value()));
      },
      std::move(precheck), group, std::move(batch));
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
      auto gate = queue_gate(app, req, seats->user_id, seats->schedule_id);
      if (!gate.ok()) return reply(error_response(gate.status()));
      seats->token_concert = gate.value();
      return reserve(app, std::move(*seats), std::move(reply));
    }
    auto& pool = std::get<HoldPoolRequest>(parsed.value());
    pool.idempotency_key = key;
    pool.request_hash = hash;
    if (auto s = validate(pool); !s.ok()) return reply(error_response(s));
    auto gate = queue_gate(app, req, pool.user_id, pool.schedule_id);
    if (!gate.ok()) return reply(error_response(gate.status()));
    pool.token_concert = gate.value();
    reserve(app, std::move(pool), std::move(reply));
  });

  r.add("POST", "/api/reservations/{id}/payment", [&app](const HttpRequest& req, Reply reply) {
    auto id = parse_id(req.params[0], "reservation id");
    if (!id.ok()) return reply(error_response(id.status()));
    auto user = parse_user_id_body(req.body);
    if (!user.ok()) return reply(error_response(user.status()));
    PaymentRequest p{id.value(), user.value(), req.header("idempotency-key"), {}, 0};
    if (auto s = validate_idempotency_key(p.idempotency_key); !s.ok()) return reply(error_response(s));
    if (!p.idempotency_key.empty()) p.request_hash = request_hash(req.method, req.path, req.body);
    // The reservation's concert is known only to the database, which
    // requires the token there; here its signature and user are checked.
    auto gate = queue_gate(app, req, p.user_id, std::nullopt);
    if (!gate.ok()) return reply(error_response(gate.status()));
    p.token_concert = gate.value();
    Params params{std::to_string(p.reservation_id), std::to_string(p.user_id), opt(p.idempotency_key),
                  opt(p.request_hash), opt_id(p.token_concert)};
    run_write(app, std::move(reply), "pay", std::move(params), [](Result<std::string> answer, Reply& out) {
      auto paid = answer.ok() ? payment_from_db_json(answer.value()) : Result<Payment>(answer.status());
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
    Params params{std::to_string(id.value()), std::to_string(user.value())};
    run_write(app, std::move(reply), "cancel", std::move(params), [](Result<std::string> answer, Reply& out) {
      auto c = answer.ok() ? cancellation_from_db_json(answer.value()) : Result<Cancellation>(answer.status());
      if (!c.ok()) return out(error_response(c.status()));
      out(json_response(200, cancellation_json(c.value())));
    });
  });
}

}  // namespace resv
