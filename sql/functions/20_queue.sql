-- The waiting room (tables in sql/migrations/0001_baseline.sql). Every
-- writer of a concert's tokens locks its queue_concerts row and stamps what
-- it changes with the next change_no (resv_queue_lock); servers read
-- "changes since n" and are woken by NOTIFY resv_queue.
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

-- The settings an operator sees and changes, as JSON.
CREATE OR REPLACE FUNCTION resv_queue_settings(q queue_concerts) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('enabled', q.enabled, 'paused', q.paused, 'maxActive', q.max_active,
    'ratePerSecond', q.rate_per_s, 'tokenTtlSeconds', q.token_ttl_s,
    'abandonAfterSeconds', q.abandon_after_s, 'opensAt', resv_ts(q.opens_at))
$$;

CREATE OR REPLACE FUNCTION resv_queue_notify(p_concert bigint) RETURNS void LANGUAGE sql AS $$
  SELECT pg_notify('resv_queue', p_concert::text)
$$;

-- Locks the concert's queue row and returns it with change_no advanced, or
-- NULL when the concert has no queue.
CREATE OR REPLACE FUNCTION resv_queue_lock(p_concert bigint) RETURNS queue_concerts LANGUAGE plpgsql AS $$
DECLARE
  q queue_concerts;
BEGIN
  UPDATE queue_concerts SET change_no = change_no + 1 WHERE concert_id = p_concert RETURNING * INTO q;
  RETURN q;
END $$;

-- At opening (or earlier when p_now, e.g. a drain), the pre-queue (tokens
-- issued before opens_at) gets positions in random order after everyone
-- already placed. Call with the row locked.
CREATE OR REPLACE FUNCTION resv_queue_open_prequeue(q queue_concerts, p_now boolean DEFAULT false)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_n bigint;
BEGIN
  -- (With opens_at cleared by an operator, anyone still unplaced is placed.)
  IF q.opens_at IS NOT NULL AND now() < q.opens_at AND NOT p_now THEN
    RETURN 0;
  END IF;
  WITH shuffled AS (
    SELECT user_id, row_number() OVER (ORDER BY random()) AS k
      FROM queue_tokens WHERE concert_id = q.concert_id AND position IS NULL AND status = 'WAITING')
  UPDATE queue_tokens t SET position = q.last_position + s.k, change_no = q.change_no
    FROM shuffled s WHERE t.concert_id = q.concert_id AND t.user_id = s.user_id;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  UPDATE queue_concerts SET last_position = last_position + v_n, opens_at = NULL
   WHERE concert_id = q.concert_id;
  RETURN v_n;
END $$;

CREATE OR REPLACE FUNCTION resv_queue_token_json(t queue_tokens) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('userId', t.user_id, 'nonce', t.nonce::text, 'position', t.position,
    'status', t.status, 'endReason', t.end_reason, 'issuedAt', resv_ts(t.issued_at),
    'admittedAt', resv_ts(t.admitted_at), 'expiresAt', resv_ts(t.expires_at),
    'lastSeenAt', resv_ts(t.last_seen_at), 'changeNo', t.change_no)
$$;

-- Issues tokens to a batch of users of one concert: a user who has one gets
-- it back unchanged; the others are placed after everyone else, in the order
-- given. One row lock per batch, so a server batching concurrent requests
-- issues thousands per round trip.
-- {"ok":true,"tokens":[...],"unknownUsers":[...]} or a failure.
CREATE OR REPLACE FUNCTION resv_queue_issue(p_concert bigint, p_users bigint[]) RETURNS jsonb LANGUAGE plpgsql
SET enable_seqscan = off AS $$
DECLARE
  q queue_concerts;
  v_pre boolean;
  v_opened bigint;
  v_n bigint;
