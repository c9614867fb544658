#include "ops/runbook.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <toml++/toml.h>

namespace resv {
namespace {

using nlohmann::json;

// A runbook file's problem, located: "NAME line N: FIELD: what".
struct Problem {
  std::string text;
};

std::string at(const std::string& source, const toml::node& n, const std::string& field) {
  return source + " line " + std::to_string(n.source().begin.line) + ": " + field + ": ";
}

std::string string_of(const toml::node& n, const std::string& source, const std::string& field) {
  auto v = n.value<std::string>();
  if (!v) throw Problem{at(source, n, field) + "must be a string"};
  return *v;
}

std::vector<std::string> strings_of(const toml::node& n, const std::string& source, const std::string& field) {
  const toml::array* a = n.as_array();
  if (!a) throw Problem{at(source, n, field) + "must be an array of strings"};
  std::vector<std::string> out;
  for (size_t i = 0; i < a->size(); ++i) out.push_back(string_of(*a->get(i), source, field + "[" + std::to_string(i) + "]"));
  return out;
}

json json_of(const toml::node& n) {
  if (auto s = n.value<std::string>()) return *s;
  if (n.is_boolean()) return *n.value<bool>();
  if (n.is_integer()) return *n.value<int64_t>();
  if (auto d = n.value<double>()) return *d;
  return nullptr;
}

// "500ms", "30s", "2m" -> milliseconds; nullopt otherwise.
std::optional<std::chrono::milliseconds> duration_of(const std::string& text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || v < 0 || v > 3600 * 1000) return std::nullopt;
  const std::string unit(end, text.data() + text.size());
  if (unit == "ms") return std::chrono::milliseconds(v);
  if (unit == "s") return std::chrono::seconds(v);
  if (unit == "m" && v <= 60) return std::chrono::minutes(v);
  return std::nullopt;
}

void check_keys(const toml::table& t, const std::set<std::string>& known, const std::string& source,
                const std::string& where) {
  for (auto&& [k, v] : t) {
    if (known.count(std::string(k.str()))) continue;
    std::string list;
    for (const auto& x : known) list += (list.empty() ? "" : ", ") + x;
    throw Problem{at(source, v, where + std::string(k.str())) + "unknown key (known: " + list + ")"};
  }
}

const std::set<std::string> kOps = {"equals", "not_equals", "less_than", "greater_than", "exists"};

RunbookStep parse_step(const toml::node& node, size_t index, const std::string& source) {
  const std::string where = "steps[" + std::to_string(index) + "]";
  const toml::table* t = node.as_table();
  if (!t) throw Problem{at(source, node, where) + "must be a table ([[steps]])"};
  check_keys(*t, {"name", "kind", "title", "run", "expect_exit", "expect", "set", "on_fail", "on_met", "explain", "wait"}, source,
             where + ".");
  RunbookStep s;
  s.line = static_cast<int>(node.source().begin.line);
  for (const char* required : {"name", "kind", "run"})
    if (!t->contains(required))
      throw Problem{source + " line " + std::to_string(s.line) + ": " + where + "." + required + ": missing"};
  s.name = string_of(*t->get("name"), source, where + ".name");
  s.kind = string_of(*t->get("kind"), source, where + ".kind");
  if (s.kind != "diagnose" && s.kind != "mitigate" && s.kind != "verify")
    throw Problem{at(source, *t->get("kind"), where + ".kind") + "'" + s.kind +
                  "' is not diagnose, mitigate or verify"};
  if (auto* n = t->get("title")) s.title = string_of(*n, source, where + ".title");
  s.run = strings_of(*t->get("run"), source, where + ".run");
  if (s.run.empty()) throw Problem{at(source, *t->get("run"), where + ".run") + "names no command"};
  if (auto* n = t->get("expect_exit")) {
    s.expect_exit.clear();
    const toml::array* a = n->as_array();
    if (!a || a->empty()) throw Problem{at(source, *n, where + ".expect_exit") + "must be an array of exit codes"};
    for (auto&& e : *a) {
      // value_exact: value<int64_t>() would cast a float such as 9e78 to int64_t (undefined; the fuzzer's find).
      auto code = e.value_exact<int64_t>();
      if (!code || *code < 0 || *code > 255) throw Problem{at(source, e, where + ".expect_exit") + "an exit code is an integer from 0 to 255"};
      s.expect_exit.push_back(static_cast<int>(*code));
    }
  }
  if (auto* n = t->get("expect")) {
    const toml::array* a = n->as_array();
    if (!a) throw Problem{at(source, *n, where + ".expect") + "must be an array of {pointer, op, value}"};
    for (size_t i = 0; i < a->size(); ++i) {
      const std::string f = where + ".expect[" + std::to_string(i) + "]";
      const toml::table* c = a->get(i)->as_table();
      if (!c) throw Problem{at(source, *a->get(i), f) + "must be {pointer = ..., op = ..., value = ...}"};
      check_keys(*c, {"pointer", "op", "value"}, source, f + ".");
      RunbookCondition cond;
      if (!c->contains("pointer") || !c->contains("op")) throw Problem{at(source, *a->get(i), f) + "needs pointer and op"};
      cond.pointer = string_of(*c->get("pointer"), source, f + ".pointer");
      try {
        json::json_pointer check(cond.pointer);
      } catch (const json::exception&) {
        throw Problem{at(source, *c->get("pointer"), f + ".pointer") + "'" + cond.pointer +
                      "' is no JSON pointer (\"/checks/0/state\")"};
      }
      cond.op = string_of(*c->get("op"), source, f + ".op");
      if (!kOps.count(cond.op))
        throw Problem{at(source, *c->get("op"), f + ".op") + "'" + cond.op +
                      "' is not equals, not_equals, less_than, greater_than or exists"};
      if (cond.op != "exists") {
        if (!c->contains("value")) throw Problem{at(source, *a->get(i), f) + "op " + cond.op + " needs a value"};
        cond.value = json_of(*c->get("value"));
        if ((cond.op == "less_than" || cond.op == "greater_than") && !cond.value.is_number())
          throw Problem{at(source, *c->get("value"), f + ".value") + "must be a number for " + cond.op};
      }
      s.expect.push_back(std::move(cond));
    }
  }
  if (auto* n = t->get("set")) {
    const toml::table* vars = n->as_table();
    if (!vars) throw Problem{at(source, *n, where + ".set") + "must be a table {variable = \"/json/pointer\"}"};
    for (auto&& [k, v] : *vars) s.set[std::string(k.str())] = string_of(v, source, where + ".set." + std::string(k.str()));
  }
  if (auto* n = t->get("on_fail")) {
    s.on_fail = string_of(*n, source, where + ".on_fail");
    if (s.on_fail != "stop" && s.on_fail != "continue" && s.on_fail.rfind("goto:", 0) != 0)
      throw Problem{at(source, *n, where + ".on_fail") + "'" + s.on_fail + "' is not stop, continue or goto:STEP"};
  }
  if (auto* n = t->get("on_met")) {
    s.on_met = string_of(*n, source, where + ".on_met");
    if (s.on_met.rfind("goto:", 0) != 0) throw Problem{at(source, *n, where + ".on_met") + "'" + s.on_met + "' is not goto:STEP"};
  }
  if (auto* n = t->get("explain")) s.explain = string_of(*n, source, where + ".explain");
  if (auto* n = t->get("wait")) {
    auto d = duration_of(string_of(*n, source, where + ".wait"));
    if (!d) throw Problem{at(source, *n, where + ".wait") + "is no duration (\"500ms\", \"30s\", \"2m\")"};
    s.wait = *d;
  }
  return s;
}

Runbook parse(const std::string& text, const std::string& source) {
  toml::table t;
  try {
    t = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw Problem{source + " line " + std::to_string(e.source().begin.line) + ": " + std::string(e.description())};
  }
  check_keys(t, {"name", "title", "symptoms", "checks", "vars", "steps"}, source, "");
  Runbook rb;
  rb.source = source;
  for (const char* required : {"name", "title", "steps"})
    if (!t.contains(required)) throw Problem{source + " line 1: " + required + ": missing"};
  rb.name = string_of(*t.get("name"), source, "name");
  rb.title = string_of(*t.get("title"), source, "title");
  if (auto* n = t.get("symptoms")) rb.symptoms = strings_of(*n, source, "symptoms");
  if (auto* n = t.get("checks")) rb.checks = strings_of(*n, source, "checks");
  if (auto* n = t.get("vars")) {
    const toml::table* vars = n->as_table();
    if (!vars) throw Problem{at(source, *n, "vars") + "must be a table of strings"};
    for (auto&& [k, v] : *vars) rb.vars[std::string(k.str())] = string_of(v, source, "vars." + std::string(k.str()));
  }
  const toml::array* steps = t.get("steps")->as_array();
  if (!steps || steps->empty()) throw Problem{at(source, *t.get("steps"), "steps") + "must be one or more [[steps]]"};
  for (size_t i = 0; i < steps->size(); ++i) rb.steps.push_back(parse_step(*steps->get(i), i, source));
  std::set<std::string> names;
  for (const auto& s : rb.steps)
    if (!names.insert(s.name).second)
      throw Problem{source + " line " + std::to_string(s.line) + ": steps: two steps are named '" + s.name + "'"};
  for (const auto& s : rb.steps)
    for (const auto& [field, action] : {std::pair<const char*, const std::string&>{"on_fail", s.on_fail}, {"on_met", s.on_met}})
      if (action.rfind("goto:", 0) == 0 && !names.count(action.substr(5)))
        throw Problem{source + " line " + std::to_string(s.line) + ": " + field + ": no step '" + action.substr(5) + "'"};
  return rb;
}

}  // namespace

