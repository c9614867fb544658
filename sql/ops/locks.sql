-- What `resv locks` reads from the catalogue, one result per statement, in
-- this order (core/ops/locks.cpp reads them by position). bench/locks.sh
-- runs this same file with psql as the ceiling. Times are seconds before
-- now(). pg_locks is read once (it takes every lock partition's lock).

-- 1. The database, this session, the lock settings and counters.
SELECT current_database() AS database,
       pg_backend_pid() AS own_pid,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
       current_setting('lock_timeout') AS lock_timeout,
       current_setting('deadlock_timeout') AS deadlock_timeout,
       current_setting('idle_in_transaction_session_timeout') AS idle_in_transaction_timeout,
       current_setting('statement_timeout') AS statement_timeout,
       current_setting('log_lock_waits') AS log_lock_waits,
       d.deadlocks,
       extract(epoch FROM now() - d.stats_reset) AS stats_age_s,
       to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS now
  FROM pg_stat_database d
 WHERE d.datname = current_database();

-- 2. Sessions that can hold or wait for locks, in every database; the
-- blockers of those waiting for a lock (pg_blocking_pids takes the lock
-- manager: only for them).
SELECT a.pid,
       a.leader_pid,
       a.datname AS database,
       a.usename AS "user",
       a.application_name AS application,
       coalesce(host(a.client_addr) || ':' || a.client_port, CASE WHEN a.client_port = -1 THEN 'local' END) AS client,
       a.backend_type,
       a.state,
       extract(epoch FROM now() - a.xact_start) AS xact_age_s,
       extract(epoch FROM now() - a.state_change) AS state_age_s,
       extract(epoch FROM now() - a.query_start) AS query_age_s,
       a.wait_event_type,
       a.wait_event,
       a.backend_xid::text AS xid,
       left(a.query, 300) AS query,
       coalesce(r.rolsuper, false) AS superuser,
       CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END AS blocked_by
  FROM pg_stat_activity a
  LEFT JOIN pg_roles r ON r.oid = a.usesysid
 WHERE a.backend_type IN ('client backend', 'parallel worker', 'autovacuum worker')
   AND a.pid <> pg_backend_pid();

-- 3. The locks that matter: every wait, what waiters hold (their row
-- versions, their tables and indexes), advisory locks, relation locks
-- stronger than a write's or on a relation someone waits for, and those of
-- prepared transactions (no pid).
WITH l AS MATERIALIZED (SELECT * FROM pg_locks),
     waiting AS (SELECT DISTINCT pid FROM l WHERE NOT granted),
     wanted AS (SELECT DISTINCT relation FROM l WHERE NOT granted AND relation IS NOT NULL)
SELECT l.pid,
       l.locktype,
       l.mode,
       l.granted,
       l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AS here,
       CASE WHEN l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            THEN l.relation::regclass::text END AS relation,
       c.relkind::text AS relkind,
       i.indisunique AS unique_index,
       i.indrelid::regclass::text AS index_table,
       CASE WHEN i.indisunique THEN pg_get_indexdef(i.indexrelid) END AS index_def,
       l.page,
       l.tuple,
       l.transactionid::text AS xid,
       l.classid::bigint AS classid,
       l.objid::bigint AS objid,
       l.objsubid,
       l.virtualtransaction,
       extract(epoch FROM now() - l.waitstart) AS wait_s
  FROM l
  LEFT JOIN pg_class c ON c.oid = l.relation
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  LEFT JOIN pg_index i ON i.indexrelid = c.oid
 WHERE NOT l.granted
    OR l.pid IS NULL
    OR l.locktype IN ('advisory', 'tuple')
    OR (l.locktype = 'relation' AND l.mode NOT IN ('AccessShareLock', 'RowShareLock', 'RowExclusiveLock'))
    OR l.relation IN (SELECT relation FROM wanted)
    OR (l.locktype = 'relation' AND l.pid IN (SELECT pid FROM waiting))
 ORDER BY l.pid, l.locktype;

-- 4. Prepared transactions: their locks show with no pid.
SELECT gid, transaction::text AS xid, owner, database, extract(epoch FROM now() - prepared) AS age_s
  FROM pg_prepared_xacts;
