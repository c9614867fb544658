-- Two holds with the same Idempotency-Key in one batch.
--
-- Two requests with one key that are in flight together must get one hold
-- and one 409 DUPLICATE_REQUEST, as they do when each runs on its own
-- connection. In one batch they run in one transaction, where the key's
-- advisory lock is already this session's, so the second found the first's
-- stored answer and replayed it. Now a key seen earlier in the same batch
-- (for the same user) is answered DUPLICATE_REQUEST without running.
-- Otherwise unchanged from 0008.
CREATE OR REPLACE FUNCTION resv_hold_pool_batch(p_schedule bigint, p_pool bigint, p_items jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
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
