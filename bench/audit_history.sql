-- A sales history for bench/audit.sh on a seeded database (resv seed
-- festival: 150,000 seats, 50,000 users), written as resv's functions
-- write it, in bulk: :n reservations in all (psql -v n=...), of which one
-- per seat is CONFIRMED and paid, and the rest ended: half EXPIRED, half
-- paid then CANCELLED (refunded). Each has its outbox events, each payment
-- its ledger lines, each balance the sum of its ledger (seeded balance +
-- lines), so that `resv audit` finds nothing to report and reads it all.
BEGIN;
CREATE TEMP TABLE plan ON COMMIT DROP AS
SELECT g AS id,
       1 + (g::bigint * 7919) % (SELECT count(*) FROM users) AS user_no,
       CASE WHEN g <= (SELECT count(*) FROM seats) THEN 'CONFIRMED'
            WHEN g % 2 = 0 THEN 'EXPIRED' ELSE 'CANCELLED' END AS status
  FROM generate_series(1, :n) g;
CREATE TEMP TABLE seat_no ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY id) AS n, id, schedule_id, price FROM seats;
CREATE TEMP TABLE user_no ON COMMIT DROP AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM users;

-- Seat reservations for the confirmed, their seat; the ended ones on a seat
-- of the same plan too (released since).
INSERT INTO reservations (id, user_id, schedule_id, quantity, amount, status, expires_at, created_at, updated_at)
SELECT p.id, u.id, s.schedule_id, 1, s.price, p.status, now() + interval '10 minutes',
       now() - interval '1 hour', now() - interval '30 minutes'
  FROM plan p JOIN user_no u ON u.n = p.user_no
  JOIN seat_no s ON s.n = 1 + (p.id - 1) % (SELECT count(*) FROM seat_no);
UPDATE seats st SET reservation_id = r.id FROM reservations r, seat_no s
 WHERE r.status = 'CONFIRMED' AND s.n = r.id AND st.id = s.id;
SELECT setval('reservations_id_seq', :n);

INSERT INTO payments (id, reservation_id, user_id, amount, status, created_at)
SELECT r.id, r.id, r.user_id, r.amount, CASE r.status WHEN 'CONFIRMED' THEN 'PAID' ELSE 'REFUNDED' END, r.created_at
  FROM reservations r WHERE r.status IN ('CONFIRMED', 'CANCELLED');
SELECT setval('payments_id_seq', (SELECT max(id) FROM payments));

-- Ledger lines: a PAYMENT per payment, a REFUND per refund, in id order per
-- user, each balance_after = seeded balance + the user's lines so far.
CREATE TEMP TABLE lines ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY p.id, kind) AS id, p.user_id, kind AS reason,
       CASE kind WHEN 'PAYMENT' THEN -p.amount ELSE p.amount END AS delta, p.reservation_id, p.id AS payment_id
  FROM payments p CROSS JOIN LATERAL (VALUES ('PAYMENT'), ('REFUND')) k(kind)
 WHERE kind = 'PAYMENT' OR p.status = 'REFUNDED';
-- Seeded balances may not cover every charge: top them up first (the
-- seeded balance is what the ledger starts from).
UPDATE users u SET balance = u.balance + c.need FROM (
  SELECT user_id, -min(running) AS need FROM (
    SELECT l.user_id, sum(l.delta) OVER (PARTITION BY l.user_id ORDER BY l.id) + u.balance AS running
      FROM lines l JOIN users u ON u.id = l.user_id) x GROUP BY user_id HAVING min(running) < 0) c
 WHERE u.id = c.user_id;
INSERT INTO balance_ledger (id, user_id, delta, balance_after, reason, reservation_id, payment_id, created_at)
SELECT l.id, l.user_id, l.delta, u.balance + sum(l.delta) OVER (PARTITION BY l.user_id ORDER BY l.id), l.reason,
       l.reservation_id, l.payment_id, now() - interval '30 minutes'
  FROM lines l JOIN users u ON u.id = l.user_id;
SELECT setval('balance_ledger_id_seq', (SELECT max(id) FROM balance_ledger));
UPDATE users u SET balance = u.balance + t.total FROM (SELECT user_id, sum(delta) AS total FROM lines GROUP BY 1) t
 WHERE u.id = t.user_id;

-- The outbox: held, then confirmed, cancelled or expired.
INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, created_at)
SELECT 'reservation', r.id, e.type, jsonb_build_object('reservationId', r.id, 'userId', r.user_id), r.created_at
  FROM reservations r CROSS JOIN LATERAL (VALUES ('ReservationHeld', true),
    ('ReservationConfirmed', r.status IN ('CONFIRMED', 'CANCELLED')),
    ('ReservationCancelled', r.status = 'CANCELLED'), ('ReservationExpired', r.status = 'EXPIRED')) e(type, wanted)
 WHERE e.wanted;
COMMIT;
ANALYZE;
