#pragma once
// What the relay sends for one outbox row: the topic of its aggregate, the
// aggregate id as key (one reservation's events stay in order on one
// partition), headers naming the event, and the message body (schema in
// resv(1), EVENTS). Pure: no broker, no database.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace resv {

inline constexpr int kEventSchemaVersion = 1;

// An outbox row as resv_outbox_next returns it: a view of the row's text,
// which must outlive it (the relay turns each row into its message at once).
struct OutboxEvent {
  int64_t id = 0;
  std::string_view aggregate_type;  // "reservation", "user"
  int64_t aggregate_id = 0;
  std::string_view event_type;   // "ReservationHeld", ...
  std::string_view occurred_at;  // "2026-12-02T05:00:00.123Z" (its transaction's start)
  std::string_view payload;      // JSON object, as the write path wrote it
};

// The message value, schema version 1:
//   {"eventId":42,"type":"ReservationConfirmed","schemaVersion":1,
//    "aggregateType":"reservation","aggregateId":17,
//    "occurredAt":"2026-12-02T05:00:00.123Z","data":{...the payload...}}
std::string event_body(const OutboxEvent& e);

// One message: views of the text of the MessageBatch it belongs to.
struct EventMessage {
  int64_t id = 0;  // the outbox row's id (header event-id; consumers dedupe by it)
  std::string_view topic;
  std::string_view key;
  std::string_view value;
  std::string_view event_type;  // header event-type; header schema-version is kEventSchemaVersion
};

// A page of messages and the one buffer of text they view: a page costs
// the relay two allocations, not several strings per message.
class MessageBatch {
 public:
  // Appends the message of `e`: topic "<prefix><aggregate type>s"
  // (resv.reservations, resv.users), key its aggregate id, value
  // event_body(e).
  void add(const OutboxEvent& e, std::string_view topic_prefix);
  // In the order added; valid while the batch lives (moved or not), until
  // the next add.
  const std::vector<EventMessage>& messages() const { return messages_; }

 private:
  struct Place {
    size_t at;
    size_t size;
  };
  std::string text_;
  std::vector<EventMessage> messages_;
  std::vector<std::array<Place, 4>> places_;  // of topic, key, value and event type in text_
  std::string_view view(Place p) const { return {text_.data() + p.at, p.size}; }
};

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
