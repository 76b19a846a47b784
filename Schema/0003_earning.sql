-- Earning from checkout (RULES.md: Units, Time, Earning from purchases, Refunds, Lots and
-- expiry, Configuration): program settings in force from a stated time, lots and their
-- allocations, purchases and refunds, maturation and expiry.
SET LOCAL ROLE {{owner}};

-- A program's settings, one row per version: a posting uses the version in force at its
-- occurred_at. The first version is in force from the beginning of time.
CREATE TABLE points.program_settings (
    program_id integer NOT NULL REFERENCES points.programs,
    effective_at timestamptz NOT NULL,
    -- points per major currency unit (1.25 points per yuan), an exact decimal
    earn_rate numeric NOT NULL CONSTRAINT earn_rate_range CHECK (earn_rate >= 0 AND earn_rate <= 1000000 AND scale(earn_rate) <= 6),
    rounding text NOT NULL CONSTRAINT rounding_mode CHECK (rounding IN ('down', 'up', 'half_up', 'half_even')),
    return_window_days integer NOT NULL CONSTRAINT return_window_range CHECK (return_window_days BETWEEN 0 AND 365),
    refund_policy text NOT NULL CONSTRAINT refund_policy_kind CHECK (refund_policy IN ('negative', 'write_off')),
    expiry_kind text NOT NULL CONSTRAINT expiry_kind CHECK (expiry_kind IN ('never', 'days', 'months', 'years')),
    expiry_count integer CONSTRAINT expiry_count CHECK (
        (expiry_kind = 'never' AND expiry_count IS NULL) OR (expiry_kind <> 'never' AND expiry_count BETWEEN 1 AND 36500)),
    referral_bonus bigint NOT NULL CONSTRAINT referral_bonus_range CHECK (referral_bonus >= 0),
    backdate_days integer NOT NULL CONSTRAINT backdate_days_range CHECK (backdate_days BETWEEN 0 AND 3650),
    PRIMARY KEY (program_id, effective_at)
);
GRANT SELECT ON points.program_settings TO {{writer}}, {{auditor}};

