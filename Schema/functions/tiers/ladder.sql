-- The ladder on the program's row: multipliers and thresholds a posting reads without a query.

CREATE FUNCTION points.refresh_ladder(p_program integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_since timestamptz;
BEGIN
    SELECT max(ts.effective_at) INTO v_since FROM points.tier_settings AS ts WHERE ts.program_id = p_program;
    UPDATE points.programs AS p SET
        ladder_since = v_since,
        ladder_tiers = l.tiers, ladder_points = l.entry_points, ladder_spend = l.entry_spend,
        ladder_multipliers = l.multipliers
    FROM (SELECT array_agg(t.tier ORDER BY t.rank) AS tiers, array_agg(t.entry_points ORDER BY t.rank) AS entry_points,
                 array_agg(t.entry_spend_minor ORDER BY t.rank) AS entry_spend,
                 array_agg(t.multiplier ORDER BY t.rank) AS multipliers
          FROM points.tiers_at(p_program, v_since) AS t) AS l
    WHERE p.program_id = p_program;
END
$$;

-- The multiplier of tier p_tier at p_at: from the program's ladder when p_at is within it (no
-- query; one expression, so the planner inlines it into the caller), else from the version in
-- force then.
CREATE FUNCTION points.multiplier_at(p_program integer, p_tier text, p_at timestamptz) RETURNS numeric
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_multiplier numeric;
BEGIN
    SELECT ts.multiplier INTO v_multiplier FROM points.tier_settings AS ts
    WHERE ts.program_id = p_program AND ts.tier = p_tier AND ts.effective_at <= p_at
    ORDER BY ts.effective_at DESC LIMIT 1;
    RETURN v_multiplier;
END
$$;

CREATE FUNCTION points.multiplier_in_force(
    p_program integer, p_tier text, p_at timestamptz, p_ladder_since timestamptz, p_ladder_tiers text[],
    p_ladder_multipliers numeric[])
RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_at >= p_ladder_since THEN p_ladder_multipliers[array_position(p_ladder_tiers, p_tier)]
                ELSE points.multiplier_at(p_program, p_tier, p_at) END
$$;

-- The highest tier above p_earned whose entry threshold the totals reach at p_at, or NULL: from
-- the program's ladder when p_at is within it (no query), else from the versions in force then.
CREATE FUNCTION points.tier_reached_above(
    p_program integer, p_earned text, p_at timestamptz, p_points bigint, p_spend_minor bigint,
    p_ladder_since timestamptz, p_ladder_tiers text[], p_ladder_points bigint[], p_ladder_spend bigint[])
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_tier text;
BEGIN
    IF p_at >= p_ladder_since THEN
        FOR i IN REVERSE cardinality(p_ladder_tiers) .. coalesce(array_position(p_ladder_tiers, p_earned), 0) + 1 LOOP
            IF p_ladder_points[i] <= p_points OR p_ladder_spend[i] <= p_spend_minor THEN
                RETURN p_ladder_tiers[i];
            END IF;
        END LOOP;
        RETURN NULL;
    END IF;
    SELECT r.tier INTO v_tier FROM points.tiers_at(p_program, p_at) AS r
    WHERE r.rank > (SELECT t.rank FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = p_earned)
      AND (r.entry_points <= p_points OR r.entry_spend_minor <= p_spend_minor)
    ORDER BY r.rank DESC LIMIT 1;
    RETURN v_tier;
END
$$;

-- Whether the totals may reach a tier above p_earned at p_at: false only when the ladder applies
-- and no higher tier's entry threshold is reached, which is what most postings find. One
-- expression, so the planner inlines it and a posting calls tier_reached_above only when it may
-- find a tier.
CREATE FUNCTION points.may_reach_above(
    p_earned text, p_at timestamptz, p_points bigint, p_spend_minor bigint,
    p_ladder_since timestamptz, p_ladder_tiers text[], p_ladder_points bigint[], p_ladder_spend bigint[])
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (p_at < p_ladder_since) IS NOT FALSE
        OR p_points >= ANY (p_ladder_points[coalesce(array_position(p_ladder_tiers, p_earned), 0) + 1:])
        OR coalesce(p_spend_minor >= ANY (p_ladder_spend[coalesce(array_position(p_ladder_tiers, p_earned), 0) + 1:]), false)
$$;
