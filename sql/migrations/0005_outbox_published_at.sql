-- resv: no-transaction
-- The relay marks each event published (outbox.published_at) once the broker
-- acknowledged it. Upkeep deletes published events past their retention
-- oldest first (resv_prune), and resv events status counts those published
-- in the last minute: both read this index. Built CONCURRENTLY: every hold
-- and payment writes an outbox row. Runs again cleanly after a failure.
DROP INDEX CONCURRENTLY IF EXISTS outbox_published_at;
CREATE INDEX CONCURRENTLY outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;
