#pragma once
// Shared by the files of `resv queue`, one per verb: how the waiting room's
// answers (core/queue/admin.h) become outcomes, text and --json objects.
// Only those files include it.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/context.h"
#include "queue/admin.h"

namespace resv::cli::queue_cmd {

// Each verb adds its subcommand(s) to `resv queue`.
void add_status(CLI::App& queue, Context& ctx);
void add_list(CLI::App& queue, Context& ctx);
void add_inspect(CLI::App& queue, Context& ctx);
void add_changes(CLI::App& queue, Context& ctx);  // enable, disable, pause, resume, set, admit, drain
void add_history(CLI::App& queue, Context& ctx);

// ---- outcomes -------------------------------------------------------------------------

// What the operator reads when the database fails the command: unreachable
// (exit 3, with the hint of 'resv db'), no waiting-room schema (migrate),
// a role that may not use it, the queue locked by another session. NotFound
// and Conflict are Failed with `hint`; InvalidRequest is Usage with it.
Outcome failure(const Context& ctx, const std::string& url, const Status& s, const std::string& hint = {});

std::string concert_label(int64_t id, const std::string& name);  // "concert 12 (Rock Night)"
Outcome no_such_concert(int64_t id);
Outcome no_queue(int64_t id, const std::string& name);

// The concert `id` with its waiting room, or the outcome that says there is
// no such concert, or (when `need_queue`) that it has no waiting room.
Expected<QueueConcert> concert_of(const Context& ctx, const std::string& url, QueueAdmin& db, int64_t id,
                                  bool need_queue = true, double stuck_after_s = kDefaultStuckSeconds);

// ---- text -----------------------------------------------------------------------------

// "12.0 s ago" ("in 3.0 s" for a time ahead); "-" for none.
std::string ago(const std::optional<double>& seconds);
// "in 4m 10s" ("3.0 s ago" once it has passed); "-" for none.
std::string until(const std::optional<double>& seconds);
// "maxActive=5 paused=true": the keys and values of an object.
std::string key_value_text(const nlohmann::json& object);

// ---- --json ---------------------------------------------------------------------------
// The objects of the SQL functions, key for key (the HTTP API's names):
// settings as resv_queue_settings(), a status as resv_queue_status() with
// stuck and etaLastSeconds, a token as resv_queue_token_json() with
// concertId, an audit line as resv_queue_audit().

nlohmann::json settings_json(const QueueSettings& s);
nlohmann::json status_json(const QueueStatus& q);
nlohmann::json token_json(const QueueToken& t);
nlohmann::json audit_json(const QueueAuditEntry& a);

// ---- options --------------------------------------------------------------------------

// A positive id or count; its range goes unsaid in the help (the type name says it).
CLI::Validator positive();
CLI::Option* concert_option(CLI::App* cmd, std::optional<int64_t>& v, const std::string& what);

}  // namespace resv::cli::queue_cmd
