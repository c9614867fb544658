#include "base/flat_json.h"

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

namespace resv {
namespace {

using Kind = FlatMember::Kind;

// nlohmann's SAX events, for what the plain reader leaves (escapes, UTF-8,
// fractions, nesting): a value directly in the top object is a member; one
// directly in an array member is an element; deeper ones only make an array
// element bad.
class SaxReader {
 public:
  explicit SaxReader(std::vector<FlatMember>& members) : members_(members) {}
  bool is_object = false;

  bool null() { return value(Kind::Null), true; }
  bool boolean(bool b) {
    if (FlatMember* m = value(Kind::Bool)) m->boolean = b;
    return true;
  }
  bool number_integer(int64_t v) {
    if (FlatMember* m = value(Kind::Int, v)) m->integer = v;
    return true;
  }
  bool number_unsigned(uint64_t v) {
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return value(Kind::TooLarge), true;
    return number_integer(static_cast<int64_t>(v));
  }
  bool number_float(double, const std::string&) { return value(Kind::Float), true; }
  bool string(std::string& s) {
    if (FlatMember* m = value(Kind::String)) m->text = std::move(s);
    return true;
  }
  bool binary(nlohmann::json::binary_t&) { return value(Kind::Other), true; }
  bool start_object(size_t) {
    if (depth_ == 0) is_object = true;
    else value(Kind::Other);
    ++depth_;
    return true;
  }
  bool start_array(size_t) {
    value(Kind::IntArray);
    ++depth_;
    return true;
  }
  bool end_object() { return --depth_, true; }
  bool end_array() { return --depth_, true; }
  bool key(std::string& k) {
    if (depth_ == 1) key_ = std::move(k);
    return true;
  }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  // The member for a value at the top level (nullptr elsewhere); an element
  // of an array member is recorded in it.
  FlatMember* value(Kind kind, int64_t v = 0) {
    if (!is_object) return nullptr;
    if (depth_ == 1) {
      FlatMember& m = members_.emplace_back();
      m.key = std::move(key_);
      m.kind = kind;
      return &m;
    }
    FlatMember& last = members_.back();
    if (last.kind == Kind::IntArray) {
      if (depth_ == 2 && kind == Kind::Int) last.elements.push_back(v);
      else last.bad_element = true;
    }
    return nullptr;
  }
  std::vector<FlatMember>& members_;
  std::string key_;
  int depth_ = 0;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

// The usual text, read in one pass: keys and strings of plain printable
// ASCII, integers, arrays of integers, true, false, null. False for anything
// else, the members then being unspecified: the SAX reader reads such text
// and finds what is wrong.
bool FlatObject::read_plain(std::string_view s) {
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < s.size() && is_space(s[i])) ++i;
  };
  auto eat = [&](char c) {
    skip_ws();
    if (i == s.size() || s[i] != c) return false;
    ++i;
    return true;
  };
  auto digit = [&](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '9'; };
  auto integer = [&](int64_t& v) {  // -?(0|[1-9][0-9]*), in int64 range, not the start of a fraction
    skip_ws();
    size_t begin = i;
    if (i < s.size() && s[i] == '-') ++i;
    if (!digit(i) || (s[i] == '0' && digit(i + 1))) return false;
    while (digit(i)) ++i;
    if (i < s.size() && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')) return false;
    auto [end, ec] = std::from_chars(s.data() + begin, s.data() + i, v);
    return ec == std::errc() && end == s.data() + i;
  };
  auto plain_string = [&](std::string& out) {  // after the opening quote
    size_t begin = i;
    for (; i < s.size() && s[i] != '"'; ++i)
      if (static_cast<unsigned char>(s[i]) < 0x20 || static_cast<unsigned char>(s[i]) >= 0x80 || s[i] == '\\')
        return false;  // escapes and UTF-8 are the lexer's to check
    if (i == s.size()) return false;
    out.assign(s.substr(begin, i - begin));
    ++i;
    return true;
  };
  auto literal = [&](std::string_view word) {
    if (s.substr(i, word.size()) != word) return false;
    i += word.size();
    return true;
  };
  if (!eat('{')) return false;
  if (!eat('}')) {
    do {
      if (!eat('"')) return false;
      FlatMember& m = members_.emplace_back();
      if (!plain_string(m.key) || !eat(':')) return false;
      skip_ws();
      if (i == s.size()) return false;
      if (s[i] == '[') {
        ++i;
        m.kind = Kind::IntArray;
        if (!eat(']')) {
          do {
            if (!integer(m.elements.emplace_back())) return false;
          } while (eat(','));
          if (!eat(']')) return false;
        }
      } else if (s[i] == '"') {
        ++i;
        m.kind = Kind::String;
        if (!plain_string(m.text)) return false;
      } else if (literal("true")) {
        m.kind = Kind::Bool;
        m.boolean = true;
      } else if (literal("false")) {
        m.kind = Kind::Bool;
      } else if (literal("null")) {
        m.kind = Kind::Null;
      } else {
        m.kind = Kind::Int;
        if (!integer(m.integer)) return false;
      }
    } while (eat(','));
    if (!eat('}')) return false;
  }
  skip_ws();
  return i == s.size();
}

FlatObject::Read FlatObject::read(std::string_view text) {
  members_.clear();
  members_.reserve(8);
  if (read_plain(text)) return Read::Object;
  members_.clear();
  SaxReader sax(members_);
  if (!nlohmann::json::sax_parse(text, &sax)) return Read::Malformed;
  return sax.is_object ? Read::Object : Read::OtherValue;
}

const FlatMember* FlatObject::find(std::string_view key) const {
  for (auto it = members_.rbegin(); it != members_.rend(); ++it)
    if (it->key == key) return &*it;
  return nullptr;
}

std::optional<int64_t> FlatObject::integer(std::string_view key) const {
  const FlatMember* m = find(key);
  return m && m->kind == Kind::Int ? std::optional(m->integer) : std::nullopt;
}

const std::string* FlatObject::string(std::string_view key) const {
  const FlatMember* m = find(key);
  return m && m->kind == Kind::String ? &m->text : nullptr;
}

std::optional<bool> FlatObject::boolean(std::string_view key) const {
  const FlatMember* m = find(key);
  return m && m->kind == Kind::Bool ? std::optional(m->boolean) : std::nullopt;
}

std::optional<std::vector<std::string_view>> json_array_elements(std::string_view s) {
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < s.size() && is_space(s[i])) ++i;
  };
  skip_ws();
  if (i == s.size() || s[i] != '[') return std::nullopt;
  ++i;
  std::vector<std::string_view> out;
  skip_ws();
  if (i < s.size() && s[i] == ']') {
    ++i;
    skip_ws();
    return i == s.size() ? std::optional(out) : std::nullopt;
  }
  for (;;) {
    skip_ws();
    const size_t begin = i;
    int depth = 0;
    for (; i < s.size(); ++i) {
      char c = s[i];
      if (c == '"') {
        for (++i; i < s.size() && s[i] != '"'; ++i)
          if (s[i] == '\\') ++i;
        if (i >= s.size()) return std::nullopt;
      } else if (c == '[' || c == '{') {
        ++depth;
      } else if (c == ']' || c == '}') {
        if (depth == 0 && c == '}') return std::nullopt;
        if (depth == 0) break;
        --depth;
      } else if (c == ',' && depth == 0) {
        break;
      }
    }
    if (i == s.size()) return std::nullopt;
    size_t end = i;
    while (end > begin && is_space(s[end - 1])) --end;
    if (end == begin) return std::nullopt;  // an empty element: not JSON
    out.push_back(s.substr(begin, end - begin));
    if (s[i] == ']') break;
    ++i;  // the comma
  }
  ++i;
  skip_ws();
  if (i != s.size()) return std::nullopt;
  return out;
}

}  // namespace resv
