-- What a purchase earns: the rules a single purchase (earning/purchase.sql) and an import batch
-- (import/purchase_import.sql) both apply, so that the same purchases earn the same either way.

-- The points of a purchase: round(eligible amount in major units × earn rate × tier multiplier),
-- rounded once, by the program's mode. The eligible amount leaves out the part paid with points;
-- a NULL multiplier is 1.
CREATE FUNCTION points.purchase_points(
    p_eligible_minor bigint, p_exponent smallint, p_earn_rate numeric, p_multiplier numeric, p_rounding text)
RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT points.round_points(
        p_eligible_minor::numeric / (10::numeric ^ p_exponent) * p_earn_rate * coalesce(p_multiplier, 1), p_rounding)
$$;

-- When a purchase's points become spendable: at the end of its return window, counted in local
-- days of the program's zone; NULL (spendable at once) without a window or without points.
CREATE FUNCTION points.purchase_matures_at(p_points bigint, p_at timestamptz, p_return_window_days integer, p_time_zone text)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_points > 0 AND p_return_window_days > 0
                THEN ((p_at AT TIME ZONE p_time_zone) + make_interval(days => p_return_window_days)) AT TIME ZONE p_time_zone END
$$;
