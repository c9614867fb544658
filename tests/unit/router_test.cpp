#include "server/router.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "server/http.h"

namespace {

using namespace resv;
using nlohmann::json;

HttpRequest request(std::string method, std::string path, std::string request_id = "req-1") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.request_id = std::move(request_id);
  return r;
}

// Every response the router sent for one dispatch.
struct Sent {
  std::vector<HttpResponse> responses;
  Reply reply() {
    return [this](HttpResponse r) { responses.push_back(std::move(r)); };
  }
};

Handler reply_with(int status, std::string body = "{}") {
  return [status, body](const HttpRequest&, Reply reply) {
    HttpResponse r;
    r.status = status;
    r.body = body;
    reply(std::move(r));
  };
}

std::optional<std::string> header_of(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return std::nullopt;
}

std::string error_code_of(const HttpResponse& r) { return json::parse(r.body)["error"]["code"].get<std::string>(); }

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

class RouterTest : public ::testing::Test {
 protected:
  MetricsRegistry metrics;
  Router router{metrics, "api", false};
};

TEST_F(RouterTest, DispatchesByMethodAndPatternAndPassesParams) {
  std::vector<std::string> got;
  router.add("GET", "/api/concerts/{id}/schedules/{sid}", [&](const HttpRequest& req, Reply reply) {
    got = req.params;
    reply(HttpResponse{});
  });
  Sent sent;
  router.dispatch(request("GET", "/api/concerts/5/schedules/9"), sent.reply());
  EXPECT_EQ(got, (std::vector<std::string>{"5", "9"}));
  ASSERT_EQ(sent.responses.size(), 1u);
  EXPECT_EQ(sent.responses[0].status, 200);
}

TEST_F(RouterTest, HandlerSeesTheWholeRequest) {
  HttpRequest seen;
  router.add("POST", "/api/reservations", [&](const HttpRequest& req, Reply reply) {
    seen = req;
    reply(HttpResponse{});
  });
  auto req = request("POST", "/api/reservations", "abc");
  req.body = R"({"userId":1})";
  req.query = "x=1";
  req.headers = {{"idempotency-key", "k"}};
  Sent sent;
  router.dispatch(req, sent.reply());
  EXPECT_EQ(seen.body, R"({"userId":1})");
  EXPECT_EQ(seen.query, "x=1");
  EXPECT_EQ(seen.header("idempotency-key"), "k");
  EXPECT_EQ(seen.request_id, "abc");
  EXPECT_TRUE(seen.params.empty());
}

TEST_F(RouterTest, SamePathIsRoutedByMethod) {
  router.add("GET", "/api/users/{id}/balance", reply_with(200, "get"));
  router.add("POST", "/api/users/{id}/balance", reply_with(201, "post"));
  Sent get, post;
  router.dispatch(request("GET", "/api/users/1/balance"), get.reply());
  router.dispatch(request("POST", "/api/users/1/balance"), post.reply());
  ASSERT_EQ(get.responses.size(), 1u);
  ASSERT_EQ(post.responses.size(), 1u);
  EXPECT_EQ(get.responses[0].body, "get");
  EXPECT_EQ(post.responses[0].body, "post");
  EXPECT_EQ(post.responses[0].status, 201);
}

TEST_F(RouterTest, LiteralSegmentsMustMatchExactlyAndParamsTakeOneSegment) {
  int calls = 0;
  router.add("GET", "/api/concerts/{id}", [&](const HttpRequest&, Reply reply) {
    ++calls;
    reply(HttpResponse{});
  });
  for (const char* path : {"/api/concerts", "/api/concertsX/1", "/api/concerts/1/x", "/API/concerts/1", "/"}) {
    Sent sent;
    router.dispatch(request("GET", path), sent.reply());
    ASSERT_EQ(sent.responses.size(), 1u) << path;
    EXPECT_EQ(sent.responses[0].status, 404) << path;
  }
  EXPECT_EQ(calls, 0);
}

TEST_F(RouterTest, RepeatedAndTrailingSlashesInTheRequestPathStillMatch) {
  std::vector<std::string> seen;
  router.add("GET", "/api/concerts/{id}/schedules", [&](const HttpRequest& req, Reply reply) {
    seen = req.params;
    reply(HttpResponse{});
  });
  Sent sent;
  router.dispatch(request("GET", "//api//concerts/5/schedules/"), sent.reply());
  ASSERT_EQ(sent.responses.size(), 1u);
  EXPECT_EQ(sent.responses[0].status, 200);
  EXPECT_EQ(seen, (std::vector<std::string>{"5"}));
}

TEST_F(RouterTest, UnknownPathIs404NotFound) {
  router.add("GET", "/api/concerts", reply_with(200));
  Sent sent;
  router.dispatch(request("GET", "/api/nothing"), sent.reply());
  ASSERT_EQ(sent.responses.size(), 1u);
  EXPECT_EQ(sent.responses[0].status, 404);
  EXPECT_EQ(error_code_of(sent.responses[0]), "NOT_FOUND");
}

