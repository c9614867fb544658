// resv-docgen OUTDIR: writes OUTDIR/completions/{resv.bash,_resv,resv.fish}
// and OUTDIR/man/{resv.1,resv-server.8} from the command trees.
// `ninja -C build docs` runs it on the source tree.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/context.h"
#include "cli/docgen.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: resv-docgen OUTDIR\n");
    return 2;
  }
  namespace fs = std::filesystem;
  resv::cli::Context ctx;
  auto app = resv::cli::build_cli(ctx);
  const fs::path out = argv[1];
  const std::pair<fs::path, std::string> files[] = {
      {out / "completions" / "resv.bash", resv::cli::bash_completion(*app, ctx)},
      {out / "completions" / "_resv", resv::cli::zsh_completion(*app, ctx)},
      {out / "completions" / "resv.fish", resv::cli::fish_completion(*app, ctx)},
      {out / "man" / "resv.1", resv::cli::resv_man_page(*app, ctx)},
      {out / "man" / "resv-server.8", resv::cli::server_man_page()},
  };
  for (const auto& [path, text] : files) {
    fs::create_directories(path.parent_path());
    std::ofstream f(path, std::ios::binary);
    f << text;
    if (!f) {
      std::fprintf(stderr, "resv-docgen: cannot write %s\n", path.c_str());
      return 1;
    }
  }
  return 0;
}
