#pragma once
// What `resv events` reads and changes: the outbox's state in the database
// (works with every server down), replays, the consumer groups it knows,
// and the verdict on a group's lag from two samples of its offsets.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "events/kafka.h"

namespace resv {

struct OutboxStatus {
  int64_t unpublished = 0;
  double oldest_age_s = 0;  // of the oldest unpublished row; 0 when none
  int64_t published_last_minute = 0;
  int64_t first_id = 0;  // the ids kept (replayable); 0 when the outbox is empty
  int64_t last_id = 0;
  std::string leader;     // the relay leader's session name ("resv-server:8080 relay"); "" when none leads
  int leader_pid = 0;
  double leader_connected_s = 0;
};

// DbUnavailable when the database cannot be reached; Internal when its
// schema is older than events (no resv_outbox_status).
Result<OutboxStatus> read_outbox_status(const std::string& url);

struct Replay {
  int64_t events = 0;    // made unpublished again (or that would be, on a dry run)
  int64_t audit_id = 0;  // the ops_audit row; 0 on a dry run
};

// Makes the published events from..to unpublished again (the relay sends
// them again), with an ops_audit row naming `actor`, in one transaction.
Result<Replay> replay_events(const std::string& url, int64_t from, int64_t to, bool dry_run, const std::string& actor);

// Remembers `group` (first seen; with `committed`, its last commit now), so
// that resv events lag reports on it without being told.
Status remember_group(const std::string& url, const std::string& group, bool committed);
// The groups remembered, by name.
Result<std::vector<std::string>> known_groups(const std::string& url);

// A group's lag on one partition, judged in the manner of Burrow from two
// samples of its offsets some seconds apart:
//   OK       no lag, or the lag shrank
//   Lagging  it commits, but the lag did not shrink
//   Stalled  no commit while messages arrived: the lag grows
//   Stopped  no commit and nothing arrived, with lag left; or never committed
enum class LagVerdict { Ok, Lagging, Stalled, Stopped };  // in order of severity
std::string_view verdict_name(LagVerdict v);  // "OK", "LAGGING", "STALLED", "STOPPED"

struct PartitionLag {
  std::string topic;
  int32_t partition = 0;
  int64_t committed = -1;  // -1: never committed
  int64_t end = 0;         // the high watermark
  int64_t lag = 0;         // end - committed (end - first offset when never committed)
  LagVerdict verdict = LagVerdict::Ok;
};

// Pure. `before` and `after` list the same partitions; a partition missing
// from `before` is judged on `after` alone (as if nothing moved).
std::vector<PartitionLag> judge_lag(const std::vector<PartitionOffsets>& before,
                                    const std::vector<PartitionOffsets>& after);
// The worst verdict of the partitions (OK when there are none).
LagVerdict group_verdict(const std::vector<PartitionLag>& partitions);

}  // namespace resv
