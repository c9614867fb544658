-- The invariants `resv audit` proves (core/ops/audit.h), one set-based
-- statement each, in this order; each answers one row: its name, the rows
-- it checked, how many break it, and the first 10 that do (JSON objects
-- naming them down to their ids). They only read: the audit never fixes.
-- resv audit runs them in one REPEATABLE READ READ ONLY transaction (one
-- snapshot for all) after setting its filters with set_config:
--   resv.audit_concert  a concert id: only its schedules' rows
--   resv.audit_since    a timestamptz: only rows changed since
-- Unset, they check the whole database; bench/audit.sh runs this same file
-- with psql as the ceiling.

-- 1. No seat sold twice: every live seat reservation (HELD or CONFIRMED)
-- holds exactly as many seats as it was sold. One that holds fewer lost a
-- seat to another reservation: its ReservationHeld event names the seats
-- it was given, and which reservation holds each now.
WITH f AS (SELECT nullif(current_setting('resv.audit_concert', true), '')::bigint AS concert,
                  nullif(current_setting('resv.audit_since', true), '')::timestamptz AS since),
live AS (
  SELECT r.id, r.status, r.quantity
    FROM reservations r JOIN schedules sc ON sc.id = r.schedule_id, f
   WHERE r.status IN ('HELD', 'CONFIRMED') AND r.pool_id IS NULL
     AND (f.concert IS NULL OR sc.concert_id = f.concert) AND (f.since IS NULL OR r.updated_at >= f.since)),
held AS (SELECT s.reservation_id AS id, count(*) AS n FROM seats s JOIN live l ON l.id = s.reservation_id GROUP BY 1),
bad AS (SELECT l.*, coalesce(h.n, 0) AS seats FROM live l LEFT JOIN held h ON h.id = l.id WHERE coalesce(h.n, 0) <> l.quantity)
SELECT 'seat_sold_twice' AS invariant, (SELECT count(*) FROM live) AS checked, (SELECT count(*) FROM bad) AS violations,
       (SELECT coalesce(jsonb_agg(e ORDER BY id), '[]') FROM (
          SELECT b.id, jsonb_build_object('reservationId', b.id, 'status', b.status, 'quantity', b.quantity,
                   'seatsHeld', b.seats,
                   'seatsNowHeldBy', (SELECT coalesce(jsonb_agg(jsonb_build_object('seatId', st.id,
                                              'reservationId', st.reservation_id) ORDER BY st.id), '[]')
                                       FROM outbox o
                                       CROSS JOIN json_array_elements_text(o.payload -> 'seatIds') sid
                                       JOIN seats st ON st.id = sid::bigint
                                      WHERE o.aggregate_type = 'reservation' AND o.aggregate_id = b.id
                                        AND o.event_type = 'ReservationHeld'
                                        AND st.reservation_id IS DISTINCT FROM b.id)) AS e
            FROM bad b ORDER BY b.id LIMIT 10) x) AS examples;

-- 2. No seat kept by a reservation that ended (CANCELLED or EXPIRED): its
-- release left it taken, and nobody can buy it.
WITH f AS (SELECT nullif(current_setting('resv.audit_concert', true), '')::bigint AS concert,
                  nullif(current_setting('resv.audit_since', true), '')::timestamptz AS since),
taken AS (
  SELECT s.id, s.reservation_id, r.status
    FROM seats s JOIN reservations r ON r.id = s.reservation_id JOIN schedules sc ON sc.id = s.schedule_id, f
   WHERE (f.concert IS NULL OR sc.concert_id = f.concert) AND (f.since IS NULL OR r.updated_at >= f.since)),
bad AS (SELECT * FROM taken WHERE status NOT IN ('HELD', 'CONFIRMED'))
SELECT 'seat_released' AS invariant, (SELECT count(*) FROM taken) AS checked, (SELECT count(*) FROM bad) AS violations,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('seatId', id, 'reservationId', reservation_id, 'status', status)
                                  ORDER BY id), '[]')
          FROM (SELECT * FROM bad ORDER BY id LIMIT 10) x) AS examples;

