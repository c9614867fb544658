#pragma once
// systemd's service notification protocol (sd_notify(3)) without
// libsystemd: one datagram to the unix socket named by $NOTIFY_SOCKET, which
// systemd sets for a Type=notify unit. resv-server sends READY=1 once it is
// ready (its /readyz would answer 200), STATUS= lines while it is not, and
// STOPPING=1 when a signal starts its drain.
#include <string>
#include <string_view>
#include <vector>

namespace resv {

// Sends `state` ("READY=1", "STATUS=...", newline-separated assignments)
// without ever blocking. Without $NOTIFY_SOCKET (not under systemd) it does
// nothing and returns true; false when it was not sent (no such socket, or
// its queue is full): the caller sends it again later.
bool notify_systemd(std::string_view state);

// The STATUS= line for `reasons` (not_ready_reasons): "STATUS=ready" or
// "STATUS=not ready: a, b"; one line (newlines in a reason become spaces).
std::string systemd_status(const std::vector<std::string>& reasons);

}  // namespace resv
