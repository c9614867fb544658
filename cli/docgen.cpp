#include "cli/docgen.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <functional>
#include <set>
#include <sstream>

#include "cli/context.h"
#include "resv/version.h"
#include "server/options.h"

namespace resv::cli {

namespace {

// One command of the tree, flattened for the generators.
struct Opt {
  std::vector<std::string> names;  // "-v", "--verbose"; a positional has its name in `positional`
  std::string positional;
  std::string description;
  std::string type;  // "" for a flag
  std::vector<std::string> choices;
  std::string env;
  std::string default_value;
  bool global = false;
};

struct Cmd {
  std::string path;  // "resv db up"
  std::string name;
  std::string description;
  std::string footer;
  std::vector<Opt> options;  // its own, without -h/--help
  std::vector<const Cmd*> children;
};

Opt describe(const CLI::Option* o, const Context* ctx) {
  Opt out;
  for (const auto& s : o->get_snames()) out.names.push_back("-" + s);
  for (const auto& l : o->get_lnames()) out.names.push_back("--" + l);
  if (o->get_positional() && !o->nonpositional()) out.positional = o->get_name(true);
  out.description = o->get_description();
  // CLI11 appends its checks to the type name ("INT:INT in [0 - 65535]").
  if (o->get_type_size() != 0) out.type = o->get_type_name().substr(0, o->get_type_name().find(':'));
  if (ctx)
    if (const auto* c = ctx->choices_of(o)) out.choices = *c;
  out.env = o->get_envname();
  out.default_value = o->get_default_str();
  return out;
}

bool is_help(const CLI::Option* o) {
  const auto& l = o->get_lnames();
  return std::find(l.begin(), l.end(), "help") != l.end();
}

class Tree {
 public:
  Tree(const CLI::App& root, const Context* ctx) {
    walk(root, "", ctx);
    for (auto [parent, child] : links_) cmds_[parent].children.push_back(&cmds_[child]);
  }
  const std::vector<Cmd>& all() const { return cmds_; }  // pre-order, root first
  const Cmd& root() const { return cmds_.front(); }

 private:
  void walk(const CLI::App& app, const std::string& parent, const Context* ctx) {
    Cmd c;
    c.name = app.get_name();
    c.path = parent.empty() ? c.name : parent + " " + c.name;
    c.description = app.get_description();
    c.footer = app.get_footer();
    for (const CLI::Option* o : app.get_options()) {
      if (is_help(o)) continue;
      Opt d = describe(o, ctx);
      d.global = parent.empty();
      c.options.push_back(std::move(d));
    }
    size_t index = cmds_.size();
    std::string path = c.path;
    cmds_.push_back(std::move(c));
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App* a) { return !a->get_name().empty(); })) {
      links_.push_back({index, cmds_.size()});
      walk(*sub, path, ctx);
    }
  }
  std::vector<Cmd> cmds_;  // pointers into it are taken once it is complete
  std::vector<std::pair<size_t, size_t>> links_;
};

std::vector<std::string> option_words(const Cmd& c, const Cmd& root) {
  std::vector<std::string> out{"--help"};
  auto add = [&](const Cmd& from) {
    for (const auto& o : from.options)
      for (const auto& n : o.names) out.push_back(n);
  };
  add(c);
  if (&c != &root) add(root);  // global options fall through to every command
  return out;
}

std::string join(const std::vector<std::string>& v, const std::string& sep = " ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::vector<std::string> value_options(const Tree& t) {
  std::set<std::string> names;
  for (const auto& c : t.all())
    for (const auto& o : c.options)
      if (!o.type.empty())
        for (const auto& n : o.names) names.insert(n);
  return {names.begin(), names.end()};
}

bool takes_path(const Opt& o) {
  for (const auto& n : o.names)
    if (n.find("dir") != std::string::npos || n.find("config") != std::string::npos ||
        n.find("file") != std::string::npos)
      return true;
  return false;
}

std::string child_names(const Cmd& c) {
  std::vector<std::string> n;
  for (const Cmd* k : c.children) n.push_back(k->name);
  return join(n);
}

