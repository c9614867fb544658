-- A pool hold checks the user's own reservations for the schedule and pool.
-- With reservations_pool in place, a plan made right after an ANALYZE that
-- saw the pool without reservations used that index (it looked empty), and
-- the cached plan then read every reservation of the pool on each hold as
-- the pool filled: a 100,000-unit pool sold at a third of the seat rate, in
-- the runs where that plan was picked. Without the index the check can only
-- go through the user's live reservations (reservations_user_live). The
-- guard against deleting a pool with reservations finds them through the
-- pool's schedule instead.
DROP INDEX reservations_pool;

CREATE OR REPLACE FUNCTION resv_refuse_delete_with_reservations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'schedules' THEN
    PERFORM 1 FROM reservations WHERE schedule_id = OLD.id LIMIT 1;
  ELSE
    PERFORM 1 FROM reservations WHERE schedule_id = OLD.schedule_id AND pool_id = OLD.id LIMIT 1;
  END IF;
  IF FOUND THEN
    RAISE EXCEPTION '% % has reservations and cannot be deleted', TG_TABLE_NAME, OLD.id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN OLD;
END $$;
