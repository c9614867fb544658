// The runbooks a binary has: those built in (runbooks/, embedded at build
// time) and a user's folder. Apart from runbook.cpp, whose parser and engine
// the fuzz target links without the embedded files.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "ops/runbook.h"

namespace resv {

namespace fs = std::filesystem;

const std::vector<std::string>& builtin_runbook_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& f : bundled_runbook_files()) out.push_back(fs::path(f.path).stem().string());
    return out;
  }();
  return names;
}

Result<std::vector<Runbook>> load_runbooks(const std::string& user_dir) {
  std::map<std::string, Runbook> by_name;
  for (const auto& f : bundled_runbook_files()) {
    auto rb = parse_runbook(f.sql, f.path);
    if (!rb.ok()) throw std::logic_error("built-in runbook " + std::string(f.path) + ": " + rb.status().message());
    rb->source = "built-in";
    by_name[rb->name] = std::move(rb.value());
  }
  if (!user_dir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(user_dir, ec)) return Status::Invalid("runbook folder " + user_dir + " is not a folder");
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(user_dir, ec))
      if (e.path().extension() == ".toml") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& p : files) {
      std::ifstream in(p);
      std::stringstream text;
      text << in.rdbuf();
      auto rb = parse_runbook(text.str(), p.string());
      if (!rb.ok()) return rb.status();
      by_name[rb->name] = std::move(rb.value());
    }
  }
  std::vector<Runbook> out;
  for (auto& [name, rb] : by_name) out.push_back(std::move(rb));
  return out;
}

}  // namespace resv
