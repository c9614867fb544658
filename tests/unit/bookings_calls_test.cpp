// The one mapping from a write request to its SQL call (booking/bookings.h).
#include "booking/bookings.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace {

using namespace resv;
using Params = std::vector<std::optional<std::string>>;

TEST(DbCall, ASeatHoldRunsAloneWithItsSeatsAsAnArrayAndNullsForWhatItLacks) {
  auto c = db_call(HoldSeatsRequest{7, 3, {12, 11}, {}, {}, 0});
  EXPECT_STREQ(c.statement, "hold_seats");
  EXPECT_EQ(c.params, (Params{"7", "3", "{12,11}", std::nullopt, std::nullopt, std::nullopt}));
  EXPECT_EQ(c.group, 0);
  EXPECT_FALSE(c.batch.has_value());
}

TEST(DbCall, APoolHoldWaitsInItsPoolsLineAndBatchesWithTheSameSchedulesAndPool) {
  auto c = db_call(HoldPoolRequest{7, 3, 5, 2, "key \"1\"", "hash", 9});
  EXPECT_STREQ(c.statement, "hold_pool");
  EXPECT_EQ(c.params, (Params{"7", "3", "5", "2", "key \"1\"", "hash", "9"}));
  EXPECT_EQ(c.group, 5);
  ASSERT_TRUE(c.batch.has_value());
  EXPECT_EQ(c.batch->statement, "hold_pool_batch");
  EXPECT_EQ(c.batch->shared, (Params{"3", "5"}));
  EXPECT_EQ(nlohmann::json::parse(c.batch->item),
            (nlohmann::json{{"userId", 7}, {"quantity", 2}, {"key", "key \"1\""}, {"hash", "hash"}, {"tokenConcert", 9}}));
}

TEST(DbCall, APoolHoldWithoutKeyOrTokenHasOnlyUserAndQuantityInItsBatchItem) {
  auto c = db_call(HoldPoolRequest{7, 3, 5, 1, {}, {}, 0});
  EXPECT_EQ(c.params, (Params{"7", "3", "5", "1", std::nullopt, std::nullopt, std::nullopt}));
  EXPECT_EQ(nlohmann::json::parse(c.batch->item), (nlohmann::json{{"userId", 7}, {"quantity", 1}}));
}

TEST(DbCall, PaymentsCancellationsAndBalancesRunAloneWithTheirParameters) {
  auto pay = db_call(PaymentRequest{40, 7, "k", "h", 2});
  EXPECT_STREQ(pay.statement, "pay");
  EXPECT_EQ(pay.params, (Params{"40", "7", "k", "h", "2"}));
  auto cancel = db_call(CancelRequest{40, 7});
  EXPECT_STREQ(cancel.statement, "cancel");
  EXPECT_EQ(cancel.params, (Params{"40", "7"}));
  auto balance = db_call(BalanceRequest{7});
  EXPECT_STREQ(balance.statement, "balance");
  EXPECT_EQ(balance.params, Params{"7"});
  auto top_up = db_call(TopUpRequest{7, 500, {}, {}});
  EXPECT_STREQ(top_up.statement, "top_up");
  EXPECT_EQ(top_up.params, (Params{"7", "500", std::nullopt, std::nullopt}));
  for (const auto* c : {&pay, &cancel, &balance, &top_up}) {
    EXPECT_EQ(c->group, 0) << c->statement;
    EXPECT_FALSE(c->batch.has_value()) << c->statement;
  }
}

TEST(WarmUpCalls, RunEveryWritePathWithIdsThatCannotExistThenTheFullWarmUp) {
  const auto& calls = warm_up_calls();
  std::vector<std::string> names;
  for (const auto& c : calls) names.push_back(c.statement);
  EXPECT_EQ(names, (std::vector<std::string>{"hold_seats", "hold_pool", "hold_pool_batch", "pay", "cancel", "top_up",
                                             "balance", "warm_up"}));
  EXPECT_EQ(calls[0].params, (Params{"0", "0", "{}", std::nullopt, std::nullopt, std::nullopt}));
  EXPECT_EQ(calls[2].params.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(*calls[2].params[2]), nlohmann::json::parse(R"([{"userId":0,"quantity":1}])"));
  EXPECT_STREQ(calls.back().expect, "ok");
  for (size_t i = 0; i + 1 < calls.size(); ++i) EXPECT_EQ(calls[i].expect, nullptr) << names[i];
}

TEST(PoolSoldOut, SaysHowManyAreLeftAndCarriesItAsRemaining) {
  auto s = pool_sold_out(HoldPoolRequest{7, 3, 5, 4, {}, {}, 0}, 2);
  EXPECT_EQ(s.code(), ErrorCode::SoldOut);
  EXPECT_EQ(s.message(), "pool 5 has 2 left, fewer than the 4 requested");
  EXPECT_EQ(s.details_json(), R"({"remaining":2})");
}

}  // namespace
