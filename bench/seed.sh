#!/usr/bin/env bash
# Benchmark of `resv seed` (bulk load), printed as a Markdown report.
# Everything runs on 127.0.0.1, in one throwaway PostgreSQL 15.
#
# Main measure: 1,000,000 seats + 1,000,000 users loaded by `resv seed`, as a
# ratio to a ceiling measured in the same run: psql loading the SAME rows
# (pre-generated with `resv seed --to-files`) with \copy in one transaction
# doing the same database work (LOCK, TRUNCATE, drop the secondary indexes and
# unique/foreign-key constraints read from the catalog the way core/ops/seed.cpp
# does, COPY ... WITH (FREEZE), rebuild them, setval, seed_runs, ANALYZE,
# NOTIFY, COMMIT). Both sides differ only in how the rows reach PostgreSQL.
# Three alternating rounds (ceiling, then resv), medians; VACUUM + CHECKPOINT
# before every measured load. Every statement's server-side duration is
# logged (log_min_duration_statement = 0 on the database) to split each load
# into TRUNCATE/drop, COPY, index + constraint rebuild, ANALYZE and the rest.
# For scale: a naive psql \copy with the indexes in place, -j 1 vs -j 4, the
# festival and coupon profiles, and pgbench -i -s 10 (1,000,000 accounts).
# Every load checks that the loaded tables then hold exactly the rows it
# claims (and pgbench's the accounts it claims); the script fails otherwise.
#   bench/seed.sh [--quick]     (--quick: 1 round of 200,000 + 200,000)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; rounds=3; seats=1000000; users=1000000
if [[ "${1:-}" == "--quick" ]]; then quick=1; rounds=1; seats=200000; users=200000; fi

bench_name=seed-bench
source bench/common.sh
bench_build resv
work=$(mktemp -d /tmp/resv-seed-bench.XXXXXX)
chmod 755 "$work"
trap bench_cleanup EXIT

now() { date +%s.%N; }
py() { python3 -c "$@"; }

admin_url=$(scripts/pg-test.sh start "$work/pg")
pglog="$work/pg/postgres.log"
base=${admin_url%/postgres}
db=$base/seedbench
psql -q "$admin_url" -c "CREATE DATABASE seedbench" -c "CREATE DATABASE pgbench"
resv() { build-bench/cli/resv --state-dir "$work/state" --db "$db" "$@"; }
resv -q db migrate >&2
# Server-side duration of every statement, for the phase split (a few dozen
# log lines per load; the same for both sides).
psql -q "$admin_url" -c "ALTER DATABASE seedbench SET log_min_duration_statement = 0"
settle() { psql -q "$db" -c "VACUUM" -c "CHECKPOINT" >/dev/null; }

