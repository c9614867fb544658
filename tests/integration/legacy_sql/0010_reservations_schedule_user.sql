-- A hold checks the user's own reservations for the schedule (per-user
-- limits). A session plans that query once and keeps the plan until the next
-- ANALYZE. Planned while `reservations` looked empty (a new database), both
-- reservations_user_live and reservations_schedule cost the same, and
-- PostgreSQL took reservations_schedule: every hold then read every
-- reservation of the schedule, and an opening slowed down as it sold (20,000
-- holds: 2,270 holds/s, 40,000: 1,480, 60,000: 1,330). With the user as its
-- second column, the index finds only this user's rows whichever one is
-- picked; it still serves the guard against deleting a schedule with
-- reservations (by its first column).
DROP INDEX reservations_schedule;
CREATE INDEX reservations_schedule ON reservations (schedule_id, user_id);
