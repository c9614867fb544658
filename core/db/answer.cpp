#include "db/answer.h"

#include <string>
#include <utility>

namespace resv {

using nlohmann::json;

Result<json> parse_db_answer(std::string_view text) {
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

Status status_from_db_json(std::string_view text) {
  auto r = parse_db_answer(text);
  return r.ok() ? Status::Internal("expected a failure, got success") : r.status();
}

}  // namespace resv
