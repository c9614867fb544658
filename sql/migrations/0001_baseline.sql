-- The schema as of resv 0.1.0: migrations 0001-0010 of the first sessions,
-- squashed (tests/integration/migrations_test.cpp proves a database migrated
-- either way has the same schema). Tables and indexes only: the functions
-- and the triggers that call them are in sql/functions/.
--
-- Money is bigint in minor units; times are timestamptz. Lock order used by
-- every write function (deadlock freedom):
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
-- hot tuple). The write functions check that both exist, and triggers
-- (sql/functions/booking.sql) refuse to delete a schedule or pool that has
-- reservations.
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
-- A hold checks the user's own reservations for the schedule (per-user
-- limits). Planned while `reservations` looked empty (a new database), an
-- index on schedule_id alone cost as much as reservations_user_live, and a
-- plan that took it read every reservation of the schedule on each hold: an
-- opening slowed as it sold (20,000 holds: 2,270 holds/s; 60,000: 1,330).
-- With the user as its second column the index finds only this user's rows
-- whichever one is picked; it still serves the guard against deleting a
-- schedule with reservations (by its first column). There is no index on
-- pool_id for the same reason: a plan that picked it read every reservation
-- of the pool as the pool filled (a 100,000-unit pool sold at a third of the
-- seat rate); the pool guard goes through the schedule.
CREATE INDEX reservations_schedule ON reservations (schedule_id, user_id);

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

-- Every pool gets its units by a trigger, whatever inserted it (server,
-- seed, tests).
CREATE TABLE pool_units (
  pool_id         bigint NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
  unit_no         int NOT NULL,
  reservation_id  bigint REFERENCES reservations(id),
  PRIMARY KEY (pool_id, unit_no)
);
CREATE INDEX pool_units_free ON pool_units (pool_id, unit_no) WHERE reservation_id IS NULL;
CREATE INDEX pool_units_reservation ON pool_units (reservation_id) WHERE reservation_id IS NOT NULL;

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

-- What `resv seed` loaded: one row per completed seed (it commits together
-- with the data, so an interrupted seed leaves no row either).
CREATE TABLE seed_runs (
  id          bigserial PRIMARY KEY,
  profile     text NOT NULL,
  seed        bigint NOT NULL,
  spec        jsonb NOT NULL,
  row_counts  jsonb NOT NULL,
  seeded_at   timestamptz NOT NULL DEFAULT now()
);

-- Waiting room. One row per concert whose queue is (or was) enabled, one
-- token row per user and concert, and an audit line per operator action.
--
-- Every writer of a concert's tokens (issue, the admission tick, operator
-- actions) first locks the concert's queue_concerts row and stamps the rows it
-- changes with the next change_no. Writers of one concert are thus serialised
-- (a batch of issues at a time, not a user at a time), positions are handed
-- out gap-free, and a reader that remembers the highest change_no it has seen
-- gets every later change with `change_no > n` and misses none: a higher
-- number is never committed before a lower one.
CREATE TABLE queue_concerts (
  concert_id       bigint PRIMARY KEY REFERENCES concerts(id) ON DELETE CASCADE,
  enabled          boolean NOT NULL DEFAULT true,
  paused           boolean NOT NULL DEFAULT false,
  max_active       int CHECK (max_active > 0),                 -- NULL: no limit by count
  rate_per_s       double precision CHECK (rate_per_s > 0),    -- NULL: no limit by rate
  token_ttl_s      int NOT NULL DEFAULT 600 CHECK (token_ttl_s > 0),
  abandon_after_s  int NOT NULL DEFAULT 60 CHECK (abandon_after_s > 0),
  opens_at         timestamptz,             -- arrivals before it are shuffled at opening
  last_position    bigint NOT NULL DEFAULT 0,
  admitted_total   bigint NOT NULL DEFAULT 0,
  rate_credit      double precision NOT NULL DEFAULT 0,
  last_tick_at     timestamptz,
  last_sweep_at    timestamptz,             -- last look for users who stopped polling
  last_admit_at    timestamptz,
  change_no        bigint NOT NULL DEFAULT 0,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CHECK (max_active IS NOT NULL OR rate_per_s IS NOT NULL)
);

-- No foreign keys here: their per-row checks (which also lock every user
-- row) cost as much as the rest of a batch of issues. resv_queue_issue
-- places only existing users while holding the concert's queue row, and a
-- trigger removes a concert's tokens with its queue.
CREATE TABLE queue_tokens (
  concert_id    bigint NOT NULL,
  user_id       bigint NOT NULL,
  nonce         bigint NOT NULL,   -- signed into the token: a re-created queue issues new tokens
  position      bigint,            -- NULL while in the pre-queue
  status        text NOT NULL DEFAULT 'WAITING' CHECK (status IN ('WAITING', 'ACTIVE', 'EXPIRED')),
  end_reason    text CHECK (end_reason IN ('TTL', 'PAID', 'ABANDONED')),
  ended_at      timestamptz,       -- when it became EXPIRED
  issued_at     timestamptz NOT NULL DEFAULT now(),
  admitted_at   timestamptz,
  expires_at    timestamptz,
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  change_no     bigint NOT NULL,
  PRIMARY KEY (concert_id, user_id),
  UNIQUE (concert_id, position)
);
CREATE INDEX queue_tokens_waiting ON queue_tokens (concert_id, position) WHERE status = 'WAITING';
CREATE INDEX queue_tokens_active ON queue_tokens (concert_id, expires_at) WHERE status = 'ACTIVE';
CREATE INDEX queue_tokens_changes ON queue_tokens (concert_id, change_no);
CREATE INDEX queue_tokens_admitted ON queue_tokens (concert_id, admitted_at) WHERE admitted_at IS NOT NULL;
CREATE INDEX queue_tokens_issued ON queue_tokens (concert_id, issued_at);
CREATE INDEX queue_tokens_ended ON queue_tokens (concert_id, ended_at) WHERE ended_at IS NOT NULL;

CREATE TABLE queue_audit (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  concert_id  bigint NOT NULL,
  actor       text NOT NULL,
  action      text NOT NULL,
  old_values  jsonb NOT NULL DEFAULT '{}',
  new_values  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX queue_audit_concert ON queue_audit (concert_id, id);

-- The key tokens are signed with, shared by every server on this database
-- (unless RESV_QUEUE_SECRET gives one). Written once by the first server.
CREATE TABLE queue_secret (
  id      int PRIMARY KEY CHECK (id = 1),
  secret  text NOT NULL
);
