#include "server/http.h"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace resv;

HttpRequest with_query(std::string query) {
  HttpRequest r;
  r.method = "GET";
  r.path = "/api/x";
  r.query = std::move(query);
  return r;
}

TEST(UrlDecode, DecodesPercentEscapesInEitherCase) {
  EXPECT_EQ(url_decode("%41%62c"), "Abc");
  EXPECT_EQ(url_decode("a%2fb%2Fc"), "a/b/c");
  EXPECT_EQ(url_decode("J%C3%B6rg"), "J\xc3\xb6rg");
  EXPECT_EQ(url_decode("%00"), std::string(1, '\0'));
  EXPECT_EQ(url_decode("%ff"), std::string(1, '\xff'));
}

TEST(UrlDecode, PlusIsASpaceButAnEncodedPlusIsAPlus) {
  EXPECT_EQ(url_decode("a+b++c"), "a b  c");
  EXPECT_EQ(url_decode("1%2B1"), "1+1");
}

TEST(UrlDecode, EscapeAtTheVeryEndIsDecoded) {
  EXPECT_EQ(url_decode("a%41"), "aA");
  EXPECT_EQ(url_decode("%41"), "A");
}

TEST(UrlDecode, LeavesMalformedPercentSequencesAsTheyAre) {
  for (const char* s : {"%", "%4", "100%", "%zz", "%4g", "%g4", "a%", "%-1", "% 1"}) EXPECT_EQ(url_decode(s), s) << s;
  EXPECT_EQ(url_decode("%%41"), "%A") << "a stray % does not swallow the escape after it";
  EXPECT_EQ(url_decode("%4%41"), "%4A");
}

TEST(UrlDecode, PlainTextAndEmptyAreUnchanged) {
  EXPECT_EQ(url_decode(""), "");
  EXPECT_EQ(url_decode("available=true"), "available=true");
}

TEST(QueryParam, FindsEachParameter) {
  auto r = with_query("available=true&limit=20");
  EXPECT_EQ(r.query_param("available"), "true");
  EXPECT_EQ(r.query_param("limit"), "20");
}

TEST(QueryParam, AbsentParameterIsNullopt) {
  auto r = with_query("available=true");
  EXPECT_EQ(r.query_param("limit"), std::nullopt);
  EXPECT_EQ(r.query_param("avail"), std::nullopt) << "a prefix of a name is not the name";
  EXPECT_EQ(r.query_param("available=true"), std::nullopt);
  EXPECT_EQ(with_query("").query_param("available"), std::nullopt);
}

TEST(QueryParam, EmptyValueIsPresentButEmpty) {
  auto r = with_query("a=&b&c=3");
  EXPECT_EQ(r.query_param("a"), std::string());
  EXPECT_EQ(r.query_param("b"), std::string()) << "a name without '='";
  EXPECT_EQ(r.query_param("c"), "3");
}

TEST(QueryParam, DecodesNamesAndValues) {
  auto r = with_query("name=J%C3%B6rg+M&seat%20ids=1%2C2");
  EXPECT_EQ(r.query_param("name"), "J\xc3\xb6rg M");
  EXPECT_EQ(r.query_param("seat ids"), "1,2");
}

TEST(QueryParam, FirstOccurrenceWins) { EXPECT_EQ(with_query("a=1&a=2").query_param("a"), "1"); }

TEST(QueryParam, ValueMayContainEqualsAndEmptyPartsAreSkipped) {
  auto r = with_query("&&q=a=b&");
  EXPECT_EQ(r.query_param("q"), "a=b");
}

TEST(Header, FindsAHeaderByItsLowerCaseName) {
  HttpRequest r;
  r.headers = {{"content-type", "application/json"}, {"idempotency-key", "k-1"}, {"idempotency-key", "k-2"}};
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("idempotency-key"), "k-1") << "the first of repeated headers";
}

TEST(Header, AbsentHeaderIsEmpty) {
  HttpRequest r;
  EXPECT_EQ(r.header("authorization"), "");
  r.headers = {{"content-type", "text/plain"}};
  EXPECT_EQ(r.header("content"), "");
  EXPECT_EQ(r.header("authorization"), "");
}

TEST(ResponseHead, HasStatusLineHeadersAndLengthAndEndsWithABlankLine) {
  HttpResponse r;
  r.status = 409;
  r.headers = {{"X-Request-Id", "abc-1"}};
  EXPECT_EQ(response_head(r, 11, true, 42),
            "HTTP/1.1 409 Conflict\r\nServer: resv\r\nContent-Type: application/json\r\nX-Request-Id: abc-1\r\n"
            "Content-Length: 42\r\n\r\n");
}

TEST(ResponseHead, ConnectionHeaderOnlyWhereItDiffersFromTheVersionsDefault) {
  HttpResponse r;
  EXPECT_NE(response_head(r, 11, false, 0).find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_EQ(response_head(r, 11, true, 0).find("Connection"), std::string::npos);
  EXPECT_NE(response_head(r, 10, true, 0).find("\r\nConnection: keep-alive\r\n"), std::string::npos);
  EXPECT_EQ(response_head(r, 10, true, 0).rfind("HTTP/1.0 200 OK\r\n", 0), 0u);
}

TEST(ResponseHead, UnknownStatusHasAnEmptyReasonPhrase) {
  HttpResponse r;
  r.status = 418;
  EXPECT_EQ(response_head(r, 11, true, 0).rfind("HTTP/1.1 418 \r\n", 0), 0u);
}

}  // namespace
