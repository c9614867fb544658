#include "booking/db_json.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "base/flat_json.h"
#include "db/answer.h"

namespace resv {
namespace {

using nlohmann::json;

// Builds T from a success answer; a missing or mistyped field is Internal.
template <class T, class F>
Result<T> convert(std::string_view text, F&& build) {
  auto r = parse_db_answer(text);
  if (!r.ok()) return r.status();
  try {
    return build(r.value());
  } catch (const json::exception& e) {
    return Status::Internal(std::string("unexpected database answer: ") + e.what());
  }
}

}  // namespace

Result<Hold> hold_from_db_json(std::string_view text) {
  // Read without a json tree: every successful hold is answered with it. A
  // failure, or anything unexpected, is read as a tree, whose errors name
  // what is wrong.
  FlatObject a;
  if (a.read(text) == FlatObject::Read::Object && a.boolean("ok") == true) {
    auto id = a.integer("reservationId"), amount = a.integer("amount");
    const std::string *status = a.string("status"), *expires = a.string("expiresAt");
    const FlatMember* replayed = a.find("replayed");
    if (id && amount && status && expires && (!replayed || replayed->kind == FlatMember::Kind::Bool))
      return Hold{*id, *status, *expires, *amount, replayed && replayed->boolean};
  }
  return convert<Hold>(text, [](const json& j) {
    return Hold{j.at("reservationId").get<int64_t>(), j.at("status").get<std::string>(),
                j.at("expiresAt").get<std::string>(), j.at("amount").get<int64_t>(), j.value("replayed", false)};
  });
}

Result<Payment> payment_from_db_json(std::string_view text) {
  return convert<Payment>(text, [](const json& j) {
    return Payment{j.at("reservationId").get<int64_t>(), j.at("paymentId").get<int64_t>(),
                   j.at("amount").get<int64_t>(),        j.at("balance").get<int64_t>(),
                   j.at("status").get<std::string>(),    j.value("replayed", false)};
  });
}

Result<Cancellation> cancellation_from_db_json(std::string_view text) {
  return convert<Cancellation>(text, [](const json& j) {
    return Cancellation{j.at("reservationId").get<int64_t>(), j.at("status").get<std::string>(),
                        j.at("refunded").get<int64_t>()};
  });
}

Result<Balance> balance_from_db_json(std::string_view text) {
  return convert<Balance>(text, [](const json& j) {
    return Balance{j.at("userId").get<int64_t>(), j.at("balance").get<int64_t>()};
  });
}

}  // namespace resv
