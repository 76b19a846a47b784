-- Task completions: check-ins with streaks, posts, shares, custom tasks, caps (Completion.swift).

-- A task completion, idempotent by (member, task, ref): two members may share a ref (the same
-- article); a check-in's ref is its local date (default). Caps,
-- days and streaks are in the program's time zone; the member's row lock makes caps exact
-- under concurrency. A completion beyond a cap is recorded, earns nothing and counts toward
-- the streak. A streak is the check-in days in a row up to this one; a late check-in does not
-- change the streaks (and bonuses) of the days after it, already paid. A completion may be
-- dated back to the program's back-dating window, or further with p_backdated, recorded (a
-- program moving its history in: check-ins replayed in time order build their streaks).
-- Returns status 'completed', 'replayed', 'conflict', 'unknown_member', 'unknown_task',
-- 'inactive', 'bad_ref', 'in_future', 'too_old' or 'before_settings'; for a completion: the entry, the task's
-- points, the streak bonus, the streak, whether it was capped and by which period, whether a
-- cap is now full, and the member's available balance.
CREATE FUNCTION points.complete_task(
    p_program integer, p_member points.member_key, p_task text, p_ref points.idempotency_key, p_occurred_at points.event_time,
    p_backdated boolean DEFAULT false)
RETURNS TABLE (status points.complete_task_status, entry_id bigint, points bigint, streak_bonus bigint, streak integer,
               capped_by text, cap_reached boolean, available bigint, local_day date)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_now timestamptz := now();
    v_at timestamptz := coalesce(p_occurred_at, now());
    v_row record;
    v_day date;
    v_ref text;
    v_key text;
    v_request jsonb;
    v_cap record;
    v_points bigint := 0;
    v_bonus bigint := 0;
    v_streak integer;
    v_total bigint;
    v_entry bigint;
    v_problem points.complete_task_status;
    v_settings points.program_settings;
    v_backdate_days integer;
    v_multiplier numeric;
