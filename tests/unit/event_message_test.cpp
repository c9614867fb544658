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

TEST(EventMessage, TopicPerAggregateKeyedByTheAggregateIdWithNamingHeaders) {
  auto m = to_message(confirmed(), "resv.");
  EXPECT_EQ(m.id, 42);
  EXPECT_EQ(m.topic, "resv.reservations");
  EXPECT_EQ(m.key, "17");
  EXPECT_EQ(m.headers, (std::vector<std::pair<std::string, std::string>>{
                           {"event-id", "42"}, {"event-type", "ReservationConfirmed"}, {"schema-version", "1"}}));
  EXPECT_EQ(to_message({1, "user", 5, "BalanceToppedUp", "", "{}"}, "shop.").topic, "shop.users");
}

TEST(EventMessage, TheBodyIsSchemaVersionOneWithThePayloadAsData) {
  auto body = nlohmann::json::parse(to_message(confirmed(), "resv.").value);
  EXPECT_EQ(body, nlohmann::json::parse(R"({"eventId": 42, "type": "ReservationConfirmed", "schemaVersion": 1,
      "aggregateType": "reservation", "aggregateId": 17, "occurredAt": "2026-12-02T05:00:00.123Z",
      "data": {"amount": 1000, "reservationId": 17}})"));
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