-- 3. No pool over its capacity: the units of its live reservations.
WITH f AS (SELECT nullif(current_setting('resv.audit_concert', true), '')::bigint AS concert),
pools_in AS (SELECT p.id, p.capacity FROM pools p JOIN schedules sc ON sc.id = p.schedule_id, f
              WHERE f.concert IS NULL OR sc.concert_id = f.concert),
claimed AS (SELECT r.pool_id AS id, sum(r.quantity) AS units FROM reservations r JOIN pools_in p ON p.id = r.pool_id
             WHERE r.status IN ('HELD', 'CONFIRMED') GROUP BY 1),
bad AS (SELECT p.id, p.capacity, c.units FROM pools_in p JOIN claimed c ON c.id = p.id WHERE c.units > p.capacity)
SELECT 'pool_over_capacity' AS invariant, (SELECT count(*) FROM pools_in) AS checked,
       (SELECT count(*) FROM bad) AS violations,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('poolId', id, 'capacity', capacity, 'unitsSold', units)
                                  ORDER BY id), '[]')
          FROM (SELECT * FROM bad ORDER BY id LIMIT 10) x) AS examples;

-- 4. Every pool's taken units are those of its live reservations: as many,
-- and none kept by a reservation that ended.
WITH f AS (SELECT nullif(current_setting('resv.audit_concert', true), '')::bigint AS concert),
pools_in AS (SELECT p.id FROM pools p JOIN schedules sc ON sc.id = p.schedule_id, f
              WHERE f.concert IS NULL OR sc.concert_id = f.concert),
claimed AS (SELECT r.pool_id AS id, sum(r.quantity) AS units FROM reservations r JOIN pools_in p ON p.id = r.pool_id
             WHERE r.status IN ('HELD', 'CONFIRMED') GROUP BY 1),
taken AS (SELECT u.pool_id AS id, count(*) AS units,
                 count(*) FILTER (WHERE r.status NOT IN ('HELD', 'CONFIRMED')) AS ended
            FROM pool_units u JOIN pools_in p ON p.id = u.pool_id JOIN reservations r ON r.id = u.reservation_id
           GROUP BY 1),
bad AS (SELECT p.id, coalesce(t.units, 0) AS taken, coalesce(c.units, 0) AS claimed, coalesce(t.ended, 0) AS ended
          FROM pools_in p LEFT JOIN taken t ON t.id = p.id LEFT JOIN claimed c ON c.id = p.id
         WHERE coalesce(t.units, 0) <> coalesce(c.units, 0) OR coalesce(t.ended, 0) > 0)
SELECT 'pool_units_match' AS invariant, (SELECT count(*) FROM pools_in) AS checked,
       (SELECT count(*) FROM bad) AS violations,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('poolId', id, 'unitsTaken', taken,
                                    'unitsOfLiveReservations', claimed, 'unitsOfEndedReservations', ended)
                                  ORDER BY id), '[]')
          FROM (SELECT * FROM bad ORDER BY id LIMIT 10) x) AS examples;

-- 5. Every CONFIRMED reservation has its payment: PAID, of its amount.
WITH f AS (SELECT nullif(current_setting('resv.audit_concert', true), '')::bigint AS concert,
                  nullif(current_setting('resv.audit_since', true), '')::timestamptz AS since),
confirmed AS (
  SELECT r.id, r.amount FROM reservations r JOIN schedules sc ON sc.id = r.schedule_id, f
   WHERE r.status = 'CONFIRMED' AND (f.concert IS NULL OR sc.concert_id = f.concert)
     AND (f.since IS NULL OR r.updated_at >= f.since)),
bad AS (SELECT c.id, c.amount, p.id AS payment_id, p.amount AS paid, p.status
          FROM confirmed c LEFT JOIN payments p ON p.reservation_id = c.id
         WHERE p.id IS NULL OR p.status <> 'PAID' OR p.amount <> c.amount)
