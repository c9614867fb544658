#include "cli/servers.h"

#include <charconv>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "cli/http_client.h"
#include "cli/server_control.h"

namespace resv::cli {

using nlohmann::json;

namespace {

template <class T>
std::optional<T> field(const json& j, const json::json_pointer& p) {
  if (!j.contains(p)) return std::nullopt;
  const auto& v = j.at(p);
  if constexpr (std::is_same_v<T, std::string>) {
    if (v.is_string()) return v.get<std::string>();
  } else {
    if (v.is_number()) return v.get<T>();
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::pair<std::string, int>> parse_http_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return std::nullopt;
  std::string rest = url.substr(scheme.size());
  rest = rest.substr(0, rest.find('/'));
  auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  // Digits only, and the whole of them: atoi read "9090x" as 9090, and
  // "4294967297" (which overflows an int) as 1.
  const std::string_view digits = std::string_view(rest).substr(colon + 1);
  int port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || end != digits.data() + digits.size() || port <= 0 || port > 65535)
    return std::nullopt;
  return std::make_pair(rest.substr(0, colon), port);
}

Expected<std::vector<AdminTarget>> admin_targets(const Context& ctx) {
  std::vector<AdminTarget> out;
  const Setting& admin_url = ctx.settings().admin_url;
  if (admin_url.source.rfind("default", 0) != 0) {
    // A list, "http://a:9090,http://b:9090": each is one server.
    size_t start = 0;
    for (int index = 1; start <= admin_url.value.size(); ++index) {
      size_t comma = admin_url.value.find(',', start);
      if (comma == std::string::npos) comma = admin_url.value.size();
      const std::string one = admin_url.value.substr(start, comma - start);
      start = comma + 1;
      auto where = parse_http_url(one);
      if (!where)
        return Outcome::Usage("the admin URL '" + one + "' (" + admin_url.source + ") is not http://HOST:PORT",
                              "fix it, e.g. --admin-url http://127.0.0.1:9090 (several: comma-separated)");
      AdminTarget t;
      t.inst.index = index;
      t.inst.admin_port = where->second;
      t.host = where->first;
      out.push_back(std::move(t));
    }
    return out;
  }
  for (const auto& inst : ctx.state().instances()) out.push_back({inst, "127.0.0.1", true});
  return out;
}

std::string target_label(const AdminTarget& t) {
  return t.managed ? "instance " + std::to_string(t.inst.index) : t.host + ":" + std::to_string(t.inst.admin_port);
}

InstanceStatus probe_instance(const AdminTarget& t, const std::string& token, std::string& auth_problem,
                              std::chrono::milliseconds timeout) {
  const ServerInstance& inst = t.inst;
  const bool managed = t.managed;
  InstanceStatus s;
  s.inst = inst;
  s.running = !managed || is_running_server(inst.pid);
  if (!s.running) {
    s.reasons.push_back("not running (its process is gone)");
    return s;
  }
  HttpClient admin(t.host, static_cast<uint16_t>(inst.admin_port), timeout);
  auto r = admin.get("/readyz");
  if (r.status == 0) {
    s.running = managed;
    s.reasons.push_back("admin port " + std::to_string(inst.admin_port) + " does not answer: " + r.error);
    return s;
  }
  auto ready = json::parse(r.body, nullptr, false);
  s.ready = r.status == 200;
  if (!s.ready && ready.is_object() && ready.contains("reasons") && ready["reasons"].is_array())
    for (const auto& reason : ready["reasons"])
      if (reason.is_string()) s.reasons.push_back(reason.get<std::string>());
  if (!s.ready && s.reasons.empty()) s.reasons.push_back("/readyz answered " + std::to_string(r.status));

  if (token.empty()) {
    auth_problem = "no admin token is configured or generated";
    return s;
  }
  auto st = admin.get("/admin/status", {{"Authorization", "Bearer " + token}});
  auto j = json::parse(st.body, nullptr, false);
  if (st.status != 200 || !j.is_object()) {
    auth_problem = "/admin/status answered " + (st.status == 0 ? st.error : std::to_string(st.status));
    return s;
  }
  s.uptime_s = field<long long>(j, "/uptimeSeconds"_json_pointer);
  s.version = field<std::string>(j, "/version"_json_pointer);
  s.commit = field<std::string>(j, "/commit"_json_pointer);
  s.in_flight = field<long long>(j, "/inFlight"_json_pointer);
  s.db_pool_in_use = field<long long>(j, "/dbPool/inUse"_json_pointer);
  s.db_pool_size = field<long long>(j, "/dbPool/size"_json_pointer);
  if (j.contains("warm") && j["warm"].is_array()) s.warm_concerts = static_cast<long long>(j["warm"].size());
  if (!managed) {
    s.inst.pid = field<long long>(j, "/pid"_json_pointer).value_or(0);
    s.inst.port = static_cast<int>(field<long long>(j, "/config/port"_json_pointer).value_or(0));
  }
  s.status = std::move(j);
  return s;
}

}  // namespace resv::cli
