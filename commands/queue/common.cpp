// What the verbs of `resv queue` share (commands/queue/queue.h).
#include <cmath>
#include <string>

#include "cli/db_connect.h"
#include "cli/output.h"
#include "commands/queue/queue.h"

namespace resv::cli::queue_cmd {

using nlohmann::json;

namespace {

// A figure the database computed, as PostgreSQL writes it in JSON: 2, not 2.0.
json db_number(double v) {
  if (std::floor(v) == v && std::fabs(v) < 9e15) return json(static_cast<int64_t>(v));
  return json(v);
}

template <class T>
json or_null(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json db_number_or_null(const std::optional<double>& v) { return v ? db_number(*v) : json(nullptr); }

}  // namespace

// ---- outcomes -------------------------------------------------------------------------

Outcome failure(const Context& ctx, const std::string& url, const Status& s, const std::string& hint) {
  switch (s.code()) {
    case ErrorCode::DbUnavailable:
      return cannot_connect(ctx, url, s.message());
    case ErrorCode::Internal:  // the schema is not the one resv knows
      return Outcome::Failed(first_line(s.message()), "apply the migrations with 'resv db migrate'");
    case ErrorCode::Unauthorized:
      return Outcome::Failed(first_line(s.message()),
                             "connect as a role that may use the waiting-room tables and functions (--db URL)");
    case ErrorCode::Busy:
      return Outcome::Failed(s.message(),
                             "'resv locks' shows the session that holds it and how to end it; then try again");
    case ErrorCode::InvalidRequest:
      return Outcome::Usage(first_line(s.message()), hint);
    case ErrorCode::NotFound:
      return Outcome::Failed(s.message(), hint);
    default:
      return Outcome::Failed(s.message() + " (" + std::string(code_name(s.code())) + ")", hint);
  }
}

std::string concert_label(int64_t id, const std::string& name) {
  return "concert " + std::to_string(id) + (name.empty() ? "" : " (" + name + ")");
}

Outcome no_such_concert(int64_t id) {
  return Outcome::Failed("concert " + std::to_string(id) + " does not exist",
                         "'resv queue status' lists the concerts with a waiting room");
}

Outcome no_queue(int64_t id, const std::string& name) {
  return Outcome::Failed(concert_label(id, name) + " has no waiting room",
                         "create one with 'resv queue enable --concert " + std::to_string(id) + "'");
}

Expected<QueueConcert> concert_of(const Context& ctx, const std::string& url, QueueAdmin& db, int64_t id,
                                  bool need_queue, double stuck_after_s) {
  auto c = db.concert(id, stuck_after_s);
  if (!c.ok()) return c.status().code() == ErrorCode::NotFound ? no_such_concert(id) : failure(ctx, url, c.status());
  if (need_queue && !c->queue) return no_queue(id, c->name);
  return std::move(c.value());
}

// ---- text -----------------------------------------------------------------------------

std::string ago(const std::optional<double>& seconds) {
  if (!seconds) return "-";
  if (*seconds < 0) return "in " + human_duration(-*seconds);
  return human_duration(*seconds) + " ago";
}

std::string until(const std::optional<double>& seconds) {
  if (!seconds) return "-";
  if (*seconds < 0) return human_duration(-*seconds) + " ago";
  return "in " + human_duration(*seconds);
}

std::string key_value_text(const json& object) {
  std::string out;
  if (!object.is_object()) return out;
  for (const auto& [k, v] : object.items()) out += (out.empty() ? "" : " ") + k + "=" + v.dump();
  return out;
}

// ---- --json ---------------------------------------------------------------------------

json settings_json(const QueueSettings& s) {
  return {{"enabled", s.enabled},
          {"paused", s.paused},
          {"maxActive", or_null(s.max_active)},
          {"ratePerSecond", db_number_or_null(s.rate_per_second)},
          {"tokenTtlSeconds", s.token_ttl_seconds},
          {"abandonAfterSeconds", s.abandon_after_seconds},
          {"opensAt", or_null(s.opens_at)}};
}

json status_json(const QueueStatus& q) {
  json j = settings_json(q.settings);
  j["concertId"] = q.concert_id;
  j["concertName"] = q.concert_name;
  j["waiting"] = q.waiting;
  j["preQueue"] = q.pre_queue;
  j["active"] = q.active;
  j["issued"] = q.issued;
  j["admittedTotal"] = q.admitted_total;
  j["issuedLastMinute"] = q.issued_last_minute;
  j["admittedLastMinute"] = q.admitted_last_minute;
  j["expiredLastMinute"] = json::object();
  for (const auto& [reason, n] : q.expired_last_minute) j["expiredLastMinute"][reason] = n;
  j["oldestWaitSeconds"] = db_number_or_null(q.oldest_wait_seconds);
  j["lastAdmitAt"] = or_null(q.last_admit_at);
  j["secondsSinceLastAdmit"] = db_number_or_null(q.seconds_since_last_admit);
  j["now"] = q.now;
  j["stuck"] = q.stuck;
  j["etaLastSeconds"] = or_null(q.eta_last_seconds);
  return j;
}

json token_json(const QueueToken& t) {
  return {{"concertId", t.concert_id},
          {"userId", t.user_id},
          {"nonce", std::to_string(t.nonce)},
          {"position", or_null(t.position)},
          {"status", t.status},
          {"endReason", or_null(t.end_reason)},
          {"issuedAt", t.issued_at},
          {"admittedAt", or_null(t.admitted_at)},
          {"expiresAt", or_null(t.expires_at)},
          {"lastSeenAt", t.last_seen_at},
          {"changeNo", t.change_no}};
}

json audit_json(const QueueAuditEntry& a) {
  return {{"id", a.id},         {"at", a.at},   {"concertId", a.concert_id}, {"actor", a.actor},
          {"action", a.action}, {"old", a.old_values}, {"new", a.new_values}};
}

// ---- options --------------------------------------------------------------------------

CLI::Validator positive() { return CLI::Range(int64_t{1}, INT64_MAX).description(""); }

CLI::Option* concert_option(CLI::App* cmd, std::optional<int64_t>& v, const std::string& what) {
  return cmd->add_option("--concert", v, what)->type_name("ID")->check(positive());
}

}  // namespace resv::cli::queue_cmd
