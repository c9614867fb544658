// What the relay sends for an outbox row, and how far past a round's events
// it may move.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "events/event_message.h"

namespace {

using namespace resv;

Delivery ok() { return {true, ""}; }
Delivery failed() { return {false, "Local: Message timed out"}; }

OutboxEvent confirmed() {
  return {42, "reservation", 17, "ReservationConfirmed", "2026-12-02T05:00:00.123Z",
          R"({"amount": 1000, "reservationId": 17})"};
}

TEST(EventMessage, TopicPerAggregateKeyedByTheAggregateIdNamingItsEvent) {
  MessageBatch b;
  b.add(confirmed(), "resv.");
  b.add({1, "user", 5, "BalanceToppedUp", "", "{}"}, "shop.");
  ASSERT_EQ(b.messages().size(), 2u);
  const EventMessage& m = b.messages()[0];
  EXPECT_EQ(m.id, 42);
  EXPECT_EQ(m.topic, "resv.reservations");
  EXPECT_EQ(m.key, "17");
  EXPECT_EQ(m.event_type, "ReservationConfirmed");
  EXPECT_EQ(b.messages()[1].topic, "shop.users");
  EXPECT_EQ(b.messages()[1].key, "5");
}

TEST(EventMessage, TheBodyIsSchemaVersionOneWithThePayloadAsData) {
  MessageBatch b;
  b.add(confirmed(), "resv.");
  auto body = nlohmann::json::parse(b.messages()[0].value);
  EXPECT_EQ(body, nlohmann::json::parse(R"({"eventId": 42, "type": "ReservationConfirmed", "schemaVersion": 1,
      "aggregateType": "reservation", "aggregateId": 17, "occurredAt": "2026-12-02T05:00:00.123Z",
      "data": {"amount": 1000, "reservationId": 17}})"));
  EXPECT_EQ(b.messages()[0].value, event_body(confirmed()));
}

// The messages view one buffer that moves as it grows: every message still
// reads as its own after thousands were added and the batch was moved.
TEST(EventMessage, EveryMessageOfABatchStaysItsOwnAsTheBatchGrowsAndMoves) {
  MessageBatch b;
  for (int64_t id = 1; id <= 5000; ++id) {
    const std::string type = "Type" + std::to_string(id);
    b.add({id, id % 2 ? "reservation" : "user", id * 10, type, "2026-12-02T05:00:00.123Z", R"({"n": 1})"}, "resv.");
  }
  MessageBatch moved = std::move(b);
  ASSERT_EQ(moved.messages().size(), 5000u);
  for (int64_t id = 1; id <= 5000; ++id) {
    const EventMessage& m = moved.messages()[static_cast<size_t>(id - 1)];
    ASSERT_EQ(m.id, id);
    ASSERT_EQ(m.topic, id % 2 ? "resv.reservations" : "resv.users");
    ASSERT_EQ(m.key, std::to_string(id * 10));
    ASSERT_EQ(m.event_type, "Type" + std::to_string(id));
    ASSERT_EQ(nlohmann::json::parse(m.value)["eventId"], id);
  }
}

TEST(EventMessage, NamesAreQuotedAsJsonStrings) {
  OutboxEvent e = confirmed();
  e.event_type = "Odd\"Name\\";
  auto body = nlohmann::json::parse(event_body(e));
  EXPECT_EQ(body["type"], "Odd\"Name\\");
}

TEST(DeliveredPrefix, AFullyDeliveredRoundMovesPastEveryEvent) {
  EXPECT_EQ(delivered_prefix({ok(), ok(), ok()}), 3u);
}

TEST(DeliveredPrefix, StopsAtTheFirstFailureSoThatEverythingAfterItIsSentAgain) {
  EXPECT_EQ(delivered_prefix({ok(), failed(), ok(), ok()}), 1u);
  EXPECT_EQ(delivered_prefix({failed(), ok()}), 0u);
}

TEST(DeliveredPrefix, NoReportsMovesNowhere) { EXPECT_EQ(delivered_prefix({}), 0u); }

}  // namespace
