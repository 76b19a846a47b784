-- Adjustments: an admin's grants and deductions (Adjustment.swift).

-- An admin's grant (p_points > 0) or deduction (p_points < 0) of points, with a reason, the
-- admin's name and an idempotency key: one round trip, one lock on the member's row. Grants form
-- lots (repaying any debt first), expiring at p_expires_at if given (an opening balance keeps
-- its original expiry), else by the program's rule from the grant's time; deductions consume
-- lots. p_occurred_at (default now) dates the entry, as for purchases: up to five minutes
-- ahead, and back to the program's back-dating window unless p_backdated, recorded, allows
-- older (a program moving its history in).
-- Returns status 'posted', 'replayed' (same key, same content: the original entry),
-- 'conflict' (same key, other content), 'insufficient_points' (spendable is short; not
-- remembered, so a retry may succeed), 'in_future', 'too_old' or 'unknown_member', with the
-- balances after.
CREATE FUNCTION points.adjust(
    p_program integer, p_member points.member_key, p_points bigint, p_reason points.label_text, p_actor points.label_text,
    p_key points.idempotency_key, p_occurred_at points.event_time DEFAULT NULL, p_backdated boolean DEFAULT false,
    p_expires_at points.event_time DEFAULT NULL)
RETURNS TABLE (status points.adjust_status, entry_id bigint, available bigint, pending bigint, held bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_at timestamptz := coalesce(p_occurred_at, now());
    v_request jsonb := jsonb_strip_nulls(jsonb_build_object(
        'member', p_member, 'points', p_points, 'reason', p_reason, 'actor', p_actor,
        'occurred_at', p_occurred_at AT TIME ZONE 'UTC', 'expires_at', p_expires_at AT TIME ZONE 'UTC'));
    v_member record;
    v_entry bigint;
    v_existing record;
    v_problem text;
BEGIN
    IF p_points IS NULL OR p_points = 0 OR p_backdated IS NULL THEN
        RAISE EXCEPTION 'an adjustment needs a non-zero number of points and a back-dating flag' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_expires_at IS NOT NULL AND (p_points < 0 OR p_expires_at <= v_at) THEN
        RAISE EXCEPTION 'an expiry belongs to a grant and comes after its time (%)', v_at USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT m.available, m.pending, m.held INTO v_member
    FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = p_member
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member'::points.adjust_status, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    -- Holds past their time no longer reserve anything (redemption/holds.sql).
    IF p_points < 0 AND v_member.held > 0 THEN
        v_member.held := v_member.held - points.release_expired_holds(p_program, p_member);
    END IF;

    IF p_occurred_at IS NOT NULL THEN
        v_problem := points.check_occurred_at(p_program, v_at, p_backdated);
    END IF;

    -- The common case first: a new key. Only a conflict, a time out of bounds or a spend that is
    -- short looks the key up, so that a replay is answered with the original entry even when
    -- points are short or the time has left the window.
    IF v_problem IS NULL AND (p_points > 0 OR v_member.available - v_member.held >= -p_points) THEN
        INSERT INTO points.journal_entries AS e
            (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
        VALUES (p_program, p_member, CASE WHEN p_points > 0 THEN 'adjustment.grant' ELSE 'adjustment.deduct' END::points.entry_kind,
                'adjustment', p_key, v_request, v_at, p_backdated)
        ON CONFLICT ON CONSTRAINT idempotency_key_unique DO NOTHING
        RETURNING e.entry_id INTO v_entry;
    END IF;
    IF v_entry IS NULL THEN
        SELECT e.entry_id, e.request INTO v_existing
        FROM points.journal_entries AS e
        WHERE e.program_id = p_program AND e.key_scope = 'adjustment' AND e.idempotency_key = p_key;
        IF FOUND THEN
            RETURN QUERY SELECT
                CASE WHEN v_existing.request = v_request THEN 'replayed' ELSE 'conflict' END::points.adjust_status,
                v_existing.entry_id, v_member.available, v_member.pending::bigint, v_member.held::bigint;
        ELSE
            RETURN QUERY SELECT coalesce(v_problem, 'insufficient_points')::points.adjust_status, NULL::bigint, v_member.available,
                v_member.pending::bigint, v_member.held::bigint;
        END IF;
        RETURN;
    END IF;

    IF p_points > 0 THEN
        -- A grant repays a debt first; the rest forms a lot.
        PERFORM points.form_lot(p_program, p_member, v_entry, p_points, v_member.available, v_at,
                                coalesce(p_expires_at, points.expiry_for(p_program, v_at)));
    ELSE
        PERFORM points.consume_lots(p_program, p_member, v_entry, -p_points);
    END IF;
    INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
    VALUES (p_program, p_member, v_entry, 1, CASE WHEN p_points > 0 THEN 'adjustments' ELSE 'available' END::points.account,
            CASE WHEN p_points > 0 THEN 'available' ELSE 'adjustments' END::points.account, abs(p_points), v_at);
    UPDATE points.members AS m
    SET available = m.available + p_points, adjustments = m.adjustments - p_points
    WHERE m.program_id = p_program AND m.member_id = p_member;
    RETURN QUERY SELECT 'posted'::points.adjust_status, v_entry, v_member.available + p_points,
        v_member.pending::bigint, v_member.held::bigint;
END
$$;

GRANT EXECUTE ON FUNCTION points.adjust TO {{writer}};
