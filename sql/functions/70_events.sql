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
