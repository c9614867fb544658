-- resv: no-transaction
-- The relay finds a window's events by the transactions that wrote them
-- (0007). Built CONCURRENTLY: every hold and payment writes an outbox row.
-- Runs again cleanly after a failure.
DROP INDEX CONCURRENTLY IF EXISTS outbox_txid;
CREATE INDEX CONCURRENTLY outbox_txid ON outbox (txid);
