#include "cli/servers.h"

#include <charconv>
#include <optional>
#include <string_view>
#include <utility>

namespace resv::cli {

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

}  // namespace resv::cli
