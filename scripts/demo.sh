#!/usr/bin/env bash
# The README's first command. On a fresh Debian 12 machine: installs the
# packages resv needs, builds resv and resv-server, and runs `resv demo` on
# the embedded default (a PostgreSQL cluster resv provisions itself under its
# state directory: /var/lib/resv as root, ~/.local/state/resv otherwise).
# Arguments go to `resv demo` (e.g. --clients 200, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build resv resv-server >&2
exec build/cli/resv demo "$@"
