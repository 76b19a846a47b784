-- The hold expiry job: holds whose time ran out release their points (Jobs.swift).

-- Expiry of holds, one chunk: up to p_limit open holds whose expiry is at or before p_as_of
-- are expired and their points released. Set-based, idempotent, resumable: call it until it
-- returns 0 holds. Members are locked in id order.
CREATE FUNCTION points.expire_holds(p_program integer, p_as_of points.event_time, p_limit integer)
RETURNS TABLE (holds integer, points bigint, members integer)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp SET enable_seqscan = off SET jit = off AS $$
DECLARE
    v_members text[];
BEGIN
    SELECT array_agg(DISTINCT h.member_id) INTO v_members FROM (
        SELECT h.member_id FROM points.holds AS h
        WHERE h.program_id = p_program AND h.state = 'open' AND h.expires_at <= p_as_of
        ORDER BY h.expires_at LIMIT p_limit) AS h;
    IF NOT points.begin_chunk(p_program, p_as_of, v_members) THEN
        RETURN QUERY SELECT 0, 0::bigint, 0;
        RETURN;
    END IF;
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
