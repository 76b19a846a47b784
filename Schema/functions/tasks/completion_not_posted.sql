-- The answer to a task completion that posted nothing (tasks/completion.sql).

-- Answers a completion by member p_member of task p_task under key p_key that posted no entry: the key was used
-- before, so the call is 'replayed' (the same request p_request: the original result) or a
-- 'conflict' (another request), however late it comes and whatever the task's state now; else
-- p_problem, why it could not be posted. p_available is the member's available balance,
-- answered with a replay or a conflict; p_day is the completion's local day.
CREATE FUNCTION points.completion_not_posted(
    p_program integer, p_member text, p_task text, p_key text, p_request jsonb, p_problem points.complete_task_status, p_available bigint,
    p_day date)
RETURNS TABLE (status points.complete_task_status, entry_id bigint, points bigint, streak_bonus bigint, streak integer,
               capped_by text, cap_reached boolean, available bigint, local_day date)
LANGUAGE plpgsql AS $$
DECLARE
    v_existing record;
BEGIN
    SELECT e.entry_id, e.request, c.points, c.streak_bonus, c.streak, c.capped_by, c.local_day, c.available_after, c.cap_reached
    INTO v_existing
    FROM points.journal_entries AS e
    LEFT JOIN points.task_completions AS c
        ON c.program_id = e.program_id AND c.member_id = e.member_id AND c.task = p_task AND c.entry_id = e.entry_id
    WHERE e.program_id = p_program AND e.key_scope = 'task' AND e.idempotency_key = p_key AND e.key_member = p_member;
    IF FOUND THEN
        RETURN QUERY SELECT
            CASE WHEN points.same_request(v_existing.request, p_request) THEN 'replayed' ELSE 'conflict' END
                ::points.complete_task_status,
            v_existing.entry_id, v_existing.points::bigint, v_existing.streak_bonus::bigint, v_existing.streak::integer,
            v_existing.capped_by::text, v_existing.cap_reached, coalesce(v_existing.available_after, p_available), v_existing.local_day;
    ELSE
        RETURN QUERY SELECT p_problem, NULL::bigint, NULL::bigint, NULL::bigint, NULL::integer, NULL::text, NULL::boolean,
            NULL::bigint, p_day;
    END IF;
END
$$;
