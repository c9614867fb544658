// Fuzz target: waiting-room tokens (core/queue/token.h) under a fixed key.
// The bytes are (1) a token as a client sends it: parse and verify must not
// crash, and whatever verifies must be exactly the token the key signs for
// its claims (no second spelling, no forgery); (2) claims and an alteration:
// the signed token verifies to its claims, and the altered one, or the
// original under another key, does not.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "queue/token.h"

using namespace resv;

namespace {

constexpr std::string_view kKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr std::string_view kOtherKey = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

[[noreturn]] void fail(const char* what, std::string_view token) {
  std::fprintf(stderr, "%s: '%.*s'\n", what, static_cast<int>(token.size()), token.data());
  std::abort();
}

void as_given(std::string_view token) {
  auto parsed = parse_queue_token(token);
  if (parsed && (parsed->concert_id < 0 || parsed->user_id < 0 || parsed->nonce < 0))
    fail("parse_queue_token read a negative field", token);
  for (std::string_view key : {kKey, kOtherKey, std::string_view{}}) {
    auto verified = verify_queue_token(token, key);
    if (!verified) continue;
    if (key.empty()) fail("a token verified under the empty key", token);
    if (!parsed || !(*parsed == *verified)) fail("verify and parse disagree on the claims", token);
    if (sign_queue_token(*verified, key) != token) fail("a token the key did not sign verified", token);
  }
}

int64_t take(const uint8_t*& data, size_t& size) {
  uint64_t v = 0;
  size_t n = size < 8 ? size : 8;
  std::memcpy(&v, data, n);
  data += n;
  size -= n;
  return static_cast<int64_t>(v & 0x7fffffffffffffffULL);
}

void signed_then_altered(const uint8_t* data, size_t size) {
  QueueTokenClaims claims;
  claims.concert_id = take(data, size);
  claims.user_id = take(data, size);
  claims.nonce = take(data, size);
  const std::string token = sign_queue_token(claims, kKey);
  if (token.size() > kMaxQueueTokenBytes) fail("a signed token is longer than kMaxQueueTokenBytes", token);
  auto verified = verify_queue_token(token, kKey);
  if (!verified || !(*verified == claims)) fail("a signed token does not verify to its claims", token);
  if (verify_queue_token(token, kOtherKey)) fail("a token verified under another key", token);
  // Alterations: each further pair of bytes sets one character of the token.
  std::string altered = token;
  for (size_t i = 0; i + 1 < size && i < 16; i += 2) altered[data[i] % altered.size()] = static_cast<char>(data[i + 1]);
  if (size > 0 && data[0] & 1) altered.push_back(static_cast<char>(data[size - 1]));
  if (altered != token && verify_queue_token(altered, kKey)) fail("an altered token verified", altered);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  as_given(std::string_view(reinterpret_cast<const char*>(data), size));
  signed_then_altered(data, size);
  return 0;
}
