-- Redemption (RULES.md: Redemption and holds, Lots and expiry, Idempotency): a catalog of
-- rewards, and spending points on them or on a stated reason, soonest-expiring lots first.
SET LOCAL ROLE {{owner}};

-- New values are only used by later transactions (functions below name them in their bodies).
ALTER TYPE points.entry_kind ADD VALUE 'redemption';
ALTER TYPE points.entry_kind ADD VALUE 'capture';
ALTER TYPE points.key_scope ADD VALUE 'redemption';
ALTER TYPE points.key_scope ADD VALUE 'capture';

-- A reward: its cost in points, an optional stock (NULL: unlimited; never below zero), an
-- optional minimum tier and limit per member, and an optional active window. `stock` is what is
-- left; a redemption takes from it in the same statement that checks it.
CREATE TABLE points.rewards (
    program_id integer NOT NULL REFERENCES points.programs,
    reward text COLLATE "C" NOT NULL CONSTRAINT reward_code_format CHECK (reward ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    name points.label_text NOT NULL,
    cost points.amount_positive NOT NULL,
    stock points.amount_not_negative,
    min_tier text,
    limit_per_member points.amount_positive,
    active_from points.event_time,
    active_until points.event_time,
    CONSTRAINT reward_window CHECK (active_until > active_from),
    PRIMARY KEY (program_id, reward),
    FOREIGN KEY (program_id, min_tier) REFERENCES points.tiers
);
GRANT SELECT ON points.rewards TO {{writer}}, {{auditor}};

-- What each redemption took: the reward and quantity (NULL for a plain spend, with its reason)
-- and the points. Written with its journal entry; append-only.
CREATE TABLE points.redemptions (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    entry_id bigint NOT NULL,
    reward text COLLATE "C",
    quantity integer,
    points points.amount_positive NOT NULL,
    reason points.label_text,
    PRIMARY KEY (program_id, member_id, entry_id)
);
CREATE INDEX redemptions_of_reward ON points.redemptions (program_id, member_id, reward) WHERE reward IS NOT NULL;
CREATE TRIGGER redemptions_append_only BEFORE UPDATE OR DELETE ON points.redemptions
    FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();
CREATE TRIGGER redemptions_no_truncate BEFORE TRUNCATE ON points.redemptions
    FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();
GRANT SELECT ON points.redemptions TO {{writer}}, {{auditor}};

-- Creates or changes a reward (fields absent from p_changes keep their values; a new reward
-- needs a name and a cost). Recorded with who, when, before and after. Returns 'created',
-- 'changed', 'unchanged', 'incomplete' (a new reward without name or cost) or 'unknown_tier'.
CREATE FUNCTION points.set_reward(p_program integer, p_reward text, p_changes jsonb, p_actor points.label_text)
RETURNS TABLE (status text)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_before points.rewards;
    v_after points.rewards;
BEGIN
    IF p_changes ? 'min_tier' AND p_changes->>'min_tier' IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = p_changes->>'min_tier') THEN
        RETURN QUERY SELECT 'unknown_tier';
        RETURN;
    END IF;
    SELECT r.* INTO v_before FROM points.rewards AS r WHERE r.program_id = p_program AND r.reward = p_reward FOR UPDATE;
    IF NOT FOUND THEN
        IF NOT (p_changes ? 'name' AND p_changes ? 'cost') THEN
            RETURN QUERY SELECT 'incomplete';
            RETURN;
        END IF;
        v_after := jsonb_populate_record(
            jsonb_populate_record(NULL::points.rewards, jsonb_build_object('program_id', p_program, 'reward', p_reward)), p_changes);
        INSERT INTO points.rewards VALUES (v_after.*);
    ELSE
        v_after := jsonb_populate_record(v_before, p_changes);
        IF to_jsonb(v_after) = to_jsonb(v_before) THEN
            RETURN QUERY SELECT 'unchanged';
            RETURN;
        END IF;
        UPDATE points.rewards AS r SET name = v_after.name, cost = v_after.cost, stock = v_after.stock,
            min_tier = v_after.min_tier, limit_per_member = v_after.limit_per_member,
            active_from = v_after.active_from, active_until = v_after.active_until
        WHERE r.program_id = p_program AND r.reward = p_reward;
    END IF;
    INSERT INTO points.configuration_changes (program_id, subject, actor, effective_at, before, after)
    VALUES (p_program, 'reward ' || p_reward, p_actor, now(),
            to_jsonb(v_before) - 'program_id' - 'reward', to_jsonb(v_after) - 'program_id' - 'reward');
    RETURN QUERY SELECT CASE WHEN v_before.reward IS NULL THEN 'created' ELSE 'changed' END;
