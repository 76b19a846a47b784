-- Holds: reserve, capture or void once (Holds.swift).

-- Expires a member's open holds whose time ran out and releases their points; returns the
-- points released. Spends and new holds call it under the member's row lock, so a hold past its
-- time never blocks spending until jobs holds runs.
CREATE FUNCTION points.release_expired_holds(p_program integer, p_member text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_released bigint;
BEGIN
    WITH expired AS (
        UPDATE points.holds AS h SET state = 'expired', resolved_at = h.expires_at
        WHERE h.program_id = p_program AND h.member_id = p_member AND h.state = 'open' AND h.expires_at <= now()
        RETURNING h.points
    )
    SELECT coalesce(sum(e.points), 0) INTO v_released FROM expired AS e;
    IF v_released > 0 THEN
        UPDATE points.members AS m SET held = m.held - v_released WHERE m.program_id = p_program AND m.member_id = p_member;
    END IF;
    RETURN v_released;
END
$$;

-- The points a member's holds reserve now: the row's total less the holds past their expiry that
-- no write or job has yet recorded as expired, so that a hold past its expiry reserves nothing
-- from that moment (RULES.md) for every read. A member without holds costs no lookup.
CREATE FUNCTION points.held_now(p_program integer, p_member text, p_held bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_held = 0 THEN 0::bigint ELSE p_held - coalesce((
        SELECT sum(h.points) FROM points.holds AS h
        WHERE h.program_id = p_program AND h.member_id = p_member AND h.state = 'open' AND h.expires_at <= now()), 0)::bigint END
$$;

GRANT EXECUTE ON FUNCTION points.held_now(integer, text, bigint) TO {{writer}}, {{auditor}};

-- Reserves p_points of a member's spendable points until p_expires_at. Idempotent by key (the
-- same member and points: the original hold). Returns status 'held', 'replayed', 'conflict',
-- 'unknown_member' or 'insufficient_points', with the hold and the member's balances.
CREATE FUNCTION points.create_hold(p_program integer, p_member points.member_key, p_points bigint, p_expires_at points.event_time, p_key points.idempotency_key)
RETURNS TABLE (status points.create_hold_status, hold_id bigint, expires_at timestamptz, available bigint, held bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_member points.members;
    v_existing points.holds;
    v_hold bigint;
BEGIN
    IF p_points IS NULL OR p_points <= 0 OR p_expires_at IS NULL OR p_expires_at <= now()
        OR p_expires_at > now() + interval '30 days' THEN
        RAISE EXCEPTION 'a hold needs positive points and an expiry in the future, at most 30 days away'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT m.* INTO v_member FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = p_member FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member'::points.create_hold_status, NULL::bigint, NULL::timestamptz,
            NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    IF v_member.held > 0 THEN
        v_member.held := v_member.held - points.release_expired_holds(p_program, p_member);
    END IF;
    SELECT h.* INTO v_existing FROM points.holds AS h WHERE h.program_id = p_program AND h.hold_key = p_key;
    IF FOUND THEN
        RETURN QUERY SELECT
            CASE WHEN v_existing.member_id = p_member AND v_existing.points = p_points THEN 'replayed' ELSE 'conflict' END
                ::points.create_hold_status,
            v_existing.hold_id, v_existing.expires_at::timestamptz,
            CASE WHEN v_existing.member_id = p_member THEN coalesce(v_existing.available_after, v_member.available) ELSE v_member.available END,
            CASE WHEN v_existing.member_id = p_member THEN coalesce(v_existing.held_after, v_member.held) ELSE v_member.held END::bigint;
        RETURN;
    END IF;
    IF v_member.available - v_member.held < p_points THEN
        RETURN QUERY SELECT 'insufficient_points'::points.create_hold_status, NULL::bigint, NULL::timestamptz,
            v_member.available, v_member.held::bigint;
        RETURN;
    END IF;
    INSERT INTO points.holds AS h (program_id, member_id, hold_key, points, expires_at, available_after, held_after)
    VALUES (p_program, p_member, p_key, p_points, p_expires_at, v_member.available, v_member.held + p_points)
    RETURNING h.hold_id INTO v_hold;
    UPDATE points.members AS m SET held = m.held + p_points WHERE m.program_id = p_program AND m.member_id = p_member;
    RETURN QUERY SELECT 'held'::points.create_hold_status, v_hold, p_expires_at::timestamptz, v_member.available,
        v_member.held + p_points;
END
$$;

-- Resolves an open hold: p_void voids it; otherwise it captures p_capture points (NULL: all; at
-- most the hold's; the rest is released), spent from the soonest-expiring lots, for the order
-- p_order when given (its refunds return them, earning/points_returned.sql). A hold past its
-- expiry is expired here. Asking again for the same resolution (the same points, the same order)
-- answers with it ('replayed').
-- Returns status 'captured', 'voided', 'replayed', 'unknown_hold', 'exceeds_hold',
-- 'insufficient_points' or 'resolved' (resolved otherwise before: state says how), with the
-- hold's state, points, captured points, entry, order, and the member's balances.
CREATE FUNCTION points.resolve_hold(
    p_program integer, p_hold bigint, p_void boolean, p_capture bigint, p_order points.idempotency_key DEFAULT NULL)
RETURNS TABLE (status points.resolve_hold_status, state points.hold_state, member_id text, points bigint, captured bigint,
               entry_id bigint, available bigint, held bigint, order_id text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_member_id text;
    v_member points.members;
    v_hold points.holds;
    v_entry bigint;
    v_capture bigint;
BEGIN
    IF p_capture <= 0 OR p_void IS NULL OR (p_void AND p_order IS NOT NULL) THEN
        RAISE EXCEPTION 'a capture needs positive points, and only a capture names an order' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT h.member_id INTO v_member_id FROM points.holds AS h WHERE h.program_id = p_program AND h.hold_id = p_hold;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_hold'::points.resolve_hold_status, NULL::points.hold_state, NULL::text, NULL::bigint,
            NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    -- The member first, then the hold: the order every writer locks in.
    SELECT m.* INTO v_member FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = v_member_id FOR UPDATE;
    SELECT h.* INTO v_hold FROM points.holds AS h
    WHERE h.program_id = p_program AND h.member_id = v_member_id AND h.hold_id = p_hold FOR UPDATE;
    IF v_hold.state = 'open' AND v_hold.expires_at <= now() THEN
        UPDATE points.holds AS h SET state = 'expired', resolved_at = v_hold.expires_at
        WHERE h.program_id = p_program AND h.member_id = v_member_id AND h.hold_id = p_hold;
        UPDATE points.members AS m SET held = m.held - v_hold.points WHERE m.program_id = p_program AND m.member_id = v_member_id;
        v_hold.state := 'expired';
        v_member.held := v_member.held - v_hold.points;
    END IF;
    IF v_hold.state <> 'open' THEN
        RETURN QUERY SELECT
            CASE WHEN (v_hold.state = 'voided' AND p_void)
                   OR (v_hold.state = 'captured' AND NOT p_void AND v_hold.captured = coalesce(p_capture, v_hold.points)
                       AND v_hold.order_id IS NOT DISTINCT FROM p_order)
                 THEN 'replayed' ELSE 'resolved' END::points.resolve_hold_status,
            v_hold.state, v_member_id, v_hold.points::bigint, v_hold.captured::bigint, v_hold.entry_id,
            coalesce(v_hold.resolved_available_after, v_member.available), coalesce(v_hold.resolved_held_after, v_member.held)::bigint,
            v_hold.order_id::text;
        RETURN;
    END IF;
    IF p_void THEN
        UPDATE points.holds AS h SET state = 'voided', resolved_at = now(), resolved_available_after = v_member.available,
            resolved_held_after = v_member.held - v_hold.points
        WHERE h.program_id = p_program AND h.member_id = v_member_id AND h.hold_id = p_hold;
        UPDATE points.members AS m SET held = m.held - v_hold.points WHERE m.program_id = p_program AND m.member_id = v_member_id;
        RETURN QUERY SELECT 'voided'::points.resolve_hold_status, 'voided'::points.hold_state, v_member_id,
            v_hold.points::bigint, NULL::bigint, NULL::bigint, v_member.available, v_member.held - v_hold.points, NULL::text;
        RETURN;
    END IF;
    v_capture := coalesce(p_capture, v_hold.points);
    IF v_capture > v_hold.points THEN
        RETURN QUERY SELECT 'exceeds_hold'::points.resolve_hold_status, 'open'::points.hold_state, v_member_id,
            v_hold.points::bigint, NULL::bigint, NULL::bigint, v_member.available, v_member.held::bigint, NULL::text;
        RETURN;
    END IF;
    IF v_member.available < v_capture THEN
        -- Clawbacks since the hold took the points it reserved.
        RETURN QUERY SELECT 'insufficient_points'::points.resolve_hold_status, 'open'::points.hold_state, v_member_id,
            v_hold.points::bigint, NULL::bigint, NULL::bigint, v_member.available, v_member.held::bigint, NULL::text;
        RETURN;
    END IF;
    INSERT INTO points.journal_entries AS e (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at)
    VALUES (p_program, v_member_id, 'capture', 'capture', p_hold::text,
            jsonb_strip_nulls(jsonb_build_object('hold', p_hold, 'key', v_hold.hold_key, 'points', v_capture, 'order', p_order)), now())
    RETURNING e.entry_id INTO v_entry;
    PERFORM points.consume_lots(p_program, v_member_id, v_entry, v_capture);
    WITH lines AS (
        INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
        VALUES (p_program, v_member_id, v_entry, 1, 'available', 'redeemed', v_capture, now())
    ), resolved AS (
        UPDATE points.holds AS h SET state = 'captured', captured = v_capture, resolved_at = now(), entry_id = v_entry,
            order_id = p_order, resolved_available_after = v_member.available - v_capture, resolved_held_after = v_member.held - v_hold.points
        WHERE h.program_id = p_program AND h.member_id = v_member_id AND h.hold_id = p_hold
    )
    UPDATE points.members AS m SET available = m.available - v_capture, redeemed = m.redeemed + v_capture,
        held = m.held - v_hold.points
    WHERE m.program_id = p_program AND m.member_id = v_member_id;
    RETURN QUERY SELECT 'captured'::points.resolve_hold_status, 'captured'::points.hold_state, v_member_id,
        v_hold.points::bigint, v_capture, v_entry, v_member.available - v_capture, v_member.held - v_hold.points, p_order::text;
END
$$;

GRANT EXECUTE ON FUNCTION points.create_hold TO {{writer}};
GRANT EXECUTE ON FUNCTION points.resolve_hold(integer, bigint, boolean, bigint, points.idempotency_key) TO {{writer}};
