-- Waiting-room benchmark data (psql -v ON_ERROR_STOP=1 -f bench/queue_seed.sql).
--   concerts 1-3: a queue each, for the three issue rounds (max 100 active)
--   200,000 users with balance
INSERT INTO concerts (id, name, venue) SELECT g, 'Queue Bench ' || g, 'Bench Hall' FROM generate_series(1, 3) g;
SELECT setval('concerts_id_seq', 3);
INSERT INTO schedules (id, concert_id, starts_at) SELECT g, g, now() + interval '30 days' FROM generate_series(1, 3) g;
SELECT setval('schedules_id_seq', 3);
INSERT INTO users (name, balance) SELECT 'bench' || g, 10000000 FROM generate_series(1, 200000) g;
SELECT resv_queue_configure(g, '{"enabled":true,"maxActive":100}', 'bench', 'enable') FROM generate_series(1, 3) g;
ANALYZE;
