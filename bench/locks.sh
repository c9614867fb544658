#!/usr/bin/env bash
# Benchmark of `resv locks` (the lock diagnosis) during a staged incident,
# printed as a Markdown report. Everything runs on 127.0.0.1, in one
# throwaway PostgreSQL 15 (scripts/pg-test.sh, max_connections 400).
#
# The incident: 300 client sessions, plain psql processes each reading its
# SQL from a fifo, so that they stay connected (and idle, idle in transaction
# or waiting) until the script closes the fifo:
#   1 blocker   BEGIN; SELECT ... FROM seats WHERE id = <seat> FOR UPDATE;
#               then idle in transaction (someone's forgotten psql);
#   50 waiters  SELECT ... FOR UPDATE of the same seat (the first waits for the
#               blocker's transaction, the others for the first's tuple lock);
#   249 holders each holding 40 session-level advisory locks (keys not
#               registered by resv), idle;
# about 10,000 rows in pg_locks. The script checks the counts before it
# measures anything and fails unless they are what it staged.
#
# Main measure: wall time of `resv locks --json --db URL >/dev/null` (one
# process, one session: the statements of sql/ops/locks.sql, then one
# `ctid = ANY(...)` per table whose rows are waited for, then the report) as
# a ratio to the ceiling `psql -X -q -f sql/ops/locks.sql URL >/dev/null`
# (one process, one session, the same catalogue statements, output thrown
# away), measured in the same run: ROUNDS alternating rounds (the order
# flips every round), medians. A stricter ceiling runs in the same rounds:
# the same psql with -A -t (unaligned, no headers: no column widths to
# measure over 10,000 rows). Unmeasured runs before and after the rounds
# check that resv names the blocker, the seat and the 50 waiters (fails
# otherwise). Then, to say where the time goes: each statement's
# server-side duration (log_min_duration_statement = 0 for the measured
# session only, through PGOPTIONS), the client CPU of both processes, and
# the start of a resv process that does nothing (`resv --version`).
#
# Then pg_activity (Debian's pg-activity 3.0.x) reads the same incident. It
# has no --once or batch mode: it runs under `script` (a pseudo-terminal of
# 400 x 250) and is sent the keys 2 (waiting queries), 3 (blocking queries)
# and q; the last screen of each view is printed, with the server-side
# duration of its queries. Its --output CSV (the rows of the view shown at
# each refresh, without the view's name or lock columns) is counted too.
#   bench/locks.sh [--quick]     (--quick: 5 rounds instead of 20)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; rounds=20
if [[ "${1:-}" == "--quick" ]]; then quick=1; rounds=5; fi
n_waiters=50; n_holders=249; per_holder=40

bench_name=locks-bench
source bench/common.sh
bench_build resv
ulimit -n "$(ulimit -Hn)"  # 300 fifos held open by this shell
work=$(mktemp -d /tmp/resv-locks-bench.XXXXXX)
chmod 755 "$work"

# The staged sessions: psql processes (pids) reading fifos this shell holds
# open for writing (fds). Closing an fd ends that session (EOF); they are
# also killed by pid, before the cluster is stopped.
session_pids=(); session_fds=()
locks_cleanup() {
  local fd pid
  for fd in "${session_fds[@]}"; do exec {fd}>&- || true; done
  for pid in "${session_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${session_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  bench_cleanup
}
trap locks_cleanup EXIT
trap 'exit 130' INT TERM HUP

