-- Holds of one pool for several buyers in one round trip.
--
-- At an opening, thousands of buyers ask for the same pool within a few
-- milliseconds. Held one per statement, each hold waited for a backend to be
-- scheduled on cores that the HTTP side kept busy: the 18 statements that
-- sell a pool of 40 ran about one per millisecond, and every buyer waited
-- those 15 ms for "sold out". A server now sends the holds that queued for a
-- pool while its previous statement ran as one call, in arrival order.
--
-- Each item is held as resv_hold_pool holds it (waiting room gate,
-- idempotency key, per-user limit, units, outbox), all in one transaction,
-- and answered in item order in a jsonb array. Two differences:
-- - Once an item was answered SOLD_OUT with `remaining` units, a later item
--   without an idempotency key that asks for more is answered the same
--   without running, as the server's in-memory filter would. (A keyed request
--   must reach its own stored answer, so it always runs.)
-- - Only the first item that reaches the units may wait for a lock, as a
--   single hold does: it holds nothing while it waits. A later one would
--   wait while holding what the items before it took, and two batches
--   could each wait for the other (until lock_timeout). So when a later item
--   finds its user's row or the units it needs locked, the batch stops
--   there: it answers the items before it, and the server sends the rest
--   again once this transaction has committed.
-- A statement that fails as a whole (deadlock, timeout) has changed nothing;
-- the server then sends its items one by one.
--
-- resv_hold_pool_do gains p_may_wait (default true: unchanged for single
-- holds); false answers {"yield": true}, having written nothing, where it
-- would wait, and SOLD_OUT where even the units locked by buyers in flight
-- would not be enough.

DROP FUNCTION resv_hold_pool_do(bigint, bigint, bigint, int);
CREATE FUNCTION resv_hold_pool_do(p_user bigint, p_schedule bigint, p_pool bigint, p_qty int,
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

CREATE FUNCTION resv_hold_pool_batch(p_schedule bigint, p_pool bigint, p_items jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_concert bigint := (SELECT concert_id FROM schedules WHERE id = p_schedule);
  v_item jsonb;
  v_user bigint;
  v_qty int;
  v_key text;
  v_answer jsonb;
  v_answers jsonb[] := '{}';
  v_locked boolean := false;  -- an item before this one reached the units
  v_remaining int;            -- units left, as the last SOLD_OUT of this batch said
BEGIN
  FOR v_item IN SELECT value FROM jsonb_array_elements(p_items) LOOP
    v_user := (v_item->>'userId')::bigint;
    v_qty := (v_item->>'quantity')::int;
    v_key := v_item->>'key';
    IF v_remaining IS NOT NULL AND v_key IS NULL AND v_qty > v_remaining THEN
      v_answer := resv_fail('SOLD_OUT',
        format('pool %s has %s left, fewer than the %s requested', p_pool, v_remaining, v_qty),
        jsonb_build_object('remaining', v_remaining));
    ELSE
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
