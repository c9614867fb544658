-- Trigger functions and their triggers, in a file of their own: re-applying
-- it replaces the triggers, which briefly takes a SHARE ROW EXCLUSIVE lock on
-- schedules, pools and queue_concerts (the runner's lock_timeout bounds it).

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

-- Every pool gets its units, whatever inserted it (server, seed, tests).
CREATE OR REPLACE FUNCTION resv_pool_units_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO pool_units (pool_id, unit_no)
  SELECT NEW.id, g FROM generate_series(1, NEW.capacity) AS g;
  RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER schedules_keep_reserved BEFORE DELETE ON schedules
  FOR EACH ROW EXECUTE FUNCTION resv_refuse_delete_with_reservations();
CREATE OR REPLACE TRIGGER pools_keep_reserved BEFORE DELETE ON pools
  FOR EACH ROW EXECUTE FUNCTION resv_refuse_delete_with_reservations();
CREATE OR REPLACE TRIGGER pools_fill_units AFTER INSERT ON pools
  FOR EACH ROW EXECUTE FUNCTION resv_pool_units_fill();

-- A concert's tokens go with its queue.
CREATE OR REPLACE FUNCTION resv_queue_drop_tokens() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM queue_tokens WHERE concert_id = OLD.concert_id;
  RETURN OLD;
END $$;
CREATE OR REPLACE TRIGGER queue_concerts_drop_tokens AFTER DELETE ON queue_concerts
  FOR EACH ROW EXECUTE FUNCTION resv_queue_drop_tokens();
