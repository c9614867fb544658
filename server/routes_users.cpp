// User balance: read and top up.
#include "booking/db_json.h"
#include "booking/validation.h"
#include "server/app.h"
#include "server/converters.h"
#include "server/errors.h"
#include "server/router.h"

namespace resv {

void register_user_routes(Router& r, App& app) {
  r.add("GET", "/api/users/{id}/balance", [&app](const HttpRequest& req, Reply reply) {
    auto id = parse_id(req.params[0], "user id");
    if (!id.ok()) return reply(error_response(id.status()));
    run_write(app, std::move(reply), "balance", {std::to_string(id.value())}, [](Result<std::string> answer, Reply& out) {
      auto b = answer.ok() ? balance_from_db_json(answer.value()) : Result<Balance>(answer.status());
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
    Params params{std::to_string(t.user_id), std::to_string(t.amount), opt(t.idempotency_key), opt(t.request_hash)};
    run_write(app, std::move(reply), "top_up", std::move(params), [](Result<std::string> answer, Reply& out) {
      auto b = answer.ok() ? balance_from_db_json(answer.value()) : Result<Balance>(answer.status());
      if (!b.ok()) return out(error_response(b.status()));
      out(json_response(200, balance_json(b.value())));
    });
  });
}

}  // namespace resv
