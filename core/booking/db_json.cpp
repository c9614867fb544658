#include "booking/db_json.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

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

// The top-level scalars of an answer, read with nlohmann's SAX parser. A
// successful hold's answer is read at every hold, and as a json tree it cost
// about 20 allocations. read() is false for malformed text, a non-object,
// and an object with an object or array in it: those, and failures, are
// read as a tree, whose errors name what is wrong.
class FlatAnswer {
 public:
  bool read(std::string_view text) {
    members_.reserve(8);
    return json::sax_parse(text, this) && object_ && flat_;
  }
  const json* get(std::string_view key) const {
    for (auto it = members_.rbegin(); it != members_.rend(); ++it)
      if (it->first == key) return &it->second;
    return nullptr;
  }
  std::optional<int64_t> integer(std::string_view key) const {
    const json* v = get(key);
    if (!v || !v->is_number_integer() || (v->is_number_unsigned() && v->get<uint64_t>() > INT64_MAX))
      return std::nullopt;
    return v->get<int64_t>();
  }
  const std::string* string(std::string_view key) const {
    const json* v = get(key);
    return v && v->is_string() ? v->get_ptr<const std::string*>() : nullptr;
  }

  // SAX events: scalars directly in the object are kept as json scalars,
  // which hold a number or a bool without allocating.
  bool null() { return add(nullptr); }
  bool boolean(bool b) { return add(b); }
  bool number_integer(int64_t v) { return add(v); }
  bool number_unsigned(uint64_t v) { return add(v); }
  bool number_float(double v, const std::string&) { return add(v); }
  bool string(std::string& v) { return add(std::move(v)); }
  bool binary(json::binary_t&) { return add(nullptr); }
  bool start_object(size_t) { return nest(true); }
  bool start_array(size_t) { return nest(false); }
  bool end_object() { return --depth_, true; }
  bool end_array() { return --depth_, true; }
  bool key(std::string& k) { return key_ = std::move(k), true; }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  bool add(json v) {
    if (depth_ == 1) members_.emplace_back(std::move(key_), std::move(v));
    return true;
  }
  bool nest(bool is_object) {
    if (depth_ == 0) object_ = is_object;
    else flat_ = false;
    ++depth_;
    return true;
  }
  std::vector<std::pair<std::string, json>> members_;
  std::string key_;
  int depth_ = 0;
  bool object_ = false, flat_ = true;
};

}  // namespace

Result<Hold> hold_from_db_json(std::string_view text) {
  FlatAnswer a;
  if (a.read(text) && a.get("ok") && *a.get("ok") == true) {
    auto id = a.integer("reservationId"), amount = a.integer("amount");
    const std::string *status = a.string("status"), *expires = a.string("expiresAt");
    const json* replayed = a.get("replayed");
    if (id && amount && status && expires && (!replayed || replayed->is_boolean()))
      return Hold{*id, *status, *expires, *amount, replayed && *replayed == true};
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
