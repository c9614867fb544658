// What the relay sends for an outbox row, and which rows of a round it may
// mark published.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "events/event_message.h"

namespace {

using namespace resv;

EventMessage msg(int64_t id, std::string topic, std::string key) {
  EventMessage m;
  m.id = id;
  m.topic = std::move(topic);
  m.key = std::move(key);
  return m;
}

Delivery ok() { return {true, ""}; }
Delivery failed() { return {false, "Local: Message timed out"}; }

TEST(EventMessage, TopicPerAggregateKeyedByTheAggregateIdWithNamingHeaders) {
  auto m = to_message({42, "reservation", 17, "ReservationConfirmed", R"({"eventId":42})"}, "resv.");
  EXPECT_EQ(m.id, 42);
  EXPECT_EQ(m.topic, "resv.reservations");
  EXPECT_EQ(m.key, "17");
  EXPECT_EQ(m.value, R"({"eventId":42})") << "the body as the database built it";
  EXPECT_EQ(m.headers, (std::vector<std::pair<std::string, std::string>>{
                           {"event-id", "42"}, {"event-type", "ReservationConfirmed"}, {"schema-version", "1"}}));
  EXPECT_EQ(to_message({1, "user", 5, "BalanceToppedUp", "{}"}, "shop.").topic, "shop.users");
}

TEST(PublishableIds, EveryDeliveredEventOfAFullyDeliveredRound) {
  std::vector<EventMessage> batch{msg(1, "t", "a"), msg(2, "t", "b"), msg(3, "t", "a")};
  EXPECT_EQ(publishable_ids(batch, {ok(), ok(), ok()}), (std::vector<int64_t>{1, 2, 3}));
}

TEST(PublishableIds, AKeysEventsAfterItsFirstFailureWaitForTheResend) {
  std::vector<EventMessage> batch{msg(1, "t", "a"), msg(2, "t", "a"), msg(3, "t", "b"), msg(4, "t", "a")};
  // 1 failed: 2 and 4 (same key, later) are sent again with it, even though
  // the broker acknowledged them; key b is not held back.
  EXPECT_EQ(publishable_ids(batch, {failed(), ok(), ok(), ok()}), (std::vector<int64_t>{3}));
}

TEST(PublishableIds, TheSameKeyOnAnotherTopicIsAnotherSeries) {
  std::vector<EventMessage> batch{msg(1, "resv.reservations", "7"), msg(2, "resv.users", "7")};
  EXPECT_EQ(publishable_ids(batch, {failed(), ok()}), (std::vector<int64_t>{2}));
}

TEST(PublishableIds, AMissingReportCountsAsNotDelivered) {
  std::vector<EventMessage> batch{msg(1, "t", "a"), msg(2, "t", "b")};
  EXPECT_EQ(publishable_ids(batch, {ok()}), (std::vector<int64_t>{1}));
  EXPECT_TRUE(publishable_ids(batch, {}).empty());
}

}  // namespace
