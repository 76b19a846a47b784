-- The effective tier, grants and overrides (TierStanding.swift).

-- The tier that applies to a member at p_at, whose earned tier is p_earned: the highest of it
-- and the tiers of the grants active then.
CREATE FUNCTION points.effective_tier(p_program integer, p_member text, p_earned text, p_at timestamptz) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_tier text;
BEGIN
    SELECT g.tier INTO v_tier
    FROM points.tier_grants AS g
    JOIN points.tiers AS gt ON gt.program_id = g.program_id AND gt.tier = g.tier
    JOIN points.tiers AS et ON et.program_id = g.program_id AND et.tier = p_earned
    WHERE g.program_id = p_program AND g.member_id = p_member AND g.starts_at <= p_at AND g.ends_at > p_at
      AND gt.rank > et.rank
    ORDER BY gt.rank DESC LIMIT 1;
    RETURN coalesce(v_tier, p_earned);
END
$$;

-- The tier whose multiplier and benefits apply to a member row at p_at: its earned tier (the
-- one before an override that has ended by then), raised by any active grant.
CREATE FUNCTION points.tier_at(p_program integer, p_member text, p_tier text, p_override_until timestamptz,
                               p_override_previous text, p_granted_until timestamptz, p_at timestamptz) RETURNS text
-- One expression without FROM, so the planner inlines it into the caller's query (a FROM made
-- every purchase run it through the SQL-function executor: a tenth of the purchase's time).
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_granted_until > p_at
                THEN points.effective_tier(p_program, p_member,
                         CASE WHEN p_override_until <= p_at THEN p_override_previous ELSE p_tier END, p_at)
                ELSE CASE WHEN p_override_until <= p_at THEN p_override_previous ELSE p_tier END END
$$;

-- Grants a member tier p_tier for a term from p_from (NULL: now). The same grant again (by key
-- when one is given, else by member, tier, term and start) posts nothing. Returns status
-- 'granted', 'exists', 'conflict' (the key names another grant), 'unknown_member' or
-- 'unknown_tier', with the grant and the member's effective tier at its start before and after.
CREATE FUNCTION points.grant_tier(
    p_program integer, p_member points.member_key, p_tier text, p_term text, p_from points.event_time, p_actor points.label_text, p_key points.idempotency_key)
RETURNS TABLE (status points.grant_tier_status, grant_id bigint, starts_at timestamptz, ends_at timestamptz, tier_before text,
               tier_after text)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_member points.members;
    v_time_zone text;
    v_ends timestamptz;
    v_grant bigint;
    v_before text;
    v_after text;
    v_existing points.tier_grants;
BEGIN
    SELECT m.* INTO v_member FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = p_member FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member'::points.grant_tier_status, NULL::bigint, NULL::timestamptz, NULL::timestamptz,
            NULL::text, NULL::text;
        RETURN;
    END IF;
    SELECT g.* INTO v_existing FROM points.tier_grants AS g WHERE g.program_id = p_program AND g.grant_key = p_key;
    IF FOUND THEN
        RETURN QUERY SELECT
            CASE WHEN v_existing.member_id = p_member AND v_existing.tier = p_tier AND v_existing.term = p_term
                      AND v_existing.starts_at = coalesce(p_from::timestamptz, v_existing.starts_at) THEN 'exists' ELSE 'conflict' END
                ::points.grant_tier_status,
            v_existing.grant_id, v_existing.starts_at, v_existing.ends_at,
            points.tier_at(p_program, p_member, v_member.tier, v_member.override_until, v_member.override_previous,
                           v_member.granted_until, v_existing.starts_at),
            points.tier_at(p_program, p_member, v_member.tier, v_member.override_until, v_member.override_previous,
                           v_member.granted_until, v_existing.starts_at);
        RETURN;
    END IF;
    p_from := coalesce(p_from, now());
    IF NOT EXISTS (SELECT 1 FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = p_tier) THEN
        RETURN QUERY SELECT 'unknown_tier'::points.grant_tier_status, NULL::bigint, NULL::timestamptz, NULL::timestamptz,
            NULL::text, NULL::text;
        RETURN;
    END IF;
    SELECT p.time_zone INTO v_time_zone FROM points.programs AS p WHERE p.program_id = p_program;
    v_ends := points.tier_period_end(p_term, p_from AT TIME ZONE v_time_zone, v_time_zone);
    v_before := points.tier_at(p_program, p_member, v_member.tier, v_member.override_until, v_member.override_previous,
                               v_member.granted_until, p_from);
    INSERT INTO points.tier_grants AS g (program_id, member_id, tier, term, starts_at, ends_at, actor, grant_key)
    VALUES (p_program, p_member, p_tier, p_term, p_from, v_ends, p_actor, p_key)
    ON CONFLICT ON CONSTRAINT grant_once DO NOTHING
    RETURNING g.grant_id INTO v_grant;
    IF v_grant IS NULL THEN
        RETURN QUERY SELECT 'exists'::points.grant_tier_status, g.grant_id, g.starts_at, g.ends_at, v_before, v_before
            FROM points.tier_grants AS g
            WHERE g.program_id = p_program AND g.member_id = p_member AND g.tier = p_tier AND g.term = p_term AND g.starts_at = p_from::timestamptz;
        RETURN;
    END IF;
    UPDATE points.members AS m SET granted_until = greatest(m.granted_until, v_ends)
    WHERE m.program_id = p_program AND m.member_id = p_member;
    v_after := points.tier_at(p_program, p_member, v_member.tier, v_member.override_until, v_member.override_previous,
                              greatest(v_member.granted_until, v_ends), p_from);
    IF v_after <> v_before THEN
        INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause, reason, actor)
        VALUES (p_program, p_member, p_from, v_before, v_after, 'grant', format('%s grant until %s', p_term, v_ends), p_actor);
    END IF;
    RETURN QUERY SELECT 'granted'::points.grant_tier_status, v_grant, p_from::timestamptz, v_ends, v_before, v_after;
