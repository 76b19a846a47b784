-- Tier settings: versions in force at an instant, and changes (TierSettings.swift).

-- The tiers of a program with their settings in force at p_at (a tier created later is absent).
-- Retention thresholds default to the entry thresholds.
CREATE FUNCTION points.tiers_at(p_program integer, p_at timestamptz)
RETURNS TABLE (tier text, rank smallint, entry_points bigint, entry_spend_minor bigint, retain_points bigint,
               retain_spend_minor bigint, multiplier numeric, birthday_bonus bigint, effective_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT t.tier, t.rank, s.entry_points, s.entry_spend_minor, coalesce(s.retain_points, s.entry_points),
           CASE WHEN s.entry_spend_minor IS NOT NULL THEN coalesce(s.retain_spend_minor, s.entry_spend_minor) END,
           s.multiplier, s.birthday_bonus, s.effective_at
    FROM points.tiers AS t
    CROSS JOIN LATERAL (
        SELECT ts.* FROM points.tier_settings AS ts
        WHERE ts.program_id = t.program_id AND ts.tier = t.tier AND ts.effective_at <= p_at
        ORDER BY ts.effective_at DESC LIMIT 1) AS s
    WHERE t.program_id = p_program
$$;

-- Creates a tier (p_rank given, with its entry points) or changes a tier's settings from
-- p_effective_at on; the other settings keep the values in force then. The settings in force
-- at every moment from then on must keep thresholds that rise with rank. Recorded with who,
-- when, before and after. Returns status 'changed', 'unchanged', 'in_past', 'unknown_tier' (a
-- new tier without a rank and entry points), 'rank_taken' (another tier has the rank) or
-- 'rank_fixed' (an existing tier's rank cannot change); thresholds that would not rise raise a
-- check_violation (constraint tier_thresholds_rise) naming the offending pair of tiers.
CREATE FUNCTION points.set_tier(
    p_program integer, p_tier text, p_rank smallint, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text)
RETURNS TABLE (status points.set_tier_status, effective_at timestamptz, detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_rank smallint;
    v_before points.tier_settings;
    v_after points.tier_settings;
    v_bad record;
BEGIN
    IF NOT points.begin_configuration_change(p_program, p_effective_at) THEN
        RETURN QUERY SELECT 'in_past'::points.set_tier_status, p_effective_at::timestamptz, NULL::text;
        RETURN;
    END IF;
    SELECT t.rank INTO v_rank FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = p_tier;
    IF NOT FOUND THEN
        IF p_rank IS NULL OR NOT p_changes ? 'entry_points' THEN
            RETURN QUERY SELECT 'unknown_tier'::points.set_tier_status, p_effective_at::timestamptz, NULL::text;
            RETURN;
        END IF;
        IF EXISTS (SELECT 1 FROM points.tiers AS t WHERE t.program_id = p_program AND t.rank = p_rank) THEN
            RETURN QUERY SELECT 'rank_taken'::points.set_tier_status, p_effective_at::timestamptz, t.tier FROM points.tiers AS t
                WHERE t.program_id = p_program AND t.rank = p_rank;
            RETURN;
        END IF;
        -- The trigger on tiers adds default settings from the beginning of time; a new tier
        -- exists from p_effective_at only.
        INSERT INTO points.tiers (program_id, tier, rank) VALUES (p_program, p_tier, p_rank);
        DELETE FROM points.tier_settings AS ts WHERE ts.program_id = p_program AND ts.tier = p_tier;
        v_after := jsonb_populate_record(
            ROW(p_program, p_tier, p_effective_at, 0, 0, NULL, NULL, NULL, 1)::points.tier_settings, p_changes);
    ELSE
        IF p_rank IS NOT NULL AND p_rank <> v_rank THEN
            RETURN QUERY SELECT 'rank_fixed'::points.set_tier_status, p_effective_at::timestamptz, v_rank::text;
            RETURN;
        END IF;
        SELECT ts.* INTO v_before FROM points.tier_settings AS ts
        WHERE ts.program_id = p_program AND ts.tier = p_tier AND ts.effective_at <= p_effective_at
        ORDER BY ts.effective_at DESC LIMIT 1;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'unknown_tier'::points.set_tier_status, p_effective_at::timestamptz, NULL::text;
            RETURN;
        END IF;
        v_after := jsonb_populate_record(v_before, p_changes);
        v_after.effective_at := p_effective_at;
        IF to_jsonb(v_after) - 'effective_at' = to_jsonb(v_before) - 'effective_at' THEN
            RETURN QUERY SELECT 'unchanged'::points.set_tier_status, v_before.effective_at, NULL::text;
            RETURN;
        END IF;
    END IF;
    DELETE FROM points.tier_settings AS ts
    WHERE ts.program_id = p_program AND ts.tier = p_tier AND ts.effective_at = p_effective_at;
    INSERT INTO points.tier_settings VALUES (v_after.*);

    -- Thresholds must rise with rank at every moment from p_effective_at on: entry points
    -- strictly, entry spend strictly where both tiers have one, retention never lower than a
    -- lower tier's. The entry tier's entry threshold is 0.
    SELECT CASE
        WHEN lo.rank = (SELECT min(t.rank) FROM points.tiers AS t WHERE t.program_id = p_program) AND lo.entry_points > 0 THEN
            format('the entry tier %s must have 0 entry points', lo.tier)
        WHEN hi.entry_points <= lo.entry_points THEN
            format('tier %s needs more entry points than tier %s (%s)', hi.tier, lo.tier, lo.entry_points)
        WHEN hi.entry_spend_minor <= lo.entry_spend_minor OR (lo.entry_spend_minor IS NOT NULL AND hi.entry_spend_minor IS NULL) THEN
            format('tier %s needs an entry spend above that of tier %s, which has one', hi.tier, lo.tier)
        ELSE format('tier %s needs retention thresholds at least those of tier %s', hi.tier, lo.tier)
        END AS problem, moments.at INTO v_bad
    FROM (SELECT p_effective_at AS at UNION
          SELECT ts.effective_at FROM points.tier_settings AS ts
          WHERE ts.program_id = p_program AND ts.effective_at > p_effective_at) AS moments
    CROSS JOIN LATERAL points.tiers_at(p_program, moments.at) AS lo
    JOIN LATERAL points.tiers_at(p_program, moments.at) AS hi ON hi.rank > lo.rank
    WHERE hi.entry_points <= lo.entry_points
       OR hi.entry_spend_minor <= lo.entry_spend_minor
       OR (lo.entry_spend_minor IS NOT NULL AND hi.entry_spend_minor IS NULL AND lo.rank > 0)
       OR hi.retain_points < lo.retain_points
       OR hi.retain_spend_minor < lo.retain_spend_minor
       OR (lo.rank = (SELECT min(t.rank) FROM points.tiers AS t WHERE t.program_id = p_program) AND lo.entry_points > 0)
    ORDER BY moments.at, lo.rank, hi.rank
    LIMIT 1;
    IF FOUND THEN
        -- Undoes this call's writes: thresholds that do not rise are never stored.
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'tier_thresholds_rise',
            MESSAGE = v_bad.problem || CASE WHEN v_bad.at > p_effective_at THEN format(' (from %s)', v_bad.at) ELSE '' END;
    END IF;
    PERFORM points.refresh_ladder(p_program);
    INSERT INTO points.configuration_changes (program_id, subject, actor, effective_at, before, after)
    VALUES (p_program, 'tier ' || p_tier, p_actor, p_effective_at,
            to_jsonb(v_before) - 'program_id' - 'tier' - 'effective_at',
            to_jsonb(v_after) - 'program_id' - 'tier' - 'effective_at' || jsonb_build_object('rank', coalesce(v_rank, p_rank)));
    RETURN QUERY SELECT 'changed'::points.set_tier_status, p_effective_at::timestamptz, NULL::text;
END
$$;

GRANT EXECUTE ON FUNCTION points.tiers_at(integer, timestamptz) TO {{writer}}, {{auditor}};