Result<Runbook> parse_runbook(const std::string& text, const std::string& source) {
  try {
    return parse(text, source);
  } catch (const Problem& p) {
    return Status::Invalid(p.text);
  }
}

std::optional<std::vector<std::string>> substitute(const std::vector<std::string>& args,
                                                   const std::map<std::string, std::string>& vars,
                                                   std::string& missing) {
  std::vector<std::string> out;
  for (const auto& a : args) {
    std::string s;
    size_t i = 0;
    while (i < a.size()) {
      const size_t open = a.find('{', i);
      const size_t close = open == std::string::npos ? std::string::npos : a.find('}', open);
      if (close == std::string::npos) {
        s += a.substr(i);
        break;
      }
      s += a.substr(i, open - i);
      const std::string name = a.substr(open + 1, close - open - 1);
      auto it = vars.find(name);
      if (it == vars.end() || it->second.empty()) {
        missing = name;
        return std::nullopt;
      }
      s += it->second;
      i = close + 1;
    }
    out.push_back(std::move(s));
  }
  return out;
}

bool expectation_met(const RunbookStep& step, const ExecResult& r, std::string& why) {
  if (std::find(step.expect_exit.begin(), step.expect_exit.end(), r.exit_code) == step.expect_exit.end()) {
    std::string want;
    for (int c : step.expect_exit) want += (want.empty() ? "" : " or ") + std::to_string(c);
    why = "exit " + std::to_string(r.exit_code) + ", expected " + want;
    return false;
  }
  if (step.expect.empty()) return true;
  const json doc = json::parse(r.out, nullptr, false);
  if (doc.is_discarded()) {
    why = "its output is no JSON document";
    return false;
  }
  for (const auto& c : step.expect) {
    const json::json_pointer p(c.pointer);
    const bool has = doc.contains(p);
    const json got = has ? doc.at(p) : json();
    bool ok = false;
    if (c.op == "exists") ok = has;
    else if (c.op == "equals") ok = has && got == c.value;
    else if (c.op == "not_equals") ok = !has || got != c.value;
    else if (c.op == "less_than") ok = has && got.is_number() && got.get<double>() < c.value.get<double>();
    else if (c.op == "greater_than") ok = has && got.is_number() && got.get<double>() > c.value.get<double>();
    if (!ok) {
      why = c.pointer + " is " + (has ? got.dump() : std::string("missing")) + ", expected " + c.op +
            (c.op == "exists" ? "" : " " + c.value.dump());
      return false;
    }
  }
  return true;
}

