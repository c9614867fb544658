-- resv: no-transaction
-- Upkeep deletes ended tokens by age across every concert (resv_prune):
-- queue_tokens_ended leads with the concert, so it needs one of its own. Built
-- CONCURRENTLY: queue_tokens takes an opening's every arrival, and a plain
-- CREATE INDEX would hold them all until it is done. Runs again cleanly
-- after a failure, which leaves an invalid index behind.
DROP INDEX CONCURRENTLY IF EXISTS queue_tokens_ended_at;
CREATE INDEX CONCURRENTLY queue_tokens_ended_at ON queue_tokens (ended_at) WHERE status = 'EXPIRED';
