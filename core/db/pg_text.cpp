#include "db/pg_text.h"

#include <cctype>

namespace resv {
namespace {

bool is_uri(const std::string& url) { return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0; }

}  // namespace

std::string with_connect_timeout(const std::string& url, int seconds) {
  if (url.find("connect_timeout") != std::string::npos) return url;
  if (!is_uri(url)) return url + " connect_timeout=" + std::to_string(seconds);
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=" + std::to_string(seconds);
}

std::string with_statement_timeout(const std::string& url, int64_t ms) {
  const std::string n = std::to_string(ms);
  if (is_uri(url)) return url + (url.find('?') == std::string::npos ? "?" : "&") + "options=-c%20statement_timeout%3D" + n;
  return url + " options='-c statement_timeout=" + n + "'";
}

std::string with_application_name(const std::string& url, const std::string& name) {
  std::string value;
  if (is_uri(url)) {  // percent-encoded; libpq takes the last of a repeated parameter
    static const char* hex = "0123456789ABCDEF";
    for (unsigned char c : name) {
      if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
        value += static_cast<char>(c);
      } else {
        value += '%';
        value += hex[c >> 4];
        value += hex[c & 15];
      }
    }
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "application_name=" + value;
  }
  for (char c : name) {  // quoted; libpq takes the last of a repeated keyword
    if (c == '\\' || c == '\'') value += '\\';
    value += c;
  }
  return url + " application_name='" + value + "'";
}

std::string pg_int_array(const std::vector<int64_t>& v) {
  std::string s = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  return s + "}";
}

}  // namespace resv
