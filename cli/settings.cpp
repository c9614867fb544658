#include "cli/settings.h"

#include <cstdlib>
#include <map>
#include <optional>
#include <toml++/toml.h>

#include "cli/state.h"

namespace resv::cli {

namespace {

struct ConfigFile {
  std::string path;
  std::map<std::string, std::string> values;
};

constexpr uintmax_t kMaxConfigBytes = 1 << 20;
const char* const kKeys[] = {"database_url", "admin_url", "admin_token", "state_dir", "kafka_brokers", "runbook_dir"};

Result<std::optional<ConfigFile>> load_config(const std::string& path, bool explicit_path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (!explicit_path) return std::optional<ConfigFile>{};
    return Status::Invalid("config file " + path + " does not exist");
  }
  // A directory, a device (/dev/zero) or a pipe is no config file; neither is
  // a file too large to be one.
  if (!fs::is_regular_file(path, ec))
    return Status::Invalid("config file " + path + " is not a regular file; give the TOML file itself");
  if (const auto size = fs::file_size(path, ec); ec || size > kMaxConfigBytes)
    return Status::Invalid("config file " + path + " is larger than " + std::to_string(kMaxConfigBytes) +
                           " bytes; a config file holds a few settings");
  toml::table parsed;
  try {
    parsed = toml::parse_file(path);
  } catch (const toml::parse_error& err) {
    return Status::Invalid("config file " + path + " line " + std::to_string(err.source().begin.line) + ": " +
                           std::string(err.description()));
  }
  ConfigFile cfg{path, {}};
  for (auto&& [key, node] : parsed) {
    std::string k(key.str());
    bool known = false;
    for (const char* name : kKeys) known = known || k == name;
    if (!known)
      return Status::Invalid("config file " + path + ": unknown key '" + k +
                             "' (known: database_url, admin_url, admin_token, state_dir, kafka_brokers, runbook_dir)");
    auto v = node.value<std::string>();
    if (!v) return Status::Invalid("config file " + path + ": '" + k + "' must be a string");
    cfg.values[k] = *v;
  }
  return std::optional<ConfigFile>{std::move(cfg)};
}

std::string default_config_path(const EnvLookup& env) {
  if (const char* x = env("XDG_CONFIG_HOME"); x && *x) return (fs::path(x) / "resv" / "config.toml").string();
  if (const char* h = env("HOME"); h && *h) return (fs::path(h) / ".config" / "resv" / "config.toml").string();
  return {};
}

}  // namespace

std::string Setting::shown() const {
  if (value.empty()) return "";
  if (secret) return "********";
  return mask_url_password(value);
}

std::string mask_url_password(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto at = url.find('@', scheme + 3);
  auto slash = url.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "****" + url.substr(at);
}

Result<Settings> resolve_settings(const SettingFlags& flags, const EnvLookup& env_in) {
  EnvLookup env = env_in ? env_in : [](const char* n) -> const char* { return std::getenv(n); };
  Settings s;

  // The config file first: it is a source for the others.
  std::optional<ConfigFile> cfg;
  {
    std::string path = flags.config;
    std::string source = "flag --config";
    bool explicit_path = true;
    if (path.empty())
      if (const char* e = env("RESV_CONFIG"); e && *e) path = e, source = "env RESV_CONFIG";
    if (path.empty()) path = default_config_path(env), source = "default", explicit_path = false;
    if (!path.empty()) {
      auto loaded = load_config(path, explicit_path);
      if (!loaded.ok()) return loaded.status();
      cfg = std::move(loaded.value());
    }
    s.config_file = cfg ? Setting{path, source} : Setting{"", "none (" + path + " does not exist)"};
  }

  auto pick = [&](Setting& out, const std::string& flag, const char* flag_name, const char* env_name,
                  const char* key) {
    if (!flag.empty()) out = {flag, std::string("flag ") + flag_name};
    else if (const char* e = env(env_name); e && *e) out = {e, std::string("env ") + env_name};
    else if (cfg && cfg->values.count(key)) out = {cfg->values.at(key), "config " + cfg->path};
    return !out.value.empty();
  };

  StateDir state{default_state_dir()};
  if (!pick(s.state_dir, flags.state_dir, "--state-dir", "RESV_STATE_DIR", "state_dir"))
    s.state_dir = {default_state_dir().string(), "default"};
  state = StateDir{s.state_dir.value};

  if (!pick(s.database_url, flags.db, "--db", "RESV_DATABASE_URL", "database_url")) {
    s.embedded_db = true;
    if (auto db = state.embedded()) s.database_url = {db->url(), "default (embedded cluster in " + s.state_dir.value + ")"};
    else s.database_url = {"", "default (embedded cluster not created yet: resv db up)"};
  }

  if (!pick(s.admin_url, flags.admin_url, "--admin-url", "RESV_ADMIN_URL", "admin_url")) {
    auto inst = state.instances();
    int port = inst.empty() ? 9090 : inst.front().admin_port;
    s.admin_url = {"http://127.0.0.1:" + std::to_string(port),
                   inst.empty() ? "default" : "default (resv server instance 1)"};
  }

  if (!pick(s.admin_token, flags.admin_token, "--admin-token", "RESV_ADMIN_TOKEN", "admin_token")) {
    auto t = state.admin_token();
    s.admin_token = {t, t.empty() ? "default (none)" : "default (" + state.admin_token_file().string() + ")"};
  }
  s.admin_token.secret = true;

  if (!pick(s.kafka_brokers, flags.kafka_brokers, "--kafka-brokers", "RESV_KAFKA_BROKERS", "kafka_brokers")) {
    s.embedded_kafka = true;
    if (auto b = state.embedded_broker())
      s.kafka_brokers = {b->bootstrap, "default (embedded broker, pid " + std::to_string(b->pid) + ")"};
    else
      s.kafka_brokers = {"", "default (embedded broker not running: resv server start runs it)"};
  }

  // Its flag is resv runbook's own (--runbook-dir), which wins over this.
  if (!pick(s.runbook_dir, "", "--runbook-dir", "RESV_RUNBOOK_DIR", "runbook_dir"))
    s.runbook_dir = {"", "default (the built-in runbooks only)"};
  return s;
}

}  // namespace resv::cli
