-- Write paths as server-side functions: each request is one round trip, so
-- row locks are held for microseconds, never across a network hop. Business
-- failures change nothing (checks run before writes), so no exception or
-- savepoint is needed on the hot path.
--
-- Planner policy. A session plans each query of a function once and keeps
-- the plan until the next ANALYZE; planned while a table was nearly empty
-- (a new database, the first seconds of an opening) such plans read the whole
-- table, which then grows by thousands of rows a second. Every query here has
-- an index to use, so the functions that clients call carry
-- `SET enable_seqscan = off` (the functions they call run under it, and so do
-- the foreign-key checks their writes fire): every session, be it a server's,
-- `resv`'s or psql's, plans them the same way, and a scan with no index to
-- use still runs. The tables' own analyze settings are in
-- sql/migrations/0002_table_settings.sql.

-- Releases a reservation's seats or pool units and sets its final status.
-- Tells every server through NOTIFY (delivered at commit) so that their
-- in-memory "taken"/"sold out" answers are dropped.
CREATE OR REPLACE FUNCTION resv_release(p_res bigint, p_status text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_r reservations%ROWTYPE;
  v_seats bigint[];
BEGIN
  SELECT * INTO v_r FROM reservations WHERE id = p_res;
  IF v_r.pool_id IS NULL THEN
    WITH released AS (
      UPDATE seats SET reservation_id = NULL
       WHERE id IN (SELECT id FROM seats WHERE reservation_id = p_res ORDER BY id FOR UPDATE)
      RETURNING id)
    SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO v_seats FROM released;
  ELSE
    UPDATE pool_units SET reservation_id = NULL WHERE reservation_id = p_res;
  END IF;
  UPDATE reservations SET status = p_status, updated_at = now() WHERE id = p_res;
  PERFORM pg_notify('resv_release', jsonb_build_object(
    'scheduleId', v_r.schedule_id, 'poolId', v_r.pool_id,
    'seatIds', CASE WHEN cardinality(v_seats) <= 200 THEN to_jsonb(v_seats) END)::text);
END $$;

CREATE OR REPLACE FUNCTION resv_hold_seats_do(p_user bigint, p_schedule bigint, p_seats bigint[])
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_sched schedules%ROWTYPE;
  v_have bigint;
  v_found int;
  v_amount bigint;
  v_taken bigint[];
  v_res bigint;
  v_exp timestamptz;
BEGIN
  SELECT * INTO v_sched FROM schedules WHERE id = p_schedule;
  IF NOT FOUND THEN
    RETURN resv_fail('NOT_FOUND', format('schedule %s does not exist', p_schedule));
  END IF;
  -- Per-user lock: serialises one user's requests only, never other buyers.
  PERFORM 1 FROM users WHERE id = p_user FOR UPDATE;
  IF NOT FOUND THEN
    RETURN resv_fail('NOT_FOUND', format('user %s does not exist', p_user));
  END IF;
  SELECT coalesce(sum(quantity), 0) INTO v_have FROM reservations
   WHERE user_id = p_user AND schedule_id = p_schedule AND pool_id IS NULL
     AND (status = 'CONFIRMED' OR (status = 'HELD' AND expires_at > now()));
  IF v_have + cardinality(p_seats) > v_sched.max_seats_per_user THEN
    RETURN resv_fail('LIMIT_EXCEEDED',
      format('user %s may hold at most %s seats of schedule %s and already has %s',
             p_user, v_sched.max_seats_per_user, p_schedule, v_have),
      jsonb_build_object('limit', v_sched.max_seats_per_user, 'held', v_have));
  END IF;
  -- Lock in id order (no deadlock between multi-seat requests); a seat held
  -- by an in-flight transaction is waited for only as long as that one call.
  SELECT count(*), coalesce(sum(price), 0),
         coalesce(array_agg(id ORDER BY id) FILTER (WHERE reservation_id IS NOT NULL), '{}')
    INTO v_found, v_amount, v_taken
    FROM (SELECT id, price, reservation_id FROM seats
           WHERE schedule_id = p_schedule AND id = ANY(p_seats)
           ORDER BY id FOR UPDATE) s;
  IF v_found < cardinality(p_seats) THEN
    RETURN resv_fail('NOT_FOUND',
      format('%s of the requested seats do not exist in schedule %s',
             cardinality(p_seats) - v_found, p_schedule));
  END IF;
  IF cardinality(v_taken) > 0 THEN
    RETURN resv_fail('SEAT_TAKEN',
      format('seat(s) %s are already held or sold', array_to_string(v_taken, ', ')),
      jsonb_build_object('seatIds', to_jsonb(v_taken)));
  END IF;
  v_exp := now() + make_interval(secs => v_sched.hold_seconds);
  INSERT INTO reservations (user_id, schedule_id, quantity, amount, expires_at)
  VALUES (p_user, p_schedule, cardinality(p_seats), v_amount, v_exp)
  RETURNING id INTO v_res;
  UPDATE seats SET reservation_id = v_res WHERE schedule_id = p_schedule AND id = ANY(p_seats);
  PERFORM resv_outbox('reservation', v_res, 'ReservationHeld', jsonb_build_object(
    'reservationId', v_res, 'userId', p_user, 'scheduleId', p_schedule,
    'seatIds', to_jsonb(p_seats), 'amount', v_amount, 'expiresAt', resv_ts(v_exp)));
  RETURN jsonb_build_object('ok', true, 'reservationId', v_res, 'status', 'HELD',
    'expiresAt', resv_ts(v_exp), 'amount', v_amount, 'scheduleId', p_schedule);
END $$;

CREATE OR REPLACE FUNCTION resv_hold_seats(p_user bigint, p_schedule bigint, p_seats bigint[],
                                p_key text DEFAULT NULL, p_hash text DEFAULT NULL,
                                p_token_concert bigint DEFAULT NULL)
RETURNS jsonb LANGUAGE sql SET enable_seqscan = off AS $$
  SELECT coalesce(resv_queue_gate(p_user, (SELECT concert_id FROM schedules WHERE id = p_schedule), p_token_concert),
                  resv_idem_begin(p_user, p_key, p_hash),
                  resv_idem_finish(p_user, p_key, p_hash, resv_hold_seats_do(p_user, p_schedule, p_seats)))
$$;

-- Locks up to p_qty free units of a pool, from p_start upwards and then
-- wrapping around, skipping units other transactions have locked.
-- Custom plans only: a cached generic plan cannot see that LIMIT is small and
-- may sort every free unit of a big pool instead of walking the index.
CREATE OR REPLACE FUNCTION resv_take_units(p_pool bigint, p_start int, p_qty int)
RETURNS int[] LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
DECLARE
  v_units int[];
BEGIN
  v_units := ARRAY(
    SELECT unit_no FROM pool_units
     WHERE pool_id = p_pool AND reservation_id IS NULL AND unit_no >= p_start
     ORDER BY unit_no LIMIT p_qty
     FOR UPDATE SKIP LOCKED);
  IF cardinality(v_units) < p_qty THEN
    v_units := v_units || ARRAY(
      SELECT unit_no FROM pool_units
       WHERE pool_id = p_pool AND reservation_id IS NULL AND unit_no < p_start
       ORDER BY unit_no LIMIT p_qty - cardinality(v_units)
       FOR UPDATE SKIP LOCKED);
  END IF;
  RETURN v_units;
END $$;

-- The last units of a pool: a buyer that found too few unlocked units queues
-- for the free units in unit order (FOR UPDATE without SKIP LOCKED) and is
-- woken the moment their buyers commit (the units are gone) or give up (the
-- units are its own), instead of polling, which at an opening (2,000 buyers,
-- 40 units) kept "sold out" 20-50 ms away and took CPU from the buyers about
-- to commit. Waiters lock in one order and the buyers they wait for hold all
-- the units they need and wait for nothing, so waits cannot form a cycle.
-- lock_timeout bounds the wait should a transaction keep units locked (a
-- stalled client, an operator's open transaction): the units still locked
-- after it count as sold.
CREATE OR REPLACE FUNCTION resv_wait_units(p_pool bigint, p_qty int)
RETURNS int[] LANGUAGE plpgsql SET lock_timeout = '500ms' SET plan_cache_mode = force_custom_plan AS $$
BEGIN
  RETURN ARRAY(
    SELECT unit_no FROM pool_units
     WHERE pool_id = p_pool AND reservation_id IS NULL
     ORDER BY unit_no LIMIT p_qty
     FOR UPDATE);
END $$;

-- p_may_wait false (a batch's later items): answers {"yield": true}, having
-- written nothing, where it would wait for a lock, and SOLD_OUT where even
-- the units locked by buyers in flight would not be enough.
CREATE OR REPLACE FUNCTION resv_hold_pool_do(p_user bigint, p_schedule bigint, p_pool bigint, p_qty int,
                                  p_may_wait boolean DEFAULT true)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_pool pools%ROWTYPE;
  v_hold_seconds int;
  v_have bigint;
  v_units int[];
  v_found int;
  v_res bigint;
  v_exp timestamptz;
BEGIN
  SELECT * INTO v_pool FROM pools WHERE id = p_pool AND schedule_id = p_schedule;
  IF NOT FOUND THEN
    RETURN resv_fail('NOT_FOUND', format('pool %s does not exist in schedule %s', p_pool, p_schedule));
  END IF;
  IF p_qty < v_pool.min_party OR p_qty > v_pool.max_party THEN
    RETURN resv_fail('INVALID_REQUEST',
      format('quantity must be between %s and %s for pool %s', v_pool.min_party, v_pool.max_party, p_pool));
  END IF;
  IF p_may_wait THEN
    PERFORM 1 FROM users WHERE id = p_user FOR UPDATE;
  ELSE
    PERFORM 1 FROM users WHERE id = p_user FOR UPDATE SKIP LOCKED;
    IF NOT FOUND AND EXISTS (SELECT 1 FROM users WHERE id = p_user) THEN
      RETURN '{"yield": true}';
    END IF;
  END IF;
  IF NOT FOUND THEN
    RETURN resv_fail('NOT_FOUND', format('user %s does not exist', p_user));
  END IF;
  SELECT coalesce(sum(quantity), 0) INTO v_have FROM reservations
   WHERE user_id = p_user AND schedule_id = p_schedule AND pool_id = p_pool
     AND (status = 'CONFIRMED' OR (status = 'HELD' AND expires_at > now()));
  IF v_have + p_qty > v_pool.max_per_user THEN
    RETURN resv_fail('LIMIT_EXCEEDED',
      format('user %s may hold at most %s of pool %s and already has %s',
             p_user, v_pool.max_per_user, p_pool, v_have),
      jsonb_build_object('limit', v_pool.max_per_user, 'held', v_have));
  END IF;
  -- Units are taken all or none: a buyer that finds too few unlocked rolls
  -- its sub-block back, which releases the units it did lock at once, so it
  -- never holds units while it waits. (One unit cannot be split: that common
  -- case skips the sub-block and its cost.)
  IF p_qty = 1 THEN
    v_units := resv_take_units(p_pool, 1 + floor(random() * v_pool.capacity)::int, 1);
  ELSE
    BEGIN
      v_units := resv_take_units(p_pool, 1 + floor(random() * v_pool.capacity)::int, p_qty);
      IF cardinality(v_units) < p_qty THEN
        RAISE EXCEPTION USING ERRCODE = 'RV001';
      END IF;
    EXCEPTION WHEN SQLSTATE 'RV001' THEN
      NULL;  -- v_units keeps what was found; the locks are released
    END;
  END IF;
  IF cardinality(v_units) < p_qty AND NOT p_may_wait THEN
    -- Enough units left but locked by buyers in flight: waiting is for the
    -- next statement. Too few even counting those: sold out, exactly as the
    -- wait would have found (at most these can come free).
    SELECT count(*) INTO v_found FROM pool_units WHERE pool_id = p_pool AND reservation_id IS NULL;
    IF v_found >= p_qty THEN
      RETURN '{"yield": true}';
    END IF;
    RETURN resv_fail('SOLD_OUT',
      format('pool %s has %s left, fewer than the %s requested', p_pool, v_found, p_qty),
      jsonb_build_object('remaining', v_found));
  END IF;
  IF cardinality(v_units) < p_qty THEN
    v_found := cardinality(v_units);
    BEGIN
      v_units := resv_wait_units(p_pool, p_qty);
    EXCEPTION WHEN lock_not_available THEN
      v_units := '{}';  -- still locked after the timeout: those units count as sold
    END;
    IF cardinality(v_units) < p_qty THEN
      v_found := greatest(v_found, cardinality(v_units));
      RETURN resv_fail('SOLD_OUT',
        format('pool %s has %s left, fewer than the %s requested', p_pool, v_found, p_qty),
        jsonb_build_object('remaining', v_found));
    END IF;
  END IF;
  SELECT hold_seconds INTO v_hold_seconds FROM schedules WHERE id = p_schedule;
  v_exp := now() + make_interval(secs => v_hold_seconds);
  INSERT INTO reservations (user_id, schedule_id, pool_id, quantity, amount, expires_at)
  VALUES (p_user, p_schedule, p_pool, p_qty, v_pool.price * p_qty, v_exp)
  RETURNING id INTO v_res;
  UPDATE pool_units SET reservation_id = v_res WHERE pool_id = p_pool AND unit_no = ANY(v_units);
  PERFORM resv_outbox('reservation', v_res, 'ReservationHeld', jsonb_build_object(
    'reservationId', v_res, 'userId', p_user, 'scheduleId', p_schedule, 'poolId', p_pool,
    'quantity', p_qty, 'amount', v_pool.price * p_qty, 'expiresAt', resv_ts(v_exp)));
  RETURN jsonb_build_object('ok', true, 'reservationId', v_res, 'status', 'HELD',
    'expiresAt', resv_ts(v_exp), 'amount', v_pool.price * p_qty, 'scheduleId', p_schedule,
    'poolId', p_pool);
END $$;

CREATE OR REPLACE FUNCTION resv_hold_pool(p_user bigint, p_schedule bigint, p_pool bigint, p_qty int,
                               p_key text DEFAULT NULL, p_hash text DEFAULT NULL,
                               p_token_concert bigint DEFAULT NULL)
RETURNS jsonb LANGUAGE sql SET enable_seqscan = off AS $$
  SELECT coalesce(resv_queue_gate(p_user, (SELECT concert_id FROM schedules WHERE id = p_schedule), p_token_concert),
                  resv_idem_begin(p_user, p_key, p_hash),
                  resv_idem_finish(p_user, p_key, p_hash, resv_hold_pool_do(p_user, p_schedule, p_pool, p_qty)))
$$;

-- Holds of one pool for several buyers in one round trip: at an opening a
-- server sends the holds that queued for a pool while its previous
-- statement ran as one call, in arrival order, so selling out takes as many
-- round trips as the line moves, not one per buyer. Each item is held as
-- resv_hold_pool holds it (waiting room gate, idempotency key, per-user
-- limit, units, outbox), all in one transaction, and answered in item order
-- in a jsonb array. The differences:
-- - Once an item was answered SOLD_OUT with `remaining` units, a later item
--   without an idempotency key that asks for more is answered the same
--   without running, as the server's in-memory filter would. (A keyed
--   request must reach its own stored answer, so it always runs.)
-- - A key seen earlier in the same batch (for the same user) is answered
--   DUPLICATE_REQUEST without running, as when the two requests run on two
--   connections (in one transaction the key's advisory lock is already ours).
-- - Only the first item that reaches the units may wait for a lock, as a
--   single hold does: it holds nothing while it waits. A later one would
--   wait while holding what the items before it took, and two batches could
--   each wait for the other. So when a later item finds its user's row or
--   the units it needs locked (resv_hold_pool_do answers {"yield":true}), the
--   batch stops there: it answers the items before it, and the server sends
--   the rest again once this transaction has committed.
-- A statement that fails as a whole (deadlock, timeout) has changed nothing;
-- the server then sends its items one by one.
CREATE OR REPLACE FUNCTION resv_hold_pool_batch(p_schedule bigint, p_pool bigint, p_items jsonb)
RETURNS jsonb LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  v_concert bigint := (SELECT concert_id FROM schedules WHERE id = p_schedule);
  v_item jsonb;
  v_user bigint;
  v_qty int;
  v_key text;
  v_keys text[] := '{}';      -- user/key of the keyed items before this one
  v_answer jsonb;
  v_answers jsonb[] := '{}';
  v_locked boolean := false;  -- an item before this one reached the units
  v_remaining int;            -- units left, as the last SOLD_OUT of this batch said
BEGIN
  FOR v_item IN SELECT value FROM jsonb_array_elements(p_items) LOOP
    v_user := (v_item->>'userId')::bigint;
    v_qty := (v_item->>'quantity')::int;
    v_key := v_item->>'key';
    IF v_key IS NOT NULL AND v_user || '/' || v_key = ANY (v_keys) THEN
      v_answer := resv_fail('DUPLICATE_REQUEST',
        'a request with this Idempotency-Key is still in progress; retry after it completes');
    ELSIF v_remaining IS NOT NULL AND v_key IS NULL AND v_qty > v_remaining THEN
      v_answer := resv_fail('SOLD_OUT',
        format('pool %s has %s left, fewer than the %s requested', p_pool, v_remaining, v_qty),
        jsonb_build_object('remaining', v_remaining));
    ELSE
      IF v_key IS NOT NULL THEN
        v_keys := v_keys || (v_user || '/' || v_key);
      END IF;
      -- resv_hold_pool, step by step, so that a yield is not stored as the
      -- key's answer
      v_answer := coalesce(resv_queue_gate(v_user, v_concert, (v_item->>'tokenConcert')::bigint),
                           resv_idem_begin(v_user, v_key, v_item->>'hash'));
      IF v_answer IS NULL THEN
        v_answer := resv_hold_pool_do(v_user, p_schedule, p_pool, v_qty, NOT v_locked);
        EXIT WHEN v_answer ? 'yield';
        v_locked := true;
        PERFORM resv_idem_finish(v_user, v_key, v_item->>'hash', v_answer);
      END IF;
      IF v_answer->>'code' = 'SOLD_OUT' THEN
        v_remaining := (v_answer->>'remaining')::int;
      END IF;
    END IF;
    v_answers := v_answers || v_answer;
  END LOOP;
  RETURN to_jsonb(v_answers);
END $$;

CREATE OR REPLACE FUNCTION resv_pay_do(p_res bigint, p_user bigint)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_r reservations%ROWTYPE;
  v_balance bigint;
  v_payment bigint;
BEGIN
  SELECT * INTO v_r FROM reservations WHERE id = p_res FOR UPDATE;
  IF NOT FOUND OR v_r.user_id <> p_user THEN
    RETURN resv_fail('NOT_FOUND', format('reservation %s of user %s does not exist', p_res, p_user));
  END IF;
  IF v_r.status = 'CONFIRMED' THEN
    -- Paying twice is answered with the first payment: never a second charge.
    SELECT p.id INTO v_payment FROM payments p WHERE p.reservation_id = p_res;
    SELECT balance INTO v_balance FROM users WHERE id = p_user;
    RETURN jsonb_build_object('ok', true, 'status', 'CONFIRMED', 'reservationId', p_res,
      'paymentId', v_payment, 'amount', v_r.amount, 'balance', v_balance, 'replayed', true);
  ELSIF v_r.status = 'CANCELLED' THEN
    RETURN resv_fail('RESERVATION_CANCELLED', format('reservation %s was cancelled; reserve again', p_res));
  ELSIF v_r.status = 'EXPIRED' THEN
    RETURN resv_fail('HOLD_EXPIRED', format('the hold on reservation %s expired; reserve again', p_res));
  ELSIF v_r.expires_at <= now() THEN
    -- Expired but not yet swept: expire it here so the seats are free at once.
    PERFORM resv_release(p_res, 'EXPIRED');
    PERFORM resv_outbox('reservation', p_res, 'ReservationExpired',
      jsonb_build_object('reservationId', p_res, 'userId', p_user));
    RETURN resv_fail('HOLD_EXPIRED', format('the hold on reservation %s expired; reserve again', p_res));
  END IF;
  UPDATE users SET balance = balance - v_r.amount
   WHERE id = p_user AND balance >= v_r.amount
  RETURNING balance INTO v_balance;
  IF NOT FOUND THEN
    SELECT balance INTO v_balance FROM users WHERE id = p_user;
    RETURN resv_fail('INSUFFICIENT_BALANCE',
      format('balance %s is less than the amount %s; top up and retry', v_balance, v_r.amount),
      jsonb_build_object('balance', v_balance, 'amount', v_r.amount));
  END IF;
  INSERT INTO payments (reservation_id, user_id, amount) VALUES (p_res, p_user, v_r.amount)
  RETURNING id INTO v_payment;
  INSERT INTO balance_ledger (user_id, delta, balance_after, reason, reservation_id, payment_id)
  VALUES (p_user, -v_r.amount, v_balance, 'PAYMENT', p_res, v_payment);
  UPDATE reservations SET status = 'CONFIRMED', updated_at = now() WHERE id = p_res;
  PERFORM resv_outbox('reservation', p_res, 'ReservationConfirmed', jsonb_build_object(
    'reservationId', p_res, 'userId', p_user, 'paymentId', v_payment, 'amount', v_r.amount));
  RETURN jsonb_build_object('ok', true, 'status', 'CONFIRMED', 'reservationId', p_res,
    'paymentId', v_payment, 'amount', v_r.amount, 'balance', v_balance);
END $$;

CREATE OR REPLACE FUNCTION resv_pay(p_res bigint, p_user bigint, p_key text DEFAULT NULL, p_hash text DEFAULT NULL,
                         p_token_concert bigint DEFAULT NULL)
RETURNS jsonb LANGUAGE sql SET enable_seqscan = off AS $$
  SELECT coalesce(resv_queue_gate(p_user, (SELECT s.concert_id FROM reservations r JOIN schedules s
                                             ON s.id = r.schedule_id WHERE r.id = p_res AND r.user_id = p_user),
                                  p_token_concert),
                  resv_idem_begin(p_user, p_key, p_hash),
                  resv_idem_finish(p_user, p_key, p_hash, resv_pay_do(p_res, p_user)))
$$;

-- Cancels a hold, or a confirmed reservation with a refund. Cancelling twice
-- answers the same; an expired hold has nothing left to cancel.
CREATE OR REPLACE FUNCTION resv_cancel(p_res bigint, p_user bigint)
RETURNS jsonb LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  v_r reservations%ROWTYPE;
  v_balance bigint;
  v_refund bigint := 0;
BEGIN
  SELECT * INTO v_r FROM reservations WHERE id = p_res FOR UPDATE;
  IF NOT FOUND OR v_r.user_id <> p_user THEN
    RETURN resv_fail('NOT_FOUND', format('reservation %s of user %s does not exist', p_res, p_user));
  END IF;
  IF v_r.status IN ('CANCELLED', 'EXPIRED') THEN
    -- Asked again: the same answer, the refund included, and nothing done.
    RETURN jsonb_build_object('ok', true, 'status', v_r.status, 'reservationId', p_res, 'refunded',
      coalesce((SELECT amount FROM payments WHERE reservation_id = p_res AND status = 'REFUNDED'), 0));
  END IF;
  IF v_r.status = 'HELD' AND v_r.expires_at <= now() THEN
    -- Expired but not yet swept: it expires here, as payment would do.
    PERFORM resv_release(p_res, 'EXPIRED');
    PERFORM resv_outbox('reservation', p_res, 'ReservationExpired',
      jsonb_build_object('reservationId', p_res, 'userId', p_user));
    RETURN jsonb_build_object('ok', true, 'status', 'EXPIRED', 'reservationId', p_res, 'refunded', 0);
  END IF;
  IF v_r.status = 'CONFIRMED' THEN
    UPDATE users SET balance = balance + v_r.amount
     WHERE id = p_user AND balance <= resv_max_balance() - v_r.amount RETURNING balance INTO v_balance;
    IF NOT FOUND THEN  -- the reservation stays confirmed and paid
      RETURN resv_credit_refused(p_user, v_r.amount, 'the refund');
    END IF;
    UPDATE payments SET status = 'REFUNDED' WHERE reservation_id = p_res;
    INSERT INTO balance_ledger (user_id, delta, balance_after, reason, reservation_id, payment_id)
    SELECT p_user, v_r.amount, v_balance, 'REFUND', p_res, id FROM payments WHERE reservation_id = p_res;
    v_refund := v_r.amount;
  END IF;
  PERFORM resv_release(p_res, 'CANCELLED');
  PERFORM resv_outbox('reservation', p_res, 'ReservationCancelled', jsonb_build_object(
    'reservationId', p_res, 'userId', p_user, 'refunded', v_refund));
  RETURN jsonb_build_object('ok', true, 'status', 'CANCELLED', 'reservationId', p_res, 'refunded', v_refund);
END $$;

-- Sweeper: releases up to p_batch expired holds. SKIP LOCKED: a hold being
-- paid right now is left to the payment, and buyers are never blocked.
CREATE OR REPLACE FUNCTION resv_expire_holds(p_batch int)
RETURNS int LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  v_id bigint;
  v_user bigint;
  n int := 0;
BEGIN
  FOR v_id, v_user IN
    SELECT id, user_id FROM reservations
     WHERE status = 'HELD' AND expires_at <= now()
     ORDER BY expires_at LIMIT p_batch
     FOR UPDATE SKIP LOCKED
  LOOP
    PERFORM resv_release(v_id, 'EXPIRED');
    PERFORM resv_outbox('reservation', v_id, 'ReservationExpired',
      jsonb_build_object('reservationId', v_id, 'userId', v_user));
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;

CREATE OR REPLACE FUNCTION resv_balance(p_user bigint)
RETURNS jsonb LANGUAGE sql STABLE SET enable_seqscan = off AS $$
  SELECT coalesce(
    (SELECT jsonb_build_object('ok', true, 'userId', id, 'balance', balance) FROM users WHERE id = p_user),
    resv_fail('NOT_FOUND', format('user %s does not exist', p_user)))
$$;

-- The largest balance a user may have (minor units): a business limit,
-- LIMIT_EXCEEDED, far below where bigint arithmetic would overflow.
CREATE OR REPLACE FUNCTION resv_max_balance() RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT 1000000000000000::bigint
$$;

-- LIMIT_EXCEEDED for a credit of p_amount that would take user p_user's
-- balance past resv_max_balance(); NOT_FOUND for no such user.
CREATE OR REPLACE FUNCTION resv_credit_refused(p_user bigint, p_amount bigint, p_what text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    (SELECT resv_fail('LIMIT_EXCEEDED', format('%s of %s would take the balance of user %s from %s past the '
                        || 'maximum of %s; nothing was changed', p_what, p_amount, p_user, balance, resv_max_balance()),
                      jsonb_build_object('balance', balance, 'maxBalance', resv_max_balance()))
       FROM users WHERE id = p_user),
    resv_fail('NOT_FOUND', format('user %s does not exist', p_user)))
$$;

CREATE OR REPLACE FUNCTION resv_top_up_do(p_user bigint, p_amount bigint)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_balance bigint;
BEGIN
  IF p_amount NOT BETWEEN 1 AND resv_max_balance() THEN
    RETURN resv_fail('INVALID_REQUEST', format('amount %s is not between 1 and %s', p_amount, resv_max_balance()));
  END IF;
  UPDATE users SET balance = balance + p_amount
   WHERE id = p_user AND balance <= resv_max_balance() - p_amount RETURNING balance INTO v_balance;
  IF NOT FOUND THEN
    RETURN resv_credit_refused(p_user, p_amount, 'a top-up');
  END IF;
  INSERT INTO balance_ledger (user_id, delta, balance_after, reason)
  VALUES (p_user, p_amount, v_balance, 'TOP_UP');
  PERFORM resv_outbox('user', p_user, 'BalanceToppedUp', jsonb_build_object(
    'userId', p_user, 'amount', p_amount, 'balance', v_balance));
  RETURN jsonb_build_object('ok', true, 'userId', p_user, 'balance', v_balance);
END $$;

CREATE OR REPLACE FUNCTION resv_top_up(p_user bigint, p_amount bigint, p_key text DEFAULT NULL, p_hash text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql SET enable_seqscan = off AS $$
  SELECT coalesce(resv_idem_begin(p_user, p_key, p_hash),
                  resv_idem_finish(p_user, p_key, p_hash, resv_top_up_do(p_user, p_amount)))
$$;
