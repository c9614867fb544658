#!/usr/bin/env bash
# The installed resv, from a build tree configured with
# -DCMAKE_INSTALL_PREFIX=/usr (scripts/test.sh's -O3 build):
#   - `cmake --install` into a temporary DESTDIR, then from that tree alone:
#     --help and --version of both binaries, both man pages rendered without a
#     warning, bash-completion finding and loading the completion from the
#     installed path, `resv demo` run from another directory with a private
#     state directory, and `resv server status --admin-url` against a server
#     run as the systemd unit runs it (its settings in an env file);
#   - the .deb (cpack): its contents, its Depends, lintian without errors, the
#     units accepted by `systemd-analyze verify` (skipped, saying so, where
#     systemd-analyze is missing).
# Usage: tests/package/package_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: package_test.sh BUILD_DIR}" && pwd)
cd "$(dirname "$0")/../.."

work=$(mktemp -d /tmp/resv-package-test-XXXXXX)
chmod 755 "$work"  # the embedded cluster runs as postgres (as root) and must reach its state folder
root=$work/root
state=$work/state
resv=$root/usr/bin/resv
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  if [[ -x "$resv" && -d "$state" ]]; then
    "$resv" --state-dir "$state" server stop --timeout 10 >/dev/null 2>&1 || true
    "$resv" --state-dir "$state" db down >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
