#include "events/event_message.h"

#include <nlohmann/json.hpp>

namespace resv {

std::string event_topic(std::string_view prefix, std::string_view aggregate_type) {
  std::string t(prefix);
  t += aggregate_type;
  t += 's';
  return t;
}

std::string event_body(const OutboxEvent& e) {
  // Two short strings to quote; the payload is JSON already.
  std::string b;
  b.reserve(120 + e.payload.size());
  b += "{\"eventId\":";
  b += std::to_string(e.id);
  b += ",\"type\":";
  b += nlohmann::json(e.event_type).dump();
  b += ",\"schemaVersion\":";
  b += std::to_string(kEventSchemaVersion);
  b += ",\"aggregateType\":";
  b += nlohmann::json(e.aggregate_type).dump();
  b += ",\"aggregateId\":";
  b += std::to_string(e.aggregate_id);
  b += ",\"occurredAt\":";
  b += nlohmann::json(e.occurred_at).dump();
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
