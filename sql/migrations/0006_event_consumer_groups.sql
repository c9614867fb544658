-- Consumer groups resv events lag reports on: the embedded broker (Debian's
-- librdkafka 2.0.2 mock cluster) answers no ListGroups, so a group is
-- remembered here when resv events tail --group commits for it, or when an
-- operator names it (resv events lag --group G).
CREATE TABLE event_consumer_groups (
  name            text PRIMARY KEY,
  first_seen_at   timestamptz NOT NULL DEFAULT now(),
  last_commit_at  timestamptz
);
