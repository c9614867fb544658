#include "cli/db_connect.h"

#include "cli/embedded_pg.h"
#include "cli/output.h"

namespace resv::cli {

std::string unreachable_hint(const Context& ctx) {
  if (!ctx.settings().embedded_db)
    return "check that PostgreSQL runs and that the URL " + ctx.settings().database_url.shown() + " (" +
           ctx.settings().database_url.source + ") is right";
  if (embedded_running(ctx.state()))
    return "the embedded PostgreSQL runs but does not answer: see " + embedded_log(ctx.state()).string();
  return "start the embedded cluster with 'resv db up'";
}

Outcome cannot_connect(const Context& ctx, const std::string& url, const std::string& why) {
  return Outcome::Unreachable("cannot connect to " + mask_url_password(url) + ": " + first_line(why),
                              unreachable_hint(ctx));
}

}  // namespace resv::cli
