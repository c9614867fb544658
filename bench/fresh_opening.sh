#!/usr/bin/env bash
# A new database's first opening: seat holds at 32 connections on a freshly
# seeded database, in three back-to-back phases of 20,000 with no ANALYZE in
# between (autovacuum has no time to run one). The server's sessions plan
# their queries on the first holds, while `reservations` is empty, and keep
# those plans; a plan that reads what the opening adds gets slower phase by
# phase. Prints holds/s per phase, the last phase as a ratio to the first
# (goal: no slowdown, ~1.0) and the sequential scans of `reservations`.
#   bench/fresh_opening.sh
# Environment:
#   BASELINE=PATH   another resv-server binary, run first on its own fresh
#                   database (A/B on one noisy machine)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -z "${BASELINE:-}" || -x "$BASELINE" ]] || { echo "fresh_opening.sh: BASELINE $BASELINE is not executable" >&2; exit 2; }

source bench/common.sh
bench_setup resv-server resv-loadgen
maintenance=${db%/bench}/postgres
fresh=${db%/bench}/fresh

opening() {  # server binary -> one line
  local bin=$1 seat rates=() out
  psql -q "$maintenance" -c "DROP DATABASE IF EXISTS fresh" -c "CREATE DATABASE fresh" 2>/dev/null
  "$bin" --database-url "$fresh" --migrate >/dev/null
  psql -q -v ON_ERROR_STOP=1 "$fresh" -f bench/seed.sql >/dev/null
  psql -q "$fresh" -c "VACUUM ANALYZE" -c "CHECKPOINT"
  seat=$(psql -Atq "$fresh" -c "SELECT min(id) FROM seats WHERE schedule_id = 2")
  launch_server "$bin" "$fresh"
  for phase in 0 1 2; do
    out=$(build-bench/bench/resv-loadgen --port "$port" --scenario seats -c 32 -n 20000 --schedule 2 \
      --first-seat $((seat + phase * 20000)) --first-user $((1 + phase * 20000)))
    rates+=("$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['ok_per_s'])" "$out")")
  done
  kill "$server_pid"; wait "$server_pid" || true; server_pid=""
  echo "$bin: ${rates[*]} holds/s; last/first $(ratio "${rates[2]}" "${rates[0]}");" \
    "$(psql -Atq "$fresh" -c "SELECT count(*) FROM reservations") reservations;" \
    "$(psql -Atq "$fresh" -c "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'reservations'") sequential scans of them"
}

log "resv-server default pool, 3 x 20,000 seat holds at 32 connections on a fresh database"
[[ -n "${BASELINE:-}" ]] && opening "$BASELINE"
opening build-bench/server/resv-server