END
$$;

-- Sets a member's earned tier by hand, with a reason, until p_until (NULL: until the next
-- evaluation or upgrade changes it). Returns status 'overridden', 'unchanged' (already so),
-- 'unknown_member' or 'unknown_tier', with the earned tier before.
CREATE FUNCTION points.override_tier(
    p_program integer, p_member points.member_key, p_tier text, p_reason points.label_text, p_until points.event_time, p_actor points.label_text)
RETURNS TABLE (status points.override_tier_status, tier_before text)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_member points.members;
    v_ended boolean;
BEGIN
    SELECT m.* INTO v_member FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = p_member FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member'::points.override_tier_status, NULL::text;
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = p_tier) THEN
        RETURN QUERY SELECT 'unknown_tier'::points.override_tier_status, NULL::text;
        RETURN;
    END IF;
    -- The earned tier now: the one before an override that has ended (jobs tiers may not have
    -- recorded its end yet).
    v_ended := v_member.override_until <= now();
    IF v_ended THEN
        v_member.tier := v_member.override_previous;
        v_member.override_until := NULL;
    ELSIF v_member.tier = p_tier AND v_member.override_until IS NOT DISTINCT FROM p_until THEN
        RETURN QUERY SELECT 'unchanged'::points.override_tier_status, v_member.tier;
        RETURN;
    END IF;
    IF v_ended THEN
        -- The old override's end, which jobs tiers has not recorded yet.
        INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause)
        SELECT p_program, p_member, m.override_until, m.tier, m.override_previous, 'override_end'
        FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = p_member;
    END IF;
    UPDATE points.members AS m SET
        tier = p_tier,
        override_until = p_until,
        -- An override of an override returns, at its end, to the tier before the first.
        override_previous = CASE WHEN p_until IS NULL THEN NULL
                                 WHEN m.override_until > now() THEN m.override_previous ELSE v_member.tier END,
        tier_reached_period = NULL,
        tier_before_upgrade = NULL
    WHERE m.program_id = p_program AND m.member_id = p_member;
    INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause, reason, actor)
    VALUES (p_program, p_member, now(), v_member.tier, p_tier, 'override',
            p_reason || CASE WHEN p_until IS NOT NULL THEN format(' (until %s)', p_until) ELSE '' END, p_actor);
    RETURN QUERY SELECT 'overridden'::points.override_tier_status, v_member.tier;
END
$$;

-- Read by the member's tier standing, which points-server serves as the writer.
GRANT EXECUTE ON FUNCTION points.effective_tier(integer, text, text, timestamptz) TO {{writer}}, {{auditor}};
GRANT EXECUTE ON FUNCTION points.tier_at(integer, text, text, timestamptz, text, timestamptz, timestamptz) TO {{writer}}, {{auditor}};
