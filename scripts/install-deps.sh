#!/usr/bin/env bash
# Installs every build, test and benchmark dependency from Debian 12 packages.
# Idempotent: skips apt entirely when everything is already installed.
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build pkg-config
  libpqxx-dev libpq-dev
  libboost-dev
  libcli11-dev libtomlplusplus-dev
  librdkafka-dev
  libspdlog-dev libfmt-dev
  nlohmann-json3-dev
  libgtest-dev libgmock-dev googletest
  libssl-dev
  clang-14 libclang-rt-14-dev
  postgresql-15 postgresql-client-15 postgresql-contrib
  curl procps man-db groff-base bash-completion zsh fish
  lintian
)
bench_packages=(wrk nginx-light pg-activity)

want=("${packages[@]}")
if [[ "${1:-}" == "--bench" ]]; then want+=("${bench_packages[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages present" >&2
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# The postgresql package would create and start a system cluster; resv runs its
# own clusters, so keep the package from starting one during install.
$sudo mkdir -p /etc/postgresql-common
if [[ ! -f /etc/postgresql-common/createcluster.conf ]] || ! grep -q '^create_main_cluster = false' /etc/postgresql-common/createcluster.conf; then
  echo 'create_main_cluster = false' | $sudo tee -a /etc/postgresql-common/createcluster.conf >/dev/null
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done" >&2
