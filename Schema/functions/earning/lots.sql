-- Lots: expiry dates, forming a lot (repaying debt first), spending soonest-expiring first.

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
-- taken. The caller holds the member's row lock. With p_lots_before_entry, only lots of entries
-- before p_entry (ids are drawn under the member's lock, in order): a batch that has written the
-- lots of its later lines already spends as if they were not there yet.
CREATE FUNCTION points.consume_lots(p_program integer, p_member text, p_entry bigint, p_points bigint, p_lots_before_entry boolean DEFAULT false)
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
          AND (NOT p_lots_before_entry OR l.entry_id < p_entry)
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
