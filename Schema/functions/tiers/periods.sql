-- Qualification periods: month, quarter or year of the local calendar (TierPeriodLabel.swift).

-- The start (a local date) of the period of kind p_kind that contains p_at.
CREATE FUNCTION points.tier_period_start(p_kind text, p_at timestamptz, p_time_zone text) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT date_trunc(p_kind, p_at AT TIME ZONE p_time_zone)::date
$$;

-- The instant the period of kind p_kind starting p_start (a local date or time) ends.
CREATE FUNCTION points.tier_period_end(p_kind text, p_start timestamp, p_time_zone text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT (p_start + CASE p_kind WHEN 'month' THEN interval '1 month' WHEN 'quarter' THEN interval '3 months'
                              ELSE interval '1 year' END) AT TIME ZONE p_time_zone
$$;

-- The start of the tier period that contains p_at (by the tier period in force then, in the
-- program's time zone), and whether that period has been evaluated already (closed).
CREATE FUNCTION points.tier_period_at(p_program integer, p_at timestamptz, OUT period_start date, OUT closed boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT points.tier_period_start(s.tier_period, p_at, p.time_zone), p_at < coalesce(p.tiers_closed_until, '-infinity')
    INTO period_start, closed
    FROM points.programs AS p CROSS JOIN LATERAL points.settings_at(p.program_id, p_at) AS s
    WHERE p.program_id = p_program;
END
$$;

GRANT EXECUTE ON FUNCTION points.tier_period_start(text, timestamptz, text) TO {{writer}}, {{auditor}};
