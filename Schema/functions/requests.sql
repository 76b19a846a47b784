-- What every write checks of its request: a replay matches, a time is within the back-dating
-- window, an as-of time of a job is not in the future.

-- Whether a replayed request matches the recorded one: the same content, where the time counts
-- only when both name one (a retry may leave out the time its first attempt gave, or give the
-- time the first attempt left to the server). Used by every write that takes an occurred-at time.
CREATE FUNCTION points.same_request(p_recorded jsonb, p_given jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_recorded - 'occurred_at' = p_given - 'occurred_at'
       AND (NOT (p_recorded ? 'occurred_at' AND p_given ? 'occurred_at')
            OR p_recorded -> 'occurred_at' = p_given -> 'occurred_at')
$$;

-- The first moment a write may be dated: the program's creation, or the first version of its
-- settings an admin set from earlier (to load its history). Before it only the built-in
-- defaults (in force from '-infinity') would apply, and no write is posted under them.
CREATE FUNCTION points.first_write_at(p_program integer) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT least(p.created_at, (SELECT min(s.effective_at) FROM points.program_settings AS s
                                WHERE s.program_id = p.program_id AND s.effective_at > '-infinity'))
    FROM points.programs AS p WHERE p.program_id = p_program
$$;

GRANT EXECUTE ON FUNCTION points.first_write_at(integer) TO {{writer}}, {{auditor}};

-- Whether an event's time is acceptable: not more than five minutes ahead, unless back-dating
-- is permitted not older than the back-dating window in force now, and never before the first
-- moment a write may be dated (points.first_write_at).
-- Returns NULL when acceptable, else 'in_future', 'too_old' or 'before_settings'.
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
    IF p_at < points.first_write_at(p_program) THEN
        RETURN 'before_settings';
    END IF;
    RETURN NULL;
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
