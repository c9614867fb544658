#include "server/systemd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace resv {

bool notify_systemd(std::string_view state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return true;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const size_t len = std::strlen(path);
  if (len >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // an abstract socket
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  const bool sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&addr),
                             addr_len) == static_cast<ssize_t>(state.size());
  ::close(fd);
  return sent;
}

std::string systemd_status(const std::vector<std::string>& reasons) {
  if (reasons.empty()) return "STATUS=ready";
  std::string s = "STATUS=not ready: ";
  for (size_t i = 0; i < reasons.size(); ++i) s += (i ? ", " : "") + reasons[i];
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s;
}

}  // namespace resv
