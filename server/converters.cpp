#include "converters.h"

#include <charconv>
#include <cmath>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>

#include "migrations.h"

namespace resv {
namespace {

using nlohmann::json;

Result<json> parse_object(std::string_view body) {
  if (body.empty()) return Status::Invalid("the request body is empty; send a JSON object");
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return Status::Invalid("the request body is not valid JSON");
  if (!j.is_object()) return Status::Invalid("the request body must be a JSON object");
  return j;
}

// A required positive integer field.
Result<int64_t> positive_int(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end()) return Status::Invalid(std::string(field) + " is required");
  if (!it->is_number_integer()) return Status::Invalid(std::string(field) + " must be an integer");
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return Status::Invalid(std::string(field) + " is too large");
  int64_t v = it->get<int64_t>();
  if (v <= 0) return Status::Invalid(std::string(field) + " must be a positive integer");
  return v;
}

}  // namespace

Result<ReservationRequest> parse_reservation(std::string_view body) {
  auto parsed = parse_object(body);
  if (!parsed.ok()) return parsed.status();
  const json& j = parsed.value();
  auto user = positive_int(j, "userId");
  if (!user.ok()) return user.status();
  auto schedule = positive_int(j, "scheduleId");
  if (!schedule.ok()) return schedule.status();
  bool has_seats = j.contains("seatIds"), has_pool = j.contains("poolId");
  if (has_seats == has_pool) return Status::Invalid("send either seatIds, or poolId with quantity");
  if (has_seats) {
    const json& arr = j["seatIds"];
    if (!arr.is_array()) return Status::Invalid("seatIds must be an array of seat ids");
    HoldSeatsRequest r{user.value(), schedule.value(), {}, {}, {}};
    for (const auto& e : arr) {
      if (!e.is_number_integer() || e.get<int64_t>() <= 0)
        return Status::Invalid("seatIds must hold positive integers");
      r.seat_ids.push_back(e.get<int64_t>());
    }
    return ReservationRequest{std::move(r)};
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

std::string iso_utc(SysTime t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
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

std::string error_json(const Status& s) {
  json err = {{"code", std::string(code_name(s.code()))}, {"message", s.message()}};
  if (!s.details_json().empty()) {
    json extra = json::parse(s.details_json(), nullptr, false);
    if (extra.is_object())
      for (auto& [k, v] : extra.items()) err[k] = v;
  }
  return json{{"error", err}}.dump();
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

std::string seats_json(int64_t schedule_id, const std::vector<Seat>& seats) {
  json arr = json::array();
  for (const auto& s : seats)
    arr.push_back({{"id", s.id}, {"label", s.label}, {"grade", s.grade}, {"price", s.price}, {"status", s.status}});
  return json{{"scheduleId", schedule_id}, {"seats", arr}}.dump();
}

std::string hold_json(const Hold& h) {
  return json{{"reservationId", h.reservation_id}, {"status", h.status}, {"expiresAt", h.expires_at},
              {"amount", h.amount}}
      .dump();
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
