#!/usr/bin/env bash
# Benchmark of `resv doctor` (every check of every layer, under its
# deadline), printed as a Markdown report, on the product's own stack: the
# embedded cluster (`resv db up`), `resv seed festival`, two resv-server
# instances and the embedded broker (`resv server start --instances 2`),
# warmed for festival's openings (`resv warmup --opening-within 1h`).
#
# Wall time of `resv doctor --json >/dev/null` (one process: every fact
# gathered at once, then the judges), ROUNDS runs in each state, median and
# maximum, against the issue's goals:
#   healthy    every check ok, exit 0                        goal: under 2 s
#   frozen     the postmaster stopped with SIGSTOP: new      goal: under the deadline + 1 s
#              connections are accepted by the kernel and
#              never answered (a swamped or hung database);
#              exit 3
#   stopped    `resv db down`: connections refused; exit 3   goal: under the deadline + 1 s
# Each state is checked before it is timed (the exit code and the checks'
# states; the script fails otherwise). Beside them, for scale, a resv
# process that does nothing (`resv --version`).
#   bench/doctor.sh [--quick]     (--quick: 3 rounds instead of 10)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=10
if [[ "${1:-}" == "--quick" ]]; then rounds=3; fi
deadline_s=5

bench_name=doctor-bench
source bench/common.sh
embedded_setup resv resv-server resv-broker
unset RESV_DATABASE_URL RESV_ADMIN_URL RESV_ADMIN_TOKEN RESV_CONFIG RESV_KAFKA_BROKERS PGOPTIONS
export XDG_CONFIG_HOME="$work/config"

log "seeding festival and starting two servers"
resv -q seed festival --yes >/dev/null
port=$(free_port); admin_port=$(free_port)
resv server start --instances 2 --port "$port" --admin-port "$admin_port" >/dev/null
resv warmup --opening-within 1h >/dev/null  # festival's openings are within the hour: healthy means warm

doctor() { resv doctor --timeout "${deadline_s}s" --json "$@"; }
# run_state NAME WANT_EXIT: ROUNDS timed runs; prints "median max" in ms.
run_state() {
  local name=$1 want=$2 i t0 t1 code times=()
  for ((i = 0; i < rounds; i++)); do
    t0=$(date +%s%N)
    code=0; doctor >/dev/null 2>&1 || code=$?
    t1=$(date +%s%N)
    expect_eq "resv doctor's exit code ($name, round $((i + 1)))" "$code" "$want"
    times+=($(((t1 - t0) / 1000000)))
  done
  python3 -c "import statistics,sys; t=[int(x) for x in sys.argv[1:]]; print(int(statistics.median(t)), max(t))" "${times[@]}"
}
states_of() { python3 -c "import json,sys; r=json.load(sys.stdin); print(' '.join(c['name']+'='+c['state'] for c in r['checks']))"; }

log "healthy: every check ok"
for _ in $(seq 50); do code=0; doctor >"$work/healthy.json" 2>/dev/null || code=$?; [[ $code == 0 ]] && break; sleep 0.2; done
[[ $code == 0 ]] || fail "the healthy stack is not all ok: $(states_of <"$work/healthy.json")"
checks=$(python3 -c "import json,sys; print(len(json.load(sys.stdin)['checks']))" <"$work/healthy.json")
read -r healthy_med healthy_max <<<"$(run_state healthy 0)"

t0=$(date +%s%N); for ((i = 0; i < rounds; i++)); do build-bench/cli/resv --version >/dev/null; done; t1=$(date +%s%N)
noop_ms=$(((t1 - t0) / 1000000 / rounds))

log "frozen: the postmaster stopped with SIGSTOP"
postmaster=$(head -1 "$work/state/pg/data/postmaster.pid")
kill -STOP "$postmaster"
code=0; doctor >"$work/frozen.json" 2>/dev/null || code=$?
if [[ $code != 3 ]]; then kill -CONT "$postmaster"; fail "a frozen database: exit $code, not 3: $(states_of <"$work/frozen.json")"; fi
frozen_states=$(states_of <"$work/frozen.json")
read -r frozen_med frozen_max <<<"$(run_state frozen 3)" || { kill -CONT "$postmaster"; exit 1; }
kill -CONT "$postmaster"
for _ in $(seq 100); do code=0; doctor >/dev/null 2>&1 || code=$?; [[ $code == 0 ]] && break; sleep 0.2; done
expect_eq "resv doctor's exit code once the database runs again" "$code" 0

log "stopped: resv db down"
resv db down >/dev/null 2>&1
read -r stopped_med stopped_max <<<"$(run_state stopped 3)"
resv db up -q >/dev/null

unreachable=$(grep -o '=unreachable' <<<"$frozen_states" | wc -l)
cat <<MD
## bench/doctor.sh: $(date -u +%Y-%m-%dT%H:%MZ)

\`resv doctor --timeout ${deadline_s}s --json\` (${checks} checks) on the embedded stack: \`resv seed festival\`, two
resv-server instances, the embedded broker. ${rounds} runs per state; wall ms.

| state | exit | median | max | goal |
|---|---|---|---|---|
| healthy (every check ok) | 0 | ${healthy_med} | ${healthy_max} | < 2000 |
| database frozen (SIGSTOP: connects never answered) | 3 | ${frozen_med} | ${frozen_max} | < $(((deadline_s + 1) * 1000)) |
| database stopped (\`resv db down\`: refused) | 3 | ${stopped_med} | ${stopped_max} | < $(((deadline_s + 1) * 1000)) |

For scale: \`resv --version\` (a process that does nothing) ${noop_ms} ms. Frozen: ${unreachable} checks
unreachable (libpq's connect_timeout, 2 s, ends each database session's wait; the others answer).
MD
