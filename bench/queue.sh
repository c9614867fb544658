#!/usr/bin/env bash
# The waiting room's measurements (issue 5), printed as a Markdown report:
#   - token issue/s with 64 connections (three rounds of 30,000 distinct users);
#   - token status/s vs nginx serving a body of the same size (wrk, 64 connections);
#   - field report 001's journey (issue -> wait -> browse -> reserve -> pay), 300 buyers
#     (resv bench journey, on a concert of its own).
# Same CPU split as bench/run.sh: one server I/O thread, one nginx worker, wrk -t1.
# Every phase checks that it did the work it reports (tokens issued and in the
# database, status answered, the buyers' seats sold and paid) and the script
# fails otherwise.
#   bench/queue.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; [[ "${1:-}" == "--quick" ]] && quick=1

source bench/common.sh
bench_setup resv-server resv-loadgen resv
json() { python3 -c "import json,sys; d=json.loads(sys.argv[1])
for k in sys.argv[2].split('.'): d=d[k]
print(d)" "$1" "$2"; }
median() { python3 -c "import sys,statistics; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
psql -q "$db" -f bench/queue_seed.sql >/dev/null
expect_eq "queues seeded" "$(psql -Atq "$db" -c "SELECT count(*) FROM queue_concerts")" 3
start_server --db-pool-size 32
dur=10; n=30000
[[ $quick == 1 ]] && { dur=3; n=5000; }

# Token issue: distinct users, 64 connections, one round per concert.
issue_runs=(); issue_rates=()
for c in 1 2 3; do
  log "token issue, round $c"
  r=$(build-bench/bench/resv-loadgen --port "$port" --scenario issue -c 64 -n "$n" --concert "$c" \
      --first-user $(( (c - 1) * n + 1 )))
  expect_run "token issue, round $c" "$r" "$n" "$n"
  expect_eq "token issue, round $c: tokens of concert $c in the database" \
    "$(psql -Atq "$db" -c "SELECT count(*) FROM queue_tokens WHERE concert_id = $c")" "$n"
  issue_runs+=("$r"); issue_rates+=("$(json "$r" ok_per_s)")
done
gaps=$(psql -Atq "$db" -c "SELECT count(*) FROM (SELECT concert_id, count(*) n, count(DISTINCT position) d,
  min(position) lo, max(position) hi FROM queue_tokens WHERE concert_id IN (1,2,3) GROUP BY concert_id) x
  WHERE n <> $n OR d <> n OR lo <> 1 OR hi <> n")

# Token status from memory vs nginx serving the same bytes.
token=$(curl -sf -XPOST "http://127.0.0.1:$port/api/queue/tokens" \
  -d '{"userId":199999,"concertId":1}' | python3 -c "import json,sys; print(json.load(sys.stdin)['token'])")
mkdir -p "$work/www/api/queue/tokens"
curl -sf "http://127.0.0.1:$port/api/queue/tokens/$token" -o "$work/www/api/queue/tokens/$token"
body_bytes=$(stat -c %s "$work/www/api/queue/tokens/$token")
(( body_bytes > 0 )) || fail "token status: empty answer"
start_nginx
log "token status vs nginx (3 alternating rounds)"
s_runs=(); n_runs=()
for _ in 1 2 3; do
  n_runs+=("$(wrk_rps "http://127.0.0.1:$nginx_port/api/queue/tokens/$token")")
  s_runs+=("$(wrk_rps "http://127.0.0.1:$port/api/queue/tokens/$token")")
done
stop_nginx
s_rps=$(median "${s_runs[@]}"); n_rps=$(median "${n_runs[@]}")

# Field report 001's journey with 300 buyers (max 100 active), through
# resv bench, which seeds the concert, counts the answers and audits them.
log "buyer journey, 300 buyers"
flow=$(build-bench/cli/resv bench journey --url "http://127.0.0.1:$port" --db "$db" --state-dir "$work/state" \
  --connections 300 --seats 1000 --admit-rate 0 --max-active 100 --threshold 'system_errors==0' --json) ||
  fail "resv bench journey exited with $?: $flow"
schedule=$(json "$flow" scheduleId)
sold=$(psql -Atq "$db" -c "SELECT count(*) FROM seats WHERE schedule_id = $schedule AND reservation_id IS NOT NULL")
confirmed=$(psql -Atq "$db" -c "SELECT count(*) FROM reservations WHERE schedule_id = $schedule AND status = 'CONFIRMED'")
double=$(psql -Atq "$db" -c "SELECT count(*) FROM (SELECT user_id FROM payments GROUP BY user_id HAVING count(*) > 1) x")
paid=$(python3 -c "import json,sys; print(sum(s['successes'] for s in json.loads(sys.argv[1])['steps'] if s['step'] == 'pay'))" "$flow")
expect_eq "buyer journey: every buyer paid" "$paid" 300
expect_eq "buyer journey: reservations confirmed in the database, against buyers paid" "$confirmed" "$paid"

step_row() {  # name
  python3 - "$flow" "$1" <<'PY'
import json, sys
steps = {s["step"]: s for s in json.loads(sys.argv[1])["steps"]}
s = steps.get(sys.argv[2], {"requests": 0, "latencyMs": {"p50": 0, "p95": 0, "max": 0}, "systemErrors": {}})
l = s["latencyMs"]
print(f"| {sys.argv[2]} | {s['requests']} | {l['p50']:.2f} | {l['p95']:.2f} | {l['max']:.2f} | {sum(s['systemErrors'].values())} |")
PY
}
cmd="bench/queue.sh"; [[ $quick == 1 ]] && cmd+=" --quick"
cat <<REPORT
## Waiting room: run of $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(uname -r))

PostgreSQL 15 throwaway cluster (scripts/pg-test.sh); resv-server --io-threads 1 --db-pool-size 32
(admission step 100 ms); wrk -t1; nginx 1 worker; resv-loadgen single-threaded. Command: \`${cmd}\`

| measure | resv-server | ceiling | ratio | goal |
|---|---|---|---|---|
| token issue/s, 64 conns, distinct users (median of 3 rounds of $n) | $(median "${issue_rates[@]}") | | | tens of thousands/s |
| token status/s, 64 conns (${body_bytes} B) | ${s_rps} | nginx ${n_rps} | $(ratio "$s_rps" "$n_rps") | >= 0.5 |

Issue rounds: ${issue_rates[*]} tokens/s; p95 $(json "${issue_runs[1]}" p95_ms) ms in the middle round; 5xx
$(( $(json "${issue_runs[0]}" server5xx) + $(json "${issue_runs[1]}" server5xx) + $(json "${issue_runs[2]}" server5xx) )).
Positions checked in the database afterwards: ${gaps} of 3 concerts with a gap, a duplicate or a missing token.
Status rounds: resv-server ${s_runs[*]}, nginx ${n_runs[*]} req/s.

Field report 001's journey (\`resv bench journey\`), 300 buyers at once (max 100 active, status polled
every 200 ms): paid ${paid}, $(json "$flow" seconds) s in all. Afterwards: ${sold} seats taken,
${confirmed} reservations confirmed, ${double} users charged twice.

| step | requests | p50 ms | p95 ms | max ms | 5xx/failed |
|---|---|---|---|---|---|
$(for s in "queue token" "queue status" schedules "seat map" hold pay; do step_row "$s"; done)

Raw: issue=${issue_runs[*]}
REPORT