# The rows, pre-generated (also gives the single-threaded generate+write time).
log "generating $seats seats + $users users into files"
t0=$(now)
resv -q seed --seats "$seats" --users "$users" --to-files "$work/files" >&2
gen_s=$(py "print(f'{$(now) - $t0:.2f}')")
gen_mb=$(du -sm "$work/files" | cut -f1)
cat "$work"/files/*.copy >/dev/null  # in the page cache

# The work core/ops/seed.cpp does around COPY, read from the catalog with its
# queries: the unique and foreign-key constraints, and the secondary indexes
# not backing a constraint, of the loaded tables. The tables it locks and
# empties are its kAllTables, read from the source so that the two stay the
# same (a table added there, e.g. one referencing concerts, is emptied here too).
loaded="'concerts', 'schedules', 'seats', 'pools', 'pool_units', 'users'"
all_tables=$(py 'import re
src = open("core/ops/seed.cpp").read()
m = re.search(r"kAllTables\s*=((?:\s*\"[^\"]*\")+)\s*;", src)
print("".join(re.findall(r"\"([^\"]*)\"", m.group(1))) if m else "")')
[[ -n "$all_tables" ]] || fail "no kAllTables (the tables resv seed empties) found in core/ops/seed.cpp"
q() { psql -At "$db" -c "$1"; }
drop_cons=$(q "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I;', conrelid::regclass, conname) FROM pg_constraint
  WHERE contype IN ('f', 'u') AND conrelid::regclass::text IN ($loaded) ORDER BY contype DESC, conname")
add_cons=$(q "SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s;', conrelid::regclass, conname, pg_get_constraintdef(oid))
  FROM pg_constraint WHERE contype IN ('f', 'u') AND conrelid::regclass::text IN ($loaded) ORDER BY contype ASC, conname DESC")
idx_where="i.indrelid::regclass::text IN ($loaded) AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
drop_idx=$(q "SELECT format('DROP INDEX %s;', i.indexrelid::regclass) FROM pg_index i WHERE $idx_where ORDER BY 1")
add_idx=$(q "SELECT pg_get_indexdef(i.indexrelid) || ';' FROM pg_index i WHERE $idx_where ORDER BY i.indexrelid::regclass::text")
n_idx=$(grep -c . <<<"$add_idx" || true); n_cons=$(grep -c . <<<"$add_cons" || true)
(( n_idx > 0 && n_cons > 0 )) || fail "the catalog gave $n_idx indexes and $n_cons constraints to rebuild"
copy_cols() {  # the columns core/ops/seed.cpp names
  case $1 in
    concerts) echo "id, name, venue" ;;
    schedules) echo "id, concert_id, starts_at, sales_open_at, max_seats_per_user, hold_seconds" ;;
    seats) echo "id, schedule_id, label, grade, price" ;;
    users) echo "id, name, balance" ;;
  esac
}
copies() {  # $1: COPY options
  for t in concerts schedules seats users; do
    echo "\\copy $t ($(copy_cols "$t")) FROM '$work/files/$t.copy' $1"
  done
}
{
  echo '\set ON_ERROR_STOP 1'
  echo 'BEGIN;'
  echo "SET LOCAL lock_timeout = '10s';"
  echo "LOCK TABLE $all_tables IN ACCESS EXCLUSIVE MODE;"
  echo "TRUNCATE $all_tables RESTART IDENTITY;"
  echo "$drop_cons"
  echo "$drop_idx"
  copies "WITH (FREEZE)"
  echo "$add_idx"
  echo "$add_cons"
  for t in concerts schedules seats pools users; do
    echo "SELECT setval(pg_get_serial_sequence('$t', 'id'), coalesce(max(id), 0) + 1, false) FROM $t;"
  done
  echo "INSERT INTO seed_runs (profile, seed, spec, row_counts) VALUES ('psql', 0, '{}', '{}');"
  echo "ANALYZE $all_tables;"
  echo "SELECT pg_notify('resv_release', '{\"reset\":true}');"
  echo 'COMMIT;'
} >"$work/ceiling.sql"
{
  echo '\set ON_ERROR_STOP 1'
  echo "TRUNCATE $all_tables RESTART IDENTITY;"
  copies ""
  echo "ANALYZE $all_tables;"
} >"$work/naive.sql"
rows=$(( $(wc -l <"$work/files/concerts.copy") + $(wc -l <"$work/files/schedules.copy") + seats + users ))

# Seconds per phase of the statements logged since byte $1 of the server log,
# as JSON (server-side time; "client" = wall clock minus all statements).
phases() {  # offset wall_seconds
  py '
import json, re, sys
off, wall = int(sys.argv[2]), float(sys.argv[3])
with open(sys.argv[1], "rb") as f:
    f.seek(off); text = f.read().decode("utf-8", "replace")
p = dict(prepare=0.0, copy=0.0, index=0.0, constraint=0.0, analyze=0.0, other=0.0)
for m in re.finditer(r"duration: ([0-9.]+) ms  (?:statement|execute [^:]*): (.*)", text):
    ms, s = float(m.group(1)), m.group(2).lstrip().upper()
    k = ("copy" if s.startswith("COPY") else "index" if s.startswith("CREATE") else
         "constraint" if " ADD CONSTRAINT " in s else "analyze" if s.startswith("ANALYZE") else
         "prepare" if s.startswith(("LOCK", "TRUNCATE", "DROP", "ALTER TABLE")) else "other")
    p[k] += ms / 1000
p["client"] = wall - sum(p.values())
print(json.dumps({k: round(v, 2) for k, v in p.items()}))' "$pglog" "$1" "$2"
}
logpos() { stat -c %s "$pglog"; }

# Rows in the loaded tables now.
loaded_rows() {
  q "SELECT (SELECT count(*) FROM concerts) + (SELECT count(*) FROM schedules) + (SELECT count(*) FROM seats)
     + (SELECT count(*) FROM pools) + (SELECT count(*) FROM pool_units) + (SELECT count(*) FROM users)"
}

# One measured load: prints {"wall": s, "rows": n, "rows_per_s": r, "phases": {...}, "resv": <resv --json>|null}.
# Fails unless the loaded tables then hold WANT rows ("resv": as many as
# resv's --json says it loaded).
measure() {  # label, want, command...
  local label=$1 want=$2; shift 2
  settle
  local off t0 t1 out
  off=$(logpos); t0=$(now)
  out=$("$@")
  t1=$(now)
  [[ $want == resv ]] && want=$(py 'import json, sys; print(json.loads(sys.argv[1])["rows"])' "$out")
  expect_eq "$label: rows in the loaded tables after the load" "$(loaded_rows)" "$want"
  sleep 0.2  # the log is written by the server process
  py '
import json, sys
wall = float(sys.argv[2]) - float(sys.argv[1]); rows = int(sys.argv[3])
out = sys.argv[5].strip()
r = json.loads(out) if out.startswith("{") else None
print(json.dumps({"label": sys.argv[6], "wall": round(wall, 3), "rows": rows, "rows_per_s": round(rows / wall),
                  "phases": json.loads(sys.argv[4]), "resv": r}))' \
    "$t0" "$t1" "$want" "$(phases "$off" "$(py "print($t1 - $t0)")")" "$out" "$label"
}
psql_load() { psql -q "$db" -f "$1" >/dev/null; }
resv_load() { resv -q --json seed --seats "$seats" --users "$users" --reset --yes "$@"; }

log "naive psql \\copy with the indexes in place"
naive=$(measure naive "$rows" psql_load "$work/naive.sql")
ceil_runs=(); resv_runs=()
for r in $(seq "$rounds"); do
  log "round $r/$rounds: psql ceiling"
  ceil_runs+=("$(measure psql "$rows" psql_load "$work/ceiling.sql")")
  log "round $r/$rounds: resv seed"
  resv_runs+=("$(measure resv "$rows" resv_load)")
done
check=$(loaded_rows)
expect_eq "rows after the last round" "$check" "$rows"
n_after=$(q "SELECT count(*) FROM pg_indexes WHERE tablename IN ($loaded)")
log "-j 1 and -j 4"
j1=$(measure j1 "$rows" resv_load -j 1)
j4=$(measure j4 "$rows" resv_load -j 4)

prof_rows() {  # profile -> runs (the JSON lines)
  local p=$1 out=()
  for r in $(seq "$rounds"); do
    log "profile $p, round $r/$rounds"
    out+=("$(measure "$p" resv resv -q --json seed "$p" --reset --yes)")
  done
  printf '%s\n' "${out[@]}"
}
festival=$(prof_rows festival)
coupon=$(prof_rows coupon)

log "pgbench -i -s 10"
settle
t0=$(now)
pgbench_out=$(pgbench -i -s 10 "$base/pgbench" 2>&1)
pgbench_s=$(py "print(f'{$(now) - $t0:.2f}')")
expect_eq "pgbench -i -s 10: rows in pgbench_accounts" \
  "$(psql -Atq "$base/pgbench" -c "SELECT count(*) FROM pgbench_accounts")" 1000000
pgbench_split=$(grep -o 'done in .*' <<<"$pgbench_out")

# ---- the report ---------------------------------------------------------------
all_json() { printf '%s\n' "$@"; }
stats=$(py '
import json, statistics as st, sys
L = lambda s: [json.loads(l) for l in s.strip().splitlines() if l.strip()]
ceil, resv = L(sys.argv[1]), L(sys.argv[2])
naive, j1, j4 = json.loads(sys.argv[3]), json.loads(sys.argv[4]), json.loads(sys.argv[5])
fest, coup = L(sys.argv[6]), L(sys.argv[7])
med = lambda runs, f: st.median(f(r) for r in runs)
o = {}
o["ceil_rps"] = med(ceil, lambda r: r["rows_per_s"]); o["resv_rps"] = med(resv, lambda r: r["rows_per_s"])
o["ceil_wall"] = med(ceil, lambda r: r["wall"]); o["resv_wall"] = med(resv, lambda r: r["wall"])
o["resv_own_rps"] = med(resv, lambda r: r["resv"]["rowsPerSecond"]); o["resv_own_s"] = med(resv, lambda r: r["resv"]["seconds"])
o["ratio"] = o["resv_rps"] / o["ceil_rps"]
o["ceil_all"] = [r["rows_per_s"] for r in ceil]; o["resv_all"] = [r["rows_per_s"] for r in resv]
o["round_ratios"] = [round(b["rows_per_s"] / a["rows_per_s"], 2) for a, b in zip(ceil, resv)]
keys = ["prepare", "copy", "index", "constraint", "analyze", "other", "client"]
o["ceil_ph"] = {k: round(med(ceil, lambda r: r["phases"][k]), 2) for k in keys}
o["resv_ph"] = {k: round(med(resv, lambda r: r["phases"][k]), 2) for k in keys}
o["naive"] = naive; o["j1"] = j1; o["j4"] = j4
for name, runs in (("fest", fest), ("coup", coup)):
    o[name + "_wall"] = med(runs, lambda r: r["wall"]); o[name + "_rows"] = runs[0]["rows"]
    o[name + "_own"] = med(runs, lambda r: r["resv"]["seconds"])
    o[name + "_all"] = [r["wall"] for r in runs]
    o[name + "_ph"] = {k: round(med(runs, lambda r: r["phases"][k]), 2) for k in keys}
print(json.dumps(o))' "$(all_json "${ceil_runs[@]}")" "$(all_json "${resv_runs[@]}")" "$naive" "$j1" "$j4" "$festival" "$coupon")
s() { py "import json,sys; v=json.loads(sys.argv[1])$1; print(json.dumps(v) if isinstance(v, (dict, list)) else v)" "$stats"; }
f0() { py "print(f'{float(\"$1\"):,.0f}')"; }
f2() { py "print(f'{float(\"$1\"):.2f}')"; }
ph() {  # phases json -> "a / b / c ..."
  py "import json,sys; p=json.loads(sys.argv[1]); print(' | '.join(f'{p[k]:.2f}' for k in ['prepare','copy','index','constraint','analyze','other','client']))" "$1"
}
cmd="bench/seed.sh"; [[ $quick == 1 ]] && cmd="bench/seed.sh --quick"
pgb_rps=$(py "print(1000000 / $pgbench_s)")
cat <<REPORT
## resv seed, run of $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(uname -r))

PostgreSQL 15 throwaway cluster (scripts/pg-test.sh: fsync off, synchronous_commit off, full_page_writes off,
shared_buffers 256MB), VACUUM + CHECKPOINT before each load. Rows: $(f0 "$rows") ($seats seats, $users users,
1 concert, 1 schedule); $rounds alternating round(s), medians; wall clock around each process. Command: \`$cmd\`

| | measure | resv seed | ceiling | ratio | goal |
|---|---|---|---|---|---|
| main | $(f0 "$rows") rows, rows/s (wall) | $(f0 "$(s '["resv_rps"]')") | psql \\copy, same work: $(f0 "$(s '["ceil_rps"]')") | $(f2 "$(s '["ratio"]')") | >= 0.9 |
| | seconds (wall) | $(f2 "$(s '["resv_wall"]')") | $(f2 "$(s '["ceil_wall"]')") | | |
| info | naive psql \\copy, indexes in place, rows/s | | $(f0 "$(s '["naive"]["rows_per_s"]')") ($(f2 "$(s '["naive"]["wall"]')") s) | | |
| info | resv seed -j 1 / -j 4, rows/s (1 run each) | $(f0 "$(s '["j1"]["rows_per_s"]')") / $(f0 "$(s '["j4"]["rows_per_s"]')") | | | |
| scale | festival, $(f0 "$(s '["fest_rows"]')") rows, seconds (wall) | $(f2 "$(s '["fest_wall"]')") | | | |
| scale | coupon, $(f0 "$(s '["coup_rows"]')") rows incl. pool_units, seconds (wall) | $(f2 "$(s '["coup_wall"]')") | | | |
| scale | pgbench -i -s 10 (1,000,000 accounts), seconds (wall) | | $(f2 "$pgbench_s") ($(f0 "$pgb_rps") rows/s) | | |

Where the time goes (seconds, median of each column; server-side statement durations from the log, client = wall clock
minus them: process start, connect, round trips, rows not yet generated between COPYs):

| load | TRUNCATE/drop | COPY | CREATE INDEX | ADD CONSTRAINT | ANALYZE | other | client |
|---|---|---|---|---|---|---|---|
| psql ceiling | $(ph "$(s '["ceil_ph"]')") |
| resv seed | $(ph "$(s '["resv_ph"]')") |
| resv seed -j 1 | $(ph "$(s '["j1"]["phases"]')") |
| resv seed -j 4 | $(ph "$(s '["j4"]["phases"]')") |
| naive psql | $(ph "$(s '["naive"]["phases"]')") |
| festival | $(ph "$(s '["fest_ph"]')") |
| coupon | $(ph "$(s '["coup_ph"]')") |

Rebuilt per load: $n_idx indexes, $n_cons constraints (from the catalog, as core/ops/seed.cpp selects them).
Generating the same rows into files (resv seed --to-files, one thread, ${gen_mb} MB): ${gen_s} s.
After the last round: $(f0 "$check") rows in the loaded tables, $n_after indexes on the loaded tables.

Details: rows/s per round, psql $(s '["ceil_all"]'), resv $(s '["resv_all"]') (round ratios
$(s '["round_ratios"]')); resv's own figure (transaction only) $(f0 "$(s '["resv_own_rps"]')") rows/s,
$(f2 "$(s '["resv_own_s"]')") s. festival rounds $(s '["fest_all"]') s, coupon $(s '["coup_all"]') s.
pgbench: ${pgbench_split}

Raw: psql=${ceil_runs[*]}
resv=${resv_runs[*]}
REPORT
