#pragma once
// Output conventions shared by every command: data on stdout (a table for
// people, JSON with --json), messages and progress on stderr; colour only on
// a terminal and never with NO_COLOR or --no-color; progress only when
// stderr is a terminal.
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace resv::cli {

struct OutputOptions {
  bool json = false;
  bool quiet = false;    // no informational messages (errors still shown)
  int verbose = 0;
  bool no_color = false;  // --no-color
};

class Output {
 public:
  // Reads NO_COLOR and whether stdout/stderr are terminals.
  explicit Output(OutputOptions o = {});
  // For tests: explicit terminal answers and streams.
  Output(OutputOptions o, bool stdout_tty, bool stderr_tty, std::FILE* out, std::FILE* err);

  bool json() const { return opts_.json; }
  bool quiet() const { return opts_.quiet; }
  int verbose() const { return opts_.verbose; }
  bool stdout_is_tty() const { return out_tty_; }
  bool stderr_is_tty() const { return err_tty_; }

  // Data, on stdout.
  void data(std::string_view text) const;
  void print_json(const nlohmann::json& j) const;  // pretty, one trailing newline

  // Messages on stderr: info (not with --quiet), detail (only with -v), warn.
  void info(std::string_view text) const;
  void detail(std::string_view text) const;
  void warn(std::string_view text) const;

  // Progress on stderr, only on a terminal and not with --quiet or --json:
  // redraws one line; done() ends it.
  void progress(std::string_view text) const;
  void progress_done() const;

  // Colour for stdout (`err` false) or stderr text: the text unchanged when
  // colour is off.
  std::string green(std::string_view s, bool err = false) const { return paint("32", s, err); }
  std::string red(std::string_view s, bool err = false) const { return paint("31", s, err); }
  std::string yellow(std::string_view s, bool err = false) const { return paint("33", s, err); }
  std::string bold(std::string_view s, bool err = false) const { return paint("1", s, err); }
  bool color(bool err = false) const { return err ? err_color_ : out_color_; }

 private:
  std::string paint(const char* sgr, std::string_view s, bool err) const;
  OutputOptions opts_;
  bool out_tty_, err_tty_, out_color_, err_color_;
  std::FILE* out_;
  std::FILE* err_;
};

// An aligned text table: columns padded to their widest cell, numbers
// right-aligned. Cells may carry colour codes (they do not count for width).
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "KEY  value" lines, keys padded to one width: for one object's fields.
std::string key_values(const std::vector<std::pair<std::string, std::string>>& rows);

// Human forms: 1234567 -> "1.2 MiB", 3725 s -> "1h 2m".
std::string human_bytes(long long bytes);
std::string human_duration(double seconds);
// "90", "90s", "10m", "1h" -> seconds. nullopt for anything else: empty,
// signs, fractions, spaces, other units, zero, more than INT32_MAX seconds.
std::optional<int64_t> parse_duration_seconds(std::string_view text);
// "250ms", "1.5s", "2s", "1m" -> milliseconds (0 allowed: "0s"); nullopt for
// anything else: no unit, signs, spaces, more than a day.
std::optional<int64_t> parse_duration_ms(std::string_view text);

// The first line of a message, for a one-line error: PostgreSQL and libpq
// add LINE, DETAIL and HINT lines to theirs. The whole text when it has one.
std::string first_line(std::string_view text);

}  // namespace resv::cli
