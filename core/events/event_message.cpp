#include "events/event_message.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace resv {

std::string event_topic(std::string_view prefix, std::string_view aggregate_type) {
  std::string t(prefix);
  t += aggregate_type;
  t += 's';
  return t;
}

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

}  // namespace

std::string event_body(const OutboxEvent& e) {
  // Three short strings to quote; the payload is JSON already.
  std::string b;
  b.reserve(160 + e.payload.size());
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
  return b;
}

EventMessage to_message(const OutboxEvent& e, std::string_view topic_prefix) {
  EventMessage m;
  m.id = e.id;
  m.topic = event_topic(topic_prefix, e.aggregate_type);
  m.key = std::to_string(e.aggregate_id);
  m.value = event_body(e);
  m.headers = {{"event-id", std::to_string(e.id)},
               {"event-type", e.event_type},
               {"schema-version", std::to_string(kEventSchemaVersion)}};
  return m;
}

size_t delivered_prefix(const std::vector<Delivery>& deliveries) {
  size_t n = 0;
  while (n < deliveries.size() && deliveries[n].delivered) ++n;
  return n;
}

}  // namespace resv