SELECT 'confirmed_paid' AS invariant, (SELECT count(*) FROM confirmed) AS checked,
       (SELECT count(*) FROM bad) AS violations,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('reservationId', id, 'amount', amount, 'paymentId', payment_id,
                                    'paymentAmount', paid, 'paymentStatus', status) ORDER BY id), '[]')
          FROM (SELECT * FROM bad ORDER BY id LIMIT 10) x) AS examples;

-- 6. No payment without its reservation: a PAID payment's reservation is
-- CONFIRMED, a REFUNDED one's CANCELLED, and both belong to one user.
WITH f AS (SELECT nullif(current_setting('resv.audit_concert', true), '')::bigint AS concert,
                  nullif(current_setting('resv.audit_since', true), '')::timestamptz AS since),
paid AS (
  SELECT p.id, p.reservation_id, p.status, p.user_id, r.status AS reservation_status, r.user_id AS reservation_user
    FROM payments p JOIN reservations r ON r.id = p.reservation_id JOIN schedules sc ON sc.id = r.schedule_id, f
   WHERE (f.concert IS NULL OR sc.concert_id = f.concert) AND (f.since IS NULL OR p.created_at >= f.since
                                                               OR r.updated_at >= f.since)),
bad AS (SELECT * FROM paid
         WHERE NOT ((status = 'PAID' AND reservation_status = 'CONFIRMED')
                    OR (status = 'REFUNDED' AND reservation_status = 'CANCELLED'))
            OR user_id <> reservation_user)
SELECT 'payment_has_reservation' AS invariant, (SELECT count(*) FROM paid) AS checked,
       (SELECT count(*) FROM bad) AS violations,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('paymentId', id, 'reservationId', reservation_id,
                                    'paymentStatus', status, 'reservationStatus', reservation_status,
                                    'userId', user_id, 'reservationUserId', reservation_user) ORDER BY id), '[]')
          FROM (SELECT * FROM bad ORDER BY id LIMIT 10) x) AS examples;

-- 7. No double charge: every payment took its amount from the balance once
-- (one PAYMENT ledger line of -amount) and, refunded, gave it back once
-- (one REFUND line of +amount); no PAYMENT line without its payment.
WITH f AS (SELECT nullif(current_setting('resv.audit_concert', true), '')::bigint AS concert,
                  nullif(current_setting('resv.audit_since', true), '')::timestamptz AS since),
pays AS (
  SELECT p.id, p.reservation_id, p.amount, p.status FROM payments p
    JOIN reservations r ON r.id = p.reservation_id JOIN schedules sc ON sc.id = r.schedule_id, f
   WHERE (f.concert IS NULL OR sc.concert_id = f.concert) AND (f.since IS NULL OR p.created_at >= f.since
                                                               OR r.updated_at >= f.since)),
lines AS (
  SELECT l.payment_id AS id, count(*) FILTER (WHERE l.reason = 'PAYMENT') AS charges,
         coalesce(sum(l.delta) FILTER (WHERE l.reason = 'PAYMENT'), 0) AS charged,
         count(*) FILTER (WHERE l.reason = 'REFUND') AS refunds,
         coalesce(sum(l.delta) FILTER (WHERE l.reason = 'REFUND'), 0) AS refunded
    FROM balance_ledger l JOIN pays p ON p.id = l.payment_id GROUP BY 1),
bad AS (
  SELECT p.id, p.reservation_id, p.amount, p.status, coalesce(l.charges, 0) AS charges,
         coalesce(l.refunds, 0) AS refunds
    FROM pays p LEFT JOIN lines l ON l.id = p.id
   WHERE coalesce(l.charges, 0) <> 1 OR coalesce(l.charged, 0) <> -p.amount
      OR coalesce(l.refunds, 0) <> (p.status = 'REFUNDED')::int
      OR coalesce(l.refunded, 0) <> CASE WHEN p.status = 'REFUNDED' THEN p.amount ELSE 0 END
  UNION ALL
  SELECT NULL, l.reservation_id, -l.delta, NULL, 1, 0 FROM balance_ledger l, f
   WHERE l.reason = 'PAYMENT' AND l.payment_id IS NULL AND f.concert IS NULL
     AND (f.since IS NULL OR l.created_at >= f.since))
