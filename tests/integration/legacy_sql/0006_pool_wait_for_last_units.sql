-- The last units of a pool: wait for the buyers in flight instead of polling.
--
-- A buyer first takes free units that nobody has locked (SKIP LOCKED, from a
-- random start), so buyers of a big pool never wait for each other. When it
-- finds too few, the rest are locked by buyers mid-flight. Until now it slept
-- 0.5-2.5 ms and looked again, up to ten times, then called the pool sold out.
-- At an opening (2,000 buyers for 40 units) thirty such loops ran at once:
-- the answer "sold out" took 20-50 ms to come, while every buyer queued in
-- the servers behind it waited, and the polling took CPU from the buyers that
-- were about to commit.
--
-- Now it queues for the free units in unit order, FOR UPDATE without SKIP
-- LOCKED, and is woken the moment their buyers commit (the units are gone)
-- or give up (the units are its own). Waiters lock in one order and the
-- buyers they wait for hold all the units they need and wait for nothing, so
-- waits cannot form a cycle. The answer is exact, not "still locked after ten
-- looks". lock_timeout bounds the wait should a transaction keep units locked
-- (a stalled client, an operator's open transaction): after it, the units
-- still locked count as sold, as before.
CREATE FUNCTION resv_wait_units(p_pool bigint, p_qty int)
RETURNS int[] LANGUAGE plpgsql SET lock_timeout = '500ms' SET plan_cache_mode = force_custom_plan AS $$
BEGIN
  RETURN ARRAY(
    SELECT unit_no FROM pool_units
     WHERE pool_id = p_pool AND reservation_id IS NULL
     ORDER BY unit_no LIMIT p_qty
     FOR UPDATE);
END $$;

CREATE OR REPLACE FUNCTION resv_hold_pool_do(p_user bigint, p_schedule bigint, p_pool bigint, p_qty int)
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
