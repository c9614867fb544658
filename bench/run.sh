#!/usr/bin/env bash
# Runs the issue's four measurements in one go and prints a Markdown report.
# Everything runs on 127.0.0.1. Each figure is a ratio to a ceiling measured
# in the same run, with the same CPU split (one load thread, one server I/O
# thread, one nginx worker, one pgbench thread).
# Every phase checks that it did the work it reports (every request
# answered, the holds in the database) and the script fails otherwise.
#   bench/run.sh [--quick]      (--quick: smaller counts, for a smoke run)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; [[ "${1:-}" == "--quick" ]] && quick=1

source bench/common.sh
bench_setup resv-server resv-loadgen
# Like pgbench's own pre-run vacuum: each measured phase starts without the
# previous phase's dead rows, autovacuum backlog or dirty buffers.
settle() { psql -q "$db" -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null; }
json() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

log "seeding"
psql -q "$db" -f bench/seed.sql >/dev/null
expect_eq "seats seeded" "$(psql -Atq "$db" -c "SELECT count(*) FROM seats")" 301000
settle  # or autovacuum visits the seeded tables during (a) or (b)
# The server as shipped (its default pool) unless RESV_BENCH_POOL says otherwise.
start_server ${RESV_BENCH_POOL:+--db-pool-size "$RESV_BENCH_POOL"}
sessions=$(curl -sf -H "Authorization: Bearer bench" "http://127.0.0.1:$admin_port/admin/status" |
  python3 -c "import json,sys; print(json.load(sys.stdin)['config']['dbPoolSize'])")
[[ "$sessions" =~ ^[1-9][0-9]*$ ]] || fail "/admin/status gave no database pool size: '$sessions'"
loadgen() { build-bench/bench/resv-loadgen --port "$port" "$@"; }
dur=10; [[ $quick == 1 ]] && dur=3

# (a) browse: GET the seat map of a 1,000-seat schedule vs nginx serving the same bytes.
mkdir -p "$work/www/api/schedules/1"
curl -sf "http://127.0.0.1:$port/api/schedules/1/seats" -o "$work/www/api/schedules/1/seats"
body_bytes=$(stat -c %s "$work/www/api/schedules/1/seats")
(( body_bytes > 0 )) || fail "the seat map of schedule 1 is empty"
start_nginx
log "(a) browse"
wrk_rps "http://127.0.0.1:$port/api/schedules/1/seats" >/dev/null  # warm
nginx_rps=$(wrk_rps "http://127.0.0.1:$nginx_port/api/schedules/1/seats")
server_rps=$(wrk_rps "http://127.0.0.1:$port/api/schedules/1/seats")
# (b) the contended opening: 2,000 connections x 3 attempts at a pool of 40,
# party of 4. Ceiling: nginx answering the same pattern with a static body of
# the same size (GET: nginx serves no POST), one worker, same load generator.
# Five rounds each (a fresh pool per round), medians reported.
echo "$sold_out_body" >"$work/www/sold_out"
burst_warm "$port" /api/concerts
burst_warm "$nginx_port" /sold_out
b_runs=(); n_runs=()
round=0
for pool in 1 3 4 5 6; do
  log "(b) contended pool, round $((round + 1))"
  b_runs+=("$(loadgen --scenario contended -c 2000 --per-connection 3 --schedule 4 --pool "$pool" --quantity 4 \
    --first-user $((1 + round * 2000)))")
  n_runs+=("$(build-bench/bench/resv-loadgen --port "$nginx_port" --scenario get --path /sold_out -c 2000 --per-connection 3)")
  # Every attempt answered; which answers (2xx, 4xx, 5xx) is the measure.
  expect_run "(b) round $((round + 1)), resv-server" "${b_runs[$round]}" 6000 -
  expect_run "(b) round $((round + 1)), nginx" "${n_runs[$round]}" 6000 6000
  round=$((round + 1))