BEGIN
    IF p_backdated IS NULL THEN
        RAISE EXCEPTION 'a task completion needs a back-dating flag (true or false)' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One query: the program's time zone, latest settings and tiers' ladder, the task's settings
    -- in force when it was completed, and the member's row, locked.
    SELECT p.time_zone, p.created_at, latest.settings, p.ladder_since, p.ladder_tiers, p.ladder_multipliers, t.points AS task_points,
           t.cap_day, t.cap_week, t.cap_month, t.qualifying, t.active, t.streak_days, t.streak_points, t.streak_cycle,
           t.tier_multiplier, m.available,
           points.tier_at(p_program, p_member, m.tier, m.override_until, m.override_previous, m.granted_until, v_at) AS effective
    INTO v_row
    FROM points.programs AS p
    CROSS JOIN LATERAL (
        SELECT ps AS settings FROM points.program_settings AS ps
        WHERE ps.program_id = p.program_id ORDER BY ps.effective_at DESC LIMIT 1) AS latest
    LEFT JOIN LATERAL (
        SELECT ts.* FROM points.task_settings AS ts
        WHERE ts.program_id = p.program_id AND ts.task = p_task AND ts.effective_at <= v_at
        ORDER BY ts.effective_at DESC LIMIT 1) AS t ON true
    LEFT JOIN LATERAL (
        SELECT mm.available, mm.tier, mm.override_until, mm.override_previous, mm.granted_until FROM points.members AS mm
        WHERE mm.program_id = p.program_id AND mm.member_id = p_member FOR UPDATE) AS m ON true
    WHERE p.program_id = p_program;
    IF v_row.available IS NULL THEN
        RETURN QUERY SELECT 'unknown_member'::points.complete_task_status, NULL::bigint, NULL::bigint, NULL::bigint,
            NULL::integer, NULL::text, NULL::boolean, NULL::bigint, NULL::date;
        RETURN;
    END IF;
    IF v_row.task_points IS NULL THEN
        RETURN QUERY SELECT 'unknown_task'::points.complete_task_status, NULL::bigint, NULL::bigint, NULL::bigint,
            NULL::integer, NULL::text, NULL::boolean, NULL::bigint, NULL::date;
        RETURN;
    END IF;
    -- The settings in force at the completion and the back-dating window in force now, as for
    -- purchases (points.purchase); the multiplier of the member's effective tier, for a task
    -- whose points it multiplies.
    v_settings := points.settings_in_force(p_program, v_row.settings, v_at);
    v_backdate_days := (points.settings_in_force(p_program, v_row.settings, v_now)).backdate_days;
    IF v_row.tier_multiplier THEN
        v_multiplier := points.multiplier_in_force(
            p_program, v_row.effective, v_at, v_row.ladder_since, v_row.ladder_tiers, v_row.ladder_multipliers);
    END IF;
    v_day := (v_at AT TIME ZONE v_row.time_zone)::date;
    v_ref := coalesce(p_ref, CASE WHEN p_task = 'checkin' THEN to_char(v_day, 'YYYY-MM-DD') END);
    IF v_ref IS NULL OR (p_task = 'checkin' AND v_ref <> to_char(v_day, 'YYYY-MM-DD')) THEN
        RETURN QUERY SELECT 'bad_ref'::points.complete_task_status, NULL::bigint, NULL::bigint, NULL::bigint, NULL::integer,
            NULL::text, NULL::boolean, NULL::bigint, v_day;
        RETURN;
    END IF;
    -- The journal keys a task's completion per member (its key_member, migrations/0009); a
    -- check-in's key names the member too, as it always has.
    v_key := CASE WHEN p_task = 'checkin' THEN 'checkin:' || p_member ELSE p_task END || ':' || v_ref;
    -- What a replay must match. A check-in's date is its identity: a second check-in on the same
    -- day, at another time, replays the first.
    v_request := jsonb_strip_nulls(jsonb_build_object(
        'member', p_member, 'task', p_task, 'ref', v_ref,
        'occurred_at', CASE WHEN p_task <> 'checkin' THEN p_occurred_at AT TIME ZONE 'UTC' END));

    v_problem := CASE
        WHEN v_at > v_now + interval '5 minutes' THEN 'in_future'
        WHEN NOT p_backdated AND v_at < v_now - make_interval(days => v_backdate_days) THEN 'too_old'
        WHEN v_at < v_row.created_at AND v_settings.effective_at = '-infinity' THEN 'before_settings'
        WHEN NOT v_row.active THEN 'inactive' END::points.complete_task_status;
    IF v_problem IS NULL THEN
        -- Caps (tasks/caps.sql) and a check-in's streak (tasks/streaks.sql).
        SELECT c.capped_by, c.cap_reached INTO v_cap
        FROM points.task_cap(p_program, p_member, p_task, v_day, v_row.cap_day, v_row.cap_week, v_row.cap_month) AS c;
        IF v_cap.capped_by IS NULL THEN
            v_points := v_row.task_points;
        END IF;
        IF p_task = 'checkin' THEN
            SELECT s.streak, s.bonus INTO v_streak, v_bonus
            FROM points.checkin_streak(p_program, p_member, v_day, v_row.streak_days, v_row.streak_points, v_row.streak_cycle,
                                       v_cap.capped_by IS NULL) AS s;
        END IF;
        IF v_multiplier IS DISTINCT FROM 1 AND v_multiplier IS NOT NULL THEN
            v_points := points.round_points(v_points * v_multiplier, v_settings.rounding);
            v_bonus := points.round_points(v_bonus * v_multiplier, v_settings.rounding);
        END IF;
        v_total := v_points + v_bonus;

        -- The entry, unless the key was used before; its postings, the lot, the completion and the
        -- member's balances follow below, each a plain statement (see points.purchase).
        INSERT INTO points.journal_entries AS e
            (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
        VALUES (p_program, p_member, 'task', 'task', v_key, v_request, v_at, p_backdated)
        ON CONFLICT ON CONSTRAINT idempotency_key_unique DO NOTHING
        RETURNING e.entry_id INTO v_entry;
    END IF;
    IF v_entry IS NULL THEN
        RETURN QUERY SELECT * FROM points.completion_not_posted(p_program, p_member, p_task, v_key, v_request, v_problem, v_row.available,
            v_day);
        RETURN;
    END IF;
    IF v_total > 0 THEN
        INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
        VALUES (p_program, p_member, v_entry, 1, 'issued', 'available', v_total, v_at);
        PERFORM points.form_lot(p_program, p_member, v_entry, v_total, v_row.available, v_at,
            points.lot_expiry(v_settings.expiry_kind, v_settings.expiry_count, v_at, v_row.time_zone));
        UPDATE points.members AS m SET available = m.available + v_total, issued = m.issued - v_total
        WHERE m.program_id = p_program AND m.member_id = p_member;
    END IF;
    INSERT INTO points.task_completions
        (program_id, member_id, task, local_day, entry_id, points, streak_bonus, streak, capped_by, available_after, cap_reached)
    VALUES (p_program, p_member, p_task, v_day, v_entry, v_points, v_bonus, v_streak, v_cap.capped_by, v_row.available + v_total,
            v_cap.cap_reached);

    -- A qualifying task's points count toward the member's tier.
    IF v_row.qualifying AND v_total > 0 THEN
        PERFORM points.qualify(p_program, p_member, v_at, v_total, 0, v_entry);
    END IF;
    RETURN QUERY SELECT 'completed'::points.complete_task_status, v_entry, v_points, v_bonus, v_streak, v_cap.capped_by,
        v_cap.cap_reached, v_row.available + v_total, v_day;
END
$$;

GRANT EXECUTE ON FUNCTION points.complete_task TO {{writer}};
