#include "cli/state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace resv::cli {

namespace {

std::optional<nlohmann::json> read_json(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return std::nullopt;
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

}  // namespace

fs::path default_state_dir() {
  if (::geteuid() == 0) return "/var/lib/resv";
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return fs::path(x) / "resv";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".local" / "state" / "resv";
  return fs::temp_directory_path() / ("resv-" + std::to_string(::geteuid()));
}

std::string EmbeddedDb::url() const {
  return "postgresql://" + user + ":" + password + "@127.0.0.1:" + std::to_string(port) + "/" + database;
}

fs::path StateDir::instance_file(int index) const {
  return server_dir() / ("instance-" + std::to_string(index) + ".json");
}

fs::path StateDir::instance_log(int index) const {
  return server_dir() / ("instance-" + std::to_string(index) + ".log");
}

std::optional<EmbeddedDb> StateDir::embedded() const {
  auto j = read_json(embedded_file());
  if (!j) return std::nullopt;
  EmbeddedDb db;
  db.port = j->value("port", 0);
  db.user = j->value("user", "resv");
  db.password = j->value("password", "");
  db.database = j->value("database", "resv");
  if (db.port <= 0) return std::nullopt;
  return db;
}

Status StateDir::save_embedded(const EmbeddedDb& db) const {
  nlohmann::json j{{"port", db.port}, {"user", db.user}, {"password", db.password}, {"database", db.database}};
  return write_file_atomic(embedded_file(), j.dump(2) + "\n", 0600);
}

std::optional<EmbeddedBroker> StateDir::embedded_broker() const {
  auto j = read_json(broker_file());
  if (!j) return std::nullopt;
  EmbeddedBroker b{j->value("pid", 0L), j->value("bootstrap", ""), j->value("startedAt", "")};
  if (b.bootstrap.empty() || !process_running(b.pid, "resv-broker")) return std::nullopt;
  return b;
}

std::vector<ServerInstance> StateDir::instances() const {
  std::vector<ServerInstance> out;
  std::error_code ec;
  if (!fs::is_directory(server_dir(), ec)) return out;
  for (int i = 1; i <= 64; ++i) {
    auto j = read_json(instance_file(i));
    if (!j) continue;
    ServerInstance s;
    s.index = i;
    s.pid = j->value("pid", 0L);
    s.port = j->value("port", 0);
    s.admin_port = j->value("admin_port", 0);
    s.started_at = j->value("started_at", "");
    s.log = j->value("log", instance_log(i).string());
    out.push_back(s);
  }
  return out;
}

Status StateDir::save_instance(const ServerInstance& i) const {
  nlohmann::json j{{"pid", i.pid}, {"port", i.port}, {"admin_port", i.admin_port}, {"started_at", i.started_at},
                   {"log", i.log}};
  return write_file_atomic(instance_file(i.index), j.dump(2) + "\n");
}

void StateDir::remove_instance(int index) const {
  std::error_code ec;
  fs::remove(instance_file(index), ec);
}

std::string StateDir::admin_token() const {
  std::ifstream in(admin_token_file());
  std::string t;
  std::getline(in, t);
  return t;
}

Result<std::string> StateDir::ensure_admin_token() const {
  if (auto t = admin_token(); !t.empty()) return t;
  std::string t = random_hex(24);
  if (auto s = write_file_atomic(admin_token_file(), t + "\n", 0600); !s.ok()) return s;
  return t;
}

Status write_file_atomic(const fs::path& path, const std::string& text, unsigned mode) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return Status::Internal("cannot create " + path.parent_path().string() + ": " + ec.message());
  fs::path tmp = path;
  tmp += ".tmp" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::Internal("cannot write " + tmp.string() + ": " + std::strerror(errno));
  ::fchmod(fd, mode);
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string err = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::Internal("cannot write " + tmp.string() + ": " + err);
    }
    off += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Status::Internal("cannot write " + path.string() + ": " + err);
  }
  return Status::Ok();
}

std::string now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string random_hex(size_t bytes) {
  std::ifstream in("/dev/urandom", std::ios::binary);
  std::string raw(bytes, '\0');
  in.read(raw.data(), static_cast<std::streamsize>(bytes));
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

bool process_running(long pid, std::string_view program) {
  if (pid <= 0) return false;
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size()) return false;
  char state = stat[close + 2];
  if (state == 'Z' || state == 'X') return false;
  return program.empty() || stat.substr(open + 1, close - open - 1) == program;
}

std::string read_file(const fs::path& path, std::uintmax_t offset) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::uintmax_t file_size_or_zero(const fs::path& path) {
  std::error_code ec;
  auto n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

}  // namespace resv::cli