done
median() {  # field, json lines...
  local f=$1; shift
  printf '%s\n' "$@" | python3 -c "import json,sys,statistics; print(statistics.median(json.loads(l)['$f'] for l in sys.stdin))"
}
total() { local f=$1; shift; printf '%s\n' "$@" | python3 -c "import json,sys; print(sum(json.loads(l)['$f'] for l in sys.stdin))"; }
rounds() {  # json lines -> "p95/arrival_p95, ..." per round
  printf '%s\n' "$@" | python3 -c "import json,sys; print(', '.join('%.1f/%.1f' % (a['p95_ms'], a['arrival_p95_ms']) for a in map(json.loads, sys.stdin)))"
}
b_units=$(psql -Atq "$db" -c "SELECT count(*) FROM pool_units WHERE pool_id IN (1, 3, 4, 5, 6) AND reservation_id IS NOT NULL")
b_holds=$(psql -Atq "$db" -c "SELECT count(*) FROM reservations WHERE pool_id IN (1, 3, 4, 5, 6)")
b_over=$(psql -Atq "$db" -c "SELECT count(*) FROM (SELECT pool_id FROM pool_units WHERE reservation_id IS NOT NULL GROUP BY pool_id HAVING count(*) > 40) x")
# An opening that did not sell out measured something else.
b_short=$(psql -Atq "$db" -c "SELECT count(*) FROM pools p WHERE id IN (1, 3, 4, 5, 6)
  AND (SELECT count(*) FROM pool_units u WHERE u.pool_id = p.id AND u.reservation_id IS NOT NULL) < 40")
expect_eq "(b): pools of 40 not sold out ($b_units units taken, $b_holds reservations)" "$b_short" 0
stop_nginx

# (c) successful holds on 100,000 seats, 32 connections, vs pgbench running the
# same SQL at the same concurrency: 32 clients, and also as many clients as
# the server has database sessions (fewer sessions cost PostgreSQL less CPU
# per transaction on 2 cores, so this second ceiling is the stricter one when
# the pool is smaller). Three alternating rounds (the machine is shared and
# noisy), each on fresh seats and users; medians reported.
n=60000; [[ $quick == 1 ]] && n=6000
per_round=$((n / 3))
seat2=$(psql -Atq "$db" -c "SELECT min(id) FROM seats WHERE schedule_id = 2")
seat3=$(psql -Atq "$db" -c "SELECT min(id) FROM seats WHERE schedule_id = 3")
seat6=$(psql -Atq "$db" -c "SELECT min(id) FROM seats WHERE schedule_id = 6")
pgbench_holds() {  # clients schedule first_seat first_user -> tps; fails unless every transaction ran
  local per_client=$((per_round / $1)) out done
  out=$(pgbench -n -M prepared -c "$1" -j 1 -t "$per_client" -f bench/hold_seat.pgbench -D i=0 -D stride="$per_client" \
    -D schedule="$2" -D first_seat="$(($3 - 1))" -D first_user="$4" "$db")
  done=$(awk '/^number of transactions actually processed:/ {print $NF}' <<<"$out")
  expect_eq "pgbench at $1 clients: transactions processed" "$done" "$((per_client * $1))/$((per_client * $1))"
  awk '/^tps/ {print $3; exit}' <<<"$out"
}
held() { psql -Atq "$db" -c "SELECT count(*) FROM seats WHERE schedule_id = $1 AND reservation_id IS NOT NULL"; }
median_of() { python3 -c "import sys,statistics; print(statistics.median(float(l) for l in sys.argv[1:]))" "$@"; }
c_runs=(); pg_runs=(); pgs_runs=()
for round in 0 1 2; do
  log "(c) seat holds, round $((round + 1)): pgbench at 32 and at $sessions clients, then resv-server"
  settle
  pg_runs+=("$(pgbench_holds 32 3 $((seat3 + round * per_round)) $((100000 + round * per_round)))")
  # A hold the function refused (seat taken, no balance) is a transaction too: count the seats.
  expect_eq "(c) seats held through pgbench at 32 clients after round $((round + 1))" "$(held 3)" \
    $(((round + 1) * (per_round / 32 * 32)))
  settle
  pgs_runs+=("$(pgbench_holds "$sessions" 6 $((seat6 + round * per_round)) $((1 + round * per_round)))")
  expect_eq "(c') seats held through pgbench at $sessions clients after round $((round + 1))" "$(held 6)" \
    $(((round + 1) * (per_round / sessions * sessions)))
  settle
  c_runs+=("$(loadgen --scenario seats -c 32 -n "$per_round" --schedule 2 --first-seat "$((seat2 + round * per_round))" \
    --first-user "$((1 + round * per_round))")")
  expect_run "(c) round $((round + 1)), resv-server" "${c_runs[$round]}" "$per_round" "$per_round"
  expect_eq "(c) seats held through resv-server after round $((round + 1))" "$(held 2)" $(((round + 1) * per_round))
done
pg_tps=$(median_of "${pg_runs[@]}")
pgs_tps=$(median_of "${pgs_runs[@]}")
c=$(printf '%s\n' "${c_runs[@]}" | python3 -c "
import json,sys,statistics
runs=[json.loads(l) for l in sys.stdin]
m=sorted(runs, key=lambda r: r['ok_per_s'])[1]
m['ok_per_s_all']=[r['ok_per_s'] for r in runs]
print(json.dumps(m))")
pg_ok=$(( $(held 3) + $(held 6) ))
c_ok=$(held 2)

# (d) one pool of 100,000, one per user, 64 connections, distinct users; and,
# as a control, seat holds at the same 64 connections (seats (c) left free).
settle
log "(d) control: seat holds at 64 connections"
dc=$(loadgen --scenario seats -c 64 -n "$((n / 3))" --schedule 2 --first-seat "$((seat2 + n))" --first-user 150001)
expect_run "(d) control, seat holds at 64 connections" "$dc" "$((n / 3))" "$((n / 3))"
expect_eq "(d) control: seats held through resv-server" "$(held 2)" $((n + n / 3))
settle
log "(d) pool holds"
d=$(loadgen --scenario pool -c 64 -n "$n" --schedule 5 --pool 2 --quantity 1 --first-user 100001)
expect_run "(d) pool holds" "$d" "$n" "$n"
d_units=$(psql -Atq "$db" -c "SELECT count(*) FROM pool_units WHERE pool_id = 2 AND reservation_id IS NOT NULL")
expect_eq "(d) units of pool 2 held" "$d_units" "$n"

cmd="${RESV_BENCH_POOL:+RESV_BENCH_POOL=$RESV_BENCH_POOL }bench/run.sh"; [[ $quick == 1 ]] && cmd+=" --quick"
cat <<REPORT
## Run of $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(uname -r))

PostgreSQL 15 throwaway cluster (scripts/pg-test.sh: fsync off, synchronous_commit off) shared by
resv-server and its ceilings (VACUUM ANALYZE + CHECKPOINT before each measured phase); resv-server --io-threads 1 --db-pool-size ${sessions}; wrk -t1; nginx 1 worker;
pgbench -j1; resv-loadgen is single-threaded. Command: \`${cmd}\`

| | measure | resv-server | ceiling | ratio | goal |
|---|---|---|---|---|---|
| (a) | GET seat map, 1,000 seats (${body_bytes} B), 64 conns, req/s | ${server_rps} | nginx ${nginx_rps} | $(ratio "$server_rps" "$nginx_rps") | >= 0.5 |
| (c) | successful seat holds/s, 32 conns | $(json "$c" ok_per_s) | pgbench ${pg_tps} tps, 32 clients | $(ratio "$(json "$c" ok_per_s)" "$pg_tps") | >= 0.8 |
| (c') | the same holds vs pgbench at as many clients as resv-server has sessions | $(json "$c" ok_per_s) | pgbench ${pgs_tps} tps, ${sessions} clients | $(ratio "$(json "$c" ok_per_s)" "$pgs_tps") | |
| (d) | successful pool holds/s (pool 100,000, 1/user), 64 conns | $(json "$d" ok_per_s) | (c) $(json "$c" ok_per_s) | $(ratio "$(json "$d" ok_per_s)" "$(json "$c" ok_per_s)") | >= 0.8 |
| (d') | the same pool holds vs seat holds at the same 64 conns | $(json "$d" ok_per_s) | seats $(json "$dc" ok_per_s) | $(ratio "$(json "$d" ok_per_s)" "$(json "$dc" ok_per_s)") | |

(b) contended opening, pool of 40 / party 4, 2,000 connections x 3 attempts, 5 rounds (medians):

| | p50 ms | p95 ms | p99 ms | max ms | 2xx | 4xx | 5xx | conn errors |
|---|---|---|---|---|---|---|---|---|
| resv-server, read by the client | $(median p50_ms "${b_runs[@]}") | $(median p95_ms "${b_runs[@]}") | $(median p99_ms "${b_runs[@]}") | $(median max_ms "${b_runs[@]}") | $(total ok2xx "${b_runs[@]}") | $(total client4xx "${b_runs[@]}") | $(total server5xx "${b_runs[@]}") | $(total connErrors "${b_runs[@]}") |
| resv-server, arrived at its socket | $(median arrival_p50_ms "${b_runs[@]}") | $(median arrival_p95_ms "${b_runs[@]}") | $(median arrival_p99_ms "${b_runs[@]}") | $(median arrival_max_ms "${b_runs[@]}") | | | | |
| nginx, static body, read by the client | $(median p50_ms "${n_runs[@]}") | $(median p95_ms "${n_runs[@]}") | $(median p99_ms "${n_runs[@]}") | $(median max_ms "${n_runs[@]}") | $(total ok2xx "${n_runs[@]}") | | | $(total connErrors "${n_runs[@]}") |
| nginx, arrived at its socket | $(median arrival_p50_ms "${n_runs[@]}") | $(median arrival_p95_ms "${n_runs[@]}") | $(median arrival_p99_ms "${n_runs[@]}") | $(median arrival_max_ms "${n_runs[@]}") | | | | |

Per round, p95 read / arrived ms: resv-server $(rounds "${b_runs[@]}"); nginx $(rounds "${n_runs[@]}").
p95 ratio resv-server / nginx: $(ratio "$(median p95_ms "${b_runs[@]}")" "$(median p95_ms "${n_runs[@]}")") read by the client, $(ratio "$(median arrival_p95_ms "${b_runs[@]}")" "$(median arrival_p95_ms "${n_runs[@]}")") arrived.
"Read by the client": from just before sending to the response parsed by the
one-threaded load generator, including its wait to get to that connection.
"Arrived": to the kernel's receive time of the response's last data
(SO_TIMESTAMPNS), the server's and the network's part alone.
In the database afterwards: ${b_holds} reservations over the 5 pools (expected 50), ${b_units} of 200 units
taken, ${b_over} pools over capacity (goal: p95 <= 20 ms, 0 5xx, 0 overbooking).

Details: (c) rounds: resv-server $(json "$c" ok_per_s_all) holds/s, pgbench ${pg_runs[*]} tps at 32 clients, ${pgs_runs[*]} at ${sessions}; median round
p95 $(json "$c" p95_ms) ms; $c_ok seats held through resv-server, $pg_ok through pgbench (both rows). (d) $(json "$d" ok2xx) 2xx ($d_units units held), p95 $(json "$d" p95_ms) ms.

Raw: b=${b_runs[*]}
nginx=${n_runs[*]}
c=$c
d=$d
d_control=$dc
REPORT
