#include "queue/token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <stdexcept>
#include <vector>

namespace resv {
namespace {

constexpr size_t kMacBytes = 16;

std::string base64url(const unsigned char* data, size_t n) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::string mac_of(std::string_view payload, std::string_view secret) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &len))
    throw std::runtime_error("HMAC-SHA256 failed");
  return base64url(mac, kMacBytes);
}

std::string payload_of(const QueueTokenClaims& c) {
  return "q1." + std::to_string(c.concert_id) + "." + std::to_string(c.user_id) + "." + std::to_string(c.nonce);
}

bool parse_int(std::string_view s, int64_t& out) {
  // Digits only, no leading zero: one spelling per number.
  if (s.empty() || s.size() > 19 || s[0] < '0' || s[0] > '9' || (s.size() > 1 && s[0] == '0')) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0;
}

}  // namespace

std::string sign_queue_token(const QueueTokenClaims& claims, std::string_view secret) {
  std::string payload = payload_of(claims);
  return payload + "." + mac_of(payload, secret);
}

std::optional<QueueTokenClaims> parse_queue_token(std::string_view token) {
  if (token.size() > kMaxQueueTokenBytes || token.substr(0, 3) != "q1.") return std::nullopt;
  std::array<std::string_view, 4> parts;
  std::string_view rest = token.substr(3);
  for (size_t i = 0; i < parts.size(); ++i) {
    auto dot = rest.find('.');
    if ((dot == std::string_view::npos) != (i == parts.size() - 1)) return std::nullopt;
    parts[i] = rest.substr(0, dot);
    rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
  }
  QueueTokenClaims c;
  if (!parse_int(parts[0], c.concert_id) || !parse_int(parts[1], c.user_id) || !parse_int(parts[2], c.nonce))
    return std::nullopt;
  if (parts[3].size() != (kMacBytes * 8 + 5) / 6) return std::nullopt;
  return c;
}

std::optional<QueueTokenClaims> verify_queue_token(std::string_view token, std::string_view secret) {
  auto claims = parse_queue_token(token);
  if (!claims || secret.empty()) return std::nullopt;
  std::string_view given = token.substr(token.rfind('.') + 1);
  std::string expected = mac_of(payload_of(*claims), secret);
  if (given.size() != expected.size() || CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0)
    return std::nullopt;
  return claims;
}

std::string new_queue_secret() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("no random bytes from the OS for the queue secret");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

}  // namespace resv