std::string positional_choices(const Cmd& c) {
  for (const auto& o : c.options)
    if (!o.positional.empty() && !o.choices.empty()) return join(o.choices);
  return "";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// The loop shared by bash and zsh: walks the words before the cursor down
// the command tree, skipping the values of options that take one.
std::string walk_words(const Tree& t, const std::string& words, const std::string& first, const std::string& last) {
  std::ostringstream s;
  s << "  local path=resv w i\n"
    << "  for ((i = " << first << "; i < " << last << "; i++)); do\n"
    << "    w=${" << words << "[i]}\n"
    << "    case \"$w\" in\n"
    << "      " << join(value_options(t), "|") << ") ((i++)); continue ;;\n"
    << "    esac\n"
    << "    case \"$path $w\" in\n";
  std::vector<std::string> paths;
  for (const auto& c : t.all())
    if (&c != &t.root()) paths.push_back("\"" + c.path + "\"");
  s << "      " << join(paths, "|") << ") path=\"$path $w\" ;;\n"
    << "    esac\n"
    << "  done\n";
  return s.str();
}

// The `case "$prev"` that completes an option's value (bash and zsh):
// `offer` turns the words to offer into a shell command, `files` offers file
// names; an option with a free value offers nothing.
std::string value_cases(const Tree& t, const std::function<std::string(const std::string&)>& offer,
                        const std::string& files) {
  std::ostringstream s;
  s << "  case \"$prev\" in\n";
  std::set<std::string> done;
  for (const auto& c : t.all())
    for (const auto& o : c.options) {
      if (o.type.empty() || !o.positional.empty()) continue;
      std::string names = join(o.names, "|");
      if (!done.insert(names).second) continue;
      std::string action = !o.choices.empty() ? offer(join(o.choices)) + "; " : takes_path(o) ? files + "; " : "";
      s << "    " << names << ") " << action << "return ;;\n";
    }
  s << "  esac\n";
  return s.str();
}

std::string roff_escape(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (char ch : text) {
    if (line_start && (ch == '.' || ch == '\'')) out += "\\&";
    if (ch == '\\') out += "\\e";
    else if (ch == '-') out += "\\-";
    else out += ch;
    line_start = ch == '\n';
  }
  return out;
}

std::string option_synopsis(const Opt& o) {
  std::string s = o.positional.empty() ? join(o.names, ", ") : o.positional;
  if (!o.type.empty() && o.positional.empty())
    s += " " + (o.choices.empty() || !choices_fit(o.choices) ? o.type : "{" + join(o.choices, ",") + "}");
  return s;
}

void man_options(std::ostringstream& m, const std::vector<Opt>& opts) {
  for (const auto& o : opts) {
    std::string d = o.description;
    if (!d.empty() && d.back() != '.' && d.back() != ')') d += ".";
    m << ".TP\n.B " << roff_escape(option_synopsis(o)) << "\n" << roff_escape(d);
    if (!o.positional.empty() && !o.choices.empty()) m << " (one of: " << roff_escape(join(o.choices, ", ")) << ")";
    if (!o.env.empty()) m << " Environment: \\fB" << roff_escape(o.env) << "\\fR.";
    if (!o.default_value.empty()) m << " Default: " << roff_escape(o.default_value) << ".";
    m << "\n";
  }
}

void man_preformatted(std::ostringstream& m, const std::string& text) {
  if (text.empty()) return;
  m << ".PP\n.nf\n" << roff_escape(text) << (text.back() == '\n' ? "" : "\n") << ".fi\n";
}

}  // namespace

std::string bash_completion(const CLI::App& root, const Context& ctx) {
  Tree t(root, &ctx);
  std::ostringstream s;
  s << "# bash completion for resv, generated from its command tree (resv completion bash). Do not edit.\n"
    << "_resv() {\n"
    << "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
    << walk_words(t, "COMP_WORDS", "1", "COMP_CWORD")
    << value_cases(
           t, [](const std::string& w) { return "COMPREPLY=($(compgen -W " + shell_quote(w) + " -- \"$cur\"))"; },
           "COMPREPLY=($(compgen -f -- \"$cur\"))")
    << "  local words opts\n"
    << "  case \"$path\" in\n";
  for (const auto& c : t.all()) {
    std::string w = c.children.empty() ? positional_choices(c) : child_names(c);
    s << "    \"" << c.path << "\") words=" << shell_quote(w) << "; opts=" << shell_quote(join(option_words(c, t.root())))
      << " ;;\n";
  }
  s << "  esac\n"
    << "  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\")); else COMPREPLY=($(compgen -W \"$words\" -- \"$cur\")); fi\n"
    << "}\n"
    << "complete -F _resv resv\n";
  return s.str();
}