RunOutcome run_runbook(const Runbook& rb, const RunbookOptions& o, const StepExecutor& exec, const StepAsker& ask,
                       const StepReporter& report, const StepSleeper& sleep) {
  RunOutcome out;
  out.vars = rb.vars;
  for (const auto& [k, v] : o.vars) out.vars[k] = v;
  auto end = [&](int code, std::string summary) {
    out.exit_code = code;
    out.summary = std::move(summary);
    return out;
  };
  std::string still_wrong;  // the first verify step not met, when the run went on
  bool unreachable = false;
  std::vector<std::string> would;  // a dry run's mitigate steps
  size_t i = 0;
  for (int executed = 0; i < rb.steps.size(); ++executed) {
    if (executed >= 100) return end(1, "runbook error: 100 steps run; its goto steps loop");
    const RunbookStep& step = rb.steps[i];
    StepRun run;
    run.step = step.name;
    run.kind = step.kind;
    std::string missing;
    auto command = substitute(step.run, out.vars, missing);
    if (!command)
      return end(1, "runbook error: step " + step.name + " needs the variable '" + missing + "': give --var " +
                        missing + "=VALUE");
    run.command = *command;
    if (o.dry_run && step.kind != "diagnose") {
      run.why = "dry run: not run";
      if (step.kind == "mitigate") would.push_back(step.name);
      out.steps.push_back(run);
      report(out.steps.back());
      ++i;
      continue;
    }
    if (step.kind == "mitigate" && !o.yes) {
      run.answer = ask(step, *command);
      if (!*run.answer) {
        run.why = "declined";
        out.steps.push_back(run);
        report(out.steps.back());
        return end(4, "stopped at step " + step.name + ": declined, nothing more was changed; the incident is not over");
      }
    }
    const auto started = std::chrono::steady_clock::now();
    ExecResult r;
    for (;;) {
      r = exec(*command);
      ++run.attempts;
      run.met = expectation_met(step, r, run.why);
      if (run.met || std::chrono::steady_clock::now() - started >= step.wait) break;
      if (!sleep(std::chrono::seconds(1))) break;
    }
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    run.exit_code = r.exit_code;
    run.out = r.out;
    run.err = r.err;
    if (run.met) {
      run.why.clear();
      const json doc = json::parse(r.out, nullptr, false);
      for (const auto& [var, pointer] : step.set) {
        const json::json_pointer p(pointer);
        if (!doc.is_discarded() && doc.contains(p))
          out.vars[var] = doc.at(p).is_string() ? doc.at(p).get<std::string>() : doc.at(p).dump();
      }
    }
    out.steps.push_back(run);
    report(out.steps.back());
    auto jump = [&](const std::string& action) {
      const std::string target = action.substr(5);
      return static_cast<size_t>(std::find_if(rb.steps.begin(), rb.steps.end(),
                                              [&](const RunbookStep& s) { return s.name == target; }) -
                                 rb.steps.begin());
    };
    if (run.met) {
      i = step.on_met.empty() ? i + 1 : jump(step.on_met);
      continue;
    }
    unreachable = unreachable || r.exit_code == 3;
    const std::string what = step.name + ": " + (step.explain.empty() ? run.why : step.explain + " (" + run.why + ")");
    if (step.kind == "verify" && still_wrong.empty()) still_wrong = what;
    const std::string action = !step.on_fail.empty() ? step.on_fail : step.kind == "diagnose" ? "continue" : "stop";
    if (action == "continue") {
      ++i;
      continue;
    }
    if (action.rfind("goto:", 0) == 0) {
      i = jump(action);
      continue;
    }
    return end(r.exit_code == 3 ? 3 : 4, "stopped at step " + what);
  }
  if (!still_wrong.empty()) return end(unreachable ? 3 : 4, "not over: " + still_wrong);
  if (o.dry_run) {
    std::string list;
    for (const auto& w : would) list += (list.empty() ? "" : ", ") + w;
    return end(0, would.empty() ? "dry run: nothing would be changed"
                                : "dry run: would change " + std::to_string(would.size()) + " thing(s): " + list);
  }
  return end(0, "over: every verify step met");
}

}  // namespace resv
