-- Bulk import of purchases: one set-based call per staged batch (PurchaseImport.swift).

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
        status = CASE WHEN f.same THEN 'duplicate' ELSE 'rejected' END,
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

-- The changes an import batch worked out for its members (pg_temp.import_changes, in id order):
-- one new version of each member's row, found by a descent of the primary key per member whatever
-- the statistics say (see lock_members).
CREATE FUNCTION points.import_apply_member_changes(p_program integer) RETURNS void
LANGUAGE plpgsql SET enable_hashjoin = off SET enable_mergejoin = off SET enable_bitmapscan = off AS $$
BEGIN
    UPDATE points.members AS m SET
        available = m.available + c.available, pending = m.pending + c.pending, issued = m.issued - c.available - c.pending,
        first_purchase_at = coalesce(m.first_purchase_at, c.first_at),
        q_period = c.q_period, q_points = c.q_points, q_spend = c.q_spend,
        tier = coalesce(c.to_tier, m.tier),
        tier_before_upgrade = CASE WHEN c.to_tier IS NULL THEN m.tier_before_upgrade ELSE c.before_tier END,
        tier_reached_period = CASE WHEN c.to_tier IS NULL THEN m.tier_reached_period ELSE c.reached_period END,
        override_until = CASE WHEN c.to_tier IS NULL THEN m.override_until END,
        override_previous = CASE WHEN c.to_tier IS NULL THEN m.override_previous END
    FROM pg_temp.import_changes AS c
    WHERE m.program_id = p_program AND m.member_id = c.member_id;
END
$$;

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
RETURNS TABLE (line bigint, status text, entry_id bigint, points bigint, reason text)
-- A batch's sorts (the lines in member order, with their requests) stay in memory.
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp SET work_mem = '64MB' AS $$
DECLARE
    v_exponent smallint;
    v_time_zone text;
    v_backdate_days integer;
    v_entry_tier text;
    v_referral record;
    v_members text[];
    v_referrals boolean;
    v_multiplied boolean;
    v_closed_until timestamptz;
    v_ladder record;
