# Shared by the bench/*.sh scripts (sourced, after `cd` to the repository
# root): strict mode and the checks that make a phase fail instead of print a
# figure it did not earn, a Release build, a throwaway PostgreSQL,
# resv-server and nginx as ceiling, cleaned up on exit.
#   bench_build TARGET...       deps (wrk, nginx), then build-bench/ (Release) and TARGETs in it
#   bench_setup TARGET...       bench_build, $work, cleanup trap, $db (database "bench", migrated)
#   embedded_setup TARGET...    bench_build, $work, `resv` on a state directory in it, the embedded
#                               cluster up ($db), and on exit its servers stopped and the cluster down
#   start_server ARGS...        resv-server on $port/$admin_port (one I/O thread), waits until ready
#   launch_server BIN DB ARGS...  the same with another binary and database
#   wait_ready ADMIN_PORT LOG   fails unless /readyz answers within 10 s (LOG shown if not)
#   start_nginx                 one nginx worker serving $work/www on $nginx_port
#   stop_nginx
#   log MESSAGE                 to stderr; also names the step a failure is reported in
#   fail MESSAGE                ends the script (exit 1) saying which step failed and why
#   expect_eq WHAT GOT WANT     fail unless GOT = WANT
#   expect_run WHAT JSON N OK   a resv-loadgen summary: N answers, no connection error, OK 2xx ('-': any)
#   wrk_rps URL                 wrk's req/s; fails unless it made requests and every one got a 2xx
# Strict mode: any failing command, unset variable or failing stage of a pipe
# ends the script, also inside $(...) (inherit_errexit); the ERR trap prints
# the step and the command. `psql` here is `psql -X -v ON_ERROR_STOP=1` (the
# function below), so a failing statement of a -f file or of any -c fails too.
set -Eeuo pipefail
shopt -s inherit_errexit
bench_name=${bench_name:-bench}
bench_step="setup"
log() { bench_step="$*"; echo "$bench_name: $*" >&2; }
fail() { echo "$bench_name: FAILED during \"$bench_step\": $*" >&2; exit 1; }
trap 'echo "$bench_name: FAILED during \"$bench_step\": \`$BASH_COMMAND\` exited with $? (${BASH_SOURCE[0]##*/}:$LINENO)" >&2' ERR
psql() { command psql -X -v ON_ERROR_STOP=1 "$@"; }
expect_eq() { [[ "$2" == "$3" ]] || fail "$1: $2, expected $3"; }
expect_run() {  # what json answers ok2xx
  local problem
  problem=$(python3 - "$@" <<'PY'
import json, sys
what, raw, want, ok = sys.argv[1:5]
try:
    r = json.loads(raw)
except ValueError:
    print("no summary from resv-loadgen: %r" % raw[:200]); sys.exit()
p = []
if r["responses"] != int(want) or r["responses"] == 0: p.append("%d answers to %s requests" % (r["responses"], want))
if r["connErrors"]: p.append("%d connection errors" % r["connErrors"])
if ok != "-" and r["ok2xx"] != int(ok): p.append("%d 2xx, expected %s" % (r["ok2xx"], ok))
if p: print("; ".join(p) + " (codes: %s, 5xx: %d)" % (json.dumps(r["codes"]), r["server5xx"]))
PY
  )
  [[ -z "$problem" ]] || fail "$1: $problem"
}

server_pid=""; nginx_conf=""; work=""
# (b)'s ceiling: nginx serves resv-server's answer to a late buyer, byte for byte.
sold_out_body='{"error":{"code":"SOLD_OUT","message":"pool 1 has 0 left, fewer than the 4 requested","remaining":0}}'
bench_cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [[ -n "$nginx_conf" ]] && nginx -c "$nginx_conf" -s stop 2>/dev/null || true
  [[ -n "$work" ]] && { scripts/pg-test.sh stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"; }
}

free_port() {  # below the ephemeral range, currently unbound
  python3 -c 'import random,socket
while True:
    p = random.randint(20000, 32000); s = socket.socket()
    try: s.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass'
}
# One uncounted burst of 2,000 connections x 3 GETs at a port: the first such
# burst after a process starts also pays for its first 2,000 sessions (and
# the kernel's sockets), which no later round does. Given to every target
# before (b)'s rounds, the server and nginx alike.
burst_warm() { build-bench/bench/resv-loadgen --port "$1" --scenario get --path "$2" -c 2000 --per-connection 3 >/dev/null; }
ratio() { python3 -c "print(f'{float(\"$1\")/float(\"$2\"):.2f}')"; }
wrk_rps() {
  local out requests rps
  out=$(wrk -t1 -c64 -d"${dur}s" "$1")
  requests=$(awk '/ requests in / {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  if [[ -z "$rps" || "${requests:-0}" == 0 ]] || grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
    fail "wrk on $1: not every request answered with a 2xx:"$'\n'"$out"
  fi
  echo "$rps"
}

bench_build() {
  scripts/install-deps.sh --bench
  cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C build-bench "$@" >&2
}

bench_setup() {
  bench_build "$@"
  ulimit -n "$(ulimit -Hn)"  # thousands of connections on each side
  work=$(mktemp -d /tmp/resv-bench.XXXXXX)
  chmod 755 "$work"
  trap bench_cleanup EXIT
  local admin_url
  admin_url=$(scripts/pg-test.sh start "$work/pg")
  psql -q "$admin_url" -c "CREATE DATABASE bench"
  db=${admin_url%/postgres}/bench
  build-bench/server/resv-server --database-url "$db" --migrate >/dev/null
}

# The product's own stack: `resv db up` (the embedded cluster, durable
# defaults) in a state directory of the run's own. $db is not exported:
# resv manages the embedded cluster only while no URL is configured.
embedded_setup() {
  bench_build "$@"
  ulimit -n "$(ulimit -Hn)"
  work=$(mktemp -d /tmp/resv-bench.XXXXXX)
  chmod 755 "$work"  # the postgres user reaches the embedded cluster under it
  trap embedded_cleanup EXIT
  db=$(eval "$(resv db up -q)" && echo "$RESV_DATABASE_URL")
}
resv() { build-bench/cli/resv --state-dir "$work/state" "$@"; }
embedded_cleanup() {
  resv server stop >/dev/null 2>&1 || true
  resv db down >/dev/null 2>&1 || true
  rm -rf "$work"
}

start_server() { launch_server build-bench/server/resv-server "$db" "$@"; }
launch_server() {
  local bin=$1 url=$2; shift 2
  port=$(free_port); admin_port=$(free_port)
  "$bin" --database-url "$url" --port "$port" --admin-port "$admin_port" \
    --io-threads 1 --admin-token bench "$@" >"$work/server.out" 2>"$work/server.log" &
  server_pid=$!
  wait_ready "$admin_port" "$work/server.log"
}
wait_ready() {
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return; sleep 0.1; done
  tail -20 "$2" >&2
  fail "resv-server (admin port $1) did not become ready within 10 s; its log's end is above"
}

start_nginx() {
  nginx_port=$(free_port)
  nginx_conf="$work/nginx.conf"
  cat >"$nginx_conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  open_file_cache max=16;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$nginx_port; location / { root $work/www; default_type application/json; } }
}
NGINX
  nginx -c "$nginx_conf"
}

stop_nginx() { nginx -c "$nginx_conf" -s stop; nginx_conf=""; }
