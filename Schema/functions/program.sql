-- Programs: creation with the default tiers, settings and tasks, and the time-zone check (Program.swift).

-- A program's time zone must be an IANA zone name (not an abbreviation or a POSIX rule).
CREATE FUNCTION points.check_program_time_zone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names WHERE name = NEW.time_zone)
        OR NEW.time_zone ~ '^(posix|right)/' THEN
        RAISE EXCEPTION 'unknown time zone "%"', NEW.time_zone
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use an IANA time zone name such as Asia/Shanghai or Europe/Berlin.';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER programs_time_zone BEFORE INSERT OR UPDATE OF time_zone ON points.programs
    FOR EACH ROW EXECUTE FUNCTION points.check_program_time_zone();

-- Creates a program with the default tiers; replaying the same content returns it unchanged.
-- Returns status 'created', 'exists' or 'conflict' (same name, other currency or time zone).
CREATE FUNCTION points.create_program(p_name text, p_currency text, p_time_zone text, p_actor points.label_text)
RETURNS TABLE (status points.create_program_status, program_id integer, currency text, time_zone text, created_at timestamptz)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_program points.programs%ROWTYPE;
BEGIN
    INSERT INTO points.programs AS p (name, currency, time_zone, created_by)
    VALUES (p_name, upper(p_currency), p_time_zone, p_actor)
    ON CONFLICT (name) DO NOTHING
    RETURNING p.* INTO v_program;
    IF v_program.program_id IS NULL THEN
        SELECT p.* INTO v_program FROM points.programs AS p WHERE p.name = p_name;
        RETURN QUERY SELECT
            CASE WHEN v_program.currency = upper(p_currency) AND v_program.time_zone = p_time_zone
                 THEN 'exists' ELSE 'conflict' END::points.create_program_status,
            v_program.program_id, v_program.currency::text, v_program.time_zone, v_program.created_at;
        RETURN;
    END IF;
    INSERT INTO points.tiers (program_id, tier, rank) VALUES
        (v_program.program_id, 'ordinary', 0),
        (v_program.program_id, 'advanced', 1),
        (v_program.program_id, 'premium', 2);
    INSERT INTO points.configuration_changes (program_id, subject, actor, effective_at, after)
    VALUES (v_program.program_id, 'program', p_actor, v_program.created_at,
            jsonb_build_object('name', p_name, 'currency', v_program.currency, 'time_zone', p_time_zone,
                               'tiers', jsonb_build_array('ordinary', 'advanced', 'premium')));
    RETURN QUERY SELECT 'created'::points.create_program_status, v_program.program_id, v_program.currency::text,
        v_program.time_zone, v_program.created_at;
END
$$;

-- Every program starts with the default settings, in force from the beginning of time.
CREATE FUNCTION points.add_default_settings(p_program integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO points.program_settings
        (program_id, effective_at, earn_rate, rounding, return_window_days, refund_policy, expiry_kind, expiry_count,
         referral_bonus, backdate_days)
    VALUES (p_program, '-infinity', 1, 'down', 0, 'negative', 'never', NULL, 0, 7)
$$;

-- The built-in tasks, in force from the beginning of time: a daily check-in (5 points, +20 on
-- every 7th day of a streak), posting (10 points, 3 a day) and sharing (5 points, 3 a day).
CREATE FUNCTION points.add_default_tasks(p_program integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO points.task_settings
        (program_id, task, effective_at, points, cap_day, cap_week, cap_month, qualifying, active,
         streak_days, streak_points, streak_cycle)
    VALUES (p_program, 'checkin', '-infinity', 5, NULL, NULL, NULL, false, true, '{7}', '{20}', 7),
           (p_program, 'post', '-infinity', 10, 3, NULL, NULL, false, true, '{}', '{}', NULL),
           (p_program, 'share', '-infinity', 5, 3, NULL, NULL, false, true, '{}', '{}', NULL)
$$;

-- A new program gets its default tasks from the trigger that gives it its default settings.
CREATE FUNCTION points.program_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM points.add_default_settings(NEW.program_id);
    PERFORM points.add_default_tasks(NEW.program_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER programs_default_settings AFTER INSERT ON points.programs
    FOR EACH ROW EXECUTE FUNCTION points.program_created();

-- The default tiers: advanced from 1,000 qualifying points in a period, premium from 5,000;
-- every multiplier 1 until an admin sets them.
CREATE FUNCTION points.tiers_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO points.tier_settings (program_id, tier, effective_at, birthday_bonus, entry_points)
    SELECT n.program_id, n.tier, '-infinity', 0, CASE n.rank WHEN 0 THEN 0 WHEN 1 THEN 1000 ELSE 5000 END
    FROM new_tiers AS n;
    PERFORM points.refresh_ladder(n.program_id) FROM (SELECT DISTINCT program_id FROM new_tiers) AS n;
    RETURN NULL;
END
$$;

CREATE TRIGGER tiers_default_settings AFTER INSERT ON points.tiers
    REFERENCING NEW TABLE AS new_tiers FOR EACH STATEMENT EXECUTE FUNCTION points.tiers_created();
