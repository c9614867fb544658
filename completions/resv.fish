# fish completion for resv, generated from its command tree (resv completion fish). Do not edit.
function __resv_path
    set -l words (commandline -opc)
    set -l path resv
    set -l skip 0
    for w in $words[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case --admin-port --admin-token --admin-url --balance --capacity --clients --concerts --config --db --instance --instances --jobs --kind --lines --party --per-user --pools --port --scale --schedules --seats --seed --state-dir --timeout --to-files --users -j -n
                set skip 1
                continue
        end
        switch "$path $w"
            case 'resv demo' 'resv db' 'resv db up' 'resv db down' 'resv db status' 'resv db migrate' 'resv db psql' 'resv db reset' 'resv server' 'resv server start' 'resv server stop' 'resv server restart' 'resv server status' 'resv server logs' 'resv seed' 'resv config' 'resv config show' 'resv completion'
                set path "$path $w"
        end
    end
    echo $path
end
complete -c resv -f
complete -c resv -n 'test (__resv_path) = \'resv\'' -a demo -d 'Run the whole stack on the embedded default and show a burst of buyers'
complete -c resv -n 'test (__resv_path) = \'resv\'' -a db -d 'Run the embedded PostgreSQL; inspect, migrate and reset a database'
complete -c resv -n 'test (__resv_path) = \'resv\'' -a server -d 'Start, stop, restart and inspect resv-server instances'
complete -c resv -n 'test (__resv_path) = \'resv\'' -a seed -d 'Load deterministic test data, as fast as PostgreSQL takes it'
complete -c resv -n 'test (__resv_path) = \'resv\'' -a config -d 'Show the resolved settings'
complete -c resv -n 'test (__resv_path) = \'resv\'' -a completion -d 'Print the shell completion script for bash, zsh or fish'
complete -c resv -l version -d 'Print the version and exit'
complete -c resv -l json -d 'Print data as JSON (schemas in resv(1))'
complete -c resv -l db -r -d 'PostgreSQL URL (default: the embedded cluster; env RESV_DATABASE_URL)'
complete -c resv -l admin-url -r -d 'resv-server admin API URL (env RESV_ADMIN_URL)'
complete -c resv -l admin-token -r -d 'Admin API bearer token (env RESV_ADMIN_TOKEN)'
complete -c resv -l state-dir -r -F -d 'Where resv keeps its cluster, pidfiles, logs (env RESV_STATE_DIR)'
complete -c resv -l config -r -F -d 'Config file, TOML (env RESV_CONFIG)'
complete -c resv -s v -l verbose -d 'More detail on stderr (repeatable)'
complete -c resv -s q -l quiet -d 'Only errors on stderr'
complete -c resv -l no-color -d 'No colour (also: NO_COLOR set)'
complete -c resv -n 'test (__resv_path) = \'resv demo\'' -l clients -r -d 'Concurrent buyers'
complete -c resv -n 'test (__resv_path) = \'resv demo\'' -l port -r -d 'API port of the server it starts'
complete -c resv -n 'test (__resv_path) = \'resv demo\'' -l admin-port -r -d 'Admin port of the server it starts'
complete -c resv -n 'test (__resv_path) = \'resv demo\'' -s y -l yes -d 'Do not ask before adding demo data to a database resv did not provision'
complete -c resv -n 'test (__resv_path) = \'resv db\'' -a up -d 'Create, start and migrate the embedded PostgreSQL cluster'
complete -c resv -n 'test (__resv_path) = \'resv db\'' -a down -d 'Stop the embedded PostgreSQL cluster'
complete -c resv -n 'test (__resv_path) = \'resv db\'' -a status -d 'Show whether the database runs, its version, size, connections and schema level'
complete -c resv -n 'test (__resv_path) = \'resv db\'' -a migrate -d 'Apply pending schema migrations'
complete -c resv -n 'test (__resv_path) = \'resv db\'' -a psql -d 'Run psql on the database, passing ARGS through'
complete -c resv -n 'test (__resv_path) = \'resv db\'' -a reset -d 'Delete all data: drop schema public and migrate afresh'
complete -c resv -n 'test (__resv_path) = \'resv db down\'' -l timeout -r -d 'Seconds to wait for it to stop'
complete -c resv -n 'test (__resv_path) = \'resv db migrate\'' -l dry-run -d 'List the pending migrations; apply nothing'
complete -c resv -n 'test (__resv_path) = \'resv db reset\'' -s y -l yes -d 'Do not ask for confirmation (needed when stdin is not a terminal)'
complete -c resv -n 'test (__resv_path) = \'resv server\'' -a start -d 'Start resv-server instances in the background and wait until ready'
complete -c resv -n 'test (__resv_path) = \'resv server\'' -a stop -d 'Stop every recorded instance (in-flight requests finish first)'
complete -c resv -n 'test (__resv_path) = \'resv server\'' -a restart -d 'Restart every recorded instance, one at a time, on its ports'
complete -c resv -n 'test (__resv_path) = \'resv server\'' -a status -d 'Show each instance\'s readiness, uptime, in-flight requests, pool use'
complete -c resv -n 'test (__resv_path) = \'resv server\'' -a logs -d 'Print the end of each instance\'s log; -f follows it'
complete -c resv -n 'test (__resv_path) = \'resv server start\'' -l instances -r -d 'Instances to run, on consecutive ports'
complete -c resv -n 'test (__resv_path) = \'resv server start\'' -l port -r -d 'API port of instance 1 (instance i: PORT+i-1; 0: any free)'
complete -c resv -n 'test (__resv_path) = \'resv server start\'' -l admin-port -r -d 'Admin port of instance 1 (instance i: ADMIN+i-1)'
complete -c resv -n 'test (__resv_path) = \'resv server start\'' -l timeout -r -d 'Seconds to wait until every instance is ready'
complete -c resv -n 'test (__resv_path) = \'resv server start\'' -l foreground -d 'Run one instance in place of resv (for containers and systemd): signals reach it directly'
complete -c resv -n 'test (__resv_path) = \'resv server stop\'' -l timeout -r -d 'Seconds to wait for each to finish before SIGKILL'
complete -c resv -n 'test (__resv_path) = \'resv server restart\'' -l timeout -r -d 'Seconds to wait for each to stop, and to be ready'
complete -c resv -n 'test (__resv_path) = \'resv server logs\'' -s f -l follow -d 'Keep printing what is appended, until Ctrl-C'
complete -c resv -n 'test (__resv_path) = \'resv server logs\'' -s n -l lines -r -d 'Lines to print from the end of each log'
complete -c resv -n 'test (__resv_path) = \'resv server logs\'' -l instance -r -d 'Only this instance\'s log'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -a concert -d 'A field report\'s set-up'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -a festival -d 'A field report\'s set-up'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -a restaurant -d 'A field report\'s set-up'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -a coupon -d 'A field report\'s set-up'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -l concerts -r -d 'Concerts (events)'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -l schedules -r -d 'Schedules per concert'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -l seats -r -d 'Assigned seats in total, spread over every schedule'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -l pools -r -d 'Capacity pools per schedule'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -l capacity -r -d 'Units per pool'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -l party -r -d 'Largest party (units per reservation) of a pool'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -l per-user -r -d 'Units of a pool one user may hold'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -l kind -r -a 'GENERAL_ADMISSION RESTAURANT_SLOT COUPON' -d 'Pool kind'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -l users -r -d 'Users'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -l balance -r -d 'Mean balance of a user (each gets 50-150 % of it)'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -l scale -r -d 'Multiply the events and users'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -l seed -r -d 'Seed of the generator: the same seed, the same data'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -s j -l jobs -r -d 'Threads generating rows while one connection loads them'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -l reset -d 'Replace the data there is (asks first)'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -l force -d 'Even when reservations or payments exist (they are deleted)'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -s y -l yes -d 'Do not ask for confirmation (needed without a terminal)'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -l dry-run -d 'Print what would be created, write nothing'
complete -c resv -n 'test (__resv_path) = \'resv seed\'' -l to-files -r -F -d 'Write the rows as COPY files into this directory instead of loading'
complete -c resv -n 'test (__resv_path) = \'resv config\'' -a show -d 'Print each setting, its value (secrets masked) and where it came from'
complete -c resv -n 'test (__resv_path) = \'resv completion\'' -a bash -d 'The shell'
complete -c resv -n 'test (__resv_path) = \'resv completion\'' -a zsh -d 'The shell'
complete -c resv -n 'test (__resv_path) = \'resv completion\'' -a fish -d 'The shell'