-- Every program starts with the default settings, in force from the beginning of time.
CREATE FUNCTION points.add_default_settings(p_program integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO points.program_settings
        (program_id, effective_at, earn_rate, rounding, return_window_days, refund_policy, expiry_kind, expiry_count,
         referral_bonus, backdate_days)
    VALUES (p_program, '-infinity', 1, 'down', 0, 'negative', 'never', NULL, 0, 7)
$$;
CREATE FUNCTION points.program_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM points.add_default_settings(NEW.program_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER programs_default_settings AFTER INSERT ON points.programs
    FOR EACH ROW EXECUTE FUNCTION points.program_created();
SELECT points.add_default_settings(program_id) FROM points.programs;

-- The settings in force at an instant. (plpgsql, like the other helpers that read tables, so its
-- plan is cached: a LANGUAGE sql function that cannot be inlined is planned again on every call.)
CREATE FUNCTION points.settings_at(p_program integer, p_at timestamptz) RETURNS points.program_settings
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_settings points.program_settings;
BEGIN
    SELECT s.* INTO v_settings FROM points.program_settings AS s
    WHERE s.program_id = p_program AND s.effective_at <= p_at
    ORDER BY s.effective_at DESC LIMIT 1;
    RETURN v_settings;
END
$$;

-- The settings in force at an instant, given the latest version (which postings read with the
-- program's row): that version, unless it starts later (a change scheduled ahead, or an event
-- older than the last change). One expression, so the planner inlines it into the caller.
CREATE FUNCTION points.settings_in_force(p_program integer, p_latest points.program_settings, p_at timestamptz)
RETURNS points.program_settings
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN (p_latest).effective_at <= p_at THEN p_latest ELSE points.settings_at(p_program, p_at) END
$$;

-- Rounds a computed number of points once, by the program's rounding mode.
CREATE FUNCTION points.round_points(p_value numeric, p_mode text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_mode
        WHEN 'down' THEN floor(p_value)
        WHEN 'up' THEN ceil(p_value)
        WHEN 'half_up' THEN round(p_value)
        ELSE CASE WHEN p_value - floor(p_value) = 0.5 AND mod(floor(p_value), 2) = 0 THEN floor(p_value) ELSE round(p_value) END
    END::bigint
$$;

-- The first instant at which a lot credited at p_earned_at is expired (NULL: never), in the
-- program's time zone: `days N` lasts through the Nth local day after earning, `months N`
-- through the end of the Nth month after, `years N` through the end of the Nth calendar year after.
CREATE FUNCTION points.lot_expiry(p_kind text, p_count integer, p_earned_at timestamptz, p_time_zone text)
RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE p_kind
        WHEN 'never' THEN NULL
        WHEN 'days' THEN (date_trunc('day', p_earned_at AT TIME ZONE p_time_zone) + make_interval(days => p_count + 1)) AT TIME ZONE p_time_zone
        WHEN 'months' THEN (date_trunc('month', p_earned_at AT TIME ZONE p_time_zone) + make_interval(months => p_count + 1)) AT TIME ZONE p_time_zone
        WHEN 'years' THEN (date_trunc('year', p_earned_at AT TIME ZONE p_time_zone) + make_interval(years => p_count + 1)) AT TIME ZONE p_time_zone
    END
$$;

-- Who referred a member, and when the member first bought (the referral bonus is paid once).
ALTER TABLE points.members
    ADD COLUMN referrer points.member_key,
    ADD COLUMN first_purchase_at timestamptz,
    ADD CONSTRAINT members_referrer_fkey FOREIGN KEY (program_id, referrer) REFERENCES points.members;

-- Nobody refers themselves. A trigger on the referrer column rather than a CHECK, which would be
-- evaluated again on every balance update (see the domains in 0002_ledger.sql).
CREATE FUNCTION points.refuse_self_referral() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'member % cannot be their own referrer', NEW.member_id
        USING ERRCODE = 'check_violation', CONSTRAINT = 'referrer_not_self';
END
$$;
CREATE TRIGGER members_referrer_not_self BEFORE INSERT OR UPDATE OF referrer ON points.members
    FOR EACH ROW WHEN (NEW.referrer = NEW.member_id) EXECUTE FUNCTION points.refuse_self_referral();

-- Entries may carry a recorded permission to be older than the back-dating window.
ALTER TABLE points.journal_entries ADD COLUMN backdated boolean NOT NULL DEFAULT false;

CREATE SEQUENCE points.lot_ids AS bigint;

-- A lot: the points of one credit to a member's available account, spent soonest-expiring
-- first. remaining = amount - what allocations took - what expired (checked by audit verify).
CREATE TABLE points.lots (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    lot_id bigint NOT NULL DEFAULT nextval('points.lot_ids'),
    entry_id bigint NOT NULL,
    earned_at timestamptz NOT NULL,
    expires_at timestamptz,
    amount points.amount_positive NOT NULL,
    remaining points.amount_not_negative NOT NULL,
    expired_amount points.amount_not_negative NOT NULL DEFAULT 0,
    CONSTRAINT lot_within_amount CHECK (remaining <= amount AND expired_amount <= amount),
    expired_entry_id bigint,
    -- The entry is written by the same function in the same transaction; `audit verify` checks
    -- that it exists, instead of a foreign key checked row by row on the hot path.
    PRIMARY KEY (program_id, member_id, lot_id)
) WITH (fillfactor = 90);
CREATE INDEX lots_spending_order ON points.lots (program_id, member_id, expires_at NULLS LAST, earned_at, lot_id)
    WHERE remaining > 0;
CREATE INDEX lots_expiring ON points.lots (program_id, expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL;
GRANT SELECT ON points.lots TO {{writer}}, {{auditor}};

-- Which lots paid how much of a spend (redemption, capture, clawback, deduction). Append-only.
CREATE TABLE points.lot_allocations (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    entry_id bigint NOT NULL,
    lot_id bigint NOT NULL,
    amount points.amount_positive NOT NULL,
    PRIMARY KEY (program_id, member_id, entry_id, lot_id),
    FOREIGN KEY (program_id, member_id, lot_id) REFERENCES points.lots
);
CREATE TRIGGER lot_allocations_append_only BEFORE UPDATE OR DELETE ON points.lot_allocations
    FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();
CREATE TRIGGER lot_allocations_no_truncate BEFORE TRUNCATE ON points.lot_allocations
    FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();
GRANT SELECT ON points.lot_allocations TO {{writer}}, {{auditor}};

-- A purchase, by order: what it earned and what refunds have taken back since. The journal's
-- unique key on ('purchase', order id) makes the order unique within the program.
CREATE TABLE points.purchases (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    order_id points.idempotency_key NOT NULL,
    entry_id bigint NOT NULL,
    occurred_at points.event_time NOT NULL,
    amount_minor points.amount_positive NOT NULL,
    points_paid_minor points.amount_not_negative NOT NULL,
    points points.amount_not_negative NOT NULL,
    pending_points points.amount_not_negative NOT NULL,
    matures_at timestamptz,
    matured_entry_id bigint,
    refunded_minor points.amount_not_negative NOT NULL DEFAULT 0,
    clawed_back points.amount_not_negative NOT NULL DEFAULT 0,
    -- Points paid and refunds within the order's amount; pending points and clawbacks within its points.
    CONSTRAINT purchase_within_order CHECK (
        points_paid_minor <= amount_minor AND refunded_minor <= amount_minor AND pending_points <= points AND clawed_back <= points),
    -- Its entry is checked by `audit verify` (see lots).
    PRIMARY KEY (program_id, member_id, order_id)
) WITH (fillfactor = 90);
CREATE INDEX purchases_maturing ON points.purchases (program_id, matures_at) WHERE pending_points > 0;
GRANT SELECT ON points.purchases TO {{writer}}, {{auditor}};

-- The expiry of a lot credited at p_at, by the settings in force then.
CREATE FUNCTION points.expiry_for(p_program integer, p_at timestamptz) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_settings points.program_settings := points.settings_at(p_program, p_at);
    v_time_zone text;
BEGIN
    IF v_settings.expiry_kind = 'never' THEN
        RETURN NULL;
    END IF;
    SELECT p.time_zone INTO v_time_zone FROM points.programs AS p WHERE p.program_id = p_program;
    RETURN points.lot_expiry(v_settings.expiry_kind, v_settings.expiry_count, p_at, v_time_zone);
END
$$;

-- Whether a replayed request matches the recorded one: the same content, where the time counts
-- only when both name one (a retry may leave out the time its first attempt gave, or give the
-- time the first attempt left to the server). Used by every write that takes an occurred-at time.
CREATE FUNCTION points.same_request(p_recorded jsonb, p_given jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_recorded - 'occurred_at' = p_given - 'occurred_at'
       AND (NOT (p_recorded ? 'occurred_at' AND p_given ? 'occurred_at')
            OR p_recorded -> 'occurred_at' = p_given -> 'occurred_at')
$$;

-- Locks members' rows in id order: jobs and imports, which lock many members at once, never
-- deadlock with each other or with single writes (which lock one). Returns the rows locked (the
-- members that exist), as they are once locked. One descent of the primary key per member,
-- whatever the statistics say: a program that an import is filling has more members than its
-- statistics know, and a scan of them all would cost every batch more than the last.
CREATE FUNCTION points.lock_members(p_program integer, p_members text[]) RETURNS SETOF points.members
LANGUAGE sql SET enable_seqscan = off SET enable_bitmapscan = off SET jit = off AS $$
    SELECT m.* FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = ANY (p_members)
    ORDER BY m.member_id FOR UPDATE
$$;

-- The part of a credit of p_credit points that forms a lot, when the member's available balance
-- before it is p_available_before: a credit repays a debt (a negative balance) first.
CREATE FUNCTION points.lot_amount(p_credit bigint, p_available_before bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_credit - least(p_credit, greatest(0, -p_available_before))
$$;

-- Credits p_points to a member's available account for entry p_entry: while available is
-- below zero the credit repays that debt first, and the rest forms a lot expiring at
-- p_expires_at (NULL: never; the caller has the settings in force at p_earned_at, or calls
-- expiry_for). Returns the lot's amount. The caller holds the member's row lock and updates the
-- member's balances.
CREATE FUNCTION points.form_lot(
    p_program integer, p_member text, p_entry bigint, p_points bigint, p_available_before bigint,
    p_earned_at timestamptz, p_expires_at timestamptz)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_amount bigint := points.lot_amount(p_points, p_available_before);
BEGIN
    IF v_amount > 0 THEN
        INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, expires_at, amount, remaining)
        VALUES (p_program, p_member, p_entry, p_earned_at, p_expires_at, v_amount, v_amount);
    END IF;
    RETURN v_amount;
END
$$;

-- Takes up to p_points from a member's lots, soonest-expiring first (ties: earliest earned,
-- then lowest id), and records which lots paid how much for entry p_entry. Returns the points
-- taken. The caller holds the member's row lock.
CREATE FUNCTION points.consume_lots(p_program integer, p_member text, p_entry bigint, p_points bigint)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_taken bigint;
BEGIN
    IF p_points <= 0 THEN
        RETURN 0;
    END IF;
    WITH ordered AS (
        SELECT l.lot_id, l.remaining,
               coalesce(sum(l.remaining) OVER (
                   ORDER BY l.expires_at NULLS LAST, l.earned_at, l.lot_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
        FROM points.lots AS l
        WHERE l.program_id = p_program AND l.member_id = p_member AND l.remaining > 0
    ), taken AS (
        SELECT o.lot_id, least(o.remaining, p_points - o.before) AS amount FROM ordered AS o WHERE o.before < p_points
    ), spent AS (
        UPDATE points.lots AS l SET remaining = l.remaining - t.amount
        FROM taken AS t
        WHERE l.program_id = p_program AND l.member_id = p_member AND l.lot_id = t.lot_id
        RETURNING t.lot_id, t.amount
    ), recorded AS (
        INSERT INTO points.lot_allocations (program_id, member_id, entry_id, lot_id, amount)
        SELECT p_program, p_member, p_entry, sp.lot_id, sp.amount FROM spent AS sp
        RETURNING amount
    )
    SELECT coalesce(sum(r.amount), 0)::bigint INTO v_taken FROM recorded AS r;
    RETURN v_taken;
END
$$;

-- Starts a configuration change of a program: takes the program's row lock (one change at a
-- time) and says whether a change effective at p_effective_at may be made. Once the program has
-- entries, a change may not take effect more than five minutes in the past: posted entries never
-- change meaning.
CREATE FUNCTION points.begin_configuration_change(p_program integer, p_effective_at timestamptz) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM points.programs AS p WHERE p.program_id = p_program FOR UPDATE;
    RETURN p_effective_at >= now() - interval '5 minutes'
        OR NOT EXISTS (SELECT 1 FROM points.journal_entries AS e WHERE e.program_id = p_program);
END
$$;

-- Changes some of a program's settings from p_effective_at on; the other settings keep the
-- values in force then. Records who changed what, before and after. Returns status 'changed',
-- 'unchanged' (the same values were already in force), or 'in_past' (p_effective_at is more
-- than five minutes ago while the program has entries: posted entries never change meaning).
CREATE FUNCTION points.set_program_settings(
    p_program integer, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text)
RETURNS TABLE (status text, effective_at timestamptz)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_before points.program_settings;
    v_after points.program_settings;
BEGIN
    IF NOT points.begin_configuration_change(p_program, p_effective_at) THEN
        RETURN QUERY SELECT 'in_past', p_effective_at::timestamptz;
        RETURN;
    END IF;
    v_before := points.settings_at(p_program, p_effective_at);
    v_after := jsonb_populate_record(v_before, p_changes);
    v_after.effective_at := p_effective_at;
    IF to_jsonb(v_after) - 'effective_at' = to_jsonb(v_before) - 'effective_at' THEN
        RETURN QUERY SELECT 'unchanged', v_before.effective_at;
        RETURN;
    END IF;
    -- The tier period (0006_tiers.sql) changes only where every kind of period starts, at the
    -- start of a local year, once the program has entries: no period is cut in two.
    IF v_after.tier_period <> v_before.tier_period
       AND p_effective_at <> (SELECT date_trunc('year', p_effective_at AT TIME ZONE p.time_zone) AT TIME ZONE p.time_zone
                              FROM points.programs AS p WHERE p.program_id = p_program)
       AND EXISTS (SELECT 1 FROM points.journal_entries AS e WHERE e.program_id = p_program) THEN
        RETURN QUERY SELECT 'tier_period_mid_year', p_effective_at::timestamptz;
        RETURN;
    END IF;
    -- A second change at the same instant replaces the first.
    DELETE FROM points.program_settings AS ps WHERE ps.program_id = p_program AND ps.effective_at = p_effective_at;
    INSERT INTO points.program_settings VALUES (v_after.*);
    INSERT INTO points.configuration_changes (program_id, subject, actor, effective_at, before, after)
    VALUES (p_program, 'settings', p_actor, p_effective_at,
            to_jsonb(v_before) - 'program_id' - 'effective_at', to_jsonb(v_after) - 'program_id' - 'effective_at');
    RETURN QUERY SELECT 'changed', p_effective_at::timestamptz;
END
$$;

-- Creates a member, optionally referred by an existing member. Replaying the same content
-- returns the member; the same id with another referrer is a conflict.
-- Returns status 'created', 'exists', 'conflict' or 'unknown_referrer'.
CREATE FUNCTION points.create_member(p_program integer, p_member points.member_key, p_referrer points.member_key)
RETURNS TABLE (status text, tier text, created_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_tier text;
    v_created timestamptz;
BEGIN
    IF p_member ~ '[[:cntrl:]]' OR p_referrer ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'a member id cannot hold control characters' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_referrer IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = p_referrer) THEN
        RETURN QUERY SELECT 'unknown_referrer', NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    SELECT t.tier INTO v_tier FROM points.tiers AS t WHERE t.program_id = p_program ORDER BY t.rank LIMIT 1;
    INSERT INTO points.members AS m (program_id, member_id, tier, referrer)
    VALUES (p_program, p_member, v_tier, p_referrer)
    ON CONFLICT ON CONSTRAINT members_pkey DO NOTHING
    RETURNING m.created_at INTO v_created;
    IF v_created IS NOT NULL THEN
        RETURN QUERY SELECT 'created', v_tier, v_created;
    ELSE
        RETURN QUERY SELECT CASE WHEN m.referrer IS NOT DISTINCT FROM p_referrer OR p_referrer IS NULL THEN 'exists' ELSE 'conflict' END,
                m.tier, m.created_at
            FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = p_member;
    END IF;
END
$$;

-- An admin's grant (p_points > 0) or deduction (p_points < 0) of points, with a reason, the
-- admin's name and an idempotency key: one round trip, one lock on the member's row. Grants form
-- lots (repaying any debt first); deductions consume lots.
-- Returns status 'posted', 'replayed' (same key, same content: the original entry),
-- 'conflict' (same key, other content), 'insufficient_points' (spendable is short; not
-- remembered, so a retry may succeed) or 'unknown_member', with the balances after.
CREATE FUNCTION points.adjust(
    p_program integer, p_member points.member_key, p_points bigint, p_reason points.label_text, p_actor points.label_text, p_key points.idempotency_key)
RETURNS TABLE (status text, entry_id bigint, available bigint, pending bigint, held bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_request jsonb := jsonb_build_object(
        'member', p_member, 'points', p_points, 'reason', p_reason, 'actor', p_actor);
    v_member record;
    v_entry bigint;
    v_existing record;
BEGIN
    IF p_points IS NULL OR p_points = 0 THEN
        RAISE EXCEPTION 'an adjustment needs a non-zero number of points' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT m.available, m.pending, m.held INTO v_member
    FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = p_member
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member', NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    -- Holds past their time no longer reserve anything (0007_redemption.sql).
    IF p_points < 0 AND v_member.held > 0 THEN
        v_member.held := v_member.held - points.release_expired_holds(p_program, p_member);
    END IF;

    -- The common case first: a new key. Only a conflict, or a spend that is short, looks the
    -- key up, so that a replay is answered with the original entry even when points are short.
    IF p_points > 0 OR v_member.available - v_member.held >= -p_points THEN
        INSERT INTO points.journal_entries AS e
            (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at)
        VALUES (p_program, p_member, CASE WHEN p_points > 0 THEN 'adjustment.grant' ELSE 'adjustment.deduct' END::points.entry_kind,
                'adjustment', p_key, v_request, now())
        ON CONFLICT ON CONSTRAINT idempotency_key_unique DO NOTHING
        RETURNING e.entry_id INTO v_entry;
    END IF;
    IF v_entry IS NULL THEN
        SELECT e.entry_id, e.request INTO v_existing
        FROM points.journal_entries AS e
        WHERE e.program_id = p_program AND e.key_scope = 'adjustment' AND e.idempotency_key = p_key;
        IF FOUND THEN
            RETURN QUERY SELECT CASE WHEN v_existing.request = v_request THEN 'replayed' ELSE 'conflict' END,
                v_existing.entry_id, v_member.available, v_member.pending::bigint, v_member.held::bigint;
        ELSE
            RETURN QUERY SELECT 'insufficient_points', NULL::bigint, v_member.available, v_member.pending::bigint, v_member.held::bigint;
        END IF;
        RETURN;
    END IF;

    IF p_points > 0 THEN
        -- A grant repays a debt first; the rest forms a lot.
        PERFORM points.form_lot(p_program, p_member, v_entry, p_points, v_member.available, now(),
                                points.expiry_for(p_program, now()));
    ELSE
        PERFORM points.consume_lots(p_program, p_member, v_entry, -p_points);
    END IF;
    INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES
        (p_program, p_member, v_entry, 'available', p_points, now()),
        (p_program, p_member, v_entry, 'adjustments', -p_points, now());
    UPDATE points.members AS m
    SET available = m.available + p_points, adjustments = m.adjustments - p_points
    WHERE m.program_id = p_program AND m.member_id = p_member;
    RETURN QUERY SELECT 'posted', v_entry, v_member.available + p_points, v_member.pending::bigint, v_member.held::bigint;
END
$$;

-- Whether an event's time is acceptable: not more than five minutes ahead, and, unless
-- back-dating is permitted, not older than the back-dating window in force now.
-- Returns NULL when acceptable, else 'in_future' or 'too_old'.
CREATE FUNCTION points.check_occurred_at(p_program integer, p_at timestamptz, p_backdated boolean)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_at > now() + interval '5 minutes' THEN
        RETURN 'in_future';
    END IF;
    IF NOT p_backdated AND p_at < now() - make_interval(days => (points.settings_at(p_program, now())).backdate_days) THEN
        RETURN 'too_old';
    END IF;
    RETURN NULL;
END
$$;

-- Pays a member's referrer the program's referral bonus, once per referred member (the key is
-- the referred member's id). The caller holds the referred member's row lock; this locks the
-- referrer's row. Returns the bonus entry, or NULL when no bonus is due.
CREATE FUNCTION points.pay_referral(
    p_program integer, p_member text, p_referrer text, p_order text, p_bonus bigint, p_at timestamptz, p_backdated boolean)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_available bigint;
    v_entry bigint;
BEGIN
    IF p_referrer IS NULL OR p_bonus <= 0 THEN
        RETURN NULL;
    END IF;
    SELECT m.available INTO v_available FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = p_referrer FOR UPDATE;
    INSERT INTO points.journal_entries AS e
        (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
    VALUES (p_program, p_referrer, 'referral', 'referral', p_member,
            jsonb_build_object('referrer', p_referrer, 'member', p_member, 'order', p_order, 'points', p_bonus),
            p_at, p_backdated)
    ON CONFLICT ON CONSTRAINT idempotency_key_unique DO NOTHING
    RETURNING e.entry_id INTO v_entry;
    IF v_entry IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES
        (p_program, p_referrer, v_entry, 'available', p_bonus, p_at),
        (p_program, p_referrer, v_entry, 'issued', -p_bonus, p_at);
    PERFORM points.form_lot(p_program, p_referrer, v_entry, p_bonus, v_available, p_at, points.expiry_for(p_program, p_at));
    UPDATE points.members AS m SET available = m.available + p_bonus, issued = m.issued - p_bonus
    WHERE m.program_id = p_program AND m.member_id = p_referrer;
    RETURN v_entry;
END
$$;

-- A purchase: points = round(eligible amount in major units × earn rate × tier multiplier),
-- where the eligible amount leaves out the part paid with points. Idempotent by order id.
-- With a return window the points are pending until it ends; otherwise they form a lot now.
-- A member's first purchase pays the referrer's bonus.
-- Returns status 'posted', 'replayed', 'conflict', 'unknown_member', 'in_future' or 'too_old'.
CREATE FUNCTION points.purchase(
    p_program integer, p_member points.member_key, p_order points.idempotency_key, p_amount_minor bigint, p_points_paid_minor bigint,
    p_occurred_at points.event_time, p_backdated boolean)
RETURNS TABLE (status text, entry_id bigint, points bigint, matures_at timestamptz, referral_entry_id bigint,
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
    v_existing record;
    v_matures timestamptz;
    v_referral bigint;
    v_upgraded text;
    v_period date;
    v_spend bigint := p_amount_minor - p_points_paid_minor;
    v_q_period date;
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
    SELECT c.exponent, p.time_zone, p.tiers_closed_until, p.ladder_since, p.ladder_tiers, p.ladder_points, p.ladder_spend,
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
        RETURN QUERY SELECT 'unknown_member', NULL::bigint, NULL::bigint, NULL::timestamptz, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
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
    IF v_at <= v_now + interval '5 minutes' AND (p_backdated OR v_at >= v_now - make_interval(days => v_backdate_days)) THEN
        v_points := points.round_points(
            (p_amount_minor - p_points_paid_minor)::numeric / (10::numeric ^ v_row.exponent) * v_settings.earn_rate
                * coalesce(v_multiplier, 1),
            v_settings.rounding);
        IF v_points > 0 AND v_settings.return_window_days > 0 THEN
            v_matures := ((v_at AT TIME ZONE v_row.time_zone) + make_interval(days => v_settings.return_window_days))
                AT TIME ZONE v_row.time_zone;
        END IF;
        -- Qualifying totals (0006_tiers.sql): the member's row holds those of the member's
        -- latest period; an event of an earlier period goes to qualifying_totals below.
        v_period := points.tier_period_start(v_settings.tier_period, v_at, v_row.time_zone);
        IF v_row.q_period IS NULL OR v_period >= v_row.q_period THEN
            v_q_period := v_period;
            v_q_points := CASE WHEN v_period = v_row.q_period THEN v_row.q_points ELSE 0 END + v_points;
            v_q_spend := CASE WHEN v_period = v_row.q_period THEN v_row.q_spend ELSE 0 END + v_spend;
        ELSE
            v_q_period := v_row.q_period;
            v_q_points := v_row.q_points;
            v_q_spend := v_row.q_spend;
        END IF;
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
        SELECT e.entry_id, e.request, e.member_id INTO v_existing
        FROM points.journal_entries AS e
        WHERE e.program_id = p_program AND e.key_scope = 'purchase' AND e.idempotency_key = p_order;
        IF NOT FOUND THEN
            RETURN QUERY SELECT CASE WHEN v_at > v_now THEN 'in_future' ELSE 'too_old' END,
                NULL::bigint, NULL::bigint, NULL::timestamptz, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
            RETURN;
        END IF;
        IF points.same_request(v_existing.request, v_request) THEN
            RETURN QUERY SELECT 'replayed', v_existing.entry_id, pu.points::bigint, pu.matures_at, NULL::bigint,
                    v_row.available, v_row.pending::bigint, NULL::text
                FROM points.purchases AS pu
                WHERE pu.program_id = p_program AND pu.member_id = v_existing.member_id AND pu.order_id = p_order;
        ELSE
            RETURN QUERY SELECT 'conflict', v_existing.entry_id, NULL::bigint, NULL::timestamptz, NULL::bigint,
                v_row.available, v_row.pending::bigint, NULL::text;
        END IF;
        RETURN;
    END IF;
    IF v_points > 0 THEN
        INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES
            (p_program, p_member, v_entry, CASE WHEN v_matures IS NULL THEN 'available' ELSE 'pending' END::points.account,
             v_points, v_at),
            (p_program, p_member, v_entry, 'issued', -v_points, v_at);
    END IF;
    IF v_points > 0 AND v_matures IS NULL THEN
        -- Points available at once repay a debt first; the rest forms a lot.
        PERFORM points.form_lot(p_program, p_member, v_entry, v_points, v_row.available, v_at,
            points.lot_expiry(v_settings.expiry_kind, v_settings.expiry_count, v_at, v_row.time_zone));
    END IF;
    INSERT INTO points.purchases
        (program_id, member_id, order_id, entry_id, occurred_at, amount_minor, points_paid_minor, points, pending_points,
         matures_at)
    VALUES (p_program, p_member, p_order, v_entry, v_at, p_amount_minor, p_points_paid_minor, v_points,
            CASE WHEN v_matures IS NULL THEN 0 ELSE v_points END, v_matures);
    UPDATE points.members AS m SET
        available = m.available + CASE WHEN v_matures IS NULL THEN v_points ELSE 0 END,
        pending = m.pending + CASE WHEN v_matures IS NULL THEN 0 ELSE v_points END,
        issued = m.issued - v_points,
        first_purchase_at = coalesce(m.first_purchase_at, v_at),
        q_period = v_q_period, q_points = v_q_points, q_spend = v_q_spend
    WHERE m.program_id = p_program AND m.member_id = p_member;

    -- The period's totals: a new period moves the row's previous totals to qualifying_totals; an
    -- earlier period's are there already. In an open period, reaching a higher tier's entry
    -- threshold moves the member up at once (this purchase earned at the old multiplier).
    IF v_period > v_row.q_period THEN
        INSERT INTO points.qualifying_totals (program_id, member_id, period_start, points, spend_minor)
        VALUES (p_program, p_member, v_row.q_period, v_row.q_points, v_row.q_spend);
    ELSIF v_period < v_row.q_period THEN
        SELECT a.total_points, a.total_spend INTO v_q_points, v_q_spend
        FROM points.add_qualifying(p_program, p_member, v_period, v_points, v_spend) AS a;
    END IF;
    IF v_at >= coalesce(v_row.tiers_closed_until, '-infinity')
       AND points.may_reach_above(v_row.earned, v_at, v_q_points, v_q_spend,
               v_row.ladder_since, v_row.ladder_tiers, v_row.ladder_points, v_row.ladder_spend) THEN
        v_upgraded := points.tier_reached_above(p_program, v_row.earned, v_at, v_q_points, v_q_spend,
            v_row.ladder_since, v_row.ladder_tiers, v_row.ladder_points, v_row.ladder_spend);
        IF v_upgraded IS NOT NULL THEN
            PERFORM points.apply_upgrade(p_program, p_member, v_row.earned, v_upgraded, v_at, v_period, v_q_points, v_q_spend, v_entry);
        END IF;
    END IF;
    -- A member's first purchase pays the referrer.
    IF v_row.first_purchase_at IS NULL AND v_row.referrer IS NOT NULL AND v_settings.referral_bonus > 0 THEN
        v_referral := points.pay_referral(
            p_program, p_member, v_row.referrer, p_order, v_settings.referral_bonus, v_at, p_backdated);
    END IF;
    status := 'posted';
    entry_id := v_entry;
    points := v_points;
    matures_at := v_matures;
    referral_entry_id := v_referral;
    available := v_row.available + CASE WHEN v_matures IS NULL THEN v_points ELSE 0 END;
    pending := v_row.pending + CASE WHEN v_matures IS NULL THEN 0 ELSE v_points END;
    upgraded_to := v_upgraded;
    RETURN NEXT;
END
$$;

-- A refund of part or all of an order. After refunds totalling R of an order of amount A that
-- earned P points, the points clawed back in total are floor(P × R / A), so rounding never
-- drifts. The clawback takes the order's pending points first, then available; if available
-- is short, the policy in force decides: 'negative' lets it go below zero, 'write_off' takes
-- what is there and posts the rest to written_off. Idempotent by refund id.
-- The refund takes the clawed-back points and the refunded spend off the qualifying totals of
-- the purchase's period; tier names the member's new tier when that undid an upgrade.
-- Returns status 'refunded', 'replayed', 'conflict', 'unknown_order', 'exceeds_order',
-- 'before_purchase', 'in_future' or 'too_old'.
CREATE FUNCTION points.refund(
    p_program integer, p_order points.idempotency_key, p_refund points.idempotency_key, p_amount_minor bigint, p_occurred_at points.event_time, p_backdated boolean)
RETURNS TABLE (status text, entry_id bigint, member_id text, clawed_back bigint, from_pending bigint,
               from_available bigint, written_off bigint, refunded_minor bigint, order_amount_minor bigint, tier text)
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
BEGIN
    IF p_amount_minor IS NULL OR p_amount_minor <= 0 OR p_backdated IS NULL THEN
        RAISE EXCEPTION 'a refund needs a positive amount and a back-dating flag' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT e.member_id INTO v_member FROM points.journal_entries AS e
    WHERE e.program_id = p_program AND e.key_scope = 'purchase' AND e.idempotency_key = p_order;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_order', NULL::bigint, NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    SELECT m.available INTO v_available FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = v_member FOR UPDATE;
    SELECT pu.* INTO v_purchase FROM points.purchases AS pu
    WHERE pu.program_id = p_program AND pu.member_id = v_member AND pu.order_id = p_order;

    SELECT e.entry_id, e.request INTO v_existing FROM points.journal_entries AS e
    WHERE e.program_id = p_program AND e.key_scope = 'refund' AND e.idempotency_key = p_refund;
    IF FOUND THEN
        RETURN QUERY SELECT CASE WHEN points.same_request(v_existing.request, v_request) THEN 'replayed' ELSE 'conflict' END,
            v_existing.entry_id, v_member, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
            v_purchase.refunded_minor::bigint, v_purchase.amount_minor::bigint, NULL::text;
        RETURN;
    END IF;
    -- A time outside the window is refused only now: a replay is answered however late it comes.
    v_time_problem := points.check_occurred_at(p_program, v_at, p_backdated);
    IF v_time_problem IS NOT NULL THEN
        RETURN QUERY SELECT v_time_problem, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    IF v_purchase.refunded_minor + p_amount_minor > v_purchase.amount_minor THEN
        RETURN QUERY SELECT 'exceeds_order', NULL::bigint, v_member, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
            v_purchase.refunded_minor::bigint, v_purchase.amount_minor::bigint, NULL::text;
        RETURN;
    END IF;
    IF v_at < v_purchase.occurred_at THEN
        RETURN QUERY SELECT 'before_purchase', NULL::bigint, v_member, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
            v_purchase.refunded_minor::bigint, v_purchase.amount_minor::bigint, NULL::text;
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
        RETURN QUERY SELECT 'conflict', e.entry_id, v_member, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
                v_purchase.refunded_minor::bigint, v_purchase.amount_minor::bigint, NULL::text
            FROM points.journal_entries AS e
            WHERE e.program_id = p_program AND e.key_scope = 'refund' AND e.idempotency_key = p_refund;
        RETURN;
    END IF;
    INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at)
    SELECT p_program, v_member, v_entry, line.account, line.amount, v_at
    FROM (VALUES ('pending'::points.account, -v_from_pending), ('available', -v_take),
                 ('written_off', -v_write), ('issued', v_delta)) AS line(account, amount)
    WHERE line.amount <> 0;
    PERFORM points.consume_lots(p_program, v_member, v_entry, least(v_take, greatest(v_available, 0)));
    UPDATE points.purchases AS pu SET
        refunded_minor = pu.refunded_minor + p_amount_minor,
        clawed_back = pu.clawed_back + v_delta,
        pending_points = pu.pending_points - v_from_pending
    WHERE pu.program_id = p_program AND pu.member_id = v_member AND pu.order_id = p_order;
    UPDATE points.members AS m SET
        pending = m.pending - v_from_pending,
        available = m.available - v_take,
        issued = m.issued + v_delta,
        written_off = m.written_off - v_write
    WHERE m.program_id = p_program AND m.member_id = v_member;
    -- The purchase's period loses the points and spend (0006_tiers.sql), which may undo an
    -- upgrade of that period.
    v_tier := points.disqualify(p_program, v_member, v_purchase.occurred_at, v_delta, v_spend, v_at, v_entry);
    RETURN QUERY SELECT 'refunded', v_entry, v_member, v_delta, v_from_pending, v_take, v_write,
        v_purchase.refunded_minor + p_amount_minor, v_purchase.amount_minor::bigint, v_tier;
END
$$;

-- Refuses a job's as-of time more than five minutes ahead: jobs run up to now.
CREATE FUNCTION points.check_as_of(p_as_of timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_as_of > now() + interval '5 minutes' THEN
        RAISE EXCEPTION 'the as-of time % is in the future', p_as_of USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;

-- Maturation, one chunk: the pending points of up to p_limit purchases whose return window
-- ended by p_as_of move to available, one entry per purchase (key: the order id), dated when
-- the window ended; each forms a lot after repaying any debt. Members are locked in id order.
-- Set-based, idempotent (a matured purchase has nothing pending), resumable: call it until it
-- returns 0 purchases. Every access to the ledger's tables goes through an index (enable_seqscan
-- off: the plans must not depend on statistics, which lag right after a large import).
CREATE FUNCTION points.mature_due(p_program integer, p_as_of points.event_time, p_limit integer)
RETURNS TABLE (purchases integer, points bigint, members integer)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp SET enable_seqscan = off SET jit = off AS $$
DECLARE
    v_members text[];
BEGIN
    PERFORM points.check_as_of(p_as_of);
    SELECT array_agg(DISTINCT d.member_id ORDER BY d.member_id) INTO v_members FROM (
        SELECT pu.member_id FROM points.purchases AS pu
        WHERE pu.program_id = p_program AND pu.pending_points > 0 AND pu.matures_at <= p_as_of
        ORDER BY pu.matures_at LIMIT p_limit
    ) AS d;
    IF v_members IS NULL THEN
        RETURN QUERY SELECT 0, 0::bigint, 0;
        RETURN;
    END IF;
    PERFORM points.lock_members(p_program, v_members);

    -- Every data-modifying CTE runs to completion whether or not the final SELECT reads it.
    RETURN QUERY
    WITH due AS (
        SELECT pu.member_id, pu.order_id, pu.pending_points AS pts, pu.matures_at,
               m.available + coalesce(sum(pu.pending_points) OVER (
                   PARTITION BY pu.member_id ORDER BY pu.matures_at, pu.order_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS available_before
        FROM points.purchases AS pu
        JOIN points.members AS m ON m.program_id = pu.program_id AND m.member_id = pu.member_id
        WHERE pu.program_id = p_program AND pu.member_id = ANY (v_members)
          AND pu.pending_points > 0 AND pu.matures_at <= p_as_of
    ), numbered AS (
        SELECT d.*, nextval('points.journal_entry_ids') AS entry_id,
               points.lot_amount(d.pts, d.available_before::bigint) AS lot_amount
        FROM due AS d
    ), entries AS (
        INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at)
        SELECT p_program, n.member_id, n.entry_id, 'maturation', 'maturation', n.order_id,
               jsonb_build_object('order', n.order_id, 'points', n.pts), n.matures_at
        FROM numbered AS n
    ), lines AS (
        INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at)
        SELECT p_program, n.member_id, n.entry_id, line.account, line.amount, n.matures_at
        FROM numbered AS n
        CROSS JOIN LATERAL (VALUES ('pending'::points.account, -n.pts), ('available', n.pts)) AS line(account, amount)
    ), formed AS (
        INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, expires_at, amount, remaining)
        SELECT p_program, n.member_id, n.entry_id, n.matures_at, points.expiry_for(p_program, n.matures_at),
               n.lot_amount, n.lot_amount
        FROM numbered AS n WHERE n.lot_amount > 0
    ), settled AS (
        UPDATE points.purchases AS pu SET pending_points = 0, matured_entry_id = n.entry_id
        FROM numbered AS n
        WHERE pu.program_id = p_program AND pu.member_id = n.member_id AND pu.order_id = n.order_id
        RETURNING 1
    ), balances AS (
        UPDATE points.members AS m SET pending = m.pending - t.pts, available = m.available + t.pts
        FROM (SELECT n.member_id, sum(n.pts) AS pts FROM numbered AS n GROUP BY n.member_id) AS t
        WHERE m.program_id = p_program AND m.member_id = t.member_id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM settled)::integer,
           (SELECT coalesce(sum(n.pts), 0) FROM numbered AS n)::bigint,
           (SELECT count(*) FROM balances)::integer;
END
$$;

-- Expiry, one chunk: the remainders of the expired lots (expires_at <= p_as_of) of up to
-- p_limit lots' members move from available to expired: one entry per member and expiry
-- instant, dated at that instant; the lots record what expired and by which entry. Members are
-- locked in id order. Set-based, idempotent (an expired lot has no remainder), resumable. Index
-- access only, like maturation.
CREATE FUNCTION points.expire_due(p_program integer, p_as_of points.event_time, p_limit integer)
RETURNS TABLE (lots integer, points bigint, members integer)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp SET enable_seqscan = off SET jit = off AS $$
DECLARE
    v_members text[];
BEGIN
    PERFORM points.check_as_of(p_as_of);
    SELECT array_agg(DISTINCT d.member_id ORDER BY d.member_id) INTO v_members FROM (
        SELECT l.member_id FROM points.lots AS l
        WHERE l.program_id = p_program AND l.remaining > 0 AND l.expires_at <= p_as_of
        ORDER BY l.expires_at LIMIT p_limit
    ) AS d;
    IF v_members IS NULL THEN
        RETURN QUERY SELECT 0, 0::bigint, 0;
        RETURN;
    END IF;
    PERFORM points.lock_members(p_program, v_members);

    RETURN QUERY
    WITH due AS (
        SELECT l.member_id, l.lot_id, l.remaining, l.expires_at
        FROM points.lots AS l
        WHERE l.program_id = p_program AND l.member_id = ANY (v_members)
          AND l.remaining > 0 AND l.expires_at <= p_as_of
    ), grouped AS (
        SELECT d.member_id, d.expires_at, sum(d.remaining) AS pts, min(d.lot_id) AS first_lot
        FROM due AS d GROUP BY d.member_id, d.expires_at
    ), numbered AS (
        SELECT g.*, nextval('points.journal_entry_ids') AS entry_id FROM grouped AS g
    ), entries AS (
        INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at)
        SELECT p_program, n.member_id, n.entry_id, 'expiry', 'expiry', n.member_id || '/' || n.first_lot,
               jsonb_build_object('points', n.pts, 'expires_at', n.expires_at), n.expires_at
        FROM numbered AS n
    ), lines AS (
        INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at)
        SELECT p_program, n.member_id, n.entry_id, line.account, line.amount, n.expires_at
        FROM numbered AS n
        CROSS JOIN LATERAL (VALUES ('available'::points.account, -n.pts), ('expired', n.pts)) AS line(account, amount)
    ), spent AS (
        UPDATE points.lots AS l SET expired_amount = l.expired_amount + d.remaining, remaining = 0, expired_entry_id = n.entry_id
        FROM due AS d JOIN numbered AS n ON n.member_id = d.member_id AND n.expires_at = d.expires_at
        WHERE l.program_id = p_program AND l.member_id = d.member_id AND l.lot_id = d.lot_id
        RETURNING 1
    ), balances AS (
        UPDATE points.members AS m SET available = m.available - t.pts, expired = m.expired + t.pts
        FROM (SELECT n.member_id, sum(n.pts) AS pts FROM numbered AS n GROUP BY n.member_id) AS t
        WHERE m.program_id = p_program AND m.member_id = t.member_id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM spent)::integer,
           (SELECT coalesce(sum(n.pts), 0) FROM numbered AS n)::bigint,
           (SELECT count(*) FROM balances)::integer;
END
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA points FROM PUBLIC;
GRANT EXECUTE ON FUNCTION points.create_member TO {{writer}};
GRANT EXECUTE ON FUNCTION points.adjust TO {{writer}};
GRANT EXECUTE ON FUNCTION points.purchase TO {{writer}};
GRANT EXECUTE ON FUNCTION points.refund TO {{writer}};
