# bash completion for resv, generated from its command tree (resv completion bash). Do not edit.
_resv() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local path=resv w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case "$w" in
      --abandon-after|--actor|--admin-port|--admin-token|--admin-url|--admit-rate|--attempts|--balance|--blockers-older-than|--capacity|--check|--clients|--concert|--concerts|--config|--connections|--db|--delay|--duration|--fail-if-backlog|--fail-if-lag|--fail-if-older|--fail-if-stuck|--fail-on-blocking|--first-user|--from-id|--group|--instance|--instances|--interval|--jobs|--kafka-brokers|--kind|--last|--limit|--lines|--lock-timeout|--max-active|--min-wait|--mix|--only|--opening-within|--opens-at|--party|--per-user|--pid|--pools|--port|--ramp|--rate|--requests|--reuse|--runbook-dir|--scale|--schedule|--schedules|--seats|--seed|--since|--state-dir|--status|--threads|--threshold|--timeout|--to-files|--to-id|--token-ttl|--topic|--topic-prefix|--trace|--url|--user|--users|--var|--watch|--window|-c|-d|-j|-n|-s) ((i++)); continue ;;
    esac
    case "$path $w" in
      "resv demo"|"resv db"|"resv db up"|"resv db down"|"resv db status"|"resv db migrate"|"resv db psql"|"resv db reset"|"resv server"|"resv server start"|"resv server stop"|"resv server restart"|"resv server status"|"resv server logs"|"resv seed"|"resv warmup"|"resv bench"|"resv queue"|"resv queue status"|"resv queue list"|"resv queue inspect"|"resv queue enable"|"resv queue disable"|"resv queue pause"|"resv queue resume"|"resv queue set"|"resv queue admit"|"resv queue drain"|"resv queue history"|"resv locks"|"resv locks cancel"|"resv locks terminate"|"resv locks rows"|"resv audit"|"resv doctor"|"resv runbook"|"resv runbook list"|"resv runbook show"|"resv runbook run"|"resv runbook history"|"resv events"|"resv events status"|"resv events lag"|"resv events tail"|"resv events replay"|"resv config"|"resv config show"|"resv completion") path="$path $w" ;;
    esac
  done
  case "$prev" in
    --db) return ;;
    --admin-url) return ;;
    --admin-token) return ;;
    --kafka-brokers) return ;;
    --state-dir) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --clients) return ;;
    --port) return ;;
    --admin-port) return ;;
    --timeout) return ;;
    --lock-timeout) return ;;
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
    -c|--concert) return ;;
    -s|--schedule) return ;;
    --opening-within) return ;;
    --window) return ;;
    --watch) return ;;
    -c|--connections) return ;;
    -d|--duration) return ;;
    -n|--requests) return ;;
    --rate) return ;;
    --ramp) return ;;
    --threads) return ;;
    --attempts) return ;;
    --mix) return ;;
    --admit-rate) return ;;
    --max-active) return ;;
    --reuse) return ;;
    --first-user) return ;;
    --threshold) return ;;
    --url) return ;;
    --trace) return ;;
    --concert) return ;;
    --fail-if-stuck) return ;;
    --status) COMPREPLY=($(compgen -W 'WAITING ACTIVE EXPIRED' -- "$cur")); return ;;
    --limit) return ;;
    --user) return ;;
    --actor) return ;;
    --token-ttl) return ;;
    --abandon-after) return ;;
    --opens-at) return ;;
    --min-wait) return ;;
    --fail-on-blocking) return ;;
    --blockers-older-than) return ;;
    --pid) return ;;
    --since) return ;;
    --check) COMPREPLY=($(compgen -W 'seat_sold_twice seat_released pool_over_capacity pool_units_match confirmed_paid payment_has_reservation charged_once balance_matches_ledger holds_released outbox_complete queue_positions' -- "$cur")); return ;;
    --only) COMPREPLY=($(compgen -W 'database servers queue holds events warmup data host' -- "$cur")); return ;;
    --runbook-dir) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --var) return ;;
    -n|--limit) return ;;
    --topic-prefix) return ;;
    --fail-if-backlog) return ;;
    --fail-if-older) return ;;
    --group) return ;;
    --interval) return ;;
    --fail-if-lag) return ;;
    --topic) return ;;
    -n|--last) return ;;
    --delay) return ;;
    --from-id) return ;;
    --to-id) return ;;
  esac
  local words opts
  case "$path" in
    "resv") words='demo db server seed warmup bench queue locks audit doctor runbook events config completion'; opts='--help --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv demo") words=''; opts='--help --clients --port --admin-port -y --yes --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv db") words='up down status migrate psql reset'; opts='--help --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv db up") words=''; opts='--help --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv db down") words=''; opts='--help --timeout --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv db status") words=''; opts='--help --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv db migrate") words=''; opts='--help --dry-run --lock-timeout --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv db psql") words=''; opts='--help --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv db reset") words=''; opts='--help -y --yes --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv server") words='start stop restart status logs'; opts='--help --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv server start") words=''; opts='--help --instances --port --admin-port --timeout --foreground --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv server stop") words=''; opts='--help --timeout --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv server restart") words=''; opts='--help --timeout --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv server status") words=''; opts='--help --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv server logs") words=''; opts='--help -f --follow -n --lines --instance --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv seed") words='concert festival restaurant coupon'; opts='--help --concerts --schedules --seats --pools --capacity --party --per-user --kind --users --balance --scale --seed -j --jobs --reset --force -y --yes --dry-run --to-files --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv warmup") words=''; opts='--help -c --concert -s --schedule --opening-within --window --no-database --verify --watch --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv bench") words=''; opts='--help -c --connections -d --duration -n --requests --rate --ramp --threads --seats --capacity --party --attempts --mix --admit-rate --max-active --users --reuse --first-user --seed --threshold --url --timeout --trace --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv queue") words='status list inspect enable disable pause resume set admit drain history'; opts='--help --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv queue status") words=''; opts='--help --concert --watch --fail-if-stuck --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv queue list") words=''; opts='--help --concert --status --limit --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv queue inspect") words=''; opts='--help --user --concert --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv queue enable") words=''; opts='--help --concert -y --yes --dry-run --actor --max-active --rate --token-ttl --abandon-after --opens-at --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv queue disable") words=''; opts='--help --concert -y --yes --dry-run --actor --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv queue pause") words=''; opts='--help --concert -y --yes --dry-run --actor --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv queue resume") words=''; opts='--help --concert -y --yes --dry-run --actor --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv queue set") words=''; opts='--help --concert -y --yes --dry-run --actor --max-active --rate --token-ttl --abandon-after --opens-at --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv queue admit") words=''; opts='--help --concert -y --yes --dry-run --actor --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv queue drain") words=''; opts='--help --concert -y --yes --dry-run --actor --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv queue history") words=''; opts='--help --concert --limit --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv locks") words='cancel terminate rows'; opts='--help --watch --min-wait --all --fail-on-blocking --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv locks cancel") words=''; opts='--help --blockers-older-than -y --yes --dry-run --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv locks terminate") words=''; opts='--help --blockers-older-than -y --yes --dry-run --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv locks rows") words='seats pool_units users reservations pools schedules concerts payments balance_ledger outbox idempotency_keys queue_concerts queue_tokens queue_audit queue_secret seed_runs schema_migrations'; opts='--help --pid --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv audit") words=''; opts='--help --concert --since --check --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv doctor") words=''; opts='--help --only --check --timeout --watch --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv runbook") words='list show run history'; opts='--help --runbook-dir --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv runbook list") words=''; opts='--help --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv runbook show") words=''; opts='--help --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv runbook run") words=''; opts='--help -y --yes --dry-run --var --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv runbook history") words=''; opts='--help -n --limit --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv events") words='status lag tail replay'; opts='--help --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv events status") words=''; opts='--help --watch --topic-prefix --fail-if-backlog --fail-if-older --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv events lag") words=''; opts='--help --group --topic-prefix --interval --fail-if-lag --watch --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv events tail") words=''; opts='--help --topic --topic-prefix --from-beginning -n --last -f --follow --group --delay --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv events replay") words=''; opts='--help --from-id --to-id --yes --dry-run --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv config") words='show'; opts='--help --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv config show") words=''; opts='--help --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
    "resv completion") words='bash zsh fish'; opts='--help --version --json --db --admin-url --admin-token --kafka-brokers --state-dir --config -v --verbose -q --quiet --no-color' ;;
  esac
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); else COMPREPLY=($(compgen -W "$words" -- "$cur")); fi
}
complete -F _resv resv
