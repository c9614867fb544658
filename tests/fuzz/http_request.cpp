// Fuzz target: the server's request path without sockets. Raw bytes go to
// Beast's request parser with the server's limits (Session::read() in
// server/http_server.cpp), pipelined requests one after the other as a
// connection reads them; each parsed request becomes an HttpRequest as in
// Session::on_request and goes to a Router holding every route the server
// registers (server/routes_*.cpp, both listeners), whose stub handlers run
// the converters the real handler runs on it. The answer's head is rendered
// with response_head. A converter that throws is a defect (the router would
// turn it into a 500): the stubs abort on it.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <optional>
#include <spdlog/spdlog.h>
#include <string>
#include <string_view>
#include <variant>

#include "booking/validation.h"
#include "queue/token.h"
#include "server/beast_request.h"
#include "server/converters.h"
#include "server/errors.h"
#include "server/http.h"
#include "server/http_server.h"
#include "server/router.h"

namespace beast = boost::beast;
namespace http = beast::http;
using namespace resv;

namespace {

constexpr std::string_view kSecret = "fuzz-queue-secret";
constexpr std::string_view kAdminToken = "fuzz-admin-token";

HttpResponse ok(std::string body) {
  HttpResponse r;
  r.body = std::move(body);
  return r;
}

// A handler running `f`, which answers with what the real handler would
// answer before it asks the database.
Handler stub(std::function<HttpResponse(const HttpRequest&)> f) {
  return [f = std::move(f)](const HttpRequest& req, Reply reply) {
    HttpResponse resp;
    try {
      resp = f(req);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "a converter threw on %s %s: %s\n", req.method.c_str(), req.path.c_str(), e.what());
      std::abort();
    }
    reply(std::move(resp));
  };
}

// routes_reservations.cpp queue_gate(), without the QueueView: the token's
// signature and user.
Status queue_gate(const HttpRequest& req, int64_t user_id) {
  std::string token = req.header("queue-token");
  if (token.empty()) return Status::Ok();
  auto claims = verify_queue_token(token, kSecret);
  if (!claims) return Status::Error(ErrorCode::QueueTokenInvalid, "the Queue-Token is malformed");
  if (claims->user_id != user_id) return Status::Error(ErrorCode::QueueTokenInvalid, "another user's token");
  return Status::Ok();
}

// routes_admin.cpp authorize().
Status authorize(const HttpRequest& req) {
  if (bearer_token(req.header("authorization")) != kAdminToken)
    return Status::Error(ErrorCode::Unauthorized, "missing or wrong bearer token");
  return Status::Ok();
}

void add_api_routes(Router& r) {
  // routes_catalog.cpp
  r.add("GET", "/api/concerts", stub([](const HttpRequest&) { return ok("{}"); }));
  r.add("GET", "/api/concerts/{id}", stub([](const HttpRequest& req) {
          auto id = parse_id(req.params.at(0), "concert id");
          return id.ok() ? ok("{}") : error_response(id.status());
        }));
  r.add("GET", "/api/concerts/{id}/schedules", stub([](const HttpRequest& req) {
          auto id = parse_id(req.params.at(0), "concert id");
          return id.ok() ? ok("{}") : error_response(id.status());
        }));
  r.add("GET", "/api/schedules/{id}/seats", stub([](const HttpRequest& req) {
          auto id = parse_id(req.params.at(0), "schedule id");
          if (!id.ok()) return error_response(id.status());
          auto status = req.query_param("status");
          if (status && *status != "available") return error_response(Status::Invalid("status may only be 'available'"));
          return ok("{}");
        }));
  // routes_reservations.cpp
  r.add("POST", "/api/reservations", stub([](const HttpRequest& req) {
          auto parsed = parse_reservation(req.body);
          if (!parsed.ok()) return error_response(parsed.status());
          std::string key = req.header("idempotency-key");
          std::string hash = key.empty() ? "" : request_hash(req.method, req.path, req.body);
          int64_t user = 0;
          Status s;
          if (auto* seats = std::get_if<HoldSeatsRequest>(&parsed.value())) {
            seats->idempotency_key = key;
            seats->request_hash = hash;
            s = validate(*seats);
            user = seats->user_id;
          } else {
            auto& pool = std::get<HoldPoolRequest>(parsed.value());
            pool.idempotency_key = key;
            pool.request_hash = hash;
            s = validate(pool);
            user = pool.user_id;
          }
          if (!s.ok()) return error_response(s);
          if (auto gate = queue_gate(req, user); !gate.ok()) return error_response(gate);
          return ok("{}");
        }));
  r.add("POST", "/api/reservations/{id}/payment", stub([](const HttpRequest& req) {
          auto id = parse_id(req.params.at(0), "reservation id");
          if (!id.ok()) return error_response(id.status());
          auto user = parse_user_id_body(req.body);
          if (!user.ok()) return error_response(user.status());
          PaymentRequest p{id.value(), user.value(), req.header("idempotency-key"), {}, 0};
          if (auto s = validate_idempotency_key(p.idempotency_key); !s.ok()) return error_response(s);
          if (!p.idempotency_key.empty()) p.request_hash = request_hash(req.method, req.path, req.body);
          if (auto gate = queue_gate(req, p.user_id); !gate.ok()) return error_response(gate);
          return ok("{}");
        }));
  r.add("DELETE", "/api/reservations/{id}", stub([](const HttpRequest& req) {
          auto id = parse_id(req.params.at(0), "reservation id");
          if (!id.ok()) return error_response(id.status());
          auto user_param = req.query_param("userId");
          if (!user_param) return error_response(Status::Invalid("userId query parameter is required"));
          auto user = parse_id(*user_param, "userId");
          if (!user.ok()) return error_response(user.status());
          return ok("{}");
        }));
  // routes_users.cpp
  r.add("GET", "/api/users/{id}/balance", stub([](const HttpRequest& req) {
          auto id = parse_id(req.params.at(0), "user id");
          return id.ok() ? ok("{}") : error_response(id.status());
        }));
  r.add("POST", "/api/users/{id}/balance", stub([](const HttpRequest& req) {
          auto id = parse_id(req.params.at(0), "user id");
          if (!id.ok()) return error_response(id.status());
          auto amount = parse_amount_body(req.body);
          if (!amount.ok()) return error_response(amount.status());
          TopUpRequest t{id.value(), amount.value(), req.header("idempotency-key"), {}};
          if (auto s = validate(t); !s.ok()) return error_response(s);
          if (!t.idempotency_key.empty()) t.request_hash = request_hash(req.method, req.path, req.body);
          return ok("{}");
        }));
  // routes_queue.cpp
  r.add("POST", "/api/queue/tokens", stub([](const HttpRequest& req) {
          auto parsed = parse_queue_token_request(req.body);
          if (!parsed.ok()) return error_response(parsed.status());
          return ok(sign_queue_token({parsed->concert_id, parsed->user_id, 1}, kSecret));
        }));
  r.add("GET", "/api/queue/tokens/{token}", stub([](const HttpRequest& req) {
          auto claims = verify_queue_token(req.params.at(0), kSecret);
          if (!claims) return error_response(Status::Error(ErrorCode::QueueTokenInvalid, "malformed"));
          return ok("{}");
        }));
}

