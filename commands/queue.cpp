// resv queue: each concert's waiting room, read and driven in the database
// (sql/0004_queue.sql), so that it works while every resv-server is down.
// Every change goes through the SQL functions, which lock the concert's
// queue, write the audit line and tell the servers (NOTIFY resv_queue).
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/db_connect.h"
#include "cli/output.h"
#include "cli/queue_args.h"
#include "cli/watch.h"
#include "queue/token.h"

namespace resv::cli {

namespace {

using nlohmann::json;

std::string str(int64_t v) { return std::to_string(v); }

// A nullable text parameter: nullptr is SQL NULL.
const char* nullable(const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; }

std::optional<std::string> text_of(const std::optional<int64_t>& v) {
  return v ? std::optional<std::string>(str(*v)) : std::nullopt;
}

int64_t int_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}

std::optional<double> number_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? std::optional<double>(it->get<double>()) : std::nullopt;
}

std::string os_user_name() {
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_name && *pw->pw_name) return pw->pw_name;
  if (const char* user = std::getenv("USER"); user && *user) return user;
  return "unknown";
}

// "12 s ago", "3m 4s ago"; "-" for none.
std::string ago(const std::optional<double>& seconds) {
  if (!seconds) return "-";
  if (*seconds < 0) return "in " + human_duration(-*seconds);
  return human_duration(*seconds) + " ago";
}

// "in 4m 10s", or "3.0 s ago" once it has passed; "-" for none.
std::string until(const std::optional<double>& seconds) {
  if (!seconds) return "-";
  if (*seconds < 0) return human_duration(-*seconds) + " ago";
  return "in " + human_duration(*seconds);
}

std::optional<double> field_seconds(const pqxx::field& f) {
  return f.is_null() ? std::nullopt : std::optional<double>(f.as<double>());
}

// ---- the database ------------------------------------------------------------

Outcome no_schema(const std::string& why) {
  return Outcome::Failed("the database has no waiting-room schema: " + first_line(why),
                         "apply the migrations with 'resv db migrate'");
}

// Runs `body` on a connection to the configured database. A connection that
// cannot be made, or breaks, is exit 3 with the hint of 'resv db'; a schema
// without the queue tables says to migrate.
template <class F>
Outcome with_db(const Context& ctx, F&& body) {
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  try {
    pqxx::connection conn(url.value());
    return body(conn);
  } catch (const pqxx::broken_connection& e) {
    return cannot_connect(ctx, url.value(), e.what());
  } catch (const pqxx::undefined_table& e) {
    return no_schema(e.what());
  } catch (const pqxx::undefined_function& e) {
    return no_schema(e.what());
  } catch (const pqxx::insufficient_privilege& e) {
    return Outcome::Failed("the database refused: " + first_line(e.what()),
                           "connect as a role that may use the waiting-room tables and functions (--db URL)");
  }
}

// A concert and its queue as the database has them now.
struct ConcertQueue {
  bool exists = false;
  std::string name;
  json status;  // resv_queue_status(); null when the concert has no queue
};

ConcertQueue look_up(pqxx::transaction_base& tx, int64_t concert) {
  ConcertQueue c;
  auto r = tx.exec_params("SELECT name, resv_queue_status(id)::text FROM concerts WHERE id = $1", concert);
  if (r.empty()) return c;
  c.exists = true;
  c.name = r[0][0].as<std::string>();
  if (!r[0][1].is_null()) c.status = json::parse(r[0][1].c_str());
  return c;
}

std::string concert_label(int64_t id, const std::string& name) {
  return "concert " + str(id) + (name.empty() ? "" : " (" + name + ")");
}

Outcome no_such_concert(int64_t id) {
  return Outcome::Failed("concert " + str(id) + " does not exist",
                         "'resv queue status' lists the concerts with a waiting room");
}

Outcome no_queue(int64_t id, const std::string& name) {
  return Outcome::Failed(concert_label(id, name) + " has no waiting room",
                         "create one with 'resv queue enable --concert " + str(id) + "'");
}

// ---- status --------------------------------------------------------------------

struct StatusFlags {
  std::optional<int64_t> concert;
  int watch = 0;
  std::optional<int> fail_if_stuck;
};

struct Snapshot {
  std::string now;  // the database's clock
  json concerts = json::array();
};

// The status objects with "stuck" and "etaLastSeconds", or why there are none.
Expected<Snapshot> take_snapshot(pqxx::connection& conn, const StatusFlags& f, double threshold) {
  pqxx::read_transaction tx(conn);
  Snapshot s;
  s.now = tx.exec("SELECT resv_ts(now())")[0][0].as<std::string>();
  if (f.concert) {
    auto c = look_up(tx, *f.concert);
    if (!c.exists) return no_such_concert(*f.concert);
    if (c.status.is_null()) return no_queue(*f.concert, c.name);
    s.concerts.push_back(std::move(c.status));
  } else {
    for (const auto& row : tx.exec("SELECT resv_queue_status(concert_id)::text FROM queue_concerts ORDER BY concert_id"))
      if (!row[0].is_null()) s.concerts.push_back(json::parse(row[0].c_str()));
  }
  for (auto& q : s.concerts) {
    q["stuck"] = queue_stuck(q, threshold);
    auto eta = eta_last_seconds(q);
    q["etaLastSeconds"] = eta ? json(*eta) : json(nullptr);
  }
  return s;
}

std::string state_of(const Output& out, const json& q) {
  if (!q.value("enabled", false)) return "disabled";
  if (q.value("paused", false)) return out.yellow("paused");
  if (q.value("stuck", false)) return out.red("stuck");
  if (q.contains("opensAt") && q["opensAt"].is_string()) return "pre-opening";
  return out.green("running");
}