std::string zsh_completion(const CLI::App& root, const Context& ctx) {
  Tree t(root, &ctx);
  auto described = [](const std::string& name, const std::string& desc) {
    std::string d = desc;
    for (auto& ch : d)
      if (ch == '\n') ch = ' ';
    std::string entry = name + ":" + d;
    std::string out;
    for (char ch : entry) out += ch == ':' && &ch != &entry[name.size()] ? std::string("\\:") : std::string(1, ch);
    return shell_quote(out);
  };
  std::ostringstream s;
  s << "#compdef resv\n"
    << "# zsh completion for resv, generated from its command tree (resv completion zsh). Do not edit.\n"
    << "_resv() {\n"
    << "  local cur=${words[CURRENT]} prev=${words[CURRENT-1]}\n"
    << walk_words(t, "words", "2", "CURRENT")
    << value_cases(t, [](const std::string& w) { return "compadd -- " + w; }, "_files")
    << "  local -a items\n"
    << "  if [[ $cur == -* ]]; then\n"
    << "    case \"$path\" in\n";
  for (const auto& c : t.all()) {
    std::vector<std::string> items;
    auto add = [&](const Cmd& from) {
      for (const auto& o : from.options)
        for (const auto& n : o.names) items.push_back(described(n, o.description));
    };
    add(c);
    if (&c != &t.root()) add(t.root());
    s << "      \"" << c.path << "\") items=(" << join(items) << ") ;;\n";
  }
  s << "    esac\n"
    << "    _describe -t options option items\n"
    << "  else\n"
    << "    case \"$path\" in\n";
  for (const auto& c : t.all()) {
    std::vector<std::string> items;
    for (const Cmd* k : c.children) items.push_back(described(k->name, k->description));
    if (c.children.empty())
      for (const auto& o : c.options)
        if (!o.positional.empty())
          for (const auto& v : o.choices) items.push_back(described(v, o.description));
    if (!items.empty()) s << "      \"" << c.path << "\") items=(" << join(items) << ") ;;\n";
  }
  s << "    esac\n"
    << "    _describe -t commands command items\n"
    << "  fi\n"
    << "}\n"
    << "compdef _resv resv\n";
  return s.str();
}

std::string fish_completion(const CLI::App& root, const Context& ctx) {
  Tree t(root, &ctx);
  auto fish_quote = [](const std::string& v) {
    std::string out = "'";
    for (char ch : v) {
      if (ch == '\'' || ch == '\\') out += '\\';
      out += ch == '\n' ? ' ' : ch;
    }
    return out + "'";
  };
  std::ostringstream s;
  s << "# fish completion for resv, generated from its command tree (resv completion fish). Do not edit.\n"
    << "function __resv_path\n"
    << "    set -l words (commandline -opc)\n"
    << "    set -l path resv\n"
    << "    set -l skip 0\n"
    << "    for w in $words[2..-1]\n"
    << "        if test $skip = 1\n"
    << "            set skip 0\n"
    << "            continue\n"
    << "        end\n"
    << "        switch $w\n"
    << "            case " << join(value_options(t)) << "\n"
    << "                set skip 1\n"
    << "                continue\n"
    << "        end\n"
    << "        switch \"$path $w\"\n";
  std::vector<std::string> paths;
  for (const auto& c : t.all())
    if (&c != &t.root()) paths.push_back(fish_quote(c.path));
  s << "            case " << join(paths) << "\n"
    << "                set path \"$path $w\"\n"
    << "        end\n"
    << "    end\n"
    << "    echo $path\n"
    << "end\n"
    << "complete -c resv -f\n";
  for (const auto& c : t.all()) {
    std::string cond = "-n " + fish_quote("test (__resv_path) = " + shell_quote(c.path));
    for (const Cmd* k : c.children)
      s << "complete -c resv " << cond << " -a " << k->name << " -d " << fish_quote(k->description) << "\n";
    for (const auto& o : c.options) {
      if (!o.positional.empty()) {
        for (const auto& v : o.choices) s << "complete -c resv " << cond << " -a " << v << " -d " << fish_quote(o.description) << "\n";
        continue;
      }
      std::string line = "complete -c resv";
      if (!o.global) line += " " + cond;
      for (const auto& n : o.names) line += n.rfind("--", 0) == 0 ? " -l " + n.substr(2) : " -s " + n.substr(1);
      if (!o.type.empty()) line += takes_path(o) ? " -r -F" : " -r";
      if (!o.choices.empty()) line += " -a " + fish_quote(join(o.choices));
      s << line << " -d " << fish_quote(o.description) << "\n";
    }
  }
  return s.str();
}