// routes_admin.cpp
void add_admin_routes(Router& r) {
  r.add("GET", "/healthz", stub([](const HttpRequest&) { return ok(R"({"status":"ok"})"); }));
  r.add("GET", "/readyz", stub([](const HttpRequest&) { return ok("{}"); }));
  r.add("GET", "/metrics", stub([](const HttpRequest& req) {
          auto s = authorize(req);
          return s.ok() ? ok("") : error_response(s);
        }));
  r.add("GET", "/admin/status", stub([](const HttpRequest& req) {
          auto s = authorize(req);
          return s.ok() ? ok("{}") : error_response(s);
        }));
  r.add("POST", "/admin/warmup", stub([](const HttpRequest& req) {
          if (auto s = authorize(req); !s.ok()) return error_response(s);
          auto parsed = parse_warm_request(req.body);
          if (!parsed.ok()) return error_response(parsed.status());
          return ok("{}");
        }));
}

struct Routers {
  MetricsRegistry metrics;
  Router api{metrics, "api", false};
  Router admin{metrics, "admin", false};
  Routers() {
    spdlog::set_level(spdlog::level::off);
    add_api_routes(api);
    add_admin_routes(admin);
  }
};

// Session::on_request, then the answer's head as Session::write renders it.
void on_request(const Routers& routers, http::request<http::string_body>& msg) {
  bool keep_alive = msg.keep_alive();
  unsigned version = msg.version();
  if (!host_header_ok(msg)) {
    auto resp = error_response(Status::Invalid("an HTTP/1.1 request needs exactly one Host header"));
    (void)response_head(resp, version, false, resp.body.size());
    return;
  }
  HttpRequest req = to_http_request(msg);
  req.request_id = "fuzz";
  // Whatever a handler reads, url_decode sees too.
  (void)url_decode(req.query);
  (void)url_decode(req.path);
  for (const Router* router : {&routers.api, &routers.admin}) {
    int replies = 0;
    router->dispatch(req, [&](HttpResponse resp) {
      ++replies;
      const std::string& body = resp.shared_body ? *resp.shared_body : resp.body;
      std::string head = response_head(resp, version, keep_alive, body.size());
      if (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) std::abort();
    });
    if (replies != 1) {
      std::fprintf(stderr, "%d replies to %s %s\n", replies, req.method.c_str(), req.path.c_str());
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Routers routers;
  static const HttpServerOptions limits;  // the server's defaults (--max-body-bytes, --max-header-bytes)
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // One connection: requests parsed one after the other from what remains
  // (pipelining), until the input ends mid-request or a parse error (the
  // server answers it and closes).
  for (int n = 0; n < 8 && !input.empty(); ++n) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(limits.max_body_bytes);
    parser.header_limit(static_cast<uint32_t>(limits.max_header_bytes));
    beast::error_code ec;
    while (!input.empty() && !parser.is_done()) {
      size_t used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
      input.remove_prefix(used);
      if (ec == http::error::need_more) {
        if (used == 0) return 0;  // the server would read more bytes
        ec = {};
        continue;
      }
      if (ec) break;
    }
    if (ec) {
      Status s = ec == http::error::body_limit ? Status::Error(ErrorCode::PayloadTooLarge, "body too large")
                                               : Status::Invalid("malformed HTTP request: " + ec.message());
      auto resp = error_response(s);
      (void)response_head(resp, 11, false, resp.body.size());
      return 0;
    }
    if (!parser.is_done()) return 0;
    if (parser.get().version() == 11)
      (void)beast::iequals(parser.get()[http::field::expect], "100-continue");
    on_request(routers, parser.get());
  }
  return 0;
}
