-- What buyers browse: schedules with their availability and seat maps. The
-- servers cache these answers for --read-cache-ms; they read tables that
-- fill during an opening (reservations, the free seats and units), hence the
-- planner policy of 30_booking.sql.

-- The schedules of a concert, in start order, with seat counts.
CREATE OR REPLACE FUNCTION resv_schedules(p_concert bigint)
RETURNS TABLE (id bigint, concert_id bigint, starts_at text, sales_open_at text, total_seats bigint,
               available_seats bigint)
LANGUAGE sql STABLE SET enable_seqscan = off AS $$
  SELECT s.id, s.concert_id, resv_ts(s.starts_at), resv_ts(s.sales_open_at),
         (SELECT count(*) FROM seats x WHERE x.schedule_id = s.id),
         (SELECT count(*) FROM seats x WHERE x.schedule_id = s.id AND x.reservation_id IS NULL)
    FROM schedules s WHERE s.concert_id = p_concert ORDER BY s.starts_at, s.id
$$;

-- The capacity pools of a concert's schedules, with the units left.
CREATE OR REPLACE FUNCTION resv_concert_pools(p_concert bigint)
RETURNS TABLE (id bigint, schedule_id bigint, name text, kind text, capacity int, available bigint, price bigint,
               min_party int, max_party int, max_per_user int)
LANGUAGE sql STABLE SET enable_seqscan = off AS $$
  SELECT p.id, p.schedule_id, p.name, p.kind, p.capacity,
         (SELECT count(*) FROM pool_units u WHERE u.pool_id = p.id AND u.reservation_id IS NULL),
         p.price, p.min_party, p.max_party, p.max_per_user
    FROM pools p JOIN schedules s ON s.id = p.schedule_id WHERE s.concert_id = p_concert ORDER BY p.id
$$;

-- A schedule's seat map: every seat with AVAILABLE, HELD or SOLD, or only
-- the available ones.
CREATE OR REPLACE FUNCTION resv_seats(p_schedule bigint, p_available_only boolean)
RETURNS TABLE (id bigint, label text, grade text, price bigint, status text)
LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
BEGIN
  IF p_available_only THEN
    RETURN QUERY SELECT s.id, s.label, s.grade, s.price, 'AVAILABLE'::text FROM seats s
                  WHERE s.schedule_id = p_schedule AND s.reservation_id IS NULL ORDER BY s.id;
  ELSE
    RETURN QUERY SELECT s.id, s.label, s.grade, s.price,
                        CASE WHEN s.reservation_id IS NULL THEN 'AVAILABLE'
                             WHEN r.status = 'CONFIRMED' THEN 'SOLD' ELSE 'HELD' END
                   FROM seats s LEFT JOIN reservations r ON r.id = s.reservation_id
                  WHERE s.schedule_id = p_schedule ORDER BY s.id;
  END IF;
END $$;
