// resv audit: proves from the database alone that nothing was sold twice,
// charged twice or lost (core/ops/audit.h: one set-based statement per
// invariant, one snapshot). It names every violation down to its rows and
// never fixes anything; exit 4 on any violation, for cron and runbooks.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/iso_time.h"
#include "cli/commands.h"
#include "cli/context.h"
#include "cli/db_connect.h"
#include "cli/settings.h"
#include "ops/audit.h"

namespace resv::cli {
namespace {

using nlohmann::json;

struct AuditFlags {
  std::optional<int64_t> concert;
  std::string since;
  std::vector<std::string> checks;
};

std::string num(const json& v) { return v.is_null() ? "none" : v.dump(); }

// One violation in words, from its example object (sql/ops/audit.sql).
std::string example_text(const std::string& invariant, const json& e) {
  auto id = [&](const char* key) { return num(e.value(key, json())); };
  if (invariant == "seat_sold_twice") {
    std::string s = "reservation " + id("reservationId") + " (" + e.value("status", "") + ") holds " +
                    id("seatsHeld") + " of its " + id("quantity") + " seat(s)";
    for (const auto& seat : e.value("seatsNowHeldBy", json::array()))
      s += "; its seat " + num(seat["seatId"]) + " is now reservation " + num(seat["reservationId"]) + "'s";
    return s;
  }
  if (invariant == "seat_released")
    return "seat " + id("seatId") + " kept by reservation " + id("reservationId") + " (" + e.value("status", "") + ")";
  if (invariant == "pool_over_capacity")
    return "pool " + id("poolId") + ": " + id("unitsSold") + " units sold of " + id("capacity");
  if (invariant == "pool_units_match")
    return "pool " + id("poolId") + ": " + id("unitsTaken") + " units taken, live reservations have " +
           id("unitsOfLiveReservations") + ", ended ones keep " + id("unitsOfEndedReservations");
  if (invariant == "confirmed_paid")
    return "reservation " + id("reservationId") + " (amount " + id("amount") + "): " +
           (e.value("paymentId", json()).is_null()
                ? std::string("no payment")
                : "payment " + id("paymentId") + " " + e.value("paymentStatus", "") + " of " + id("paymentAmount"));
  if (invariant == "payment_has_reservation")
    return "payment " + id("paymentId") + " (" + e.value("paymentStatus", "") + ", user " + id("userId") +
           ") of reservation " + id("reservationId") + " (" + e.value("reservationStatus", "") + ", user " +
           id("reservationUserId") + ")";
  if (invariant == "charged_once")
    return (e.value("paymentId", json()).is_null() ? std::string("a charge without a payment")
                                                   : "payment " + id("paymentId")) +
           " of reservation " + id("reservationId") + " (amount " + id("amount") + "): charged " + id("charges") +
           " time(s), refunded " + id("refunds");
  if (invariant == "balance_matches_ledger")
    return "user " + id("userId") + ": balance " + id("balance") + ", its ledger says " + id("ledgerBalance") +
           (e.value("firstBrokenLine", json()).is_null() ? "" : "; the chain breaks at ledger line " + id("firstBrokenLine"));
  if (invariant == "holds_released")
    return "reservation " + id("reservationId") + " (user " + id("userId") + ") expired " + id("expiredSecondsAgo") +
           " s ago, still HELD";
  if (invariant == "outbox_complete") {
    std::string missing;
    for (const auto& m : e.value("missingEvents", json::array()))
      missing += (missing.empty() ? "" : ", ") + m.get<std::string>();
    return "reservation " + id("reservationId") + " (" + e.value("status", "") + ") lacks " + missing;
  }
  if (invariant == "queue_positions")
    return "concert " + id("concertId") + ": " + id("tokens") + " tokens for " + id("lastPositionIssued") +
           " positions issued, " + id("outsideIssued") + " outside them";
  return e.dump();
}

// What to run next about a broken invariant.
std::string next_step(const std::string& invariant) {
  if (invariant == "holds_released") return "start a server ('resv server start'): its sweeper releases them";
  if (invariant == "seat_sold_twice" || invariant == "pool_over_capacity")
    return "stop sales of the concert ('resv queue pause CONCERT') and contact the buyers named";
  return "'resv audit --check " + invariant + " --json' lists the rows; fix them by hand, nothing is changed for you";
}

json report_json(const std::string& url, const AuditFlags& f, const std::optional<std::string>& since,
                 const AuditReport& r) {
  json invariants = json::array();
  for (const auto& i : r.results)
    invariants.push_back({{"name", i.name}, {"promise", i.promise}, {"checked", i.checked},
                          {"violations", i.violations}, {"examples", i.examples}});
  return {{"database", mask_url_password(url)},
          {"scope", {{"concertId", f.concert ? json(*f.concert) : json(nullptr)},
                     {"since", since ? json(*since) : json(nullptr)}}},
          {"snapshotAt", r.snapshot_at},
          {"seconds", r.seconds},
          {"violations", r.violations()},
          {"invariants", invariants}};
}

std::string report_text(const Output& out, const std::string& url, const AuditFlags& f,
                        const std::optional<std::string>& since, const AuditReport& r) {
  std::string scope = f.concert ? "concert " + std::to_string(*f.concert) : std::string("the whole database");
  if (since) scope += ", rows changed since " + *since;
  std::string text = "resv audit of " + mask_url_password(url) + " (" + scope + "): " +
                     std::to_string(r.results.size()) + " invariant(s) on one snapshot at " + r.snapshot_at + ", " +
                     human_duration(r.seconds) + "\n\n";
  Table t({"INVARIANT", "CHECKED", "VIOLATIONS", "FIRST EXAMPLE"});
  for (const auto& i : r.results) {
    std::string first = i.examples.empty() ? std::string("-") : example_text(i.name, i.examples[0]);
    if (first.size() > 64 && out.verbose() == 0) first = first.substr(0, 61) + "...";
    t.add({i.name, std::to_string(i.checked),
           i.violations > 0 ? out.red(std::to_string(i.violations)) : out.green("0"), first});
  }
  text += t.render();
  if (out.verbose() > 0) {
    for (const auto& i : r.results) {
      if (i.violations == 0) continue;
      text += "\n" + i.name + ": " + i.promise + "; " + std::to_string(i.violations) + " violation(s)" +
              (i.violations > static_cast<int64_t>(i.examples.size()) ? ", the first " +
                                                                            std::to_string(i.examples.size()) : "") +
              ":\n";
      for (const auto& e : i.examples) text += "  " + example_text(i.name, e) + "\n";
    }
  }
  return text;
}

Outcome run_audit_command(const Context& ctx, const AuditFlags& f) {
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  AuditOptions o;
  o.concert = f.concert;
  o.only = f.checks;
  if (!f.since.empty()) {
    // A duration ("2h") is that long before now; anything else is a time
    // for PostgreSQL to read.
    auto d = duration_flag(f.since, "--since");
    if (d.ok() && d.value())
      o.since = iso_utc(std::chrono::system_clock::now() - std::chrono::seconds(*d.value()));
    else
      o.since = f.since;
  }
  auto report = run_audit(url.value(), o);
  if (!report.ok()) {
    const Status& s = report.status();
    if (s.code() == ErrorCode::DbUnavailable) return cannot_connect(ctx, url.value(), s.message());
    if (s.code() == ErrorCode::NotFound) return Outcome::Failed(s.message(), "the concerts: resv db psql -- -c 'SELECT id, name FROM concerts'");
    return Outcome::From(s);
  }
  const Output& out = ctx.out();
  const AuditReport& r = report.value();
  if (out.json())
    out.data(report_json(url.value(), f, o.since, r).dump(2) + "\n");
  else
    out.data(report_text(out, url.value(), f, o.since, r));
  if (r.violations() == 0) {
    out.info("audit: no violation of " + std::to_string(r.results.size()) + " invariant(s)");
    return Outcome::Ok();
  }
  std::string broken;
  for (const auto& i : r.results)
    if (i.violations > 0) broken += (broken.empty() ? "" : ", ") + i.name + " (" + std::to_string(i.violations) + ")";
  const auto& first = *std::find_if(r.results.begin(), r.results.end(), [](const auto& i) { return i.violations > 0; });
  return Outcome::Problem("the audit found " + std::to_string(r.violations()) + " violation(s): " + broken +
                              "; nothing was changed",
                          next_step(first.name));
}

}  // namespace

void register_audit(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<AuditFlags>();
  auto* audit = app.add_subcommand("audit", "Prove from the database that nothing was sold or charged twice");
  audit->add_option("--concert", f->concert, "Only the rows of this concert's schedules")->type_name("ID");
  audit->add_option("--since", f->since, "Only rows changed since TIME (2026-12-01T20:00:00Z, or a duration: 2h)")
      ->type_name("TIME");
  std::vector<std::string> names;
  for (const auto& i : audit_invariants()) names.push_back(i.name);
  ctx.choices(audit->add_option("--check", f->checks, "Only this invariant (repeatable)")->type_name("NAME"), names);
  std::string list;
  for (const auto& i : audit_invariants()) list += "  " + std::string(i.name) + std::string(24 - std::string(i.name).size(), ' ') + i.promise + "\n";
  audit->footer(
      "Checks the invariants below on the database (--db, RESV_DATABASE_URL, config file, else the\n"
      "embedded cluster; the servers may be down), each one set-based query, all on one snapshot (a\n"
      "REPEATABLE READ READ ONLY transaction). Every violation is named down to its rows: the table shows\n"
      "the first of each invariant, -v the first 10, --json all of those. It never changes anything.\n"
      "\n"
      "Invariants:\n" + list +
      "\n"
      "Exit codes: 0 no violation, 4 any violation, 3 the database cannot be reached, 2 a bad option,\n"
      "1 an unknown concert.\n"
      "\n"
      "Examples:\n"
      "  resv audit\n"
      "  resv audit --concert 3 --since 2h -v\n"
      "  resv audit --check seat_sold_twice --check charged_once --json | jq '.invariants[].examples'\n"
      "  resv audit -q || page-oncall   # cron\n"
      "\n"
      "JSON (--json):\n"
      "  {\"database\": string (password masked), \"scope\": {\"concertId\": int|null, \"since\": string|null},\n"
      "   \"snapshotAt\": string, \"seconds\": number, \"violations\": int,\n"
      "   \"invariants\": [{\"name\": string, \"promise\": string, \"checked\": int, \"violations\": int,\n"
      "                   \"examples\": [object] (the first 10, with the ids of their rows)}]}");
  ctx.on_run(audit, [&ctx, f] { return run_audit_command(ctx, *f); });
}

}  // namespace resv::cli
