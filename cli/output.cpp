#include "cli/output.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace resv::cli {

namespace {

bool no_color_env() {
  const char* v = std::getenv("NO_COLOR");
  return v && *v;  // https://no-color.org: set and not empty
}

// Visible width: escape sequences do not count, UTF-8 continuation bytes do not either.
size_t width(std::string_view s) {
  size_t w = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b') {
      while (i < s.size() && s[i] != 'm') ++i;
      continue;
    }
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++w;
  }
  return w;
}

bool numeric(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '%' || c == ',';
  });
}

}  // namespace

Output::Output(OutputOptions o)
    : Output(o, ::isatty(STDOUT_FILENO) == 1, ::isatty(STDERR_FILENO) == 1, stdout, stderr) {}

Output::Output(OutputOptions o, bool stdout_tty, bool stderr_tty, std::FILE* out, std::FILE* err)
    : opts_(o), out_tty_(stdout_tty), err_tty_(stderr_tty), out_(out), err_(err) {
  bool allowed = !o.no_color && !no_color_env();
  out_color_ = allowed && out_tty_ && !o.json;
  err_color_ = allowed && err_tty_;
}

void Output::data(std::string_view text) const {
  std::fwrite(text.data(), 1, text.size(), out_);
  if (!text.empty() && text.back() != '\n') std::fputc('\n', out_);
  std::fflush(out_);
}

void Output::print_json(const nlohmann::json& j) const { data(j.dump(2) + "\n"); }

void Output::info(std::string_view text) const {
  if (opts_.quiet) return;
  std::fprintf(err_, "%.*s\n", static_cast<int>(text.size()), text.data());
}

void Output::detail(std::string_view text) const {
  if (opts_.verbose <= 0) return;
  std::fprintf(err_, "%.*s\n", static_cast<int>(text.size()), text.data());
}

void Output::warn(std::string_view text) const {
  std::fprintf(err_, "resv: warning: %.*s\n", static_cast<int>(text.size()), text.data());
}

void Output::progress(std::string_view text) const {
  if (!err_tty_ || opts_.quiet || opts_.json) return;
  std::fprintf(err_, "\r\x1b[2K%.*s", static_cast<int>(text.size()), text.data());
  std::fflush(err_);
}

void Output::progress_done() const {
  if (!err_tty_ || opts_.quiet || opts_.json) return;
  std::fputs("\r\x1b[2K", err_);
  std::fflush(err_);
}

std::string Output::paint(const char* sgr, std::string_view s, bool err) const {
  if (!color(err)) return std::string(s);
  return std::string("\x1b[") + sgr + "m" + std::string(s) + "\x1b[0m";
}

std::string Table::render() const {
  std::vector<size_t> w(headers_.size(), 0);
  std::vector<bool> right(headers_.size(), !rows_.empty());
  for (size_t c = 0; c < headers_.size(); ++c) w[c] = width(headers_[c]);
  for (const auto& r : rows_)
    for (size_t c = 0; c < r.size() && c < w.size(); ++c) {
      w[c] = std::max(w[c], width(r[c]));
      if (!numeric(r[c])) right[c] = false;
    }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < w.size(); ++c) {
      std::string cell = c < cells.size() ? cells[c] : "";
      std::string pad(w[c] - width(cell), ' ');
      bool last = c + 1 == w.size();
      out += right[c] ? pad + cell : (last ? cell : cell + pad);
      if (!last) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(headers_);
  for (const auto& r : rows_) out += line(r);
  return out;
}

std::string key_values(const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t w = 0;
  for (const auto& [k, v] : rows) w = std::max(w, width(k));
  std::string out;
  for (const auto& [k, v] : rows) out += k + std::string(w - width(k) + 2, ' ') + v + "\n";
  return out;
}

std::string human_bytes(long long bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string human_duration(double seconds) {
  long long s = static_cast<long long>(seconds);
  char buf[48];
  if (seconds < 1) std::snprintf(buf, sizeof buf, "%.0f ms", seconds * 1000);
  else if (s < 60) std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%lldm %llds", s / 60, s % 60);
  else if (s < 86400) std::snprintf(buf, sizeof buf, "%lldh %lldm", s / 3600, s % 3600 / 60);
  else std::snprintf(buf, sizeof buf, "%lldd %lldh", s / 86400, s % 86400 / 3600);
  return buf;
}

std::optional<int64_t> parse_duration_seconds(std::string_view text) {
  int64_t unit = 1;
  if (!text.empty() && (text.back() == 's' || text.back() == 'm' || text.back() == 'h')) {
    unit = text.back() == 'm' ? 60 : text.back() == 'h' ? 3600 : 1;
    text.remove_suffix(1);
  }
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || text[0] == '-' || n <= 0 ||
      n > INT_MAX / unit)
    return std::nullopt;
  return n * unit;
}

std::optional<int64_t> parse_duration_ms(std::string_view text) {
  double unit = 0;
  if (text.ends_with("ms")) {
    unit = 1;
    text.remove_suffix(2);
  } else if (!text.empty() && (text.back() == 's' || text.back() == 'm')) {
    unit = text.back() == 'm' ? 60000 : 1000;
    text.remove_suffix(1);
  }
  double n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  // from_chars reads "nan" and "inf" too: neither is a duration.
  if (unit == 0 || text.empty() || ec != std::errc() || p != text.data() + text.size() || text[0] == '-' ||
      !std::isfinite(n) || n * unit > 86400000.0)
    return std::nullopt;
  return static_cast<int64_t>(n * unit + 0.5);
}

std::string first_line(std::string_view text) { return std::string(text.substr(0, text.find('\n'))); }

}  // namespace resv::cli
