# bash completion for resv, generated from its command tree (resv completion bash). Do not edit.
_resv() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local path=resv w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case "$w" in
      --admin-port|--admin-token|--admin-url|--balance|--capacity|--clients|--concerts|--config|--db|--instance|--instances|--jobs|--kind|--lines|--party|--per-user|--pools|--port|--scale|--schedules|--seats|--seed|--state-dir|--timeout|--to-files|--users|-j|-n) ((i++)); continue ;;
    esac
    case "$path $w" in
      "resv demo"|"resv db"|"resv db up"|"resv db down"|"resv db status"|"resv db migrate"|"resv db psql"|"resv db reset"|"resv server"|"resv server start"|"resv server stop"|"resv server restart"|"resv server status"|"resv server logs"|"resv seed"|"resv config"|"resv config show"|"resv completion") path="$path $w" ;;
    esac
  done
  case "$prev" in
    --db) return ;;
    --admin-url) return ;;
    --admin-token) return ;;
    --state-dir) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --clients) return ;;
    --port) return ;;
    --admin-port) return ;;
    --timeout) return ;;
    --instances) return ;;
    -n|--lines) return ;;
    --instance) return ;;
    --concerts) return ;;
    --schedules) return ;;
    --seats) return ;;
    --pools) return ;;
    --capacity) return ;;
    --party) return ;;
    --per-user) return ;;
    --kind) COMPREPLY=($(compgen -W 'GENERAL_ADMISSION RESTAURANT_SLOT COUPON' -- "$cur")); return ;;
    --users) return ;;
    --balance) return ;;
    --scale) return ;;
    --seed) return ;;
    -j|--jobs) return ;;
    --to-files) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  local words opts
  case "$path" in
    "resv") words='demo db server seed config completion'; opts='--help --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv demo") words=''; opts='--help --clients --port --admin-port -y --yes --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv db") words='up down status migrate psql reset'; opts='--help --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv db up") words=''; opts='--help --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv db down") words=''; opts='--help --timeout --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv db status") words=''; opts='--help --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv db migrate") words=''; opts='--help --dry-run --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv db psql") words=''; opts='--help --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv db reset") words=''; opts='--help -y --yes --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv server") words='start stop restart status logs'; opts='--help --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv server start") words=''; opts='--help --instances --port --admin-port --timeout --foreground --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv server stop") words=''; opts='--help --timeout --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv server restart") words=''; opts='--help --timeout --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv server status") words=''; opts='--help --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv server logs") words=''; opts='--help -f --follow -n --lines --instance --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv seed") words='concert festival restaurant coupon'; opts='--help --concerts --schedules --seats --pools --capacity --party --per-user --kind --users --balance --scale --seed -j --jobs --reset --force -y --yes --dry-run --to-files --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv config") words='show'; opts='--help --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv config show") words=''; opts='--help --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv completion") words='bash zsh fish'; opts='--help --version --json --db --admin-url --admin-token --state-dir --config -v --verbose -q --quiet --no-color' ;;
  esac
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); else COMPREPLY=($(compgen -W "$words" -- "$cur")); fi
}
complete -F _resv resv
