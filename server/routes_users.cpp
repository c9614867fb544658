// User balance: read and top up.
#include "booking/validation.h"
#include "server/app.h"
#include "server/converters.h"
#include "server/errors.h"
#include "server/router.h"

namespace resv {
namespace {

void balance_reply(Result<Balance> b, Reply& out) {
  out(b.ok() ? json_response(200, balance_json(b.value())) : error_response(b.status()));
}

}  // namespace

void register_user_routes(Router& r, App& app) {
  r.add("GET", "/api/users/{id}/balance", [&app](const HttpRequest& req, Reply reply) {
    auto id = parse_id(req.params[0], "user id");
    if (!id.ok()) return reply(error_response(id.status()));
    app.bookings.balance({id.value()}, replying<Balance>(std::move(reply), balance_reply));
  });

  r.add("POST", "/api/users/{id}/balance", [&app](const HttpRequest& req, Reply reply) {
    auto id = parse_id(req.params[0], "user id");
    if (!id.ok()) return reply(error_response(id.status()));
    auto amount = parse_amount_body(req.body);
    if (!amount.ok()) return reply(error_response(amount.status()));
    TopUpRequest t{id.value(), amount.value(), req.header("idempotency-key"), {}};
    if (auto s = validate(t); !s.ok()) return reply(error_response(s));
    if (!t.idempotency_key.empty()) t.request_hash = request_hash(req.method, req.path, req.body);
    app.bookings.top_up(std::move(t), replying<Balance>(std::move(reply), balance_reply));
  });
}

}  // namespace resv
