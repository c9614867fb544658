#include "db/advisory_locks.h"

#include <array>
#include <pqxx/pqxx>

namespace resv {
namespace {

constexpr std::array kAll{advisory::kMigrations, advisory::kQueueLeader, advisory::kOutboxRelay,
                          advisory::kIdempotencyKey};

// `function` (pg_try_advisory_lock, pg_advisory_unlock) called with the
// lock's fixed key: one bigint, or two ints.
pqxx::row call(pqxx::connection_base& conn, const char* function, const AdvisoryLock& lock) {
  pqxx::nontransaction tx(conn);
  const uint32_t objid = lock.objid.value_or(0);
  if (lock.objsubid == 2)
    return tx.exec_params1(std::string("SELECT ") + function + "($1::int, $2::int)", static_cast<int32_t>(lock.classid),
                           static_cast<int32_t>(objid));
  return tx.exec_params1(std::string("SELECT ") + function + "($1::bigint)",
                         static_cast<int64_t>((static_cast<uint64_t>(lock.classid) << 32) | objid));
}

}  // namespace

std::span<const AdvisoryLock> advisory_locks() { return kAll; }

const AdvisoryLock* find_advisory_lock(uint32_t classid, uint32_t objid, int objsubid) {
  for (const auto& lock : kAll)
    if (lock.classid == classid && lock.objsubid == objsubid && (!lock.objid || *lock.objid == objid)) return &lock;
  return nullptr;
}

std::string advisory_key_text(uint32_t classid, uint32_t objid, int objsubid) {
  if (objsubid == 2)
    return std::to_string(static_cast<int32_t>(classid)) + ", " + std::to_string(static_cast<int32_t>(objid));
  return std::to_string(static_cast<int64_t>((static_cast<uint64_t>(classid) << 32) | objid));
}

bool try_advisory_lock(pqxx::connection_base& conn, const AdvisoryLock& lock) {
  return call(conn, "pg_try_advisory_lock", lock)[0].as<bool>();
}

void advisory_unlock(pqxx::connection_base& conn, const AdvisoryLock& lock) {
  call(conn, "pg_advisory_unlock", lock);
}

}  // namespace resv
