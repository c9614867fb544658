#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs dependencies,
# builds what ships at -O3 and its Debian package (scripts/package.sh) and
# tests the installed tree and the package, then builds every test (unit, integration,
# end-to-end, concurrency) under AddressSanitizer + UndefinedBehaviorSanitizer
# and runs them against a throwaway PostgreSQL; then fuzzes the parsers for a
# short bounded time (scripts/fuzz.sh: libFuzzer targets in tests/fuzz/, built
# with clang 14).
#   scripts/test.sh            everything (what CI runs)
#   scripts/test.sh --fast     the tests in the -O3 build, no sanitizer pass
set -euo pipefail
cd "$(dirname "$0")/.."

fast=0
[[ "${1:-}" == "--fast" ]] && fast=1
jobs=$(nproc 2>/dev/null || echo 2)

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

# Everything that ships, and the load generators, built as a release is
# (scripts/package.sh: -O3; GCC 12 raises some warnings only there, and
# warnings fail the build), with the Debian package; then the installed tree
# and the package are tested (tests/package/package_test.sh).
# CI (no flag): then every test built and run once under AddressSanitizer
# + UndefinedBehaviorSanitizer, which checks more per test than a plain run.
# One test build instead of two, both compiled in batches of 8 sources
# (RESV_UNITY: the inline code of CLI11, nlohmann/json and GoogleTest,
# which dominated compile time, is compiled once per batch), keep CI near a
# quarter of an hour on two cores. -g1 (line tables and function names:
# enough for failure backtraces and sanitizer reports) instead of full debug
# info.
# --fast: the tests in the -O3 build, without the sanitizer pass.
if ((fast == 1)); then
  scripts/package.sh -DRESV_TESTS=ON
  tests/package/package_test.sh build
  suite_dir=build
  echo "== tests (build)" >&2
  (cd build && ctest -j"$jobs" --output-on-failure --timeout 900)
else
  scripts/package.sh
  echo "== installed tree and package (tests/package/package_test.sh)" >&2
  tests/package/package_test.sh build
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp:print_suppressions=0
  # The load generators in bench/ are not tested: the -O3 build checks that
  # they compile.
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DRESV_SANITIZE=ON \
    -DRESV_BENCH_TOOLS=OFF -DRESV_UNITY=ON
  # The parsers under libFuzzer: the seed corpora replayed, then 15 s of
  # fuzzing per target (build-fuzz; about two and a half minutes in all).
  echo "== fuzz (build-fuzz)" >&2
  scripts/fuzz.sh
fi
echo "scripts/test.sh: all suites passed" >&2
