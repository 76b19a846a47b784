-- Bulk import, the journal entries of a batch's lines (PurchaseImport.swift; called by
-- import_purchase_batch, import/purchase_import.sql).

-- The second stage of a batch: creates the members it names that do not exist yet (when it may),
-- then writes an entry for every line that can be posted. Afterwards a line whose status is NULL
-- has been posted.
CREATE FUNCTION points.import_write_entries(
    p_program integer, p_create_members boolean, p_backdated boolean, p_entry_tier text)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
BEGIN
    -- New members, locked by their creation. One that another transaction created meanwhile
    -- (after this batch's points were worked out at the entry tier's multiplier, which that
    -- transaction may have changed) makes the batch start again: the client runs it again, and
    -- the member is then locked and read with the others.
    IF p_create_members AND EXISTS (SELECT FROM pg_temp.import_work AS w WHERE w.status IS NULL AND NOT w.known) THEN
        WITH created AS (
            INSERT INTO points.members AS m (program_id, member_id, tier, referrer)
            SELECT DISTINCT ON (w.member_id) p_program, w.member_id, p_entry_tier, nullif(w.referrer, w.member_id)
            FROM pg_temp.import_work AS w WHERE w.status IS NULL AND NOT w.known
            ORDER BY w.member_id, w.line
            ON CONFLICT ON CONSTRAINT members_pkey DO NOTHING
            RETURNING m.*)
        INSERT INTO pg_temp.import_members SELECT * FROM created;
        -- A count, not EXISTS: EXISTS would be planned for its first row, as a loop over the
        -- members for every line, which scans them all when (as nearly always) there is none.
        IF (SELECT count(*) FROM pg_temp.import_work AS w
            LEFT JOIN pg_temp.import_members AS i ON i.member_id = w.member_id
            WHERE w.status IS NULL AND NOT w.known AND i.member_id IS NULL) > 0 THEN
            RAISE EXCEPTION 'a member of this batch was created by another transaction while the batch was posted'
                USING ERRCODE = 'serialization_failure', HINT = 'Post the batch again.';
        END IF;
    END IF;

    -- The entries, in member order. A plain INSERT: the unique key on orders refuses an order the
    -- journal holds already (a file run again, or another importer just now), and then every
    -- line is looked up and answered from the journal, and the rest written. Two importers whose
    -- batches give the same orders to different members can deadlock here; the one PostgreSQL
    -- stops runs its batch again and answers those lines from the journal. (ON CONFLICT would
    -- look up and confirm every line: a third of the entries' cost.)
    LOOP
        BEGIN
            INSERT INTO points.journal_entries AS e
                (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
            SELECT p_program, w.member_id, w.entry_id, 'purchase', 'purchase', w.order_id, w.request, w.occurred_at, p_backdated
            FROM pg_temp.import_work AS w WHERE w.status IS NULL;
            EXIT;
        EXCEPTION WHEN unique_violation THEN
            -- Nothing to answer: the order was posted after this batch's snapshot (possible only
            -- above READ COMMITTED), which running the batch again resolves.
            IF points.import_answer_from_journal(p_program, true) = 0 THEN
                RAISE EXCEPTION 'an order of this batch was posted by another transaction while the batch was posted'
                    USING ERRCODE = 'serialization_failure', DETAIL = SQLERRM, HINT = 'Post the batch again.';
            END IF;
        END;
    END LOOP;
    -- From here on, a line whose status is still NULL has been posted.
END
$$;
