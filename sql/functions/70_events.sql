-- Events: the relay (core/events/relay.h) publishes outbox rows to Kafka and
-- marks them published once the broker has acknowledged them; upkeep prunes
-- them after their retention (resv_prune). resv events reads the rest.

-- The backlog: events not published yet, and how long the oldest has waited
-- (seconds; 0 when there is none). The sweeper samples it every second.
DROP FUNCTION IF EXISTS resv_outbox_backlog();
CREATE FUNCTION resv_outbox_backlog(OUT unpublished bigint, OUT oldest_age_s float8)
LANGUAGE sql STABLE SET enable_seqscan = off AS $$
  SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL),
         coalesce((SELECT extract(epoch FROM now() - created_at)::float8 FROM outbox
                    WHERE published_at IS NULL ORDER BY id LIMIT 1), 0)
$$;

-- The next events to publish, oldest first, with the message each becomes.
-- Message schema version 1 (resv(1), EVENTS):
--   {"eventId": 42, "type": "ReservationConfirmed", "schemaVersion": 1,
--    "aggregateType": "reservation", "aggregateId": 17,
--    "occurredAt": "2026-12-02T05:00:00.123Z", "data": {...}}
-- "data" is the outbox row's payload as the write path wrote it.
CREATE OR REPLACE FUNCTION resv_outbox_next(p_limit int)
RETURNS TABLE (id bigint, aggregate_type text, aggregate_id bigint, event_type text, body text)
LANGUAGE sql STABLE SET enable_seqscan = off AS $$
  SELECT o.id, o.aggregate_type, o.aggregate_id, o.event_type,
         json_build_object('eventId', o.id, 'type', o.event_type, 'schemaVersion', 1,
                           'aggregateType', o.aggregate_type, 'aggregateId', o.aggregate_id,
                           'occurredAt', resv_ts(o.created_at), 'data', o.payload)::text
    FROM outbox o WHERE o.published_at IS NULL ORDER BY o.id LIMIT p_limit
$$;

-- Marks events published (the broker acknowledged them); returns how many
-- were not marked already.
CREATE OR REPLACE FUNCTION resv_outbox_mark_published(p_ids bigint[]) RETURNS bigint
LANGUAGE sql SET enable_seqscan = off AS $$
  WITH marked AS (UPDATE outbox SET published_at = now() WHERE id = ANY(p_ids) AND published_at IS NULL RETURNING 1)
  SELECT count(*) FROM marked
$$;

-- What resv events status shows of the outbox, in one row: the backlog and
-- the age of its oldest row, events published in the last minute, the ids
-- still kept (replayable), and the relay leader: the session holding the
-- advisory lock (p_classid, p_objid) of db/advisory_locks.h's
-- kOutboxRelay, by its application_name ("resv-server:8080 relay").
CREATE OR REPLACE FUNCTION resv_outbox_status(p_classid bigint, p_objid bigint)
RETURNS TABLE (unpublished bigint, oldest_age_s float8, published_last_minute bigint, first_id bigint,
               last_id bigint, leader text, leader_pid int, leader_connected_s float8)
LANGUAGE sql STABLE SET enable_seqscan = off AS $$
  SELECT b.unpublished, b.oldest_age_s,
         (SELECT count(*) FROM outbox WHERE published_at > now() - interval '1 minute'),
         (SELECT min(id) FROM outbox), (SELECT max(id) FROM outbox),
         a.application_name, a.pid, extract(epoch FROM now() - a.backend_start)::float8
    FROM resv_outbox_backlog() b
    LEFT JOIN LATERAL (
      SELECT s.application_name, s.pid, s.backend_start FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
         AND l.classid::bigint = p_classid AND l.objid::bigint = p_objid
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       LIMIT 1) a ON true
$$;

-- resv events replay: the published events p_from..p_to become unpublished
-- again, so that the relay sends them again (same ids, keys and bodies;
-- after the events published since, so a consumer sees each of them a
-- second time). Returns how many; p_dry_run counts without changing.
CREATE OR REPLACE FUNCTION resv_outbox_replay(p_from bigint, p_to bigint, p_dry_run boolean) RETURNS bigint
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  v_n bigint;
BEGIN
  IF p_dry_run THEN
    SELECT count(*) INTO v_n FROM outbox WHERE id BETWEEN p_from AND p_to AND published_at IS NOT NULL;
  ELSE
    UPDATE outbox SET published_at = NULL WHERE id BETWEEN p_from AND p_to AND published_at IS NOT NULL;
    GET DIAGNOSTICS v_n = ROW_COUNT;
  END IF;
  RETURN v_n;
END $$;
