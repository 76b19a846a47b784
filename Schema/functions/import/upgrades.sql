-- Bulk import, the upgrades a batch's lines make, in line order (PurchaseImport.swift; called
-- by import_purchase_batch, import/purchase_import.sql).

-- The third stage of a batch: finds its upgrades (pg_temp.import_crossings) and prices again
-- the lines that follow one.
CREATE FUNCTION points.import_find_upgrades(
    p_program integer, p_row points.programs, p_exponent smallint, p_multiplied boolean)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
BEGIN
    -- Upgrades in line order, as the same purchases posted one by one make them: a line whose
    -- period's totals (with it) reach a higher tier's entry threshold, in a period not yet
    -- evaluated, moves its member up at once; it earned at the old multiplier, the member's later
    -- lines earn at the new one. Each pass finds every member's next crossing, set-based, and
    -- prices the lines after it again; a member crosses at most once per tier above it, so the
    -- passes end.
    CREATE TEMP TABLE import_tiers ON COMMIT DROP AS
    SELECT i.member_id, i.tier, i.override_until, i.override_previous, i.granted_until, i.q_period, i.q_points, i.q_spend,
           0::bigint AS settled_line, false AS done
    FROM pg_temp.import_members AS i
    WHERE EXISTS (SELECT FROM pg_temp.import_work AS w WHERE w.member_id = i.member_id AND w.status IS NULL);
    ANALYZE pg_temp.import_tiers;
    CREATE TEMP TABLE import_crossings (
        member_id text COLLATE "C", line bigint, entry_id bigint, occurred_at timestamptz, period_start date,
        from_tier text, to_tier text, q_points bigint, q_spend bigint) ON COMMIT DROP;
    LOOP
        WITH running AS (
            -- Each posted line's period totals with it: what the period held before the batch, and
            -- the member's lines of that period up to it.
            SELECT w.member_id, w.line, w.entry_id, w.occurred_at, w.period_start,
                   (coalesce(base.points, 0) + sum(w.points) OVER per_period)::bigint AS q_points,
                   (coalesce(base.spend, 0) + sum(w.amount_minor - w.points_paid_minor) OVER per_period)::bigint AS q_spend
            FROM pg_temp.import_work AS w
            JOIN pg_temp.import_tiers AS t ON t.member_id = w.member_id AND NOT t.done
            LEFT JOIN LATERAL (
                SELECT t.q_points AS points, t.q_spend AS spend WHERE w.period_start = t.q_period
                UNION ALL
                SELECT q.points, q.spend_minor FROM points.qualifying_totals AS q
                WHERE w.period_start < t.q_period AND q.program_id = p_program AND q.member_id = w.member_id
                  AND q.period_start = w.period_start) AS base ON true
            WHERE w.status IS NULL
            WINDOW per_period AS (PARTITION BY w.member_id, w.period_start ORDER BY w.line)
        ), crossing AS (
            SELECT DISTINCT ON (r.member_id) r.*, e.earned AS from_tier,
                   points.tier_reached_above(p_program, e.earned, r.occurred_at, r.q_points, r.q_spend, p_row.ladder_since,
                       p_row.ladder_tiers, p_row.ladder_points, p_row.ladder_spend) AS to_tier
            FROM running AS r
            JOIN pg_temp.import_tiers AS t ON t.member_id = r.member_id
            CROSS JOIN LATERAL (
                SELECT CASE WHEN t.override_until <= r.occurred_at THEN t.override_previous ELSE t.tier END AS earned) AS e
            WHERE r.line > t.settled_line AND r.occurred_at >= coalesce(p_row.tiers_closed_until, '-infinity')
              -- From the ladder's time on, may_reach_above is exact, and the call above runs once per
              -- member, on its first crossing; before it (history older than the tiers' latest
              -- change), each candidate line asks the versions in force then.
              AND points.may_reach_above(e.earned, r.occurred_at, r.q_points, r.q_spend,
                      p_row.ladder_since, p_row.ladder_tiers, p_row.ladder_points, p_row.ladder_spend)
              AND CASE WHEN r.occurred_at >= p_row.ladder_since THEN true
                       ELSE points.tier_reached_above(p_program, e.earned, r.occurred_at, r.q_points, r.q_spend,
                                p_row.ladder_since, p_row.ladder_tiers, p_row.ladder_points, p_row.ladder_spend) IS NOT NULL END
            ORDER BY r.member_id, r.line
        ), found AS (
            INSERT INTO pg_temp.import_crossings AS x
            SELECT c.member_id, c.line, c.entry_id, c.occurred_at, c.period_start, c.from_tier, c.to_tier, c.q_points, c.q_spend
            FROM crossing AS c
            RETURNING x.member_id, x.line, x.to_tier
        )
        UPDATE pg_temp.import_tiers AS t SET
            done = f.member_id IS NULL,
            tier = coalesce(f.to_tier, t.tier),
            override_until = CASE WHEN f.member_id IS NULL THEN t.override_until END,
            override_previous = CASE WHEN f.member_id IS NULL THEN t.override_previous END,
            settled_line = coalesce(f.line, t.settled_line)
        FROM pg_temp.import_tiers AS t2 LEFT JOIN found AS f ON f.member_id = t2.member_id
        WHERE NOT t.done AND t2.member_id = t.member_id;
        EXIT WHEN NOT EXISTS (SELECT FROM pg_temp.import_tiers AS t WHERE NOT t.done);
        -- The lines after a crossing earn at the new tier's multiplier.
        IF p_multiplied THEN
            UPDATE pg_temp.import_work AS w SET (points, matures_at) = (
                SELECT x.points, points.purchase_matures_at(x.points, w.occurred_at, w.return_window_days, p_row.time_zone)
                FROM (SELECT points.purchase_points(w.amount_minor - w.points_paid_minor, p_exponent, w.earn_rate,
                          points.multiplier_in_force(p_program,
                              points.tier_at(p_program, t.member_id, t.tier, t.override_until, t.override_previous,
                                             t.granted_until, w.occurred_at),
                              w.occurred_at, p_row.ladder_since, p_row.ladder_tiers, p_row.ladder_multipliers),
                          w.rounding) AS points) AS x)
            FROM pg_temp.import_tiers AS t
            WHERE t.member_id = w.member_id AND NOT t.done AND w.line > t.settled_line AND w.status IS NULL;
        END IF;
    END LOOP;
END
$$;
