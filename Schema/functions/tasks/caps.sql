-- Task caps: how many completions of a task earn in a local day, week and month (tasks/completion.sql).

-- Whether a member's completion of task p_task on local day p_day is beyond one of the task's
-- caps (p_cap_day, p_cap_week, p_cap_month; NULL: no cap), by the member's earning completions
-- of the task in that day, week (from Monday) and month: capped_by names the first full cap
-- ('day', 'week' or 'month'), else NULL; cap_reached says whether a cap is full once this
-- completion counts. Nothing is counted for a task without caps. The caller holds the member's
-- row lock, which makes the counts exact under concurrency.
CREATE FUNCTION points.task_cap(
    p_program integer, p_member text, p_task text, p_day date, p_cap_day integer, p_cap_week integer, p_cap_month integer,
    OUT capped_by text, OUT cap_reached boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_week date := date_trunc('week', p_day)::date;
    v_month date := date_trunc('month', p_day)::date;
    v_day_count bigint := 0;
    v_week_count bigint := 0;
    v_month_count bigint := 0;
BEGIN
    IF coalesce(p_cap_day, p_cap_week, p_cap_month) IS NOT NULL THEN
        SELECT count(*) FILTER (WHERE c.local_day = p_day) AS day,
               count(*) FILTER (WHERE c.local_day >= v_week AND c.local_day < v_week + 7) AS week,
               count(*) FILTER (WHERE c.local_day >= v_month AND c.local_day < (v_month + interval '1 month')::date) AS month
        INTO v_day_count, v_week_count, v_month_count
        FROM points.task_completions AS c
        WHERE c.program_id = p_program AND c.member_id = p_member AND c.task = p_task
          AND c.local_day >= least(v_week, v_month) AND c.local_day < greatest(v_week + 7, (v_month + interval '1 month')::date)
          AND c.capped_by IS NULL;
    END IF;
    capped_by := CASE
        WHEN v_day_count >= p_cap_day THEN 'day'
        WHEN v_week_count >= p_cap_week THEN 'week'
        WHEN v_month_count >= p_cap_month THEN 'month' END;
    cap_reached := capped_by IS NOT NULL OR coalesce(v_day_count + 1 >= p_cap_day, false)
        OR coalesce(v_week_count + 1 >= p_cap_week, false) OR coalesce(v_month_count + 1 >= p_cap_month, false);
END
$$;
