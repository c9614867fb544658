#include "base/read_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "manual_clock.h"

namespace {

using namespace resv;
using namespace std::chrono_literals;
using resv::test::ManualClock;

ReadCache::Body body(const std::string& s) { return std::make_shared<const std::string>(s); }

// A cache whose entries age only when the test moves its clock.
using AgingCache = BasicReadCache<ManualClock>;
constexpr auto kTtl = 1s;

// An entry that is already as old as the cache's TTL: stale.
void put_stale(AgingCache& cache, const std::string& key, const std::string& text) {
  cache.put(key, body(text));
  ManualClock::advance(kTtl);
}

TEST(ReadCache, MissAsksTheCallerToRefresh) {
  ReadCache cache(1h);
  auto l = cache.get("seats:1");
  EXPECT_EQ(l.body, nullptr);
  EXPECT_TRUE(l.refresh);
}

TEST(ReadCache, EveryCallerFetchesWhileNothingIsCachedYet) {
  ReadCache cache(1h);
  EXPECT_TRUE(cache.get("seats:1").refresh);
  auto second = cache.get("seats:1");
  EXPECT_EQ(second.body, nullptr) << "there is nothing stale to serve";
  EXPECT_TRUE(second.refresh);
}

TEST(ReadCache, PutGivesAFreshHitWithoutRefresh) {
  ReadCache cache(1h);
  cache.get("seats:1");
  cache.put("seats:1", body("map"));
  for (int i = 0; i < 3; ++i) {
    auto l = cache.get("seats:1");
    ASSERT_NE(l.body, nullptr);
    EXPECT_EQ(*l.body, "map");
    EXPECT_FALSE(l.refresh);
  }
}

TEST(ReadCache, PutWithoutAPriorGetIsCached) {
  ReadCache cache(1h);
  cache.put("k", body("v"));
  auto l = cache.get("k");
  ASSERT_NE(l.body, nullptr);
  EXPECT_EQ(*l.body, "v");
  EXPECT_FALSE(l.refresh);
}

TEST(ReadCache, PutReplacesTheBody) {
  ReadCache cache(1h);
  cache.put("k", body("old"));
  cache.put("k", body("new"));
  auto l = cache.get("k");
  ASSERT_NE(l.body, nullptr);
  EXPECT_EQ(*l.body, "new");
}

TEST(ReadCache, AnEntryIsFreshUntilItIsTtlOld) {
  AgingCache cache(kTtl);
  cache.put("k", body("v"));
  ManualClock::advance(kTtl - 1ns);
  auto fresh = cache.get("k");
  ASSERT_NE(fresh.body, nullptr);
  EXPECT_EQ(*fresh.body, "v");
  EXPECT_FALSE(fresh.refresh) << "just under the TTL";
  ManualClock::advance(1ns);
  auto stale = cache.get("k");
  ASSERT_NE(stale.body, nullptr);
  EXPECT_EQ(*stale.body, "v") << "the stale body is served while it is refreshed";
  EXPECT_TRUE(stale.refresh) << "TTL old";
}

TEST(ReadCache, OnlyOneCallerRefreshesAStaleEntry) {
  AgingCache cache(kTtl);
  put_stale(cache, "seats:1", "old map");
  auto first = cache.get("seats:1");
  ASSERT_NE(first.body, nullptr);
  EXPECT_EQ(*first.body, "old map") << "the refresher is answered with the stale body too";
  EXPECT_TRUE(first.refresh);
  for (int i = 0; i < 3; ++i) {
    auto other = cache.get("seats:1");
    ASSERT_NE(other.body, nullptr);
    EXPECT_EQ(*other.body, "old map");
    EXPECT_FALSE(other.refresh) << "caller " << i + 2 << " must not refresh as well";
  }
}

TEST(ReadCache, OnlyOneOfManyConcurrentCallersRefreshesAStaleEntry) {
  AgingCache cache(kTtl);
  put_stale(cache, "seats:1", "old map");
  std::atomic<int> refreshers{0}, served{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      auto l = cache.get("seats:1");
      if (l.refresh) ++refreshers;
      if (l.body && *l.body == "old map") ++served;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(refreshers.load(), 1);
  EXPECT_EQ(served.load(), 8);
}

TEST(ReadCache, AbandonedRefreshIsHandedToTheNextCaller) {
  AgingCache cache(kTtl);
  put_stale(cache, "seats:1", "old map");
  ASSERT_TRUE(cache.get("seats:1").refresh);
  ASSERT_FALSE(cache.get("seats:1").refresh);
  cache.abandon("seats:1");
  auto next = cache.get("seats:1");
  EXPECT_TRUE(next.refresh);
  ASSERT_NE(next.body, nullptr) << "the stale body is still served";
  EXPECT_EQ(*next.body, "old map");
}

TEST(ReadCache, AfterARefreshTheNextStaleEntryGetsANewRefresher) {
  AgingCache cache(kTtl);
  put_stale(cache, "k", "v1");
  ASSERT_TRUE(cache.get("k").refresh);
  put_stale(cache, "k", "v2");  // the refresher's put; then it ages again
  auto l = cache.get("k");
  EXPECT_TRUE(l.refresh) << "the put ended the previous refresh";
  ASSERT_NE(l.body, nullptr);
  EXPECT_EQ(*l.body, "v2");
}

TEST(ReadCache, InvalidatePrefixMakesMatchingKeysStaleOnly) {
  ReadCache cache(1h);
  for (const char* k : {"seats:1", "seats:12", "schedules:1", "xseats:1"}) cache.put(k, body(k));
  cache.invalidate_prefix("seats:1");
  for (const char* k : {"seats:1", "seats:12"}) {
    auto first = cache.get(k);
    ASSERT_NE(first.body, nullptr) << k << ": still served, never a miss for everyone";
    EXPECT_TRUE(first.refresh) << k << ": one caller fetches it again";
    EXPECT_FALSE(cache.get(k).refresh) << k << ": only one";
  }
  auto kept = cache.get("schedules:1");
  ASSERT_NE(kept.body, nullptr);
  EXPECT_FALSE(kept.refresh);
  EXPECT_FALSE(cache.get("xseats:1").refresh) << "the prefix must be at the start";
}

TEST(ReadCache, EmptyPrefixMakesEverythingStale) {
  ReadCache cache(1h);
  cache.put("a", body("1"));
  cache.put("b", body("2"));
  cache.invalidate_prefix("");
  EXPECT_TRUE(cache.get("a").refresh);
  EXPECT_TRUE(cache.get("b").refresh);
}

TEST(ReadCache, CallersOfAMissingEntryWaitForTheOneThatFetchesIt) {
  ReadCache cache(1h);
  int factories = 0;
  ASSERT_TRUE(cache.get("seats:1", [&] { ++factories; return ReadCache::Waiter(); }).refresh);
  EXPECT_EQ(factories, 0) << "the fetcher builds no waiter";
  std::vector<std::string> got;
  for (int i = 0; i < 3; ++i) {
    auto l = cache.get("seats:1", [&] { return [&](ReadCache::Body b) { got.push_back(b ? *b : "null"); }; });
    EXPECT_EQ(l.body, nullptr);
    EXPECT_FALSE(l.refresh) << "caller " << i << " waits instead of fetching";
  }
  EXPECT_TRUE(got.empty());
  cache.put("seats:1", body("map"));
  EXPECT_EQ(got, (std::vector<std::string>{"map", "map", "map"}));
  EXPECT_FALSE(cache.get("seats:1", [&] { ++factories; return ReadCache::Waiter(); }).refresh);
  EXPECT_EQ(factories, 0) << "a hit builds no waiter";
}

TEST(ReadCache, AFailedFetchSendsItsWaitersAwayEmptyHandedAndTheNextCallerFetches) {
  ReadCache cache(1h);
  ASSERT_TRUE(cache.get("seats:1").refresh);
  int empty_handed = 0;
  cache.get("seats:1", [&] { return [&](ReadCache::Body b) { empty_handed += b == nullptr; }; });
  cache.abandon("seats:1");
  EXPECT_EQ(empty_handed, 1);
  EXPECT_TRUE(cache.get("seats:1", [] { return [](ReadCache::Body) {}; }).refresh) << "the next caller fetches";
}

TEST(ReadCache, OfManyConcurrentCallersOfAMissingEntryOneFetches) {
  ReadCache cache(1h);
  std::atomic<int> fetchers{0}, answered{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      if (cache.get("k", [&] { return [&](ReadCache::Body b) { answered += b != nullptr; }; }).refresh) ++fetchers;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(fetchers.load(), 1);
  cache.put("k", body("v"));
  EXPECT_EQ(answered.load(), 7);
}

TEST(ReadCache, ZeroTtlDisablesTheCache) {
  ReadCache cache(0ms);
  EXPECT_FALSE(cache.enabled());
  cache.put("k", body("v"));
  for (int i = 0; i < 2; ++i) {
    auto l = cache.get("k");
    EXPECT_EQ(l.body, nullptr);
    EXPECT_TRUE(l.refresh) << "every caller goes to the database";
  }
  EXPECT_TRUE(ReadCache(1ms).enabled());
}

}  // namespace
