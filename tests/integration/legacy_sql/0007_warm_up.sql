-- A full warm-up for a new connection, left without a trace.
--
-- The warm-up calls of a new server connection used ids that cannot exist:
-- each function returned at its first lookup, so the statements after it
-- were parsed, planned and their catalog entries loaded by the first buyer
-- on that connection instead (2.5-3 ms more for a first pool hold than for a
-- second one, per connection). At an opening right after a start, the first
-- eight holds of a pool all paid it while everyone waited for "sold out".
--
-- resv_warm_up() runs the write paths end to end on a throwaway concert,
-- schedule, seat, pool and user, then rolls all of it back (the block ends
-- by raising), so no row, no outbox entry and no notification remains.
-- Ids are this backend's pid, negated: no sequence value is used by the
-- throwaway rows, and warm-ups of concurrent connections do not wait for each
-- other on a key. The functions called here still draw their own ids from
-- sequences, which leaves gaps, as any rolled-back hold does.
-- Returns 'ok', or why it stopped (a warm-up never makes a connection fail;
-- a test checks it answers 'ok').
CREATE FUNCTION resv_warm_up() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v_id bigint := -pg_backend_pid();
  v_seat_hold jsonb;
  v_pool_hold jsonb;
BEGIN
  BEGIN
    INSERT INTO concerts (id, name) VALUES (v_id, 'warm-up');
    INSERT INTO schedules (id, concert_id, starts_at) VALUES (v_id, v_id, now() + interval '1 day');
    INSERT INTO seats (id, schedule_id, label, grade, price) VALUES (v_id, v_id, 'W', 'W', 1);
    INSERT INTO pools (id, schedule_id, name, capacity, price, max_party, max_per_user)
    VALUES (v_id, v_id, 'warm-up', 2, 1, 2, 2);
    INSERT INTO users (id, name, balance) VALUES (v_id, 'warm-up', 10);
    v_seat_hold := resv_hold_seats(v_id, v_id, ARRAY[v_id]);
    v_pool_hold := resv_hold_pool(v_id, v_id, v_id, 2);
    PERFORM resv_pay((v_seat_hold->>'reservationId')::bigint, v_id);
    PERFORM resv_cancel((v_pool_hold->>'reservationId')::bigint, v_id);
    PERFORM resv_top_up(v_id, 1);
    PERFORM resv_balance(v_id);
    IF v_seat_hold->>'status' IS DISTINCT FROM 'HELD' OR v_pool_hold->>'status' IS DISTINCT FROM 'HELD' THEN
      RAISE EXCEPTION USING ERRCODE = 'RV003',
        MESSAGE = format('holds did not succeed: %s %s', v_seat_hold, v_pool_hold);
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'RV002';  -- undo everything above
  EXCEPTION
    WHEN SQLSTATE 'RV002' THEN RETURN 'ok';
    WHEN OTHERS THEN RETURN 'warm-up stopped: ' || SQLERRM;
  END;
END $$;
