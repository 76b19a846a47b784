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

-- A row's part of a block's fingerprint: a 64-bit hash of what the canonical line holds of an
-- entry, or of a movement. PostgreSQL's hash functions: fast and stable, not cryptographic.
-- STABLE, as the casts of the enums to text are, so that a query calling them inlines them.
CREATE FUNCTION points.entry_row_hash(
    p_member text, p_entry bigint, p_kind points.entry_kind, p_scope points.key_scope, p_key text,
    p_occurred timestamptz, p_recorded timestamptz, p_request jsonb)
RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT hash_record_extended(
        row(p_member, p_entry, p_kind::text, p_scope::text, p_key, p_occurred, p_recorded, p_request), 0)
$$;

CREATE FUNCTION points.movement_row_hash(
    p_member text, p_entry bigint, p_leg smallint, p_from points.account, p_to points.account, p_amount bigint,
    p_occurred timestamptz)
RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT hash_record_extended(row(p_member, p_entry, p_leg, p_from::text, p_to::text, p_amount, p_occurred), 0)
$$;

-- A sum of row hashes as a fingerprint: the sum modulo 2^64, as a two's-complement bigint, so
-- that fingerprints of parts add up (with wrap-around) to the fingerprint of the whole.
CREATE FUNCTION points.fingerprint(p_sum numeric) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (mod(mod(coalesce(p_sum, 0), 18446744073709551616) + 27670116110564327424, 18446744073709551616)
            - 9223372036854775808)::bigint
$$;

-- The hash of the program's entries with ids in (p_after, p_last] and their postings, chained
-- to p_previous: SHA-256(p_previous || the UTF-8 of the entries' canonical lines in entry id
-- order, each ending in a newline), times in UTC. Movements whose entry is missing still make
-- a line (with nulls for the entry), so a movement added or removed anywhere in the range
-- changes the hash. `points-admin export journal --format jsonl` prints these same lines, so an
-- auditor can recompute any block's hash with their own tools. An entry's postings are those of
-- the view points.postings; an entry of one movement (almost every entry) gets its two without
-- grouping anything. Also the range's fingerprint (the sum of its row hashes, above), and
-- missing_entry: the first entry in the range that is missing while its movements are there
-- (NULL: none). Every entry balances by its shape (migrations/0004), so nothing here sums an
-- entry.
CREATE FUNCTION points.journal_digest(p_program integer, p_after bigint, p_last bigint, p_previous bytea)
RETURNS TABLE (entries bigint, postings bigint, digest bytea, missing_entry bigint, fingerprint bigint)
LANGUAGE sql STABLE
SET "TimeZone" = 'UTC' SET "DateStyle" = 'ISO, YMD' SET enable_seqscan = off SET jit = off
AS $$
    WITH moves AS (
        SELECT m.member_id, m.entry_id, count(*) AS legs, min(m.from_account) AS from_account, min(m.to_account) AS to_account,
               min(m.amount) AS amount, min(m.occurred_at) AS occurred_at,
               sum(points.movement_row_hash(m.member_id, m.entry_id, m.leg, m.from_account, m.to_account, m.amount, m.occurred_at))
                   AS row_hashes
        FROM points.movements AS m
        WHERE m.program_id = p_program AND m.entry_id > p_after AND m.entry_id <= p_last
        GROUP BY m.member_id, m.entry_id
    ), lines AS (
        SELECT v.member_id, v.entry_id, v.row_hashes,
               CASE WHEN v.legs > 1 THEN (
                        SELECT json_agg(json_build_array(p.account, p.amount, p.occurred_at) ORDER BY p.account)
                        FROM points.postings AS p
                        WHERE p.program_id = p_program AND p.member_id = v.member_id AND p.entry_id = v.entry_id)
                    WHEN v.from_account < v.to_account
                    THEN json_build_array(json_build_array(v.from_account, -v.amount, v.occurred_at),
                                          json_build_array(v.to_account, v.amount, v.occurred_at))
                    ELSE json_build_array(json_build_array(v.to_account, v.amount, v.occurred_at),
                                          json_build_array(v.from_account, -v.amount, v.occurred_at)) END AS postings
        FROM moves AS v
    ), entries AS (
        SELECT e.member_id, e.entry_id, e.kind, e.key_scope, e.idempotency_key, e.occurred_at, e.recorded_at, e.request,
               points.entry_row_hash(e.member_id, e.entry_id, e.kind, e.key_scope, e.idempotency_key, e.occurred_at,
                                     e.recorded_at, e.request) AS row_hash
        FROM points.journal_entries AS e
        WHERE e.program_id = p_program AND e.entry_id > p_after AND e.entry_id <= p_last
    )
    SELECT count(e.entry_id), coalesce(sum(json_array_length(l.postings)), 0)::bigint,
           sha256(p_previous || convert_to(coalesce(string_agg(
               points.canonical_line(coalesce(e.entry_id, l.entry_id), coalesce(e.member_id, l.member_id), e.kind, e.key_scope,
                                     e.idempotency_key, e.occurred_at, e.recorded_at, e.request, l.postings) || E'\n',
               '' ORDER BY coalesce(e.entry_id, l.entry_id), coalesce(e.member_id, l.member_id)), ''), 'UTF8')),
           min(l.entry_id) FILTER (WHERE e.entry_id IS NULL),
           points.fingerprint(coalesce(sum(e.row_hash), 0) + coalesce(sum(l.row_hashes), 0))
    FROM entries AS e
    FULL JOIN lines AS l ON l.member_id = e.member_id AND l.entry_id = e.entry_id
$$;

GRANT EXECUTE ON FUNCTION points.genesis_hash(integer) TO {{auditor}};
-- The writer too: points-server exports the journal to finance over its writer connection.
GRANT EXECUTE ON FUNCTION points.canonical_line(bigint, text, points.entry_kind, points.key_scope, text, timestamptz, timestamptz, jsonb, json) TO {{writer}}, {{auditor}};
GRANT EXECUTE ON FUNCTION points.journal_digest(integer, bigint, bigint, bytea) TO {{auditor}};
GRANT EXECUTE ON FUNCTION points.entry_row_hash(text, bigint, points.entry_kind, points.key_scope, text, timestamptz, timestamptz, jsonb),
                          points.movement_row_hash(text, bigint, smallint, points.account, points.account, bigint, timestamptz),
                          points.fingerprint(numeric) TO {{auditor}};
