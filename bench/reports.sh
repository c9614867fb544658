#!/usr/bin/env bash
# The field reports' load tests run with `resv bench` on the embedded stack
# (`resv db up`, `resv server start`, in a state directory of its own), their
# figures beside the reports':
#   rush     report 003: 2,000 buyers x 3 identical attempts at a pool of 40,
#            party of 4 (report: rejections took 1-2 s, p95 1.66 s)
#   journey  report 001: 300 buyers through the waiting room (admitted 10/s,
#            about the report's 30 s wait), schedules, seats, hold, pay
#            (report: p95 1.24 s, 2.47 % errors, max 13.7 s)
# Each run's audit must hold and every answer must be a success or a
# business rejection (system_errors==0), or the script fails.
#   bench/reports.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bench_name=reports
source bench/common.sh
embedded_setup resv resv-server
port=$(free_port)
resv server start --port "$port" --admin-port "$(free_port)" >/dev/null
run() {  # scenario args... -> its JSON summary; fails on an audit violation or a system error
  local out
  out=$(resv bench "$@" --url "http://127.0.0.1:$port" --threshold 'system_errors==0' --json) ||
    fail "resv bench $*: exit $?: $out"
  echo "$out"
}
field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$1" "$2"; }

log "rush: 2,000 x 3 at a pool of 40, party 4"
rush=$(run rush --connections 2000 --attempts 3 --capacity 40 --party 4)
log "journey: 300 buyers, admitted 10/s"
journey=$(run journey --connections 300 --seats 1000 --admit-rate 10)

echo "## bench/reports.sh: $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| scenario | requests | successes | rejections | system errors | p50 | p95 | p99 | max | field report |"
echo "|---|---|---|---|---|---|---|---|---|---|"
row() {  # name json report
  local t="d['total']"
  echo "| $1 | $(field "$2" "$t['requests']") | $(field "$2" "$t['successes']") | $(field "$2" "sum($t['rejections'].values())") \
| $(field "$2" "sum($t['systemErrors'].values())") | $(field "$2" "'%.1f ms' % $t['latencyMs']['p50']") \
| $(field "$2" "'%.1f ms' % $t['latencyMs']['p95']") | $(field "$2" "'%.1f ms' % $t['latencyMs']['p99']") \
| $(field "$2" "'%.1f ms' % $t['latencyMs']['max']") | $3 |"
}
row "rush (003)" "$rush" "rejections 1-2 s, p95 1.66 s"
row "journey (001)" "$journey" "p95 1.24 s, 2.47 % errors, max 13.7 s"
echo
echo "Rejections: rush $(field "$rush" "d['total']['rejections']"), journey $(field "$journey" "d['total']['rejections']")."
echo "Journey per step (p95): $(field "$journey" "', '.join('%s %.1f ms' % (s['step'], s['latencyMs']['p95']) for s in d['steps'])")."
echo "Audits: rush $(field "$rush" "'ok' if all(a['violations'] == 0 for a in d['audit']) else 'VIOLATED'"),"\
" journey $(field "$journey" "'ok' if all(a['violations'] == 0 for a in d['audit']) else 'VIOLATED'")."