std::string expired_cell(const json& q) {
  std::string out;
  if (q.contains("expiredLastMinute") && q["expiredLastMinute"].is_object())
    for (const auto& [reason, n] : q["expiredLastMinute"].items())
      out += (out.empty() ? "" : ", ") + reason + " " + n.dump();
  return out.empty() ? "-" : out;
}

std::string status_table(const Output& out, const json& concerts) {
  Table t({"CONCERT", "STATE", "WAITING", "PRE-QUEUE", "ACTIVE", "MAX-ACTIVE", "RATE/S", "TOKEN-TTL", "ISSUED",
           "ADMITTED", "ISSUED/S", "ADMITTED/S", "OLDEST-WAIT", "LAST-ADMIT", "ETA-LAST", "EXPIRED"});
  for (const auto& q : concerts) {
    auto oldest = number_of(q, "oldestWaitSeconds");
    auto eta = number_of(q, "etaLastSeconds");
    auto rate = number_of(q, "ratePerSecond");
    char rate_text[32] = "-";
    if (rate) std::snprintf(rate_text, sizeof rate_text, "%g", *rate);
    t.add({str(int_of(q, "concertId")), state_of(out, q), str(int_of(q, "waiting")), str(int_of(q, "preQueue")),
           str(int_of(q, "active")), q.contains("maxActive") && q["maxActive"].is_number() ? q["maxActive"].dump() : "-",
           rate_text, human_duration(static_cast<double>(int_of(q, "tokenTtlSeconds"))), str(int_of(q, "issued")),
           str(int_of(q, "admittedTotal")), per_second(int_of(q, "issuedLastMinute")),
           per_second(int_of(q, "admittedLastMinute")), oldest ? human_duration(*oldest) : "-",
           q.contains("lastAdmitAt") && q["lastAdmitAt"].is_string() ? ago(number_of(q, "secondsSinceLastAdmit"))
                                                                      : "never",
           eta ? (*eta == 0 ? "0" : human_duration(*eta)) : "unknown", expired_cell(q)});
  }
  return t.render();
}

// The --fail-if-stuck finding, one clause per stuck concert; "" when none.
std::string stuck_report(const json& concerts, double threshold) {
  std::string out;
  for (const auto& q : concerts) {
    if (!queue_stuck(q, threshold)) continue;
    std::string clause = concert_label(int_of(q, "concertId"), q.value("concertName", "")) + ": " +
                         str(int_of(q, "waiting")) + " waiting and ";
    if (q.contains("lastAdmitAt") && q["lastAdmitAt"].is_string())
      clause += "nothing admitted since " + short_time(q["lastAdmitAt"]) + " (" +
                ago(number_of(q, "secondsSinceLastAdmit")) + ")";
    else
      clause += "nobody admitted yet (the oldest has waited " + human_duration(number_of(q, "oldestWaitSeconds").value_or(0)) +
                ")";
    out += (out.empty() ? "" : "; ") + clause;
  }
  return out;
}

Outcome print_snapshot(const Context& ctx, const WatchFrame& frame, const Snapshot& s, const StatusFlags& f,
                       double threshold) {
  const Output& out = ctx.out();
  std::string text = frame.start();
  if (out.json()) {
    out.data(text + json{{"concerts", s.concerts}}.dump(2) + "\n");
  } else {
    text += frame.title("queues at " + short_time(s.now));
    if (!s.concerts.empty()) text += status_table(out, s.concerts);
    if (frame.watching()) text += "\n";
    if (!text.empty()) out.data(text);
    if (s.concerts.empty() && !frame.watching())
      out.info("no concert has a waiting room (create one with 'resv queue enable --concert ID')");
  }
  if (!f.fail_if_stuck) return Outcome::Ok();
  if (auto stuck = stuck_report(s.concerts, threshold); !stuck.empty())
    return Outcome::Problem(
        "stuck for more than " + str(*f.fail_if_stuck) + " s: " + stuck,
        "see whether every admitted user is still active ('resv queue list --status ACTIVE') and whether the servers "
        "run ('resv server status'); 'resv queue admit N --concert ID' admits by hand");
  return Outcome::Ok();
}

Outcome run_status(const Context& ctx, const StatusFlags& f) {
  const double threshold = f.fail_if_stuck ? *f.fail_if_stuck : kDefaultStuckSeconds;
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  std::unique_ptr<pqxx::connection> conn;  // kept from round to round; made again after a lost connection
  return run_watch(ctx.out(), std::chrono::seconds(f.watch), [&](const WatchFrame& frame) -> Outcome {
    try {
      if (!conn) conn = std::make_unique<pqxx::connection>(url.value());
      auto s = take_snapshot(*conn, f, threshold);
      return s.ok() ? print_snapshot(ctx, frame, s.value(), f, threshold) : s.outcome();
    } catch (const pqxx::broken_connection& e) {
      conn.reset();
      return cannot_connect(ctx, url.value(), e.what());
    } catch (const pqxx::undefined_table& e) {
      return no_schema(e.what());
    } catch (const pqxx::undefined_function& e) {
      return no_schema(e.what());
    } catch (const pqxx::insufficient_privilege& e) {
      return Outcome::Failed("the database refused: " + first_line(e.what()),
                             "connect as a role that may use the waiting-room tables and functions (--db URL)");
    }
  });
}

// ---- list ----------------------------------------------------------------------

