// resv locks rows TABLE [--pid PID]: the rows of one of resv's tables locked
// right now, in domain words (pgrowlocks). Opt-in: it reads the whole table.
#include <memory>
#include <optional>
#include <string>

#include "commands/locks/locks.h"

namespace resv::cli::locks_cmd {
namespace {

using nlohmann::json;

struct RowsFlags {
  std::string table;
  std::optional<int> pid;
};

Outcome run_rows(const Context& ctx, const RowsFlags& f) {
  auto url = ctx.database_url();
  if (!url.ok()) return url.outcome();
  auto rows = locked_rows(url.value(), f.table, f.pid);
  if (!rows.ok()) {
    if (rows.status().code() == ErrorCode::Conflict)
      return Outcome::Failed(rows.status().message(),
                             "install it once as a superuser: resv db psql -- -c 'CREATE EXTENSION pgrowlocks'");
    return failure(ctx, url.value(), rows.status());
  }
  const Output& out = ctx.out();
  if (out.json()) {
    json items = json::array();
    for (const auto& r : rows.value())
      items.push_back({{"row", r.row}, {"ctid", r.ctid}, {"modes", r.modes}, {"pids", r.pids}, {"xids", r.xids}});
    out.print_json({{"table", f.table}, {"rows", items}});
    return Outcome::Ok();
  }
  if (rows->empty()) {
    out.info("no row of " + f.table + " is locked" + (f.pid ? " by pid " + std::to_string(*f.pid) : "") + " now");
    return Outcome::Ok();
  }
  Table t({"ROW", "CTID", "MODES", "PIDS", "XIDS"});
  for (const auto& r : rows.value()) {
    std::string pids;
    for (int p : r.pids) pids += (pids.empty() ? "" : ",") + std::to_string(p);
    t.add({short_query(r.row, 50), r.ctid, short_query(r.modes, 24), pids, short_query(r.xids, 20)});
  }
  out.data(t.render());
  return Outcome::Ok();
}

}  // namespace

void add_rows(CLI::App& locks, Context& ctx) {
  auto f = std::make_shared<RowsFlags>();
  auto* cmd = locks.add_subcommand("rows", "The rows of one of resv's tables locked now, with who holds them");
  ctx.choices(cmd->add_option("table", f->table, "One of resv's tables")->required()->type_name("TABLE"),
              domain_tables());
  cmd->add_option("--pid", f->pid, "Only the rows this session holds")->type_name("PID");
  cmd->footer(
      "A row locked with nobody waiting leaves no trace in pg_locks (the lock lives in the row itself),\n"
      "so 'resv locks' can only show such a holder as idle in transaction with its xid. This reads the\n"
      "table with pgrowlocks: a full scan of the whole table (AccessShareLock, as a SELECT), which on a\n"
      "large table costs what reading all of it costs. It needs the pgrowlocks extension (PostgreSQL's\n"
      "contrib, in Debian's postgresql-15), installed once by a superuser:\n"
      "  resv db psql -- -c 'CREATE EXTENSION pgrowlocks'\n"
      "\n"
      "JSON (--json): {\"table\": string, \"rows\": [{\"row\": string, \"ctid\": string, \"modes\": string,\n"
      "  \"pids\": [int], \"xids\": string}]}\n"
      "\n"
      "Examples:\n"
      "  resv locks rows seats --pid 4711\n"
      "  resv locks rows users");
  ctx.on_run(cmd, [&ctx, f] { return run_rows(ctx, *f); });
}

}  // namespace resv::cli::locks_cmd
