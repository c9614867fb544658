-- The relay no longer marks each event published (an UPDATE of every outbox
-- row, three index writes each, most of the relay's cost). Instead, as PgQ
-- does, it publishes by transaction snapshots and keeps one row of state:
--   done     every event whose transaction this snapshot sees as finished
--            is published;
--   cur      the window being published: the events finished in cur but not
--            in done, in id order, of which those with id <= last_id are
--            published.
-- Each outbox row carries the id of the transaction that wrote it (txid).
-- Why this keeps each key's events in order: a second event of a
-- reservation is written only after the first one's transaction committed
-- (the reservation's row lock), so it has the higher id and is in the same
-- window or a later one. See resv_outbox_next (sql/functions/70_events.sql).
ALTER TABLE outbox ADD COLUMN txid xid8;

CREATE TABLE outbox_relay (
  singleton           boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  done                pg_snapshot NOT NULL,
  cur                 pg_snapshot NOT NULL,
  last_id             bigint NOT NULL DEFAULT 0,
  published_total     bigint NOT NULL DEFAULT 0,
  -- Events published in the current minute and in the one before, for the
  -- publish rate (resv_outbox_status).
  minute_started_at   timestamptz NOT NULL DEFAULT now(),
  minute_events       bigint NOT NULL DEFAULT 0,
  prev_minute_events  bigint NOT NULL DEFAULT 0
);
INSERT INTO outbox_relay (done, cur) VALUES (pg_current_snapshot(), pg_current_snapshot());

-- Events not published yet wait for a transaction this snapshot does not see
-- as finished (its xmax), so that the relay's next window takes them. The
-- published ones keep a null txid: published, by definition.
UPDATE outbox SET txid = pg_snapshot_xmax((SELECT done FROM outbox_relay)) WHERE published_at IS NULL;
ALTER TABLE outbox ALTER COLUMN txid SET DEFAULT pg_current_xact_id();
-- Drops outbox_unpublished and outbox_published_at with it.
ALTER TABLE outbox DROP COLUMN published_at;

-- resv events replay: ranges of ids the relay sends again, oldest first.
CREATE TABLE outbox_replays (
  id            bigserial PRIMARY KEY,
  from_id       bigint NOT NULL,
  to_id         bigint NOT NULL,
  next_id       bigint NOT NULL,
  requested_at  timestamptz NOT NULL DEFAULT now()
);
