#!/usr/bin/env bash
# A new database's first opening: seat holds at 32 connections on a freshly
# seeded database, in three back-to-back phases of 20,000 with no ANALYZE in
# between (autovacuum has no time to run one). The server's sessions plan
# their queries on the first holds, while `reservations` is empty, and keep
# those plans; a plan that reads what the opening adds gets slower phase by
# phase. Prints holds/s per phase, the last phase as a ratio to the first
# (goal: no slowdown, ~1.0) and the sequential scans of `reservations`.
# Fails unless every hold of every phase was answered and made.
#   bench/fresh_opening.sh [--quick]     (--quick: phases of 2,000, for a smoke run)
# Environment:
#   BASELINE=PATH   another resv-server binary, run first on its own fresh
#                   database (A/B on one noisy machine)
set -euo pipefail
cd "$(dirname "$0")/.."
per_phase=20000; [[ "${1:-}" == "--quick" ]] && per_phase=2000
[[ -z "${BASELINE:-}" || -x "$BASELINE" ]] || { echo "fresh_opening.sh: BASELINE $BASELINE is not executable" >&2; exit 2; }

source bench/common.sh
bench_setup resv-server resv-loadgen
maintenance=${db%/bench}/postgres
fresh=${db%/bench}/fresh

opening() {  # server binary -> one line
  local bin=$1 seat rates=() out
  psql -q "$maintenance" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS fresh" \
    -c "CREATE DATABASE fresh"
  "$bin" --database-url "$fresh" --migrate >/dev/null
  psql -q "$fresh" -f bench/seed.sql >/dev/null
  psql -q "$fresh" -c "VACUUM ANALYZE" -c "CHECKPOINT"
  seat=$(psql -Atq "$fresh" -c "SELECT min(id) FROM seats WHERE schedule_id = 2")
  launch_server "$bin" "$fresh"
  for phase in 0 1 2; do
    out=$(build-bench/bench/resv-loadgen --port "$port" --scenario seats -c 32 -n "$per_phase" --schedule 2 \
      --first-seat $((seat + phase * per_phase)) --first-user $((1 + phase * per_phase)))
    expect_run "$bin, phase $((phase + 1))" "$out" "$per_phase" "$per_phase"
    rates+=("$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['ok_per_s'])" "$out")")
  done
  kill "$server_pid"
  wait "$server_pid" || fail "$bin exited with $? when stopped"
  server_pid=""
  expect_eq "$bin: reservations in the database" "$(psql -Atq "$fresh" -c "SELECT count(*) FROM reservations")" \
    $((3 * per_phase))
  echo "$bin: ${rates[*]} holds/s; last/first $(ratio "${rates[2]}" "${rates[0]}");" \
    "$((3 * per_phase)) reservations;" \
    "$(psql -Atq "$fresh" -c "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'reservations'") sequential scans of them"
}

log "resv-server default pool, 3 x $per_phase seat holds at 32 connections on a fresh database"
[[ -n "${BASELINE:-}" ]] && opening "$BASELINE"
opening build-bench/server/resv-server
