// resv queue inspect TOKEN | --user ID --concert ID: one token, its place
// and times; a token given is also checked as the servers would.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/queue_args.h"
#include "commands/queue/queue.h"
#include "queue/token.h"

namespace resv::cli::queue_cmd {

namespace {

using nlohmann::json;

struct InspectFlags {
  std::string token;
  std::optional<int64_t> user, concert;
};

// The secret the servers sign with: RESV_QUEUE_SECRET when set (as the
// servers read it), else the one they keep in the database. Its source too.
Result<std::pair<std::optional<std::string>, std::string>> servers_secret(QueueAdmin& db) {
  if (const char* env = std::getenv("RESV_QUEUE_SECRET"); env && *env)
    return std::make_pair(std::optional<std::string>(env), std::string("RESV_QUEUE_SECRET"));
  auto stored = db.stored_secret();
  if (!stored.ok()) return stored.status();
  return std::make_pair(stored.value(), std::string(stored.value() ? "queue_secret" : ""));
}

std::string when(const std::optional<std::string>& at, const std::string& relative) {
  return at ? short_time(*at) + " (" + relative + ")" : std::string("-");
}

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

  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  QueueAdmin db(url.value());
  auto found = db.token(concert, user);
  if (!found.ok() && found.status().code() != ErrorCode::NotFound) return failure(ctx, url.value(), found.status());

  // The token's own checks: its mac under the servers' secret, and its
  // nonce against the row's (another nonce: a token of an earlier queue).
  json check = nullptr;
  std::string problems;
  if (by_token) {
    auto secret = servers_secret(db);
    if (!secret.ok()) return failure(ctx, url.value(), secret.status());
    const auto& [key, source] = secret.value();
    const QueueTokenCheck c =
        check_queue_token(f.token, key, found.ok() ? std::optional<int64_t>(found->token.nonce) : std::nullopt);
    auto or_null = [](const std::optional<bool>& b) { return b ? json(*b) : json(nullptr); };
    check = {{"signatureValid", or_null(c.signature_valid)},
             {"secretSource", source.empty() ? json(nullptr) : json(source)},
             {"nonceMatches", or_null(c.nonce_matches)}};
    if (!c.signature_valid)
      ctx.out().warn("cannot check the signature: RESV_QUEUE_SECRET is not set and the database has no queue secret "
                     "(no resv-server has issued tokens on it)");
    else if (!*c.signature_valid)
      problems = "its signature does not verify with the secret from " + source +
                 " (altered, or signed with another secret)";
    if (c.nonce_matches == false)
      problems += (problems.empty() ? "" : "; ") +
                  std::string("its nonce differs from the stored one (a token of an earlier queue of this concert)");
  }
  if (!found.ok())
    return Outcome::Failed(found.status().message() + (problems.empty() ? "" : "; and " + problems),
                           "'resv queue list --concert " + std::to_string(concert) + "' lists the tokens of the concert");

  const QueueToken& t = found->token;
  if (ctx.out().json()) {
    json doc = token_json(t);
    doc["concertName"] = found->concert_name;
    doc["ahead"] = found->ahead ? json(*found->ahead) : json(nullptr);
    doc["token"] = check;
    ctx.out().print_json(doc);
  } else {
    std::string position = t.position ? std::to_string(*t.position) : "none yet (pre-queue: drawn at opening)";
    if (found->ahead) position += " (" + std::to_string(*found->ahead) + " waiting ahead)";
    std::vector<std::pair<std::string, std::string>> kv{
        {"concert", concert_label(concert, found->concert_name)},
        {"user", std::to_string(user)},
        {"status", t.status},
        {"position", position},
        {"end reason", t.end_reason.value_or("-")},
        {"issued", when(t.issued_at, ago(t.issued_ago))},
        {"admitted", when(t.admitted_at, ago(t.admitted_ago))},
        {"expires", when(t.expires_at, until(t.expires_in))},
        {"last seen", when(t.last_seen_at, ago(t.last_seen_ago))}};
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
}

}  // namespace

void add_inspect(CLI::App& queue, Context& ctx) {
  auto inf = std::make_shared<InspectFlags>();
  auto* inspect = queue.add_subcommand("inspect", "Show one token: place, people ahead, times; check a token given");
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
}

}  // namespace resv::cli::queue_cmd
