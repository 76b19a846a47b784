-- Qualification: upgrades at once when an event's totals reach a tier, and what refunds undo.

-- In an open period (one not evaluated yet: p_at is not before p_tiers_closed_until), moves a
-- member up at once from p_earned to the highest tier whose entry threshold the totals of the
-- period starting p_period reach (by the program's ladder, tiers/ladder.sql), and records it: the
-- event p_entry crossed the threshold. Returns the new tier, or NULL. The caller holds the
-- member's row lock.
CREATE FUNCTION points.upgrade_if_reached(
    p_program integer, p_member text, p_earned text, p_at timestamptz, p_period date, p_points bigint, p_spend_minor bigint,
    p_entry bigint, p_tiers_closed_until timestamptz, p_ladder_since timestamptz, p_ladder_tiers text[],
    p_ladder_points bigint[], p_ladder_spend bigint[])
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_to text;
BEGIN
    IF p_at < coalesce(p_tiers_closed_until, '-infinity') THEN
        RETURN NULL;
    END IF;
    v_to := points.tier_reached_above(p_program, p_earned, p_at, p_points, p_spend_minor, p_ladder_since, p_ladder_tiers,
        p_ladder_points, p_ladder_spend);
    IF v_to IS NOT NULL THEN
        UPDATE points.members AS m SET
            tier = v_to,
            tier_before_upgrade = CASE WHEN m.tier_reached_period = p_period THEN m.tier_before_upgrade ELSE p_earned END,
            tier_reached_period = p_period,
            override_until = NULL,
            override_previous = NULL
        WHERE m.program_id = p_program AND m.member_id = p_member;
        INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause, period_start,
                                         qualifying_points, qualifying_spend_minor, entry_id)
        VALUES (p_program, p_member, p_at, p_earned, v_to, 'upgrade', p_period, p_points, p_spend_minor, p_entry);
    END IF;
    RETURN v_to;
END
$$;

-- Adds an event's qualifying points and spend to the totals of its period
-- (tiers/qualifying_totals.sql) and moves the member up at once if they reach a higher tier in
-- an open period. The caller holds the member's row lock and has already posted the event (at
-- the multiplier of the tier before it). Returns the new tier, or NULL. (Task completions and
-- the like; a purchase takes the same two steps with the member's row it has read.)
CREATE FUNCTION points.qualify(
    p_program integer, p_member text, p_at timestamptz, p_points bigint, p_spend_minor bigint, p_entry bigint)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_period record := points.tier_period_at(p_program, p_at);
    v_totals record;
    v_row record;
BEGIN
    SELECT * INTO v_totals FROM points.add_qualifying(p_program, p_member, v_period.period_start, p_points, p_spend_minor);
    -- A closed period moves nobody up; nor do totals below every higher tier's threshold.
    IF v_period.closed THEN
        RETURN NULL;
    END IF;
    SELECT CASE WHEN m.override_until <= p_at THEN m.override_previous ELSE m.tier END AS earned, p.tiers_closed_until,
           p.ladder_since, p.ladder_tiers, p.ladder_points, p.ladder_spend
    INTO v_row
    FROM points.members AS m JOIN points.programs AS p ON p.program_id = m.program_id
    WHERE m.program_id = p_program AND m.member_id = p_member;
    IF NOT points.may_reach_above(v_row.earned, p_at, v_totals.total_points, v_totals.total_spend,
           v_row.ladder_since, v_row.ladder_tiers, v_row.ladder_points, v_row.ladder_spend) THEN
        RETURN NULL;
    END IF;
    RETURN points.upgrade_if_reached(p_program, p_member, v_row.earned, p_at, v_period.period_start, v_totals.total_points,
        v_totals.total_spend, p_entry, v_row.tiers_closed_until, v_row.ladder_since, v_row.ladder_tiers, v_row.ladder_points,
        v_row.ladder_spend);
END
$$;

-- Takes a refund's clawed-back points and refunded spend off the totals of the period of its
-- purchase (p_purchase_at). If the member's tier was reached by an upgrade in that period and
-- the period is still open, the member returns to the higher of the tier held before the
-- period's first upgrade and the highest tier whose entry threshold the remaining totals still
-- reach (by the settings in force at the refund, p_at). The caller holds the member's row lock.
-- Returns the new tier, or NULL.
CREATE FUNCTION points.disqualify(
    p_program integer, p_member text, p_purchase_at timestamptz, p_points bigint, p_spend_minor bigint,
    p_at timestamptz, p_entry bigint)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_purchase_period record := points.tier_period_at(p_program, p_purchase_at);
    v_period date := v_purchase_period.period_start;
    v_totals record;
    v_member record;
    v_reach record;
    v_to text;
BEGIN
    IF p_points = 0 AND p_spend_minor = 0 THEN
        RETURN NULL;
    END IF;
    UPDATE points.members AS m SET q_points = m.q_points - p_points, q_spend = m.q_spend - p_spend_minor
    WHERE m.program_id = p_program AND m.member_id = p_member AND m.q_period = v_period
    RETURNING m.q_points AS points, m.q_spend AS spend_minor INTO v_totals;
    IF NOT FOUND THEN
        UPDATE points.qualifying_totals AS q SET points = q.points - p_points, spend_minor = q.spend_minor - p_spend_minor
        WHERE q.program_id = p_program AND q.member_id = p_member AND q.period_start = v_period
        RETURNING q.points, q.spend_minor INTO v_totals;
    END IF;
    IF v_purchase_period.closed THEN
        RETURN NULL;
    END IF;
    SELECT m.tier, cur.rank, m.tier_before_upgrade, before.rank AS before_rank INTO v_member
    FROM points.members AS m
    JOIN points.tiers AS cur ON cur.program_id = m.program_id AND cur.tier = m.tier
    JOIN points.tiers AS before ON before.program_id = m.program_id AND before.tier = m.tier_before_upgrade
    WHERE m.program_id = p_program AND m.member_id = p_member AND m.tier_reached_period = v_period;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT r.tier, r.rank INTO v_reach FROM points.tiers_at(p_program, p_at) AS r
    WHERE r.entry_points <= v_totals.points OR r.entry_spend_minor <= v_totals.spend_minor
    ORDER BY r.rank DESC LIMIT 1;
    v_to := CASE WHEN v_reach.rank > v_member.before_rank THEN v_reach.tier ELSE v_member.tier_before_upgrade END;
    IF v_to = v_member.tier OR coalesce(v_reach.rank, 0) >= v_member.rank THEN
        RETURN NULL;
    END IF;
    UPDATE points.members AS m SET
        tier = v_to,
        tier_reached_period = CASE WHEN v_to = m.tier_before_upgrade THEN NULL ELSE m.tier_reached_period END,
        tier_before_upgrade = CASE WHEN v_to = m.tier_before_upgrade THEN NULL ELSE m.tier_before_upgrade END
    WHERE m.program_id = p_program AND m.member_id = p_member;
    INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause, period_start,
                                     qualifying_points, qualifying_spend_minor, entry_id)
    VALUES (p_program, p_member, p_at, v_member.tier, v_to, 'refund', v_period, v_totals.points, v_totals.spend_minor, p_entry);
    RETURN v_to;
END
$$;
