// Fuzz target: the CLI's config file reader (cli/settings.h). The bytes are
// written to a regular file given as --config; resolve_settings must answer
// with settings or an InvalidRequest, never crash or throw. The state
// directory is given as a flag (an empty directory of this process), and
// the environment is empty, so that only the file varies.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "cli/settings.h"

using namespace resv;
using namespace resv::cli;
namespace fs = std::filesystem;

namespace {

struct Scratch {
  fs::path dir;
  fs::path config;
  fs::path state;
  Scratch() {
    // tmpfs when there is one: on ext4 a file truncated and written again
    // is flushed at close (auto_da_alloc), a few ms per input.
    std::error_code ec;
    fs::path base = fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0 ? fs::path("/dev/shm")
                                                                                        : fs::temp_directory_path();
    dir = base / ("resv-fuzz-config-" + std::to_string(::getpid()));
    fs::create_directories(dir / "state");
    config = dir / "config.toml";
    state = dir / "state";
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Scratch scratch;
  {
    std::error_code ec;
    fs::remove(scratch.config, ec);  // a new file, not one truncated (see Scratch)
    std::ofstream out(scratch.config, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  const EnvLookup no_env = [](const char*) -> const char* { return nullptr; };
  try {
    auto s = resolve_settings({.config = scratch.config.string(), .state_dir = scratch.state.string()}, no_env);
    if (s.ok()) {
      for (const Setting* v : {&s->config_file, &s->state_dir, &s->database_url, &s->admin_url, &s->admin_token,
                               &s->kafka_brokers})
        (void)v->shown();
      if (s->config_file.value != scratch.config.string()) std::abort();
    } else if (s.status().code() != ErrorCode::InvalidRequest) {
      std::fprintf(stderr, "resolve_settings: %s\n", s.status().message().c_str());
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "resolve_settings threw: %s\n", e.what());
    std::abort();
  }
  return 0;
}
