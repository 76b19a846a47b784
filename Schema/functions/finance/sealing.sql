-- The seal job: hash-chained blocks of the journal (Sealing.swift).

-- Seals the program's unsealed entries into blocks of at most p_block_entries entries, at most
-- p_max_blocks blocks per call (each call commits: the job is resumable). Finance (the auditor
-- role) and the owner may seal; the writer may not. Nothing about what is sealed comes from the
-- caller: the horizon is worked out here from committed state, and the block records the
-- session's login role as who sealed it. The horizon is the highest entry id drawn so far (ids
-- come from one sequence, CACHE 1, so in order): every id at or below it was drawn by a
-- transaction open now or already finished, so the call waits (up to p_wait) until every
-- transaction that had drawn an id when the horizon was read, prepared ones included, has
-- ended, and then seals up to it: no entry can appear inside a sealed range later. p_up_to can
-- only lower the horizon (a run keeps to the horizon of its first call). Writers never wait;
-- one sealer runs at a time, and a second is refused at once. Runs at READ COMMITTED only, so
-- that each statement after the wait sees what those transactions committed.
-- Returns what this call sealed, the chain's head after it, and the horizon it sealed to.
CREATE FUNCTION points.seal_journal(
    p_program integer, p_block_entries integer, p_max_blocks integer, p_up_to bigint, p_wait interval)
RETURNS TABLE (blocks integer, entries bigint, postings bigint, head_block integer, head_entry_id bigint,
               head_hash bytea, horizon bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_horizon bigint;
    v_open text[];
    v_deadline timestamptz;
    v_waiting record;
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
    IF p_block_entries IS NULL OR p_max_blocks IS NULL OR p_block_entries < 1 OR p_max_blocks < 1 THEN
        RAISE EXCEPTION 'a block holds at least one entry' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_wait IS NULL OR p_wait < interval '0' OR p_wait > interval '1 hour' THEN
        RAISE EXCEPTION 'sealing waits between 0 seconds and 1 hour for open transactions, not %', p_wait
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'sealing runs at READ COMMITTED, not %', current_setting('transaction_isolation')
            USING ERRCODE = 'invalid_transaction_state',
                  HINT = 'Call points.seal_journal outside an explicit REPEATABLE READ or SERIALIZABLE transaction.';
    END IF;
    -- One sealer at a time, by a lock only the owner's functions can take (the writer and the
    -- auditor may only read journal_blocks), and that readers never wait for.
    BEGIN
        LOCK TABLE points.journal_blocks IN SHARE ROW EXCLUSIVE MODE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RAISE EXCEPTION 'another seal of the journal is running'
            USING ERRCODE = 'lock_not_available', HINT = 'Run the seal job again when it has finished.';
    END;
    SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END INTO v_horizon
    FROM points.journal_entry_ids AS s;
    v_horizon := least(v_horizon, p_up_to);
    -- Read after the horizon: the transactions that drew entry ids and have not ended, prepared
    -- ones included. Drawing an id locks the sequence until the transaction ends (a prepared
    -- transaction keeps the lock), so these are exactly the transactions that may still commit an
    -- entry at or below the horizon; transactions that write no entries are never waited for.
    SELECT coalesce(array_agg(l.virtualtransaction), '{}') INTO v_open
    FROM pg_catalog.pg_locks AS l
    WHERE l.locktype = 'relation' AND l.relation = 'points.journal_entry_ids'::regclass
      AND l.database = (SELECT d.oid FROM pg_catalog.pg_database AS d WHERE d.datname = current_database())
      AND l.granted AND l.pid IS DISTINCT FROM pg_backend_pid();
    v_deadline := clock_timestamp() + p_wait;
    LOOP
        SELECT count(*) AS transactions, min(l.pid) AS pid INTO v_waiting
        FROM pg_catalog.pg_locks AS l
        WHERE l.locktype = 'relation' AND l.relation = 'points.journal_entry_ids'::regclass AND l.granted
          AND l.virtualtransaction = ANY (v_open);
        EXIT WHEN v_waiting.transactions = 0;
        IF clock_timestamp() >= v_deadline THEN
            RAISE EXCEPTION 'sealing waits for % transaction(s) that may still write entries (%)',
                    v_waiting.transactions, coalesce('server process ' || v_waiting.pid, 'a prepared transaction')
                USING ERRCODE = 'lock_not_available', HINT = 'Let it finish (or end it), then run the seal job again.';
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
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
              WHERE e.program_id = p_program AND e.entry_id > v_after AND e.entry_id <= v_horizon
              ORDER BY e.entry_id LIMIT p_block_entries::bigint * p_max_blocks) AS u
    ) AS n
    WHERE n.rn % p_block_entries = 0 OR n.rn = n.total;
    FOREACH v_last IN ARRAY coalesce(v_bounds, '{}') LOOP
        SELECT * INTO v_digest FROM points.journal_digest(p_program, v_after, v_last, v_previous);
        -- Every movement sealed belongs to an entry: `audit verify` looks for movements without
        -- one only where they can still be (after the sealed blocks, and in blocks whose hash no
        -- longer matches), so none may enter a block.
        IF v_digest.missing_entry IS NOT NULL THEN
            RAISE EXCEPTION 'journal entry % is missing while its movements are there; it cannot be sealed',
                    v_digest.missing_entry
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'movement_has_entry',
                      HINT = 'run points-admin audit verify to see it: only a rewrite by the owner role removes an entry, and only the owner can repair it (under audit) before the journal is sealed further';
        END IF;
        v_no := v_no + 1;
        INSERT INTO points.journal_blocks
            (program_id, block_no, after_entry_id, last_entry_id, entries, postings, previous_hash, block_hash, sealed_by,
             fingerprint)
        VALUES (p_program, v_no, v_after, v_last, v_digest.entries, v_digest.postings, v_previous, v_digest.digest, session_user,
                v_digest.fingerprint);
        v_blocks := v_blocks + 1;
        v_entries := v_entries + v_digest.entries;
        v_postings := v_postings + v_digest.postings;
        v_after := v_last;
        v_previous := v_digest.digest;
    END LOOP;
    RETURN QUERY SELECT v_blocks, v_entries, v_postings, v_no, v_after, v_previous, v_horizon;
END
$$;

GRANT EXECUTE ON FUNCTION points.seal_journal TO {{auditor}};
