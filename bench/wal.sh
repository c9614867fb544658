#!/usr/bin/env bash
# WAL settings of the embedded cluster against the seat-hold benchmark, with
# durability kept (fsync and synchronous_commit on, as `resv db up` leaves
# them): wal_compression off and lz4, alternating, three rounds each. Each
# phase starts right after a CHECKPOINT, so that the full-page images every
# first change of a page after a checkpoint writes (what wal_compression
# compresses) are in every phase alike: seat holds at 32 connections through
# one resv-server, each a new seat. Prints holds/s, p95, and WAL bytes and
# full-page images per hold (pg_stat_wal); the ratio lz4/off of the medians.
# Fails unless every hold was answered 201 and is in the database.
#   bench/wal.sh [--quick]     (--quick: phases of 2,000 holds, one round)
set -euo pipefail
cd "$(dirname "$0")/.."
per_phase=10000; rounds=3
[[ "${1:-}" == "--quick" ]] && { per_phase=2000; rounds=1; }
bench_name=wal
source bench/common.sh
embedded_setup resv resv-server resv-loadgen

log "embedded cluster, seed"
psql -q "$db" -f bench/seed.sql >/dev/null
psql -q "$db" -c "VACUUM ANALYZE" >/dev/null
port=$(free_port)
resv server start --port "$port" --admin-port "$(free_port)" >/dev/null
seat0=$(psql -Atq "$db" -c "SELECT min(id) FROM seats WHERE schedule_id = 2")
wal() { psql -Atq "$db" -c "SELECT wal_bytes || ' ' || wal_fpi FROM pg_stat_wal"; }

lines=()
phase=0
for ((r = 1; r <= rounds; r++)); do
  for setting in off lz4; do
    log "round $r, wal_compression = $setting"
    psql -q "$db" -c "ALTER SYSTEM SET wal_compression = $setting" -c "SELECT pg_reload_conf()" >/dev/null
    psql -q "$db" -c "CHECKPOINT" >/dev/null
    read -r bytes0 fpi0 <<<"$(wal)"
    out=$(build-bench/bench/resv-loadgen --port "$port" --scenario seats -c 32 -n "$per_phase" --schedule 2 \
      --first-seat $((seat0 + phase * per_phase)) --first-user $((1 + phase * per_phase)))
    read -r bytes1 fpi1 <<<"$(wal)"
    expect_run "round $r, $setting" "$out" "$per_phase" "$per_phase"
    held=$(psql -Atq "$db" -c "SELECT count(*) FROM seats WHERE schedule_id = 2 AND reservation_id IS NOT NULL
      AND id >= $((seat0 + phase * per_phase)) AND id < $((seat0 + (phase + 1) * per_phase))")
    expect_eq "round $r, $setting: holds in the database" "$held" "$per_phase"
    lines+=("$setting $(python3 -c "import json,sys; r=json.loads(sys.argv[1]); print(r['ok_per_s'], r['p95_ms'])" "$out") \
$(((bytes1 - bytes0) / per_phase)) $(python3 -c "print('%.2f' % (($fpi1 - $fpi0) / $per_phase))")")
    phase=$((phase + 1))
  done
done
psql -q "$db" -c "ALTER SYSTEM RESET wal_compression" -c "SELECT pg_reload_conf()" >/dev/null

echo "## bench/wal.sh: $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "Seat holds, 32 connections, one resv-server, on the embedded cluster (fsync and synchronous_commit on);"
echo "each phase of $per_phase holds right after a CHECKPOINT."
echo
echo "| wal_compression | holds/s | p95 (ms) | WAL bytes per hold | full-page images per hold |"
echo "|---|---|---|---|---|"
for l in "${lines[@]}"; do
  read -r s rate p95 bytes fpi <<<"$l"
  echo "| $s | $rate | $p95 | $bytes | $fpi |"
done
printf '%s\n' "${lines[@]}" | python3 -c "
import statistics, sys
by = {}
for l in sys.stdin:
    s, rate, p95, b, f = l.split(); by.setdefault(s, []).append((float(rate), float(b)))
m = lambda s, i: statistics.median(x[i] for x in by[s])
print('\nMedians: lz4/off holds/s %.2f, WAL bytes per hold %.2f' % (m('lz4', 0) / m('off', 0), m('lz4', 1) / m('off', 1)))"