END
$$;

-- Redeems p_quantity of reward p_reward, or (p_reward NULL) spends p_points for p_reason: one
-- round trip, under the member's row lock. Checks, in order: the reward exists and is active
-- now, the member's effective tier reaches its minimum, the member's limit, spendable points
-- (available − held), and stock, which it takes in the same statement that checks it, so two
-- redemptions of the last unit never both succeed. Points come from the soonest-expiring lots.
-- Idempotent by key. Returns status 'redeemed', 'replayed', 'conflict', 'unknown_member',
-- 'unknown_reward', 'inactive', 'tier_too_low', 'limit_reached', 'insufficient_points' or
-- 'out_of_stock' (refusals are not remembered: a retry may succeed), with the points, the
-- member's balances after, the stock left, and for a refusal a detail.
CREATE FUNCTION points.redeem(
    p_program integer, p_member points.member_key, p_reward text, p_quantity integer, p_points bigint, p_reason points.label_text, p_key points.idempotency_key)
RETURNS TABLE (status text, entry_id bigint, points bigint, available bigint, held bigint, stock_left bigint, detail text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_request jsonb := jsonb_strip_nulls(jsonb_build_object(
        'member', p_member, 'reward', p_reward, 'quantity', p_quantity, 'points', p_points, 'reason', p_reason));
    v_member points.members;
    v_existing record;
    v_reward points.rewards;
    v_cost bigint := p_points;
    v_stock bigint;
    v_taken bigint;
    v_entry bigint;
    v_tier text;
BEGIN
    IF (p_reward IS NULL) = (p_points IS NULL) OR (p_reward IS NOT NULL AND (p_quantity IS NULL OR p_quantity <= 0))
        OR (p_reward IS NULL AND (p_points <= 0 OR p_reason IS NULL)) THEN
        RAISE EXCEPTION 'a redemption needs a reward and a positive quantity, or positive points and a reason'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT m.* INTO v_member FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = p_member FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member', NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    -- A replay is answered with the original, whatever the state now.
    SELECT e.entry_id, e.request, r.points INTO v_existing
    FROM points.journal_entries AS e
    LEFT JOIN points.redemptions AS r ON r.program_id = e.program_id AND r.member_id = e.member_id AND r.entry_id = e.entry_id
    WHERE e.program_id = p_program AND e.key_scope = 'redemption' AND e.idempotency_key = p_key;
    IF FOUND THEN
        RETURN QUERY SELECT CASE WHEN v_existing.request = v_request THEN 'replayed' ELSE 'conflict' END,
            v_existing.entry_id, v_existing.points::bigint, v_member.available, v_member.held::bigint, NULL::bigint, NULL::text;
        RETURN;
    END IF;

    IF p_reward IS NOT NULL THEN
        SELECT r.* INTO v_reward FROM points.rewards AS r WHERE r.program_id = p_program AND r.reward = p_reward;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'unknown_reward', NULL::bigint, NULL::bigint, v_member.available, v_member.held::bigint, NULL::bigint, NULL::text;
            RETURN;
        END IF;
        IF now() < v_reward.active_from OR now() >= v_reward.active_until THEN
            RETURN QUERY SELECT 'inactive', NULL::bigint, NULL::bigint, v_member.available, v_member.held::bigint, v_reward.stock::bigint,
                CASE WHEN now() < v_reward.active_from THEN 'from ' || v_reward.active_from ELSE 'until ' || v_reward.active_until END;
            RETURN;
        END IF;
        IF v_reward.min_tier IS NOT NULL THEN
            v_tier := points.tier_at(p_program, p_member, v_member.tier, v_member.override_until, v_member.override_previous,
                                     v_member.granted_until, now());
            IF (SELECT t.rank FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = v_tier)
               < (SELECT t.rank FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = v_reward.min_tier) THEN
                RETURN QUERY SELECT 'tier_too_low', NULL::bigint, NULL::bigint, v_member.available, v_member.held::bigint,
                    v_reward.stock::bigint, v_tier || ',' || v_reward.min_tier;
                RETURN;
            END IF;
        END IF;
        IF v_reward.limit_per_member IS NOT NULL THEN
            SELECT coalesce(sum(r.quantity), 0) INTO v_taken FROM points.redemptions AS r
            WHERE r.program_id = p_program AND r.member_id = p_member AND r.reward = p_reward;
            IF v_taken + p_quantity > v_reward.limit_per_member THEN
                RETURN QUERY SELECT 'limit_reached', NULL::bigint, NULL::bigint, v_member.available, v_member.held::bigint,
                    v_reward.stock::bigint, v_taken || ' of ' || v_reward.limit_per_member;
                RETURN;
            END IF;
        END IF;
        v_cost := v_reward.cost * p_quantity;
    END IF;
    IF v_member.held > 0 THEN
        v_member.held := v_member.held - points.release_expired_holds(p_program, p_member);
    END IF;
    IF v_member.available - v_member.held < v_cost THEN
        RETURN QUERY SELECT 'insufficient_points', NULL::bigint, v_cost, v_member.available, v_member.held::bigint,
            v_reward.stock::bigint, NULL::text;
        RETURN;
    END IF;
    IF v_reward.stock IS NOT NULL THEN
        -- Checked and taken in one statement: the reward's row lock orders racing redemptions.
        UPDATE points.rewards AS r SET stock = r.stock - p_quantity
        WHERE r.program_id = p_program AND r.reward = p_reward AND r.stock >= p_quantity
        RETURNING r.stock INTO v_stock;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'out_of_stock', NULL::bigint, NULL::bigint, v_member.available, v_member.held::bigint,
                (SELECT r.stock FROM points.rewards AS r WHERE r.program_id = p_program AND r.reward = p_reward)::bigint, NULL::text;
            RETURN;
        END IF;
    END IF;

    -- The same key taken at this moment by another member's redemption fails here with a unique
    -- violation, and the whole call (stock included) is undone.
    INSERT INTO points.journal_entries AS e (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at)
    VALUES (p_program, p_member, 'redemption', 'redemption', p_key, v_request, now())
    RETURNING e.entry_id INTO v_entry;
    PERFORM points.consume_lots(p_program, p_member, v_entry, v_cost);
    -- Plain statements: cheaper on the server than data-modifying CTEs (see points.purchase).
    INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES
        (p_program, p_member, v_entry, 'available', -v_cost, now()),
        (p_program, p_member, v_entry, 'redeemed', v_cost, now());
    INSERT INTO points.redemptions (program_id, member_id, entry_id, reward, quantity, points, reason)
    VALUES (p_program, p_member, v_entry, p_reward, p_quantity, v_cost, p_reason);
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

-- Holds: a checkout paying with points reserves them first, then captures (all or part; the
-- rest is released), voids, or lets the hold expire. Each hold resolves once. An open hold's
-- points count in members.held: spendable = available - held.
CREATE TYPE points.hold_state AS ENUM ('open', 'captured', 'voided', 'expired');
CREATE TABLE points.holds (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    hold_id bigint GENERATED ALWAYS AS IDENTITY,
    hold_key points.idempotency_key NOT NULL,
    points points.amount_positive NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at points.event_time NOT NULL,
    state points.hold_state NOT NULL DEFAULT 'open',
    captured points.amount_not_negative,
    resolved_at timestamptz,
    -- The capture's journal entry.
    entry_id bigint,
    CONSTRAINT hold_resolved_once CHECK ((state = 'open') = (resolved_at IS NULL) AND (state = 'captured') = (captured IS NOT NULL)
                                         AND captured <= points),
    PRIMARY KEY (program_id, member_id, hold_id),
    CONSTRAINT hold_key_unique UNIQUE (program_id, hold_key)
);
CREATE UNIQUE INDEX holds_by_id ON points.holds (program_id, hold_id);
CREATE INDEX holds_expiring ON points.holds (program_id, expires_at) WHERE state = 'open';
GRANT SELECT ON points.holds TO {{writer}}, {{auditor}};

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

-- Reserves p_points of a member's spendable points until p_expires_at. Idempotent by key (the
-- same member and points: the original hold). Returns status 'held', 'replayed', 'conflict',
-- 'unknown_member' or 'insufficient_points', with the hold and the member's balances.
CREATE FUNCTION points.create_hold(p_program integer, p_member points.member_key, p_points bigint, p_expires_at points.event_time, p_key points.idempotency_key)
RETURNS TABLE (status text, hold_id bigint, expires_at timestamptz, available bigint, held bigint)
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
        RETURN QUERY SELECT 'unknown_member', NULL::bigint, NULL::timestamptz, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    IF v_member.held > 0 THEN
        v_member.held := v_member.held - points.release_expired_holds(p_program, p_member);
    END IF;
    SELECT h.* INTO v_existing FROM points.holds AS h WHERE h.program_id = p_program AND h.hold_key = p_key;
    IF FOUND THEN
        RETURN QUERY SELECT CASE WHEN v_existing.member_id = p_member AND v_existing.points = p_points THEN 'replayed' ELSE 'conflict' END,
            v_existing.hold_id, v_existing.expires_at::timestamptz, v_member.available, v_member.held::bigint;
        RETURN;
    END IF;
    IF v_member.available - v_member.held < p_points THEN
        RETURN QUERY SELECT 'insufficient_points', NULL::bigint, NULL::timestamptz, v_member.available, v_member.held::bigint;
        RETURN;
    END IF;
    INSERT INTO points.holds AS h (program_id, member_id, hold_key, points, expires_at)
    VALUES (p_program, p_member, p_key, p_points, p_expires_at)
    RETURNING h.hold_id INTO v_hold;
    UPDATE points.members AS m SET held = m.held + p_points WHERE m.program_id = p_program AND m.member_id = p_member;
    RETURN QUERY SELECT 'held', v_hold, p_expires_at::timestamptz, v_member.available, v_member.held + p_points;
