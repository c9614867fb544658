// Waiting room: issue a token, and a token's status (from memory).
#include "server/app.h"
#include "server/converters.h"
#include "server/errors.h"
#include "server/router.h"

namespace resv {

void register_queue_routes(Router& r, App& app) {
  r.add("POST", "/api/queue/tokens", [&app](const HttpRequest& req, Reply reply) {
    auto parsed = parse_queue_token_request(req.body);
    if (!parsed.ok()) return reply(error_response(parsed.status()));
    app.issuer.issue(parsed->concert_id, parsed->user_id, [reply = std::move(reply)](Result<IssuedToken> issued) {
      if (!issued.ok()) return reply(error_response(issued.status()));
      reply(json_response(201, issued_token_json(issued.value())));
    });
  });

  // No database round trip: the signature is checked with the shared key
  // and the answer comes from the QueueView.
  r.add("GET", "/api/queue/tokens/{token}", [&app](const HttpRequest& req, Reply reply) {
    auto claims = app.queue.verify(req.params[0]);
    if (!claims)
      return reply(error_response(Status::Error(
          ErrorCode::QueueTokenInvalid,
          "this queue token is malformed or was not issued by this service; ask POST /api/queue/tokens for one")));
    auto status = app.queue.status(*claims, std::chrono::system_clock::now());
    if (!status.ok()) return reply(error_response(status.status()));
    if (status->state == TokenState::Waiting) app.queue.seen(claims->concert_id, claims->user_id);
    reply(json_response(200, token_status_json(*claims, status.value())));
  });
}

}  // namespace resv
