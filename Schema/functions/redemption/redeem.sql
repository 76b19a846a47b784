-- Redemptions of rewards and plain spends (Redeem.swift).

-- The first of a reward's own rules that refuses p_quantity units to the member at p_at, in the order
-- a redemption checks them: 'inactive' (outside its window; detail 'from …' or 'until …'),
-- 'tier_too_low' (detail 'effective tier,minimum tier'), 'limit_reached' (detail 'taken of limit');
-- no row when none does. Spendable points and stock are checked by the caller. Used by
-- points.redeem, which decides, and by points.reward_offers, which shows a member what they can
-- redeem: one rule in one place.
CREATE FUNCTION points.reward_refusal(
    p_program integer, p_member points.members, p_reward points.rewards, p_quantity integer, p_at timestamptz)
RETURNS TABLE (status points.redeem_status, detail text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_tier text;
    v_taken bigint;
BEGIN
    IF p_at < p_reward.active_from OR p_at >= p_reward.active_until THEN
        RETURN QUERY SELECT 'inactive'::points.redeem_status,
            CASE WHEN p_at < p_reward.active_from THEN 'from ' || p_reward.active_from ELSE 'until ' || p_reward.active_until END;
        RETURN;
    END IF;
    IF p_reward.min_tier IS NOT NULL THEN
        v_tier := points.tier_at(p_program, p_member.member_id, p_member.tier, p_member.override_until, p_member.override_previous,
                                 p_member.granted_until, p_at);
        IF (SELECT t.rank FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = v_tier)
           < (SELECT t.rank FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = p_reward.min_tier) THEN
            RETURN QUERY SELECT 'tier_too_low'::points.redeem_status, v_tier || ',' || p_reward.min_tier;
            RETURN;
        END IF;
    END IF;
    IF p_reward.limit_per_member IS NOT NULL THEN
        SELECT coalesce(sum(r.quantity), 0) INTO v_taken FROM points.redemptions AS r
        WHERE r.program_id = p_program AND r.member_id = p_member.member_id AND r.reward = p_reward.reward;
        IF v_taken + p_quantity > p_reward.limit_per_member THEN
            RETURN QUERY SELECT 'limit_reached'::points.redeem_status, v_taken || ' of ' || p_reward.limit_per_member;
            RETURN;
        END IF;
    END IF;
END
$$;

-- What points.redeem would answer (redeem_status) one unit's redemption of each reward of the
-- catalog by the member now: 'redeemed' when it would succeed, else the first check that refuses it, in points.redeem's
-- order ('inactive', 'tier_too_low', 'limit_reached', 'insufficient_points', 'out_of_stock'),
-- with its detail. Reads only; spendable points are available − what holds reserve now (a hold
-- past its time reserves nothing, points.held_now). No row for an unknown member.
CREATE FUNCTION points.reward_offers(p_program integer, p_member points.member_key)
RETURNS TABLE (reward text, name text, cost bigint, stock bigint, min_tier text, limit_per_member bigint,
               active_from timestamptz, active_until timestamptz, redeem_status points.redeem_status, detail text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
    SELECT r.reward, r.name, r.cost::bigint, r.stock::bigint, r.min_tier, r.limit_per_member::bigint, r.active_from, r.active_until,
           coalesce(f.status, CASE WHEN m.available - points.held_now(m.program_id, m.member_id, m.held) < r.cost THEN 'insufficient_points'
                                   WHEN r.stock < 1 THEN 'out_of_stock'
                                   ELSE 'redeemed' END::points.redeem_status),
           f.detail
    FROM points.members AS m
    JOIN points.rewards AS r ON r.program_id = m.program_id
    LEFT JOIN LATERAL points.reward_refusal(m.program_id, m, r, 1, now()) AS f ON true
    WHERE m.program_id = p_program AND m.member_id = p_member
    ORDER BY r.cost, r.reward
$$;

GRANT EXECUTE ON FUNCTION points.reward_offers(integer, points.member_key) TO {{writer}};

-- Redeems p_quantity of reward p_reward, or (p_reward NULL) spends p_points for p_reason: one
-- round trip, under the member's row lock. p_occurred_at (default now) dates it, as for
-- purchases: up to five minutes ahead, and back to the program's back-dating window unless
-- p_backdated, recorded, allows older. Checks, in order: the time, the reward exists and is
-- active at that time, the member's effective tier then reaches its minimum, the member's limit, spendable points
-- (available − held), and stock, which it takes in the same statement that checks it, so two
-- redemptions of the last unit never both succeed. Points come from the soonest-expiring lots.
-- Idempotent by key. Returns status 'redeemed', 'replayed', 'conflict', 'unknown_member',
-- 'in_future', 'too_old', 'unknown_reward', 'inactive', 'tier_too_low', 'limit_reached', 'insufficient_points' or
-- 'out_of_stock' (refusals are not remembered: a retry may succeed), with the points, the
-- member's balances after, the stock left, and for a refusal a detail.
CREATE FUNCTION points.redeem(
    p_program integer, p_member points.member_key, p_reward text, p_quantity integer, p_points bigint, p_reason points.label_text,
    p_key points.idempotency_key, p_occurred_at points.event_time DEFAULT NULL, p_backdated boolean DEFAULT false)
RETURNS TABLE (status points.redeem_status, entry_id bigint, points bigint, available bigint, held bigint, stock_left bigint,
               detail text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_at timestamptz := coalesce(p_occurred_at, now());
    v_request jsonb := jsonb_strip_nulls(jsonb_build_object(
        'member', p_member, 'reward', p_reward, 'quantity', p_quantity, 'points', p_points, 'reason', p_reason,
        'occurred_at', p_occurred_at AT TIME ZONE 'UTC'));
    v_problem text;
    v_member points.members;
    v_existing record;
    v_reward points.rewards;
    v_cost bigint := p_points;
    v_stock bigint;
    v_entry bigint;
    v_refusal record;
BEGIN
    IF (p_reward IS NULL) = (p_points IS NULL) OR (p_reward IS NOT NULL AND (p_quantity IS NULL OR p_quantity <= 0))
        OR (p_reward IS NULL AND (p_points <= 0 OR p_reason IS NULL)) OR p_backdated IS NULL THEN
        RAISE EXCEPTION 'a redemption needs a reward and a positive quantity, or positive points and a reason'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT m.* INTO v_member FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = p_member FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member'::points.redeem_status, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
            NULL::bigint, NULL::text;
        RETURN;
    END IF;
    -- A replay is answered with the original, whatever the state now.
    SELECT e.entry_id, e.request, r.points, r.available_after, r.held_after, r.stock_left INTO v_existing
    FROM points.journal_entries AS e
    LEFT JOIN points.redemptions AS r ON r.program_id = e.program_id AND r.member_id = e.member_id AND r.entry_id = e.entry_id
    WHERE e.program_id = p_program AND e.key_scope = 'redemption' AND e.idempotency_key = p_key;
    IF FOUND THEN
        RETURN QUERY SELECT CASE WHEN v_existing.request = v_request THEN 'replayed' ELSE 'conflict' END::points.redeem_status,
            v_existing.entry_id, v_existing.points::bigint, coalesce(v_existing.available_after, v_member.available),
            coalesce(v_existing.held_after, v_member.held)::bigint, v_existing.stock_left::bigint, NULL::text;
        RETURN;
    END IF;
    -- A time outside the window is refused only now: a replay is answered however late it comes.
    IF p_occurred_at IS NOT NULL THEN
        v_problem := points.check_occurred_at(p_program, v_at, p_backdated);
        IF v_problem IS NOT NULL THEN
            RETURN QUERY SELECT v_problem::points.redeem_status, NULL::bigint, NULL::bigint, v_member.available,
                v_member.held::bigint, NULL::bigint, NULL::text;
            RETURN;
        END IF;
    END IF;

    IF p_reward IS NOT NULL THEN
        SELECT r.* INTO v_reward FROM points.rewards AS r WHERE r.program_id = p_program AND r.reward = p_reward;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'unknown_reward'::points.redeem_status, NULL::bigint, NULL::bigint, v_member.available,
                v_member.held::bigint, NULL::bigint, NULL::text;
            RETURN;
        END IF;
        SELECT f.status, f.detail INTO v_refusal FROM points.reward_refusal(p_program, v_member, v_reward, p_quantity, v_at) AS f;
        IF FOUND THEN
            RETURN QUERY SELECT v_refusal.status, NULL::bigint, NULL::bigint, v_member.available, v_member.held::bigint,
                v_reward.stock::bigint, v_refusal.detail;
            RETURN;
        END IF;
        v_cost := v_reward.cost * p_quantity;
    END IF;
    IF v_member.held > 0 THEN
        v_member.held := v_member.held - points.release_expired_holds(p_program, p_member);
    END IF;
    IF v_member.available - v_member.held < v_cost THEN
        RETURN QUERY SELECT 'insufficient_points'::points.redeem_status, NULL::bigint, v_cost, v_member.available,
            v_member.held::bigint, v_reward.stock::bigint, NULL::text;
        RETURN;
    END IF;
    IF v_reward.stock IS NOT NULL THEN
        -- Checked and taken in one statement: the reward's row lock orders racing redemptions.
        UPDATE points.rewards AS r SET stock = r.stock - p_quantity
        WHERE r.program_id = p_program AND r.reward = p_reward AND r.stock >= p_quantity
        RETURNING r.stock INTO v_stock;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'out_of_stock'::points.redeem_status, NULL::bigint, NULL::bigint, v_member.available,
                v_member.held::bigint,
                (SELECT r.stock FROM points.rewards AS r WHERE r.program_id = p_program AND r.reward = p_reward)::bigint, NULL::text;
            RETURN;
        END IF;
    END IF;

    -- The same key taken at this moment by another member's redemption fails here with a unique
    -- violation, and the whole call (stock included) is undone.
    INSERT INTO points.journal_entries AS e
        (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
    VALUES (p_program, p_member, 'redemption', 'redemption', p_key, v_request, v_at, p_backdated)
    RETURNING e.entry_id INTO v_entry;
    PERFORM points.consume_lots(p_program, p_member, v_entry, v_cost);
    -- Plain statements: cheaper on the server than data-modifying CTEs (see points.purchase).
    INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
    VALUES (p_program, p_member, v_entry, 1, 'available', 'redeemed', v_cost, v_at);
    INSERT INTO points.redemptions (program_id, member_id, entry_id, reward, quantity, points, reason, available_after, held_after,
                                    stock_left)
    VALUES (p_program, p_member, v_entry, p_reward, p_quantity, v_cost, p_reason, v_member.available - v_cost, v_member.held,
            v_stock);
    UPDATE points.members AS m SET available = m.available - v_cost, redeemed = m.redeemed + v_cost
    WHERE m.program_id = p_program AND m.member_id = p_member;
    status := 'redeemed';
    entry_id := v_entry;
    points := v_cost;
    available := v_member.available - v_cost;
    held := v_member.held;
    stock_left := v_stock;
    detail := NULL;
    RETURN NEXT;
END
$$;

GRANT EXECUTE ON FUNCTION points.redeem TO {{writer}};