SELECT 'charged_once' AS invariant, (SELECT count(*) FROM pays) AS checked, (SELECT count(*) FROM bad) AS violations,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('paymentId', id, 'reservationId', reservation_id,
                                    'amount', amount, 'charges', charges, 'refunds', refunds)
                                  ORDER BY reservation_id, id), '[]')
          FROM (SELECT * FROM bad ORDER BY reservation_id, id LIMIT 10) x) AS examples;

-- 8. Every balance equals its ledger: each line starts from the balance
-- the line before it left (the first from the seeded balance), and the
-- user's balance is what the last one left. Users without a line keep
-- their seeded balance, which no table records: not checked. With a
-- concert, only its buyers.
WITH f AS (SELECT nullif(current_setting('resv.audit_concert', true), '')::bigint AS concert,
                  nullif(current_setting('resv.audit_since', true), '')::timestamptz AS since),
users_in AS (
  SELECT u.id, u.balance FROM users u, f
   WHERE EXISTS (SELECT 1 FROM balance_ledger l WHERE l.user_id = u.id AND (f.since IS NULL OR l.created_at >= f.since))
     AND (f.concert IS NULL OR EXISTS (SELECT 1 FROM reservations r JOIN schedules sc ON sc.id = r.schedule_id
                                        WHERE r.user_id = u.id AND sc.concert_id = f.concert))),
chain AS (
  SELECT l.user_id, l.id, l.balance_after, l.delta,
         lag(l.balance_after) OVER w AS before, row_number() OVER (PARTITION BY l.user_id ORDER BY l.id DESC) AS from_end
    FROM balance_ledger l JOIN users_in u ON u.id = l.user_id
  WINDOW w AS (PARTITION BY l.user_id ORDER BY l.id)),
broken AS (SELECT user_id, min(id) AS line FROM chain WHERE before IS NOT NULL AND balance_after <> before + delta
            GROUP BY 1),
bad AS (
  SELECT u.id, u.balance, c.balance_after AS ledger_balance, b.line
    FROM users_in u JOIN chain c ON c.user_id = u.id AND c.from_end = 1 LEFT JOIN broken b ON b.user_id = u.id
   WHERE u.balance <> c.balance_after OR b.line IS NOT NULL)
SELECT 'balance_matches_ledger' AS invariant, (SELECT count(*) FROM users_in) AS checked,
       (SELECT count(*) FROM bad) AS violations,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('userId', id, 'balance', balance, 'ledgerBalance', ledger_balance,
                                    'firstBrokenLine', line) ORDER BY id), '[]')
          FROM (SELECT * FROM bad ORDER BY id LIMIT 10) x) AS examples;

-- 9. No hold left past its expiry: the sweeper of any running server
-- releases them within its interval (1 s by default); 10 s past means no
-- sweeper runs.
WITH f AS (SELECT nullif(current_setting('resv.audit_concert', true), '')::bigint AS concert),
held AS (
  SELECT r.id, r.user_id, r.expires_at FROM reservations r JOIN schedules sc ON sc.id = r.schedule_id, f
   WHERE r.status = 'HELD' AND (f.concert IS NULL OR sc.concert_id = f.concert)),
bad AS (SELECT * FROM held WHERE expires_at < now() - interval '10 seconds')
SELECT 'holds_released' AS invariant, (SELECT count(*) FROM held) AS checked, (SELECT count(*) FROM bad) AS violations,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('reservationId', id, 'userId', user_id,
                                    'expiredSecondsAgo', round(extract(epoch FROM now() - expires_at)))
                                  ORDER BY expires_at), '[]')
          FROM (SELECT * FROM bad ORDER BY expires_at LIMIT 10) x) AS examples;

