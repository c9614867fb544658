-- Shared by the write paths. Every write function answers jsonb:
-- {"ok":true,...} or {"ok":false,"code":...,"message":...} (resv_fail), and
-- writes an outbox row (resv_outbox) in the same transaction as its change.
--
-- sql/functions/ holds the current definition of every function, one place
-- each. The migration runner re-applies a file whenever its content changes
-- (in name order, so a file may use the functions of the files before it);
-- write it so that it can run again: CREATE OR REPLACE, and DROP FUNCTION IF
-- EXISTS before a signature changes.

CREATE OR REPLACE FUNCTION resv_ts(t timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE OR REPLACE FUNCTION resv_fail(p_code text, p_message text, p_extra jsonb DEFAULT '{}')
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('ok', false, 'code', p_code, 'message', p_message) || p_extra
$$;

-- Idempotency: NULL means "go ahead" (also when there is no key); otherwise
-- the answer to return. The advisory lock makes a second request with the
-- same key, while the first is still in flight, fail fast instead of waiting
-- or running twice. Each keyed write is
--   coalesce(resv_idem_begin(...), resv_idem_finish(..., resv_X_do(...)))
-- (coalesce evaluates left to right and stops at the first non-null).
CREATE OR REPLACE FUNCTION resv_idem_begin(p_user bigint, p_key text, p_hash text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_hash text;
  v_resp jsonb;
BEGIN
  IF p_key IS NULL THEN
    RETURN NULL;
  END IF;
  -- The key is registered in core/db/advisory_locks.h, for `resv locks`.
  IF NOT pg_try_advisory_xact_lock(1919251305, hashtext(p_user::text || '/' || p_key)) THEN
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
CREATE OR REPLACE FUNCTION resv_idem_finish(p_user bigint, p_key text, p_hash text, p_resp jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  IF p_key IS NOT NULL THEN
    INSERT INTO idempotency_keys (user_id, key, request_hash, response)
    VALUES (p_user, p_key, p_hash, p_resp);
  END IF;
  RETURN p_resp;
END $$;

CREATE OR REPLACE FUNCTION resv_outbox(p_type text, p_id bigint, p_event text, p_payload jsonb)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload)
  VALUES (p_type, p_id, p_event, p_payload)
$$;
