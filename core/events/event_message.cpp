#include "events/event_message.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace resv {

namespace {

// `s` as a JSON string; names and times need no escaping, and are copied as
// they are, anything else goes through nlohmann's.
void append_quoted(std::string& out, std::string_view s) {
  const bool plain = std::all_of(s.begin(), s.end(), [](char c) {
    return c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x80;
  });
  if (!plain) {
    out += nlohmann::json(std::string(s)).dump();
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

void append_body(std::string& b, const OutboxEvent& e) {
  // Three short strings to quote; the payload is JSON already.
  b += "{\"eventId\":";
  b += std::to_string(e.id);
  b += ",\"type\":";
  append_quoted(b, e.event_type);
  b += ",\"schemaVersion\":";
  b += std::to_string(kEventSchemaVersion);
  b += ",\"aggregateType\":";
  append_quoted(b, e.aggregate_type);
  b += ",\"aggregateId\":";
  b += std::to_string(e.aggregate_id);
  b += ",\"occurredAt\":";
  append_quoted(b, e.occurred_at);
  b += ",\"data\":";
  b += e.payload;
  b += '}';
}

}  // namespace

std::string event_body(const OutboxEvent& e) {
  std::string b;
  append_body(b, e);
  return b;
}

void MessageBatch::add(const OutboxEvent& e, std::string_view topic_prefix) {
  const char* before = text_.data();
  std::array<Place, 4> p{};
  size_t at = text_.size();
  auto placed = [&] {
    Place done{at, text_.size() - at};
    at = text_.size();
    return done;
  };
  text_ += topic_prefix;
  text_ += e.aggregate_type;
  text_ += 's';
  p[0] = placed();
  text_ += std::to_string(e.aggregate_id);
  p[1] = placed();
  append_body(text_, e);
  p[2] = placed();
  text_ += e.event_type;
  p[3] = placed();
  places_.push_back(p);
  messages_.push_back({e.id, {}, {}, {}, {}});
  // The text moved when it grew: every view is set again (as often as it doubles).
  for (size_t i = text_.data() == before ? messages_.size() - 1 : 0; i < messages_.size(); ++i) {
    const auto& q = places_[i];
    messages_[i].topic = view(q[0]);
    messages_[i].key = view(q[1]);
    messages_[i].value = view(q[2]);
    messages_[i].event_type = view(q[3]);
  }
}

size_t delivered_prefix(const std::vector<Delivery>& deliveries) {
  size_t n = 0;
  while (n < deliveries.size() && deliveries[n].delivered) ++n;
  return n;
}

}  // namespace resv