END
$$;

-- Resolves an open hold: p_void voids it; otherwise it captures p_capture points (NULL: all; at
-- most the hold's; the rest is released), spent from the soonest-expiring lots. A hold past its
-- expiry is expired here. Asking again for the same resolution answers with it ('replayed').
-- Returns status 'captured', 'voided', 'replayed', 'unknown_hold', 'exceeds_hold',
-- 'insufficient_points' or 'resolved' (resolved otherwise before: state says how), with the
-- hold's state, points, captured points, entry, and the member's balances.
CREATE FUNCTION points.resolve_hold(p_program integer, p_hold bigint, p_void boolean, p_capture bigint)
RETURNS TABLE (status text, state text, member_id text, points bigint, captured bigint, entry_id bigint,
               available bigint, held bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_member_id text;
    v_member points.members;
    v_hold points.holds;
    v_entry bigint;
    v_capture bigint;
BEGIN
    IF p_capture <= 0 OR p_void IS NULL THEN
        RAISE EXCEPTION 'a capture needs positive points' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT h.member_id INTO v_member_id FROM points.holds AS h WHERE h.program_id = p_program AND h.hold_id = p_hold;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_hold', NULL::text, NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint;
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
                   OR (v_hold.state = 'captured' AND NOT p_void AND v_hold.captured = coalesce(p_capture, v_hold.points))
                 THEN 'replayed' ELSE 'resolved' END,
            v_hold.state::text, v_member_id, v_hold.points::bigint, v_hold.captured::bigint, v_hold.entry_id, v_member.available,
            v_member.held::bigint;
        RETURN;
    END IF;
    IF p_void THEN
        UPDATE points.holds AS h SET state = 'voided', resolved_at = now()
        WHERE h.program_id = p_program AND h.member_id = v_member_id AND h.hold_id = p_hold;
        UPDATE points.members AS m SET held = m.held - v_hold.points WHERE m.program_id = p_program AND m.member_id = v_member_id;
        RETURN QUERY SELECT 'voided', 'voided', v_member_id, v_hold.points::bigint, NULL::bigint, NULL::bigint, v_member.available,
            v_member.held - v_hold.points;
        RETURN;
    END IF;
    v_capture := coalesce(p_capture, v_hold.points);
    IF v_capture > v_hold.points THEN
        RETURN QUERY SELECT 'exceeds_hold', 'open', v_member_id, v_hold.points::bigint, NULL::bigint, NULL::bigint, v_member.available,
            v_member.held::bigint;
        RETURN;
    END IF;
    IF v_member.available < v_capture THEN
        -- Clawbacks since the hold took the points it reserved.
        RETURN QUERY SELECT 'insufficient_points', 'open', v_member_id, v_hold.points::bigint, NULL::bigint, NULL::bigint,
            v_member.available, v_member.held::bigint;
        RETURN;
    END IF;
    INSERT INTO points.journal_entries AS e (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at)
    VALUES (p_program, v_member_id, 'capture', 'capture', p_hold::text,
            jsonb_build_object('hold', p_hold, 'key', v_hold.hold_key, 'points', v_capture), now())
    RETURNING e.entry_id INTO v_entry;
    PERFORM points.consume_lots(p_program, v_member_id, v_entry, v_capture);
    WITH lines AS (
        INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES
            (p_program, v_member_id, v_entry, 'available', -v_capture, now()),
            (p_program, v_member_id, v_entry, 'redeemed', v_capture, now())
    ), resolved AS (
        UPDATE points.holds AS h SET state = 'captured', captured = v_capture, resolved_at = now(), entry_id = v_entry
        WHERE h.program_id = p_program AND h.member_id = v_member_id AND h.hold_id = p_hold
    )
    UPDATE points.members AS m SET available = m.available - v_capture, redeemed = m.redeemed + v_capture,
        held = m.held - v_hold.points
    WHERE m.program_id = p_program AND m.member_id = v_member_id;
    RETURN QUERY SELECT 'captured', 'captured', v_member_id, v_hold.points::bigint, v_capture, v_entry,
        v_member.available - v_capture, v_member.held - v_hold.points;
END
$$;

-- Expiry of holds, one chunk: up to p_limit open holds whose expiry is at or before p_as_of
-- are expired and their points released. Set-based, idempotent, resumable: call it until it
-- returns 0 holds. Members are locked in id order.
CREATE FUNCTION points.expire_holds(p_program integer, p_as_of points.event_time, p_limit integer)
RETURNS TABLE (holds integer, points bigint, members integer)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp SET enable_seqscan = off SET jit = off AS $$
DECLARE
    v_members text[];
BEGIN
    PERFORM points.check_as_of(p_as_of);
    SELECT array_agg(DISTINCT h.member_id) INTO v_members FROM (
        SELECT h.member_id FROM points.holds AS h
        WHERE h.program_id = p_program AND h.state = 'open' AND h.expires_at <= p_as_of
        ORDER BY h.expires_at LIMIT p_limit) AS h;
    IF v_members IS NULL THEN
        RETURN QUERY SELECT 0, 0::bigint, 0;
        RETURN;
    END IF;
    PERFORM points.lock_members(p_program, v_members);
    RETURN QUERY
    WITH due AS (
        UPDATE points.holds AS h SET state = 'expired', resolved_at = h.expires_at
        FROM (SELECT d.member_id, d.hold_id FROM points.holds AS d
              WHERE d.program_id = p_program AND d.state = 'open' AND d.expires_at <= p_as_of AND d.member_id = ANY (v_members)
              ORDER BY d.expires_at LIMIT p_limit FOR UPDATE) AS d
        WHERE h.program_id = p_program AND h.member_id = d.member_id AND h.hold_id = d.hold_id
        RETURNING h.member_id, h.points
    ), released AS (
        UPDATE points.members AS m SET held = m.held - r.points
        FROM (SELECT u.member_id, sum(u.points) AS points FROM due AS u GROUP BY u.member_id) AS r
        WHERE m.program_id = p_program AND m.member_id = r.member_id
        RETURNING m.member_id
    )
    SELECT (SELECT count(*) FROM due)::integer, (SELECT coalesce(sum(u.points), 0) FROM due AS u)::bigint,
           (SELECT count(*) FROM released)::integer;
END
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA points FROM PUBLIC;
GRANT EXECUTE ON FUNCTION points.redeem TO {{writer}};
GRANT EXECUTE ON FUNCTION points.create_hold TO {{writer}};
GRANT EXECUTE ON FUNCTION points.resolve_hold(integer, bigint, boolean, bigint) TO {{writer}};
