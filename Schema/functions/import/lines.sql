-- Bulk import, the lines of a batch: what each line earns and whether it can be posted
-- (PurchaseImport.swift; called by import_purchase_batch, import/purchase_import.sql).

-- Answers the lines of a batch (pg_temp.import_work) still to post whose order the journal
-- holds already: 'duplicate' for the same content, 'rejected' (an idempotency conflict) for other
-- content. p_all: every such line; otherwise only the lines of members new to the program and the
-- lines out of time. Returns how many lines it answered.
CREATE FUNCTION points.import_answer_from_journal(p_program integer, p_all boolean) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_answered bigint;
BEGIN
    UPDATE pg_temp.import_work AS w SET
        status = CASE WHEN f.same THEN 'duplicate' ELSE 'rejected' END::points.import_purchase_batch_status,
        reason = format('order %s was posted as entry %s%s', w.order_id, f.entry_id,
                        CASE WHEN f.same THEN '' ELSE ' with different content (idempotency conflict)' END),
        ledger_entry_id = f.entry_id
    FROM (SELECT w2.line, e.entry_id, points.same_request(e.request, w2.request) AS same
          FROM pg_temp.import_work AS w2
          CROSS JOIN LATERAL (
              SELECT e.entry_id, e.request FROM points.journal_entries AS e
              WHERE e.program_id = p_program AND e.key_scope = 'purchase' AND e.idempotency_key = w2.order_id
              LIMIT 1) AS e
          WHERE w2.status IS NULL AND (p_all OR w2.time_problem OR NOT w2.known)) AS f
    WHERE w.line = f.line;
    GET DIAGNOSTICS v_answered = ROW_COUNT;
    RETURN v_answered;
END
$$;

-- The first stage of a batch: locks its members and copies their rows (pg_temp.import_members),
-- and reads its staged lines into the work table (pg_temp.import_work) in member order, each
-- priced at the tier its member holds when the batch starts (earning/purchase_points.sql), with
-- the reason it cannot be posted where there is one: amounts and times out of bounds, unknown
-- members and referrers, orders the journal holds, orders repeated in the batch.
CREATE FUNCTION points.import_read_lines(
    p_program integer, p_row points.programs, p_batch bigint, p_create_members boolean, p_backdated boolean,
    p_exponent smallint, p_entry_tier text, p_multiplied boolean, p_referrals boolean, p_backdate_days integer)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_members text[];
    -- Only the rows this transaction staged are the batch's (migrations/0002).
    v_me xid8 := pg_current_xact_id();
