// Fuzz target: every body converter of server/converters.h, and the flat
// JSON reader they stand on (core/base/flat_json.h), on the same bytes. The
// checks beyond "no crash": the flat reader agrees with nlohmann on what is
// an object, and a converter never throws (bodies come from anyone).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "base/flat_json.h"
#include "server/converters.h"
#include "server/errors.h"

using namespace resv;

namespace {

[[noreturn]] void fail(const char* what, std::string_view body) {
  std::fprintf(stderr, "%s on body of %zu bytes\n", what, body.size());
  std::abort();
}

void read_flat(std::string_view body) {
  FlatObject o;
  FlatObject::Read r = o.read(body);
  // The flat reader must accept exactly what a JSON parser accepts.
  bool valid = nlohmann::json::accept(body);
  if ((r != FlatObject::Read::Malformed) != valid) fail("flat_json and nlohmann disagree on validity", body);
  if (r == FlatObject::Read::Object) {
    auto tree = nlohmann::json::parse(body);
    if (!tree.is_object()) fail("flat_json read an object nlohmann does not", body);
    for (const auto& m : o.members()) {
      (void)o.find(m.key);
      (void)o.integer(m.key);
      (void)o.string(m.key);
      (void)o.boolean(m.key);
      // The last duplicate wins, as in a json tree.
      const FlatMember* last = o.find(m.key);
      auto it = tree.find(m.key);
      if (it == tree.end()) fail("a member nlohmann does not have", body);
      if (last->kind == FlatMember::Kind::Int && !(it->is_number_integer() && it->get<int64_t>() == last->integer))
        fail("an integer member nlohmann reads differently", body);
      if (last->kind == FlatMember::Kind::String && !(it->is_string() && it->get<std::string>() == last->text))
        fail("a string member nlohmann reads differently", body);
    }
  } else if (r == FlatObject::Read::OtherValue) {
    if (nlohmann::json::parse(body).is_object()) fail("flat_json missed an object", body);
  }
  if (auto elements = json_array_elements(body))
    for (std::string_view e : *elements) {
      FlatObject inner;
      (void)inner.read(e);
    }
}

void convert(std::string_view body) {
  if (auto r = parse_reservation(body); r.ok()) {
    if (auto* seats = std::get_if<HoldSeatsRequest>(&r.value())) {
      if (seats->user_id <= 0 || seats->schedule_id <= 0) fail("parse_reservation accepted a non-positive id", body);
    } else {
      auto& pool = std::get<HoldPoolRequest>(r.value());
      if (pool.quantity <= 0 || pool.pool_id <= 0) fail("parse_reservation accepted a non-positive pool", body);
    }
  } else {
    (void)error_response(r.status());
  }
  if (auto r = parse_user_id_body(body); r.ok() ? r.value() <= 0 : ((void)error_response(r.status()), false))
    fail("parse_user_id_body accepted a non-positive id", body);
  if (auto r = parse_amount_body(body); r.ok() ? r.value() <= 0 : ((void)error_response(r.status()), false))
    fail("parse_amount_body accepted a non-positive amount", body);
  if (auto r = parse_queue_token_request(body); r.ok() && (r->user_id <= 0 || r->concert_id <= 0))
    fail("parse_queue_token_request accepted a non-positive id", body);
  if (auto r = parse_warm_request(body); r.ok()) {
    if (r->concerts.empty() || r->concerts.size() > 1000 || r->window.count() < 1 || r->window.count() > 7 * 86400)
      fail("parse_warm_request accepted out-of-range values", body);
  } else {
    (void)error_response(r.status());
  }
  (void)parse_id(body, "id");
  (void)request_hash("POST", "/api/reservations", body);
  (void)bearer_token(body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    read_flat(body);
    convert(body);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "threw: %s\n", e.what());
    std::abort();
  }
  return 0;
}