py() { python3 -c "$@"; }
admin_url=$(scripts/pg-test.sh start "$work/pg")
pglog="$work/pg/postgres.log"
psql -q "$admin_url" -c "CREATE DATABASE bench"
db=${admin_url%/postgres}/bench
# No config file, no recorded servers, no admin API: resv locks reads the
# database alone (it would also ask running resv-servers for their pools).
unset RESV_DATABASE_URL RESV_ADMIN_URL RESV_ADMIN_TOKEN RESV_CONFIG RESV_STATE_DIR PGOPTIONS
export XDG_CONFIG_HOME="$work/config"
mkdir -p "$work/state" "$work/sessions"
resv_bin=build-bench/cli/resv
resv() { "$resv_bin" --state-dir "$work/state" --db "$db" "$@"; }
log "migrating and seeding (resv seed concert)"
resv -q db migrate >/dev/null
resv -q seed concert --yes >/dev/null
q() { psql -Atq "$db" -c "$1"; }
psql -q "$admin_url" -c "ALTER SYSTEM SET log_line_prefix = '%m [%p] '" -c "SELECT pg_reload_conf()" >/dev/null

# The shared lock table has room for max_locks_per_transaction x
# (max_connections + max_prepared_transactions) locks; raise it (restart)
# unless that is twice what is staged.
want_locks=$((n_holders * per_holder + 300 * 6))
capacity=$(q "SELECT current_setting('max_locks_per_transaction')::int
  * (current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int)")
if (( capacity < 2 * want_locks )); then
  log "raising max_locks_per_transaction to 256 (lock table room $capacity)"
  psql -q "$admin_url" -c "ALTER SYSTEM SET max_locks_per_transaction = 256" >/dev/null
  scripts/pg-test.sh pause "$work/pg"; scripts/pg-test.sh resume "$work/pg"
  capacity=$(q "SELECT current_setting('max_locks_per_transaction')::int
    * (current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int)")
fi
max_conn=$(q "SHOW max_connections"); mlpt=$(q "SHOW max_locks_per_transaction")
(( max_conn >= 1 + n_waiters + n_holders + 20 )) || fail "max_connections is $max_conn: too few for the incident"

# One staged session: psql with application_name $1, fed $2 through a fifo.
# The child closes the fifos of the sessions before it, so that each session
# ends when this shell closes its own fifo.
open_session() {  # application sql
  local i=${#session_pids[@]} f fd
  f="$work/sessions/$i"
  mkfifo "$f"
  (
    for fd in "${session_fds[@]}"; do exec {fd}>&-; done
    PGAPPNAME=$1 exec psql -X -q -v ON_ERROR_STOP=1 "$db" <"$f" >"$f.out" 2>&1
  ) &
  session_pids+=($!)
  exec {fd}>"$f"
  session_fds+=("$fd")
  printf '%s\n' "$2" >&"$fd"
}
wait_for() {  # what sql want: polls (up to 60 s) until sql gives want
  local got=""
  for _ in $(seq 600); do
    got=$(q "$2"); [[ "$got" == "$3" ]] && return
    sleep 0.1
  done
  fail "$1: $got, expected $3 after 60 s"
}

seat_id=$(q "SELECT id FROM seats ORDER BY id LIMIT 1 OFFSET 11")
seat_label=$(q "SELECT label FROM seats WHERE id = $seat_id")
[[ -n "$seat_id" && -n "$seat_label" ]] || fail "no seat to block (resv seed concert seeded none?)"
log "staging: 1 blocker on seat $seat_label (id $seat_id), $n_waiters waiters, $n_holders x $per_holder advisory locks"
open_session bench-blocker "BEGIN; SELECT id, label FROM seats WHERE id = $seat_id FOR UPDATE;"
wait_for "blocker idle in transaction" \
  "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bench-blocker' AND state = 'idle in transaction'" 1
blocker_pid=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'bench-blocker'")
for i in $(seq "$n_waiters"); do
  open_session bench-checkout "SELECT id, label FROM seats WHERE id = $seat_id FOR UPDATE;"
done
for i in $(seq 0 $((n_holders - 1))); do
  k=$((1000000 + i * per_holder))
  open_session bench-worker "SELECT count(pg_advisory_lock(k)) FROM generate_series($k::bigint, $((k + per_holder - 1))) k;"
done
wait_for "sessions waiting for a lock" \
  "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bench-checkout' AND wait_event_type = 'Lock'" "$n_waiters"
wait_for "advisory locks held" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted" $((n_holders * per_holder))
wait_for "holders idle" \
  "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bench-worker' AND state = 'idle'" "$n_holders"
staged=$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'bench-%'")
expect_eq "staged sessions" "$staged" $((1 + n_waiters + n_holders))
n_locks=$(q "SELECT count(*) FROM pg_locks")
n_activity=$(q "SELECT count(*) FROM pg_stat_activity")
n_clients=$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
lock_split=$(q "SELECT string_agg(format('%s %s', n, locktype), ', ' ORDER BY n DESC)
  FROM (SELECT locktype, count(*) n FROM pg_locks GROUP BY 1) x")
(( n_locks >= 10000 )) || fail "pg_locks has $n_locks rows, expected at least 10,000 ($lock_split)"
log "incident staged: pg_locks $n_locks rows ($lock_split); pg_stat_activity $n_activity rows, $n_clients client backends"

# Checks a `resv locks --json` report (file $1) names what was staged; prints
# a one-line summary.
check_report() {
  py '
import json, sys
r = json.load(open(sys.argv[1]))
blocker, seat, label, waiters, advisory = int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
p = []
t = r["trees"]
if len(t) != 1: p.append("%d blocking trees, expected 1" % len(t))
if t:
    t = t[0]
    if t["blocker"]["pid"] != blocker: p.append("blocker pid %s, expected %d" % (t["blocker"]["pid"], blocker))
    if t["waiters"] != waiters: p.append("%d waiters, expected %d" % (t["waiters"], waiters))
    h = t["holds"][0]["text"] if t["holds"] else ""
    if not (h.startswith("seat " + label + ",") and ("id %s," % seat) in h): p.append("holds %r, expected seat %s (id %s)" % (h, label, seat))
    direct = len(t["blocker"]["waiters"])
    print("blocker pid %d (%s, %s) holds %r; %d waiters (%d directly under it), longest wait %.1f s; "
          "%d advisory keys in %d entries over %d sessions; %d sessions in the report" % (t["blocker"]["pid"],
          t["blocker"]["application"], t["blocker"]["state"], h, t["waiters"], direct, t["longestWaitSeconds"],
          sum(a["count"] for a in r["advisoryLocks"]), len(r["advisoryLocks"]),
          len({a["pid"] for a in r["advisoryLocks"]}), r["sessions"]))
got = sum(a["count"] for a in r["advisoryLocks"])
if got != advisory: p.append("%d advisory locks reported, expected %d" % (got, advisory))
if p: print("PROBLEM: " + "; ".join(p)); sys.exit(1)
' "$1" "$blocker_pid" "$seat_id" "$seat_label" "$n_waiters" $((n_holders * per_holder))
}
resv_report() {  # file: one unmeasured run, checked
  resv --json locks >"$1"
  local out
  out=$(check_report "$1") || fail "resv locks --json: $out"
  echo "$out"
}
log "checking what resv locks names"
named_before=$(resv_report "$work/report-before.json")
text_report=$(resv --no-color locks)
text_lines=$(wc -l <<<"$text_report")

# Alternating rounds. Each process: wall clock around fork/exec/wait, and its
# user + system CPU (wait4). Prints one JSON line per process and round.
log "$rounds alternating rounds: resv locks --json vs psql -f sql/ops/locks.sql"
rounds_json=$(python3 - "$rounds" "$resv_bin" "$work/state" "$db" <<'PY'
import json, os, subprocess, sys, time
rounds, resv, state, db = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
cmds = {
    "resv": [resv, "--state-dir", state, "--db", db, "--json", "locks"],
    "psql": ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "sql/ops/locks.sql", db],
    "psqlA": ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", "sql/ops/locks.sql", db],
}
def run(name):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmds[name], stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit("%s exited with %d" % (name, p.returncode))
    return {"tool": name, "wall_ms": wall * 1000, "cpu_ms": (ru.ru_utime + ru.ru_stime) * 1000}
run("resv"); run("psql"); run("psqlA")  # warm: binaries, libraries and catalogue caches
for r in range(rounds):
    for name in (("resv", "psql", "psqlA") if r % 2 == 0 else ("psqlA", "psql", "resv")):
        d = run(name); d["round"] = r + 1
        print(json.dumps(d), flush=True)
PY
)
named_after=$(resv_report "$work/report-after.json")
stats() {  # tool field -> median
  py 'import json, statistics, sys
v = [json.loads(l)[sys.argv[2]] for l in sys.argv[3].splitlines() if json.loads(l)["tool"] == sys.argv[1]]
print(f"{statistics.median(v):.1f}")' "$1" "$2" "$rounds_json"
}
spread() {  # tool -> "min-max"
  py 'import json, sys
v = [json.loads(l)["wall_ms"] for l in sys.argv[2].splitlines() if json.loads(l)["tool"] == sys.argv[1]]
print(f"{min(v):.1f}-{max(v):.1f}")' "$1" "$rounds_json"
}
resv_ms=$(stats resv wall_ms); psql_ms=$(stats psql wall_ms)
resv_cpu=$(stats resv cpu_ms); psql_cpu=$(stats psql cpu_ms)
psqla_ms=$(stats psqlA wall_ms); psqla_cpu=$(stats psqlA cpu_ms)
ratio_v=$(ratio "$resv_ms" "$psql_ms")
round_ratios=$(py 'import json, sys
by = {}
for l in sys.argv[1].splitlines():
    d = json.loads(l); by.setdefault(d["round"], {})[d["tool"]] = d["wall_ms"]
print(", ".join("%.2f" % (by[r]["resv"] / by[r]["psql"]) for r in sorted(by)))' "$rounds_json")

# Where the time goes: 5 more runs of each with every statement of the
# measured session logged (PGOPTIONS), server-side milliseconds per statement.
logpos() { stat -c %s "$pglog"; }
statements() {  # offset -> JSON {statement: ms} of the entries logged since
  py '
import json, re, sys
with open(sys.argv[1], "rb") as f:
    f.seek(int(sys.argv[2])); text = f.read().decode("utf-8", "replace")
out = {}
for e in re.split(r"^(?=\d{4}-\d\d-\d\d )", text, flags=re.M):
    m = re.search(r"duration: ([0-9.]+) ms  (?:statement|execute [^:]*): (.*)", e, re.S)
    if not m: continue
    s = m.group(2)
    k = ("1 head" if "current_database() AS database" in s else "2 sessions" if "pg_blocking_pids" in s else
         "3 pg_locks" if "FROM pg_locks" in s else "4 prepared" if "pg_prepared_xacts" in s else
         "5 rows (ctid)" if "ctid" in s else "other")
    out[k] = out.get(k, 0) + float(m.group(1))
print(json.dumps(out))' "$pglog" "$1"
}
logged_runs() {  # tool -> JSON lines {wall_ms, statements}
  local i off t0 t1
  for i in 1 2 3 4 5; do
    off=$(logpos); t0=$EPOCHREALTIME
    if [[ $1 == resv ]]; then
      PGOPTIONS="-c log_min_duration_statement=0" resv --json locks >/dev/null
    else
      PGOPTIONS="-c log_min_duration_statement=0" psql -q -f sql/ops/locks.sql "$db" >/dev/null
    fi
    t1=$EPOCHREALTIME
    sleep 0.2
    py 'import json, sys; print(json.dumps({"wall_ms": (float(sys.argv[2]) - float(sys.argv[1])) * 1000, "statements": json.loads(sys.argv[3])}))' \
      "$t0" "$t1" "$(statements "$off")"
  done
}
log "statement durations (log_min_duration_statement = 0 for the measured session)"
resv_logged=$(logged_runs resv)
psql_logged=$(logged_runs psql)
split_table=$(py '
import json, statistics, sys
rows = {}
for tool, text in (("resv", sys.argv[1]), ("psql", sys.argv[2])):
    runs = [json.loads(l) for l in text.splitlines()]
    keys = sorted({k for r in runs for k in r["statements"]})
    for k in keys:
        rows.setdefault(k, {})[tool] = statistics.median(r["statements"].get(k, 0) for r in runs)
    rows.setdefault("all statements", {})[tool] = statistics.median(sum(r["statements"].values()) for r in runs)
    rows.setdefault("wall (these 5 runs)", {})[tool] = statistics.median(r["wall_ms"] for r in runs)
    rows.setdefault("wall - statements", {})[tool] = statistics.median(r["wall_ms"] - sum(r["statements"].values()) for r in runs)
for k, v in rows.items():
    print("| %s | %s | %s |" % (k, "%.1f" % v["resv"] if "resv" in v else "-", "%.1f" % v["psql"] if "psql" in v else "-"))
' "$resv_logged" "$psql_logged")
start_ms=$(python3 - "$resv_bin" <<'PY'
import statistics, subprocess, sys, time
w = []
for _ in range(10):
    t0 = time.perf_counter(); subprocess.run([sys.argv[1], "--version"], stdout=subprocess.DEVNULL, check=True)
    w.append((time.perf_counter() - t0) * 1000)
print(f"{statistics.median(w):.1f}")
PY
)
connect_ms=$(python3 - "$db" <<'PY'
import statistics, subprocess, sys, time
w = []
for _ in range(10):
    t0 = time.perf_counter(); subprocess.run(["psql", "-X", "-q", "-c", "SELECT 1", sys.argv[1]], stdout=subprocess.DEVNULL, check=True)
    w.append((time.perf_counter() - t0) * 1000)
print(f"{statistics.median(w):.1f}")
PY
)
report_kb=$(( $(stat -c %s "$work/report-after.json") / 1024 ))
stmt3_rows=$(psql -q -f sql/ops/locks.sql "$db" | awk '/^\([0-9]+ rows?\)$/ {gsub(/[()]/, ""); print $1}' | paste -sd/)

# pg_activity on the same incident: interactive only (no --once); under a
# pseudo-terminal, keys 2 (waiting), 3 (blocking), q, 6 s apart (3 refreshes
# of 2 s each view). Its queries are logged like the tools' above.
pga_version=$(pg_activity --version 2>&1 | head -1)
log "pg_activity ($pga_version) under script: running, waiting, blocking views"
port=$(cat "$work/pg/port")
off=$(logpos)
# Capture status, not set -e: a hung pg_activity is reported, not fatal.
pga_rc=0
( sleep 6; printf 2; sleep 6; printf 3; sleep 6; printf q; sleep 3 ) |
  PGOPTIONS="-c log_min_duration_statement=0" TERM=xterm timeout 60 script -qfec \
    "stty rows 400 cols 250; exec pg_activity -h 127.0.0.1 -p $port -U postgres -d bench --output $work/pga.csv" \
    "$work/pga.typescript" >/dev/null || pga_rc=$?
sleep 0.2
pga_views=$(python3 - "$work/pga.typescript" <<'PY'
import re, sys
t = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
ansi = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|\([AB0-9]|[=>])")
last = {}
for frame in t.split("\x1b[H"):
    s = ansi.sub("", frame).replace("\r", "")
    for view in ("RUNNING QUERIES", "WAITING QUERIES", "BLOCKING QUERIES"):
        if view in s: last[view] = s
for view in ("RUNNING QUERIES", "WAITING QUERIES", "BLOCKING QUERIES"):
    s = last.get(view)
    if s is None:
        print(f"### {view.lower()}: no screen captured\n"); continue
    lines = [l.rstrip() for l in s.splitlines()]
    head = next((l for l in lines if "Sessions:" in l), "").strip()
    i = next(i for i, l in enumerate(lines) if view in l)
    rows = [l for l in lines[i + 2:] if re.match(r"^\d+ ", l)]
    print(f"### {view.lower()}: {len(rows)} rows; header: {head}")
    print("```")
    print(lines[i + 1])
    for l in rows[:6]: print(l[:230])
    if len(rows) > 6: print(f"... {len(rows) - 6} more rows")
    print("```")
PY
)
pga_queries=$(py '
import re, statistics, sys
with open(sys.argv[1], "rb") as f:
    f.seek(int(sys.argv[2])); text = f.read().decode("utf-8", "replace")
by = {}
for e in re.split(r"^(?=\d{4}-\d\d-\d\d )", text, flags=re.M):
    m = re.search(r"duration: ([0-9.]+) ms  (?:statement|execute [^:]*): (.*)", e, re.S)
    if not m: continue
    s = m.group(2)
    k = ("blocking (pg_locks self-joins)" if "blocking.granted" in s else "waiting (pg_locks)" if "NOT pg_catalog.pg_locks.granted" in s
         else "running (pg_stat_activity)" if "is_parallel_worker" in s else "the rest (header, sizes, settings)")
    by.setdefault(k, []).append(float(m.group(1)))
print("; ".join("%s: %d runs, median %.1f ms" % (k, len(v), statistics.median(v)) for k, v in sorted(by.items())) or "none logged")
' "$pglog" "$off")
pga_csv_rows=$(( $(wc -l <"$work/pga.csv" 2>/dev/null || echo 1) - 1 ))
# The incident is still what was staged after pg_activity.
named_end=$(resv_report "$work/report-end.json")

cmd="bench/locks.sh"; [[ $quick == 1 ]] && cmd+=" --quick"
cat <<REPORT
## bench/locks.sh: $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(uname -r))

Command: \`${cmd}\`. PostgreSQL 15 throwaway cluster (scripts/pg-test.sh), max_connections ${max_conn},
max_locks_per_transaction ${mlpt} (lock table room ${capacity}). Staged: 1 blocker idle in transaction
holding seat ${seat_label} (id ${seat_id}) FOR UPDATE, ${n_waiters} sessions waiting for it, ${n_holders} sessions
holding ${per_holder} advisory locks each: pg_locks ${n_locks} rows (${lock_split});
pg_stat_activity ${n_activity} rows, ${n_clients} client backends. ${rounds} alternating rounds, medians.

| measure | resv locks --json | psql -f sql/ops/locks.sql | ratio | goal |
|---|---|---|---|---|
| wall ms (median) | ${resv_ms} | ${psql_ms} | ${ratio_v} | <= 1.5 |
| wall ms, min-max | $(spread resv) | $(spread psql) | | |
| client CPU ms (user + sys, median) | ${resv_cpu} | ${psql_cpu} | | |
| the same, ceiling \`psql -A -t\` (unaligned: no column widths): wall ms / CPU ms | ${resv_ms} | ${psqla_ms} / ${psqla_cpu} | $(ratio "$resv_ms" "$psqla_ms") | |

Per-round ratios (resv / psql): ${round_ratios}.
Rows per statement of sql/ops/locks.sql now: ${stmt3_rows}; resv's JSON report ${report_kb} KiB.
Baselines: \`resv --version\` ${start_ms} ms; \`psql -c 'SELECT 1'\` (start + connect) ${connect_ms} ms.

Server-side ms per statement (median of 5 logged runs each; log_min_duration_statement = 0 for the measured session):

| statement | resv | psql |
|---|---|---|
${split_table}

What resv locks named (checked before the rounds, after them and after pg_activity):
- before: ${named_before}
- after: ${named_after}
- end: ${named_end}

The text report (\`resv locks\`, ${text_lines} lines), its start, its advisory section's start, its end:
\`\`\`
$(head -12 <<<"$text_report")
...
$(grep -A3 '^advisory locks held' <<<"$text_report")
...
$(tail -8 <<<"$text_report")
\`\`\`

pg_activity: ${pga_version}; no --once or non-interactive mode; run under script(1) for 21 s (exit ${pga_rc}),
keys 2, 3, q. --output CSV: ${pga_csv_rows} rows (the rows of the view shown, each refresh: pid, app, state, wait event, query; no view name, no lock columns).
Its queries, server side: ${pga_queries}.

${pga_views}
REPORT
