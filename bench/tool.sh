#!/usr/bin/env bash
# The load generator of `resv bench` measured as a tool (issue 20):
# (a) its ceiling: requests/s of `resv bench browse` against nginx serving the
#     two small bodies of the browse scenario, as a ratio to wrk against the
#     same nginx in the same run, same connections, one thread each; ROUNDS
#     alternating rounds, medians. Goal >= 1.0: the tool is never the
#     bottleneck it reports.
# (b) its latency accuracy: against a server that answers every request after
#     a known stall (Python, 100 ms), the reported p50 and p99 as ratios to
#     the stall. Goal: p99 within 5 %.
# The scenario's seeding and audit use a throwaway PostgreSQL (nothing is
# written by browse).
#   bench/tool.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=5; dur=8
[[ "${1:-}" == "--quick" ]] && { rounds=1; dur=3; }
bench_name=tool
source bench/common.sh
bench_setup resv
# resv on the throwaway database (common.sh's `resv` is for the embedded one).
resv_db() { build-bench/cli/resv "$@" --state-dir "$work/state" --db "$db"; }
json() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$1" "$2"; }

# The browse scenario seeds concert N and schedule N on this fresh database
# (N = 1, 2, ...): nginx serves the same small body at both of its paths.
body='{"scheduleId":1,"seats":[]}'
for n in $(seq 1 $((2 * rounds + 2))); do
  mkdir -p "$work/www/api/concerts/$n" "$work/www/api/schedules/$n"
  echo "$body" >"$work/www/api/concerts/$n/schedules"
  echo "$body" >"$work/www/api/schedules/$n/seats"
done
start_nginx
tool_runs=(); wrk_runs=()
for ((r = 1; r <= rounds; r++)); do
  log "(a) round $r"
  out=$(resv_db bench browse --url "http://127.0.0.1:$nginx_port" --connections 64 --threads 1 --duration "${dur}s" --json)
  [[ $(json "$out" "d['total']['successes'] == d['total']['requests'] > 0") == True ]] || fail "(a): not every answer a 2xx: $out"
  tool_runs+=("$(json "$out" "round(d['total']['rps'])")")
  wrk_runs+=("$(wrk_rps "http://127.0.0.1:$nginx_port/api/schedules/1/seats")")
done
stop_nginx
median() { printf '%s\n' "$@" | python3 -c "import statistics,sys; print(statistics.median(float(l) for l in sys.stdin))"; }
tool_rps=$(median "${tool_runs[@]}"); wrk_med=$(median "${wrk_runs[@]}")

log "(b) a server that stalls 100 ms"
stall_port=$(free_port)
python3 - "$stall_port" <<'PY' &
# One event loop, no thread per connection: its own delay adds little to the stall.
import asyncio, sys
BODY = b'{"scheduleId":1,"seats":[]}'
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
async def serve(reader, writer):
    try:
        while await reader.readuntil(b"\r\n\r\n"):
            await asyncio.sleep(0.1)
            writer.write(ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
asyncio.run(main())
PY
stall_pid=$!
trap 'kill $stall_pid 2>/dev/null || true; bench_cleanup' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$stall_port/x" >/dev/null && break; sleep 0.1; done
out=$(resv_db bench browse --url "http://127.0.0.1:$stall_port" --connections 8 --duration "$((dur / 2 + 2))s" --json)
p50=$(json "$out" "d['total']['latencyMs']['p50']"); p99=$(json "$out" "d['total']['latencyMs']['p99']")
n=$(json "$out" "d['total']['requests']")

echo "## bench/tool.sh: $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "(a) \`resv bench browse\` against nginx (one worker, a 28-byte body), 64 connections, one thread, vs wrk -t1 -c64,"
echo "$rounds alternating rounds of ${dur} s: resv bench $tool_rps req/s, wrk $wrk_med req/s (medians), ratio **$(ratio "$tool_rps" "$wrk_med")**"
echo "(rounds: resv bench ${tool_runs[*]}; wrk ${wrk_runs[*]}). Goal >= 1.0."
echo
echo "(b) Against a server that answers after 100 ms (8 connections, $n requests): p50 $p50 ms, p99 $p99 ms,"
echo "p99 / stall = **$(ratio "$p99" 100)**. Goal: within 5 % (<= 1.05)."
