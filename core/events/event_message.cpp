#include "events/event_message.h"

#include <set>
#include <utility>

namespace resv {

std::string event_topic(std::string_view prefix, std::string_view aggregate_type) {
  std::string t(prefix);
  t += aggregate_type;
  t += 's';
  return t;
}

EventMessage to_message(const OutboxEvent& e, std::string_view topic_prefix) {
  EventMessage m;
  m.id = e.id;
  m.topic = event_topic(topic_prefix, e.aggregate_type);
  m.key = std::to_string(e.aggregate_id);
  m.value = e.body;
  m.headers = {{"event-id", std::to_string(e.id)},
               {"event-type", e.event_type},
               {"schema-version", std::to_string(kEventSchemaVersion)}};
  return m;
}

std::vector<int64_t> publishable_ids(const std::vector<EventMessage>& batch, const std::vector<Delivery>& deliveries) {
  std::vector<int64_t> ids;
  std::set<std::pair<std::string, std::string>> failed;  // (topic, key) with a failure so far
  for (size_t i = 0; i < batch.size(); ++i) {
    auto key = std::make_pair(batch[i].topic, batch[i].key);
    const bool delivered = i < deliveries.size() && deliveries[i].delivered;
    if (!delivered)
      failed.insert(std::move(key));
    else if (!failed.count(key))
      ids.push_back(batch[i].id);
  }
  return ids;
}

}  // namespace resv
