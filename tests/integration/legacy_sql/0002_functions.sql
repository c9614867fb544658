-- Write paths as server-side functions: each request is one round trip, so
-- row locks are held for microseconds, never across a network hop. Every
-- function returns jsonb: {"ok":true,...} or {"ok":false,"code":...,"message":...}.
-- Business failures change nothing (checks run before writes), so no
-- exception or savepoint is needed on the hot path.

CREATE FUNCTION resv_ts(t timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE FUNCTION resv_fail(p_code text, p_message text, p_extra jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('ok', false, 'code', p_code, 'message', p_message) || p_extra
$$;

-- Idempotency: NULL means "go ahead" (also when there is no key); otherwise
-- the answer to return. The advisory lock makes a second request with the
-- same key, while the first is still in flight, fail fast instead of waiting
-- or running twice. Each keyed write is
--   coalesce(resv_idem_begin(...), resv_idem_finish(..., resv_X_do(...)))
-- (coalesce evaluates left to right and stops at the first non-null).
CREATE FUNCTION resv_idem_begin(p_user bigint, p_key text, p_hash text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_hash text;
  v_resp jsonb;
BEGIN
  IF p_key IS NULL THEN
    RETURN NULL;
  END IF;
  IF NOT pg_try_advisory_xact_lock(hashtextextended(p_user::text || '/' || p_key, 7)) THEN
    RETURN resv_fail('DUPLICATE_REQUEST',
      'a request with this Idempotency-Key is still in progress; retry after it completes');
  END IF;
  SELECT request_hash, response INTO v_hash, v_resp
    FROM idempotency_keys WHERE user_id = p_user AND key = p_key;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF v_hash <> p_hash THEN
    RETURN resv_fail('IDEMPOTENCY_KEY_REUSED',
      'this Idempotency-Key was already used for a different request; use a new key');
  END IF;
  RETURN v_resp || '{"replayed": true}';
END $$;

-- Stores the answer under the key, in the same transaction as the work.
CREATE FUNCTION resv_idem_finish(p_user bigint, p_key text, p_hash text, p_resp jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  IF p_key IS NOT NULL THEN
    INSERT INTO idempotency_keys (user_id, key, request_hash, response)
    VALUES (p_user, p_key, p_hash, p_resp);
  END IF;
  RETURN p_resp;
END $$;

CREATE FUNCTION resv_outbox(p_type text, p_id bigint, p_event text, p_payload jsonb)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload)
  VALUES (p_type, p_id, p_event, p_payload)
$$;

-- Releases a reservation's seats or pool units and sets its final status.
-- Tells every server through NOTIFY (delivered at commit) so that their
-- in-memory "taken"/"sold out" answers are dropped.
CREATE FUNCTION resv_release(p_res bigint, p_status text)
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

CREATE FUNCTION resv_hold_seats_do(p_user bigint, p_schedule bigint, p_seats bigint[])
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

CREATE FUNCTION resv_hold_seats(p_user bigint, p_schedule bigint, p_seats bigint[],
                                p_key text DEFAULT NULL, p_hash text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql AS $$
  SELECT coalesce(resv_idem_begin(p_user, p_key, p_hash),
                  resv_idem_finish(p_user, p_key, p_hash, resv_hold_seats_do(p_user, p_schedule, p_seats)))
$$;

-- Locks up to p_qty free units of a pool, from p_start upwards and then
-- wrapping around, skipping units other transactions have locked.
-- Custom plans only: a cached generic plan cannot see that LIMIT is small and
-- may sort every free unit of a big pool instead of walking the index.
CREATE FUNCTION resv_take_units(p_pool bigint, p_start int, p_qty int)
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

CREATE FUNCTION resv_hold_pool_do(p_user bigint, p_schedule bigint, p_pool bigint, p_qty int)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_pool pools%ROWTYPE;
  v_hold_seconds int;
  v_have bigint;
  v_units int[];
  v_start int;
  v_found int;
  v_free bigint;
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
  PERFORM 1 FROM users WHERE id = p_user FOR UPDATE;
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
  -- Each buyer starts at a random unit and skips rows other buyers have
  -- locked, so concurrent buyers never wait for each other. Units are taken
  -- all or none: a buyer that finds too few rolls its sub-block back, which
  -- releases the units it did lock at once, so two buyers splitting the last
  -- units between them cannot both give up and leave them unsold. (One unit
  -- cannot be split: that common case skips the sub-block and its cost.)
  v_start := 1 + floor(random() * v_pool.capacity)::int;
  FOR attempt IN 1..10 LOOP
    IF p_qty = 1 THEN
      v_units := resv_take_units(p_pool, v_start, 1);
    ELSE
      BEGIN
        v_units := resv_take_units(p_pool, v_start, p_qty);
        IF cardinality(v_units) < p_qty THEN
          RAISE EXCEPTION USING ERRCODE = 'RV001';
        END IF;
      EXCEPTION WHEN SQLSTATE 'RV001' THEN
        NULL;  -- v_units keeps what was found; the locks are released
      END;
    END IF;
    EXIT WHEN cardinality(v_units) = p_qty;
    v_found := cardinality(v_units);
    -- Too few free and unlocked. Committed free units (locked ones included)
    -- decide: fewer than asked is sold out for this quantity; otherwise other
    -- buyers are mid-flight, and their outcome is known in a moment.
    SELECT count(*) INTO v_free FROM pool_units WHERE pool_id = p_pool AND reservation_id IS NULL;
    IF v_free < p_qty OR attempt = 10 THEN
      -- After the last attempt the units still locked belong to buyers that
      -- hold all they asked for (partial holders release at once): sold.
      RETURN resv_fail('SOLD_OUT',
        format('pool %s has %s left, fewer than the %s requested', p_pool, least(v_free, v_found), p_qty),
        jsonb_build_object('remaining', least(v_free, v_found)));
    END IF;
    PERFORM pg_sleep(0.0005 + random() * 0.002);
  END LOOP;
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

CREATE FUNCTION resv_hold_pool(p_user bigint, p_schedule bigint, p_pool bigint, p_qty int,
                               p_key text DEFAULT NULL, p_hash text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql AS $$
  SELECT coalesce(resv_idem_begin(p_user, p_key, p_hash),
                  resv_idem_finish(p_user, p_key, p_hash, resv_hold_pool_do(p_user, p_schedule, p_pool, p_qty)))
$$;

CREATE FUNCTION resv_pay_do(p_res bigint, p_user bigint)
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

CREATE FUNCTION resv_pay(p_res bigint, p_user bigint, p_key text DEFAULT NULL, p_hash text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql AS $$
  SELECT coalesce(resv_idem_begin(p_user, p_key, p_hash),
                  resv_idem_finish(p_user, p_key, p_hash, resv_pay_do(p_res, p_user)))
$$;

-- Cancels a hold, or a confirmed reservation with a refund. Cancelling twice
-- answers the same; an expired hold has nothing left to cancel.
CREATE FUNCTION resv_cancel(p_res bigint, p_user bigint)
RETURNS jsonb LANGUAGE plpgsql AS $$
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
    UPDATE users SET balance = balance + v_r.amount WHERE id = p_user RETURNING balance INTO v_balance;
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
CREATE FUNCTION resv_expire_holds(p_batch int)
RETURNS int LANGUAGE plpgsql AS $$
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

CREATE FUNCTION resv_balance(p_user bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    (SELECT jsonb_build_object('ok', true, 'userId', id, 'balance', balance) FROM users WHERE id = p_user),
    resv_fail('NOT_FOUND', format('user %s does not exist', p_user)))
$$;

CREATE FUNCTION resv_top_up_do(p_user bigint, p_amount bigint)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_balance bigint;
BEGIN
  UPDATE users SET balance = balance + p_amount WHERE id = p_user RETURNING balance INTO v_balance;
  IF NOT FOUND THEN
    RETURN resv_fail('NOT_FOUND', format('user %s does not exist', p_user));
  END IF;
  INSERT INTO balance_ledger (user_id, delta, balance_after, reason)
  VALUES (p_user, p_amount, v_balance, 'TOP_UP');
  PERFORM resv_outbox('user', p_user, 'BalanceToppedUp', jsonb_build_object(
    'userId', p_user, 'amount', p_amount, 'balance', v_balance));
  RETURN jsonb_build_object('ok', true, 'userId', p_user, 'balance', v_balance);
END $$;

CREATE FUNCTION resv_top_up(p_user bigint, p_amount bigint, p_key text DEFAULT NULL, p_hash text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql AS $$
  SELECT coalesce(resv_idem_begin(p_user, p_key, p_hash),
                  resv_idem_finish(p_user, p_key, p_hash, resv_top_up_do(p_user, p_amount)))
$$;
