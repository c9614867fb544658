-- Operator actions outside the waiting room (resv locks cancel/terminate,
-- and the remediations of later commands): who, when, what, on which
-- target, with what it was before and what came of it.
CREATE TABLE ops_audit (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text NOT NULL,
  action      text NOT NULL,   -- locks.cancel, locks.terminate
  target      text NOT NULL,   -- 'pid 4711'
  old_values  jsonb NOT NULL DEFAULT '{}',
  new_values  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ops_audit_at ON ops_audit (at);
