-- Check-in streaks and their bonuses (tasks/completion.sql).

-- The streak of a member's check-in on local day p_day (the check-in days in a row up to it: one
-- more than the day before's), and the bonus it pays: the points of p_streak_points at the
-- entries of p_streak_days equal to its position (the streak itself, or its day in a cycle of
-- p_streak_cycle days). A check-in that earns nothing (p_earns false: beyond a cap) still counts
-- toward the streak, with no bonus.
CREATE FUNCTION points.checkin_streak(
    p_program integer, p_member text, p_day date, p_streak_days integer[], p_streak_points bigint[], p_streak_cycle integer,
    p_earns boolean, OUT streak integer, OUT bonus bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_position integer;
BEGIN
    SELECT c.streak INTO streak FROM points.task_completions AS c
    WHERE c.program_id = p_program AND c.member_id = p_member AND c.task = 'checkin' AND c.local_day = p_day - 1;
    streak := coalesce(streak, 0) + 1;
    v_position := CASE WHEN p_streak_cycle IS NULL THEN streak ELSE (streak - 1) % p_streak_cycle + 1 END;
    bonus := 0;
    IF p_earns AND v_position = ANY (p_streak_days) THEN
        SELECT coalesce(sum(r.pts), 0) INTO bonus
        FROM unnest(p_streak_days, p_streak_points) AS r(days, pts) WHERE r.days = v_position;
    END IF;
END
$$;
