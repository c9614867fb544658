#include "queue/admin.h"

#include <optional>
#include <pqxx/pqxx>
#include <utility>

#include "db/answer.h"
#include "queue/token.h"

namespace resv {

namespace {

using nlohmann::json;

// ---- reading the SQL functions' objects (lenient: what is absent, null or
// of another type counts as none) ------------------------------------------------

const json* field(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::optional<int64_t> opt_int(const json& j, const char* key) {
  const json* v = field(j, key);
  if (!v || !v->is_number()) return std::nullopt;
  return v->is_number_float() ? static_cast<int64_t>(v->get<double>()) : v->get<int64_t>();
}

int64_t int_of(const json& j, const char* key) { return opt_int(j, key).value_or(0); }

std::optional<double> opt_number(const json& j, const char* key) {
  const json* v = field(j, key);
  return v && v->is_number() ? std::optional<double>(v->get<double>()) : std::nullopt;
}

std::optional<std::string> opt_text(const json& j, const char* key) {
  const json* v = field(j, key);
  return v && v->is_string() ? std::optional<std::string>(v->get<std::string>()) : std::nullopt;
}

std::string text_of(const json& j, const char* key) { return opt_text(j, key).value_or(""); }

bool flag(const json& j, const char* key) {
  const json* v = field(j, key);
  return v && v->is_boolean() && v->get<bool>();
}

json object_of(const json& j, const char* key) {
  const json* v = field(j, key);
  return v && v->is_object() ? *v : json::object();
}

QueueSettings settings_from_json(const json& j) {
  QueueSettings s;
  s.enabled = flag(j, "enabled");
  s.paused = flag(j, "paused");
  s.max_active = opt_int(j, "maxActive");
  s.rate_per_second = opt_number(j, "ratePerSecond");
  s.token_ttl_seconds = int_of(j, "tokenTtlSeconds");
  s.abandon_after_seconds = int_of(j, "abandonAfterSeconds");
  s.opens_at = opt_text(j, "opensAt");
  return s;
}

QueueAuditEntry audit_from_json(const json& j) {
  QueueAuditEntry a;
  a.id = int_of(j, "id");
  a.at = text_of(j, "at");
  a.concert_id = int_of(j, "concertId");
  a.actor = text_of(j, "actor");
  a.action = text_of(j, "action");
  a.old_values = object_of(j, "old");
  a.new_values = object_of(j, "new");
  return a;
}

std::optional<double> seconds(const pqxx::field& f) {
  return f.is_null() ? std::nullopt : std::optional<double>(f.as<double>());
}

// A token row: resv_queue_token_json() || {concertId}, then the four
// relative times.
QueueToken token_from_row(const pqxx::row& row) {
  const json j = json::parse(row[0].c_str());
  QueueToken t;
  t.concert_id = int_of(j, "concertId");
  t.user_id = int_of(j, "userId");
  // The nonce is text in the object (a JSON number would lose digits in JavaScript).
  t.nonce = std::stoll(text_of(j, "nonce").empty() ? "0" : text_of(j, "nonce"));
  t.position = opt_int(j, "position");
  t.status = text_of(j, "status");
  t.end_reason = opt_text(j, "endReason");
  t.issued_at = text_of(j, "issuedAt");
  t.admitted_at = opt_text(j, "admittedAt");
  t.expires_at = opt_text(j, "expiresAt");
  t.last_seen_at = text_of(j, "lastSeenAt");
  t.change_no = int_of(j, "changeNo");
  t.issued_ago = seconds(row[1]);
  t.admitted_ago = seconds(row[2]);
  t.expires_in = seconds(row[3]);
  t.last_seen_ago = seconds(row[4]);
  return t;
}

constexpr const char* kTokenColumns =
    " extract(epoch FROM now() - t.issued_at)::float8,"
    " extract(epoch FROM now() - t.admitted_at)::float8,"
    " extract(epoch FROM t.expires_at - now())::float8,"
    " extract(epoch FROM now() - t.last_seen_at)::float8";

QueueStatus derive(QueueStatus q, double stuck_after_s) {
  q.stuck = queue_stuck(q, stuck_after_s);
  q.eta_last_seconds = eta_last_seconds(q);
  return q;
}

// A nullable text parameter: nullptr is SQL NULL.
const char* nullable(const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; }

std::optional<std::string> text_param(const std::optional<int64_t>& v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

}  // namespace

// ---- the database -----------------------------------------------------------------

struct QueueAdmin::Impl {
  std::string url;
  std::optional<pqxx::connection> conn;

  // Runs `body` on the connection (made now if there is none) and turns the
  // failures an operator meets into values; anything else is a defect.
  template <class T, class F>
  Result<T> run(F&& body) {
    try {
      if (!conn) conn.emplace(url);
      return body(*conn);
    } catch (const pqxx::broken_connection& e) {
      conn.reset();
      return Status::DbUnavailable(e.what());
    } catch (const pqxx::undefined_table& e) {
      return no_schema(e);
    } catch (const pqxx::undefined_function& e) {
      return no_schema(e);
    } catch (const pqxx::insufficient_privilege& e) {
      return Status::Error(ErrorCode::Unauthorized, std::string("the database refused: ") + e.what());
    }
  }

  static Status no_schema(const pqxx::sql_error& e) {
    return Status::Internal(std::string("the database has no waiting-room schema: ") + e.what());
  }
};

QueueAdmin::QueueAdmin(std::string database_url) : impl_(std::make_unique<Impl>()) {
  impl_->url = std::move(database_url);
}

QueueAdmin::~QueueAdmin() = default;

Result<QueueSnapshot> QueueAdmin::snapshot(double stuck_after_s) {
  return impl_->run<QueueSnapshot>([&](pqxx::connection& conn) -> Result<QueueSnapshot> {
    pqxx::read_transaction tx(conn);
    QueueSnapshot s;
    s.now = tx.exec("SELECT resv_ts(now())")[0][0].as<std::string>();
    for (const auto& row : tx.exec("SELECT resv_queue_status(concert_id)::text FROM queue_concerts ORDER BY concert_id"))
      if (!row[0].is_null()) s.concerts.push_back(derive(queue_status_from_json(json::parse(row[0].c_str())), stuck_after_s));
    return s;
  });
}

Result<QueueConcert> QueueAdmin::concert(int64_t id, double stuck_after_s) {
  return impl_->run<QueueConcert>([&](pqxx::connection& conn) -> Result<QueueConcert> {
    pqxx::read_transaction tx(conn);
    auto r = tx.exec_params("SELECT name, resv_queue_status(id)::text FROM concerts WHERE id = $1", id);
    if (r.empty()) return Status::NotFound("concert " + std::to_string(id) + " does not exist");
    QueueConcert c;
    c.id = id;
    c.name = r[0][0].as<std::string>();
    if (!r[0][1].is_null()) c.queue = derive(queue_status_from_json(json::parse(r[0][1].c_str())), stuck_after_s);
    return c;
  });
}

Result<QueueTokenPage> QueueAdmin::tokens(const QueueTokenFilter& f) {
  return impl_->run<QueueTokenPage>([&](pqxx::connection& conn) -> Result<QueueTokenPage> {
    pqxx::read_transaction tx(conn);
    const auto concert = text_param(f.concert_id);
    const char* where = " WHERE ($1::bigint IS NULL OR t.concert_id = $1::bigint)"
                        " AND ($2::text IS NULL OR t.status = $2::text)";
    auto rows = tx.exec_params(
        std::string("SELECT (resv_queue_token_json(t) || jsonb_build_object('concertId', t.concert_id))::text,") +
            kTokenColumns + " FROM queue_tokens t" + where +
            " ORDER BY t.concert_id, t.position NULLS LAST, t.issued_at, t.user_id LIMIT $3::bigint",
        nullable(concert), nullable(f.status), f.limit);
    QueueTokenPage page;
    for (const auto& row : rows) page.tokens.push_back(token_from_row(row));
    page.total = tx.exec_params(std::string("SELECT count(*) FROM queue_tokens t") + where, nullable(concert),
                                nullable(f.status))[0][0]
                     .as<int64_t>();
    return page;
  });
}

Result<QueueTokenDetail> QueueAdmin::token(int64_t concert_id, int64_t user_id) {
  return impl_->run<QueueTokenDetail>([&](pqxx::connection& conn) -> Result<QueueTokenDetail> {
    pqxx::read_transaction tx(conn);
    auto rows = tx.exec_params(
        std::string("SELECT (resv_queue_token_json(t) || jsonb_build_object('concertId', t.concert_id))::text,") +
            kTokenColumns +
            ", c.name, CASE WHEN t.position IS NULL THEN NULL ELSE (SELECT count(*) FROM queue_tokens w"
            "   WHERE w.concert_id = t.concert_id AND w.status = 'WAITING' AND w.position < t.position) END"
            " FROM queue_tokens t JOIN concerts c ON c.id = t.concert_id WHERE t.concert_id = $1 AND t.user_id = $2",
        concert_id, user_id);
    if (rows.empty())
      return Status::NotFound("user " + std::to_string(user_id) + " has no token for concert " +
                              std::to_string(concert_id));
    QueueTokenDetail d;
    d.token = token_from_row(rows[0]);
    d.concert_name = rows[0][5].as<std::string>();
    if (!rows[0][6].is_null()) d.ahead = rows[0][6].as<int64_t>();
    return d;
  });
}

Result<std::optional<std::string>> QueueAdmin::stored_secret() {
  return impl_->run<std::optional<std::string>>([&](pqxx::connection& conn) -> Result<std::optional<std::string>> {
    pqxx::read_transaction tx(conn);
    auto r = tx.exec("SELECT secret FROM queue_secret WHERE id = 1");
    if (r.empty() || r[0][0].is_null()) return std::optional<std::string>();
    return std::optional<std::string>(r[0][0].as<std::string>());
  });
}

Result<QueueChangeResult> QueueAdmin::change(const QueueChange& c) {
  return impl_->run<QueueChangeResult>([&](pqxx::connection& conn) -> Result<QueueChangeResult> {
    std::string text;
    try {
      pqxx::work tx(conn);
      // A session stuck holding the queue's row must not hang an operator mid-incident.
      tx.exec("SET LOCAL lock_timeout = '10s'");
      if (c.action == QueueAction::Admit)
        text = tx.exec_params1("SELECT resv_queue_admit($1, $2, $3)::text", c.concert_id, c.count, c.actor)[0]
                   .as<std::string>();
      else if (c.action == QueueAction::Drain)
        text = tx.exec_params1("SELECT resv_queue_drain($1, $2)::text", c.concert_id, c.actor)[0].as<std::string>();
      else
        text = tx.exec_params1("SELECT resv_queue_configure($1, $2::jsonb, $3, $4)::text", c.concert_id,
                               queue_configure_set(c).dump(), c.actor, std::string(queue_action_name(c.action)))[0]
                   .as<std::string>();
      auto answer = parse_db_answer(text);
      if (!answer.ok()) return answer.status();  // rolled back as tx goes out of scope
      if (!c.dry_run) tx.commit();               // a dry run is rolled back the same way
      QueueChangeResult r;
      r.dry_run = c.dry_run;
      r.audit = audit_from_json(object_of(answer.value(), "audit"));
      if (const json* s = field(answer.value(), "settings")) r.settings = settings_from_json(*s);
      r.admitted = opt_int(answer.value(), "admitted");
      return r;
    } catch (const pqxx::data_exception& e) {
      // resv_queue_configure() answers for the values it parses; this is
      // one it could not take at all.
      return Status::Invalid(std::string("invalid setting: ") + e.what());
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() != "55P03") throw;
      return Status::Error(ErrorCode::Busy, "the waiting room of concert " + std::to_string(c.concert_id) +
                                                " stayed locked by another session for 10 s; nothing was changed");
    }
  });
}

Result<std::vector<QueueAuditEntry>> QueueAdmin::history(std::optional<int64_t> concert_id, int64_t limit) {
  return impl_->run<std::vector<QueueAuditEntry>>([&](pqxx::connection& conn) -> Result<std::vector<QueueAuditEntry>> {
    pqxx::read_transaction tx(conn);
    const auto concert = text_param(concert_id);
    auto rows = tx.exec_params(
        "SELECT jsonb_build_object('id', id, 'at', resv_ts(at), 'concertId', concert_id, 'actor', actor,"
        " 'action', action, 'old', old_values, 'new', new_values)::text FROM queue_audit"
        " WHERE $1::bigint IS NULL OR concert_id = $1::bigint ORDER BY id DESC LIMIT $2::bigint",
        nullable(concert), limit);
    std::vector<QueueAuditEntry> entries;
    for (const auto& row : rows) entries.push_back(audit_from_json(json::parse(row[0].c_str())));
    return entries;
  });
}

// ---- pure -------------------------------------------------------------------------------

std::string_view queue_action_name(QueueAction a) {
  switch (a) {
    case QueueAction::Enable: return "enable";
    case QueueAction::Disable: return "disable";
    case QueueAction::Pause: return "pause";
    case QueueAction::Resume: return "resume";
    case QueueAction::Set: return "set";
    case QueueAction::Admit: return "admit";
    case QueueAction::Drain: return "drain";
  }
  return "?";
}

json queue_configure_set(const QueueChange& c) {
  json set = c.action == QueueAction::Enable || c.action == QueueAction::Set ? c.settings : json::object();
  if (!set.is_object()) set = json::object();
  switch (c.action) {
    case QueueAction::Enable: set["enabled"] = true; break;
    case QueueAction::Disable: set["enabled"] = false; break;
    case QueueAction::Pause: set["paused"] = true; break;
    case QueueAction::Resume: set["paused"] = false; break;
    case QueueAction::Set:
    case QueueAction::Admit:
    case QueueAction::Drain: break;
  }
  return set;
}

QueueStatus queue_status_from_json(const json& j) {
  QueueStatus q;
  q.concert_id = int_of(j, "concertId");
  q.concert_name = text_of(j, "concertName");
  q.settings = settings_from_json(j);
  q.waiting = int_of(j, "waiting");
  q.pre_queue = int_of(j, "preQueue");
  q.active = int_of(j, "active");
  q.issued = int_of(j, "issued");
  q.admitted_total = int_of(j, "admittedTotal");
  q.issued_last_minute = int_of(j, "issuedLastMinute");
  q.admitted_last_minute = int_of(j, "admittedLastMinute");
  const json expired = object_of(j, "expiredLastMinute");
  for (const auto& [reason, n] : expired.items())
    if (n.is_number()) q.expired_last_minute[reason] = n.get<int64_t>();
  q.oldest_wait_seconds = opt_number(j, "oldestWaitSeconds");
  q.last_admit_at = opt_text(j, "lastAdmitAt");
  q.seconds_since_last_admit = opt_number(j, "secondsSinceLastAdmit");
  q.now = text_of(j, "now");
  return q;
}

bool queue_stuck(const QueueStatus& q, double threshold_s) {
  if (!q.settings.enabled || q.settings.paused) return false;
  int64_t movable = q.waiting;
  // Before the opening the pre-queue cannot move. resv_ts() times compare as text.
  if (q.settings.opens_at && !q.now.empty() && *q.settings.opens_at > q.now) movable -= q.pre_queue;
  if (movable <= 0) return false;
  if (!q.last_admit_at) return true;
  return q.seconds_since_last_admit.value_or(0) > threshold_s;
}

std::optional<double> eta_last_seconds(const QueueStatus& q) {
  if (q.waiting <= 0) return 0.0;
  if (!q.settings.enabled || q.settings.paused) return std::nullopt;
  if (q.admitted_last_minute <= 0) return std::nullopt;
  return static_cast<double>(q.waiting) / (static_cast<double>(q.admitted_last_minute) / 60.0);
}

QueueTokenCheck check_queue_token(std::string_view token, const std::optional<std::string>& secret,
                                  const std::optional<int64_t>& stored_nonce) {
  QueueTokenCheck c;
  if (secret && !secret->empty()) c.signature_valid = verify_queue_token(token, *secret).has_value();
  if (auto claims = parse_queue_token(token); claims && stored_nonce) c.nonce_matches = claims->nonce == *stored_nonce;
  return c;
}

}  // namespace resv
