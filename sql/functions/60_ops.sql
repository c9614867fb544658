-- Upkeep: the warm-up of new connections, pruning what has served its time.

-- A full warm-up for a new connection, left without a trace: every write
-- path runs end to end once, so that its statements are parsed, planned and
-- their catalog entries loaded before the first buyer on that connection
-- (who would otherwise pay 2.5-3 ms more for a first pool hold; at an
-- opening right after a start, the first holds of a pool all paid it while
-- everyone waited for "sold out").
--
-- It holds on a throwaway concert, schedule, seat, pool and user, then rolls
-- all of it back (the block ends by raising), so no row, no outbox entry and
-- no notification remains. Ids are this backend's pid, negated: no sequence
-- value is used by the throwaway rows, and warm-ups of concurrent
-- connections do not wait for each other on a key. The functions called
-- here still draw their own ids from sequences, which leaves gaps, as any
-- rolled-back hold does. Returns 'ok', or why it stopped (a warm-up never
-- makes a connection fail; a test checks it answers 'ok').
CREATE OR REPLACE FUNCTION resv_warm_up() RETURNS text LANGUAGE plpgsql SET enable_seqscan = off AS $$
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

-- Deletes, oldest first, up to p_batch of each: Idempotency-Key answers
-- older than p_keys_after, ended (EXPIRED) queue tokens that ended longer
-- than p_tokens_after ago, and outbox rows written longer than p_outbox_after
-- ago once published (never an unpublished one). SKIP LOCKED: a row someone
-- holds is left for the next round, so neither buyers, the admission
-- controller nor the relay ever wait for it. A request retried with a pruned
-- key runs again; a user whose ended token is pruned gets a new place if they
-- ask again; a pruned event can no longer be replayed (resv events replay).
-- {"idempotencyKeys": n, "queueTokens": n, "outbox": n}
DROP FUNCTION IF EXISTS resv_prune(interval, interval, int);
CREATE OR REPLACE FUNCTION resv_prune(p_keys_after interval, p_tokens_after interval, p_outbox_after interval,
                                      p_batch int)
RETURNS jsonb LANGUAGE plpgsql SET enable_seqscan = off SET jit = off AS $$
DECLARE
  v_keys bigint;
  v_tokens bigint;
  v_outbox bigint;
  v_bound bigint;
BEGIN
  DELETE FROM idempotency_keys k USING (
    SELECT user_id, key FROM idempotency_keys WHERE created_at < now() - p_keys_after
     ORDER BY created_at LIMIT p_batch FOR UPDATE SKIP LOCKED) old
   WHERE k.user_id = old.user_id AND k.key = old.key;
  GET DIAGNOSTICS v_keys = ROW_COUNT;
  DELETE FROM queue_tokens t USING (
    SELECT concert_id, user_id FROM queue_tokens WHERE status = 'EXPIRED' AND ended_at < now() - p_tokens_after
     ORDER BY ended_at LIMIT p_batch FOR UPDATE SKIP LOCKED) old
   WHERE t.concert_id = old.concert_id AND t.user_id = old.user_id;
  GET DIAGNOSTICS v_tokens = ROW_COUNT;
  -- Events older than their retention are those below the first younger
  -- one (ids follow time); of those, the published ones a replay does not
  -- still need.
  v_bound := coalesce((SELECT id FROM outbox WHERE created_at >= now() - p_outbox_after ORDER BY id LIMIT 1),
                      (SELECT max(id) + 1 FROM outbox));
  DELETE FROM outbox o USING (
    SELECT x.id FROM outbox x WHERE x.id < v_bound AND resv_outbox_is_published(x.txid, x.id)
       AND NOT EXISTS (SELECT 1 FROM outbox_replays r WHERE x.id BETWEEN r.next_id AND r.to_id)
     ORDER BY x.id LIMIT p_batch FOR UPDATE SKIP LOCKED) old
   WHERE o.id = old.id;
  GET DIAGNOSTICS v_outbox = ROW_COUNT;
  RETURN jsonb_build_object('idempotencyKeys', v_keys, 'queueTokens', v_tokens, 'outbox', v_outbox);
END $$;