BEGIN
  q := resv_queue_lock(p_concert);
  IF q.concert_id IS NULL OR NOT q.enabled THEN
    RETURN resv_fail('NOT_FOUND',
      format('concert %s has no waiting room; reserve without a queue token', p_concert));
  END IF;
  v_opened := resv_queue_open_prequeue(q);
  SELECT * INTO q FROM queue_concerts WHERE concert_id = p_concert;
  v_pre := q.opens_at IS NOT NULL;
  WITH asked AS (
    SELECT u, min(k) AS k FROM unnest(p_users) WITH ORDINALITY AS a(u, k) GROUP BY u),
  fresh AS (
    SELECT a.u, row_number() OVER (ORDER BY a.k) AS k FROM asked a
     WHERE EXISTS (SELECT 1 FROM users WHERE id = a.u)
       AND NOT EXISTS (SELECT 1 FROM queue_tokens t WHERE t.concert_id = p_concert AND t.user_id = a.u))
  INSERT INTO queue_tokens (concert_id, user_id, nonce, position, change_no)
  SELECT p_concert, f.u, (random() * 9.2e18)::bigint,
         CASE WHEN v_pre THEN NULL ELSE q.last_position + f.k END, q.change_no
    FROM fresh f;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  IF NOT v_pre AND v_n > 0 THEN
    UPDATE queue_concerts SET last_position = last_position + v_n WHERE concert_id = p_concert;
  END IF;
  IF v_n + v_opened > 0 THEN
    PERFORM resv_queue_notify(p_concert);
  END IF;
  RETURN jsonb_build_object('ok', true,
    'tokens', (SELECT coalesce(jsonb_agg(resv_queue_token_json(t)), '[]') FROM queue_tokens t
                WHERE t.concert_id = p_concert AND t.user_id = ANY(p_users)),
    'unknownUsers', (SELECT coalesce(jsonb_agg(DISTINCT u), '[]') FROM unnest(p_users) u
                      WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = u)));
END $$;

