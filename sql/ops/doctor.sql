-- resv doctor's facts from the database (core/ops/doctor.cpp), one
-- statement each, in order, on one read-only connection.

-- 1. The server, its connections (client backends, this one included) and
--    its clock, as epoch seconds (the caller compares it with its own).
SELECT current_setting('server_version') AS version,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS connections,
       current_setting('max_connections')::bigint AS max_connections,
       current_setting('superuser_reserved_connections')::bigint AS reserved,
       extract(epoch FROM clock_timestamp())::float8 AS clock;

-- 2. Waiting tokens not seen for a minute past their queue's abandon time:
--    the admission leader ends those (resv_queue_tick), so they pile up
--    only while it does not run.
SELECT t.concert_id, count(*) AS abandoned
  FROM queue_tokens t
  JOIN queue_concerts q ON q.concert_id = t.concert_id
 WHERE t.status = 'WAITING'
   AND t.last_seen_at < now() - make_interval(secs => q.abandon_after_s + 60)
 GROUP BY t.concert_id
 ORDER BY t.concert_id;