struct ListFlags {
  std::optional<int64_t> concert;
  std::string status;
  int64_t limit = 50;
};

Outcome run_list(const Context& ctx, const ListFlags& f) {
  return with_db(ctx, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    if (f.concert) {
      auto c = look_up(tx, *f.concert);
      if (!c.exists) return no_such_concert(*f.concert);
      if (c.status.is_null()) return no_queue(*f.concert, c.name);
    }
    const std::optional<std::string> concert = text_of(f.concert);
    const std::optional<std::string> status = f.status.empty() ? std::nullopt : std::optional(f.status);
    const char* where = " WHERE ($1::bigint IS NULL OR t.concert_id = $1::bigint)"
                        " AND ($2::text IS NULL OR t.status = $2::text)";
    auto rows = tx.exec_params(
        std::string("SELECT (resv_queue_token_json(t) || jsonb_build_object('concertId', t.concert_id))::text,"
                    " extract(epoch FROM now() - t.issued_at)::float8,"
                    " extract(epoch FROM now() - t.admitted_at)::float8,"
                    " extract(epoch FROM t.expires_at - now())::float8,"
                    " extract(epoch FROM now() - t.last_seen_at)::float8"
                    " FROM queue_tokens t") +
            where + " ORDER BY t.concert_id, t.position NULLS LAST, t.issued_at, t.user_id LIMIT $3::bigint",
        nullable(concert), nullable(status), f.limit);
    const int64_t total =
        tx.exec_params(std::string("SELECT count(*) FROM queue_tokens t") + where, nullable(concert), nullable(status))[0][0]
            .as<int64_t>();
    json tokens = json::array();
    Table t({"CONCERT", "USER", "POSITION", "STATUS", "END-REASON", "ISSUED", "ADMITTED", "EXPIRES", "LAST-SEEN"});
    for (const auto& row : rows) {
      json tok = json::parse(row[0].c_str());
      t.add({str(int_of(tok, "concertId")), str(int_of(tok, "userId")),
             tok["position"].is_number() ? tok["position"].dump() : "pre-queue", tok.value("status", "?"),
             tok["endReason"].is_string() ? tok["endReason"].get<std::string>() : "-", ago(field_seconds(row[1])),
             ago(field_seconds(row[2])), until(field_seconds(row[3])), ago(field_seconds(row[4]))});
      tokens.push_back(std::move(tok));
    }
    if (ctx.out().json())
      ctx.out().print_json({{"tokens", tokens}});
    else if (!t.empty())
      ctx.out().data(t.render());
    if (tokens.empty())
      ctx.out().info("no token matches");
    else if (total > static_cast<int64_t>(tokens.size()))
      ctx.out().info("showing " + str(static_cast<int64_t>(tokens.size())) + " of " + str(total) +
                     " tokens; --limit N shows more");
    return Outcome::Ok();
  });
}

// ---- inspect -------------------------------------------------------------------

struct InspectFlags {
  std::string token;
  std::optional<int64_t> user, concert;
};