-- 10. Every state change has its outbox row: a reservation's
-- ReservationHeld, and the event of the state it is in (a cancelled one
-- that was paid: its ReservationConfirmed too). Published rows are pruned
-- after their retention: only reservations created since the oldest row
-- kept are checked.
WITH f AS (SELECT nullif(current_setting('resv.audit_concert', true), '')::bigint AS concert,
                  nullif(current_setting('resv.audit_since', true), '')::timestamptz AS since),
kept AS (SELECT min(created_at) AS since FROM outbox),
res AS (
  SELECT r.id, r.status, EXISTS (SELECT 1 FROM payments p WHERE p.reservation_id = r.id) AS paid
    FROM reservations r JOIN schedules sc ON sc.id = r.schedule_id, f, kept
   WHERE r.created_at >= kept.since AND (f.concert IS NULL OR sc.concert_id = f.concert)
     AND (f.since IS NULL OR r.updated_at >= f.since)),
events AS (
  SELECT o.aggregate_id AS id, array_agg(DISTINCT o.event_type) AS types
    FROM outbox o JOIN res ON res.id = o.aggregate_id
   WHERE o.aggregate_type = 'reservation' GROUP BY 1),
missing AS (
  SELECT res.id, res.status,
         array_remove(ARRAY[
           CASE WHEN NOT 'ReservationHeld' = ANY (coalesce(e.types, '{}')) THEN 'ReservationHeld' END,
           CASE WHEN (res.status = 'CONFIRMED' OR res.paid)
                     AND NOT 'ReservationConfirmed' = ANY (coalesce(e.types, '{}')) THEN 'ReservationConfirmed' END,
           CASE WHEN res.status = 'CANCELLED'
                     AND NOT 'ReservationCancelled' = ANY (coalesce(e.types, '{}')) THEN 'ReservationCancelled' END,
           CASE WHEN res.status = 'EXPIRED'
                     AND NOT 'ReservationExpired' = ANY (coalesce(e.types, '{}')) THEN 'ReservationExpired' END],
           NULL) AS events
    FROM res LEFT JOIN events e ON e.id = res.id),
bad AS (SELECT * FROM missing WHERE cardinality(events) > 0)
SELECT 'outbox_complete' AS invariant, (SELECT count(*) FROM res) AS checked, (SELECT count(*) FROM bad) AS violations,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('reservationId', id, 'status', status, 'missingEvents', events)
                                  ORDER BY id), '[]')
          FROM (SELECT * FROM bad ORDER BY id LIMIT 10) x) AS examples;

-- 11. Waiting-room positions: each token's position within those its
-- waiting room issued (1..last_position), no two tokens on one (a unique
-- key), no token of a user twice per concert (the primary key), and no
-- more tokens kept than positions issued.
WITH f AS (SELECT nullif(current_setting('resv.audit_concert', true), '')::bigint AS concert),
rooms AS (SELECT q.concert_id, q.last_position FROM queue_concerts q, f
           WHERE f.concert IS NULL OR q.concert_id = f.concert),
tokens AS (SELECT t.concert_id, count(*) AS n, count(*) FILTER (WHERE t.position > r.last_position OR t.position < 1)
                  AS outside, max(t.position) AS highest, r.last_position
             FROM queue_tokens t JOIN rooms r ON r.concert_id = t.concert_id
            WHERE t.position IS NOT NULL GROUP BY t.concert_id, r.last_position),
bad AS (SELECT * FROM tokens WHERE outside > 0 OR n > last_position)
SELECT 'queue_positions' AS invariant, (SELECT coalesce(sum(n), 0) FROM tokens)::bigint AS checked,
       (SELECT count(*) FROM bad) AS violations,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('concertId', concert_id, 'tokens', n, 'outsideIssued', outside,
                                    'highestPosition', highest, 'lastPositionIssued', last_position)
                                  ORDER BY concert_id), '[]')
          FROM (SELECT * FROM bad ORDER BY concert_id LIMIT 10) x) AS examples;
