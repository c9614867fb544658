// libFuzzer target: bytes as a runbook file (parse_runbook: TOML, then every
// field's validation). It must return a runbook or an InvalidRequest naming
// the file; and a runbook it returns must be whole: every step named, of a
// known kind, with a command, and every jump to a step that exists.
#include <cstddef>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>

#include "ops/runbook.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto rb = resv::parse_runbook(text, "fuzz.toml");
  if (!rb.ok()) {
    if (rb.status().message().rfind("fuzz.toml", 0) != 0) throw std::logic_error("an error without its file");
    return 0;
  }
  std::set<std::string> names;
  for (const auto& s : rb->steps) {
    if (s.kind != "diagnose" && s.kind != "mitigate" && s.kind != "verify") throw std::logic_error("unknown kind");
    if (s.run.empty()) throw std::logic_error("a step without a command");
    names.insert(s.name);
  }
  for (const auto& s : rb->steps)
    for (const std::string* action : {&s.on_fail, &s.on_met})
      if (action->rfind("goto:", 0) == 0 && !names.count(action->substr(5))) throw std::logic_error("a jump to nowhere");
  return 0;
}
