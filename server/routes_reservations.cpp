// Reserve (seats or pool units), pay, cancel.
#include "booking/validation.h"
#include "server/app.h"
#include "server/converters.h"
#include "server/errors.h"
#include "server/router.h"

#include <map>
#include <tuple>

namespace resv {
namespace {

// A replayed Idempotency-Key answer is the original answer, marked as such.
HttpResponse hold_response(const Hold& hold) {
  HttpResponse r = json_response(201, hold_json(hold));
  if (hold.replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

// A pool's "sold out" known without the database, rendered once per (pool,
// units left, quantity) and I/O thread: at an opening, thousands of late
// buyers get these same bytes.
std::optional<HttpResponse> sold_out_reply(App& app, const HoldPoolRequest& req) {
  auto remaining = app.bookings.known_remaining(req);
  if (!remaining) return std::nullopt;
  using Key = std::tuple<int64_t, int64_t, int64_t>;
  thread_local std::map<Key, HttpResponse> rendered;
  Key key{req.pool_id, *remaining, req.quantity};
  auto it = rendered.find(key);
  if (it == rendered.end()) {
    if (rendered.size() >= 1024) rendered.clear();  // a bound; only the pools selling out now matter
    HttpResponse r = error_response(pool_sold_out(req, *remaining));
    r.shared_body = std::make_shared<const std::string>(std::move(r.body));
    r.body.clear();
    it = rendered.emplace(key, std::move(r)).first;
  }
  return it->second;  // a copy that shares the body
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

template <class Request>
void reserve(App& app, Request req, Reply reply) {
  auto answer = replying<Hold>(std::move(reply), [](Result<Hold> held, Reply& out) {
    out(held.ok() ? hold_response(held.value()) : error_response(held.status()));
  });
  app.bookings.hold(std::move(req), std::move(answer));
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
    if (auto known = sold_out_reply(app, pool)) return reply(std::move(*known));
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
    app.bookings.pay(std::move(p), replying<Payment>(std::move(reply), [](Result<Payment> paid, Reply& out) {
                       if (!paid.ok()) return out(error_response(paid.status()));
                       HttpResponse resp = json_response(200, payment_json(paid.value()));
                       if (paid->replayed) resp.headers.emplace_back("Idempotent-Replayed", "true");
                       out(std::move(resp));
                     }));
  });

  r.add("DELETE", "/api/reservations/{id}", [&app](const HttpRequest& req, Reply reply) {
    auto id = parse_id(req.params[0], "reservation id");
    if (!id.ok()) return reply(error_response(id.status()));
    auto user_param = req.query_param("userId");
    if (!user_param) return reply(error_response(Status::Invalid("userId query parameter is required")));
    auto user = parse_id(*user_param, "userId");
    if (!user.ok()) return reply(error_response(user.status()));
    app.bookings.cancel({id.value(), user.value()},
                        replying<Cancellation>(std::move(reply), [](Result<Cancellation> c, Reply& out) {
                          out(c.ok() ? json_response(200, cancellation_json(c.value())) : error_response(c.status()));
                        }));
  });
}

}  // namespace resv
