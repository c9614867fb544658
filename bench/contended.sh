#!/usr/bin/env bash
# Measurement (b) alone, over more rounds than bench/run.sh, for working on
# the contended opening: 2,000 connections x 3 attempts at a fresh pool of 40
# (party of 4) per round, then nginx on the same burst. Prints one line per
# round and checks for overbooking at the end. Fails unless every attempt was
# answered and every round's pool sold out.
#   bench/contended.sh [ROUNDS] [-- SERVER ARGS...]     (quick check: bench/contended.sh 1)
# Environment:
#   BASELINE=PATH   another resv-server binary, run on its own pool in every
#                   round before the one built here (A/B on one noisy machine)
#   TRACE_DIR=DIR   resv-loadgen --trace files, one per round (round-N.txt)
#   PG_LOG=FILE     every statement logged with its duration and end time
#                   (log_min_duration_statement = 0), the log copied to FILE
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=5
[[ $# -gt 0 && "$1" != "--" ]] && { rounds=$1; shift; }
[[ "${1:-}" == "--" ]] && shift
[[ "$rounds" =~ ^([1-9]|[1-4][0-9])$ ]] || { echo "contended.sh: ROUNDS must be 1-49 (4,000 of the 200,000 bench users per round)" >&2; exit 2; }
[[ -z "${BASELINE:-}" || -x "$BASELINE" ]] || { echo "contended.sh: BASELINE $BASELINE is not executable" >&2; exit 2; }

source bench/common.sh
bench_setup resv-server resv-loadgen
psql -q "$db" -f bench/seed.sql >/dev/null
psql -q "$db" -c "INSERT INTO pools (schedule_id, name, kind, capacity, price, max_party, max_per_user)
  SELECT 4, 'Round ' || g, 'RESTAURANT_SLOT', 40, 30000, 4, 4 FROM generate_series(1, $((2 * rounds))) g" >/dev/null
if [[ -n "${PG_LOG:-}" ]]; then
  psql -q "$db" -c "ALTER DATABASE bench SET log_min_duration_statement = 0" \
    -c "ALTER SYSTEM SET log_line_prefix = '%m [%p] '" -c "SELECT pg_reload_conf()" >/dev/null
fi
pool_ids=$(psql -Atq "$db" -c "SELECT id FROM pools WHERE schedule_id = 4 AND name LIKE 'Round %' ORDER BY id")
mapfile -t pools <<<"$pool_ids"
expect_eq "pools made for the rounds" "${#pools[@]}" $((2 * rounds))

start_server --db-pool-size "${RESV_BENCH_POOL:-32}" "$@"
new_port=$port
if [[ -n "${BASELINE:-}" ]]; then
  base_port=$(free_port); base_admin=$(free_port)
  "$BASELINE" --database-url "$db" --port "$base_port" --admin-port "$base_admin" --io-threads 1 \
    --admin-token bench --db-pool-size "${RESV_BENCH_POOL:-32}" "$@" >"$work/base.out" 2>"$work/base.log" &
  base_pid=$!
  trap 'kill $base_pid 2>/dev/null || true; bench_cleanup' EXIT
  wait_ready "$base_admin" "$work/base.log"
fi
mkdir -p "$work/www"
echo "$sold_out_body" >"$work/www/sold_out"
start_nginx

# The load generator's output is summarised after it exits: a summariser
# started with it (a pipe) would take CPU from the burst it measures.
summary() {  # loadgen JSON -> "p95 / arrival p95 (2xx/5xx)"
  python3 -c "import json,sys; a=json.loads(sys.argv[1]); print('%5.1f / %5.1f (%d/%d)' % (a['p95_ms'], a['arrival_p95_ms'], a['ok2xx'], a['server5xx']))" "$1"
}
contended() {  # port pool first-user [trace]: each round's buyers are new users
  local trace=() out
  [[ -n "${4:-}" ]] && trace=(--trace "$4")
  out=$(build-bench/bench/resv-loadgen --port "$1" --scenario contended -c 2000 --per-connection 3 --schedule 4 \
    --pool "$2" --quantity 4 --first-user "$3" "${trace[@]}")
  expect_run "pool $2 on port $1" "$out" 6000 -
  summary "$out"
}
burst_warm "$new_port" /api/concerts
[[ -n "${BASELINE:-}" ]] && burst_warm "$base_port" /api/concerts
burst_warm "$nginx_port" /sold_out
[[ -n "${TRACE_DIR:-}" ]] && mkdir -p "$TRACE_DIR"
echo "p95 ms as the client read it / as the answer arrived at its socket (holds/5xx) per round"
for ((r = 0; r < rounds; r++)); do
  line="round $((r + 1)):"
  [[ -n "${BASELINE:-}" ]] && line+="  baseline $(contended "$base_port" "${pools[$((2 * r))]}" $((1 + 4000 * r)))"
  line+="  resv-server $(contended "$new_port" "${pools[$((2 * r + 1))]}" $((2001 + 4000 * r)) \
    "${TRACE_DIR:+$TRACE_DIR/round-$((r + 1)).txt}")"
  out=$(build-bench/bench/resv-loadgen --port "$nginx_port" --scenario get --path /sold_out -c 2000 --per-connection 3)
  expect_run "nginx, round $((r + 1))" "$out" 6000 6000
  line+="  nginx $(summary "$out" | cut -d'(' -f1)"
  echo "$line"
done
[[ -n "${PG_LOG:-}" ]] && cp "$work/pg/postgres.log" "$PG_LOG"
# A round whose pool did not sell out measured something else.
used=()
for ((r = 0; r < rounds; r++)); do
  [[ -n "${BASELINE:-}" ]] && used+=("${pools[$((2 * r))]}")
  used+=("${pools[$((2 * r + 1))]}")
done
short=$(IFS=,; psql -Atq "$db" -c "SELECT count(*) FROM pools p WHERE id IN (${used[*]})
  AND (SELECT count(*) FROM pool_units u WHERE u.pool_id = p.id AND u.reservation_id IS NOT NULL) < 40")
expect_eq "pools of 40 that did not sell out" "$short" 0
echo "pools over capacity: $(psql -Atq "$db" -c "SELECT count(*) FROM (SELECT pool_id FROM pool_units
  WHERE reservation_id IS NOT NULL GROUP BY pool_id HAVING count(*) > 40) x")"
