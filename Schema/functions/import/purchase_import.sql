-- Bulk import of purchases: one set-based call per staged batch (PurchaseImport.swift). Its
-- stages are import/lines.sql, import/entries.sql, import/upgrades.sql and import/writes.sql.

-- Posts the staged batch p_batch: each line is 'accepted' (posted), 'duplicate' (its order was
-- posted before with the same content: nothing new), or 'rejected' with the reason; a rejected
-- line posts nothing and does not stop the others. Unknown members are created first when
-- p_create_members, with the line's referrer. p_backdated records a permission to load history
-- older than the back-dating window.
--
-- How it stays fast: the members of the batch are locked once, in id order, and their rows copied
-- into a work table; everything the batch changes on a member (balances, qualifying totals, an
-- upgrade) is worked out there and written with one UPDATE per member. The lines are kept in
-- member order, so every INSERT walks its table's indexes (which all lead with the member) in
-- order. Look-ups into the ledger's tables are index probes per line (LATERAL … LIMIT 1 keeps the
-- planner from turning them into scans): a batch costs the same whether the journal holds a
-- thousand entries or a hundred million. A line's order is looked up in the journal before it
-- is posted only when its member is new or its time is out of bounds; the others find a posted
-- order through the entries' unique key.
CREATE FUNCTION points.import_purchase_batch(p_program integer, p_batch bigint, p_create_members boolean, p_backdated boolean)
RETURNS TABLE (line bigint, status points.import_purchase_batch_status, entry_id bigint, points bigint, reason text)
-- A batch's sorts (the lines in member order, with their requests) stay in memory; no statement
-- of a batch runs long enough to repay JIT compilation, which its estimates would otherwise ask
-- for (a third of a second for each pass over the upgrades).
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp SET work_mem = '64MB' SET jit = off AS $$
DECLARE
    v_row points.programs;
    v_exponent smallint;
    v_entry_tier text;
    v_referrals boolean;
    v_multiplied boolean;
BEGIN
    SELECT p.* INTO v_row FROM points.programs AS p WHERE p.program_id = p_program;
    SELECT c.exponent INTO v_exponent FROM points.currencies AS c WHERE c.currency = v_row.currency;
    SELECT t.tier INTO v_entry_tier FROM points.tiers AS t WHERE t.program_id = p_program ORDER BY t.rank LIMIT 1;
    -- Whether any first purchase can pay a referrer: when no settings ever had a referral bonus,
    -- referrers need neither locks nor lookups.
    v_referrals := EXISTS (SELECT 1 FROM points.program_settings AS ps WHERE ps.program_id = p_program AND ps.referral_bonus > 0);
    -- Tier multipliers (tiers/ladder.sql): when any tier of the program has one other than 1, each
    -- line's points are multiplied by that of the effective tier its member holds before it, as in
    -- force at the line's time: first the tier held when the batch starts, then, for the lines
    -- after one that moves the member up, the new tier (import/upgrades.sql).
    v_multiplied := EXISTS (SELECT 1 FROM points.tier_settings AS ts WHERE ts.program_id = p_program AND ts.multiplier <> 1);
    DROP TABLE IF EXISTS pg_temp.import_members, pg_temp.import_work, pg_temp.import_tiers, pg_temp.import_crossings,
        pg_temp.import_qualifying, pg_temp.import_changes;

    PERFORM points.import_read_lines(p_program, v_row, p_batch, p_create_members, p_backdated, v_exponent, v_entry_tier,
        v_multiplied, v_referrals, (points.settings_at(p_program, now())).backdate_days);
    PERFORM points.import_write_entries(p_program, p_create_members, p_backdated, v_entry_tier);
    PERFORM points.import_find_upgrades(p_program, v_row, v_exponent, v_multiplied);
    PERFORM points.import_write_lines(p_program, p_backdated, v_referrals);

    RETURN QUERY
    SELECT w.line, coalesce(w.status, 'accepted'), CASE WHEN w.status IS NULL THEN w.entry_id ELSE w.ledger_entry_id END,
           CASE WHEN w.status IS NULL THEN w.points END, w.reason
    FROM pg_temp.import_work AS w ORDER BY w.line;
    DROP TABLE pg_temp.import_members, pg_temp.import_work, pg_temp.import_tiers, pg_temp.import_crossings,
               pg_temp.import_qualifying, pg_temp.import_changes;
END
$$;

GRANT EXECUTE ON FUNCTION points.import_purchase_batch(integer, bigint, boolean, boolean) TO {{writer}};