BEGIN
    SELECT c.exponent, p.time_zone, p.tiers_closed_until INTO v_exponent, v_time_zone, v_closed_until
    FROM points.programs AS p JOIN points.currencies AS c USING (currency) WHERE p.program_id = p_program;
    SELECT p.ladder_since, p.ladder_tiers, p.ladder_points, p.ladder_spend, p.ladder_multipliers INTO v_ladder
    FROM points.programs AS p WHERE p.program_id = p_program;
    v_backdate_days := (points.settings_at(p_program, now())).backdate_days;
    SELECT t.tier INTO v_entry_tier FROM points.tiers AS t WHERE t.program_id = p_program ORDER BY t.rank LIMIT 1;
    -- Whether any first purchase can pay a referrer: when no settings ever had a referral bonus,
    -- referrers need neither locks nor lookups.
    v_referrals := EXISTS (SELECT 1 FROM points.program_settings AS ps WHERE ps.program_id = p_program AND ps.referral_bonus > 0);
    -- Tier multipliers (tiers/ladder.sql): when any tier of the program has one other than 1, each
    -- line's points are multiplied by that of the effective tier its member holds before it, as in
    -- force at the line's time: first the tier held when the batch starts, then, for the lines
    -- after one that moves the member up, the new tier (see the upgrade passes below).
    v_multiplied := EXISTS (SELECT 1 FROM points.tier_settings AS ts WHERE ts.program_id = p_program AND ts.multiplier <> 1);
    DROP TABLE IF EXISTS pg_temp.import_members, pg_temp.import_work, pg_temp.import_tiers, pg_temp.import_crossings,
        pg_temp.import_qualifying, pg_temp.import_changes;

    -- Lock every member of the batch, the referrers its lines name and the referrers a first
    -- purchase pays, in id order, before anything is written (creating a member share-locks its
    -- referrer, which must not come before the ordered locks), and copy their rows.
    SELECT array_agg(DISTINCT x.member_id) INTO v_members FROM (
        SELECT st.member_id FROM points.import_staging AS st WHERE st.batch_id = p_batch
        UNION ALL
        SELECT st.referrer FROM points.import_staging AS st WHERE st.batch_id = p_batch AND st.referrer IS NOT NULL
        UNION ALL
        SELECT r.referrer FROM (SELECT DISTINCT st.member_id FROM points.import_staging AS st WHERE st.batch_id = p_batch) AS st
        CROSS JOIN LATERAL (
            SELECT m.referrer FROM points.members AS m
            WHERE m.program_id = p_program AND m.member_id = st.member_id AND m.first_purchase_at IS NULL AND m.referrer IS NOT NULL
            LIMIT 1) AS r
        WHERE v_referrals) AS x;
    CREATE TEMP TABLE import_members ON COMMIT DROP AS SELECT * FROM points.lock_members(p_program, v_members);

    -- The batch in member order, with everything that follows from each line alone, computed in
    -- one pass: the reason it cannot be posted, if any (status stays NULL while a line may still
    -- be posted), and its points, maturity and lot expiry by the settings in force at its own time
    -- (one join against the program's few settings versions, each valid until the next).
    CREATE TEMP TABLE import_work ON COMMIT DROP AS
    SELECT x.*,
           -- Amount problems reject a line at once; time problems only once the ledger is known
           -- not to hold its order (a re-run of an old file is answered with duplicates).
           CASE WHEN x.reason IS NOT NULL AND NOT x.time_problem THEN 'rejected' END AS status,
           NULL::bigint AS ledger_entry_id,
           points.purchase_matures_at(x.points, x.occurred_at, x.return_window_days, v_time_zone) AS matures_at,
           points.lot_expiry(x.expiry_kind, x.expiry_count, x.occurred_at, v_time_zone) AS expires_at,
           nextval('points.journal_entry_ids') AS entry_id,
           points.tier_period_start(x.tier_period, x.occurred_at, v_time_zone) AS period_start
    FROM (
        SELECT st.line, st.order_id, st.member_id, st.amount_minor, st.points_paid_minor, st.occurred_at, st.referrer,
               jsonb_build_object('member', st.member_id, 'order', st.order_id, 'amount_minor', st.amount_minor,
                                  'points_paid_minor', st.points_paid_minor, 'occurred_at', st.occurred_at AT TIME ZONE 'UTC') AS request,
               points.purchase_points(st.amount_minor - st.points_paid_minor, v_exponent, s.earn_rate,
                   CASE WHEN v_multiplied THEN points.multiplier_in_force(p_program,
                       -- A member created by this batch holds the entry tier.
                       points.tier_at(p_program, st.member_id, coalesce(im.tier, v_entry_tier), im.override_until,
                                      im.override_previous, im.granted_until, st.occurred_at),
                       st.occurred_at, v_ladder.ladder_since, v_ladder.ladder_tiers, v_ladder.ladder_multipliers) END,
                   s.rounding) AS points,
               s.earn_rate, s.rounding, s.return_window_days, s.expiry_kind, s.expiry_count, s.tier_period,
               im.member_id IS NOT NULL AS known,
               CASE
                   WHEN st.amount_minor <= 0 THEN 'amount must be more than zero'
                   WHEN st.points_paid_minor < 0 OR st.points_paid_minor > st.amount_minor THEN 'points_paid must be between 0 and the amount'
                   WHEN st.occurred_at > now() + interval '5 minutes' THEN 'occurred_at is more than 5 minutes in the future'
                   WHEN NOT p_backdated AND st.occurred_at < now() - make_interval(days => v_backdate_days) THEN
                       format('occurred_at is older than the back-dating window of %s days; import history with --allow-backdated', v_backdate_days)
               END AS reason,
               st.occurred_at > now() + interval '5 minutes'
                   OR (NOT p_backdated AND st.occurred_at < now() - make_interval(days => v_backdate_days)) AS time_problem
        FROM points.import_staging AS st
        JOIN (SELECT ps.*, lead(ps.effective_at, 1, 'infinity') OVER (ORDER BY ps.effective_at) AS until
              FROM points.program_settings AS ps WHERE ps.program_id = p_program) AS s
          ON st.occurred_at >= s.effective_at AND st.occurred_at < s.until
        LEFT JOIN pg_temp.import_members AS im ON im.member_id = st.member_id
        WHERE st.batch_id = p_batch
    ) AS x
    ORDER BY x.member_id, x.line;
    DELETE FROM points.import_staging AS st WHERE st.batch_id = p_batch;

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
            reason = format('member %s does not exist (import without --no-create-members to create members)', w.member_id)
        WHERE w.status IS NULL AND NOT w.known;
    END IF;

    -- An order repeated in the batch (among the lines still to post): a posted one is answered from
    -- the journal, line by line (so every line gets the posted entry, and its own verdict); of one
    -- not yet posted the first line counts, and the others repeat it or conflict.
    IF EXISTS (SELECT FROM pg_temp.import_work AS w WHERE w.status IS NULL GROUP BY w.order_id HAVING count(*) > 1) THEN
        PERFORM points.import_answer_from_journal(p_program, true);
        UPDATE pg_temp.import_work AS w SET
            status = CASE WHEN w.request = f.request THEN 'duplicate' ELSE 'rejected' END,
            reason = CASE WHEN w.request = f.request THEN format('order %s repeats line %s', w.order_id, f.line)
                          ELSE format('order %s is on line %s with different content', w.order_id, f.line) END
        FROM (SELECT DISTINCT ON (w2.order_id) w2.order_id, w2.line, w2.request
              FROM pg_temp.import_work AS w2 WHERE w2.status IS NULL ORDER BY w2.order_id, w2.line) AS f
        WHERE w.status IS NULL AND w.order_id = f.order_id AND w.line <> f.line;
    END IF;

    -- New members, locked by their creation. One that another transaction created meanwhile
    -- (after this batch's points were worked out at the entry tier's multiplier, which that
    -- transaction may have changed) makes the batch start again: the client runs it again, and
    -- the member is then locked and read with the others.
    IF p_create_members AND EXISTS (SELECT FROM pg_temp.import_work AS w WHERE w.status IS NULL AND NOT w.known) THEN
        WITH created AS (
            INSERT INTO points.members AS m (program_id, member_id, tier, referrer)
            SELECT DISTINCT ON (w.member_id) p_program, w.member_id, v_entry_tier, nullif(w.referrer, w.member_id)
            FROM pg_temp.import_work AS w WHERE w.status IS NULL AND NOT w.known
            ORDER BY w.member_id, w.line
            ON CONFLICT ON CONSTRAINT members_pkey DO NOTHING
            RETURNING m.*)
        INSERT INTO pg_temp.import_members SELECT * FROM created;
        IF EXISTS (SELECT FROM pg_temp.import_work AS w
                   WHERE w.status IS NULL AND NOT w.known
                     AND NOT EXISTS (SELECT FROM pg_temp.import_members AS i WHERE i.member_id = w.member_id)) THEN
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

    -- Upgrades in line order, as the same purchases posted one by one make them: a line whose
    -- period's totals (with it) reach a higher tier's entry threshold, in a period not yet
    -- evaluated, moves its member up at once; it earned at the old multiplier, the member's later
    -- lines earn at the new one. Each pass finds every member's next crossing, set-based, and
    -- prices the lines after it again; a member crosses at most once per tier above it, so the
    -- passes end.
    CREATE TEMP TABLE import_tiers ON COMMIT DROP AS
    SELECT i.member_id, i.tier, i.override_until, i.override_previous, i.granted_until, i.q_period, i.q_points, i.q_spend,
           0::bigint AS settled_line, false AS done
    FROM pg_temp.import_members AS i
    WHERE EXISTS (SELECT FROM pg_temp.import_work AS w WHERE w.member_id = i.member_id AND w.status IS NULL);
    CREATE TEMP TABLE import_crossings (
        member_id text COLLATE "C", line bigint, entry_id bigint, occurred_at timestamptz, period_start date,
        from_tier text, to_tier text, q_points bigint, q_spend bigint) ON COMMIT DROP;
    LOOP
        WITH running AS (
            -- Each posted line's period totals with it: what the period held before the batch, and
            -- the member's lines of that period up to it.
            SELECT w.member_id, w.line, w.entry_id, w.occurred_at, w.period_start,
                   (coalesce(base.points, 0) + sum(w.points) OVER per_period)::bigint AS q_points,
                   (coalesce(base.spend, 0) + sum(w.amount_minor - w.points_paid_minor) OVER per_period)::bigint AS q_spend
            FROM pg_temp.import_work AS w
            JOIN pg_temp.import_tiers AS t ON t.member_id = w.member_id AND NOT t.done
            LEFT JOIN LATERAL (
                SELECT t.q_points AS points, t.q_spend AS spend WHERE w.period_start = t.q_period
                UNION ALL
                SELECT q.points, q.spend_minor FROM points.qualifying_totals AS q
                WHERE w.period_start < t.q_period AND q.program_id = p_program AND q.member_id = w.member_id
                  AND q.period_start = w.period_start) AS base ON true
            WHERE w.status IS NULL
            WINDOW per_period AS (PARTITION BY w.member_id, w.period_start ORDER BY w.line)
        ), crossing AS (
            SELECT DISTINCT ON (r.member_id) r.*, e.earned AS from_tier,
                   points.tier_reached_above(p_program, e.earned, r.occurred_at, r.q_points, r.q_spend, v_ladder.ladder_since,
                       v_ladder.ladder_tiers, v_ladder.ladder_points, v_ladder.ladder_spend) AS to_tier
            FROM running AS r
            JOIN pg_temp.import_tiers AS t ON t.member_id = r.member_id
            CROSS JOIN LATERAL (
                SELECT CASE WHEN t.override_until <= r.occurred_at THEN t.override_previous ELSE t.tier END AS earned) AS e
            WHERE r.line > t.settled_line AND r.occurred_at >= coalesce(v_closed_until, '-infinity')
              -- Lines that reach no higher threshold (most) skip the call above.
              AND points.may_reach_above(e.earned, r.occurred_at, r.q_points, r.q_spend,
                      v_ladder.ladder_since, v_ladder.ladder_tiers, v_ladder.ladder_points, v_ladder.ladder_spend)
              AND points.tier_reached_above(p_program, e.earned, r.occurred_at, r.q_points, r.q_spend, v_ladder.ladder_since,
                      v_ladder.ladder_tiers, v_ladder.ladder_points, v_ladder.ladder_spend) IS NOT NULL
            ORDER BY r.member_id, r.line
        ), found AS (
            INSERT INTO pg_temp.import_crossings AS x
            SELECT c.member_id, c.line, c.entry_id, c.occurred_at, c.period_start, c.from_tier, c.to_tier, c.q_points, c.q_spend
            FROM crossing AS c
            RETURNING x.member_id, x.line, x.to_tier
        )
        UPDATE pg_temp.import_tiers AS t SET
            done = f.member_id IS NULL,
            tier = coalesce(f.to_tier, t.tier),
            override_until = CASE WHEN f.member_id IS NULL THEN t.override_until END,
            override_previous = CASE WHEN f.member_id IS NULL THEN t.override_previous END,
            settled_line = coalesce(f.line, t.settled_line)
        FROM pg_temp.import_tiers AS t2 LEFT JOIN found AS f ON f.member_id = t2.member_id
        WHERE NOT t.done AND t2.member_id = t.member_id;
        EXIT WHEN NOT EXISTS (SELECT FROM pg_temp.import_tiers AS t WHERE NOT t.done);
        -- The lines after a crossing earn at the new tier's multiplier.
        IF v_multiplied THEN
            UPDATE pg_temp.import_work AS w SET (points, matures_at) = (
                SELECT x.points, points.purchase_matures_at(x.points, w.occurred_at, w.return_window_days, v_time_zone)
                FROM (SELECT points.purchase_points(w.amount_minor - w.points_paid_minor, v_exponent, w.earn_rate,
                          points.multiplier_in_force(p_program,
                              points.tier_at(p_program, t.member_id, t.tier, t.override_until, t.override_previous,
                                             t.granted_until, w.occurred_at),
                              w.occurred_at, v_ladder.ladder_since, v_ladder.ladder_tiers, v_ladder.ladder_multipliers),
                          w.rounding) AS points) AS x)
            FROM pg_temp.import_tiers AS t
            WHERE t.member_id = w.member_id AND NOT t.done AND w.line > t.settled_line AND w.status IS NULL;
        END IF;
    END LOOP;

    INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at)
    SELECT p_program, w.member_id, w.entry_id, posting.account, posting.amount, w.occurred_at
    FROM pg_temp.import_work AS w
    CROSS JOIN LATERAL (VALUES
        (CASE WHEN w.matures_at IS NULL THEN 'available' ELSE 'pending' END::points.account, w.points),
        ('issued', -w.points)) AS posting(account, amount)
    WHERE w.status IS NULL AND w.points > 0;

    INSERT INTO points.purchases
        (program_id, member_id, order_id, entry_id, occurred_at, amount_minor, points_paid_minor, points, pending_points, matures_at)
    SELECT p_program, w.member_id, w.order_id, w.entry_id, w.occurred_at, w.amount_minor, w.points_paid_minor, w.points,
           CASE WHEN w.matures_at IS NULL THEN 0 ELSE w.points END, w.matures_at
    FROM pg_temp.import_work AS w WHERE w.status IS NULL;

    -- Points available at once repay a member's debt before they form lots, line by line.
    INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, expires_at, amount, remaining)
    SELECT p_program, x.member_id, x.entry_id, x.occurred_at, x.expires_at, x.lot_amount, x.lot_amount
    FROM (SELECT w.member_id, w.entry_id, w.occurred_at, w.expires_at,
                 points.lot_amount(w.points, i.available + coalesce(sum(w.points) OVER (
                     PARTITION BY w.member_id ORDER BY w.line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint) AS lot_amount
          FROM pg_temp.import_work AS w JOIN pg_temp.import_members AS i ON i.member_id = w.member_id
          WHERE w.status IS NULL AND w.matures_at IS NULL AND w.points > 0) AS x
    WHERE x.lot_amount > 0;

    -- What the batch changes on each member. Qualifying totals (tiers/qualification.sql), per member and
    -- period: a member's latest period in the batch, when later than the one on the member's row,
    -- takes the row's place (the row's totals move to qualifying_totals); the sums of that period
    -- go onto the row with the balances, those of earlier periods into qualifying_totals.
    CREATE TEMP TABLE import_qualifying ON COMMIT DROP AS
    SELECT w.member_id, w.period_start, sum(w.points) AS points, sum(w.amount_minor - w.points_paid_minor) AS spend,
           max(w.occurred_at) AS last_at, max(w.entry_id) AS entry_id,
           w.period_start = max(w.period_start) OVER (PARTITION BY w.member_id) AS latest
    FROM pg_temp.import_work AS w WHERE w.status IS NULL
    GROUP BY w.member_id, w.period_start;
    CREATE TEMP TABLE import_changes ON COMMIT DROP AS
    SELECT i.member_id, t.available, t.pending, t.first_at,
           i.q_period AS row_period, i.q_points AS row_points, i.q_spend AS row_spend,
           greatest(i.q_period, iq.period_start) AS q_period,
           CASE WHEN i.q_period > iq.period_start THEN i.q_points
                WHEN i.q_period = iq.period_start THEN i.q_points + iq.points ELSE iq.points END::bigint AS q_points,
           CASE WHEN i.q_period > iq.period_start THEN i.q_spend
                WHEN i.q_period = iq.period_start THEN i.q_spend + iq.spend ELSE iq.spend END::bigint AS q_spend,
           i.tier,
           NULL::text AS to_tier, NULL::date AS reached_period, NULL::text AS before_tier
    FROM (SELECT w.member_id,
                 coalesce(sum(w.points) FILTER (WHERE w.matures_at IS NULL), 0)::bigint AS available,
                 coalesce(sum(w.points) FILTER (WHERE w.matures_at IS NOT NULL), 0)::bigint AS pending,
                 min(w.occurred_at) AS first_at
          FROM pg_temp.import_work AS w WHERE w.status IS NULL GROUP BY w.member_id) AS t
    JOIN pg_temp.import_qualifying AS iq ON iq.member_id = t.member_id AND iq.latest
    JOIN pg_temp.import_members AS i ON i.member_id = t.member_id
    ORDER BY i.member_id;

    INSERT INTO points.qualifying_totals (program_id, member_id, period_start, points, spend_minor)
    SELECT p_program, c.member_id, c.row_period, c.row_points, c.row_spend
    FROM pg_temp.import_changes AS c WHERE c.row_period < c.q_period;
    INSERT INTO points.qualifying_totals AS q (program_id, member_id, period_start, points, spend_minor)
    SELECT p_program, iq.member_id, iq.period_start, iq.points, iq.spend
    FROM pg_temp.import_qualifying AS iq
    JOIN pg_temp.import_changes AS c ON c.member_id = iq.member_id
    WHERE iq.period_start < c.q_period
    ON CONFLICT ON CONSTRAINT qualifying_totals_pkey DO UPDATE
        SET points = q.points + EXCLUDED.points, spend_minor = q.spend_minor + EXCLUDED.spend_minor;

    -- The upgrades the passes found, each recorded at its line; the member's row gets the last,
    -- and the tier held before the first upgrade of that one's period (as apply_upgrade keeps it).
    UPDATE pg_temp.import_changes AS c SET to_tier = u.to_tier, reached_period = u.period_start,
        before_tier = CASE WHEN NOT u.earlier AND i.tier_reached_period = u.period_start THEN i.tier_before_upgrade
                           ELSE u.first_from END
    FROM (SELECT DISTINCT ON (x.member_id) x.member_id, x.to_tier, x.period_start,
                 first_value(x.from_tier) OVER same_period AS first_from,
                 first_value(x.line) OVER same_period > min(x.line) OVER (PARTITION BY x.member_id) AS earlier
          FROM pg_temp.import_crossings AS x
          WINDOW same_period AS (PARTITION BY x.member_id, x.period_start ORDER BY x.line)
          ORDER BY x.member_id, x.line DESC) AS u
    JOIN pg_temp.import_members AS i ON i.member_id = u.member_id
    WHERE c.member_id = u.member_id;
    INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause, period_start,
                                     qualifying_points, qualifying_spend_minor, entry_id)
    SELECT p_program, x.member_id, x.occurred_at, x.from_tier, x.to_tier, 'upgrade', x.period_start, x.q_points, x.q_spend, x.entry_id
    FROM pg_temp.import_crossings AS x ORDER BY x.member_id, x.line;

    PERFORM points.import_apply_member_changes(p_program);

    -- A member's first purchase pays the referrer (after the balances, so a referrer who also
    -- bought in this batch has their own purchases counted first).
    FOR v_referral IN
        SELECT DISTINCT ON (w.member_id) w.member_id, i.referrer, w.order_id, w.occurred_at
        FROM pg_temp.import_work AS w JOIN pg_temp.import_members AS i ON i.member_id = w.member_id
        WHERE v_referrals AND w.status IS NULL AND i.first_purchase_at IS NULL AND i.referrer IS NOT NULL
        ORDER BY w.member_id, w.line
    LOOP
        PERFORM points.pay_referral(
            p_program, v_referral.member_id, v_referral.referrer, v_referral.order_id,
            (points.settings_at(p_program, v_referral.occurred_at)).referral_bonus, v_referral.occurred_at, p_backdated);
    END LOOP;

    RETURN QUERY
    SELECT w.line, coalesce(w.status, 'accepted'), CASE WHEN w.status IS NULL THEN w.entry_id ELSE w.ledger_entry_id END,
           CASE WHEN w.status IS NULL THEN w.points END, w.reason
    FROM pg_temp.import_work AS w ORDER BY w.line;
    DROP TABLE pg_temp.import_members, pg_temp.import_work, pg_temp.import_tiers, pg_temp.import_crossings,
               pg_temp.import_qualifying, pg_temp.import_changes;
END
$$;

GRANT EXECUTE ON FUNCTION points.import_purchase_batch(integer, bigint, boolean, boolean) TO {{writer}};
