#!/usr/bin/env bash
# Builds what ships, as a release does (-O3, warnings as errors, installed
# under /usr), and the Debian package from it: build/resv_<version>_amd64.deb.
# From a fresh Debian 12 clone, as root or with sudo:
#   scripts/package.sh && sudo apt-get install ./build/resv_*_amd64.deb
# Extra arguments go to cmake (scripts/test.sh --fast adds -DRESV_TESTS=ON).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
echo "== configure + build, -O3 (build)" >&2
# -g1: line tables and function names, enough for backtraces; the package's
# binaries are stripped (CPACK_STRIP_FILES).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O3 -g1 -DNDEBUG" \
  -DCMAKE_INSTALL_PREFIX=/usr -DRESV_TESTS=OFF -DRESV_UNITY=ON "$@" >/dev/null
ninja -C build
echo "== Debian package (build)" >&2
(cd build && rm -f resv_*.deb && cpack -G DEB >/dev/null)
ls build/resv_*_amd64.deb
