#!/usr/bin/env bash
# The opening right after a restart of every server and of PostgreSQL, with
# and without `resv warmup` first (issue 19). The product's own path: the
# embedded cluster (`resv db up`, its durable defaults) and two instances of
# `resv server start`, in a state directory of its own.
#
# Each round: `resv server stop`, `resv db down` + `resv db up` (shared
# buffers empty), `resv server start --instances 2`, then, for a warm round,
# `resv warmup --concert 1`; then at once the opening: on each server, at a
# fixed arrival rate, seat map GETs (1,000 seats), schedule list GETs, seat
# holds (each a new seat) and holds of 4 units of a pool of 40 (sold out
# after ten: the late buyers' SOLD_OUT). Latency is counted from when each
# request was due (resv-loadgen --trace), so a stall that delays sending is
# counted too. Per round: p95 of the first second, and the median of the
# per-second p95s of the last ten seconds (the steady state, same load, same
# run); the ratio is the measure (goal with warm-up: <= 1.2).
# The machine's page cache is not dropped (that needs root on the host):
# "cold" here is PostgreSQL's shared buffers, the servers' caches, filter
# and sessions, not the disk.
# Fails unless every request of every round was answered without a 5xx or a
# connection error and the holds are in the database.
#   bench/opening.sh [--quick]     (--quick: 12 s rounds, one of each)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=30; rounds=2
[[ "${1:-}" == "--quick" ]] && { secs=12; rounds=1; }
bench_name=opening
source bench/common.sh
embedded_setup resv resv-server resv-loadgen

log "embedded cluster, seed"
psql -q "$db" -f bench/seed.sql >/dev/null
psql -q "$db" -c "VACUUM ANALYZE" >/dev/null
port=$(free_port); admin_port=$(free_port)
seat0=$(psql -Atq "$db" -c "SELECT min(id) FROM seats WHERE schedule_id = 2")
pools=(1 3 4 5 6)

# Rates per server (two servers): requests per second of each kind.
map_rate=300 list_rate=100 seat_rate=150 pool_rate=150

one_round() {  # n warm|cold -> "first_p95 steady_p95 answers" on stdout
  local n=$1 kind=$2 dir=$work/round-$1 pids=() i
  mkdir -p "$dir"
  log "round $n ($kind): restart of PostgreSQL and both servers"
  resv server stop >/dev/null 2>&1 || true
  resv db down >/dev/null
    resv server start --instances 2 --port "$port" --admin-port "$admin_port" >/dev/null
  if [[ $kind == warm ]]; then
    log "round $n: resv warmup --concert 1"
    resv warmup --concert 1 --window 10m >"$dir/warmup.txt"
  fi
  log "round $n ($kind): the opening, ${secs}s"
  local pool=${pools[$((n - 1))]}
  for i in 0 1; do
    local p=$((port + i)) user=$((1 + (n - 1) * 40000 + i * 20000)) seat=$((seat0 + (n - 1) * 20000 + i * 10000))
    lg() { build-bench/bench/resv-loadgen --port "$p" -d "$secs" -c 16 "$@"; }
    lg --scenario get --path /api/schedules/1/seats --rate "$map_rate" --trace "$dir/map-$i" >"$dir/map-$i.json" &
    pids+=($!)
    lg --scenario get --path /api/concerts/1/schedules --rate "$list_rate" --trace "$dir/list-$i" >"$dir/list-$i.json" &
    pids+=($!)
    lg --scenario seats --schedule 2 --first-seat "$seat" --first-user "$user" --rate "$seat_rate" \
      --trace "$dir/seat-$i" >"$dir/seat-$i.json" &
    pids+=($!)
    lg --scenario pool --schedule 4 --pool "$pool" --quantity 4 --first-user $((user + 10000)) --rate "$pool_rate" \
      --trace "$dir/pool-$i" >"$dir/pool-$i.json" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  for f in "$dir"/*.json; do
    local want
    want=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['responses'])" "$f")
    expect_run "round $n, ${f##*/}" "$(cat "$f")" "$want" -
    [[ $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['server5xx'])" "$f") == 0 ]] ||
      fail "round $n, ${f##*/}: 5xx answers: $(cat "$f")"
  done
  local held sold
  held=$(psql -Atq "$db" -c "SELECT count(*) FROM seats WHERE schedule_id = 2 AND reservation_id IS NOT NULL
    AND id >= $((seat0 + (n - 1) * 20000)) AND id < $((seat0 + n * 20000))")
  expect_eq "round $n: seats held = seat holds answered 201" "$held" \
    "$(cat "$dir"/seat-*.json | python3 -c "import json,sys; print(sum(json.loads(l)['ok2xx'] for l in sys.stdin))")"
  sold=$(psql -Atq "$db" -c "SELECT count(*) FROM pool_units WHERE pool_id = $pool AND reservation_id IS NOT NULL")
  expect_eq "round $n: pool $pool sold out, never over" "$sold" 40
  python3 - "$dir" "$secs" <<'PY'
import glob, os, statistics, sys
d, secs = sys.argv[1], int(sys.argv[2])
per_second, kind_first, kind_steady = {}, {}, {}
for f in glob.glob(d + "/*-[01]"):
    kind = os.path.basename(f)[:-2]
    for line in open(f):
        if line.startswith("#"): continue
        sent, lat, _, _, status, _, due = line.split()
        # From when it was due: the sending delay of a stall counts.
        ms = float(sent) + float(lat) - float(due)
        second = int(float(due) // 1000)
        per_second.setdefault(second, []).append(ms)
        if second == 0: kind_first.setdefault(kind, []).append(ms)
        if second >= secs - 10: kind_steady.setdefault(kind, []).append(ms)
def p95(v):
    v = sorted(v); return v[int(0.95 * (len(v) - 1))]
first = p95(per_second[0])
steady = statistics.median(p95(per_second[s]) for s in range(secs - 10, secs) if s in per_second)
kinds = " ".join("%s %.1f/%.1f" % (k, p95(kind_first[k]), p95(kind_steady[k])) for k in sorted(kind_first))
print("%.2f %.2f %d %s" % (first, steady, sum(map(len, per_second.values())), kinds))
PY
}

results=()
for ((r = 0; r < rounds; r++)); do
  results+=("cold $(one_round $((2 * r + 1)) cold)")
  results+=("warm $(one_round $((2 * r + 2)) warm)")
done

echo "## bench/opening.sh: $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "Two servers (\`resv server start --instances 2\`) on the embedded cluster, restarted with it before"
echo "each round; per server ${map_rate} seat maps/s, ${list_rate} schedule lists/s, ${seat_rate} seat holds/s and"
echo "${pool_rate} pool holds/s (sold out after ten) for ${secs} s. p95 counted from when each request was due."
echo
echo "| round | p95 first second (ms) | p95 steady second (ms, median of the last 10) | ratio | answers | per kind: p95 first second / last 10 s (ms) |"
echo "|---|---|---|---|---|---|"
for line in "${results[@]}"; do
  read -r kind first steady answers rest <<<"$line"
  echo "| $kind | $first | $steady | $(ratio "$first" "$steady") | $answers | $rest |"
done
