-- The journal's canonical form and the digest of a range of it, which blocks seal and
-- `audit verify` recomputes (Audit.swift, JournalExport.swift).

-- The hash before a program's first block: binds the chain to the program.
CREATE FUNCTION points.genesis_hash(p_program integer) RETURNS bytea
LANGUAGE sql STABLE AS $$
    SELECT sha256(convert_to('PointsLedger journal of program ' || p.program_id || ' ' || p.name, 'UTF8'))
    FROM points.programs AS p WHERE p.program_id = p_program
$$;

-- One entry in its canonical form: the JSON array
--   [entry_id, member, kind, key_scope, idempotency_key, occurred_at, recorded_at, request,
--    [[account, amount, occurred_at], ...]]
-- with postings in account order, times in ISO 8601 in the session's time zone (UTC wherever
-- the ledger hashes or exports) and the request as PostgreSQL prints jsonb.
CREATE FUNCTION points.canonical_line(
    p_entry bigint, p_member text, p_kind points.entry_kind, p_scope points.key_scope, p_key text,
    p_occurred timestamptz, p_recorded timestamptz, p_request jsonb, p_postings json)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT json_build_array(p_entry, p_member, p_kind, p_scope, p_key, p_occurred, p_recorded, p_request,
                            coalesce(p_postings, '[]'))::text
$$;

-- The hash of the program's entries with ids in (p_after, p_last] and their postings, chained
-- to p_previous: SHA-256(p_previous || the UTF-8 of the entries' canonical lines in entry id
-- order, each ending in a newline), times in UTC. A posting whose entry is missing still makes
-- a line (with nulls for the entry), so a posting added or removed anywhere in the range changes
-- the hash. `points-admin export journal --format jsonl` prints these same lines, so an auditor
-- can recompute any block's hash with their own tools. missing_entry names the first entry in
-- the range that is missing while its movements are there (NULL: none). Every entry balances by
-- its shape (migrations/0004), so nothing here sums an entry.
CREATE FUNCTION points.journal_digest(p_program integer, p_after bigint, p_last bigint, p_previous bytea)
RETURNS TABLE (entries bigint, postings bigint, digest bytea, missing_entry bigint)
LANGUAGE sql STABLE
SET "TimeZone" = 'UTC' SET "DateStyle" = 'ISO, YMD' SET enable_seqscan = off
AS $$
    WITH lines AS (
        SELECT p.entry_id, p.member_id, count(*) AS n,
               json_agg(json_build_array(p.account, p.amount, p.occurred_at) ORDER BY p.account) AS postings
        FROM points.postings AS p
        WHERE p.program_id = p_program AND p.entry_id > p_after AND p.entry_id <= p_last
        GROUP BY p.entry_id, p.member_id
    ), entries AS (
        SELECT e.member_id, e.entry_id, e.kind, e.key_scope, e.idempotency_key, e.occurred_at, e.recorded_at, e.request
        FROM points.journal_entries AS e
        WHERE e.program_id = p_program AND e.entry_id > p_after AND e.entry_id <= p_last
    )
    SELECT count(e.entry_id), coalesce(sum(l.n), 0)::bigint,
           sha256(p_previous || convert_to(coalesce(string_agg(
               points.canonical_line(coalesce(e.entry_id, l.entry_id), coalesce(e.member_id, l.member_id), e.kind, e.key_scope,
                                     e.idempotency_key, e.occurred_at, e.recorded_at, e.request, l.postings) || E'\n',
               '' ORDER BY coalesce(e.entry_id, l.entry_id), coalesce(e.member_id, l.member_id)), ''), 'UTF8')),
           min(l.entry_id) FILTER (WHERE e.entry_id IS NULL)
    FROM entries AS e
    FULL JOIN lines AS l ON l.member_id = e.member_id AND l.entry_id = e.entry_id
$$;

GRANT EXECUTE ON FUNCTION points.genesis_hash(integer) TO {{auditor}};
GRANT EXECUTE ON FUNCTION points.canonical_line(bigint, text, points.entry_kind, points.key_scope, text, timestamptz, timestamptz, jsonb, json) TO {{auditor}};
GRANT EXECUTE ON FUNCTION points.journal_digest(integer, bigint, bigint, bytea) TO {{auditor}};