TEST_F(RouterTest, RouterWithoutRoutesAnswers404) {
  Sent sent;
  router.dispatch(request("GET", "/"), sent.reply());
  ASSERT_EQ(sent.responses.size(), 1u);
  EXPECT_EQ(sent.responses[0].status, 404);
}

TEST_F(RouterTest, KnownPathWithAnotherMethodIs405) {
  int calls = 0;
  router.add("GET", "/api/concerts/{id}", [&](const HttpRequest&, Reply reply) {
    ++calls;
    reply(HttpResponse{});
  });
  Sent sent;
  router.dispatch(request("DELETE", "/api/concerts/3"), sent.reply());
  ASSERT_EQ(sent.responses.size(), 1u);
  EXPECT_EQ(sent.responses[0].status, 405);
  EXPECT_EQ(error_code_of(sent.responses[0]), "METHOD_NOT_ALLOWED");
  EXPECT_EQ(header_of(sent.responses[0], "Allow"), "GET, HEAD") << "the methods the path has (RFC 9110, 15.5.6)";
  EXPECT_EQ(calls, 0);
}

TEST_F(RouterTest, TheAllowHeaderListsEveryMethodOfThePath) {
  router.add("POST", "/api/reservations/{id}/payment", reply_with(200));
  router.add("DELETE", "/api/reservations/{id}", reply_with(200));
  router.add("GET", "/api/reservations/{id}", reply_with(200));
  Sent sent;
  router.dispatch(request("PUT", "/api/reservations/3"), sent.reply());
  ASSERT_EQ(sent.responses.size(), 1u);
  EXPECT_EQ(header_of(sent.responses[0], "Allow"), "DELETE, GET, HEAD");
}

TEST_F(RouterTest, HeadIsRoutedToTheGetRouteOfThePath) {
  std::string seen_method;
  router.add("GET", "/api/concerts", [&](const HttpRequest& req, Reply reply) {
    seen_method = req.method;
    reply(HttpResponse{});
  });
  Sent sent;
  router.dispatch(request("HEAD", "/api/concerts"), sent.reply());
  ASSERT_EQ(sent.responses.size(), 1u);
  EXPECT_EQ(sent.responses[0].status, 200);
  EXPECT_EQ(seen_method, "HEAD");
}

TEST_F(RouterTest, ThrowingHandlerStillGetsA500Reply) {
  router.add("GET", "/api/boom", [](const HttpRequest&, Reply) { throw std::runtime_error("defect"); });
  Sent sent;
  EXPECT_NO_THROW(router.dispatch(request("GET", "/api/boom", "rid-42"), sent.reply()));
  ASSERT_EQ(sent.responses.size(), 1u);
  EXPECT_EQ(sent.responses[0].status, 500);
  auto body = json::parse(sent.responses[0].body);
  EXPECT_EQ(body["error"]["code"], "INTERNAL");
  EXPECT_NE(body["error"]["message"].get<std::string>().find("rid-42"), std::string::npos)
      << "the message points at the request in the log";
  EXPECT_EQ(body["error"]["message"].get<std::string>().find("defect"), std::string::npos)
      << "the exception text is not leaked to clients";
  EXPECT_EQ(header_of(sent.responses[0], "X-Request-Id"), "rid-42");
}

TEST_F(RouterTest, HandlerThrowingANonStandardExceptionStillGetsA500Reply) {
  router.add("GET", "/api/boom", [](const HttpRequest&, Reply) { throw 42; });
  Sent sent;
  try {
    router.dispatch(request("GET", "/api/boom"), sent.reply());
  } catch (...) {
    ADD_FAILURE() << "the exception escaped dispatch(): the connection would get no answer";
  }
  ASSERT_EQ(sent.responses.size(), 1u);
  EXPECT_EQ(sent.responses[0].status, 500);
}

TEST_F(RouterTest, HandlerThatRepliesAndThenThrowsRepliesOnlyOnce) {
  // Reply must be called exactly once (http.h); a second write on the
  // connection would overwrite the response being sent.
  router.add("GET", "/api/late-throw", [](const HttpRequest&, Reply reply) {
    reply(HttpResponse{});
    throw std::runtime_error("after the reply");
  });
  Sent sent;
  router.dispatch(request("GET", "/api/late-throw"), sent.reply());
  ASSERT_GE(sent.responses.size(), 1u);
  EXPECT_EQ(sent.responses.size(), 1u) << "replied " << sent.responses.size() << " times";
  EXPECT_EQ(sent.responses[0].status, 200);
}

