-- The end of grants and overrides, recorded by the tier job (TierEvaluation.swift).

-- Records what ended by p_as_of: overrides (the earned tier returns to the one before) and
-- grants (a change when the effective tier drops). Part of `jobs tiers`; idempotent. Returns the
-- number of tier changes recorded.
CREATE FUNCTION points.end_tier_terms(p_program integer, p_as_of points.event_time) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_overrides integer;
    v_grants integer;
BEGIN
    PERFORM points.check_as_of(p_as_of);
    WITH ended AS (
        SELECT m.member_id, m.tier, m.override_previous, m.override_until FROM points.members AS m
        WHERE m.program_id = p_program AND m.override_until <= p_as_of
        ORDER BY m.member_id FOR UPDATE
    ), moved AS (
        UPDATE points.members AS m SET tier = e.override_previous, override_until = NULL, override_previous = NULL
        FROM ended AS e WHERE m.program_id = p_program AND m.member_id = e.member_id
    )
    INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause)
    SELECT p_program, e.member_id, e.override_until, e.tier, e.override_previous, 'override_end' FROM ended AS e;
    GET DIAGNOSTICS v_overrides = ROW_COUNT;

    WITH ended AS (
        SELECT g.member_id, g.grant_id, g.ends_at FROM points.tier_grants AS g
        WHERE g.program_id = p_program AND NOT g.end_recorded AND g.ends_at <= p_as_of
        FOR UPDATE
    ), marked AS (
        UPDATE points.tier_grants AS g SET end_recorded = true
        FROM ended AS e WHERE g.program_id = p_program AND g.member_id = e.member_id AND g.grant_id = e.grant_id
    ), changes AS (
        SELECT e.member_id, e.ends_at,
               points.tier_at(p_program, m.member_id, m.tier, m.override_until, m.override_previous, m.granted_until,
                              e.ends_at - interval '1 microsecond') AS before,
               points.tier_at(p_program, m.member_id, m.tier, m.override_until, m.override_previous, m.granted_until, e.ends_at) AS after
        FROM ended AS e JOIN points.members AS m ON m.program_id = p_program AND m.member_id = e.member_id
    )
    INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause)
    SELECT p_program, c.member_id, c.ends_at, c.before, c.after, 'grant_end' FROM changes AS c WHERE c.before <> c.after;
    GET DIAGNOSTICS v_grants = ROW_COUNT;
    RETURN v_overrides + v_grants;
END
$$;