pass() { echo "ok: $*" >&2; }
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
check() {  # description, command...: passes when the command succeeds
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
free_port() {  # a port nothing listens on, below the ephemeral range
  local p
  while :; do
    p=$((20000 + RANDOM % 10000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# Nothing but the installed tree: no build-tree binaries by variable or PATH.
unset RESV_SERVER_BIN RESV_BROKER_BIN RESV_DATABASE_URL RESV_ADMIN_URL RESV_ADMIN_TOKEN RESV_STATE_DIR RESV_CONFIG
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

echo "== cmake --install (DESTDIR=$root)" >&2
DESTDIR=$root cmake --install "$build" >/dev/null
for f in usr/bin/resv usr/bin/resv-server usr/libexec/resv/resv-broker usr/share/man/man1/resv.1.gz \
         usr/share/man/man8/resv-server.8.gz usr/share/bash-completion/completions/resv \
         usr/share/zsh/vendor-completions/_resv usr/share/fish/vendor_completions.d/resv.fish \
         lib/systemd/system/resv-server@.service lib/systemd/system/resv.target \
         usr/share/doc/resv/copyright usr/share/doc/resv/changelog.gz \
         usr/share/doc/resv/examples/server.env.example usr/share/doc/resv/examples/config.toml.example; do
  [[ -e "$root/$f" ]] || fail "installed: $f is missing"
done

check "resv --help from the installed tree" bash -c "'$resv' --help | grep -q 'Usage: resv'"
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
for bin in resv resv-server; do
  out=$("$root/usr/bin/$bin" --version)
  [[ "$out" =~ ^$bin\ [0-9]+\.[0-9]+\.[0-9]+\ \(commit\ [0-9a-f]{12}\)$ ]] || fail "$bin --version: '$out'"
  [[ "$out" == *"$commit"* ]] || fail "$bin --version names commit $commit: '$out'"
done
pass "--version of both binaries names the version and commit $commit"

for page in man1/resv.1.gz man8/resv-server.8.gz; do
  warnings=$(MANWIDTH=120 man --warnings -l "$root/usr/share/man/$page" 2>&1 >/dev/null)
  if [[ -z "$warnings" ]]; then pass "man -l $page: no warnings"; else fail "man -l $page warns: $warnings"; fi
done

# bash-completion's loader looks in $XDG_DATA_DIRS/bash-completion/completions.
completions=$(XDG_DATA_DIRS=$root/usr/share bash --norc --noprofile -c '
  source /usr/share/bash-completion/bash_completion
  _completion_loader resv
  complete -p resv
  COMP_WORDS=(resv se); COMP_CWORD=1; COMP_LINE="resv se"; COMP_POINT=${#COMP_LINE}
  _resv resv se resv
  printf "%s\n" "${COMPREPLY[@]}"' 2>&1)
if grep -q "complete -F _resv resv" <<<"$completions" && grep -qx "server" <<<"$completions" &&
   grep -qx "seed" <<<"$completions"; then
  pass "bash loads the completion from the installed path and completes 'resv se'"
else
  fail "bash completion from the installed path: $completions"
fi

echo "== resv demo from the installed tree, in another directory" >&2
mkdir -p "$state" "$work/elsewhere" && chmod 755 "$state"
port=$(free_port) admin=$(free_port)
if (cd "$work/elsewhere" && "$resv" --state-dir "$state" demo --clients 20 --port "$port" --admin-port "$admin" \
      --json >"$work/demo.json" 2>"$work/demo.err"); then
  pass "resv demo from another directory"
else
  fail "resv demo: $(tail -5 "$work/demo.err")"
fi
demo_pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$work/demo.json" | head -1)
if [[ -n "$demo_pid" && "$(readlink "/proc/$demo_pid/exe")" == "$root/usr/bin/resv-server" ]]; then
  pass "the demo's server is the installed resv-server"
else
  fail "the demo's server (pid '${demo_pid}') is not $root/usr/bin/resv-server"
fi

echo "== a server run as resv-server@.service runs it, and resv server status --admin-url" >&2
db_url=$(eval "$("$resv" --state-dir "$state" db up -q)" && echo "$RESV_DATABASE_URL")
api2=$(free_port) admin2=$(free_port)
cat >"$work/server-test.env" <<ENV
RESV_DATABASE_URL=$db_url
RESV_PORT=$api2
RESV_ADMIN_HOST=127.0.0.1
RESV_ADMIN_PORT=$admin2
RESV_ADMIN_TOKEN=package-test-token
ENV
(set -a && source "$work/server-test.env" && exec "$root/usr/bin/resv-server" >/dev/null 2>"$work/server.log") &
server_pid=$!
status_ok=0
for _ in $(seq 1 300); do
  if "$resv" server status --admin-url "http://127.0.0.1:$admin2" --admin-token package-test-token --json \
       >"$work/status.json" 2>"$work/status.err"; then status_ok=1; break; fi
  sleep 0.1
done
if ((status_ok)) && grep -q '"ready": *true' "$work/status.json" && grep -q "\"commit\": *\"$commit\"" "$work/status.json"; then
  pass "resv server status --admin-url: ready, commit $commit"
else
  fail "resv server status --admin-url: $(cat "$work/status.json" "$work/status.err") $(tail -3 "$work/server.log")"
fi
kill "$server_pid" && wait "$server_pid" || fail "resv-server did not exit 0 on SIGTERM"
server_pid=""

echo "== the Debian package" >&2
(cd "$build" && rm -f resv_*.deb && cpack -G DEB >/dev/null)
deb=$(ls "$build"/resv_*_amd64.deb)
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/resv ./usr/bin/resv-server ./usr/libexec/resv/resv-broker ./usr/share/man/man1/resv.1.gz \
         ./usr/share/man/man8/resv-server.8.gz ./usr/share/bash-completion/completions/resv \
         ./lib/systemd/system/resv-server@.service ./lib/systemd/system/resv.target; do
  grep -q " $f\$" <<<"$contents" || fail "the package lacks $f"
done
depends=$(dpkg-deb -f "$deb" Depends)
for d in postgresql-15 postgresql-client-15 adduser libpqxx-6.4 librdkafka1 libpq5; do
  grep -q "\b$d\b" <<<"$depends" || fail "Depends lacks $d: $depends"
done
pass "$(basename "$deb"): contents and Depends ($depends)"
lint=$(lintian --tag-display-limit 0 "$deb" 2>&1 | grep -v "running with root privileges" || true)
if grep -q "^E:" <<<"$lint"; then fail "lintian reports errors: $lint"; else pass "lintian: no errors${lint:+ ($lint)}"; fi

if command -v systemd-analyze >/dev/null; then
  units=$work/units && mkdir -p "$units"
  # An instance of the template, its ExecStart pointed at the installed tree.
  sed "s|^ExecStart=/usr/bin/|ExecStart=$root/usr/bin/|" "$root/lib/systemd/system/resv-server@.service" \
    >"$units/resv-server@main.service"
  cp "$root/lib/systemd/system/resv.target" "$units/"
  verify=$(cd "$units" && systemd-analyze verify --man=no resv-server@main.service resv.target 2>&1)
  if [[ -z "$verify" ]]; then pass "systemd-analyze verify accepts the units"; else fail "systemd-analyze verify: $verify"; fi
else
  echo "skipped: systemd-analyze verify (systemd-analyze is not installed)" >&2
fi

if ((failures > 0)); then
  echo "package_test: $failures check(s) failed" >&2
  exit 1
fi
echo "package_test: all checks passed" >&2
