-- The expiry job: what is left of expired lots moves to the expired account (Jobs.swift).

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
    SELECT array_agg(DISTINCT d.member_id ORDER BY d.member_id) INTO v_members FROM (
        SELECT l.member_id FROM points.lots AS l
        WHERE l.program_id = p_program AND l.remaining > 0 AND l.expires_at <= p_as_of
        ORDER BY l.expires_at LIMIT p_limit
    ) AS d;
    IF NOT points.begin_chunk(p_program, p_as_of, v_members) THEN
        RETURN QUERY SELECT 0, 0::bigint, 0;
        RETURN;
    END IF;

    RETURN QUERY
    WITH due AS (
        -- Member by member, so each reads only its own lots through the spending-order index,
        -- whatever the statistics say of the lots left to expire (a scan of every expiring lot
        -- filtered by the chunk's member array is quadratic).
        SELECT l.member_id, l.lot_id, l.remaining, l.expires_at
        FROM unnest(v_members) AS v(member_id)
        CROSS JOIN LATERAL (
            SELECT x.member_id, x.lot_id, x.remaining, x.expires_at FROM points.lots AS x
            WHERE x.program_id = p_program AND x.member_id = v.member_id AND x.remaining > 0 AND x.expires_at <= p_as_of
        ) AS l
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
        INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
        SELECT p_program, n.member_id, n.entry_id, 1, 'available', 'expired', n.pts, n.expires_at FROM numbered AS n
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
