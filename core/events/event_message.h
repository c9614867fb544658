#pragma once
// What the relay sends for one outbox row: the topic of its aggregate, the
// aggregate id as key (one reservation's events stay in order on one
// partition), headers naming the event, and the message body, which the
// database builds (resv_outbox_next in sql/functions/70_events.sql; schema
// in resv(1), EVENTS). Pure: no broker, no database.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace resv {

inline constexpr int kEventSchemaVersion = 1;

// An outbox row as resv_outbox_next returns it.
struct OutboxEvent {
  int64_t id = 0;
  std::string aggregate_type;  // "reservation", "user"
  int64_t aggregate_id = 0;
  std::string event_type;  // "ReservationHeld", ...
  std::string body;        // the message value (JSON)
};

struct EventMessage {
  int64_t id = 0;  // the outbox row's id (header event-id; consumers dedupe by it)
  std::string topic;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;  // event-id, event-type, schema-version
};

// "<prefix><aggregate type>s": resv.reservations, resv.users.
std::string event_topic(std::string_view prefix, std::string_view aggregate_type);

EventMessage to_message(const OutboxEvent& e, std::string_view topic_prefix);

// The broker's answer to one message of a batch.
struct Delivery {
  bool delivered = false;
  std::string error;  // why not, when not delivered
};

// The ids of a batch that may be marked published: delivered, and no
// earlier event of the same topic and key in the batch failed, so that what
// is sent again for a key starts at its first failure. (The producer's
// gapless guarantee fails every later message of a partition with an
// earlier one; this keeps the rule when a broker answers otherwise.)
// `deliveries` is in the order of `batch`.
std::vector<int64_t> publishable_ids(const std::vector<EventMessage>& batch, const std::vector<Delivery>& deliveries);

}  // namespace resv
