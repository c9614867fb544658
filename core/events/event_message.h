#pragma once
// What the relay sends for one outbox row: the topic of its aggregate, the
// aggregate id as key (one reservation's events stay in order on one
// partition), headers naming the event, and the message body (schema in
// resv(1), EVENTS). Pure: no broker, no database.
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
  std::string event_type;   // "ReservationHeld", ...
  std::string occurred_at;  // "2026-12-02T05:00:00.123Z" (its transaction's start)
  std::string payload;      // JSON object, as the write path wrote it
};

// The message value, schema version 1:
//   {"eventId":42,"type":"ReservationConfirmed","schemaVersion":1,
//    "aggregateType":"reservation","aggregateId":17,
//    "occurredAt":"2026-12-02T05:00:00.123Z","data":{...the payload...}}
std::string event_body(const OutboxEvent& e);

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

// How many events at the front of a batch the broker acknowledged: the
// relay moves past those only, and sends the rest again, starting at the
// first failure, so that what is sent again for a key starts there too.
// (The producer's gapless guarantee fails every later message of a
// partition with an earlier one; a later event of another key that was
// delivered is sent twice, which at-least-once allows.)
size_t delivered_prefix(const std::vector<Delivery>& deliveries);

}  // namespace resv
