#pragma once
// What one server knows of the waiting room, in memory: enough to answer a
// token's status and the gate in front of holds and payments without a
// database round trip. QueueService feeds it from the database (settings,
// and the token rows changed since the last change number it saw); request
// threads read it. Thread-safe. It can lag the database by one sync interval;
// the database's own gate (resv_queue_gate) stays the authority.
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/iso_time.h"
#include "base/status.h"
#include "queue/token.h"

namespace resv {

enum class TokenState { Waiting, Active, Expired };
std::string_view token_state_name(TokenState s);
std::optional<TokenState> token_state_from(std::string_view name);

struct QueueConcertRow {
  int64_t concert_id = 0;
  bool enabled = false;
  bool paused = false;
  int64_t change_no = 0;
  int64_t admitted_last_minute = 0;  // measured admissions, for the ETA
  std::optional<SysTime> opens_at;   // set while the pre-queue lasts
};

struct QueueTokenRow {
  int64_t user_id = 0;
  int64_t nonce = 0;
  int64_t position = 0;  // 0: in the pre-queue, not placed yet
  TokenState state = TokenState::Waiting;
  std::optional<SysTime> expires_at;  // when admitted
  int64_t change_no = 0;
};

struct TokenStatus {
  TokenState state = TokenState::Waiting;
  int64_t position = 0;          // 0: not placed yet (pre-queue, or not yet seen by this server)
  int64_t ahead = 0;             // users still waiting in front
  std::optional<double> eta_s;   // from the measured admission rate; none when unknown or paused
  std::optional<SysTime> expires_at;
  std::optional<SysTime> opens_at;
};

// Fenwick tree over positions 1..n: point updates and prefix sums in
// O(log n), growing on demand. Pure.
class PositionCounts {
 public:
  void add(int64_t position, int delta);
  int64_t prefix(int64_t position) const;  // sum over 1..position
 private:
  std::vector<int64_t> tree_{0};
  std::vector<int64_t> values_{0};
};

class QueueView {
 public:
  // The secret tokens are signed with ("" until known: then nothing verifies).
  void set_secret(std::string secret);
  std::string secret() const;
  // verify_queue_token under the current secret, without copying it (the
  // status and gate paths call this per request).
  std::optional<QueueTokenClaims> verify(std::string_view token) const;

  // Replaces the concerts that have a queue, and the schedule -> concert map
  // for those concerts. A concert whose change number went backwards (data
  // re-seeded) is forgotten and reloaded.
  void set_concerts(const std::vector<QueueConcertRow>& rows, std::unordered_map<int64_t, int64_t> schedules);
  std::vector<QueueConcertRow> concerts() const;
  // The change number up to which this view has the concert's tokens.
  int64_t synced_change_no(int64_t concert) const;
  // Applies token rows; a row older (by change number) than what is known
  // for that user is ignored. `synced` (if given) records that every change
  // up to it has been applied.
  void apply_tokens(int64_t concert, const std::vector<QueueTokenRow>& rows, std::optional<int64_t> synced = {});

  // The concert of a schedule whose concert has a queue; nullopt otherwise.
  std::optional<int64_t> concert_of_schedule(int64_t schedule) const;
  bool queue_enabled(int64_t concert) const;

  // Status of a verified token. QueueTokenInvalid when this token is not the
  // one issued (e.g. its queue was re-created) or its concert has no queue.
  // A token not yet seen here (just issued by another server) is WAITING
  // without a position.
  Result<TokenStatus> status(const QueueTokenClaims& claims, SysTime now) const;

  // Polls to report to the database (so the user is not dropped as gone).
  void seen(int64_t concert, int64_t user);
  std::vector<std::pair<int64_t, int64_t>> take_seen();

 private:
  struct Entry {
    int64_t nonce;
    int64_t position;
    TokenState state;
    std::optional<SysTime> expires_at;
    int64_t change_no;
  };
  struct Concert {
    QueueConcertRow row;
    int64_t synced = 0;
    std::unordered_map<int64_t, Entry> tokens;
    PositionCounts waiting;  // 1 at each placed position still waiting
    int64_t waiting_unplaced = 0;
  };

  mutable std::shared_mutex mu_;
  std::string secret_;
  std::map<int64_t, Concert> concerts_;
  std::unordered_map<int64_t, int64_t> schedules_;

  std::mutex seen_mu_;
  std::set<std::pair<int64_t, int64_t>> seen_;
};

}  // namespace resv
