-- Finance (RULES.md: Accounts and postings; DESIGN.md, principles 6 and 8): the money value of
-- a point, and the sealed journal: hash-chained blocks of entries that make any later change to a
-- sealed entry or posting evident to `audit verify`.
SET LOCAL ROLE {{owner}};

-- What one point is worth in the program's currency (major units: 0.01 CNY), for valuing the
-- outstanding points. Versioned with the other settings.
ALTER TABLE points.program_settings
    ADD COLUMN point_value numeric NOT NULL DEFAULT 0.01
        CONSTRAINT point_value_range CHECK (point_value >= 0 AND point_value <= 1000000 AND scale(point_value) <= 8);

-- Entry ids rise with time, and the journal is append-only, so the ids of a heap page range
-- are narrow: block-range indexes find a block's entries and postings for the cost of a few
-- bytes per 128 pages, and add almost nothing to a posting's write.
CREATE INDEX journal_entries_by_id ON points.journal_entries USING brin (entry_id) WITH (autosummarize = on);
CREATE INDEX postings_by_entry ON points.postings USING brin (entry_id) WITH (autosummarize = on);
CREATE INDEX postings_by_time ON points.postings USING brin (occurred_at) WITH (autosummarize = on);

-- A sealed block: the program's entries with ids in (after_entry_id, last_entry_id], every one
-- of them, hashed with their postings. Blocks are contiguous: each starts after the last entry
-- of the one before, so an entry inserted anywhere in the sealed range changes some block's hash.
--   block_hash = SHA-256(previous_hash || canonical form of the block's entries)
-- where the first block's previous hash is points.genesis_hash(program) and the canonical form
-- is described at points.journal_digest.
CREATE TABLE points.journal_blocks (
    program_id integer NOT NULL REFERENCES points.programs,
    block_no integer NOT NULL CONSTRAINT block_no_positive CHECK (block_no >= 1),
    after_entry_id bigint NOT NULL,
    last_entry_id bigint NOT NULL,
    entries bigint NOT NULL CONSTRAINT block_not_empty CHECK (entries > 0),
    postings bigint NOT NULL CONSTRAINT block_postings CHECK (postings >= 0),
    previous_hash bytea NOT NULL CONSTRAINT previous_hash_size CHECK (length(previous_hash) = 32),
    block_hash bytea NOT NULL CONSTRAINT block_hash_size CHECK (length(block_hash) = 32),
    sealed_at timestamptz NOT NULL DEFAULT now(),
    sealed_by text NOT NULL,
    PRIMARY KEY (program_id, block_no),
    CONSTRAINT block_range CHECK (last_entry_id > after_entry_id)
);
CREATE TRIGGER journal_blocks_append_only BEFORE UPDATE OR DELETE ON points.journal_blocks
    FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();
CREATE TRIGGER journal_blocks_no_truncate BEFORE TRUNCATE ON points.journal_blocks
    FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();
GRANT SELECT ON points.journal_blocks TO {{writer}}, {{auditor}};

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
-- can recompute any block's hash with their own tools. unbalanced_entry names the first entry
-- in the range whose postings do not sum to zero over at least two lines, or that is missing
-- while its postings are there (NULL: none).
CREATE FUNCTION points.journal_digest(p_program integer, p_after bigint, p_last bigint, p_previous bytea)
RETURNS TABLE (entries bigint, postings bigint, digest bytea, unbalanced_entry bigint)
LANGUAGE sql STABLE
SET "TimeZone" = 'UTC' SET "DateStyle" = 'ISO, YMD' SET enable_seqscan = off
AS $$
    WITH lines AS (
        SELECT p.entry_id, p.member_id, count(*) AS n, sum(p.amount) AS total,
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
           min(coalesce(e.entry_id, l.entry_id)) FILTER (WHERE l.total <> 0 OR l.n < 2 OR e.entry_id IS NULL)
    FROM entries AS e
    FULL JOIN lines AS l ON l.member_id = e.member_id AND l.entry_id = e.entry_id
$$;

-- The highest entry id that sealing may reach now, and the transactions it must wait for first.
-- Entry ids are drawn from one sequence (CACHE 1, so in order) by writers that then commit or
-- roll back; an id at or below the horizon read here was drawn by a transaction open now or
-- already finished. The seal job waits until every listed transaction has finished (they are
-- the transactions open in this database now, read after the horizon), then seals up to the
-- horizon: no entry can appear below a sealed block later.
CREATE FUNCTION points.seal_horizon() RETURNS TABLE (horizon bigint, open_transactions text[])
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    v_horizon bigint;
BEGIN
    SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END INTO v_horizon FROM points.journal_entry_ids AS s;
    RETURN QUERY
    SELECT v_horizon, coalesce(array_agg(l.virtualxid), '{}')
    FROM pg_catalog.pg_locks AS l
    JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
    WHERE l.locktype = 'virtualxid' AND l.granted AND l.pid <> pg_backend_pid() AND a.datname = current_database();
END
$$;

-- Seals the program's unsealed entries with ids up to p_horizon into blocks of at most
-- p_block_entries entries, at most p_max_blocks blocks per call (each call commits: the job is
-- resumable). One sealer per program at a time (an advisory lock); writers never wait.
-- Returns what this call sealed and the chain's head after it.
CREATE FUNCTION points.seal_journal(
    p_program integer, p_horizon bigint, p_block_entries integer, p_max_blocks integer, p_actor text)
RETURNS TABLE (blocks integer, entries bigint, postings bigint, head_block integer, head_entry_id bigint, head_hash bytea)
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    v_no integer := 0;
    v_after bigint := 0;
    v_previous bytea;
    v_blocks integer := 0;
    v_entries bigint := 0;
    v_postings bigint := 0;
    v_bounds bigint[];
    v_last bigint;
    v_digest record;
BEGIN
    IF p_block_entries < 1 OR p_max_blocks < 1 THEN
        RAISE EXCEPTION 'a block holds at least one entry' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('points.seal_journal'), p_program);
    SELECT b.block_no, b.last_entry_id, b.block_hash INTO v_no, v_after, v_previous
    FROM points.journal_blocks AS b WHERE b.program_id = p_program ORDER BY b.block_no DESC LIMIT 1;
    IF NOT FOUND THEN
        v_no := 0;
        v_after := 0;
        v_previous := points.genesis_hash(p_program);
    END IF;
    -- The last entry id of each block this call seals, from one ordered read of the unsealed ids.
    SELECT array_agg(n.entry_id ORDER BY n.entry_id) INTO v_bounds
    FROM (
        SELECT u.entry_id, row_number() OVER (ORDER BY u.entry_id) AS rn, count(*) OVER () AS total
        FROM (SELECT e.entry_id FROM points.journal_entries AS e
              WHERE e.program_id = p_program AND e.entry_id > v_after AND e.entry_id <= p_horizon
              ORDER BY e.entry_id LIMIT p_block_entries::bigint * p_max_blocks) AS u
    ) AS n
    WHERE n.rn % p_block_entries = 0 OR n.rn = n.total;
    FOREACH v_last IN ARRAY coalesce(v_bounds, '{}') LOOP
        SELECT * INTO v_digest FROM points.journal_digest(p_program, v_after, v_last, v_previous);
        -- What is sealed balances: `audit verify` checks entry by entry only what is not sealed
        -- (and the blocks whose hash no longer matches), so nothing unbalanced may enter a block.
        IF v_digest.unbalanced_entry IS NOT NULL THEN
            RAISE EXCEPTION 'journal entry % does not balance (or its postings have no entry); it cannot be sealed',
                    v_digest.unbalanced_entry
                USING ERRCODE = 'check_violation', CONSTRAINT = 'entry_balances',
                      HINT = 'run points-admin audit verify to see it: only a rewrite by the owner role unbalances an entry, and only the owner can repair it (under audit) before the journal is sealed further';
        END IF;
        v_no := v_no + 1;
        INSERT INTO points.journal_blocks
            (program_id, block_no, after_entry_id, last_entry_id, entries, postings, previous_hash, block_hash, sealed_by)
        VALUES (p_program, v_no, v_after, v_last, v_digest.entries, v_digest.postings, v_previous, v_digest.digest, p_actor);
        v_blocks := v_blocks + 1;
        v_entries := v_entries + v_digest.entries;
        v_postings := v_postings + v_digest.postings;
        v_after := v_last;
        v_previous := v_digest.digest;
    END LOOP;
    RETURN QUERY SELECT v_blocks, v_entries, v_postings, v_no, v_after, v_previous;
END
$$;

GRANT EXECUTE ON FUNCTION points.genesis_hash(integer) TO {{writer}}, {{auditor}};
GRANT EXECUTE ON FUNCTION points.canonical_line(bigint, text, points.entry_kind, points.key_scope, text, timestamptz, timestamptz, jsonb, json) TO {{writer}}, {{auditor}};
GRANT EXECUTE ON FUNCTION points.journal_digest(integer, bigint, bigint, bytea) TO {{writer}}, {{auditor}};
GRANT EXECUTE ON FUNCTION points.seal_horizon() TO {{writer}};
GRANT EXECUTE ON FUNCTION points.seal_journal(integer, bigint, integer, integer, text) TO {{writer}};
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA points FROM PUBLIC;
