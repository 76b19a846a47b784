-- Period-end tier evaluation (TierEvaluation.swift).

-- The period to evaluate next, if it has ended by p_as_of: one already started and not finished,
-- else the one after the last finished (the first: the period of the program's creation or of
-- its oldest qualifying totals, whichever is earlier). Starts it. Returns nothing when no period
-- is due.
CREATE FUNCTION points.next_tier_period(p_program integer, p_as_of points.event_time)
RETURNS TABLE (period_start date, period_kind text, period_end timestamptz, resumed boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_time_zone text;
    v_from timestamptz;
    v_created timestamptz;
    v_kind text;
    v_start date;
BEGIN
    PERFORM points.check_as_of(p_as_of);
    SELECT p.time_zone, p.created_at INTO v_time_zone, v_created FROM points.programs AS p
    WHERE p.program_id = p_program FOR UPDATE;
    RETURN QUERY SELECT e.period_start, e.period_kind, e.period_end, true FROM points.tier_evaluations AS e
        WHERE e.program_id = p_program AND e.finished_at IS NULL;
    IF FOUND THEN
        RETURN;
    END IF;
    SELECT e.period_end INTO v_from FROM points.tier_evaluations AS e
    WHERE e.program_id = p_program ORDER BY e.period_start DESC LIMIT 1;
    IF NOT FOUND THEN
        v_from := least(v_created,
            (SELECT min(q.period_start)::timestamp AT TIME ZONE v_time_zone FROM points.qualifying_totals AS q WHERE q.program_id = p_program),
            (SELECT min(m.q_period)::timestamp AT TIME ZONE v_time_zone FROM points.members AS m WHERE m.program_id = p_program));
    END IF;
    v_kind := (points.settings_at(p_program, v_from)).tier_period;
    v_start := points.tier_period_start(v_kind, v_from, v_time_zone);
    IF points.tier_period_end(v_kind, v_start, v_time_zone) > least(p_as_of, now()) THEN
        RETURN;
    END IF;
    INSERT INTO points.tier_evaluations AS e (program_id, period_start, period_kind, period_end)
    VALUES (p_program, v_start, v_kind, points.tier_period_end(v_kind, v_start, v_time_zone));
    RETURN QUERY SELECT v_start, v_kind, points.tier_period_end(v_kind, v_start, v_time_zone), false;
END
$$;

-- Evaluates the next p_limit members (in id order) for the period being evaluated, which starts
-- p_period_start, by the tier settings and downgrade policy in force at its last instant:
-- a member who reached their tier during the period (or later: a late run) keeps it; one whose totals meet their tier's
-- retention threshold keeps it; the others move down by the policy. Nobody ends below the
-- highest tier whose entry threshold their totals reach (totals that were loaded late, or
-- thresholds lowered during the period). A tier raised here counts as reached in the period.
-- When no member is left, the evaluation is finished and the period closed. Idempotent and
-- resumable. Returns the members evaluated and changed in this chunk, and whether it finished.
CREATE FUNCTION points.evaluate_tiers(p_program integer, p_period_start date, p_limit integer)
RETURNS TABLE (members integer, changed integer, finished boolean)
-- Plans that stay linear in the chunk whatever the statistics say: index probes per member
-- (never a scan of the program's members or totals), and no JIT for these few-millisecond
-- statements.
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off AS $$
DECLARE
    v_evaluation points.tier_evaluations;
    v_at timestamptz;
    v_policy text;
    v_members integer;
    v_changed integer;
    v_chunk text[];
BEGIN
    SELECT e.* INTO v_evaluation FROM points.tier_evaluations AS e
    WHERE e.program_id = p_program AND e.period_start = p_period_start FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the period starting % is not being evaluated', p_period_start USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_evaluation.finished_at IS NOT NULL THEN
        RETURN QUERY SELECT 0, 0, true;
        RETURN;
    END IF;
    v_at := v_evaluation.period_end - interval '1 microsecond';
    v_policy := (points.settings_at(p_program, v_at)).downgrade;

    -- The chunk's members are locked first, in id order; the statement below then reads their
    -- rows and totals afresh, after every posting that held one of those locks has committed (a
    -- posting may move a period's totals from the member's row to qualifying_totals).
    SELECT array_agg(l.member_id ORDER BY l.member_id) INTO v_chunk FROM (
        SELECT m.member_id FROM points.members AS m
        WHERE m.program_id = p_program AND m.member_id > coalesce(v_evaluation.cursor, '')
        ORDER BY m.member_id LIMIT p_limit
        FOR UPDATE) AS l;
    IF v_chunk IS NULL THEN
        UPDATE points.tier_evaluations AS e SET finished_at = now()
        WHERE e.program_id = p_program AND e.period_start = p_period_start;
        UPDATE points.programs AS p SET tiers_closed_until = greatest(p.tiers_closed_until, v_evaluation.period_end)
        WHERE p.program_id = p_program;
        RETURN QUERY SELECT 0, 0, true;
        RETURN;
    END IF;

    -- One statement: decide each member of the chunk, move those whose tier changes, record the
    -- changes and count the members by the tier they had and got. A member whose totals in a
    -- later period (already under way) reach a higher tier goes there: upgrades are immediate.
    WITH thresholds AS MATERIALIZED (
        SELECT * FROM points.tiers_at(p_program, v_at)
    ), chunk AS MATERIALIZED (
        SELECT m.member_id, m.tier, cur.rank, m.tier_reached_period,
               CASE WHEN m.q_period = p_period_start THEN m.q_points ELSE coalesce(q.points, 0) END AS points,
               CASE WHEN m.q_period = p_period_start THEN m.q_spend ELSE coalesce(q.spend_minor, 0) END AS spend_minor,
               m.q_period, m.q_points, m.q_spend
        FROM points.members AS m
        JOIN points.tiers AS cur ON cur.program_id = m.program_id AND cur.tier = m.tier
        LEFT JOIN points.qualifying_totals AS q
            ON q.program_id = m.program_id AND q.member_id = m.member_id AND q.period_start = p_period_start
        WHERE m.program_id = p_program AND m.member_id = ANY (v_chunk)
    ), decided AS MATERIALIZED (
        SELECT c.member_id, c.tier AS from_tier, c.rank, c.points, c.spend_minor, c.q_period,
               max(t.rank) FILTER (WHERE c.q_period > p_period_start
                                     AND (t.entry_points <= c.q_points OR t.entry_spend_minor <= c.q_spend)) AS later_rank,
               greatest(
                   max(t.rank) FILTER (WHERE t.entry_points <= c.points OR t.entry_spend_minor <= c.spend_minor),
                   CASE WHEN c.tier_reached_period >= p_period_start
                             OR max(t.rank) FILTER (WHERE t.retain_points <= c.points OR t.retain_spend_minor <= c.spend_minor) >= c.rank
                        THEN c.rank
                        WHEN v_policy = 'one_level' THEN greatest(
                            max(t.rank) FILTER (WHERE t.rank < c.rank),
                            max(t.rank) FILTER (WHERE t.retain_points <= c.points OR t.retain_spend_minor <= c.spend_minor))
                        ELSE max(t.rank) FILTER (WHERE t.retain_points <= c.points OR t.retain_spend_minor <= c.spend_minor) END)
               AS period_rank
        FROM chunk AS c CROSS JOIN thresholds AS t
        GROUP BY c.member_id, c.tier, c.rank, c.points, c.spend_minor, c.tier_reached_period, c.q_period, c.q_points, c.q_spend
    ), outcome AS MATERIALIZED (
        SELECT d.*, greatest(d.period_rank, d.later_rank) AS to_rank, t.tier AS to_tier,
               CASE WHEN d.later_rank > d.period_rank THEN d.q_period ELSE p_period_start END AS reached_in
        FROM decided AS d JOIN thresholds AS t ON t.rank = greatest(d.period_rank, d.later_rank)
    ), moved AS (
        UPDATE points.members AS m SET
            tier = o.to_tier,
            tier_before_upgrade = CASE WHEN o.to_rank > o.rank THEN o.from_tier END,
            tier_reached_period = CASE WHEN o.to_rank > o.rank THEN o.reached_in END,
            override_until = NULL,
            override_previous = NULL
        FROM outcome AS o
        WHERE o.to_tier <> o.from_tier AND m.program_id = p_program AND m.member_id = o.member_id
    ), recorded AS (
        INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause, period_start,
                                         qualifying_points, qualifying_spend_minor)
        SELECT p_program, o.member_id, v_evaluation.period_end, o.from_tier, o.to_tier, 'evaluation', p_period_start,
               o.points, o.spend_minor
        FROM outcome AS o WHERE o.to_tier <> o.from_tier
    ), counted AS (
        INSERT INTO points.tier_evaluation_counts AS n (program_id, period_start, from_tier, to_tier, members)
        SELECT p_program, p_period_start, o.from_tier, o.to_tier, count(*) FROM outcome AS o GROUP BY o.from_tier, o.to_tier
        ON CONFLICT ON CONSTRAINT tier_evaluation_counts_pkey DO UPDATE SET members = n.members + EXCLUDED.members
    )
    SELECT count(*), count(*) FILTER (WHERE o.to_tier <> o.from_tier)
    INTO v_members, v_changed
    FROM outcome AS o;
    UPDATE points.tier_evaluations AS e SET cursor = v_chunk[cardinality(v_chunk)]
    WHERE e.program_id = p_program AND e.period_start = p_period_start;
    RETURN QUERY SELECT v_members, v_changed, false;
END
$$;
