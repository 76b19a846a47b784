-- Points paid on an order come back with its refunds (Refund.swift, earning/refund.sql).

-- Returns to member p_member the points paid on order p_order (the holds captured for it) that
-- its refunds now owe, for refund entry p_entry at p_at: after refunds totalling p_refunded of an
-- order of amount p_amount paid with C points, floor(C × p_refunded / p_amount) have come back in
-- all, so rounding never drifts and a full refund returns them all. They come back in the reverse
-- of the order they were spent in (the points spent last come back first), each part as a new lot
-- with the expiry of the lot it was taken from, repaying a debt first like any credit; a part
-- whose lot is past its expiry at p_at comes back expired (a lot expired at once by this entry).
-- Movements from leg p_first_leg on. The caller holds the member's row lock and updates the
-- order's points_returned; this updates the member's balances. Returns the points returned and,
-- of them, those that came back expired.
CREATE FUNCTION points.return_paid_points(
    p_program integer, p_member text, p_order text, p_entry bigint, p_at timestamptz, p_refunded bigint, p_amount bigint,
    p_returned_before bigint, p_available bigint, p_first_leg integer)
RETURNS TABLE (returned bigint, expired bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_paid bigint;
    v_target bigint;
    v_part record;
    v_available bigint := p_available;
    v_returned bigint := 0;
    v_expired bigint := 0;
BEGIN
    SELECT coalesce(sum(h.captured), 0) INTO v_paid FROM points.holds AS h
    WHERE h.program_id = p_program AND h.member_id = p_member AND h.order_id = p_order AND h.state = 'captured';
    v_target := floor(v_paid::numeric * p_refunded / p_amount)::bigint;
    IF v_target <= p_returned_before THEN
        RETURN QUERY SELECT 0::bigint, 0::bigint;
        RETURN;
    END IF;
    -- The captures' lots laid end to end, the last spent first; this refund returns the span
    -- from what came back before to the target.
    FOR v_part IN
        SELECT s.expires_at, (least(s.upto, v_target) - greatest(s.upto - s.amount, p_returned_before))::bigint AS points
        FROM (SELECT l.expires_at, a.amount,
                     sum(a.amount) OVER (ORDER BY h.entry_id DESC, l.expires_at DESC NULLS FIRST, l.earned_at DESC, l.lot_id DESC)::bigint
                         AS upto
              FROM points.holds AS h
              JOIN points.lot_allocations AS a
                ON a.program_id = h.program_id AND a.member_id = h.member_id AND a.entry_id = h.entry_id
              JOIN points.lots AS l ON l.program_id = a.program_id AND l.member_id = a.member_id AND l.lot_id = a.lot_id
              WHERE h.program_id = p_program AND h.member_id = p_member AND h.order_id = p_order AND h.state = 'captured') AS s
        WHERE s.upto > p_returned_before AND s.upto - s.amount < v_target
        ORDER BY s.upto
    LOOP
        IF v_part.expires_at IS NOT NULL AND v_part.expires_at <= p_at THEN
            INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, expires_at, amount, remaining, expired_amount,
                                     expired_entry_id)
            VALUES (p_program, p_member, p_entry, p_at, v_part.expires_at, v_part.points, 0, v_part.points, p_entry);
            v_expired := v_expired + v_part.points;
        ELSE
            PERFORM points.form_lot(p_program, p_member, p_entry, v_part.points, v_available, p_at, v_part.expires_at);
            v_available := v_available + v_part.points;
        END IF;
        v_returned := v_returned + v_part.points;
    END LOOP;
    INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
    SELECT p_program, p_member, p_entry, p_first_leg - 1 + row_number() OVER (ORDER BY leg.n), leg.source, leg.target, leg.amount, p_at
    FROM (VALUES (1, 'redeemed'::points.account, 'available'::points.account, v_returned),
                 (2, 'available', 'expired', v_expired)) AS leg(n, source, target, amount)
    WHERE leg.amount > 0;
    UPDATE points.members AS m SET
        available = m.available + v_returned - v_expired, redeemed = m.redeemed - v_returned, expired = m.expired + v_expired
    WHERE m.program_id = p_program AND m.member_id = p_member;
    RETURN QUERY SELECT v_returned, v_expired;
END
$$;
