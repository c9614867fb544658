#include "queue/token.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace {

using namespace resv;

constexpr char kTokenSecret[] = "5f0c2a1e9b7d4c3a8e6f1b2d0a9c8e7f5f0c2a1e9b7d4c3a8e6f1b2d0a9c8e7f";
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string mac_part(const std::string& token) { return token.substr(token.rfind('.') + 1); }
std::string payload_part(const std::string& token) { return token.substr(0, token.rfind('.')); }

TEST(QueueToken, SignedTokenVerifiesToItsClaims) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  for (QueueTokenClaims claims : {QueueTokenClaims{12, 34, 56}, QueueTokenClaims{1, 1, 0},
                                  QueueTokenClaims{7, 900001, 9199999999999999999}, QueueTokenClaims{kMax, kMax, kMax}}) {
    std::string token = sign_queue_token(claims, kTokenSecret);
    auto verified = verify_queue_token(token, kTokenSecret);
    ASSERT_TRUE(verified.has_value()) << token;
    EXPECT_EQ(*verified, claims) << token;
  }
}

TEST(QueueToken, TokenHasTheDocumentedShape) {
  std::string token = sign_queue_token({12, 34, 56}, kTokenSecret);
  ASSERT_EQ(token.rfind("q1.12.34.56.", 0), 0u) << token;
  std::string mac = mac_part(token);
  EXPECT_EQ(mac.size(), 22u) << "16 bytes in unpadded base64url";
  EXPECT_EQ(mac.find_first_not_of(kBase64Url), std::string::npos) << mac;
  EXPECT_EQ(sign_queue_token({12, 34, 56}, kTokenSecret), token) << "signing is deterministic";
}

TEST(QueueToken, LargestClaimsFitUnderTheSizeLimit) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_LE(sign_queue_token({kMax, kMax, kMax}, kTokenSecret).size(), kMaxQueueTokenBytes);
}

TEST(QueueToken, EachFieldAlteredUnderTheSameMacIsRefused) {
  std::string token = sign_queue_token({12, 34, 56}, kTokenSecret);
  std::string mac = mac_part(token);
  for (QueueTokenClaims altered : {QueueTokenClaims{13, 34, 56}, QueueTokenClaims{12, 35, 56},
                                   QueueTokenClaims{12, 34, 57}, QueueTokenClaims{34, 12, 56}}) {
    std::string forged = payload_part(sign_queue_token(altered, kTokenSecret)) + "." + mac;
    EXPECT_FALSE(verify_queue_token(forged, kTokenSecret).has_value()) << forged;
    ASSERT_TRUE(parse_queue_token(forged).has_value()) << "well-formed, only the mac is wrong: " << forged;
  }
}

TEST(QueueToken, MacAlteredInAnyOneCharacterIsRefused) {
  std::string token = sign_queue_token({12, 34, 56}, kTokenSecret);
  size_t mac_at = token.rfind('.') + 1;
  for (size_t i = mac_at; i < token.size(); ++i) {
    for (char replacement : {'A', 'z', '0', '-', '_'}) {
      if (token[i] == replacement) continue;
      std::string forged = token;
      forged[i] = replacement;
      EXPECT_FALSE(verify_queue_token(forged, kTokenSecret).has_value()) << forged;
    }
  }
}

TEST(QueueToken, TokenSignedWithAnotherSecretIsRefused) {
  std::string other = sign_queue_token({12, 34, 56}, "another secret");
  EXPECT_NE(mac_part(other), mac_part(sign_queue_token({12, 34, 56}, kTokenSecret)));
  EXPECT_FALSE(verify_queue_token(other, kTokenSecret).has_value());
  EXPECT_TRUE(verify_queue_token(other, "another secret").has_value());
}

TEST(QueueToken, EmptySecretVerifiesNothing) {
  EXPECT_FALSE(verify_queue_token(sign_queue_token({12, 34, 56}, ""), "").has_value())
      << "a server that has no key yet must not accept tokens signed with the empty key";
  EXPECT_FALSE(verify_queue_token(sign_queue_token({12, 34, 56}, kTokenSecret), "").has_value());
}