Outcome run_inspect(const Context& ctx, const InspectFlags& f) {
  const bool by_token = !f.token.empty();
  if (by_token && (f.user || f.concert))
    return Outcome::Usage("give a TOKEN or --user and --concert, not both", "e.g. 'resv queue inspect q1.12.42....'");
  if (!by_token && !(f.user && f.concert))
    return Outcome::Usage("name the token to inspect: TOKEN, or --user ID with --concert ID",
                          "e.g. 'resv queue inspect --user 42 --concert 12'");
  std::optional<QueueTokenClaims> claims;
  if (by_token) {
    claims = parse_queue_token(f.token);
    if (!claims)
      return Outcome::Usage("this is not a queue token (q1.CONCERT.USER.NONCE.MAC)",
                            "pass the token exactly as POST /api/queue/tokens answered it");
  }
  const int64_t concert = by_token ? claims->concert_id : *f.concert;
  const int64_t user = by_token ? claims->user_id : *f.user;

  return with_db(ctx, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    auto rows = tx.exec_params(
        "SELECT (resv_queue_token_json(t) || jsonb_build_object('concertId', t.concert_id, 'concertName', c.name,"
        "   'ahead', CASE WHEN t.position IS NULL THEN NULL ELSE (SELECT count(*) FROM queue_tokens w"
        "     WHERE w.concert_id = t.concert_id AND w.status = 'WAITING' AND w.position < t.position) END))::text,"
        " t.nonce,"
        " extract(epoch FROM now() - t.issued_at)::float8,"
        " extract(epoch FROM now() - t.admitted_at)::float8,"
        " extract(epoch FROM t.expires_at - now())::float8,"
        " extract(epoch FROM now() - t.last_seen_at)::float8"
        " FROM queue_tokens t JOIN concerts c ON c.id = t.concert_id WHERE t.concert_id = $1 AND t.user_id = $2",
        concert, user);

    // The token's own checks: its mac under the servers' secret, and its
    // nonce against the row's (another nonce: a token of an earlier queue).
    json check = nullptr;
    std::string problems;
    if (by_token) {
      std::string secret, source;
      if (const char* env = std::getenv("RESV_QUEUE_SECRET"); env && *env) {
        secret = env;
        source = "RESV_QUEUE_SECRET";
      } else if (auto s = tx.exec("SELECT secret FROM queue_secret WHERE id = 1"); !s.empty()) {
        secret = s[0][0].as<std::string>();
        source = "queue_secret";
      }
      json valid = nullptr;
      if (!secret.empty()) valid = verify_queue_token(f.token, secret).has_value();
      json nonce_matches = nullptr;
      if (!rows.empty()) nonce_matches = rows[0][1].as<int64_t>() == claims->nonce;
      check = {{"signatureValid", valid},
               {"secretSource", source.empty() ? json(nullptr) : json(source)},
               {"nonceMatches", nonce_matches}};
      if (valid.is_null())
        ctx.out().warn("cannot check the signature: RESV_QUEUE_SECRET is not set and the database has no queue secret "
                       "(no resv-server has issued tokens on it)");
      else if (!valid.get<bool>())
        problems = "its signature does not verify with the secret from " + source +
                   " (altered, or signed with another secret)";
      if (nonce_matches.is_boolean() && !nonce_matches.get<bool>())
        problems += (problems.empty() ? "" : "; ") +
                    std::string("its nonce differs from the stored one (a token of an earlier queue of this concert)");
    }
    if (rows.empty())
      return Outcome::Failed("user " + str(user) + " has no token for concert " + str(concert) +
                                 (problems.empty() ? "" : "; and " + problems),
                             "'resv queue list --concert " + str(concert) + "' lists the tokens of the concert");

    json tok = json::parse(rows[0][0].c_str());
    tok["token"] = check;
    if (ctx.out().json()) {
      ctx.out().print_json(tok);
    } else {
      const auto& row = rows[0];
      std::string position = tok["position"].is_number() ? tok["position"].dump() : "none yet (pre-queue: drawn at opening)";
      if (tok["ahead"].is_number()) position += " (" + tok["ahead"].dump() + " waiting ahead)";
      auto when = [&](const char* key, const std::string& relative) {
        return tok[key].is_string() ? short_time(tok[key]) + " (" + relative + ")" : std::string("-");
      };
      std::vector<std::pair<std::string, std::string>> kv{
          {"concert", concert_label(concert, tok.value("concertName", ""))},
          {"user", str(user)},
          {"status", tok.value("status", "?")},
          {"position", position},
          {"end reason", tok["endReason"].is_string() ? tok["endReason"].get<std::string>() : "-"},
          {"issued", when("issuedAt", ago(field_seconds(row[2])))},
          {"admitted", when("admittedAt", ago(field_seconds(row[3])))},
          {"expires", when("expiresAt", until(field_seconds(row[4])))},
          {"last seen", when("lastSeenAt", ago(field_seconds(row[5])))}};
      if (by_token) {
        const json& valid = check["signatureValid"];
        kv.push_back({"signature", valid.is_null()         ? "not checked (no secret)"
                                   : valid.get<bool>() ? ctx.out().green("valid") + " (secret from " +
                                                             check["secretSource"].get<std::string>() + ")"
                                                       : ctx.out().red("DOES NOT VERIFY")});
        kv.push_back({"nonce", check["nonceMatches"].get<bool>() ? "matches the stored token"
                                                                 : ctx.out().red("DIFFERS from the stored token")});
      }
      ctx.out().data(key_values(kv));
    }
    if (!problems.empty())
      return Outcome::Problem("the servers would refuse this token: " + problems,
                              "the user gets a valid token again from POST /api/queue/tokens");
    return Outcome::Ok();
  });
}

// ---- changes -------------------------------------------------------------------

enum class Action { Enable, Disable, Pause, Resume, Set, Admit, Drain };

const char* action_name(Action a) {
  switch (a) {
    case Action::Enable: return "enable";
    case Action::Disable: return "disable";
    case Action::Pause: return "pause";
    case Action::Resume: return "resume";
    case Action::Set: return "set";
    case Action::Admit: return "admit";
    case Action::Drain: return "drain";
  }
  return "?";
}

struct ChangeFlags {
  int64_t concert = 0;
  bool yes = false;
  bool dry_run = false;
  std::optional<std::string> actor;
  QueueSettingsArgs settings;
  int64_t count = 0;  // admit N
};

std::string settings_text(const json& patch) {
  std::string out;
  for (const auto& [k, v] : patch.items()) out += (out.empty() ? "" : " ") + k + "=" + v.dump();
  return out;
}

std::string question(Action a, int64_t concert, const ConcertQueue& c, const json& patch, int64_t count) {
  const std::string who = concert_label(concert, c.name);
  const int64_t waiting = c.status.is_null() ? 0 : int_of(c.status, "waiting");
  switch (a) {
    case Action::Enable:
      return "Enable the waiting room of " + who + (patch.empty() ? "" : " with " + settings_text(patch)) +
             "? Holds and payments for it will need an admitted queue token.";
    case Action::Disable:
      return "Turn off the waiting room of " + who + "? Holds and payments will no longer need a queue token.";
    case Action::Pause:
      return "Pause admissions to " + who + "? " + str(waiting) + " waiting; nobody is admitted until 'resv queue resume'.";
    case Action::Resume:
      return "Resume admissions to " + who + " (" + str(waiting) + " waiting)?";
    case Action::Set:
      return "Change the waiting room of " + who + ": " + settings_text(patch) + "?";
    case Action::Admit:
      return "Admit the next " + str(count) + " of the " + str(waiting) + " waiting for " + who +
             " now, whatever its limits and pause say?";
    case Action::Drain:
      return "Admit all " + str(waiting) + " waiting for " + who + " and turn its waiting room off?";
  }
  return "";
}

Outcome refused(const json& answer) {
  const std::string code = answer.value("code", "");
  const std::string message = answer.value("message", "the database refused the change");
  if (code == "NOT_FOUND")
    return Outcome::Failed(message, "'resv queue status' lists the concerts with a waiting room; "
                                    "'resv queue enable --concert ID' creates one");
  if (code == "INVALID_REQUEST") return Outcome::Usage(message, "see 'resv queue set --help'");
  return Outcome::Failed(message + (code.empty() ? "" : " (" + code + ")"));
}

