#include "queue/view.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <random>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

using namespace resv;
using namespace std::chrono_literals;

constexpr int64_t kViewConcert = 7;
const SysTime kNow = SysTime{} + std::chrono::seconds(1795269740);

QueueConcertRow concert_row(int64_t id, int64_t change_no = 1, int64_t admitted_last_minute = 0) {
  QueueConcertRow r;
  r.concert_id = id;
  r.enabled = true;
  r.change_no = change_no;
  r.admitted_last_minute = admitted_last_minute;
  return r;
}

int64_t nonce_of(int64_t user) { return 1000 + user; }

QueueTokenRow token_row(int64_t user, int64_t position, TokenState state = TokenState::Waiting,
                        int64_t change_no = 1, std::optional<SysTime> expires_at = {}) {
  QueueTokenRow r;
  r.user_id = user;
  r.nonce = nonce_of(user);
  r.position = position;
  r.state = state;
  r.expires_at = expires_at;
  r.change_no = change_no;
  return r;
}

QueueTokenClaims claims_of(int64_t user, int64_t concert = kViewConcert) { return {concert, user, nonce_of(user)}; }

// A view with one queued concert and the given tokens.
void seed(QueueView& view, const QueueConcertRow& concert, const std::vector<QueueTokenRow>& tokens) {
  view.set_concerts({concert}, {});
  view.apply_tokens(concert.concert_id, tokens, concert.change_no);
}

TokenStatus status_of(const QueueView& view, int64_t user, SysTime now = kNow) {
  auto s = view.status(claims_of(user), now);
  EXPECT_TRUE(s.ok()) << "user " << user << ": " << s.status().message();
  return s.ok() ? s.value() : TokenStatus{};
}

// Sum over 1..p of a plain array, the reference for PositionCounts.
int64_t naive_prefix(const std::vector<int64_t>& values, int64_t p) {
  int64_t sum = 0;
  for (int64_t i = 1; i <= p && i < static_cast<int64_t>(values.size()); ++i) sum += values[static_cast<size_t>(i)];
  return sum;
}

// ---- TokenState ------------------------------------------------------------------

TEST(QueueTokenState, NamesRoundTripAndUnknownNamesAreRefused) {
  for (TokenState s : {TokenState::Waiting, TokenState::Active, TokenState::Expired})
    EXPECT_EQ(token_state_from(token_state_name(s)), s);
  EXPECT_EQ(token_state_name(TokenState::Waiting), "WAITING");
  EXPECT_EQ(token_state_name(TokenState::Active), "ACTIVE");
  EXPECT_EQ(token_state_name(TokenState::Expired), "EXPIRED");
  EXPECT_FALSE(token_state_from("waiting").has_value());
  EXPECT_FALSE(token_state_from("").has_value());
}

// ---- PositionCounts --------------------------------------------------------------

TEST(QueuePositionCounts, EmptyCountsAreZeroEverywhere) {
  PositionCounts counts;
  for (int64_t p : {int64_t{-5}, int64_t{0}, int64_t{1}, int64_t{1000}, std::numeric_limits<int64_t>::max()})
    EXPECT_EQ(counts.prefix(p), 0) << p;
}

TEST(QueuePositionCounts, PositionsBelowOneAreIgnored) {
  PositionCounts counts;
  counts.add(0, 1);
  counts.add(-3, 1);
  counts.add(2, 1);
  EXPECT_EQ(counts.prefix(1), 0);
  EXPECT_EQ(counts.prefix(2), 1);
  EXPECT_EQ(counts.prefix(std::numeric_limits<int64_t>::max()), 1);
}

