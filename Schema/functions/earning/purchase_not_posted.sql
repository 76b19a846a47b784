-- The answer to a purchase that posted nothing (earning/purchase.sql).

-- Answers a purchase of order p_order that posted no entry: the order was posted before, so the
-- call is 'replayed' (the same request p_request: what the original answered, read back from the
-- purchase, its referral bonus and its upgrade) or a
-- 'conflict' (another request); else p_problem, why its time is refused: 'in_future', 'too_old'
-- or 'before_settings'. A replay is answered however late it comes. p_available and
-- p_pending are the member's balances, answered with a replay or a conflict.
CREATE FUNCTION points.purchase_not_posted(
    p_program integer, p_order points.idempotency_key, p_request jsonb, p_problem points.purchase_status, p_available bigint,
    p_pending bigint)
RETURNS TABLE (status points.purchase_status, entry_id bigint, points bigint, matures_at timestamptz, referral_entry_id bigint,
               available bigint, pending bigint, upgraded_to text)
LANGUAGE plpgsql AS $$
DECLARE
    v_existing record;
BEGIN
    SELECT e.entry_id, e.request, e.member_id INTO v_existing
    FROM points.journal_entries AS e
    WHERE e.program_id = p_program AND e.key_scope = 'purchase' AND e.idempotency_key = p_order;
    IF NOT FOUND THEN
        RETURN QUERY SELECT p_problem,
            NULL::bigint, NULL::bigint, NULL::timestamptz, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
    ELSIF points.same_request(v_existing.request, p_request) THEN
        RETURN QUERY SELECT 'replayed'::points.purchase_status, v_existing.entry_id, pu.points::bigint, pu.matures_at,
                (SELECT r.entry_id FROM points.journal_entries AS r
                 WHERE r.program_id = p_program AND r.key_scope = 'referral' AND r.idempotency_key = v_existing.member_id
                   AND r.request ->> 'order' = p_order),
                coalesce(pu.available_after, p_available), coalesce(pu.pending_after, p_pending),
                (SELECT c.to_tier FROM points.tier_changes AS c
                 WHERE c.program_id = p_program AND c.member_id = v_existing.member_id AND c.entry_id = v_existing.entry_id
                   AND c.cause = 'upgrade'
                 ORDER BY c.change_id DESC LIMIT 1)
            FROM points.purchases AS pu
            WHERE pu.program_id = p_program AND pu.member_id = v_existing.member_id AND pu.order_id = p_order;
    ELSE
        RETURN QUERY SELECT 'conflict'::points.purchase_status, v_existing.entry_id, NULL::bigint, NULL::timestamptz,
            NULL::bigint, p_available, p_pending, NULL::text;
    END IF;
END
$$;