BEGIN
    -- Lock every member of the batch, the referrers its lines name and the referrers a first
    -- purchase pays, in id order, before anything is written (creating a member share-locks its
    -- referrer, which must not come before the ordered locks), and copy their rows.
    SELECT array_agg(DISTINCT x.member_id) INTO v_members FROM (
        SELECT st.member_id FROM points.import_staging AS st WHERE st.batch_id = p_batch AND st.staged_by = v_me
        UNION ALL
        SELECT st.referrer FROM points.import_staging AS st WHERE st.batch_id = p_batch AND st.staged_by = v_me AND st.referrer IS NOT NULL
        UNION ALL
        SELECT r.referrer FROM (SELECT DISTINCT st.member_id FROM points.import_staging AS st WHERE st.batch_id = p_batch AND st.staged_by = v_me) AS st
        CROSS JOIN LATERAL (
            SELECT m.referrer FROM points.members AS m
            WHERE m.program_id = p_program AND m.member_id = st.member_id AND m.first_purchase_at IS NULL AND m.referrer IS NOT NULL
            LIMIT 1) AS r
        WHERE p_referrals) AS x;
    CREATE TEMP TABLE import_members ON COMMIT DROP AS SELECT * FROM points.lock_members(p_program, v_members);

    -- The batch in member order, with everything that follows from each line alone, computed in
    -- one pass: the reason it cannot be posted, if any (status stays NULL while a line may still
    -- be posted), and its points, maturity and lot expiry by the settings in force at its own time
    -- (one join against the program's few settings versions, each valid until the next).
    CREATE TEMP TABLE import_work ON COMMIT DROP AS
    SELECT x.*,
           -- Amount problems reject a line at once; time problems only once the ledger is known
           -- not to hold its order (a re-run of an old file is answered with duplicates).
           CASE WHEN x.reason IS NOT NULL AND NOT x.time_problem THEN 'rejected'::points.import_purchase_batch_status END
               AS status,
           NULL::bigint AS ledger_entry_id,
           points.purchase_matures_at(x.points, x.occurred_at, x.return_window_days, p_row.time_zone) AS matures_at,
           points.lot_expiry(x.expiry_kind, x.expiry_count, x.occurred_at, p_row.time_zone) AS expires_at,
           nextval('points.journal_entry_ids') AS entry_id,
           points.tier_period_start(x.tier_period, x.occurred_at, p_row.time_zone) AS period_start
    FROM (
        SELECT st.line, st.order_id, st.member_id, st.amount_minor, st.points_paid_minor, st.occurred_at, st.referrer,
               jsonb_build_object('member', st.member_id, 'order', st.order_id, 'amount_minor', st.amount_minor,
                                  'points_paid_minor', st.points_paid_minor, 'occurred_at', st.occurred_at AT TIME ZONE 'UTC') AS request,
               points.purchase_points(st.amount_minor - st.points_paid_minor, p_exponent, s.earn_rate,
                   CASE WHEN p_multiplied THEN points.multiplier_in_force(p_program,
                       -- A member created by this batch holds the entry tier.
                       points.tier_at(p_program, st.member_id, coalesce(im.tier, p_entry_tier), im.override_until,
                                      im.override_previous, im.granted_until, st.occurred_at),
                       st.occurred_at, p_row.ladder_since, p_row.ladder_tiers, p_row.ladder_multipliers) END,
                   s.rounding) AS points,
               s.earn_rate, s.rounding, s.return_window_days, s.expiry_kind, s.expiry_count, s.tier_period,
               im.member_id IS NOT NULL AS known,
               CASE
                   WHEN st.amount_minor <= 0 THEN 'amount must be more than zero'
                   WHEN st.points_paid_minor < 0 OR st.points_paid_minor > st.amount_minor THEN 'points_paid must be between 0 and the amount'
                   WHEN st.occurred_at > now() + interval '5 minutes' THEN 'occurred_at is more than 5 minutes in the future'
                   WHEN NOT p_backdated AND st.occurred_at < now() - make_interval(days => p_backdate_days) THEN
                       format('occurred_at is older than the back-dating window of %s days; loading history needs an explicit back-dating permission', p_backdate_days)
                   -- No write is posted under built-in defaults.
                   WHEN st.occurred_at < p_row.created_at AND s.effective_at = '-infinity' THEN
                       'occurred_at is before the program existed; have an admin set its settings from an earlier moment before loading this history'
               END AS reason,
               st.occurred_at > now() + interval '5 minutes'
                   OR (NOT p_backdated AND st.occurred_at < now() - make_interval(days => p_backdate_days))
                   OR (st.occurred_at < p_row.created_at AND s.effective_at = '-infinity') AS time_problem
        FROM points.import_staging AS st
        JOIN (SELECT ps.*, lead(ps.effective_at, 1, 'infinity') OVER (ORDER BY ps.effective_at) AS until
              FROM points.program_settings AS ps WHERE ps.program_id = p_program) AS s
          ON st.occurred_at >= s.effective_at AND st.occurred_at < s.until
        LEFT JOIN pg_temp.import_members AS im ON im.member_id = st.member_id
        WHERE st.batch_id = p_batch AND st.staged_by = v_me
    ) AS x
    ORDER BY x.member_id, x.line;
    -- Statistics of the work tables, so that the later stages join them by hash, not by loops
    -- over estimates of a few rows (temporary tables get none otherwise).
    ANALYZE pg_temp.import_work, pg_temp.import_members;
    -- The batch's rows, and rows whose transactions have all ended (staged under this batch's id
    -- by another transaction, or left by a crash): nobody will read them.
    DELETE FROM points.import_staging AS st
    WHERE st.batch_id = p_batch OR st.staged_by < pg_snapshot_xmin(pg_current_snapshot());

    -- Orders the ledger has already, among the lines of new members and the lines out of time
    -- (the others are found when the entries are written): members are created only for lines
    -- that will be posted.
    PERFORM points.import_answer_from_journal(p_program, false);
    UPDATE pg_temp.import_work AS w SET status = 'rejected' WHERE w.status IS NULL AND w.time_problem;

    -- Members: refuse lines of unknown members (unless they are to be created) and of unknown
    -- referrers.
    IF p_create_members THEN
        -- Until nothing changes: a referrer to be created by this batch whose own line is refused
        -- here is unknown too (one statement sees its line as it was before the statement).
        LOOP
            UPDATE pg_temp.import_work AS w SET status = 'rejected',
                reason = format('referrer %s does not exist', w.referrer)
            WHERE w.status IS NULL AND w.referrer IS NOT NULL AND NOT w.known
              AND NOT EXISTS (SELECT 1 FROM pg_temp.import_members AS m WHERE m.member_id = w.referrer)
              AND NOT EXISTS (SELECT 1 FROM pg_temp.import_work AS w2 WHERE w2.member_id = w.referrer AND w2.status IS NULL);
            EXIT WHEN NOT FOUND;
        END LOOP;
    ELSE
        UPDATE pg_temp.import_work AS w SET status = 'rejected',
            reason = format('member %s does not exist (an import that creates members would create it)', w.member_id)
        WHERE w.status IS NULL AND NOT w.known;
    END IF;

    -- An order repeated in the batch (among the lines still to post): a posted one is answered from
    -- the journal, line by line (so every line gets the posted entry, and its own verdict); of one
    -- not yet posted the first line counts, and the others repeat it or conflict.
    IF EXISTS (SELECT FROM pg_temp.import_work AS w WHERE w.status IS NULL GROUP BY w.order_id HAVING count(*) > 1) THEN
        PERFORM points.import_answer_from_journal(p_program, true);
        UPDATE pg_temp.import_work AS w SET
            status = CASE WHEN w.request = f.request THEN 'duplicate' ELSE 'rejected' END::points.import_purchase_batch_status,
            reason = CASE WHEN w.request = f.request THEN format('order %s repeats line %s', w.order_id, f.line)
                          ELSE format('order %s is on line %s with different content', w.order_id, f.line) END
        FROM (SELECT DISTINCT ON (w2.order_id) w2.order_id, w2.line, w2.request
              FROM pg_temp.import_work AS w2 WHERE w2.status IS NULL ORDER BY w2.order_id, w2.line) AS f
        WHERE w.status IS NULL AND w.order_id = f.order_id AND w.line <> f.line;
    END IF;
END
$$;
