// User balance: read and top up.
#include "app.h"
#include "converters.h"
#include "errors.h"
#include "router.h"
#include "validation.h"

namespace resv {

void register_user_routes(Router& r, App& app) {
  r.add("GET", "/api/users/{id}/balance", [&app](const HttpRequest& req, Reply reply) {
    auto id = parse_id(req.params[0], "user id");
    if (!id.ok()) return reply(error_response(id.status()));
    run_db(app, std::move(reply), [id = id.value()](Store& store, Reply& out) {
      auto b = store.balance(id);
      if (!b.ok()) return out(error_response(b.status()));
      out(json_response(200, balance_json(b.value())));
    });
  });

  r.add("POST", "/api/users/{id}/balance", [&app](const HttpRequest& req, Reply reply) {
    auto id = parse_id(req.params[0], "user id");
    if (!id.ok()) return reply(error_response(id.status()));
    auto amount = parse_amount_body(req.body);
    if (!amount.ok()) return reply(error_response(amount.status()));
    TopUpRequest t{id.value(), amount.value(), req.header("idempotency-key"), {}};
    if (auto s = validate(t); !s.ok()) return reply(error_response(s));
    if (!t.idempotency_key.empty()) t.request_hash = request_hash(req.method, req.path, req.body);
    run_db(app, std::move(reply), [t = std::move(t)](Store& store, Reply& out) {
      auto b = store.top_up(t);
      if (!b.ok()) return out(error_response(b.status()));
      out(json_response(200, balance_json(b.value())));
    });
  });
}

}  // namespace resv
