-- Rewards: creation and changes (Rewards.swift).

-- Creates or changes a reward (fields absent from p_changes keep their values; a new reward
-- needs a name and a cost). Recorded with who, when, before and after. Returns 'created',
-- 'changed', 'unchanged', 'incomplete' (a new reward without name or cost) or 'unknown_tier'.
CREATE FUNCTION points.set_reward(p_program integer, p_reward text, p_changes jsonb, p_actor points.label_text)
RETURNS TABLE (status points.set_reward_status)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_before points.rewards;
    v_after points.rewards;
BEGIN
    IF p_changes ? 'min_tier' AND p_changes->>'min_tier' IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = p_changes->>'min_tier') THEN
        RETURN QUERY SELECT 'unknown_tier'::points.set_reward_status;
        RETURN;
    END IF;
    SELECT r.* INTO v_before FROM points.rewards AS r WHERE r.program_id = p_program AND r.reward = p_reward FOR UPDATE;
    IF NOT FOUND THEN
        IF NOT (p_changes ? 'name' AND p_changes ? 'cost') THEN
            RETURN QUERY SELECT 'incomplete'::points.set_reward_status;
            RETURN;
        END IF;
        v_after := jsonb_populate_record(
            jsonb_populate_record(NULL::points.rewards, jsonb_build_object('program_id', p_program, 'reward', p_reward)), p_changes);
        INSERT INTO points.rewards VALUES (v_after.*);
    ELSE
        v_after := jsonb_populate_record(v_before, p_changes);
        IF to_jsonb(v_after) = to_jsonb(v_before) THEN
            RETURN QUERY SELECT 'unchanged'::points.set_reward_status;
            RETURN;
        END IF;
        UPDATE points.rewards AS r SET name = v_after.name, cost = v_after.cost, stock = v_after.stock,
            min_tier = v_after.min_tier, limit_per_member = v_after.limit_per_member,
            active_from = v_after.active_from, active_until = v_after.active_until
        WHERE r.program_id = p_program AND r.reward = p_reward;
    END IF;
    INSERT INTO points.configuration_changes (program_id, subject, actor, effective_at, before, after)
    VALUES (p_program, 'reward ' || p_reward, p_actor, now(),
            to_jsonb(v_before) - 'program_id' - 'reward', to_jsonb(v_after) - 'program_id' - 'reward');
    RETURN QUERY SELECT CASE WHEN v_before.reward IS NULL THEN 'created' ELSE 'changed' END::points.set_reward_status;
END
$$;
