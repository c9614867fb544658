#!/usr/bin/env bash
# The libFuzzer targets of the parsers (tests/fuzz/: HTTP requests through the
# router, JSON bodies, queue tokens, the CLI's config file and option values),
# built with clang 14 under AddressSanitizer + UndefinedBehaviorSanitizer in
# build-fuzz.
#   scripts/fuzz.sh            replays every seed corpus, then fuzzes each
#                              target for 15 s (what CI runs: scripts/test.sh)
#   scripts/fuzz.sh --long N   fuzzes each target for N executions and prints,
#                              per target, the executions done, the time and
#                              whether it crashed (for bench/RESULTS.md)
# Exits non-zero on any crash, leak, timeout or sanitizer report; the input
# is then in build-fuzz/fuzz-artifacts/ (reproduce it with
# build-fuzz/tests/fuzz/fuzz_<target> FILE). What a run finds beyond the
# seeds is kept in build-fuzz/corpus/<target>/, so later runs start from it;
# a crashing input, once fixed, goes into tests/fuzz/corpus/<target>/ and
# into a test in tests/unit/fuzz_regressions_test.cpp.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=0
case "${1:-}" in
  "") ;;
  --long)
    runs=${2:-}
    if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
      echo "usage: scripts/fuzz.sh [--long EXECUTIONS]" >&2
      exit 2
    fi
    ;;
  *)
    echo "usage: scripts/fuzz.sh [--long EXECUTIONS]" >&2
    exit 2
    ;;
esac
seconds=15  # per target in the default (CI) mode
targets=(http_request json_bodies queue_token config_file cli_values runbook_file)
dir=build-fuzz
jobs=$(nproc 2>/dev/null || echo 2)

for tool in clang-14 clang++-14; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done

echo "== configure + build ($dir)" >&2
# -O1 -g1 as the sanitizer suite of scripts/test.sh: quick to build, fast
# enough to fuzz, line numbers in reports. Only the fuzz targets are built.
CC=clang-14 CXX=clang++-14 cmake -S . -B "$dir" -G Ninja -DRESV_FUZZ=ON -DRESV_TESTS=OFF -DRESV_BENCH_TOOLS=OFF \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 -DCMAKE_CXX_FLAGS_DEBUG=-g1 >/dev/null
ninja -C "$dir" -j"$jobs" fuzz

export ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
artifacts=$dir/fuzz-artifacts
mkdir -p "$artifacts"

failed=()
report=()
for t in "${targets[@]}"; do
  bin=$dir/tests/fuzz/fuzz_$t
  seeds=tests/fuzz/corpus/$t
  work=$dir/corpus/$t
  mkdir -p "$work"
  opts=(-artifact_prefix="$artifacts/$t-" -timeout=25 -rss_limit_mb=2560 -print_final_stats=1)
  [[ -f tests/fuzz/$t.dict ]] && opts+=(-dict="tests/fuzz/$t.dict")
  # A request may be as large as the server's limits (16 KiB body, 8 KiB head).
  [[ $t == http_request ]] && opts+=(-max_len=25000)
  log=$dir/fuzz-$t.log

  if ((runs == 0)); then
    echo "== $t: replaying $(find "$seeds" -type f | wc -l) seeds" >&2
    if ! find "$seeds" -type f -print0 | xargs -0 "$bin" "${opts[@]}" >"$log" 2>&1; then
      echo "fuzz.sh: $t failed on a seed input:" >&2
      tail -n 40 "$log" >&2
      failed+=("$t")
      continue
    fi
    echo "== $t: fuzzing for ${seconds}s" >&2
    limit=(-max_total_time="$seconds")
  else
    echo "== $t: fuzzing for $runs executions" >&2
    limit=(-runs="$runs")
  fi
  start=$SECONDS
  status=ok
  if ! "$bin" "${opts[@]}" "${limit[@]}" "$work" "$seeds" >"$log" 2>&1; then
    status="CRASHED ($(ls -t "$artifacts/$t-"* 2>/dev/null | head -n 1 || echo "see $log"))"
    echo "fuzz.sh: $t found a crash, leak or sanitizer report:" >&2
    # What the target said just before (its own check's message), the report's
    # first line, its summary and where the input went.
    { grep -B 4 -m 1 -E "ERROR|runtime error" "$log" && grep -E "^SUMMARY|Test unit written" "$log"; } >&2 ||
      tail -n 40 "$log" >&2
    failed+=("$t")
  fi
  executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  report+=("$(printf '%-14s %12s %8ss  %s' "$t" "${executed:-?}" "$((SECONDS - start))" "$status")")
done

echo "== fuzz results (target, executions, time, result)" >&2
for line in "${report[@]}"; do echo "$line"; done
if ((${#failed[@]} > 0)); then
  echo "fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: no crash, leak or sanitizer report" >&2
