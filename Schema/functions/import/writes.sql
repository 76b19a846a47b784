-- Bulk import, what a batch's posted lines write (PurchaseImport.swift; called by
-- import_purchase_batch, import/purchase_import.sql).

-- The changes an import batch worked out for its members (pg_temp.import_changes, in id order):
-- one new version of each member's row, found by a descent of the primary key per member whatever
-- the statistics say (see lock_members).
CREATE FUNCTION points.import_apply_member_changes(p_program integer) RETURNS void
LANGUAGE plpgsql SET enable_hashjoin = off SET enable_mergejoin = off SET enable_bitmapscan = off AS $$
BEGIN
    UPDATE points.members AS m SET
        available = m.available + c.available, pending = m.pending + c.pending, issued = m.issued - c.available - c.pending,
        first_purchase_at = coalesce(m.first_purchase_at, c.first_at),
        q_period = c.q_period, q_points = c.q_points, q_spend = c.q_spend,
        tier = coalesce(c.to_tier, m.tier),
        tier_before_upgrade = CASE WHEN c.to_tier IS NULL THEN m.tier_before_upgrade ELSE c.before_tier END,
        tier_reached_period = CASE WHEN c.to_tier IS NULL THEN m.tier_reached_period ELSE c.reached_period END,
        override_until = CASE WHEN c.to_tier IS NULL THEN m.override_until END,
        override_previous = CASE WHEN c.to_tier IS NULL THEN m.override_previous END
    FROM pg_temp.import_changes AS c
    WHERE m.program_id = p_program AND m.member_id = c.member_id;
END
$$;

