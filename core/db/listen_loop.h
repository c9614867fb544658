#pragma once
// A session of its own that LISTENs and comes back after a lost connection:
// the one connect / LISTEN / reconnect loop of the background threads that
// follow the database (the release listener, the waiting room's service).
// Included by their .cpp files only: it brings in libpqxx.
#include <atomic>
#include <chrono>
#include <functional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace resv {

struct ListenOptions {
  std::string url;  // with the session's application_name (db/pg_text.h)
  std::vector<std::string> channels;
  const char* what = "listener";  // names it in the log: "<what> lost the database"
  std::chrono::milliseconds retry{500};
};

// Until `stop` is set: connects to `url` (2 s connect timeout), LISTENs on
// every channel (each notification goes to `on_notify(channel, payload)`
// while `session` waits for them, e.g. with await_notification), and runs
// `session(conn)`, which returns when `stop` is set. When connecting fails
// or `session` throws, it logs that once per outage, calls `on_lost`, waits
// `retry` (or until `stop`) and connects again. Blocks the calling thread.
void run_listening(const ListenOptions& options, const std::atomic<bool>& stop,
                   const std::function<void(const std::string& channel, const std::string& payload)>& on_notify,
                   const std::function<void(pqxx::connection& conn)>& session,
                   const std::function<void()>& on_lost = {});

}  // namespace resv
