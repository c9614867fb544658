-- Benchmark data (psql -v ON_ERROR_STOP=1 -f bench/seed.sql).
--   schedule 1: 1,000 seats            (a) browse
--   schedule 2: 100,000 seats          (c) holds through resv-server
--   schedule 3: 100,000 seats          (c) the same SQL through pgbench
--   schedule 4: pools 1, 3, 4, 5, 6 of 40, party <= 4   (b) the contended opening, 5 rounds
--   schedule 5: pool 100,000, 1/user   (d) holds from one big pool
--   schedule 6: 100,000 seats          (c) pgbench with as many clients as resv-server has sessions
--   200,000 users with balance
INSERT INTO concerts (id, name, venue) VALUES (1, 'Bench Concert', 'Bench Hall');
INSERT INTO schedules (id, concert_id, starts_at, max_seats_per_user)
SELECT g, 1, now() + make_interval(days => g), 1000000 FROM generate_series(1, 6) g;
SELECT setval('schedules_id_seq', 6);
INSERT INTO seats (schedule_id, label, grade, price)
SELECT 1, 'R' || (g / 50) || '-' || (g % 50), CASE WHEN g <= 100 THEN 'VIP' WHEN g <= 400 THEN 'R' ELSE 'S' END,
       CASE WHEN g <= 100 THEN 150000 WHEN g <= 400 THEN 120000 ELSE 90000 END
FROM generate_series(1, 1000) g;
INSERT INTO seats (schedule_id, label, grade, price)
SELECT s, 'S' || g, 'S', 50000 FROM unnest(ARRAY[2, 3, 6]) s, generate_series(1, 100000) g;
INSERT INTO pools (schedule_id, name, kind, capacity, price, max_party, max_per_user)
VALUES (4, 'Dinner 19:00', 'RESTAURANT_SLOT', 40, 30000, 4, 4),
       (5, 'Coupon', 'COUPON', 100000, 0, 1, 1),
       (4, 'Dinner 19:30', 'RESTAURANT_SLOT', 40, 30000, 4, 4),
       (4, 'Dinner 20:00', 'RESTAURANT_SLOT', 40, 30000, 4, 4),
       (4, 'Dinner 20:30', 'RESTAURANT_SLOT', 40, 30000, 4, 4),
       (4, 'Dinner 21:00', 'RESTAURANT_SLOT', 40, 30000, 4, 4);
INSERT INTO users (name, balance) SELECT 'bench' || g, 10000000 FROM generate_series(1, 200000) g;
ANALYZE;
