-- API keys (ApiKeys.swift; the table in migrations/0006). The server connects as the writer or
-- the auditor, which may not read the keys: it asks this function whether a secret's hash is a
-- key in force, and learns the key's program and role, nothing else.
CREATE FUNCTION points.authenticate_api_key(p_secret_hash bytea)
RETURNS TABLE (key_id bigint, program_id integer, program text, role points.api_role)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
    SELECT k.key_id, k.program_id, p.name, k.role
    FROM points.api_keys AS k
    JOIN points.programs AS p USING (program_id)
    WHERE k.secret_hash = p_secret_hash AND k.revoked_at IS NULL
$$;

GRANT EXECUTE ON FUNCTION points.authenticate_api_key(bytea) TO {{writer}}, {{auditor}};

-- points-server keeps the keys it has checked, so that a request does not pay a round trip for
-- its key. A key revoked (or otherwise changed or removed) must stop working at once: every
-- change to the keys is announced on the channel points_api_keys (LISTEN/NOTIFY, delivered when
-- the change commits), and a server that hears it forgets every key it kept. A server whose
-- listening connection is down keeps nothing and checks every request's key here.
CREATE FUNCTION points.announce_api_key_changes() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
BEGIN
    PERFORM pg_notify('points_api_keys', TG_OP);
    RETURN NULL;
END
$$;

CREATE TRIGGER api_key_changes_are_announced AFTER UPDATE OR DELETE OR TRUNCATE ON points.api_keys
FOR EACH STATEMENT EXECUTE FUNCTION points.announce_api_key_changes();
