-- The maturation job: pending points whose return window ended become spendable (Jobs.swift).

-- Maturation, one chunk: the pending points of up to p_limit purchases whose return window
-- ended by p_as_of move to available, one entry per purchase (key: the order id), dated when
-- the window ended; each forms a lot after repaying any debt. Members are locked in id order.
-- Set-based, idempotent (a matured purchase has nothing pending), resumable: call it until it
-- returns 0 purchases. Every access to the ledger's tables goes through an index (enable_seqscan
-- off: the plans must not depend on statistics, which lag right after a large import).
CREATE FUNCTION points.mature_due(p_program integer, p_as_of points.event_time, p_limit integer)
RETURNS TABLE (purchases integer, points bigint, members integer)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp SET enable_seqscan = off SET jit = off AS $$
DECLARE
    v_members text[];
BEGIN
    SELECT array_agg(DISTINCT d.member_id ORDER BY d.member_id) INTO v_members FROM (
        SELECT pu.member_id FROM points.purchases AS pu
        WHERE pu.program_id = p_program AND pu.pending_points > 0 AND pu.matures_at <= p_as_of
        ORDER BY pu.matures_at LIMIT p_limit
    ) AS d;
    IF NOT points.begin_chunk(p_program, p_as_of, v_members) THEN
        RETURN QUERY SELECT 0, 0::bigint, 0;
        RETURN;
    END IF;

    -- Every data-modifying CTE runs to completion whether or not the final SELECT reads it.
    RETURN QUERY
    WITH due AS (
        SELECT pu.member_id, pu.order_id, pu.pending_points AS pts, pu.matures_at,
               m.available + coalesce(sum(pu.pending_points) OVER (
                   PARTITION BY pu.member_id ORDER BY pu.matures_at, pu.order_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS available_before
        -- Member by member, so each reads only its own purchases, whatever the statistics say of
        -- the pending ones (a scan of every maturing purchase filtered by the chunk's member
        -- array is quadratic).
        FROM unnest(v_members) AS v(member_id)
        JOIN points.members AS m ON m.program_id = p_program AND m.member_id = v.member_id
        CROSS JOIN LATERAL (
            SELECT x.member_id, x.order_id, x.pending_points, x.matures_at FROM points.purchases AS x
            WHERE x.program_id = p_program AND x.member_id = v.member_id AND x.pending_points > 0 AND x.matures_at <= p_as_of
        ) AS pu
    ), numbered AS (
        SELECT d.*, nextval('points.journal_entry_ids') AS entry_id,
               points.lot_amount(d.pts, d.available_before::bigint) AS lot_amount
        FROM due AS d
    ), entries AS (
        INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at)
        SELECT p_program, n.member_id, n.entry_id, 'maturation', 'maturation', n.order_id,
               jsonb_build_object('order', n.order_id, 'points', n.pts), n.matures_at
        FROM numbered AS n
    ), lines AS (
        INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
        SELECT p_program, n.member_id, n.entry_id, 1, 'pending', 'available', n.pts, n.matures_at FROM numbered AS n
    ), formed AS (
        INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, expires_at, amount, remaining)
        SELECT p_program, n.member_id, n.entry_id, n.matures_at, points.expiry_for(p_program, n.matures_at),
               n.lot_amount, n.lot_amount
        FROM numbered AS n WHERE n.lot_amount > 0
    ), settled AS (
        UPDATE points.purchases AS pu SET pending_points = 0, matured_entry_id = n.entry_id
        FROM numbered AS n
        WHERE pu.program_id = p_program AND pu.member_id = n.member_id AND pu.order_id = n.order_id
        RETURNING 1
    ), balances AS (
        UPDATE points.members AS m SET pending = m.pending - t.pts, available = m.available + t.pts
        FROM (SELECT n.member_id, sum(n.pts) AS pts FROM numbered AS n GROUP BY n.member_id) AS t
        WHERE m.program_id = p_program AND m.member_id = t.member_id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM settled)::integer,
           (SELECT coalesce(sum(n.pts), 0) FROM numbered AS n)::bigint,
           (SELECT count(*) FROM balances)::integer;
END
$$;
