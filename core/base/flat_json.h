#pragma once
// Reading the JSON the hot paths see, without building a tree: request
// bodies (flat objects of integers and integer arrays) and the answers of
// the SQL functions (flat objects of scalars), thousands per second at an
// opening, where a json tree cost a dozen to forty allocations each. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace resv {

struct FlatMember {
  enum class Kind { Int, TooLarge, Float, String, Bool, Null, IntArray, Other };
  std::string key;
  Kind kind = Kind::Other;
  int64_t integer = 0;            // Int
  bool boolean = false;           // Bool
  std::string text;               // String, decoded
  std::vector<int64_t> elements;  // IntArray: its integer elements
  bool bad_element = false;       // IntArray: an element that is not an integer in int64 range
};

// The top-level members of a JSON object; a nested object (or an array of
// anything but integers) is kept as Other (or an IntArray with bad_element),
// its content unread.
class FlatObject {
 public:
  enum class Read { Object, OtherValue, Malformed };
  // Reads `text`; the members are those of an Object.
  Read read(std::string_view text);
  // The last member named `key` (as a json tree keeps the last duplicate).
  const FlatMember* find(std::string_view key) const;
  std::optional<int64_t> integer(std::string_view key) const;
  const std::string* string(std::string_view key) const;
  std::optional<bool> boolean(std::string_view key) const;
  const std::vector<FlatMember>& members() const { return members_; }

 private:
  bool read_plain(std::string_view text);
  std::vector<FlatMember> members_;
};

// The elements of a JSON array as text (no copy), in order; nullopt when
// `text` is not an array. The elements are delimited, not validated: read
// each with a parser of its own.
std::optional<std::vector<std::string_view>> json_array_elements(std::string_view text);

}  // namespace resv