std::string resv_man_page(const CLI::App& root, const Context& ctx) {
  Tree t(root, &ctx);
  std::ostringstream m;
  m << ".\\\" Generated from the resv command tree (ninja -C build docs). Do not edit.\n"
    << ".TH RESV 1 \"\" \"resv " << kVersion << "\" \"User Commands\"\n"
    << ".SH NAME\nresv \\- operate resv\\-server and the PostgreSQL behind it\n"
    << ".SH SYNOPSIS\n.B resv\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fISUBCOMMAND\\fR] [\\fIOPTIONS\\fR]\n"
    << ".SH DESCRIPTION\n" << roff_escape(t.root().description) << ".\n"
    << ".PP\nWith nothing configured, every command works on the embedded default: a PostgreSQL 15 cluster and\n"
    << "resv\\-server instances that resv provisions under its state directory. Data goes to standard output\n"
    << "(an aligned table, or JSON with \\fB\\-\\-json\\fR); messages, progress and errors go to standard error,\n"
    << "errors as \\fBresv: error:\\fR \\fIwhat happened\\fR (hint: \\fIwhat to do\\fR).\n"
    << "JSON keys are camelCase in every command, as in the HTTP API and the answers of the SQL functions\n"
    << "(\\fBconcertId\\fR, \\fBschemaVersion\\fR); only objects that count by a value (an error code, an end\n"
    << "reason) are keyed by that value. Each command's schema is under its \\fBJSON (\\-\\-json)\\fR heading.\n"
    << ".SH GLOBAL OPTIONS\nAccepted before or after the command.\n";
  man_options(m, t.root().options);
  m << ".SH COMMANDS\n";
  for (const auto& c : t.all()) {
    if (&c == &t.root()) continue;
    m << ".SS \"" << roff_escape(c.path) << "\"\n" << roff_escape(c.description) << ".\n";
    if (!c.children.empty()) m << "Subcommands: " << roff_escape(child_names(c)) << ".\n";
    man_options(m, c.options);
    man_preformatted(m, c.footer);
  }
  m << ".SH EXIT STATUS\n"
    << ".TP\n.B 0\nSuccess.\n"
    << ".TP\n.B 1\nThe command failed.\n"
    << ".TP\n.B 2\nUsage error: unknown command or option, bad value, or confirmation needed (\\fB\\-\\-yes\\fR).\n"
    << ".TP\n.B 3\nA dependency (server, database, broker) could not be reached.\n"
    << ".TP\n.B 4\nA check ran and found a problem (e.g. an unhealthy server instance).\n"
    << ".SH ENVIRONMENT\n"
    << ".TP\n.B RESV_DATABASE_URL\nPostgreSQL URL (as \\fB\\-\\-db\\fR).\n"
    << ".TP\n.B RESV_ADMIN_URL\nresv\\-server admin API URL (as \\fB\\-\\-admin\\-url\\fR).\n"
    << ".TP\n.B RESV_ADMIN_TOKEN\nAdmin API bearer token (as \\fB\\-\\-admin\\-token\\fR).\n"
    << ".TP\n.B RESV_STATE_DIR\nState directory (as \\fB\\-\\-state\\-dir\\fR).\n"
    << ".TP\n.B RESV_CONFIG\nConfig file (as \\fB\\-\\-config\\fR).\n"
    << ".TP\n.B RESV_SERVER_BIN\nThe resv\\-server binary \\fBresv server start\\fR runs.\n"
    << ".TP\n.B NO_COLOR\nWhen set and not empty, no colour.\n"
    << ".PP\nSettings resolve as flags, then environment, then config file, then the embedded default;\n"
    << "\\fBresv config show\\fR prints each with its source.\n"
    << ".SH FILES\n"
    << ".TP\n.I ~/.config/resv/config.toml\nConfig file (TOML; keys database_url, admin_url, admin_token, kafka_brokers, state_dir, runbook_dir).\n"
    << ".TP\n.I ~/.local/state/resv\nState directory (\\fI/var/lib/resv\\fR as root): \\fIpg/\\fR the embedded cluster,\n"
    << "\\fIserver/\\fR instance pidfiles, logs and the generated admin token.\n"
    << ".SH EXAMPLES\n.nf\n"
    << "resv demo\n"
    << "eval \"$(resv db up \\-q)\"\n"
    << "resv server start \\-\\-instances 2\n"
    << "resv server status \\-\\-json | jq \\(aq.instances[] | select(.ready | not)\\(aq\n"
    << "resv db psql \\-\\- \\-At \\-c \\(aqselect count(*) from reservations\\(aq\n"
    << ".fi\n"
    << ".SH SEE ALSO\n.BR resv\\-server (8),\n.BR psql (1)\n";
  return m.str();
}

