-- Core model. Money is bigint in minor units; times are timestamptz.
-- Lock order used by every function in 0002 (deadlock freedom):
--   reservations -> users -> seats (by id) / pool_units (SKIP LOCKED, never waits)

CREATE TABLE concerts (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL,
  venue       text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE schedules (
  id                  bigserial PRIMARY KEY,
  concert_id          bigint NOT NULL REFERENCES concerts(id) ON DELETE CASCADE,
  starts_at           timestamptz NOT NULL,
  sales_open_at       timestamptz NOT NULL DEFAULT now(),
  max_seats_per_user  int NOT NULL DEFAULT 4 CHECK (max_seats_per_user > 0),
  hold_seconds        int NOT NULL DEFAULT 300 CHECK (hold_seconds > 0)
);
CREATE INDEX schedules_concert ON schedules (concert_id, starts_at);

CREATE TABLE users (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL DEFAULT '',
  balance     bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- General admission, restaurant slot or coupon stock. Capacity is materialised
-- as one pool_units row per unit so that concurrent buyers lock different rows
-- (SKIP LOCKED) instead of all queueing on one counter row.
CREATE TABLE pools (
  id            bigserial PRIMARY KEY,
  schedule_id   bigint NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
  name          text NOT NULL,
  kind          text NOT NULL DEFAULT 'GENERAL_ADMISSION'
                CHECK (kind IN ('GENERAL_ADMISSION', 'RESTAURANT_SLOT', 'COUPON')),
  capacity      int NOT NULL CHECK (capacity > 0),
  price         bigint NOT NULL DEFAULT 0 CHECK (price >= 0),
  min_party     int NOT NULL DEFAULT 1 CHECK (min_party >= 1),
  max_party     int NOT NULL DEFAULT 1,
  max_per_user  int NOT NULL DEFAULT 1 CHECK (max_per_user >= 1),
  CHECK (max_party >= min_party)
);
CREATE INDEX pools_schedule ON pools (schedule_id);

-- schedule_id and pool_id carry no foreign key on purpose: a foreign key
-- takes a KEY SHARE lock on the referenced row for every insert, so every
-- buyer of one schedule or pool would lock that one row (MultiXact churn on a
-- hot tuple). The write functions check that both exist, and the triggers
-- below refuse to delete a schedule or pool that has reservations.
CREATE TABLE reservations (
  id           bigserial PRIMARY KEY,
  user_id      bigint NOT NULL REFERENCES users(id),
  schedule_id  bigint NOT NULL,
  pool_id      bigint,
  quantity     int NOT NULL CHECK (quantity > 0),
  amount       bigint NOT NULL CHECK (amount >= 0),
  status       text NOT NULL DEFAULT 'HELD'
               CHECK (status IN ('HELD', 'CONFIRMED', 'CANCELLED', 'EXPIRED')),
  expires_at   timestamptz NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
-- The sweeper's query: oldest expired holds first.
CREATE INDEX reservations_held_expiry ON reservations (expires_at) WHERE status = 'HELD';
-- Per-user limits: a user's live reservations for a schedule.
CREATE INDEX reservations_user_live ON reservations (user_id, schedule_id)
  WHERE status IN ('HELD', 'CONFIRMED');

CREATE FUNCTION resv_refuse_delete_with_reservations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM reservations
              WHERE (TG_TABLE_NAME = 'schedules' AND schedule_id = OLD.id)
                 OR (TG_TABLE_NAME = 'pools' AND pool_id = OLD.id)) THEN
    RAISE EXCEPTION '% % has reservations and cannot be deleted', TG_TABLE_NAME, OLD.id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER schedules_keep_reserved BEFORE DELETE ON schedules
  FOR EACH ROW EXECUTE FUNCTION resv_refuse_delete_with_reservations();
CREATE TRIGGER pools_keep_reserved BEFORE DELETE ON pools
  FOR EACH ROW EXECUTE FUNCTION resv_refuse_delete_with_reservations();
CREATE INDEX reservations_schedule ON reservations (schedule_id);
CREATE INDEX reservations_pool ON reservations (pool_id) WHERE pool_id IS NOT NULL;

CREATE TABLE seats (
  id              bigserial PRIMARY KEY,
  schedule_id     bigint NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
  label           text NOT NULL,
  grade           text NOT NULL,
  price           bigint NOT NULL CHECK (price >= 0),
  reservation_id  bigint REFERENCES reservations(id),
  UNIQUE (schedule_id, label)
);
CREATE INDEX seats_schedule ON seats (schedule_id, id);
CREATE INDEX seats_free ON seats (schedule_id, id) WHERE reservation_id IS NULL;
CREATE INDEX seats_reservation ON seats (reservation_id) WHERE reservation_id IS NOT NULL;

CREATE TABLE pool_units (
  pool_id         bigint NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
  unit_no         int NOT NULL,
  reservation_id  bigint REFERENCES reservations(id),
  PRIMARY KEY (pool_id, unit_no)
);
CREATE INDEX pool_units_free ON pool_units (pool_id, unit_no) WHERE reservation_id IS NULL;
CREATE INDEX pool_units_reservation ON pool_units (reservation_id) WHERE reservation_id IS NOT NULL;

-- Every pool gets its units, whatever inserted it (server, seed, tests).
CREATE FUNCTION resv_pool_units_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO pool_units (pool_id, unit_no)
  SELECT NEW.id, g FROM generate_series(1, NEW.capacity) AS g;
  RETURN NULL;
END $$;
CREATE TRIGGER pools_fill_units AFTER INSERT ON pools
  FOR EACH ROW EXECUTE FUNCTION resv_pool_units_fill();

CREATE TABLE payments (
  id              bigserial PRIMARY KEY,
  reservation_id  bigint NOT NULL UNIQUE REFERENCES reservations(id),  -- never two charges
  user_id         bigint NOT NULL REFERENCES users(id),
  amount          bigint NOT NULL CHECK (amount >= 0),
  status          text NOT NULL DEFAULT 'PAID' CHECK (status IN ('PAID', 'REFUNDED')),
  created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE balance_ledger (
  id              bigserial PRIMARY KEY,
  user_id         bigint NOT NULL REFERENCES users(id),
  delta           bigint NOT NULL,
  balance_after   bigint NOT NULL CHECK (balance_after >= 0),
  reason          text NOT NULL CHECK (reason IN ('TOP_UP', 'PAYMENT', 'REFUND')),
  reservation_id  bigint REFERENCES reservations(id),
  payment_id      bigint REFERENCES payments(id),
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX balance_ledger_user ON balance_ledger (user_id, id);

-- Transactional outbox: written in the same transaction as the state change,
-- published to Kafka by the relay.
CREATE TABLE outbox (
  id              bigserial PRIMARY KEY,
  aggregate_type  text NOT NULL,
  aggregate_id    bigint NOT NULL,
  event_type      text NOT NULL,
  payload         jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  published_at    timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- Idempotency-Key answers, per user. The stored response is replayed verbatim.
CREATE TABLE idempotency_keys (
  user_id       bigint NOT NULL,
  key           text NOT NULL,
  request_hash  text NOT NULL,
  response      jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
