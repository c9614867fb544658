#pragma once
// Every advisory lock resv takes, in one registry, so that `resv locks` can
// name each one it finds in pg_locks. C++ takes them only through
// try_advisory_lock()/advisory_unlock() below; SQL functions (sql/functions/)
// write their key as the literal given here. A unit test scans the sources
// and fails on a key that is not registered.
//
// In pg_locks an advisory lock shows as (classid, objid, objsubid): a bigint
// key k as (k >> 32, k & 0xffffffff, 1), a pair of int keys (a, b) as
// (a, b, 2).
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace pqxx {
class connection_base;
}

namespace resv {

struct AdvisoryLock {
  const char* name;      // what an operator reads: "migration runner"
  const char* taken_by;  // who takes it, and for how long
  uint32_t classid;      // as in pg_locks
  // As in pg_locks; nullopt for a family of keys (the second int a hash).
  std::optional<uint32_t> objid;
  int objsubid;  // 1: one bigint key; 2: a pair of int keys
};

namespace advisory {
// Session lock of whoever applies migrations (resv-server --migrate,
// resv db migrate): others wait for it. Bigint key 7236001.
inline constexpr AdvisoryLock kMigrations{"migration runner",
                                          "resv-server --migrate or resv db migrate, while it migrates", 0, 7236001, 1};
// Session lock of the waiting room's admission leader, held while it leads.
// Bigint key 0x7265737671756575 ("resvqueu").
inline constexpr AdvisoryLock kQueueLeader{"waiting-room leader",
                                           "the resv-server leading admissions, for as long as it leads", 0x72657376,
                                           0x71756575, 1};
// Session lock of the outbox relay's leader, held while it publishes: one
// publisher among all servers on the database keeps each key's events in
// order. Bigint key 0x7265737672656c61 ("resvrela").
inline constexpr AdvisoryLock kOutboxRelay{"outbox relay leader",
                                           "the resv-server publishing events to Kafka, for as long as it leads",
                                           0x72657376, 0x72656c61, 1};
// Transaction lock of a write with an Idempotency-Key while it runs:
// pg_try_advisory_xact_lock(1919251305, hashtext(user || '/' || key)) in
// resv_idem_begin (sql/functions/10_common.sql). 1919251305 is "resi".
inline constexpr AdvisoryLock kIdempotencyKey{"idempotency key", "a write with an Idempotency-Key, until it commits",
                                              0x72657369, std::nullopt, 2};
}  // namespace advisory

// The registry: every lock above.
std::span<const AdvisoryLock> advisory_locks();

// The registered lock a pg_locks advisory row is, or nullopt.
const AdvisoryLock* find_advisory_lock(uint32_t classid, uint32_t objid, int objsubid);

// The key as SQL writes it: "7236001", or "1919251305, <objid>".
std::string advisory_key_text(uint32_t classid, uint32_t objid, int objsubid);

// pg_try_advisory_lock / pg_advisory_unlock of a lock with a fixed key
// (session level; the connection must not be in a transaction block).
bool try_advisory_lock(pqxx::connection_base& conn, const AdvisoryLock& lock);
void advisory_unlock(pqxx::connection_base& conn, const AdvisoryLock& lock);

}  // namespace resv
