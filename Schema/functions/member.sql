-- Members: creation (with a referrer) and the row locks that batches take (Member.swift).

-- Creates a member, optionally referred by an existing member. Replaying the same content
-- returns the member; the same id with another referrer is a conflict.
-- Returns status 'created', 'exists', 'conflict' or 'unknown_referrer'.
CREATE FUNCTION points.create_member(p_program integer, p_member points.member_key, p_referrer points.member_key)
RETURNS TABLE (status points.create_member_status, tier text, created_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_tier text;
    v_created timestamptz;
BEGIN
    IF p_member ~ '[[:cntrl:]]' OR p_referrer ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'a member id cannot hold control characters' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_referrer IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = p_referrer) THEN
        RETURN QUERY SELECT 'unknown_referrer'::points.create_member_status, NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    SELECT t.tier INTO v_tier FROM points.tiers AS t WHERE t.program_id = p_program ORDER BY t.rank LIMIT 1;
    IF v_tier IS NULL THEN
        -- Every program has its entry tier from its creation: no tier, no program.
        RAISE EXCEPTION 'program % does not exist', p_program
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass the id of a program (points.programs) as p_program.';
    END IF;
    INSERT INTO points.members AS m (program_id, member_id, tier, referrer)
    VALUES (p_program, p_member, v_tier, p_referrer)
    ON CONFLICT ON CONSTRAINT members_pkey DO NOTHING
    RETURNING m.created_at INTO v_created;
    IF v_created IS NOT NULL THEN
        RETURN QUERY SELECT 'created'::points.create_member_status, v_tier, v_created;
    ELSE
        RETURN QUERY SELECT
                CASE WHEN m.referrer IS NOT DISTINCT FROM p_referrer OR p_referrer IS NULL THEN 'exists' ELSE 'conflict' END
                    ::points.create_member_status,
                m.tier, m.created_at
            FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = p_member;
    END IF;
END
$$;

-- Locks members' rows in id order: jobs and imports, which lock many members at once, never
-- deadlock with each other or with single writes (which lock one). Returns the rows locked (the
-- members that exist), as they are once locked. One descent of the primary key per member,
-- whatever the statistics say: a program that an import is filling has more members than its
-- statistics know, and a scan of them all would cost every batch more than the last.
CREATE FUNCTION points.lock_members(p_program integer, p_members text[]) RETURNS SETOF points.members
LANGUAGE sql SET enable_seqscan = off SET enable_bitmapscan = off SET jit = off AS $$
    SELECT m.* FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = ANY (p_members)
    ORDER BY m.member_id FOR UPDATE
$$;

GRANT EXECUTE ON FUNCTION points.create_member TO {{writer}};
