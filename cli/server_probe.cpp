// probe_instance() and target_label() of cli/servers.h: apart from the URL
// parsing there, which the fuzz targets link without an HTTP client.
#include <type_traits>

#include "cli/http_client.h"
#include "cli/server_control.h"
#include "cli/servers.h"

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
