-- What every job's chunk does first (maturation, expiry, hold expiry; Jobs.swift).

-- Starts a chunk of a job as of p_as_of whose due items belong to p_members: checks the as-of
-- time, and locks those members in id order (every writer locks a member's row before anything
-- else, so a chunk never waits on a half-done posting). Returns false when nothing is due.
CREATE FUNCTION points.begin_chunk(p_program integer, p_as_of timestamptz, p_members text[]) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM points.check_as_of(p_as_of);
    IF p_members IS NULL THEN
        RETURN false;
    END IF;
    PERFORM points.lock_members(p_program, p_members);
    RETURN true;
END
$$;
