#pragma once
// Settings shared by every command, resolved as
//   flag > RESV_* environment > config file > embedded default,
// each remembering where its value came from (`resv config show`).
//
// Config file: TOML, `--config FILE` or RESV_CONFIG, else
// $XDG_CONFIG_HOME/resv/config.toml (~/.config/resv/config.toml) if present.
// Keys: database_url, admin_url, admin_token, state_dir, kafka_brokers, runbook_dir.
#include <functional>
#include <string>

#include "base/status.h"

namespace resv::cli {

struct Setting {
  std::string value;
  std::string source;  // "flag --db", "env RESV_DATABASE_URL", "config FILE", "default", ...
  bool secret = false;
  // The value as it may be shown: secrets masked, passwords in URLs masked.
  std::string shown() const;
};

struct Settings {
  Setting config_file;
  Setting state_dir;
  Setting database_url;  // empty when nothing is configured and no embedded cluster exists yet
  Setting admin_url;
  Setting admin_token;
  Setting kafka_brokers;  // empty when none is configured and the embedded broker does not run
  Setting runbook_dir;    // runbooks of the user's beside the built-in ones; empty: none
  bool embedded_db = false;  // database_url is the embedded default (resv db up)
  bool embedded_kafka = false;  // kafka_brokers is the embedded broker (resv server start runs it)
};

// The global flags as given ("" when not given).
struct SettingFlags {
  std::string config{};
  std::string state_dir{};
  std::string db{};
  std::string admin_url{};
  std::string admin_token{};
  std::string kafka_brokers{};
};

using EnvLookup = std::function<const char*(const char*)>;

// InvalidRequest when an explicit config file is missing or unreadable, or a
// config file has a syntax error or an unknown key.
Result<Settings> resolve_settings(const SettingFlags& flags, const EnvLookup& env = nullptr);

// "postgresql://user:****@host/db": the password of a URL masked.
std::string mask_url_password(const std::string& url);

}  // namespace resv::cli
