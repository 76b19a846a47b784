-- Birthdays: a member's birthday and the yearly tier bonus job (Birthday.swift).

-- Sets or clears (NULL) a member's birthday. Returns 'set' or 'unknown_member'.
CREATE FUNCTION points.set_birthday(p_program integer, p_member points.member_key, p_month smallint, p_day smallint)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
BEGIN
    UPDATE points.members AS m SET birthday = make_date(2000, p_month, p_day)
    WHERE m.program_id = p_program AND m.member_id = p_member;
    RETURN CASE WHEN FOUND THEN 'set' ELSE 'unknown_member' END;
END
$$;

-- A birthday's date in a year; 29 February is 28 February in a year without it.
CREATE FUNCTION points.birthday_in(p_birthday date, p_year integer) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN extract(month FROM p_birthday) = 2 AND extract(day FROM p_birthday) = 29
                     AND NOT (p_year % 4 = 0 AND (p_year % 100 <> 0 OR p_year % 400 = 0))
                THEN make_date(p_year, 2, 28)
                ELSE make_date(p_year, extract(month FROM p_birthday)::integer, extract(day FROM p_birthday)::integer) END
$$;

-- The latest birthday on or before p_today: this year's, or last year's when this year's is ahead.
CREATE FUNCTION points.last_birthday(p_birthday date, p_today date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN points.birthday_in(p_birthday, extract(year FROM p_today)::integer) <= p_today
                THEN points.birthday_in(p_birthday, extract(year FROM p_today)::integer)
                ELSE points.birthday_in(p_birthday, extract(year FROM p_today)::integer - 1) END
$$;

-- Birthdays, one chunk: of the next p_limit members after p_after (in id order), those whose
-- latest birthday on or before p_as_of's local date lies within the back-dating window and has
-- not been paid are paid their tier's birthday bonus (as in force at the start of that day),
-- dated at the start of that day: one entry per member and year (key: member/year), forming a
-- lot after repaying any debt. Set-based, idempotent, resumable: call it with the returned
-- cursor until the cursor is NULL. Members are locked in id order.
CREATE FUNCTION points.pay_birthdays(p_program integer, p_as_of points.event_time, p_after text, p_limit integer)
RETURNS TABLE (members integer, paid integer, points bigint, cursor text)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp SET enable_seqscan = off SET jit = off AS $$
DECLARE
    v_time_zone text;
    v_today date;
    v_window integer;
    v_chunk text[];
    v_due text[];
BEGIN
    PERFORM points.check_as_of(p_as_of);
    SELECT p.time_zone INTO v_time_zone FROM points.programs AS p WHERE p.program_id = p_program;
    v_today := (p_as_of AT TIME ZONE v_time_zone)::date;
    v_window := (points.settings_at(p_program, p_as_of)).backdate_days;
    SELECT array_agg(m.member_id ORDER BY m.member_id),
           array_agg(m.member_id ORDER BY m.member_id)
               FILTER (WHERE m.birthday IS NOT NULL AND points.last_birthday(m.birthday, v_today) >= v_today - v_window)
    INTO v_chunk, v_due FROM (
        SELECT mm.member_id, mm.birthday FROM points.members AS mm
        WHERE mm.program_id = p_program AND mm.member_id > coalesce(p_after, '')
        ORDER BY mm.member_id LIMIT p_limit) AS m;
    IF v_chunk IS NULL THEN
        RETURN QUERY SELECT 0, 0, 0::bigint, NULL::text;
        RETURN;
    END IF;
    IF v_due IS NULL THEN
        RETURN QUERY SELECT cardinality(v_chunk), 0, 0::bigint, v_chunk[cardinality(v_chunk)];
        RETURN;
    END IF;
    PERFORM points.lock_members(p_program, v_due);

    RETURN QUERY
    WITH due AS (
        SELECT m.member_id, m.available, ts.birthday_bonus AS bonus, b.day::timestamp AT TIME ZONE v_time_zone AS at,
               m.member_id || '/' || extract(year FROM b.day) AS key
        FROM points.members AS m
        CROSS JOIN LATERAL (SELECT points.last_birthday(m.birthday, v_today) AS day) AS b
        CROSS JOIN LATERAL (
            SELECT s.birthday_bonus FROM points.tier_settings AS s
            WHERE s.program_id = m.program_id AND s.effective_at <= b.day::timestamp AT TIME ZONE v_time_zone
              AND s.tier = points.tier_at(p_program, m.member_id, m.tier, m.override_until, m.override_previous, m.granted_until,
                                          b.day::timestamp AT TIME ZONE v_time_zone)
            ORDER BY s.effective_at DESC LIMIT 1) AS ts
        WHERE m.program_id = p_program AND m.member_id = ANY (v_due) AND ts.birthday_bonus > 0
    ), entries AS (
        INSERT INTO points.journal_entries AS e (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at)
        SELECT p_program, d.member_id, 'birthday', 'birthday', d.key, jsonb_build_object('member', d.member_id, 'points', d.bonus), d.at
        FROM due AS d
        ON CONFLICT ON CONSTRAINT idempotency_key_unique DO NOTHING
        RETURNING e.member_id, e.entry_id
    ), paid AS (
        SELECT d.*, e.entry_id, points.lot_amount(d.bonus, d.available) AS lot_amount
        FROM entries AS e JOIN due AS d USING (member_id)
    ), lines AS (
        INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
        SELECT p_program, d.member_id, d.entry_id, 1, 'issued', 'available', d.bonus, d.at FROM paid AS d
    ), formed AS (
        INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, expires_at, amount, remaining)
        SELECT p_program, d.member_id, d.entry_id, d.at, points.expiry_for(p_program, d.at), d.lot_amount, d.lot_amount
        FROM paid AS d WHERE d.lot_amount > 0
    ), balances AS (
        UPDATE points.members AS m SET available = m.available + d.bonus, issued = m.issued - d.bonus
        FROM paid AS d
        WHERE m.program_id = p_program AND m.member_id = d.member_id
    )
    SELECT cardinality(v_chunk), (SELECT count(*) FROM paid)::integer, (SELECT coalesce(sum(d.bonus), 0) FROM paid AS d)::bigint,
        v_chunk[cardinality(v_chunk)];
END
$$;

GRANT EXECUTE ON FUNCTION points.set_birthday TO {{writer}};
