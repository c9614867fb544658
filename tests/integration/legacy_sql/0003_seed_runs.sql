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