void print_change(const Context& ctx, Action a, const json& answer, bool dry_run) {
  const Output& out = ctx.out();
  if (out.json()) {
    json doc = answer;
    doc["dryRun"] = dry_run;
    out.print_json(doc);
  } else {
    const json& audit = answer["audit"];
    const std::string change = audit.value("action", "?") + " " + describe_change(audit["old"], audit["new"]);
    if (dry_run)
      out.data("would record: " + change + " (by " + audit.value("actor", "?") + ")");
    else
      out.data("audit #" + audit["id"].dump() + " at " + short_time(audit["at"]) + " by " + audit.value("actor", "?") +
               ": " + change);
  }
  if ((a == Action::Admit || a == Action::Drain) && answer.contains("admitted"))
    out.info((dry_run ? "would admit " : "admitted ") + answer["admitted"].dump() + " user(s)" +
             (a == Action::Drain ? (dry_run ? " and turn the waiting room off" : "; the waiting room is off") : ""));
  if (dry_run) out.info("dry run: nothing was changed");
}

Outcome run_change(const Context& ctx, Action a, const ChangeFlags& f) {
  if (f.actor && f.actor->empty()) return Outcome::Usage("--actor is empty", "name who acts, e.g. --actor deploy-bot");
  const std::string actor = f.actor ? *f.actor : os_user_name();
  json patch = json::object();
  if (a == Action::Enable || a == Action::Set) {
    if (a == Action::Set && f.settings.empty())
      return Outcome::Usage("nothing to set",
                            "give at least one of --max-active, --rate, --token-ttl, --abandon-after, --opens-at");
    auto p = queue_settings_patch(f.settings);
    if (!p.ok()) return p.outcome();
    patch = p.value();
  }
  json set = patch;
  if (a == Action::Enable) set["enabled"] = true;
  if (a == Action::Disable) set["enabled"] = false;
  if (a == Action::Pause) set["paused"] = true;
  if (a == Action::Resume) set["paused"] = false;

  return with_db(ctx, [&](pqxx::connection& conn) -> Outcome {
    ConcertQueue c;
    {  // not in the transaction of the change: no snapshot is held while asking
      pqxx::read_transaction tx(conn);
      c = look_up(tx, f.concert);
    }
    if (!c.exists) return no_such_concert(f.concert);
    if (a != Action::Enable && c.status.is_null()) return no_queue(f.concert, c.name);
    if (!f.dry_run)
      if (auto ok = confirm(ctx, question(a, f.concert, c, patch, f.count), f.yes); !ok.ok()) return ok;

    json answer;
    try {
      pqxx::work tx(conn);
      // A session stuck holding the queue's row must not hang an operator mid-incident.
      tx.exec("SET LOCAL lock_timeout = '10s'");
      std::string text;
      if (a == Action::Admit)
        text = tx.exec_params1("SELECT resv_queue_admit($1, $2, $3)::text", f.concert, f.count, actor)[0].as<std::string>();
      else if (a == Action::Drain)
        text = tx.exec_params1("SELECT resv_queue_drain($1, $2)::text", f.concert, actor)[0].as<std::string>();
      else
        text = tx.exec_params1("SELECT resv_queue_configure($1, $2::jsonb, $3, $4)::text", f.concert, set.dump(),
                               actor, action_name(a))[0]
                   .as<std::string>();
      answer = json::parse(text);
      if (answer.value("ok", false) && !f.dry_run) tx.commit();
      // Otherwise the transaction is rolled back as it goes out of scope.
    } catch (const pqxx::data_exception& e) {
      // The only value PostgreSQL parses itself is --opens-at's.
      std::string why = first_line(e.what());
      if (why.rfind("ERROR:", 0) == 0) why = why.substr(why.find_first_not_of(' ', 6));
      return Outcome::Usage("--opens-at '" + f.settings.opens_at.value_or("") + "' is not a time: " + why,
                            "give an ISO 8601 time, e.g. 2026-05-01T10:00:00+02:00");
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() != "55P03") throw;
      return Outcome::Failed("the waiting room of concert " + str(f.concert) +
                                 " stayed locked by another session for 10 s; nothing was changed",
                             "find the session in pg_stat_activity ('resv db psql') and end it, then try again");
    }
    if (!answer.value("ok", false)) return refused(answer);
    print_change(ctx, a, answer, f.dry_run);
    return Outcome::Ok();
  });
}

// ---- history -------------------------------------------------------------------

struct HistoryFlags {
  std::optional<int64_t> concert;
  int64_t limit = 50;
};

Outcome run_history(const Context& ctx, const HistoryFlags& f) {
  return with_db(ctx, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    const std::optional<std::string> concert = text_of(f.concert);
    auto rows = tx.exec_params(
        "SELECT jsonb_build_object('id', id, 'at', resv_ts(at), 'concertId', concert_id, 'actor', actor,"
        " 'action', action, 'old', old_values, 'new', new_values)::text FROM queue_audit"
        " WHERE $1::bigint IS NULL OR concert_id = $1::bigint ORDER BY id DESC LIMIT $2::bigint",
        nullable(concert), f.limit);
    json entries = json::array();
    for (const auto& row : rows) entries.push_back(json::parse(row[0].c_str()));
    if (ctx.out().json()) {
      ctx.out().print_json({{"entries", entries}});
    } else if (!entries.empty()) {
      Table t({"ID", "AT", "CONCERT", "ACTOR", "ACTION", "OLD", "NEW"});
      auto values = [](const json& j) {
        std::string text = settings_text(j);
        return text.empty() ? std::string("-") : text;
      };
      for (const auto& e : entries)
        t.add({e["id"].dump(), short_time(e["at"]), e["concertId"].dump(), e.value("actor", "?"),
               e.value("action", "?"), values(e["old"]), values(e["new"])});
      ctx.out().data(t.render());
    }
    if (entries.empty())
      ctx.out().info(f.concert ? "no queue action was recorded for concert " + str(*f.concert)
                               : std::string("no queue action was recorded"));
    return Outcome::Ok();
  });
}