TEST_F(RouterTest, ReplyMayComeAfterDispatchReturns) {
  Reply saved;
  router.add("GET", "/api/slow", [&](const HttpRequest&, Reply reply) { saved = std::move(reply); });
  Sent sent;
  router.dispatch(request("GET", "/api/slow", "later"), sent.reply());
  EXPECT_TRUE(sent.responses.empty());
  ASSERT_TRUE(saved);
  HttpResponse r;
  r.status = 201;
  saved(std::move(r));
  ASSERT_EQ(sent.responses.size(), 1u);
  EXPECT_EQ(sent.responses[0].status, 201);
  EXPECT_EQ(header_of(sent.responses[0], "X-Request-Id"), "later");
  EXPECT_TRUE(has_line(metrics.render(),
                       R"(resv_http_requests_total{listener="api",route="GET /api/slow",class="2xx"} 1)"));
}

TEST_F(RouterTest, EveryReplyCarriesTheRequestId) {
  router.add("GET", "/api/ok", reply_with(200));
  router.add("GET", "/api/boom", [](const HttpRequest&, Reply) { throw std::runtime_error("x"); });
  const char* paths[][2] = {{"GET", "/api/ok"}, {"GET", "/api/none"}, {"POST", "/api/ok"}, {"GET", "/api/boom"}};
  int n = 0;
  for (const auto& [method, path] : paths) {
    std::string id = "id-" + std::to_string(++n);
    Sent sent;
    router.dispatch(request(method, path, id), sent.reply());
    ASSERT_EQ(sent.responses.size(), 1u) << method << ' ' << path;
    EXPECT_EQ(header_of(sent.responses[0], "X-Request-Id"), id) << method << ' ' << path;
  }
}

TEST_F(RouterTest, CountsRequestsPerRouteAndStatusClass) {
  int status = 200;
  router.add("GET", "/api/concerts/{id}", [&](const HttpRequest&, Reply reply) {
    HttpResponse r;
    r.status = status;
    reply(std::move(r));
  });
  router.add("GET", "/api/boom", [](const HttpRequest&, Reply) { throw std::runtime_error("x"); });
  Sent sent;
  router.dispatch(request("GET", "/api/concerts/1"), sent.reply());
  router.dispatch(request("GET", "/api/concerts/2"), sent.reply());
  status = 404;
  router.dispatch(request("GET", "/api/concerts/3"), sent.reply());
  router.dispatch(request("GET", "/api/boom"), sent.reply());
  router.dispatch(request("GET", "/api/none"), sent.reply());
  router.dispatch(request("PUT", "/api/concerts/1"), sent.reply());
  ASSERT_EQ(sent.responses.size(), 6u);

  auto text = metrics.render();
  const std::string route = R"(listener="api",route="GET /api/concerts/{id}")";
  EXPECT_TRUE(has_line(text, "resv_http_requests_total{" + route + R"(,class="2xx"} 2)")) << text;
  EXPECT_TRUE(has_line(text, "resv_http_requests_total{" + route + R"(,class="4xx"} 1)")) << text;
  EXPECT_TRUE(has_line(text, "resv_http_requests_total{" + route + R"(,class="5xx"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(resv_http_requests_total{listener="api",route="GET /api/boom",class="5xx"} 1)"))
      << text;
  EXPECT_TRUE(has_line(text, R"(resv_http_requests_total{listener="api",route="unmatched",class="4xx"} 2)"))
      << "404 and 405 count as unmatched\n"
      << text;
  EXPECT_TRUE(has_line(text, "resv_http_request_duration_seconds_count{" + route + "} 3")) << text;
}

TEST_F(RouterTest, ListenersHaveSeparateSeries) {
  Router admin(metrics, "admin", false);
  admin.add("GET", "/metrics", reply_with(200));
  router.add("GET", "/metrics", reply_with(200));
  Sent sent;
  admin.dispatch(request("GET", "/metrics"), sent.reply());
  auto text = metrics.render();
  EXPECT_TRUE(has_line(text, R"(resv_http_requests_total{listener="admin",route="GET /metrics",class="2xx"} 1)"))
      << text;
  EXPECT_TRUE(has_line(text, R"(resv_http_requests_total{listener="api",route="GET /metrics",class="2xx"} 0)"))
      << text;
}

TEST(SplitPath, SplitsOnSlashes) {
  EXPECT_EQ(split_path("/a/b/c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(split_path("a/b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(split_path("/api/concerts/{id}"), (std::vector<std::string>{"api", "concerts", "{id}"}));
}

TEST(SplitPath, RootAndEmptyHaveNoSegments) {
  EXPECT_TRUE(split_path("/").empty());
  EXPECT_TRUE(split_path("").empty());
  EXPECT_TRUE(split_path("///").empty());
}

TEST(SplitPath, RepeatedAndTrailingSlashesGiveNoEmptySegments) {
  EXPECT_EQ(split_path("//a//b/"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(split_path("/a/"), (std::vector<std::string>{"a"}));
}

}  // namespace
