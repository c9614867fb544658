-- Statistics for the tables an opening fills from nothing. By default
-- autovacuum analyzes a table after 50 rows plus a tenth of its size have
-- changed, checked once a minute; an opening adds thousands of rows a
-- second, so for that first minute every plan of a session that is not
-- under the functions' planner policy (sql/functions/30_booking.sql) comes
-- from statistics that say "empty". Analyze them after 1,000 rows plus 2 %:
-- the next autovacuum round sees them, and plans made after it (psql, an
-- operator's report) see the table as it is.
ALTER TABLE reservations SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE queue_tokens SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE outbox SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE idempotency_keys SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE payments SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE balance_ledger SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.02);
-- Seats and units are not added but change hands: the share that is free
-- (what seats_free and pool_units_free index) moves from all to none.
ALTER TABLE seats SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE pool_units SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.02);