// ---- registration --------------------------------------------------------------

// A positive id or count; its range goes unsaid in the help (the type name says it).
CLI::Validator positive() { return CLI::Range(int64_t{1}, INT64_MAX).description(""); }

CLI::Option* concert_option(CLI::App* cmd, std::optional<int64_t>& v, const std::string& what) {
  return cmd->add_option("--concert", v, what)->type_name("ID")->check(positive());
}

void add_change_options(CLI::App* cmd, ChangeFlags& f) {
  cmd->add_option("--concert", f.concert, "The concert (id)")->type_name("ID")->required()->check(positive());
  cmd->add_flag("-y,--yes", f.yes, "Do not ask for confirmation (needed when stdin is not a terminal)");
  cmd->add_flag("--dry-run", f.dry_run, "Run it in a transaction that is rolled back: show what would change");
  cmd->add_option("--actor", f.actor, "Who acts, for the audit log (default: the OS user)")->type_name("NAME");
}

void add_settings_options(CLI::App* cmd, QueueSettingsArgs& s, bool clearable) {
  cmd->add_option("--max-active", s.max_active,
                  std::string("Most users admitted (ACTIVE) at once") + (clearable ? "; none: no limit by count" : ""))
      ->type_name(clearable ? "N|none" : "N");
  cmd->add_option("--rate", s.rate,
                  std::string("Most admissions per second") + (clearable ? "; none: no limit by rate" : ""))
      ->type_name(clearable ? "R|none" : "R");
  cmd->add_option("--token-ttl", s.token_ttl, "How long an admitted user may hold and pay (90, 90s, 10m, 1h)")
      ->type_name("DURATION");
  cmd->add_option("--abandon-after", s.abandon_after,
                  "A waiting user who has not polled for this long loses the place (90, 90s, 10m, 1h)")
      ->type_name("DURATION");
  cmd->add_option("--opens-at", s.opens_at,
                  std::string("Opening (ISO 8601): earlier arrivals are shuffled then") +
                      (clearable ? "; none: no pre-queue" : ""))
      ->type_name(clearable ? "TIME|none" : "TIME");
}

const char* kChangeJson =
    "JSON (--json): the SQL function's answer, and whether it was a dry run:\n"
    "  {\"ok\": true, \"dryRun\": bool, \"audit\": {\"id\": int, \"at\": string, \"concertId\": int,\n"
    "   \"actor\": string, \"action\": string, \"old\": {<changed key>: value}, \"new\": {...}},\n";

const char* kSettingsJson =
    "   \"settings\": {\"enabled\": bool, \"paused\": bool, \"maxActive\": int|null,\n"
    "   \"ratePerSecond\": number|null, \"tokenTtlSeconds\": int, \"abandonAfterSeconds\": int,\n"
    "   \"opensAt\": string|null}}";

const char* kChangeNotes =
    "Asks first on a terminal; without one it refuses (exit 2) unless --yes is given.\n"
    "--dry-run runs the same SQL function in a transaction that is rolled back, prints\n"
    "the audit line it would write and changes nothing (no confirmation is asked; the\n"
    "audit id sequence may skip a number). The audit line names the actor: the OS user,\n"
    "or --actor. Exit 1 when the concert (or its waiting room) does not exist.\n";

}  // namespace

