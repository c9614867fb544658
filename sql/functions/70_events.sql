-- Events: the relay (core/events/relay.h) publishes outbox rows to Kafka and
-- marks them published once the broker has acknowledged them; upkeep prunes
-- them after their retention (resv_prune). resv events reads the rest.
-- The functions read one-row tables (outbox_relay, outbox_replays), whose
-- disabled sequential scan puts 10^10 in the plan's cost: jit = off, or
-- PostgreSQL compiles every call (150 ms) for a plan that takes 1 ms.

-- How the relay knows what it published: outbox_relay's snapshots (migration
-- 0007). An event is published when its transaction (outbox.txid) is
-- finished in `done`, or finished in `cur` with an id <= last_id; rows of
-- before 0007 that were published have no txid. A pending replay sends some
-- again without making them unpublished.
CREATE OR REPLACE FUNCTION resv_outbox_is_published(p_txid xid8, p_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT p_txid IS NULL OR pg_visible_in_snapshot(p_txid, s.done)
         OR (pg_visible_in_snapshot(p_txid, s.cur) AND p_id <= s.last_id)
    FROM outbox_relay s WHERE s.singleton
$$;

-- The backlog: events not published yet (and those a replay still has to
-- send again), and how long the oldest has waited (seconds; 0 when there is
-- none). The sweeper samples it every second. The events not finished in
-- `done` are found by their txid: done's in-progress list, or newer.
DROP FUNCTION IF EXISTS resv_outbox_backlog();
CREATE FUNCTION resv_outbox_backlog(OUT unpublished bigint, OUT oldest_age_s float8)
LANGUAGE plpgsql STABLE SET enable_seqscan = off SET jit = off AS $$
DECLARE
  s outbox_relay;
  v_replay bigint;
  v_oldest timestamptz;
  v_xid xid8;
BEGIN
  SELECT * INTO s FROM outbox_relay WHERE singleton;
  -- Those of transactions begun since done, and of those in progress in it
  -- (as in resv_outbox_next), less the part of the window already sent.
  SELECT count(*), min(o.created_at) INTO unpublished, v_oldest FROM outbox o
   WHERE o.txid >= pg_snapshot_xmax(s.done) AND NOT (pg_visible_in_snapshot(o.txid, s.cur) AND o.id <= s.last_id);
  FOR v_xid IN SELECT pg_snapshot_xip(s.done) LOOP
    SELECT unpublished + count(*), least(v_oldest, min(o.created_at)) INTO unpublished, v_oldest FROM outbox o
     WHERE o.txid = v_xid AND NOT (pg_visible_in_snapshot(o.txid, s.cur) AND o.id <= s.last_id);
  END LOOP;
  SELECT count(*) INTO v_replay FROM outbox_replays r JOIN outbox o ON o.id BETWEEN r.next_id AND r.to_id;
  unpublished := unpublished + v_replay;
  oldest_age_s := coalesce(extract(epoch FROM now() - v_oldest)::float8, 0);
END $$;

-- The next events to publish, in the order to publish them: a pending
-- replay's first (replay = its id), then the current window's (replay = 0);
-- when the window is exhausted, the next one starts: the events whose
-- transactions finished since `cur`. Nothing is written while there is
-- nothing new. With p_after > 0, only the current window's events after
-- that id: the page after one still in flight, read while the broker
-- acknowledges it (the window must not move on before). The relay builds each message (events/event_message.h);
-- its schema is in resv(1), EVENTS. occurred_at_ms: milliseconds since 1970
-- (formatted by the relay: to_char took half the time of a page).
-- A page is read in id order from the primary key, stopping at p_limit
-- rows: enable_sort = off, because the planner, which cannot estimate the
-- snapshot tests (it assumes a fifth of the rows pass them, where all do),
-- otherwise reads every row after the page and sorts them, so that reading
-- a backlog took time in its square.
DROP FUNCTION IF EXISTS resv_outbox_next(int);
DROP FUNCTION IF EXISTS resv_outbox_next(int, bigint);
CREATE FUNCTION resv_outbox_next(p_limit int, p_after bigint)
RETURNS TABLE (id bigint, aggregate_type text, aggregate_id bigint, event_type text, occurred_at_ms bigint,
               payload text, replay bigint)
LANGUAGE plpgsql SET enable_seqscan = off SET enable_sort = off SET jit = off AS $$
#variable_conflict use_column
DECLARE
  s outbox_relay;
  r outbox_replays;
  v_now pg_snapshot;
  v_start bigint;
  v_xid xid8;
BEGIN
  IF p_after = 0 THEN
    FOR r IN SELECT * FROM outbox_replays ORDER BY outbox_replays.id LOOP
      RETURN QUERY
        SELECT o.id, o.aggregate_type, o.aggregate_id, o.event_type,
               floor(extract(epoch FROM o.created_at) * 1000)::bigint, o.payload::text, r.id
          FROM outbox o
         WHERE o.id BETWEEN r.next_id AND r.to_id AND resv_outbox_is_published(o.txid, o.id)
         ORDER BY o.id LIMIT p_limit;
      IF FOUND THEN RETURN; END IF;
      DELETE FROM outbox_replays WHERE outbox_replays.id = r.id;  -- all sent
    END LOOP;
  END IF;

  SELECT * INTO s FROM outbox_relay WHERE singleton;
  FOR i IN 1..2 LOOP
    RETURN QUERY
      SELECT o.id, o.aggregate_type, o.aggregate_id, o.event_type,
             floor(extract(epoch FROM o.created_at) * 1000)::bigint, o.payload::text, 0::bigint
        FROM outbox o
       WHERE o.id > greatest(s.last_id, p_after) AND pg_visible_in_snapshot(o.txid, s.cur)
         AND NOT pg_visible_in_snapshot(o.txid, s.done)
       ORDER BY o.id LIMIT p_limit;
    IF FOUND OR i = 2 OR p_after > 0 THEN RETURN; END IF;
    -- The window is exhausted. The next one starts at its lowest id.
    v_now := pg_current_snapshot();
    -- Its transactions: those begun since cur, and those in progress in it,
    -- one by one (a query each, found by the txid index; as one query, the
    -- planner would take min(id) by walking the primary key through the table).
    v_start := (SELECT min(o.id) FROM outbox o
                 WHERE o.txid >= pg_snapshot_xmax(s.cur) AND o.txid < pg_snapshot_xmax(v_now)
                   AND pg_visible_in_snapshot(o.txid, v_now));
    FOR v_xid IN SELECT pg_snapshot_xip(s.cur) LOOP
      IF pg_visible_in_snapshot(v_xid, v_now) THEN
        v_start := least(v_start, (SELECT min(o.id) FROM outbox o WHERE o.txid = v_xid));
      END IF;
    END LOOP;
    IF v_start IS NULL THEN RETURN; END IF;
    UPDATE outbox_relay SET done = s.cur, cur = v_now, last_id = v_start - 1 WHERE singleton RETURNING * INTO s;
  END LOOP;
END $$;

-- The broker acknowledged the events of one resv_outbox_next answer up to
-- p_last_id (p_events of them): the window (p_replay = 0) or the replay
-- moves past them, and the publish counters count them.
DROP FUNCTION IF EXISTS resv_outbox_mark_published(bigint[]);
CREATE OR REPLACE FUNCTION resv_outbox_mark_published(p_replay bigint, p_last_id bigint, p_events bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_replay = 0 THEN
    UPDATE outbox_relay SET last_id = greatest(last_id, p_last_id) WHERE singleton;
  ELSE
    UPDATE outbox_replays SET next_id = p_last_id + 1 WHERE id = p_replay;
    DELETE FROM outbox_replays WHERE id = p_replay AND next_id > to_id;
  END IF;
  UPDATE outbox_relay SET
    published_total = published_total + p_events,
    prev_minute_events = CASE WHEN now() < minute_started_at + interval '1 minute' THEN prev_minute_events
                              WHEN now() < minute_started_at + interval '2 minutes' THEN minute_events ELSE 0 END,
    minute_events = CASE WHEN now() < minute_started_at + interval '1 minute' THEN minute_events + p_events
                         ELSE p_events END,
    minute_started_at = CASE WHEN now() < minute_started_at + interval '1 minute' THEN minute_started_at
                             ELSE now() END
   WHERE singleton;
END $$;

-- Events published in the last minute, from the two minute counters
-- (resv_outbox_mark_published): the current minute's, plus the previous
-- minute's in proportion to the part of it still within the last 60 s.
CREATE OR REPLACE FUNCTION resv_outbox_published_last_minute() RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN e < 60 THEN minute_events + round(prev_minute_events * (60 - e) / 60)
              WHEN e < 120 THEN round(minute_events * (120 - e) / 60) ELSE 0 END::bigint
    FROM (SELECT *, extract(epoch FROM now() - minute_started_at)::float8 AS e FROM outbox_relay WHERE singleton) r
$$;

-- What resv events status shows of the outbox, in one row: the backlog and
-- the age of its oldest row, events published in the last minute, the ids
-- still kept (replayable), and the relay leader: the session holding the
-- advisory lock (p_classid, p_objid) of db/advisory_locks.h's
-- kOutboxRelay, by its application_name ("resv-server:8080 relay").
CREATE OR REPLACE FUNCTION resv_outbox_status(p_classid bigint, p_objid bigint)
RETURNS TABLE (unpublished bigint, oldest_age_s float8, published_last_minute bigint, first_id bigint,
               last_id bigint, leader text, leader_pid int, leader_connected_s float8)
LANGUAGE sql STABLE SET enable_seqscan = off SET jit = off AS $$
  SELECT b.unpublished, b.oldest_age_s,
         (SELECT resv_outbox_published_last_minute()),
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

-- resv events replay: the published events p_from..p_to are sent again by
-- the relay, before new ones (same ids, keys and bodies: a consumer sees
-- each of them a second time). Returns how many; p_dry_run counts without
-- asking for it.
CREATE OR REPLACE FUNCTION resv_outbox_replay(p_from bigint, p_to bigint, p_dry_run boolean) RETURNS bigint
LANGUAGE plpgsql SET enable_seqscan = off SET jit = off AS $$
DECLARE
  v_n bigint;
BEGIN
  SELECT count(*) INTO v_n FROM outbox WHERE id BETWEEN p_from AND p_to AND resv_outbox_is_published(txid, id);
  IF NOT p_dry_run AND v_n > 0 THEN
    INSERT INTO outbox_replays (from_id, to_id, next_id) VALUES (p_from, p_to, p_from);
  END IF;
  RETURN v_n;
END $$;
