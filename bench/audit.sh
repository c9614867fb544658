#!/usr/bin/env bash
# Benchmark of `resv audit` on the festival profile plus a history of
# 1,000,000 reservations (bench/audit_history.sql: 150,000 confirmed and
# paid, the rest expired or cancelled and refunded, with their payments,
# ledger lines and outbox events), printed as a Markdown report.
# Measure: wall time of `resv audit --json --db URL >/dev/null` (one process,
# one session, the statements of sql/ops/audit.sql in one REPEATABLE READ
# READ ONLY transaction, then the report) as a ratio to the ceiling, psql
# running the same file in the same kind of transaction with its output
# thrown away, in the same run: ROUNDS alternating rounds (the order flips
# every round), medians. Unmeasured runs first check that the audit reads
# the whole history and finds nothing (it fails otherwise), and that a seat
# sold twice, staged after the rounds, is found (exit 4).
#   bench/audit.sh [--quick]     (--quick: 100,000 reservations, 3 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
n=1000000; rounds=7
if [[ "${1:-}" == "--quick" ]]; then n=100000; rounds=3; fi

bench_name=audit-bench
source bench/common.sh
bench_setup resv
unset RESV_DATABASE_URL RESV_ADMIN_URL RESV_ADMIN_TOKEN RESV_CONFIG RESV_STATE_DIR PGOPTIONS
export XDG_CONFIG_HOME="$work/config"
resv_bin=build-bench/cli/resv
audit() { "$resv_bin" --state-dir "$work/state" --db "$db" audit "$@"; }

log "seeding (resv seed festival) and writing $n reservations"
"$resv_bin" --state-dir "$work/state" --db "$db" -q seed festival --yes >/dev/null
start=$(date +%s.%N)
psql -q -v n="$n" "$db" -f bench/audit_history.sql >/dev/null
history_s=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
counts=$(psql -At "$db" -c "SELECT (SELECT count(*) FROM reservations), (SELECT count(*) FROM payments),
  (SELECT count(*) FROM balance_ledger), (SELECT count(*) FROM outbox), (SELECT count(*) FROM seats),
  (SELECT count(*) FROM users), pg_size_pretty(pg_database_size(current_database()))")
IFS='|' read -r n_res n_pay n_ledger n_outbox n_seats n_users db_size <<<"$counts"
expect_eq "reservations written" "$n_res" "$n"

log "checking that the audit reads it all and finds nothing"
audit --json >"$work/first.json"
python3 - "$work/first.json" "$n" "$n_seats" <<'PY' || fail "the first audit is not what the history holds"
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2]); seats = int(sys.argv[3])
checked = {i["name"]: i["checked"] for i in r["invariants"]}
assert r["violations"] == 0, r
assert checked["seat_sold_twice"] == min(n, seats), checked  # one live reservation per seat, up to the seat count
assert checked["outbox_complete"] == n, checked
PY
checked_total=$(python3 -c "import json,sys; print(sum(i['checked'] for i in json.load(open(sys.argv[1]))['invariants']))" "$work/first.json")
{ echo "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"; cat sql/ops/audit.sql; echo "COMMIT;"; } >"$work/ceiling.sql"

ms() {  # command... -> wall ms
  local t0 t1
  t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
resv_ms=(); psql_ms=()
for ((i = 0; i < rounds; i++)); do
  log "round $((i + 1)) of $rounds"
  if ((i % 2 == 0)); then
    resv_ms+=("$(ms audit --json)"); psql_ms+=("$(ms psql -q "$db" -f "$work/ceiling.sql")")
  else
    psql_ms+=("$(ms psql -q "$db" -f "$work/ceiling.sql")"); resv_ms+=("$(ms audit --json)")
  fi
done
read -r resv_med psql_med ratio rows_s checked_s <<<"$(python3 - "$n" "$checked_total" "${resv_ms[*]}" "${psql_ms[*]}" <<'PY'
import statistics, sys
n, checked = int(sys.argv[1]), int(sys.argv[2])
r = statistics.median(int(x) for x in sys.argv[3].split()); p = statistics.median(int(x) for x in sys.argv[4].split())
print(r, p, f"{r / p:.2f}", f"{n / (r / 1000):,.0f}", f"{checked / (r / 1000):,.0f}")
PY
)"

log "staging a seat sold twice: the audit must find it"
psql -q "$db" -c "UPDATE seats SET reservation_id = (SELECT max(id) FROM reservations WHERE status = 'CONFIRMED')
                   WHERE id = (SELECT min(id) FROM seats)"
found=0; audit --check seat_sold_twice -q >/dev/null 2>&1 || found=$?
expect_eq "resv audit's exit code with a seat sold twice" "$found" 4

cat <<MD
## bench/audit.sh: $(date -u +%Y-%m-%dT%H:%MZ)

\`resv audit\` on \`resv seed festival\` (${n_seats} seats, ${n_users} users) plus ${n_res} reservations
(bench/audit_history.sql, ${history_s} s to write): ${n_pay} payments, ${n_ledger} ledger lines, ${n_outbox}
outbox events; database ${db_size}. ${rounds} alternating rounds, medians; ceiling: psql -f of the same
sql/ops/audit.sql in the same REPEATABLE READ READ ONLY transaction, output thrown away.

| | resv audit --json | psql (ceiling) | ratio | goal |
|---|---|---|---|---|
| wall ms (median) | ${resv_med} | ${psql_med} | ${ratio} | <= 1.2 |

Rows: ${rows_s} reservations/s; ${checked_s} rows checked/s (${checked_total} checked by the 11 invariants).
All runs: resv ${resv_ms[*]} ms; psql ${psql_ms[*]} ms. A seat sold twice, staged afterwards: exit ${found}.
MD