std::string server_man_page() {
  CLI::App app{kServerSummary, "resv-server"};
  ServerOptions options;
  add_server_options(app, options);
  std::vector<Opt> opts;
  for (const CLI::Option* o : app.get_options())
    if (!is_help(o)) opts.push_back(describe(o, nullptr));
  std::ostringstream m;
  m << ".\\\" Generated from resv-server's options (ninja -C build docs). Do not edit.\n"
    << ".TH RESV\\-SERVER 8 \"\" \"resv " << kVersion << "\" \"System Administration\"\n"
    << ".SH NAME\nresv\\-server \\- the reservation server (HTTP/JSON on PostgreSQL)\n"
    << ".SH SYNOPSIS\n.B resv\\-server\n[\\fIOPTIONS\\fR]\n"
    << ".SH DESCRIPTION\nServes the public reservation API and, on its own listener (loopback by default), the admin API.\n"
    << "Several processes may serve one database: correctness is the database's. Usually started by\n"
    << "\\fBresv server start\\fR; \\fB\\-\\-migrate\\fR applies the schema migrations and exits.\n"
    << "Every option can also be set by the environment variable shown; a flag wins over the variable.\n"
    << ".SH OPTIONS\n";
  man_options(m, opts);
  m << ".SH ENDPOINTS\nPublic API (JSON; errors as {\"error\":{\"code\",\"message\"}} with a stable code):\n.nf\n"
    << "GET    /api/concerts\nGET    /api/concerts/{id}\nGET    /api/concerts/{id}/schedules\n"
    << "GET    /api/schedules/{id}/seats\n"
    << "POST   /api/reservations              (Idempotency\\-Key honoured)\n"
    << "POST   /api/reservations/{id}/payment (Idempotency\\-Key honoured)\n"
    << "DELETE /api/reservations/{id}?userId=\n"
    << "GET    /api/users/{id}/balance\nPOST   /api/users/{id}/balance\n.fi\n"
    << ".PP\nAdmin API (\\fB\\-\\-admin\\-host\\fR:\\fB\\-\\-admin\\-port\\fR):\n.nf\n"
    << "GET /healthz        the process is up\n"
    << "GET /readyz         200 when the database is reachable and migrations are current, else 503 with reasons\n"
    << "GET /metrics        Prometheus text (bearer token)\n"
    << "GET /admin/status   version and commit, uptime, in\\-flight requests, pool use, configuration without secrets (bearer token)\n"
    << ".fi\n"
    << ".SH SIGNALS\n.TP\n.B SIGTERM, SIGINT\nStop accepting, finish in\\-flight requests (up to "
    << "\\fB\\-\\-shutdown\\-timeout\\-s\\fR), exit 0.\n"
    << ".SH SYSTEMD\nUnder systemd (a Type=notify unit, \\fBNOTIFY_SOCKET\\fR set) the server tells readiness itself: "
    << "READY=1 once it is ready (when GET /readyz would answer 200), STATUS= with the reasons while it is not "
    << "(\\fBsystemctl status\\fR shows them), STOPPING=1 when a signal starts the drain. The package's "
    << "\\fBresv\\-server@.service\\fR runs one instance per name as the \\fBresv\\fR user, with its settings "
    << "(the variables above) in \\fB/etc/resv/server\\-\\fIname\\fB.env\\fR; \\fBresv.target\\fR starts every "
    << "enabled instance:\n.PP\n.nf\n"
    << "systemctl enable \\-\\-now resv\\-server@main\n"
    << "resv server status \\-\\-admin\\-url http://127.0.0.1:9090 \\-\\-admin\\-token \\(dq$TOKEN\\(dq\n.fi\n"
    << ".SH METRICS\n.nf\n"
    << "resv_http_requests_total{listener,route,class}   requests by route and status class\n"
    << "resv_http_request_duration_seconds{listener,route} latency histogram\n"
    << "resv_http_in_flight                               requests being handled\n"
    << "resv_db_pool_size|in_use|waiting{pool}            database pools (read, write)\n"
    << "resv_db_pool_wait_seconds{pool}                   time waited for a connection\n"
    << "resv_db_pool_rejected_total|timed_out_total{pool} requests refused with 503\n"
    << "resv_db_pool_connected{pool=\"write\"}              live connections of the write pool\n"
    << "resv_filter_answers_total                         answers given from memory\n"
    << "resv_read_renders_total                           catalog reads rendered on a request's behalf\n"
    << "resv_warm_concerts                                concerts kept warm (resv warmup)\n"
    << "resv_warm_passes_total                            passes over warm concerts\n"
    << "resv_release_notifications_total                  releases heard from any server (NOTIFY)\n"
    << "resv_holds_expired_total                          holds released by the sweeper\n"
    << "resv_outbox_backlog                               unpublished outbox rows\n"
    << "resv_outbox_oldest_unpublished_seconds            age of the oldest unpublished outbox row\n"
    << "resv_relay_published_total                        events published (acknowledged) by this server's relay\n"
    << "resv_relay_delivery_errors_total                  events the broker did not acknowledge (sent again)\n"
    << "resv_relay_leader                                 1 while this server's relay publishes\n"
    << "resv_pruned_total{what}                           rows deleted past their retention\n"
    << ".fi\n"
    << ".SH EVENTS\n"
    << "Every state change writes an outbox row in its own transaction. One server at a time (the relay "
    << "leader) publishes them to Kafka with an idempotent producer (acks=all), in the order of their "
    << "transactions' commits (in id order within a batch), and records how far it got only after the broker "
    << "acknowledged them; another takes over within a second when it stops. "
    << "Delivery is at least once: after a crash between the acknowledgement and the record an event is sent "
    << "again with the same id, so consumers dedupe by \\fBeventId\\fR. Within a key, event ids only grow; a "
    << "resend after a crash or an outage can bring a key's older event again after a newer one, so a consumer "
    << "that keeps state per key applies an event only when its id is above the last it applied for that key. "
    << "Requests never wait for the relay or "
    << "the broker: with the broker unreachable the backlog grows and drains by itself when it returns.\n"
    << ".PP\n"
    << "Topic \\fB<prefix><aggregateType>s\\fR (\\fBresv.reservations\\fR, \\fBresv.users\\fR); key: the "
    << "aggregate id in decimal, so one reservation's events stay in order on one partition; headers "
    << "\\fBevent\\-id\\fR, \\fBevent\\-type\\fR, \\fBschema\\-version\\fR. Value, schema version 1:\n"
    << ".nf\n"
    << "{\"eventId\": 42, \"type\": \"ReservationConfirmed\", \"schemaVersion\": 1,\n"
    << " \"aggregateType\": \"reservation\", \"aggregateId\": 17,\n"
    << " \"occurredAt\": \"2026\\-12\\-02T05:00:00.123Z\", \"data\": {...}}\n"
    << ".fi\n"
    << "Types: ReservationHeld, ReservationConfirmed, ReservationCancelled, ReservationExpired (topic "
    << "reservations); BalanceToppedUp (topic users). A new field may appear in \\fBdata\\fR within a schema "
    << "version; a field changes meaning or goes only with a new version. Published rows are deleted after "
    << "\\fB\\-\\-outbox\\-retention\\-s\\fR.\n"
    << ".SH EXIT STATUS\n0 after a clean shutdown or \\fB\\-\\-migrate\\fR; 1 on a startup failure; 2 on a usage error.\n"
    << ".SH SEE ALSO\n.BR resv (1)\n";
  return m.str();
}

}  // namespace resv::cli
