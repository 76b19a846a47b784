-- Refunds (Refund.swift).

-- A refund of part or all of an order. After refunds totalling R of an order of amount A that
-- earned P points, the points clawed back in total are floor(P × R / A), so rounding never
-- drifts. The clawback takes the order's pending points first, then available; if available
-- is short, the policy in force decides: 'negative' lets it go below zero, 'write_off' takes
-- what is there and posts the rest to written_off. Idempotent by refund id.
-- The refund takes the clawed-back points and the refunded spend off the qualifying totals of
-- the purchase's period; tier names the member's new tier when that undid an upgrade. The points
-- paid on the order (holds captured for it) come back in proportion, cumulatively alike
-- (earning/points_returned.sql): returned, of which returned_expired came back expired.
-- Returns status 'refunded', 'replayed', 'conflict', 'unknown_order', 'exceeds_order',
-- 'before_purchase', 'in_future' or 'too_old'.
CREATE FUNCTION points.refund(
    p_program integer, p_order points.idempotency_key, p_refund points.idempotency_key, p_amount_minor bigint, p_occurred_at points.event_time, p_backdated boolean)
RETURNS TABLE (status points.refund_status, entry_id bigint, member_id text, clawed_back bigint, from_pending bigint,
               from_available bigint, written_off bigint, refunded_minor bigint, order_amount_minor bigint, tier text,
               returned bigint, returned_expired bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_at timestamptz := coalesce(p_occurred_at, now());
    v_request jsonb := jsonb_strip_nulls(jsonb_build_object(
        'order', p_order, 'refund', p_refund, 'amount_minor', p_amount_minor, 'occurred_at', p_occurred_at AT TIME ZONE 'UTC'));
    v_time_problem text;
    v_member text;
    v_available bigint;
    v_existing record;
    v_purchase points.purchases;
    v_policy text;
    v_delta bigint;
    v_from_pending bigint;
    v_take bigint;
    v_write bigint;
    v_entry bigint;
    v_spend bigint;
    v_tier text;
    v_return record;
BEGIN
    IF p_amount_minor IS NULL OR p_amount_minor <= 0 OR p_backdated IS NULL THEN
        RAISE EXCEPTION 'a refund needs a positive amount and a back-dating flag' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT e.member_id INTO v_member FROM points.journal_entries AS e
    WHERE e.program_id = p_program AND e.key_scope = 'purchase' AND e.idempotency_key = p_order;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_order'::points.refund_status, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint,
            NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    SELECT m.available INTO v_available FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = v_member FOR UPDATE;
    SELECT pu.* INTO v_purchase FROM points.purchases AS pu
    WHERE pu.program_id = p_program AND pu.member_id = v_member AND pu.order_id = p_order;

    SELECT e.entry_id, e.request INTO v_existing FROM points.journal_entries AS e
    WHERE e.program_id = p_program AND e.key_scope = 'refund' AND e.idempotency_key = p_refund;
    IF FOUND THEN
        -- A replay answers with what the refund did, read back from its movements and its tier change.
        RETURN QUERY SELECT
            CASE WHEN points.same_request(v_existing.request, v_request) THEN 'replayed' ELSE 'conflict' END::points.refund_status,
            v_existing.entry_id, v_member, coalesce(sum(mv.amount) FILTER (WHERE mv.to_account = 'issued'), 0)::bigint,
            coalesce(sum(mv.amount) FILTER (WHERE mv.from_account = 'pending' AND mv.to_account = 'issued'), 0)::bigint,
            coalesce(sum(mv.amount) FILTER (WHERE mv.from_account = 'available' AND mv.to_account = 'issued'), 0)::bigint,
            coalesce(sum(mv.amount) FILTER (WHERE mv.from_account = 'written_off' AND mv.to_account = 'issued'), 0)::bigint,
            v_purchase.refunded_minor::bigint, v_purchase.amount_minor::bigint,
            (SELECT c.to_tier FROM points.tier_changes AS c
             WHERE c.program_id = p_program AND c.member_id = v_member AND c.entry_id = v_existing.entry_id AND c.cause = 'refund'
             ORDER BY c.change_id DESC LIMIT 1),
            coalesce(sum(mv.amount) FILTER (WHERE mv.from_account = 'redeemed'), 0)::bigint,
            coalesce(sum(mv.amount) FILTER (WHERE mv.from_account = 'available' AND mv.to_account = 'expired'), 0)::bigint
        FROM points.movements AS mv
        WHERE mv.program_id = p_program AND mv.member_id = v_member AND mv.entry_id = v_existing.entry_id;
        RETURN;
    END IF;
    -- A time outside the window is refused only now: a replay is answered however late it comes.
    v_time_problem := points.check_occurred_at(p_program, v_at, p_backdated);
    IF v_time_problem IS NOT NULL THEN
        RETURN QUERY SELECT v_time_problem::points.refund_status, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint,
            NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    IF v_purchase.refunded_minor + p_amount_minor > v_purchase.amount_minor THEN
        RETURN QUERY SELECT 'exceeds_order'::points.refund_status, NULL::bigint, v_member, NULL::bigint, NULL::bigint,
            NULL::bigint, NULL::bigint, v_purchase.refunded_minor::bigint, v_purchase.amount_minor::bigint, NULL::text,
            NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    IF v_at < v_purchase.occurred_at THEN
        RETURN QUERY SELECT 'before_purchase'::points.refund_status, NULL::bigint, v_member, NULL::bigint, NULL::bigint,
            NULL::bigint, NULL::bigint, v_purchase.refunded_minor::bigint, v_purchase.amount_minor::bigint, NULL::text,
            NULL::bigint, NULL::bigint;
        RETURN;
    END IF;

    v_policy := (points.settings_at(p_program, v_at)).refund_policy;
    v_delta := floor(v_purchase.points::numeric * (v_purchase.refunded_minor + p_amount_minor) / v_purchase.amount_minor)::bigint
               - v_purchase.clawed_back;
    v_from_pending := least(v_delta, v_purchase.pending_points);
    IF v_policy = 'write_off' THEN
        v_take := least(v_delta - v_from_pending, greatest(v_available, 0));
    ELSE
        v_take := v_delta - v_from_pending;
    END IF;
    v_write := v_delta - v_from_pending - v_take;
    -- Qualifying spend taken back, cumulative like the points: floor(E × R / A) in all, where E
    -- is the part of the order not paid with points.
    v_spend := floor((v_purchase.amount_minor - v_purchase.points_paid_minor)::numeric
                     * (v_purchase.refunded_minor + p_amount_minor) / v_purchase.amount_minor)::bigint
             - floor((v_purchase.amount_minor - v_purchase.points_paid_minor)::numeric
                     * v_purchase.refunded_minor / v_purchase.amount_minor)::bigint;

    INSERT INTO points.journal_entries AS e
        (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
    VALUES (p_program, v_member, 'refund', 'refund', p_refund, v_request, v_at, p_backdated)
    ON CONFLICT ON CONSTRAINT idempotency_key_unique DO NOTHING
    RETURNING e.entry_id INTO v_entry;
    IF v_entry IS NULL THEN
        -- The same refund id, taken at this moment by a refund of another member's order.
        RETURN QUERY SELECT 'conflict'::points.refund_status, e.entry_id, v_member, NULL::bigint, NULL::bigint,
                NULL::bigint, NULL::bigint, v_purchase.refunded_minor::bigint, v_purchase.amount_minor::bigint, NULL::text,
                NULL::bigint, NULL::bigint
            FROM points.journal_entries AS e
            WHERE e.program_id = p_program AND e.key_scope = 'refund' AND e.idempotency_key = p_refund;
        RETURN;
    END IF;
    -- Up to three legs, each back to issued: from pending first, then available, and what the
    -- write-off policy forgives from written_off.
    INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
    SELECT p_program, v_member, v_entry, row_number() OVER (ORDER BY leg.source), leg.source, 'issued', leg.amount, v_at
    FROM (VALUES ('pending'::points.account, v_from_pending), ('available', v_take), ('written_off', v_write)) AS leg(source, amount)
    WHERE leg.amount > 0;
    PERFORM points.consume_lots(p_program, v_member, v_entry, least(v_take, greatest(v_available, 0)));
    -- Then the points paid on the order come back, after the legs above.
    SELECT r.returned, r.expired INTO v_return
    FROM points.return_paid_points(p_program, v_member, p_order, v_entry, v_at, v_purchase.refunded_minor + p_amount_minor,
        v_purchase.amount_minor, v_purchase.points_returned, v_available - v_take,
        1 + (v_from_pending > 0)::integer + (v_take > 0)::integer + (v_write > 0)::integer) AS r;
    UPDATE points.purchases AS pu SET
        refunded_minor = pu.refunded_minor + p_amount_minor,
        clawed_back = pu.clawed_back + v_delta,
        pending_points = pu.pending_points - v_from_pending,
        points_returned = pu.points_returned + v_return.returned
    WHERE pu.program_id = p_program AND pu.member_id = v_member AND pu.order_id = p_order;
    UPDATE points.members AS m SET
        pending = m.pending - v_from_pending,
        available = m.available - v_take,
        issued = m.issued + v_delta,
        written_off = m.written_off - v_write
    WHERE m.program_id = p_program AND m.member_id = v_member;
    -- The purchase's period loses the points and spend (tiers/qualification.sql), which may undo an
    -- upgrade of that period.
    v_tier := points.disqualify(p_program, v_member, v_purchase.occurred_at, v_delta, v_spend, v_at, v_entry);
    RETURN QUERY SELECT 'refunded'::points.refund_status, v_entry, v_member, v_delta, v_from_pending, v_take, v_write,
        v_purchase.refunded_minor + p_amount_minor, v_purchase.amount_minor::bigint, v_tier, v_return.returned, v_return.expired;
END
$$;

GRANT EXECUTE ON FUNCTION points.refund TO {{writer}};
