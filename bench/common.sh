# Shared by the bench/*.sh scripts (sourced, after `cd` to the
# repository root): a Release build, a throwaway PostgreSQL, resv-server and
# nginx as ceiling, cleaned up on exit.
#   bench_setup TARGET...       deps, build, $work, cleanup trap, $db (database "bench", migrated)
#   start_server ARGS...        resv-server on $port/$admin_port (one I/O thread), waits until ready
#   launch_server BIN DB ARGS...  the same with another binary and database
#   start_nginx                 one nginx worker serving $work/www on $nginx_port
#   stop_nginx
scripts/install-deps.sh --bench
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null

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
log() { echo "bench: $*" >&2; }
# One uncounted burst of 2,000 connections x 3 GETs at a port: the first such
# burst after a process starts also pays for its first 2,000 sessions (and
# the kernel's sockets), which no later round does. Given to every target
# before (b)'s rounds, the server and nginx alike.
burst_warm() { build-bench/bench/resv-loadgen --port "$1" --scenario get --path "$2" -c 2000 --per-connection 3 >/dev/null; }
ratio() { python3 -c "print(f'{float(\"$1\")/float(\"$2\"):.2f}')"; }
wrk_rps() { wrk -t1 -c64 -d"${dur}s" "$1" | awk '/Requests\/sec/ {print $2}'; }

bench_setup() {
  ninja -C build-bench "$@" >&2
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

start_server() { launch_server build-bench/server/resv-server "$db" "$@"; }
launch_server() {
  local bin=$1 url=$2; shift 2
  port=$(free_port); admin_port=$(free_port)
  "$bin" --database-url "$url" --port "$port" --admin-port "$admin_port" \
    --io-threads 1 --admin-token bench "$@" >"$work/server.out" 2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$admin_port/readyz" >/dev/null && return; sleep 0.1; done
  log "resv-server did not become ready:"; tail -20 "$work/server.log" >&2; exit 1
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
