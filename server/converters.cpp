#include "server/converters.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>

#include "base/flat_json.h"
#include "base/checksum.h"

namespace resv {
namespace {

using nlohmann::json;

// Every request body of the API is a flat object of integers and arrays of
// integers: read without a json tree (base/flat_json.h).
Result<FlatObject> parse_object(std::string_view body) {
  if (body.empty()) return Status::Invalid("the request body is empty; send a JSON object");
  FlatObject r;
  switch (r.read(body)) {
    case FlatObject::Read::Object:
      return r;
    case FlatObject::Read::OtherValue:
      return Status::Invalid("the request body must be a JSON object");
    case FlatObject::Read::Malformed:
      break;
  }
  return Status::Invalid("the request body is not valid JSON");
}

// A required positive integer field.
Result<int64_t> positive_int(const FlatObject& j, const char* field) {
  const FlatMember* m = j.find(field);
  if (!m) return Status::Invalid(std::string(field) + " is required");
  if (m->kind == FlatMember::Kind::TooLarge) return Status::Invalid(std::string(field) + " is too large");
  if (m->kind != FlatMember::Kind::Int) return Status::Invalid(std::string(field) + " must be an integer");
  if (m->integer <= 0) return Status::Invalid(std::string(field) + " must be a positive integer");
  return m->integer;
}

}  // namespace

Result<ReservationRequest> parse_reservation(std::string_view body) {
  auto parsed = parse_object(body);
  if (!parsed.ok()) return parsed.status();
  const FlatObject& j = parsed.value();
  auto user = positive_int(j, "userId");
  if (!user.ok()) return user.status();
  auto schedule = positive_int(j, "scheduleId");
  if (!schedule.ok()) return schedule.status();
  const FlatMember* seats = j.find("seatIds");
  if ((seats != nullptr) == (j.find("poolId") != nullptr))
    return Status::Invalid("send either seatIds, or poolId with quantity");
  if (seats) {
    if (seats->kind != FlatMember::Kind::IntArray) return Status::Invalid("seatIds must be an array of seat ids");
    bool positive = std::all_of(seats->elements.begin(), seats->elements.end(), [](int64_t id) { return id > 0; });
    if (seats->bad_element || !positive) return Status::Invalid("seatIds must hold positive integers");
    return ReservationRequest{HoldSeatsRequest{user.value(), schedule.value(), seats->elements, {}, {}}};
  }
  auto pool = positive_int(j, "poolId");
  if (!pool.ok()) return pool.status();
  auto qty = positive_int(j, "quantity");
  if (!qty.ok()) return qty.status();
  return ReservationRequest{HoldPoolRequest{user.value(), schedule.value(), pool.value(), qty.value(), {}, {}}};
}

Result<QueueTokenRequest> parse_queue_token_request(std::string_view body) {
  auto parsed = parse_object(body);
  if (!parsed.ok()) return parsed.status();
  auto user = positive_int(parsed.value(), "userId");
  if (!user.ok()) return user.status();
  auto concert = positive_int(parsed.value(), "concertId");
  if (!concert.ok()) return concert.status();
  return QueueTokenRequest{user.value(), concert.value()};
}

std::string bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size() || authorization[scheme.size()] != ' ') return "";
  for (size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return "";
  authorization.remove_prefix(scheme.size());
  while (!authorization.empty() && authorization.front() == ' ') authorization.remove_prefix(1);
  return std::string(authorization);
}

std::string issued_token_json(const IssuedToken& t) {
  return json{{"token", t.token},
              {"concertId", t.concert_id},
              {"userId", t.user_id},
              {"position", t.position > 0 ? json(t.position) : json(nullptr)},
              {"status", token_state_name(t.state)}}
      .dump();
}

std::string token_status_json(const QueueTokenClaims& c, const TokenStatus& s) {
  auto time_or_null = [](const std::optional<SysTime>& t) { return t ? json(iso_utc(*t)) : json(nullptr); };
  return json{{"status", token_state_name(s.state)},
              {"position", s.position > 0 ? json(s.position) : json(nullptr)},
              {"ahead", s.ahead},
              {"etaSeconds", s.eta_s ? json(static_cast<int64_t>(std::llround(*s.eta_s))) : json(nullptr)},
              {"concertId", c.concert_id},
              {"userId", c.user_id},
              {"expiresAt", time_or_null(s.state == TokenState::Active ? s.expires_at : std::nullopt)},
              {"opensAt", time_or_null(s.opens_at)}}
      .dump();
}

Result<int64_t> parse_user_id_body(std::string_view body) {
  auto parsed = parse_object(body);
  if (!parsed.ok()) return parsed.status();
  return positive_int(parsed.value(), "userId");
}

Result<int64_t> parse_amount_body(std::string_view body) {
  auto parsed = parse_object(body);
  if (!parsed.ok()) return parsed.status();
  return positive_int(parsed.value(), "amount");
}

Result<int64_t> parse_id(std::string_view text, std::string_view what) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v <= 0)
    return Status::Invalid(std::string(what) + " must be a positive integer, got '" +
                           std::string(text.substr(0, 32)) + "'");
  return v;
}

std::string request_hash(std::string_view method, std::string_view path, std::string_view body) {
  json j = json::parse(body, nullptr, false);
  std::string canonical = j.is_discarded() ? std::string(body) : j.dump();
  return checksum_hex(std::string(method) + ' ' + std::string(path) + '\n' + canonical);
}

