#!/usr/bin/env bash
# Throwaway PostgreSQL 15 for tests and benchmarks.
#   pg-test.sh start DIR   initdb + start on a free loopback port; prints the URL
#                          and writes it to DIR/url
#   pg-test.sh stop DIR    stop (fast) and delete DIR
#   pg-test.sh pause DIR   stop the server but keep its data (simulates an outage)
#   pg-test.sh resume DIR  start it again on the same port
# As root, the server runs as the `postgres` user (PostgreSQL refuses root).
set -euo pipefail

cmd=${1:?usage: pg-test.sh start|stop|pause|resume DIR}
dir=${2:?usage: pg-test.sh start|stop|pause|resume DIR}
bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
if [[ ! -x "$bindir/initdb" ]]; then bindir=/usr/lib/postgresql/15/bin; fi

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A port below the kernel's ephemeral range (so no outgoing connection can be
# holding it) that nothing is bound to right now.
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    if python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$p" 2>/dev/null; then
      echo "$p"; return
    fi
  done
  echo "pg-test: no free port found" >&2; exit 1
}

start_server() {
  as_pg "$bindir/pg_ctl" -D "$1/data" -l "$1/postgres.log" -w -t 60 start -o \
    "-p $2 -k $1 -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off \
     -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB -c max_prepared_transactions=8" >/dev/null \
    || { cat "$1/postgres.log" >&2; exit 1; }
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then chown postgres: "$dir"; fi
    as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    # Durability settings off: test data is thrown away. max_connections covers
    # two servers' pools plus the tests' own connections. Another process may
    # take the port between the check and the start: then try another.
    for attempt in 1 2 3 4 5; do
      port=$(free_port)
      echo "$port" >"$dir/port"
      if (start_server "$dir" "$port") 2>/dev/null; then break; fi
      if ((attempt == 5)); then cat "$dir/postgres.log" >&2; exit 1; fi
    done
    url="postgresql://postgres@127.0.0.1:$port/postgres"
    echo "$url" >"$dir/url"
    echo "$url"
    ;;
  stop)
    if [[ -f "$dir/data/postmaster.pid" ]]; then
      as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
        || as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  pause)
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
    ;;
  resume)
    start_server "$dir" "$(cat "$dir/port")"
    ;;
  *) echo "usage: pg-test.sh start|stop|pause|resume DIR" >&2; exit 2 ;;
esac
