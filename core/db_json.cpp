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
  if (j["ok"].get<bool>()) return j;
  std::string name = j.value("code", "");
  auto code = code_from_name(name);
  if (!code) return Status::Internal("unknown database error code " + name);
  std::string message = j.value("message", name);
  json extra = j;
  for (const char* k : {"ok", "code", "message", "replayed"}) extra.erase(k);
  return Status::Error(*code, std::move(message), extra.empty() ? std::string() : extra.dump());
}

}  // namespace

Status status_from_db_json(std::string_view text) {
  auto r = parse(text);
  return r.ok() ? Status::Internal("expected a failure, got success") : r.status();
}

Result<Hold> hold_from_db_json(std::string_view text) {
  auto r = parse(text);
  if (!r.ok()) return r.status();
  const json& j = r.value();
  return Hold{j.at("reservationId").get<int64_t>(), j.at("status").get<std::string>(),
              j.at("expiresAt").get<std::string>(), j.at("amount").get<int64_t>(), j.value("replayed", false)};
}

Result<Payment> payment_from_db_json(std::string_view text) {
  auto r = parse(text);
  if (!r.ok()) return r.status();
  const json& j = r.value();
  return Payment{j.at("reservationId").get<int64_t>(), j.at("paymentId").get<int64_t>(),
                 j.at("amount").get<int64_t>(),        j.at("balance").get<int64_t>(),
                 j.at("status").get<std::string>(),    j.value("replayed", false)};
}

Result<Cancellation> cancellation_from_db_json(std::string_view text) {
  auto r = parse(text);
  if (!r.ok()) return r.status();
  const json& j = r.value();
  return Cancellation{j.at("reservationId").get<int64_t>(), j.at("status").get<std::string>(),
                      j.at("refunded").get<int64_t>()};
}

Result<Balance> balance_from_db_json(std::string_view text) {
  auto r = parse(text);
  if (!r.ok()) return r.status();
  const json& j = r.value();
  return Balance{j.at("userId").get<int64_t>(), j.at("balance").get<int64_t>()};
}

}  // namespace resv