TEST(QueuePositionCounts, MatchesANaiveArrayUnderRandomAddsAndGrowth) {
  constexpr int64_t kTop = 1'000'000;
  std::mt19937_64 rng(20261121);
  std::vector<int64_t> naive(kTop + 1, 0);
  PositionCounts counts;
  int64_t highest = 0;

  auto check = [&](int64_t p, const char* phase) {
    int64_t expected = naive_prefix(naive, p);
    ASSERT_EQ(counts.prefix(p), expected) << phase << ": prefix(" << p << ")";
  };
  auto add = [&](int64_t p) {
    // +1 or -1, keeping each position's count small (as the queue does).
    int delta = (naive[static_cast<size_t>(p)] > 0 && (rng() & 1)) ? -1 : +1;
    if (naive[static_cast<size_t>(p)] >= 3) delta = -1;
    counts.add(p, delta);
    naive[static_cast<size_t>(p)] += delta;
    highest = std::max(highest, p);
  };

  // Growth one position at a time from the initial size, checked fully each step.
  for (int64_t p = 1; p <= 64; ++p) {
    add(p);
    if (p % 3 == 0) add(std::uniform_int_distribution<int64_t>(1, p)(rng));
    for (int64_t q = 0; q <= p + 2; ++q) check(q, "stepwise growth");
  }

  // Growth by jumps of various sizes, ending far beyond the start.
  for (int64_t jump : {int64_t{100}, int64_t{1'023}, int64_t{1'024}, int64_t{1'025}, int64_t{70'000},
                       int64_t{65'536}, int64_t{524'289}, kTop}) {
    add(jump);
    for (int i = 0; i < 300; ++i) add(std::uniform_int_distribution<int64_t>(1, highest)(rng));
    std::vector<int64_t> prefix(static_cast<size_t>(kTop) + 1, 0);
    for (int64_t q = 1; q <= kTop; ++q) prefix[static_cast<size_t>(q)] = prefix[static_cast<size_t>(q) - 1] + naive[static_cast<size_t>(q)];
    for (int i = 0; i < 2000; ++i) {
      int64_t q = std::uniform_int_distribution<int64_t>(0, kTop)(rng);
      ASSERT_EQ(counts.prefix(q), prefix[static_cast<size_t>(q)]) << "after jump to " << jump << ": prefix(" << q << ")";
    }
    for (int64_t q : {int64_t{0}, int64_t{1}, jump - 1, jump, jump + 1, highest, kTop})
      ASSERT_EQ(counts.prefix(q), prefix[static_cast<size_t>(std::min(q, kTop))]) << "after jump to " << jump << ": prefix(" << q << ")";
    for (int64_t bit = 1; bit <= kTop; bit *= 2)
      for (int64_t q : {bit - 1, bit, bit + 1})
        ASSERT_EQ(counts.prefix(q), prefix[static_cast<size_t>(std::min(q, kTop))]) << "prefix(" << q << ")";
    ASSERT_EQ(counts.prefix(std::numeric_limits<int64_t>::max()), prefix[static_cast<size_t>(kTop)]);
  }

  // Many random adds over the whole range, then every position compared.
  for (int i = 0; i < 200'000; ++i) add(std::uniform_int_distribution<int64_t>(1, kTop)(rng));
  int64_t sum = 0;
  for (int64_t q = 0; q <= kTop; ++q) {
    sum += q > 0 ? naive[static_cast<size_t>(q)] : 0;
    ASSERT_EQ(counts.prefix(q), sum) << "final: prefix(" << q << ")";
  }
}

TEST(QueuePositionCounts, LargeCountsAtOnePositionSurviveGrowth) {
  // add() takes an int delta; a count beyond a small integer type must not
  // wrap when the tree is rebuilt on growth.
  PositionCounts counts;
  counts.add(3, 200);
  EXPECT_EQ(counts.prefix(3), 200);
  counts.add(1'000, 1);  // grows and rebuilds
  EXPECT_EQ(counts.prefix(3), 200);
  EXPECT_EQ(counts.prefix(1'000), 201);
  counts.add(5, -300);
  counts.add(100'000, 1);  // grows again
  EXPECT_EQ(counts.prefix(5), -100);
  EXPECT_EQ(counts.prefix(100'000), -98);
}

// ---- QueueView: status -------------------------------------------------------------

TEST(QueueView, WaitingTokenHasItsPositionAndTheWaitingUsersAhead) {
  QueueView view;
  seed(view, concert_row(kViewConcert), {token_row(1, 1), token_row(2, 2), token_row(3, 5), token_row(4, 9)});
  auto s = status_of(view, 3);
  EXPECT_EQ(s.state, TokenState::Waiting);
  EXPECT_EQ(s.position, 5);
  EXPECT_EQ(s.ahead, 2);
  EXPECT_FALSE(s.expires_at.has_value());
  EXPECT_EQ(status_of(view, 1).ahead, 0);
  EXPECT_EQ(status_of(view, 4).ahead, 3);
}

TEST(QueueView, AheadSkipsAdmittedExpiredAndUsersBehind) {
  QueueView view;
  seed(view, concert_row(kViewConcert),
       {token_row(1, 1, TokenState::Active, 1, kNow + 10min), token_row(2, 2), token_row(3, 3, TokenState::Expired),
        token_row(4, 4), token_row(5, 7), token_row(6, 8), token_row(7, 1'000'000)});
  EXPECT_EQ(status_of(view, 2).ahead, 0) << "the admitted user in front is not waiting";
  EXPECT_EQ(status_of(view, 4).ahead, 1) << "only user 2: user 1 admitted, user 3 expired";
  EXPECT_EQ(status_of(view, 5).ahead, 2) << "the gap at 5..6 holds nobody";
  EXPECT_EQ(status_of(view, 6).ahead, 3);
  EXPECT_EQ(status_of(view, 7).ahead, 4) << "position 1,000,000";
}

TEST(QueueView, AheadFollowsAdmissionsAndPlacements) {
  QueueView view;
  seed(view, concert_row(kViewConcert), {token_row(1, 1), token_row(2, 2), token_row(3, 3), token_row(4, 0)});
  ASSERT_EQ(status_of(view, 3).ahead, 2);
  view.apply_tokens(kViewConcert, {token_row(1, 1, TokenState::Active, 2, kNow + 10min)}, 2);
  EXPECT_EQ(status_of(view, 3).ahead, 1);
  EXPECT_EQ(status_of(view, 1).state, TokenState::Active);
  view.apply_tokens(kViewConcert, {token_row(2, 2, TokenState::Expired, 3)}, 3);
  EXPECT_EQ(status_of(view, 3).ahead, 0);
  // The pre-queue user is placed behind everyone.
  view.apply_tokens(kViewConcert, {token_row(4, 4, TokenState::Waiting, 4)}, 4);
  EXPECT_EQ(status_of(view, 4).position, 4);
  EXPECT_EQ(status_of(view, 4).ahead, 1);
  EXPECT_EQ(status_of(view, 3).ahead, 0);
}

TEST(QueueView, EtaIsAheadTimesSixtyOverAdmittedLastMinute) {
  QueueView view;
  seed(view, concert_row(kViewConcert, 1, 30), {token_row(1, 1), token_row(2, 2), token_row(3, 3), token_row(4, 4)});
  auto s = status_of(view, 4);
  ASSERT_EQ(s.ahead, 3);
  ASSERT_TRUE(s.eta_s.has_value());
  EXPECT_DOUBLE_EQ(*s.eta_s, 6.0);
  auto first = status_of(view, 1);
  ASSERT_TRUE(first.eta_s.has_value());
  EXPECT_DOUBLE_EQ(*first.eta_s, 0.0);
  view.set_concerts({concert_row(kViewConcert, 1, 7)}, {});
  ASSERT_TRUE(status_of(view, 4).eta_s.has_value());
  EXPECT_DOUBLE_EQ(*status_of(view, 4).eta_s, 3.0 * 60.0 / 7.0);
}

TEST(QueueView, NoEtaWhilePausedOrWithoutAdmissionsInTheLastMinute) {
  QueueView view;
  auto paused = concert_row(kViewConcert, 1, 30);
  paused.paused = true;
  seed(view, paused, {token_row(1, 1), token_row(2, 2)});
  auto s = status_of(view, 2);
  EXPECT_EQ(s.ahead, 1);
  EXPECT_FALSE(s.eta_s.has_value());
  view.set_concerts({concert_row(kViewConcert, 1, 0)}, {});
  EXPECT_FALSE(status_of(view, 2).eta_s.has_value());
}

TEST(QueueView, PreQueueTokenGetsSecondsUntilOpening) {
  QueueView view;
  auto concert = concert_row(kViewConcert, 1, 30);
  concert.opens_at = kNow + 90s;
  seed(view, concert, {token_row(1, 0), token_row(2, 0)});
  auto s = status_of(view, 2);
  EXPECT_EQ(s.state, TokenState::Waiting);
  EXPECT_EQ(s.position, 0);
  ASSERT_TRUE(s.opens_at.has_value());
  EXPECT_EQ(*s.opens_at, kNow + 90s);
  ASSERT_TRUE(s.eta_s.has_value());
  EXPECT_DOUBLE_EQ(*s.eta_s, 90.0);
  auto later = status_of(view, 2, kNow + 89500ms);
  ASSERT_TRUE(later.eta_s.has_value());
  EXPECT_DOUBLE_EQ(*later.eta_s, 0.5);
  auto overdue = status_of(view, 2, kNow + 100s);
  ASSERT_TRUE(overdue.eta_s.has_value());
  EXPECT_DOUBLE_EQ(*overdue.eta_s, 0.0) << "opening is due, never negative";
}

TEST(QueueView, ActiveTokenReadsActiveUntilItsExpiryThenExpired) {
  QueueView view;
  seed(view, concert_row(kViewConcert), {token_row(1, 1, TokenState::Active, 1, kNow + 1s)});
  auto active = status_of(view, 1);
  EXPECT_EQ(active.state, TokenState::Active);
  EXPECT_EQ(active.position, 1);
  ASSERT_TRUE(active.expires_at.has_value());
  EXPECT_EQ(*active.expires_at, kNow + 1s);
  EXPECT_FALSE(active.eta_s.has_value());
  EXPECT_EQ(status_of(view, 1, kNow + 2s).state, TokenState::Expired);
  EXPECT_EQ(status_of(view, 1, kNow + 1s).state, TokenState::Expired) << "expires_at is the first instant it is over";
}

TEST(QueueView, ExpiredRowReadsExpired) {
  QueueView view;
  seed(view, concert_row(kViewConcert), {token_row(1, 1, TokenState::Expired, 1, kNow - 1min)});
  EXPECT_EQ(status_of(view, 1).state, TokenState::Expired);
}

TEST(QueueView, TokenWithAnotherNonceIsInvalid) {
  QueueView view;
  seed(view, concert_row(kViewConcert), {token_row(1, 1)});
  auto s = view.status({kViewConcert, 1, nonce_of(1) + 1}, kNow);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::QueueTokenInvalid);
  EXPECT_TRUE(view.status(claims_of(1), kNow).ok());
}

TEST(QueueView, TokenOfAConcertWithoutQueueIsInvalid) {
  QueueView view;
  auto none = view.status(claims_of(1), kNow);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::QueueTokenInvalid);

  seed(view, concert_row(kViewConcert), {token_row(1, 1)});
  auto other = view.status(claims_of(1, kViewConcert + 1), kNow);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), ErrorCode::QueueTokenInvalid);

  view.set_concerts({concert_row(kViewConcert + 1)}, {});  // the concert's queue is gone
  auto gone = view.status(claims_of(1), kNow);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), ErrorCode::QueueTokenInvalid);
}

TEST(QueueView, UserNotYetKnownIsWaitingWithoutPosition) {
  QueueView view;
  seed(view, concert_row(kViewConcert), {token_row(1, 1)});
  auto s = status_of(view, 42);
  EXPECT_EQ(s.state, TokenState::Waiting);
  EXPECT_EQ(s.position, 0);
  EXPECT_FALSE(s.expires_at.has_value());
}

// ---- QueueView: applying changes ------------------------------------------------------

TEST(QueueView, OlderRowThanKnownIsIgnored) {
  QueueView view;
  seed(view, concert_row(kViewConcert), {token_row(1, 1, TokenState::Active, 5, kNow + 10min), token_row(2, 2, TokenState::Waiting, 5)});
  view.apply_tokens(kViewConcert, {token_row(1, 1, TokenState::Waiting, 3)});
  EXPECT_EQ(status_of(view, 1).state, TokenState::Active);
  EXPECT_EQ(status_of(view, 2).ahead, 0) << "the ignored row must not be counted as waiting";
  view.apply_tokens(kViewConcert, {token_row(1, 1, TokenState::Expired, 6)});
  EXPECT_EQ(status_of(view, 1).state, TokenState::Expired) << "a newer row is applied";
}

TEST(QueueView, ConcertWhoseChangeNumberWentBackIsForgotten) {
  QueueView view;
  view.set_concerts({concert_row(kViewConcert, 10)}, {});
  view.apply_tokens(kViewConcert, {token_row(1, 1, TokenState::Waiting, 10), token_row(2, 2, TokenState::Waiting, 10)}, 10);
  ASSERT_EQ(status_of(view, 2).ahead, 1);
  ASSERT_EQ(view.synced_change_no(kViewConcert), 10);

  view.set_concerts({concert_row(kViewConcert, 10)}, {});  // same number: kept
  EXPECT_EQ(status_of(view, 2).position, 2);
  EXPECT_EQ(view.synced_change_no(kViewConcert), 10);

  view.set_concerts({concert_row(kViewConcert, 4)}, {});  // re-seeded database
  EXPECT_EQ(view.synced_change_no(kViewConcert), 0);
  auto s = status_of(view, 2);
  EXPECT_EQ(s.position, 0) << "the old token rows are forgotten";
  EXPECT_EQ(s.ahead, 0);
  view.apply_tokens(kViewConcert, {token_row(2, 1, TokenState::Waiting, 2)}, 4);
  EXPECT_EQ(status_of(view, 2).position, 1) << "a reloaded row with a lower change number is taken";
}

TEST(QueueView, SyncedChangeNumberAdvancesOnlyWithTheSyncedArgument) {
  QueueView view;
  EXPECT_EQ(view.synced_change_no(kViewConcert), 0);
  view.set_concerts({concert_row(kViewConcert, 9)}, {});
  EXPECT_EQ(view.synced_change_no(kViewConcert), 0);
  view.apply_tokens(kViewConcert, {token_row(1, 1, TokenState::Waiting, 7)});
  EXPECT_EQ(view.synced_change_no(kViewConcert), 0) << "rows alone (an issue) do not say that everything up to 7 is here";
  view.apply_tokens(kViewConcert, {}, 5);
  EXPECT_EQ(view.synced_change_no(kViewConcert), 5);
  view.apply_tokens(kViewConcert, {}, 3);
  EXPECT_EQ(view.synced_change_no(kViewConcert), 5) << "never goes back";
  view.apply_tokens(kViewConcert, {token_row(2, 2, TokenState::Waiting, 9)}, 9);
  EXPECT_EQ(view.synced_change_no(kViewConcert), 9);
  EXPECT_EQ(view.synced_change_no(kViewConcert + 1), 0);
}

TEST(QueueView, SchedulesMapToTheirConcertAndEnabledIsPerConcert) {
  QueueView view;
  auto off = concert_row(2);
  off.enabled = false;
  view.set_concerts({concert_row(1), off}, {{10, 1}, {11, 1}, {20, 2}});
  EXPECT_EQ(view.concert_of_schedule(10), 1);
  EXPECT_EQ(view.concert_of_schedule(11), 1);
  EXPECT_EQ(view.concert_of_schedule(20), 2);
  EXPECT_FALSE(view.concert_of_schedule(99).has_value());
  EXPECT_TRUE(view.queue_enabled(1));
  EXPECT_FALSE(view.queue_enabled(2));
  EXPECT_FALSE(view.queue_enabled(3));
  ASSERT_EQ(view.concerts().size(), 2u);
  EXPECT_EQ(view.concerts()[0].concert_id, 1);
  EXPECT_EQ(view.concerts()[1].concert_id, 2);

  view.set_concerts({concert_row(2)}, {{20, 2}});
  EXPECT_FALSE(view.concert_of_schedule(10).has_value()) << "replaced, not merged";
  EXPECT_FALSE(view.queue_enabled(1));
  EXPECT_TRUE(view.queue_enabled(2));
}

TEST(QueueView, SecretIsEmptyUntilSet) {
  QueueView view;
  EXPECT_EQ(view.secret(), "");
  view.set_secret("k");
  EXPECT_EQ(view.secret(), "k");
}

TEST(QueueView, VerifiesTokensOnlyUnderItsCurrentSecret) {
  QueueView view;
  const QueueTokenClaims claims{3, 7, 11};
  const std::string token = sign_queue_token(claims, "k");
  EXPECT_FALSE(view.verify(token)) << "no secret yet: nothing verifies";
  view.set_secret("k");
  EXPECT_EQ(view.verify(token), claims);
  EXPECT_FALSE(view.verify(sign_queue_token(claims, "other")));
  view.set_secret("k2");
  EXPECT_FALSE(view.verify(token)) << "a new secret refuses the old tokens";
}

TEST(QueueView, SeenDeduplicatesAndTakeEmpties) {
  QueueView view;
  view.seen(1, 5);
  view.seen(1, 5);
  view.seen(1, 6);
  view.seen(2, 5);
  auto taken = view.take_seen();
  std::sort(taken.begin(), taken.end());
  EXPECT_EQ(taken, (std::vector<std::pair<int64_t, int64_t>>{{1, 5}, {1, 6}, {2, 5}}));
  EXPECT_TRUE(view.take_seen().empty());
  view.seen(1, 5);
  EXPECT_EQ(view.take_seen().size(), 1u) << "seen again after a take";
}

}  // namespace
