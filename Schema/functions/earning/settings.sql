-- A program's settings: versions in force at an instant, changes, rounding (Settings.swift).

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
-- 'unchanged' (the same values were already in force, from a moment writes may be dated), 'in_past' (p_effective_at is more than
-- five minutes ago while the program has entries: posted entries never change meaning) or
-- 'tier_period_mid_year' (the tier period would change other than at the start of a year).
CREATE FUNCTION points.set_program_settings(
    p_program integer, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text)
RETURNS TABLE (status points.set_program_settings_status, effective_at timestamptz)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_before points.program_settings;
    v_after points.program_settings;
BEGIN
    IF NOT points.begin_configuration_change(p_program, p_effective_at) THEN
        RETURN QUERY SELECT 'in_past'::points.set_program_settings_status, p_effective_at::timestamptz;
        RETURN;
    END IF;
    v_before := points.settings_at(p_program, p_effective_at);
    v_after := jsonb_populate_record(v_before, p_changes);
    v_after.effective_at := p_effective_at;
    -- The same values are a change still when they would be in force earlier than any write may
    -- be dated yet (points.first_write_at): an admin readying a program to load its history.
    IF to_jsonb(v_after) - 'effective_at' = to_jsonb(v_before) - 'effective_at'
       AND p_effective_at >= points.first_write_at(p_program) THEN
        RETURN QUERY SELECT 'unchanged'::points.set_program_settings_status, v_before.effective_at;
        RETURN;
    END IF;
    -- The tier period (tiers/periods.sql) changes only where every kind of period starts, at the
    -- start of a local year, once the program has entries: no period is cut in two.
    IF v_after.tier_period <> v_before.tier_period
       AND p_effective_at <> (SELECT date_trunc('year', p_effective_at AT TIME ZONE p.time_zone) AT TIME ZONE p.time_zone
                              FROM points.programs AS p WHERE p.program_id = p_program)
       AND EXISTS (SELECT 1 FROM points.journal_entries AS e WHERE e.program_id = p_program) THEN
        RETURN QUERY SELECT 'tier_period_mid_year'::points.set_program_settings_status, p_effective_at::timestamptz;
        RETURN;
    END IF;
    -- A second change at the same instant replaces the first.
    DELETE FROM points.program_settings AS ps WHERE ps.program_id = p_program AND ps.effective_at = p_effective_at;
    INSERT INTO points.program_settings VALUES (v_after.*);
    INSERT INTO points.configuration_changes (program_id, subject, actor, effective_at, before, after)
    VALUES (p_program, 'settings', p_actor, p_effective_at,
            to_jsonb(v_before) - 'program_id' - 'effective_at', to_jsonb(v_after) - 'program_id' - 'effective_at');
    RETURN QUERY SELECT 'changed'::points.set_program_settings_status, p_effective_at::timestamptz;
END
$$;

-- Read by the member's tier standing, which points-server serves as the writer.
GRANT EXECUTE ON FUNCTION points.settings_at(integer, timestamptz) TO {{writer}}, {{auditor}};
