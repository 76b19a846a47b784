-- Purchases (Purchase.swift).

-- A purchase: its points (earning/purchase_points.sql) at the multiplier of the member's
-- effective tier before it. Idempotent by order id. With a return window the points are
-- pending until it ends; otherwise they form a lot now.
-- A member's first purchase pays the referrer's bonus.
-- Returns status 'posted', 'replayed', 'conflict', 'unknown_member', 'in_future', 'too_old' or
-- 'before_settings' (dated before the first moment a write may be, points.first_write_at).
CREATE FUNCTION points.purchase(
    p_program integer, p_member points.member_key, p_order points.idempotency_key, p_amount_minor bigint, p_points_paid_minor bigint,
    p_occurred_at points.event_time, p_backdated boolean)
RETURNS TABLE (status points.purchase_status, entry_id bigint, points bigint, matures_at timestamptz, referral_entry_id bigint,
               available bigint, pending bigint, upgraded_to text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_now timestamptz := now();
    v_at timestamptz := coalesce(p_occurred_at, now());
    -- What a replay must match. The time is recorded in UTC, so the session's time zone never
    -- matters; the back-dating permission is recorded on the entry, not compared.
    v_request jsonb := jsonb_strip_nulls(jsonb_build_object(
        'member', p_member, 'order', p_order, 'amount_minor', p_amount_minor, 'points_paid_minor', p_points_paid_minor,
        'occurred_at', p_occurred_at AT TIME ZONE 'UTC'));
    v_row record;
    v_points bigint;
    v_entry bigint;
    v_matures timestamptz;
    v_referral bigint;
    v_upgraded text;
    v_period date;
    v_spend bigint := p_amount_minor - p_points_paid_minor;
    v_step record;
    v_q_points bigint;
    v_q_spend bigint;
    v_settings points.program_settings;
    v_backdate_days integer;
    v_multiplier numeric;
BEGIN
    IF p_amount_minor IS NULL OR p_amount_minor <= 0 OR p_points_paid_minor IS NULL OR p_points_paid_minor < 0
        OR p_points_paid_minor > p_amount_minor OR p_backdated IS NULL OR p_order IS NULL THEN
        RAISE EXCEPTION 'a purchase needs an order id, a positive amount, a part paid with points between 0 and the amount, and a back-dating flag'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One query: the program's constants and latest settings, the tiers' ladder, and the member's
    -- row, locked. A first purchase by a referred member locks the referrer's row too (its bonus
    -- is paid below), both in id order like the jobs and imports that lock many.
    SELECT c.exponent, p.time_zone, p.created_at, p.tiers_closed_until, p.ladder_since, p.ladder_tiers, p.ladder_points, p.ladder_spend,
           p.ladder_multipliers, latest.settings, m.available, m.pending, m.referrer, m.first_purchase_at, m.q_period,
           m.q_points, m.q_spend,
           CASE WHEN m.override_until <= v_at THEN m.override_previous ELSE m.tier END AS earned,
           points.tier_at(p_program, p_member, m.tier, m.override_until, m.override_previous, m.granted_until, v_at) AS effective
    INTO v_row
    FROM points.programs AS p
    JOIN points.currencies AS c USING (currency)
    CROSS JOIN LATERAL (
        SELECT ps AS settings FROM points.program_settings AS ps
        WHERE ps.program_id = p.program_id ORDER BY ps.effective_at DESC LIMIT 1) AS latest
    CROSS JOIN LATERAL (
        SELECT locked.* FROM (
            SELECT mm.member_id, mm.available, mm.pending, mm.referrer, mm.first_purchase_at, mm.tier, mm.override_until,
                   mm.override_previous, mm.granted_until, mm.q_period, mm.q_points, mm.q_spend
            FROM points.members AS mm
            WHERE mm.program_id = p_program AND mm.member_id IN (p_member, (
                SELECT r.referrer FROM points.members AS r
                WHERE r.program_id = p_program AND r.member_id = p_member AND r.first_purchase_at IS NULL))
            ORDER BY mm.member_id FOR UPDATE) AS locked
        WHERE locked.member_id = p_member) AS m
    WHERE p.program_id = p_program;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member'::points.purchase_status, NULL::bigint, NULL::bigint, NULL::timestamptz,
            NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    -- The settings in force when the purchase happened, the back-dating window in force now, and
    -- the multiplier of the member's effective tier when the purchase happened.
    v_settings := points.settings_in_force(p_program, v_row.settings, v_at);
    v_backdate_days := (points.settings_in_force(p_program, v_row.settings, v_now)).backdate_days;
    v_multiplier := points.multiplier_in_force(
        p_program, v_row.effective, v_at, v_row.ladder_since, v_row.ladder_tiers, v_row.ladder_multipliers);

    -- A time outside the window is refused, unless the order was posted before: a replay is
    -- answered with its entry however late it comes.
    IF v_at <= v_now + interval '5 minutes' AND (p_backdated OR v_at >= v_now - make_interval(days => v_backdate_days))
       -- Before the program's creation, only settings an admin set from earlier apply.
       AND NOT (v_at < v_row.created_at AND v_settings.effective_at = '-infinity') THEN
        v_points := points.purchase_points(v_spend, v_row.exponent, v_settings.earn_rate, v_multiplier, v_settings.rounding);
        v_matures := points.purchase_matures_at(v_points, v_at, v_settings.return_window_days, v_row.time_zone);
        -- Qualifying totals (tiers/qualifying_totals.sql): the row's part is written with the
        -- balances below, in the one update of the member's row.
        v_period := points.tier_period_start(v_settings.tier_period, v_at, v_row.time_zone);
        v_step := points.qualifying_step(v_row.q_period, v_row.q_points, v_row.q_spend, v_period, v_points, v_spend);
        -- The entry, unless the order was posted before. Then its postings, the lot, the purchase
        -- and the member's balances, each a plain statement: cheaper on the server than one
        -- statement of data-modifying CTEs, which materialises the entry for each of them.
        INSERT INTO points.journal_entries AS e
            (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
        VALUES (p_program, p_member, 'purchase', 'purchase', p_order, v_request, v_at, p_backdated)
        ON CONFLICT ON CONSTRAINT idempotency_key_unique DO NOTHING
        RETURNING e.entry_id INTO v_entry;
    END IF;
    IF v_entry IS NULL THEN
        RETURN QUERY SELECT * FROM points.purchase_not_posted(p_program, p_order, v_request,
            CASE WHEN v_at > v_now + interval '5 minutes' THEN 'in_future'
                 WHEN NOT p_backdated AND v_at < v_now - make_interval(days => v_backdate_days) THEN 'too_old'
                 ELSE 'before_settings' END::points.purchase_status, v_row.available, v_row.pending);
        RETURN;
    END IF;
    IF v_points > 0 THEN
        INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
        VALUES (p_program, p_member, v_entry, 1, 'issued',
                CASE WHEN v_matures IS NULL THEN 'available' ELSE 'pending' END::points.account, v_points, v_at);
    END IF;
    IF v_points > 0 AND v_matures IS NULL THEN
        -- Points available at once repay a debt first; the rest forms a lot.
        PERFORM points.form_lot(p_program, p_member, v_entry, v_points, v_row.available, v_at,
            points.lot_expiry(v_settings.expiry_kind, v_settings.expiry_count, v_at, v_row.time_zone));
    END IF;
    INSERT INTO points.purchases
        (program_id, member_id, order_id, entry_id, occurred_at, amount_minor, points_paid_minor, points, pending_points,
         matures_at, available_after, pending_after)
    VALUES (p_program, p_member, p_order, v_entry, v_at, p_amount_minor, p_points_paid_minor, v_points,
            CASE WHEN v_matures IS NULL THEN 0 ELSE v_points END, v_matures,
            v_row.available + CASE WHEN v_matures IS NULL THEN v_points ELSE 0 END,
            v_row.pending + CASE WHEN v_matures IS NULL THEN 0 ELSE v_points END);
    UPDATE points.members AS m SET
        available = m.available + CASE WHEN v_matures IS NULL THEN v_points ELSE 0 END,
        pending = m.pending + CASE WHEN v_matures IS NULL THEN 0 ELSE v_points END,
        issued = m.issued - v_points,
        first_purchase_at = coalesce(m.first_purchase_at, v_at),
        q_period = v_step.q_period, q_points = v_step.q_points, q_spend = v_step.q_spend
    WHERE m.program_id = p_program AND m.member_id = p_member;

    -- The period's totals, and an upgrade at once if they reach a higher tier (this purchase earned
    -- at the old multiplier). Most purchases carry nothing and reach no tier: they call neither.
    v_q_points := v_step.q_points;
    v_q_spend := v_step.q_spend;
    IF v_step.carried_period IS NOT NULL THEN
        SELECT c.total_points, c.total_spend INTO v_q_points, v_q_spend
        FROM points.carry_qualifying(p_program, p_member, v_step.q_period = v_period, v_step.q_points, v_step.q_spend,
                                     v_step.carried_period, v_step.carried_points, v_step.carried_spend) AS c;
    END IF;
    IF points.may_reach_above(v_row.earned, v_at, v_q_points, v_q_spend,
           v_row.ladder_since, v_row.ladder_tiers, v_row.ladder_points, v_row.ladder_spend) THEN
        v_upgraded := points.upgrade_if_reached(p_program, p_member, v_row.earned, v_at, v_period, v_q_points, v_q_spend,
            v_entry, v_row.tiers_closed_until, v_row.ladder_since, v_row.ladder_tiers, v_row.ladder_points, v_row.ladder_spend);
    END IF;
    IF v_row.first_purchase_at IS NULL AND v_row.referrer IS NOT NULL AND v_settings.referral_bonus > 0 THEN
        v_referral := points.pay_referral(
            p_program, p_member, v_row.referrer, p_order, v_settings.referral_bonus, v_at, p_backdated);
    END IF;
    RETURN QUERY SELECT 'posted'::points.purchase_status, v_entry, v_points, v_matures, v_referral,
        v_row.available + CASE WHEN v_matures IS NULL THEN v_points ELSE 0 END,
        v_row.pending + CASE WHEN v_matures IS NULL THEN 0 ELSE v_points END, v_upgraded;
END
$$;

GRANT EXECUTE ON FUNCTION points.purchase TO {{writer}};