TEST(QueueToken, MalformedShapesAreRefused) {
  std::string mac = mac_part(sign_queue_token({12, 34, 56}, kTokenSecret));
  const std::vector<std::string> malformed = {
      "",
      "q1",
      "q1.",
      "q1.12.34.56",                    // no mac
      "q1.12.34.56.",                   // empty mac
      "q1.12.34." + mac,                // a part missing
      "q1.12." + mac,
      "q1.12.34.56." + mac + ".9",      // a part too many
      "q1.12.34.56.78." + mac,
      "q1.12.34.56." + mac + ".",
      "q2.12.34.56." + mac,             // wrong prefix
      "Q1.12.34.56." + mac,
      "12.34.56." + mac,
      " q1.12.34.56." + mac,
      "q1.12.34.56." + mac + " ",
      "q1.12.34.56." + mac + "\n",
      "q1.1a.34.56." + mac,             // not digits
      "q1.12.3 4.56." + mac,
      "q1.12.34.5x." + mac,
      "q1.+12.34.56." + mac,
      "q1.12.34.0x38." + mac,
      "q1.012.34.56." + mac,            // leading zeros
      "q1.12.034.56." + mac,
      "q1.12.34.056." + mac,
      "q1.00.34.56." + mac,
      "q1.-12.34.56." + mac,            // negative
      "q1.12.-34.56." + mac,
      "q1.12.34.-56." + mac,
      "q1..34.56." + mac,               // empty fields
      "q1.12..56." + mac,
      "q1.12.34.." + mac,
      "q1...." + mac,
      "q1.9223372036854775808.34.56." + mac,   // beyond int64
      "q1.12.34.99999999999999999999." + mac,
      "q1.12.34.56." + mac.substr(1),          // wrong mac length
      "q1.12.34.56." + mac + "A",
      "q1.12.34.56." + mac + "==",
      "q1.12.34.56." + mac.substr(0, 11),
  };
  for (const auto& token : malformed) {
    EXPECT_FALSE(verify_queue_token(token, kTokenSecret).has_value()) << "[" << token << "]";
    EXPECT_FALSE(parse_queue_token(token).has_value()) << "[" << token << "]";
  }
}

TEST(QueueToken, NegativeZeroIsNotASecondSpellingOfZero) {
  // "One spelling per number": a token has exactly one accepted text.
  std::string token = sign_queue_token({0, 34, 56}, kTokenSecret);
  ASSERT_TRUE(verify_queue_token(token, kTokenSecret).has_value());
  std::string respelled = "q1.-0" + token.substr(4);
  EXPECT_FALSE(parse_queue_token(respelled).has_value()) << respelled;
  EXPECT_FALSE(verify_queue_token(respelled, kTokenSecret).has_value()) << respelled;
  std::string nonce_zero = sign_queue_token({12, 34, 0}, kTokenSecret);
  std::string respelled_nonce = "q1.12.34.-0." + mac_part(nonce_zero);
  EXPECT_FALSE(verify_queue_token(respelled_nonce, kTokenSecret).has_value()) << respelled_nonce;
}

TEST(QueueToken, TokenLongerThanTheLimitIsRefused) {
  std::string token = sign_queue_token({12, 34, 56}, kTokenSecret);
  std::string padded = token;
  padded.insert(padded.rfind('.'), kMaxQueueTokenBytes, '9');  // the nonce gets long digits
  ASSERT_GT(padded.size(), kMaxQueueTokenBytes);
  EXPECT_FALSE(verify_queue_token(padded, kTokenSecret).has_value());
  EXPECT_FALSE(parse_queue_token(padded).has_value());

  std::string huge = token + std::string(1 << 20, 'A');
  EXPECT_FALSE(verify_queue_token(huge, kTokenSecret).has_value());
  EXPECT_FALSE(parse_queue_token(huge).has_value());

  std::string just_over = token + std::string(kMaxQueueTokenBytes + 1 - token.size(), 'A');
  ASSERT_EQ(just_over.size(), kMaxQueueTokenBytes + 1);
  EXPECT_FALSE(parse_queue_token(just_over).has_value());
}

TEST(QueueToken, ParseReturnsTheClaimsWithoutCheckingTheMac) {
  std::string token = sign_queue_token({12, 34, 56}, kTokenSecret);
  EXPECT_EQ(parse_queue_token(token), (QueueTokenClaims{12, 34, 56}));
  EXPECT_EQ(parse_queue_token(sign_queue_token({12, 34, 56}, "another secret")), (QueueTokenClaims{12, 34, 56}));
  std::string wrong_mac = payload_part(token) + "." + std::string(22, 'A');
  ASSERT_FALSE(verify_queue_token(wrong_mac, kTokenSecret).has_value());
  EXPECT_EQ(parse_queue_token(wrong_mac), (QueueTokenClaims{12, 34, 56}));
  EXPECT_EQ(parse_queue_token("q1.9223372036854775807.1.0." + std::string(22, '_')),
            (QueueTokenClaims{std::numeric_limits<int64_t>::max(), 1, 0}));
}

TEST(QueueToken, NewSecretIs64HexCharactersAndDiffersBetweenCalls) {
  std::string a = new_queue_secret();
  std::string b = new_queue_secret();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(b.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_EQ(b.find_first_not_of("0123456789abcdef"), std::string::npos) << b;
  EXPECT_NE(a, b);
}

}  // namespace
