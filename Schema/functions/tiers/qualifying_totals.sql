-- Qualifying totals: each event's points and spend added to the totals of its period. The
-- member's row holds the totals of the member's latest period; qualifying_totals holds earlier
-- periods'. Purchases (earning/purchase.sql) and every other qualifying event follow this rule.

-- What an event of the period starting p_period, with p_points and p_spend_minor, does to a
-- member row whose totals are those of the period starting p_row_period: an event of that
-- period adds to them; an event of a later period starts the row afresh, and the row's totals,
-- of a period now past, are carried to qualifying_totals; an event of an earlier period leaves
-- the row as it is and is itself carried there. Returns the row's new period and totals, and
-- the period and totals carried (NULL: none). (plpgsql: a LANGUAGE sql function returning
-- several values is not inlined, and would be planned again on every call.)
CREATE FUNCTION points.qualifying_step(
    p_row_period date, p_row_points bigint, p_row_spend bigint, p_period date, p_points bigint, p_spend_minor bigint,
    OUT q_period date, OUT q_points bigint, OUT q_spend bigint,
    OUT carried_period date, OUT carried_points bigint, OUT carried_spend bigint)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_period < p_row_period THEN
        q_period := p_row_period;
        q_points := p_row_points;
        q_spend := p_row_spend;
        carried_period := p_period;
        carried_points := p_points;
        carried_spend := p_spend_minor;
    ELSIF p_period = p_row_period THEN
        q_period := p_period;
        q_points := p_row_points + p_points;
        q_spend := p_row_spend + p_spend_minor;
    ELSE
        q_period := p_period;
        q_points := p_points;
        q_spend := p_spend_minor;
        carried_period := p_row_period;
        carried_points := CASE WHEN p_row_period IS NOT NULL THEN p_row_points END;
        carried_spend := CASE WHEN p_row_period IS NOT NULL THEN p_row_spend END;
    END IF;
END
$$;

-- Writes to qualifying_totals what an event carries there, as points.qualifying_step worked it
-- out (called only when it carries something: p_carried_*), and returns the totals of the
-- event's period: the row's new totals (p_q_*) when the row now holds that period (a past period
-- the row held is new to qualifying_totals), else those in qualifying_totals (an earlier period,
-- which the event adds to). The caller holds the member's row lock and writes the row's part.
CREATE FUNCTION points.carry_qualifying(
    p_program integer, p_member text, p_row_holds_period boolean, p_q_points bigint, p_q_spend bigint,
    p_carried_period date, p_carried_points bigint, p_carried_spend bigint, OUT total_points bigint, OUT total_spend bigint)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_row_holds_period THEN
        IF p_carried_period IS NOT NULL THEN
            INSERT INTO points.qualifying_totals (program_id, member_id, period_start, points, spend_minor)
            VALUES (p_program, p_member, p_carried_period, p_carried_points, p_carried_spend);
        END IF;
        total_points := p_q_points;
        total_spend := p_q_spend;
    ELSE
        INSERT INTO points.qualifying_totals AS q (program_id, member_id, period_start, points, spend_minor)
        VALUES (p_program, p_member, p_carried_period, p_carried_points, p_carried_spend)
        ON CONFLICT ON CONSTRAINT qualifying_totals_pkey DO UPDATE
            SET points = q.points + EXCLUDED.points, spend_minor = q.spend_minor + EXCLUDED.spend_minor
        RETURNING q.points, q.spend_minor INTO total_points, total_spend;
    END IF;
END
$$;

-- Adds qualifying points and spend to a member's totals of the period starting p_period and
-- returns that period's totals. The caller holds the member's row lock.
CREATE FUNCTION points.add_qualifying(
    p_program integer, p_member text, p_period date, p_points bigint, p_spend_minor bigint,
    OUT total_points bigint, OUT total_spend bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_row record;
    v_step record;
BEGIN
    SELECT m.q_period, m.q_points, m.q_spend INTO v_row FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = p_member;
    v_step := points.qualifying_step(v_row.q_period, v_row.q_points, v_row.q_spend, p_period, p_points, p_spend_minor);
    IF v_step.q_period = p_period THEN
        UPDATE points.members AS m SET q_period = v_step.q_period, q_points = v_step.q_points, q_spend = v_step.q_spend
        WHERE m.program_id = p_program AND m.member_id = p_member;
    END IF;
    IF v_step.carried_period IS NULL THEN
        total_points := v_step.q_points;
        total_spend := v_step.q_spend;
    ELSE
        SELECT c.total_points, c.total_spend INTO total_points, total_spend
        FROM points.carry_qualifying(p_program, p_member, v_step.q_period = p_period, v_step.q_points, v_step.q_spend,
                                     v_step.carried_period, v_step.carried_points, v_step.carried_spend) AS c;
    END IF;
END
$$;
