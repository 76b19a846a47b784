-- Task settings: changes from their effective time (TaskSettings.swift).

-- Changes a task from p_effective_at on (creating it when p_changes names its points); the
-- other settings keep the values in force then. Recorded with who, when, before and after.
-- Returns status 'changed', 'unchanged', 'in_past' (see set_program_settings) or 'unknown_task'
-- (a new task without points).
CREATE FUNCTION points.set_task(
    p_program integer, p_task text, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text)
RETURNS TABLE (status points.set_task_status, effective_at timestamptz)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_before points.task_settings;
    v_after points.task_settings;
BEGIN
    IF NOT points.begin_configuration_change(p_program, p_effective_at) THEN
        RETURN QUERY SELECT 'in_past'::points.set_task_status, p_effective_at::timestamptz;
        RETURN;
    END IF;
    SELECT ts.* INTO v_before FROM points.task_settings AS ts
    WHERE ts.program_id = p_program AND ts.task = p_task AND ts.effective_at <= p_effective_at
    ORDER BY ts.effective_at DESC LIMIT 1;
    IF NOT FOUND THEN
        IF NOT p_changes ? 'points' THEN
            RETURN QUERY SELECT 'unknown_task'::points.set_task_status, p_effective_at::timestamptz;
            RETURN;
        END IF;
        v_before := jsonb_populate_record(NULL::points.task_settings, jsonb_build_object(
            'program_id', p_program, 'task', p_task, 'effective_at', p_effective_at, 'points', 0, 'qualifying', false,
            'active', true, 'streak_days', '{}'::integer[], 'streak_points', '{}'::bigint[], 'tier_multiplier', false));
        v_after := jsonb_populate_record(v_before, p_changes);
        v_before := NULL;
    ELSE
        v_after := jsonb_populate_record(v_before, p_changes);
    END IF;
    v_after.effective_at := p_effective_at;
    IF v_before IS NOT NULL AND to_jsonb(v_after) - 'effective_at' = to_jsonb(v_before) - 'effective_at' THEN
        RETURN QUERY SELECT 'unchanged'::points.set_task_status, v_before.effective_at;
        RETURN;
    END IF;
    -- A second change at the same instant replaces the first.
    DELETE FROM points.task_settings AS ts WHERE ts.program_id = p_program AND ts.task = p_task AND ts.effective_at = p_effective_at;
    INSERT INTO points.task_settings VALUES (v_after.*);
    INSERT INTO points.configuration_changes (program_id, subject, actor, effective_at, before, after)
    VALUES (p_program, 'task ' || p_task, p_actor, p_effective_at,
            to_jsonb(v_before) - 'program_id' - 'task' - 'effective_at', to_jsonb(v_after) - 'program_id' - 'task' - 'effective_at');
    RETURN QUERY SELECT 'changed'::points.set_task_status, p_effective_at::timestamptz;
END
$$;
