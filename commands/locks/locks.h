#pragma once
// Shared by the files of `resv locks` (one per verb): the words and --json
// objects of a lock report (core/ops/locks.h). Only those files include it.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/context.h"
#include "ops/locks.h"

namespace resv::cli::locks_cmd {

// Each verb adds its subcommand(s) to `resv locks`; add_view the group's own
// run (the default view).
void add_view(CLI::App& locks, Context& ctx);
void add_kill(CLI::App& locks, Context& ctx);  // cancel, terminate
void add_rows(CLI::App& locks, Context& ctx);

// What the operator reads when the database fails the command.
Outcome failure(const Context& ctx, const std::string& url, const Status& s);

// "psql, postgres@local" / "resv-server:8080 write": who a session is.
std::string who(const LockSession& s);
// "IDLE IN TRANSACTION 3m 2s" (painted red on a terminal), "active 12 s".
std::string state_text(const Output& out, const LockSession& s);
// "pid 4711 (psql, idle in transaction for 3m 2s)"; pid 0 a prepared one.
std::string node_label(const LockNode& n);

// --json objects (schema in resv(1)).
nlohmann::json session_json(const LockSession& s);
nlohmann::json target_json(const LockTarget& t);
nlohmann::json node_json(const LockNode& n);
nlohmann::json tree_json(const BlockingTree& t);

// Where `pid` is in the report: its node (a root or a waiter) and the tree.
struct Found {
  const LockNode* node = nullptr;
  const BlockingTree* tree = nullptr;
};
Found find_node(const LockReport& r, int pid);
// The pids under `n`, at any depth.
std::vector<int> waiters_of(const LockNode& n);

}  // namespace resv::cli::locks_cmd
