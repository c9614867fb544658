#pragma once
// A short checksum of a text: what schema_migrations records of a migration
// (db/migrations.h) and what an idempotency key's request is compared by.
#include <string>
#include <string_view>

namespace resv {

// FNV-1a, 64 bits, as 16 lower-case hex digits. Not a cryptographic hash:
// it tells an edited file or a different request body, not a forged one.
std::string checksum_hex(std::string_view text);

}  // namespace resv
