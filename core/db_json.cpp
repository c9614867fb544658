#include "db_json.h"

#include <nlohmann/json.hpp>

namespace resv {
namespace {

using nlohmann::json;

// Parses the answer; returns a Status when it is a failure or malformed.
Result<json> parse(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("ok"))
    return Status::Internal("unexpected database answer: " + std::string(text.substr(0, 200)));
  if (j["ok"] == true) return j;
  if (!j["ok"].is_boolean() || !j.value("code", json()).is_string() || !j.value("message", json("")).is_string())
    return Status::Internal("unexpected database answer: " + std::string(text.substr(0, 200)));
  std::string name = j["code"].get<std::string>();
  auto code = code_from_name(name);
  if (!code || *code == ErrorCode::Ok) return Status::Internal("unknown database error code " + name);
  std::string message = j.value("message", name);
  json extra = j;
  for (const char* k : {"ok", "code", "message", "replayed"}) extra.erase(k);
  return Status::Error(*code, std::move(message), extra.empty() ? std::string() : extra.dump());
}

// Builds T from a success answer; a missing or mistyped field is Internal.
template <class T, class F>
Result<T> convert(std::string_view text, F&& build) {
  auto r = parse(text);
  if (!r.ok()) return r.status();
  try {
    return build(r.value());
  } catch (const json::exception& e) {
    return Status::Internal(std::string("unexpected database answer: ") + e.what());
  }
}

}  // namespace

Status status_from_db_json(std::string_view text) {
  auto r = parse(text);
  return r.ok() ? Status::Internal("expected a failure, got success") : r.status();
}

Result<Hold> hold_from_db_json(std::string_view text) {
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
