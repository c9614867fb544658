#pragma once
// Waiting-room tokens: "q1.<concertId>.<userId>.<nonce>.<mac>", where mac is
// the first 16 bytes of HMAC-SHA256(secret, "q1.<concertId>.<userId>.<nonce>")
// in base64url. The token binds a user to a concert; nobody without the
// secret can make one or change a field of one. The nonce (stored with the
// token row) makes a token of a re-created queue differ from the old one.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace resv {

struct QueueTokenClaims {
  int64_t concert_id = 0;
  int64_t user_id = 0;
  int64_t nonce = 0;
  bool operator==(const QueueTokenClaims&) const = default;
};

inline constexpr size_t kMaxQueueTokenBytes = 128;

// Pure: the token for `claims` under `secret`.
std::string sign_queue_token(const QueueTokenClaims& claims, std::string_view secret);

// Pure: the claims of a well-formed token whose mac matches under `secret`
// (compared in constant time); nullopt for anything else (malformed, too
// long, forged, altered, signed with another secret).
std::optional<QueueTokenClaims> verify_queue_token(std::string_view token, std::string_view secret);

// Pure: the claims as written in the token, without checking the mac (for
// `resv queue inspect`, which then says whether it verifies).
std::optional<QueueTokenClaims> parse_queue_token(std::string_view token);

// A new random secret (64 hex characters from the OS's CSPRNG).
std::string new_queue_secret();

}  // namespace resv
