#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs dependencies,
# builds, runs every test (unit, integration, end-to-end, concurrency) against
# a throwaway PostgreSQL, then builds and runs them again under
# AddressSanitizer + UndefinedBehaviorSanitizer.
#   scripts/test.sh            everything
#   scripts/test.sh --fast     the normal build only (no sanitizer pass)
set -euo pipefail
cd "$(dirname "$0")/.."

fast=0
[[ "${1:-}" == "--fast" ]] && fast=1
jobs=$(nproc 2>/dev/null || echo 2)

scripts/install-deps.sh

suite_dir=""
trap '[[ -n "$suite_dir" ]] && scripts/pg-test.sh stop "$suite_dir/pgtest" 2>/dev/null || true' EXIT

run_suite() {  # dir, cmake args...
  local dir=$1; shift
  suite_dir=$dir
  echo "== configure + build ($dir)" >&2
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  ninja -C "$dir"
  echo "== tests ($dir)" >&2
  # ctest starts and stops the throwaway PostgreSQL (fixtures pg_start/pg_stop),
  # and stops it even when tests fail; the EXIT trap covers an interrupted run.
  (cd "$dir" && ctest -j"$jobs" --output-on-failure --timeout 900)
}

# -O3 as in a Release build: what the benchmarks run is what is tested, and
# warnings GCC 12 raises only at -O3 fail here. -g1 (line tables and
# function names: enough for failure backtraces and sanitizer reports)
# instead of full debug info: compiling the template-heavy tests is ~40%
# faster, and CI builds everything twice on 2 cores.
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O3 -g1 -DNDEBUG"
if ((fast == 0)); then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp:print_suppressions=0
  # The load generators in bench/ are not tested: the normal build checks
  # that they compile.
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DRESV_SANITIZE=ON \
    -DRESV_BENCH_TOOLS=OFF
fi
echo "scripts/test.sh: all suites passed" >&2