namespace {

// `s` as a JSON string. Plain ASCII, as every message the server writes
// itself, is copied as is; anything else goes through nlohmann, which also
// replaces invalid UTF-8 (a message may quote a client's bytes).
void append_json_string(std::string& out, std::string_view s) {
  bool plain = std::all_of(s.begin(), s.end(),
                           [](unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; });
  if (!plain) {
    out += json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

}  // namespace

// Written out rather than built as a json tree: every error answer passes
// here, thousands per second at a sell-out, and the tree cost ~45
// allocations per answer where this needs one.
Result<WarmRequest> parse_warm_request(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return Status::Invalid("the body must be a JSON object: {\"concertIds\": [1], \"windowSeconds\": 900}");
  WarmRequest r;
  const auto ids = j.find("concertIds");
  if (ids == j.end() || !ids->is_array() || ids->empty() || ids->size() > 1000)
    return Status::Invalid("concertIds must be an array of 1 to 1000 concert ids");
  for (const auto& id : *ids) {
    if (!id.is_number_integer() || id.get<int64_t>() <= 0)
      return Status::Invalid("concertIds must hold positive integers, not " + id.dump());
    r.concerts.push_back(id.get<int64_t>());
  }
  if (auto w = j.find("windowSeconds"); w != j.end()) {
    if (!w->is_number_integer() || w->get<int64_t>() < 1 || w->get<int64_t>() > 7 * 86400)
      return Status::Invalid("windowSeconds must be an integer from 1 to 604800");
    r.window = std::chrono::seconds(w->get<int64_t>());
  }
  return r;
}

std::string error_json(const Status& s) {
  const std::string& d = s.details_json();
  std::string out;
  out.reserve(48 + s.message().size() + d.size());
  out += R"({"error":{"code":")";
  out += code_name(s.code());
  out += R"(","message":)";
  append_json_string(out, s.message());
  if (d.size() > 2 && d.front() == '{' && d.back() == '}') {  // its members join the error object
    out += ',';
    out.append(d, 1, d.size() - 2);
  }
  out += "}}";
  return out;
}

static json concert_obj(const Concert& c) { return {{"id", c.id}, {"name", c.name}, {"venue", c.venue}}; }

std::string concerts_json(const std::vector<Concert>& concerts) {
  json arr = json::array();
  for (const auto& c : concerts) arr.push_back(concert_obj(c));
  return json{{"concerts", arr}}.dump();
}

std::string concert_json(const Concert& c) { return concert_obj(c).dump(); }

std::string schedules_json(int64_t concert_id, const std::vector<Schedule>& schedules) {
  json arr = json::array();
  for (const auto& s : schedules) {
    json pools = json::array();
    for (const auto& p : s.pools)
      pools.push_back({{"id", p.id},
                       {"name", p.name},
                       {"kind", p.kind},
                       {"capacity", p.capacity},
                       {"available", p.available},
                       {"price", p.price},
                       {"minParty", p.min_party},
                       {"maxParty", p.max_party},
                       {"maxPerUser", p.max_per_user}});
    arr.push_back({{"id", s.id},
                   {"concertId", s.concert_id},
                   {"startsAt", s.starts_at},
                   {"salesOpenAt", s.sales_open_at},
                   {"totalSeats", s.total_seats},
                   {"availableSeats", s.available_seats},
                   {"pools", pools}});
  }
  return json{{"concertId", concert_id}, {"schedules", arr}}.dump();
}

// Written out (keys in the order a json tree sorts them): a seat map of
// 100,000 seats took ~200 ms as a tree, and the warmer renders every seat map
// of a warm concert again and again.
std::string seats_json(int64_t schedule_id, const std::vector<Seat>& seats) {
  std::string out;
  out.reserve(40 + seats.size() * 80);
  out += R"({"scheduleId":)";
  out += std::to_string(schedule_id);
  out += R"(,"seats":[)";
  for (size_t i = 0; i < seats.size(); ++i) {
    const Seat& s = seats[i];
    out += i ? R"(,{"grade":)" : R"({"grade":)";
    append_json_string(out, s.grade);
    out += R"(,"id":)";
    out += std::to_string(s.id);
    out += R"(,"label":)";
    append_json_string(out, s.label);
    out += R"(,"price":)";
    out += std::to_string(s.price);
    out += R"(,"status":)";
    append_json_string(out, s.status);
    out += '}';
  }
  out += "]}";
  return out;
}

// Written out (keys in the order a json tree sorts them) for the same
// reason as error_json: every successful hold is answered with it.
std::string hold_json(const Hold& h) {
  std::string out;
  out.reserve(96 + h.status.size() + h.expires_at.size());
  out += R"({"amount":)";
  out += std::to_string(h.amount);
  out += R"(,"expiresAt":)";
  append_json_string(out, h.expires_at);
  out += R"(,"reservationId":)";
  out += std::to_string(h.reservation_id);
  out += R"(,"status":)";
  append_json_string(out, h.status);
  out += '}';
  return out;
}

std::string payment_json(const Payment& p) {
  return json{{"reservationId", p.reservation_id}, {"status", p.status}, {"paymentId", p.payment_id},
              {"amount", p.amount},                {"balance", p.balance}}
      .dump();
}

std::string cancellation_json(const Cancellation& c) {
  return json{{"reservationId", c.reservation_id}, {"status", c.status}, {"refunded", c.refunded}}.dump();
}

std::string balance_json(const Balance& b) { return json{{"userId", b.user_id}, {"balance", b.balance}}.dump(); }

}  // namespace resv