-- Admits up to p_n of the longest-waiting users now. Call with the row locked.
CREATE OR REPLACE FUNCTION resv_queue_admit_next(q queue_concerts, p_n bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_n bigint;
BEGIN
  IF p_n <= 0 THEN
    RETURN 0;
  END IF;
  UPDATE queue_tokens t SET status = 'ACTIVE', admitted_at = now(),
         expires_at = now() + make_interval(secs => q.token_ttl_s), change_no = q.change_no
   WHERE t.concert_id = q.concert_id AND t.user_id IN (
     SELECT user_id FROM queue_tokens
      WHERE concert_id = q.concert_id AND status = 'WAITING' AND position IS NOT NULL
      ORDER BY position LIMIT p_n);
  GET DIAGNOSTICS v_n = ROW_COUNT;
  IF v_n > 0 THEN
    UPDATE queue_concerts SET admitted_total = admitted_total + v_n, last_admit_at = now()
     WHERE concert_id = q.concert_id;
  END IF;
  RETURN v_n;
END $$;

-- One step of the admission controller for one concert: ends active tokens
-- whose time is up or whose user has paid, drops waiting users who stopped
-- polling, then admits by max-active and by rate unless paused.
-- {"expired":n,"paid":n,"abandoned":n,"admitted":n,"opened":n}
CREATE OR REPLACE FUNCTION resv_queue_tick(p_concert bigint) RETURNS jsonb LANGUAGE plpgsql
SET enable_seqscan = off AS $$
DECLARE
  q queue_concerts;
  v_opened bigint;
  v_expired bigint;
  v_paid bigint;
  v_abandoned bigint;
  v_active bigint;
  v_room double precision := 'Infinity';
  v_credit double precision := 0;
  v_admitted bigint := 0;
BEGIN
  q := resv_queue_lock(p_concert);
  IF q.concert_id IS NULL OR NOT q.enabled THEN
    RETURN NULL;
  END IF;
  v_opened := resv_queue_open_prequeue(q);
  UPDATE queue_tokens SET status = 'EXPIRED', end_reason = 'TTL', ended_at = expires_at, change_no = q.change_no
   WHERE concert_id = p_concert AND status = 'ACTIVE' AND expires_at <= now();
  GET DIAGNOSTICS v_expired = ROW_COUNT;
  UPDATE queue_tokens t SET status = 'EXPIRED', end_reason = 'PAID', ended_at = now(), change_no = q.change_no
   WHERE t.concert_id = p_concert AND t.status = 'ACTIVE' AND EXISTS (
     SELECT 1 FROM reservations r JOIN schedules s ON s.id = r.schedule_id
      WHERE r.user_id = t.user_id AND s.concert_id = p_concert AND r.status = 'CONFIRMED'
        AND r.updated_at >= t.admitted_at);
  GET DIAGNOSTICS v_paid = ROW_COUNT;
  -- Finding who stopped polling reads every waiting row: done every tenth
  -- of abandon_after (at least a second apart), not every tick.
  v_abandoned := 0;
  IF q.last_sweep_at IS NULL OR q.last_sweep_at < now() - make_interval(secs => greatest(1, q.abandon_after_s / 10.0)) THEN
    UPDATE queue_tokens SET status = 'EXPIRED', end_reason = 'ABANDONED', ended_at = now(), change_no = q.change_no
     WHERE concert_id = p_concert AND status = 'WAITING'
       AND last_seen_at < now() - make_interval(secs => q.abandon_after_s);
    GET DIAGNOSTICS v_abandoned = ROW_COUNT;
    UPDATE queue_concerts SET last_sweep_at = now() WHERE concert_id = p_concert;
  END IF;
  IF NOT q.paused THEN
    IF q.max_active IS NOT NULL THEN
      SELECT count(*) INTO v_active FROM queue_tokens WHERE concert_id = p_concert AND status = 'ACTIVE';
      v_room := greatest(q.max_active - v_active, 0);
    END IF;
    IF q.rate_per_s IS NOT NULL THEN
      -- A bucket of at most one second's worth: a pause or a slow tick does
      -- not turn into a burst afterwards.
      v_credit := least(q.rate_credit + q.rate_per_s *
                          extract(epoch FROM now() - coalesce(q.last_tick_at, now())),
                        greatest(q.rate_per_s, 1));
      v_room := least(v_room, floor(v_credit));
    END IF;
    IF v_room = 'Infinity' THEN
      v_room := 1e9;
    END IF;
    v_admitted := resv_queue_admit_next(q, v_room::bigint);
    v_credit := greatest(v_credit - v_admitted, 0);
  END IF;
  UPDATE queue_concerts SET rate_credit = v_credit, last_tick_at = now() WHERE concert_id = p_concert;
  IF v_opened + v_expired + v_paid + v_abandoned + v_admitted > 0 THEN
    PERFORM resv_queue_notify(p_concert);
  END IF;
  RETURN jsonb_build_object('opened', v_opened, 'expired', v_expired, 'paid', v_paid,
    'abandoned', v_abandoned, 'admitted', v_admitted);
END $$;

-- Operator actions. Each locks the concert's row, records an audit line
-- (who, old and new values) and returns {"ok":true,"audit":{...},...}.
CREATE OR REPLACE FUNCTION resv_queue_audit(p_concert bigint, p_actor text, p_action text, p_old jsonb, p_new jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  a queue_audit;
BEGIN
  INSERT INTO queue_audit (concert_id, actor, action, old_values, new_values)
  VALUES (p_concert, p_actor, p_action, p_old, p_new) RETURNING * INTO a;
  PERFORM resv_queue_notify(p_concert);
  RETURN jsonb_build_object('id', a.id, 'at', resv_ts(a.at), 'concertId', a.concert_id, 'actor', a.actor,
    'action', a.action, 'old', a.old_values, 'new', a.new_values);
END $$;

-- Enables (creating if needed) or changes a concert's queue. p_set may hold
-- enabled, paused, maxActive, ratePerSecond, tokenTtlSeconds,
-- abandonAfterSeconds, opensAt; a JSON null clears maxActive, ratePerSecond
-- or opensAt; absent keys keep their value.
CREATE OR REPLACE FUNCTION resv_queue_configure(p_concert bigint, p_set jsonb, p_actor text, p_action text)
RETURNS jsonb LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  q queue_concerts;
  v_created boolean;
  v_old jsonb;
  v_new jsonb;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM concerts WHERE id = p_concert) THEN
    RETURN resv_fail('NOT_FOUND', format('concert %s does not exist', p_concert));
  END IF;
  IF p_action <> 'enable' AND NOT EXISTS (SELECT 1 FROM queue_concerts WHERE concert_id = p_concert) THEN
    RETURN resv_fail('NOT_FOUND', format('concert %s has no waiting room; enable one first', p_concert));
  END IF;
  -- A slower rate admits nobody for hours; a faster one is no waiting room,
  -- and overflows the admission step's credit (cli/queue_args.h).
  IF (p_set->>'ratePerSecond')::double precision NOT BETWEEN 0.001 AND 100000 THEN
    RETURN resv_fail('INVALID_REQUEST', format('ratePerSecond %s is out of range: from 0.001 to 100000 admissions '
      || 'per second, or null for no limit by rate', p_set->>'ratePerSecond'));
  END IF;
  INSERT INTO queue_concerts (concert_id, enabled, max_active)
  VALUES (p_concert, false, 100) ON CONFLICT (concert_id) DO NOTHING RETURNING true INTO v_created;
  q := resv_queue_lock(p_concert);
  v_old := CASE WHEN v_created THEN '{}'::jsonb ELSE resv_queue_settings(q) END;
  UPDATE queue_concerts SET
    enabled = coalesce((p_set->>'enabled')::boolean, enabled),
    paused = coalesce((p_set->>'paused')::boolean, paused),
    max_active = CASE WHEN p_set ? 'maxActive' THEN (p_set->>'maxActive')::int ELSE max_active END,
    rate_per_s = CASE WHEN p_set ? 'ratePerSecond' THEN (p_set->>'ratePerSecond')::double precision
                      ELSE rate_per_s END,
    token_ttl_s = coalesce((p_set->>'tokenTtlSeconds')::int, token_ttl_s),
    abandon_after_s = coalesce((p_set->>'abandonAfterSeconds')::int, abandon_after_s),
    opens_at = CASE WHEN p_set ? 'opensAt' THEN (p_set->>'opensAt')::timestamptz ELSE opens_at END,
    rate_credit = CASE WHEN (p_set->>'paused')::boolean THEN 0 ELSE rate_credit END,
    updated_at = now()
   WHERE concert_id = p_concert RETURNING * INTO q;
  v_new := resv_queue_settings(q);
  RETURN jsonb_build_object('ok', true, 'settings', v_new,
    'audit', resv_queue_audit(p_concert, p_actor, p_action,
      (SELECT coalesce(jsonb_object_agg(key, value), '{}') FROM jsonb_each(v_old)
        WHERE v_new->key IS DISTINCT FROM value),
      (SELECT coalesce(jsonb_object_agg(key, value), '{}') FROM jsonb_each(v_new)
        WHERE v_old->key IS DISTINCT FROM value AND (NOT coalesce(v_created, false) OR value <> 'null'))));
EXCEPTION
  WHEN check_violation THEN
    RETURN resv_fail('INVALID_REQUEST', 'a queue needs a max-active limit, a rate, or both; '
      || 'values must be positive (' || SQLERRM || ')');
  WHEN data_exception THEN  -- a value PostgreSQL cannot take: bad time, number out of range, ...
    RETURN resv_fail('INVALID_REQUEST', 'invalid setting: ' || SQLERRM);
END $$;

-- Admits the next p_n waiting users now, whatever the limits and pause say.
CREATE OR REPLACE FUNCTION resv_queue_admit(p_concert bigint, p_n bigint, p_actor text) RETURNS jsonb LANGUAGE plpgsql
SET enable_seqscan = off AS $$
DECLARE
  q queue_concerts;
  v_before bigint;
  v_n bigint;
BEGIN
  q := resv_queue_lock(p_concert);
  IF q.concert_id IS NULL THEN
    RETURN resv_fail('NOT_FOUND', format('concert %s has no waiting room', p_concert));
  END IF;
  IF NOT q.enabled THEN
    RETURN resv_fail('CONFLICT', format('the waiting room of concert %s is disabled: nobody needs admitting; '
      'enable it first', p_concert));
  END IF;
  PERFORM resv_queue_open_prequeue(q);
  v_before := q.admitted_total;
  v_n := resv_queue_admit_next(q, p_n);
  RETURN jsonb_build_object('ok', true, 'admitted', v_n,
    'audit', resv_queue_audit(p_concert, p_actor, 'admit',
      jsonb_build_object('admittedTotal', v_before),
      jsonb_build_object('admittedTotal', v_before + v_n, 'requested', p_n)));
END $$;

-- The opening is over: admits everyone waiting and turns the queue off, so
-- reservations for the concert no longer need a token.
CREATE OR REPLACE FUNCTION resv_queue_drain(p_concert bigint, p_actor text) RETURNS jsonb LANGUAGE plpgsql
SET enable_seqscan = off AS $$
DECLARE
  q queue_concerts;
  v_n bigint;
BEGIN
  q := resv_queue_lock(p_concert);
  IF q.concert_id IS NULL THEN
    RETURN resv_fail('NOT_FOUND', format('concert %s has no waiting room', p_concert));
  END IF;
  PERFORM resv_queue_open_prequeue(q, true);
  v_n := resv_queue_admit_next(q, 9223372036854775807);
  UPDATE queue_concerts SET enabled = false, updated_at = now() WHERE concert_id = p_concert;
  RETURN jsonb_build_object('ok', true, 'admitted', v_n,
    'audit', resv_queue_audit(p_concert, p_actor, 'drain',
      jsonb_build_object('enabled', q.enabled, 'admittedTotal', q.admitted_total),
      jsonb_build_object('enabled', false, 'admittedTotal', q.admitted_total + v_n)));
END $$;

-- What `resv queue status` shows for one concert.
CREATE OR REPLACE FUNCTION resv_queue_status(p_concert bigint) RETURNS jsonb LANGUAGE sql STABLE
SET enable_seqscan = off AS $$
  SELECT jsonb_build_object('concertId', q.concert_id, 'concertName', c.name) || resv_queue_settings(q) ||
    jsonb_build_object(
      'waiting', (SELECT count(*) FROM queue_tokens WHERE concert_id = q.concert_id AND status = 'WAITING'),
      'preQueue', (SELECT count(*) FROM queue_tokens
                    WHERE concert_id = q.concert_id AND status = 'WAITING' AND position IS NULL),
      'active', (SELECT count(*) FROM queue_tokens
                  WHERE concert_id = q.concert_id AND status = 'ACTIVE' AND expires_at > now()),
      'issued', q.last_position + (SELECT count(*) FROM queue_tokens
                                    WHERE concert_id = q.concert_id AND position IS NULL),
      'admittedTotal', q.admitted_total,
      'issuedLastMinute', (SELECT count(*) FROM queue_tokens
                            WHERE concert_id = q.concert_id AND issued_at > now() - interval '1 minute'),
      'admittedLastMinute', (SELECT count(*) FROM queue_tokens
                              WHERE concert_id = q.concert_id AND admitted_at > now() - interval '1 minute'),
      'expiredLastMinute', (SELECT coalesce(jsonb_object_agg(end_reason, n), '{}') FROM (
                              SELECT end_reason, count(*) AS n FROM queue_tokens
                               WHERE concert_id = q.concert_id AND ended_at > now() - interval '1 minute'
                               GROUP BY end_reason) e),
      'oldestWaitSeconds', (SELECT extract(epoch FROM now() - min(issued_at))::double precision
                             FROM queue_tokens WHERE concert_id = q.concert_id AND status = 'WAITING'),
      'lastAdmitAt', resv_ts(q.last_admit_at),
      'secondsSinceLastAdmit', extract(epoch FROM now() - q.last_admit_at)::double precision,
      'now', resv_ts(now()))
  FROM queue_concerts q JOIN concerts c ON c.id = q.concert_id WHERE q.concert_id = p_concert
$$;

-- The gate in front of holds and payments: NULL lets the request through.
-- p_token_concert is the concert of the Queue-Token the request carried
-- (its signature and user already checked by the server), NULL for none.
CREATE OR REPLACE FUNCTION resv_queue_gate(p_user bigint, p_concert bigint, p_token_concert bigint)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF p_concert IS NULL OR NOT EXISTS (SELECT 1 FROM queue_concerts WHERE concert_id = p_concert AND enabled) THEN
    RETURN NULL;
  END IF;
  IF p_token_concert IS NULL THEN
    RETURN resv_fail('QUEUE_TOKEN_INVALID', format('concert %s has a waiting room: send the Queue-Token '
      'header with the token from POST /api/queue/tokens', p_concert));
  END IF;
  IF p_token_concert <> p_concert THEN
    RETURN resv_fail('QUEUE_TOKEN_INVALID', format('the Queue-Token is for concert %s, not concert %s; '
      'use the token of this concert', p_token_concert, p_concert));
  END IF;
  IF NOT EXISTS (SELECT 1 FROM queue_tokens WHERE concert_id = p_concert AND user_id = p_user
                    AND status = 'ACTIVE' AND expires_at > now()) THEN
    RETURN resv_fail('QUEUE_TOKEN_NOT_ACTIVE', format('user %s is not admitted to concert %s yet (or any more): '
      'poll GET /api/queue/tokens/{token} until it is ACTIVE', p_user, p_concert));
  END IF;
  RETURN NULL;
END $$;

-- Statistics for queue_tokens while an opening fills it. The table grows
-- from nothing to a hundred thousand rows in the first seconds, and until
-- an ANALYZE the planner takes it for empty: the admission controller's
-- queries then walk the primary key over every token of the concert instead
-- of the partial indexes on the active and the waiting, every tick, holding
-- the concert's row while issuing waits (bench/queue.sh: 8,000 instead of
-- 18,000 tokens/s). Neither enable_seqscan nor custom plans fix that: the
-- plans need the statistics. Autovacuum (0002's thresholds) comes within
-- its naptime, a minute by default: too late. So the admission controller
-- calls this each tick, and it analyzes the table once as many rows have
-- changed as the last ANALYZE saw in it (at least 1,000), which also makes
-- every session plan again. Returns whether it did.
CREATE OR REPLACE FUNCTION resv_queue_refresh_statistics() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce((SELECT s.n_mod_since_analyze >= greatest(1000, c.reltuples)
                 FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
                WHERE s.relid = 'queue_tokens'::regclass), false) THEN
    ANALYZE queue_tokens;
    RETURN true;
  END IF;
  RETURN false;
END $$;