-- The last stage of a batch: the posted lines' postings, purchases and lots, the members'
-- qualifying totals, upgrades and balances (one new version of each member's row), and the
-- referral bonuses their first purchases pay.
CREATE FUNCTION points.import_write_lines(p_program integer, p_backdated boolean, p_referrals boolean)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_referral record;
BEGIN
    INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
    SELECT p_program, w.member_id, w.entry_id, 1, 'issued',
           CASE WHEN w.matures_at IS NULL THEN 'available' ELSE 'pending' END::points.account, w.points, w.occurred_at
    FROM pg_temp.import_work AS w
    WHERE w.status IS NULL AND w.points > 0;

    -- Each with the member's balances after it, as a single purchase answers (and its replay
    -- reads back): the balances the batch found, plus the member's lines up to this one.
    INSERT INTO points.purchases
        (program_id, member_id, order_id, entry_id, occurred_at, amount_minor, points_paid_minor, points, pending_points, matures_at,
         available_after, pending_after)
    SELECT p_program, w.member_id, w.order_id, w.entry_id, w.occurred_at, w.amount_minor, w.points_paid_minor, w.points,
           CASE WHEN w.matures_at IS NULL THEN 0 ELSE w.points END, w.matures_at,
           coalesce(i.available, 0) + sum(CASE WHEN w.matures_at IS NULL THEN w.points ELSE 0 END)
               OVER (PARTITION BY w.member_id ORDER BY w.line),
           coalesce(i.pending, 0) + sum(CASE WHEN w.matures_at IS NULL THEN 0 ELSE w.points END)
               OVER (PARTITION BY w.member_id ORDER BY w.line)
    FROM pg_temp.import_work AS w LEFT JOIN pg_temp.import_members AS i ON i.member_id = w.member_id
    WHERE w.status IS NULL;

    -- Points available at once repay a member's debt before they form lots, line by line.
    INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, expires_at, amount, remaining)
    SELECT p_program, x.member_id, x.entry_id, x.occurred_at, x.expires_at, x.lot_amount, x.lot_amount
    FROM (SELECT w.member_id, w.entry_id, w.occurred_at, w.expires_at,
                 points.lot_amount(w.points, i.available + coalesce(sum(w.points) OVER (
                     PARTITION BY w.member_id ORDER BY w.line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint) AS lot_amount
          FROM pg_temp.import_work AS w JOIN pg_temp.import_members AS i ON i.member_id = w.member_id
          WHERE w.status IS NULL AND w.matures_at IS NULL AND w.points > 0) AS x
    WHERE x.lot_amount > 0;

    -- What the batch changes on each member. Qualifying totals (tiers/qualifying_totals.sql), per member and
    -- period: a member's latest period in the batch, when later than the one on the member's row,
    -- takes the row's place (the row's totals move to qualifying_totals); the sums of that period
    -- go onto the row with the balances, those of earlier periods into qualifying_totals.
    CREATE TEMP TABLE import_qualifying ON COMMIT DROP AS
    SELECT w.member_id, w.period_start, sum(w.points) AS points, sum(w.amount_minor - w.points_paid_minor) AS spend,
           w.period_start = max(w.period_start) OVER (PARTITION BY w.member_id) AS latest
    FROM pg_temp.import_work AS w WHERE w.status IS NULL
    GROUP BY w.member_id, w.period_start;
    CREATE TEMP TABLE import_changes ON COMMIT DROP AS
    SELECT i.member_id, t.available, t.pending, t.first_at,
           i.q_period AS row_period, i.q_points AS row_points, i.q_spend AS row_spend,
           greatest(i.q_period, iq.period_start) AS q_period,
           CASE WHEN i.q_period > iq.period_start THEN i.q_points
                WHEN i.q_period = iq.period_start THEN i.q_points + iq.points ELSE iq.points END::bigint AS q_points,
           CASE WHEN i.q_period > iq.period_start THEN i.q_spend
                WHEN i.q_period = iq.period_start THEN i.q_spend + iq.spend ELSE iq.spend END::bigint AS q_spend,
           NULL::text AS to_tier, NULL::date AS reached_period, NULL::text AS before_tier
    FROM (SELECT w.member_id,
                 coalesce(sum(w.points) FILTER (WHERE w.matures_at IS NULL), 0)::bigint AS available,
                 coalesce(sum(w.points) FILTER (WHERE w.matures_at IS NOT NULL), 0)::bigint AS pending,
                 min(w.occurred_at) AS first_at
          FROM pg_temp.import_work AS w WHERE w.status IS NULL GROUP BY w.member_id) AS t
    JOIN pg_temp.import_qualifying AS iq ON iq.member_id = t.member_id AND iq.latest
    JOIN pg_temp.import_members AS i ON i.member_id = t.member_id
    ORDER BY i.member_id;

    INSERT INTO points.qualifying_totals (program_id, member_id, period_start, points, spend_minor)
    SELECT p_program, c.member_id, c.row_period, c.row_points, c.row_spend
    FROM pg_temp.import_changes AS c WHERE c.row_period < c.q_period;
    INSERT INTO points.qualifying_totals AS q (program_id, member_id, period_start, points, spend_minor)
    SELECT p_program, iq.member_id, iq.period_start, iq.points, iq.spend
    FROM pg_temp.import_qualifying AS iq
    JOIN pg_temp.import_changes AS c ON c.member_id = iq.member_id
    WHERE iq.period_start < c.q_period
    ON CONFLICT ON CONSTRAINT qualifying_totals_pkey DO UPDATE
        SET points = q.points + EXCLUDED.points, spend_minor = q.spend_minor + EXCLUDED.spend_minor;

    -- The upgrades the passes found, each recorded at its line; the member's row gets the last,
    -- and the tier held before the first upgrade of that one's period (as upgrade_if_reached keeps it).
    UPDATE pg_temp.import_changes AS c SET to_tier = u.to_tier, reached_period = u.period_start,
        before_tier = CASE WHEN NOT u.earlier AND i.tier_reached_period = u.period_start THEN i.tier_before_upgrade
                           ELSE u.first_from END
    FROM (SELECT DISTINCT ON (x.member_id) x.member_id, x.to_tier, x.period_start,
                 first_value(x.from_tier) OVER same_period AS first_from,
                 first_value(x.line) OVER same_period > min(x.line) OVER (PARTITION BY x.member_id) AS earlier
          FROM pg_temp.import_crossings AS x
          WINDOW same_period AS (PARTITION BY x.member_id, x.period_start ORDER BY x.line)
          ORDER BY x.member_id, x.line DESC) AS u
    JOIN pg_temp.import_members AS i ON i.member_id = u.member_id
    WHERE c.member_id = u.member_id;
    INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause, period_start,
                                     qualifying_points, qualifying_spend_minor, entry_id)
    SELECT p_program, x.member_id, x.occurred_at, x.from_tier, x.to_tier, 'upgrade', x.period_start, x.q_points, x.q_spend, x.entry_id
    FROM pg_temp.import_crossings AS x ORDER BY x.member_id, x.line;

    PERFORM points.import_apply_member_changes(p_program);

    -- A member's first purchase pays the referrer (after the balances, so a referrer who also
    -- bought in this batch has their own purchases counted first).
    FOR v_referral IN
        SELECT DISTINCT ON (w.member_id) w.member_id, i.referrer, w.order_id, w.occurred_at
        FROM pg_temp.import_work AS w JOIN pg_temp.import_members AS i ON i.member_id = w.member_id
        WHERE p_referrals AND w.status IS NULL AND i.first_purchase_at IS NULL AND i.referrer IS NOT NULL
        ORDER BY w.member_id, w.line
    LOOP
        PERFORM points.pay_referral(
            p_program, v_referral.member_id, v_referral.referrer, v_referral.order_id,
            (points.settings_at(p_program, v_referral.occurred_at)).referral_bonus, v_referral.occurred_at, p_backdated);
    END LOOP;
END
$$;
