#pragma once
// The waiting room as an operator reads and drives it (`resv queue`), in the
// database itself, so that it answers while every resv-server is down.
// Reads are plain queries of the queue tables and of resv_queue_status();
// every change goes through the waiting room's SQL functions
// (resv_queue_configure, resv_queue_admit, resv_queue_drain), which lock the
// concert's queue, write the audit line and tell every running server. The
// rules an operator's view adds on top (a queue is "stuck"; when the last one
// waiting gets in) are the pure functions at the end.
//
// Times are ISO 8601 UTC text as the database writes them (resv_ts:
// "2026-05-01T10:00:00.123Z"): they are shown as they are, and compare as text.
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace resv {

// A waiting room's settings (resv_queue_settings()).
struct QueueSettings {
  bool enabled = false;
  bool paused = false;
  std::optional<int64_t> max_active;      // none: no limit by count
  std::optional<double> rate_per_second;  // none: no limit by rate
  int64_t token_ttl_seconds = 0;          // how long an admitted user may hold and pay
  int64_t abandon_after_seconds = 0;      // a waiting user who stops polling this long loses the place
  std::optional<std::string> opens_at;    // set while the pre-queue waits for the opening
};

// One concert's waiting room as it is now (resv_queue_status()), with what
// the rules below derive from it.
struct QueueStatus {
  int64_t concert_id = 0;
  std::string concert_name;
  QueueSettings settings;
  int64_t waiting = 0;    // every WAITING token, the pre-queue included
  int64_t pre_queue = 0;  // waiting and not placed yet (drawn at opens_at)
  int64_t active = 0;     // admitted and not expired
  int64_t issued = 0;
  int64_t admitted_total = 0;
  int64_t issued_last_minute = 0;
  int64_t admitted_last_minute = 0;
  std::map<std::string, int64_t> expired_last_minute;  // by end reason: TTL, PAID, ABANDONED
  std::optional<double> oldest_wait_seconds;           // none: nobody waits
  std::optional<std::string> last_admit_at;            // none: nobody admitted yet
  std::optional<double> seconds_since_last_admit;
  std::string now;  // the database's clock when it was read
  // Derived: queue_stuck() at the threshold the reader asked for, and
  // eta_last_seconds().
  bool stuck = false;
  std::optional<double> eta_last_seconds;
};

// Every waiting room at one moment.
struct QueueSnapshot {
  std::string now;                   // the database's clock
  std::vector<QueueStatus> concerts;  // by concert id
};

// A concert, and its waiting room if it has one.
struct QueueConcert {
  int64_t id = 0;
  std::string name;
  std::optional<QueueStatus> queue;  // none: no waiting room
};

// A queue token as stored (resv_queue_token_json()), with times relative to
// the database's clock.
struct QueueToken {
  int64_t concert_id = 0;
  int64_t user_id = 0;
  int64_t nonce = 0;
  std::optional<int64_t> position;  // none: in the pre-queue, not placed yet
  std::string status;               // WAITING, ACTIVE, EXPIRED
  std::optional<std::string> end_reason;  // TTL, PAID, ABANDONED
  std::string issued_at;
  std::optional<std::string> admitted_at;
  std::optional<std::string> expires_at;
  std::string last_seen_at;
  int64_t change_no = 0;
  // Seconds since issued_at, admitted_at and last_seen_at, and until
  // expires_at (negative once it has passed); none where the time is none.
  std::optional<double> issued_ago, admitted_ago, last_seen_ago, expires_in;
};

struct QueueTokenFilter {
  std::optional<int64_t> concert_id;
  std::optional<std::string> status;  // WAITING, ACTIVE or EXPIRED
  int64_t limit = 50;
};

struct QueueTokenPage {
  std::vector<QueueToken> tokens;  // by concert, then place in line (the pre-queue last)
  int64_t total = 0;               // how many match, beyond the limit too
};

// One user's token for one concert, for `resv queue inspect`.
struct QueueTokenDetail {
  QueueToken token;
  std::string concert_name;
  std::optional<int64_t> ahead;  // users waiting with a lower position; none in the pre-queue
};

// An audit line (queue_audit): who did what, and the values before and after
// (only those that changed, as resv_queue_* keys).
struct QueueAuditEntry {
  int64_t id = 0;
  std::string at;
  int64_t concert_id = 0;
  std::string actor;
  std::string action;
  nlohmann::json old_values = nlohmann::json::object();
  nlohmann::json new_values = nlohmann::json::object();
};

enum class QueueAction { Enable, Disable, Pause, Resume, Set, Admit, Drain };

// "enable", "disable", ...: the action's name in the audit log.
std::string_view queue_action_name(QueueAction a);

struct QueueChange {
  QueueAction action = QueueAction::Set;
  int64_t concert_id = 0;
  std::string actor;  // who acts, for the audit line
  // Enable and Set: the settings to change, as resv_queue_configure() keys
  // (maxActive, ratePerSecond, tokenTtlSeconds, abandonAfterSeconds,
  // opensAt; JSON null removes maxActive, ratePerSecond or opensAt).
  nlohmann::json settings = nlohmann::json::object();
  int64_t count = 0;     // Admit: how many
  bool dry_run = false;  // run it in a transaction that is rolled back
};

struct QueueChangeResult {
  QueueAuditEntry audit;  // the line written (in a dry run: that would be; its id is spent)
  std::optional<QueueSettings> settings;  // Enable, Disable, Pause, Resume, Set: the settings after
  std::optional<int64_t> admitted;        // Admit, Drain: how many were admitted
  bool dry_run = false;
};

// Pure: resv_queue_configure()'s p_set for a change other than Admit and
// Drain: the settings given, and enabled or paused as the action says.
nlohmann::json queue_configure_set(const QueueChange& change);

// The operator's connection to one database: not thread-safe. It connects
// on first use and again after a lost connection.
//
// Every call: DbUnavailable when the database cannot be reached or the
// connection is lost (the message is the driver's); Internal when the
// database has no waiting-room schema (not migrated); Unauthorized when the
// role may not use the waiting room's tables or functions. A defect (an SQL
// error of another kind) is thrown.
class QueueAdmin {
 public:
  explicit QueueAdmin(std::string database_url);
  ~QueueAdmin();
  QueueAdmin(const QueueAdmin&) = delete;
  QueueAdmin& operator=(const QueueAdmin&) = delete;

  // Every waiting room, `stuck` judged at `stuck_after_s`.
  Result<QueueSnapshot> snapshot(double stuck_after_s);
  // The concert and its waiting room. NotFound when the concert does not exist.
  Result<QueueConcert> concert(int64_t id, double stuck_after_s);
  // Tokens matching `filter`; the concert, when given, is not checked.
  Result<QueueTokenPage> tokens(const QueueTokenFilter& filter);
  // A user's token for a concert. NotFound when the user has none.
  Result<QueueTokenDetail> token(int64_t concert_id, int64_t user_id);
  // The secret the servers keep in the database (queue_secret); none when no
  // server has issued tokens on it yet.
  Result<std::optional<std::string>> stored_secret();
  // Runs `change` through its SQL function. What the function refuses comes
  // back with its code: NotFound (no such concert or waiting room),
  // InvalidRequest (a setting it cannot take), Conflict (e.g. admitting on a
  // disabled queue). Busy when another session holds the concert's queue
  // locked for 10 s; nothing is changed then.
  Result<QueueChangeResult> change(const QueueChange& change);
  // Audit lines, newest first.
  Result<std::vector<QueueAuditEntry>> history(std::optional<int64_t> concert_id, int64_t limit);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- the rules (pure) ----------------------------------------------------------

// No admission for this long, with people waiting, makes a running queue
// stuck when the reader does not say otherwise.
inline constexpr int kDefaultStuckSeconds = 60;

// Stuck: enabled, not paused, someone waiting who could be admitted (not the
// pre-queue while opens_at is still ahead of `now`), and nothing admitted
// ever (last_admit_at none) or for more than `threshold_s`.
bool queue_stuck(const QueueStatus& q, double threshold_s);

// Seconds until the last one waiting is admitted at the rate of the last
// minute: waiting / (admitted_last_minute / 60). 0 when nobody waits; none
// (unknown) when paused, disabled, or nobody was admitted in the last minute.
std::optional<double> eta_last_seconds(const QueueStatus& q);

// How the servers would judge a token given by hand.
struct QueueTokenCheck {
  std::optional<bool> signature_valid;  // under the servers' secret; none: no secret to check with
  std::optional<bool> nonce_matches;    // against the stored token's; none: no token is stored
  // The servers refuse it: its mac does not verify, or it is a token of an
  // earlier queue of the concert (another nonce).
  bool refused() const { return signature_valid == false || nonce_matches == false; }
};

// Checks `token` (already parsed) with `secret` and the nonce stored for its
// user and concert.
QueueTokenCheck check_queue_token(std::string_view token, const std::optional<std::string>& secret,
                                  const std::optional<int64_t>& stored_nonce);

// Pure: a resv_queue_status() object as a QueueStatus (stuck and the ETA not
// yet derived). Absent or null figures are 0 (counts) or none.
QueueStatus queue_status_from_json(const nlohmann::json& status);

}  // namespace resv