void register_queue(CLI::App& app, Context& ctx) {
  auto* queue = app.add_subcommand("queue", "Watch and drive each concert's waiting room, in the database");
  queue->require_subcommand(1);
  queue->footer(
      "Every subcommand reads and writes the database directly (--db, RESV_DATABASE_URL, config\n"
      "file, else the embedded cluster), so it works while the servers are down. Changes go\n"
      "through the SQL functions of the waiting room: they lock the concert's queue, write an\n"
      "audit line (resv queue history) and tell every running resv-server at once.\n"
      "\n"
      "Examples:\n"
      "  resv queue enable --concert 12 --max-active 500 --rate 50 --opens-at 2026-05-01T10:00:00+02:00\n"
      "  resv queue status --watch 2\n"
      "  resv queue status --fail-if-stuck 120 -q || page-oncall\n"
      "  resv queue pause --concert 12 --yes\n"
      "  resv queue history --concert 12");

  // status
  auto sf = std::make_shared<StatusFlags>();
  auto* status = queue->add_subcommand("status", "Show each waiting room: who waits, who is in, how fast it moves");
  concert_option(status, sf->concert, "Only this concert (default: every concert with a waiting room)");
  status->add_option("--watch", sf->watch, "Redraw every SECONDS until Ctrl-C")
      ->type_name("SECONDS")
      ->check(CLI::Range(1, 3600));
  status->add_option("--fail-if-stuck", sf->fail_if_stuck,
                     "Exit 4 when people wait and nothing was admitted for more than SECONDS")
      ->type_name("SECONDS")
      ->check(CLI::Range(0, 86400 * 365));
  status->footer(
      "Columns: STATE is running, paused, disabled, pre-opening (opens-at is ahead) or stuck;\n"
      "WAITING counts every waiting token, PRE-QUEUE those not placed yet (drawn at opening);\n"
      "ACTIVE those admitted now; MAX-ACTIVE, RATE/S and TOKEN-TTL the settings; ISSUED and\n"
      "ADMITTED totals; ISSUED/S and ADMITTED/S the rates over the last minute; OLDEST-WAIT\n"
      "the longest wait; LAST-ADMIT the last admission; ETA-LAST when the last one waiting\n"
      "gets in at the last minute's rate (unknown: paused, or nobody admitted in the last\n"
      "minute); EXPIRED tokens ended recently by reason (TTL, PAID, ABANDONED).\n"
      "\n"
      "Stuck: enabled, not paused, someone waiting who could be admitted (the pre-queue only\n"
      "once opens-at has come), and nothing admitted for more than the --fail-if-stuck\n"
      "seconds (60 without it), or ever. A paused queue is never stuck. With --fail-if-stuck\n"
      "the exit code is 4 when any is, and the error names each one.\n"
      "\n"
      "--watch redraws in place on a terminal and prints one snapshot after another\n"
      "otherwise; with --fail-if-stuck it stops at the first stuck snapshot. A concert\n"
      "without a waiting room is exit 1; a database that cannot be reached exit 3 (while\n"
      "watching: a warning, and it asks again at the next round).\n"
      "\n"
      "Examples:\n"
      "  resv queue status\n"
      "  resv queue status --concert 12 --watch 1\n"
      "  resv queue status --fail-if-stuck 120\n"
      "  resv queue status --json | jq '.concerts[] | {concertId, waiting, etaLastSeconds}'\n"
      "\n"
      "JSON (--json; with --watch one document per snapshot):\n"
      "  {\"concerts\": [{\"concertId\": int, \"concertName\": string, \"enabled\": bool, \"paused\": bool,\n"
      "    \"maxActive\": int|null, \"ratePerSecond\": number|null, \"tokenTtlSeconds\": int,\n"
      "    \"abandonAfterSeconds\": int, \"opensAt\": string|null, \"waiting\": int, \"preQueue\": int,\n"
      "    \"active\": int, \"issued\": int, \"admittedTotal\": int, \"issuedLastMinute\": int,\n"
      "    \"admittedLastMinute\": int, \"expiredLastMinute\": {\"TTL\"|\"PAID\"|\"ABANDONED\": int},\n"
      "    \"oldestWaitSeconds\": number|null, \"lastAdmitAt\": string|null,\n"
      "    \"secondsSinceLastAdmit\": number|null, \"now\": string, \"stuck\": bool,\n"
      "    \"etaLastSeconds\": number|null}]}\n"
      "  (times are ISO 8601 UTC; null: none, or not known)");
  ctx.on_run(status, [&ctx, sf] { return run_status(ctx, *sf); });

  // list
  auto lf = std::make_shared<ListFlags>();
  auto* list = queue->add_subcommand("list", "List queue tokens: position, status, times");
  concert_option(list, lf->concert, "Only this concert");
  ctx.choices(list->add_option("--status", lf->status, "Only tokens in this status"), {"WAITING", "ACTIVE", "EXPIRED"});
  list->add_option("--limit", lf->limit, "At most N tokens")->type_name("N")->check(positive())->capture_default_str();
  list->footer(
      "Ordered by concert, then place in line (pre-queue tokens, not placed yet, last). Times\n"
      "in the table are relative to the database's clock; --json has them as ISO 8601 UTC.\n"
      "When more tokens match than --limit, stderr says how many.\n"
      "\n"
      "Examples:\n"
      "  resv queue list --concert 12 --status WAITING --limit 20\n"
      "  resv queue list --status ACTIVE --json | jq '.tokens[].userId'\n"
      "\n"
      "JSON (--json):\n"
      "  {\"tokens\": [{\"concertId\": int, \"userId\": int, \"nonce\": string, \"position\": int|null,\n"
      "    \"status\": \"WAITING\"|\"ACTIVE\"|\"EXPIRED\", \"endReason\": \"TTL\"|\"PAID\"|\"ABANDONED\"|null,\n"
      "    \"issuedAt\": string, \"admittedAt\": string|null, \"expiresAt\": string|null,\n"
      "    \"lastSeenAt\": string, \"changeNo\": int}]}");
  ctx.on_run(list, [&ctx, lf] { return run_list(ctx, *lf); });

  // inspect
  auto inf = std::make_shared<InspectFlags>();
  auto* inspect = queue->add_subcommand("inspect", "Show one token: place, people ahead, times; check a token given");
  inspect->add_option("token", inf->token, "A queue token (q1.CONCERT.USER.NONCE.MAC)")->type_name("TOKEN");
  inspect->add_option("--user", inf->user, "The user (id), with --concert")->type_name("ID")->check(positive());
  concert_option(inspect, inf->concert, "The concert (id), with --user");
  inspect->footer(
      "With a TOKEN, also checks it as the servers would: its signature under the secret of\n"
      "the servers (RESV_QUEUE_SECRET when set, else the one in the database), and its nonce\n"
      "against the stored token's (another nonce: a token of an earlier queue). Exit 4 when\n"
      "either fails (the details are printed all the same); 2 for a malformed token; 1 when\n"
      "the user has no token for the concert.\n"
      "\n"
      "Examples:\n"
      "  resv queue inspect q1.12.42.8315570023.AbCdEfGhIjKlMnOpQrStUv\n"
      "  resv queue inspect --user 42 --concert 12 --json\n"
      "\n"
      "JSON (--json):\n"
      "  {\"concertId\": int, \"concertName\": string, \"userId\": int, \"nonce\": string,\n"
      "   \"position\": int|null, \"ahead\": int|null (waiting with a lower position),\n"
      "   \"status\": string, \"endReason\": string|null, \"issuedAt\": string,\n"
      "   \"admittedAt\": string|null, \"expiresAt\": string|null, \"lastSeenAt\": string,\n"
      "   \"changeNo\": int,\n"
      "   \"token\": null (inspected by --user) | {\"signatureValid\": bool|null (null: no secret),\n"
      "             \"secretSource\": \"RESV_QUEUE_SECRET\"|\"queue_secret\"|null, \"nonceMatches\": bool}}");
  ctx.on_run(inspect, [&ctx, inf] { return run_inspect(ctx, *inf); });

  // the changes
  struct ChangeCommand {
    Action action;
    const char* summary;
    const char* notes;
    const char* examples;
  };
  const ChangeCommand changes[] = {
      {Action::Enable, "Create or switch on a concert's waiting room",
       "Creates the waiting room when the concert has none (defaults: --max-active 100, no\n"
       "rate, --token-ttl 10m, --abandon-after 60s), then switches it on with the options\n"
       "given. From then on holds and payments for the concert need an admitted queue token.\n",
       "  resv queue enable --concert 12 --max-active 500 --rate 50\n"
       "  resv queue enable --concert 12 --opens-at 2026-05-01T10:00:00+02:00 --yes\n"},
      {Action::Disable, "Switch a waiting room off: no queue token needed any more",
       "Tokens are kept; 'resv queue enable' switches it on again. To let everyone waiting in\n"
       "first, use 'resv queue drain'.\n",
       "  resv queue disable --concert 12 --yes\n"},
      {Action::Pause, "Stop admitting (those admitted stay admitted)",
       "Nobody is admitted until 'resv queue resume'; tokens keep their places and active\n"
       "tokens keep running out. A paused queue is never reported as stuck.\n",
       "  resv queue pause --concert 12\n  resv queue pause --concert 12 --yes --actor incident-42\n"},
      {Action::Resume, "Admit again after a pause", "Admission picks up at the configured limits.\n",
       "  resv queue resume --concert 12 --yes\n"},
      {Action::Set, "Change a waiting room's limits and times",
       "At least one option. none removes --max-active or --rate (one of them must stay) or\n"
       "--opens-at. Durations: seconds, or with s, m or h (90, 90s, 10m, 1h).\n",
       "  resv queue set --concert 12 --max-active 800\n"
       "  resv queue set --concert 12 --rate none --token-ttl 15m --yes\n"
       "  resv queue set --concert 12 --opens-at none --dry-run\n"},
      {Action::Admit, "Admit the next N waiting now, whatever the limits and pause say",
       "Admits the N who have waited longest (fewer when fewer wait); pre-queue tokens are\n"
       "placed first if the opening has come.\n",
       "  resv queue admit 100 --concert 12\n  resv queue admit 5 --concert 12 --dry-run --json\n"},
      {Action::Drain, "Admit everyone waiting and switch the waiting room off",
       "For the end of an opening: every waiting user is admitted at once and holds and\n"
       "payments no longer need a token.\n",
       "  resv queue drain --concert 12 --yes\n"},
  };
  for (const auto& c : changes) {
    auto f = std::make_shared<ChangeFlags>();
    auto* cmd = queue->add_subcommand(action_name(c.action), c.summary);
    if (c.action == Action::Admit)
      cmd->add_option("count", f->count, "How many to admit")->type_name("N")->required()->check(positive());
    add_change_options(cmd, *f);
    if (c.action == Action::Enable || c.action == Action::Set)
      add_settings_options(cmd, f->settings, true);
    std::string json_shape = kChangeJson;
    if (c.action == Action::Admit || c.action == Action::Drain)
      json_shape += "   \"admitted\": int}   (audit new has admittedTotal" +
                    std::string(c.action == Action::Admit ? ", requested)" : ", enabled)");
    else
      json_shape += kSettingsJson;
    cmd->footer(std::string(c.notes) + "\n" + kChangeNotes + "\nExamples:\n" + c.examples + "\n" + json_shape);
    const Action action = c.action;
    ctx.on_run(cmd, [&ctx, f, action] { return run_change(ctx, action, *f); });
  }

  // history
  auto hf = std::make_shared<HistoryFlags>();
  auto* history = queue->add_subcommand("history", "Show the audit log of queue actions, newest first");
  concert_option(history, hf->concert, "Only this concert");
  history->add_option("--limit", hf->limit, "At most N entries")->type_name("N")->check(positive())->capture_default_str();
  history->footer(
      "Every enable, disable, pause, resume, set, admit and drain, with who did it and the\n"
      "values before and after (only those that changed).\n"
      "\n"
      "Examples:\n"
      "  resv queue history\n"
      "  resv queue history --concert 12 --limit 10 --json\n"
      "\n"
      "JSON (--json):\n"
      "  {\"entries\": [{\"id\": int, \"at\": string, \"concertId\": int, \"actor\": string,\n"
      "    \"action\": string, \"old\": {<key>: value}, \"new\": {<key>: value}}]}");
  ctx.on_run(history, [&ctx, hf] { return run_history(ctx, *hf); });
}

}  // namespace resv::cli
