// Concerts, schedules (with availability) and seat maps: cached reads.
#include "server/app.h"
#include "server/converters.h"
#include "server/errors.h"
#include "server/router.h"
#include "server/warmer.h"

namespace resv {

void register_catalog_routes(Router& r, App& app) {
  r.add("GET", "/api/concerts", [&app](const HttpRequest&, Reply reply) {
    serve_cached(app, catalog_key::concerts(), std::move(reply), [](Store& s) -> Result<std::string> {
      auto c = s.concerts();
      if (!c.ok()) return c.status();
      return concerts_json(c.value());
    });
  });

  r.add("GET", "/api/concerts/{id}", [&app](const HttpRequest& req, Reply reply) {
    auto id = parse_id(req.params[0], "concert id");
    if (!id.ok()) return reply(error_response(id.status()));
    serve_cached(app, catalog_key::concert(id.value()), std::move(reply),
                 [id = id.value()](Store& s) -> Result<std::string> {
                   auto c = s.concert(id);
                   if (!c.ok()) return c.status();
                   return concert_json(c.value());
                 });
  });

  r.add("GET", "/api/concerts/{id}/schedules", [&app](const HttpRequest& req, Reply reply) {
    auto id = parse_id(req.params[0], "concert id");
    if (!id.ok()) return reply(error_response(id.status()));
    serve_cached(app, catalog_key::schedules(id.value()), std::move(reply),
                 [id = id.value()](Store& s) -> Result<std::string> {
                   auto list = s.schedules(id);
                   if (!list.ok()) return list.status();
                   return schedules_json(id, list.value());
                 });
  });

  r.add("GET", "/api/schedules/{id}/seats", [&app](const HttpRequest& req, Reply reply) {
    auto id = parse_id(req.params[0], "schedule id");
    if (!id.ok()) return reply(error_response(id.status()));
    auto status = req.query_param("status");
    if (status && *status != "available")
      return reply(error_response(Status::Invalid("status may only be 'available' (or omitted for all seats)")));
    bool available_only = status.has_value();
    serve_cached(app, catalog_key::seats(id.value(), available_only),
                 std::move(reply), [id = id.value(), available_only](Store& s) -> Result<std::string> {
                   auto seats = s.seats(id, available_only);
                   if (!seats.ok()) return seats.status();
                   return seats_json(id, seats.value());
                 });
  });
}

}  // namespace resv
