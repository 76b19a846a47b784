-- Bulk import of purchases (a checkout system's backlog, a day's file, a program's history):
-- the client streams a batch into a staging table with COPY, then one call posts the batch
-- set-based, many entries per statement, and answers line by line.
SET LOCAL ROLE {{owner}};

CREATE SEQUENCE points.import_batch_ids AS bigint;

-- In-flight batches only: each is deleted by the call that posts it. Unlogged: a batch lost to
-- a crash is simply sent again (its lines are idempotent by order id).
CREATE UNLOGGED TABLE points.import_staging (
    batch_id bigint NOT NULL,
    line bigint NOT NULL,
    order_id text COLLATE "C" NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    amount_minor bigint NOT NULL,
    points_paid_minor bigint NOT NULL,
    occurred_at timestamptz NOT NULL,
    referrer text COLLATE "C"
);
CREATE INDEX import_staging_batch ON points.import_staging (batch_id);
GRANT INSERT ON points.import_staging TO {{writer}};
GRANT USAGE ON SEQUENCE points.import_batch_ids TO {{writer}};

-- Posts the staged batch p_batch: each line is 'accepted' (posted), 'duplicate' (its order was
-- posted before with the same content: nothing new), or 'rejected' with the reason; a rejected
-- line posts nothing and does not stop the others. Unknown members are created first when
-- p_create_members, with the line's referrer. p_backdated records a permission to load history
-- older than the back-dating window. Members are locked in id order.
-- Look-ups into the ledger's tables are index probes per line (LATERAL … LIMIT 1 keeps the
-- planner from turning them into scans): a batch costs the same whether the journal holds a
-- thousand entries or a hundred million.
CREATE FUNCTION points.import_purchase_batch(p_program integer, p_batch bigint, p_create_members boolean, p_backdated boolean)
RETURNS TABLE (line bigint, status text, entry_id bigint, points bigint, reason text)
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    v_exponent smallint;
    v_time_zone text;
    v_backdate_days integer;
    v_entry_tier text;
    v_expected bigint;
    v_inserted bigint;
    v_referral record;
    v_members text[];
    v_referrals boolean;
    v_multiplied boolean;
    v_closed_until timestamptz;
    v_ladder record;
BEGIN
    SELECT c.exponent, p.time_zone, p.tiers_closed_until INTO v_exponent, v_time_zone, v_closed_until
    FROM points.programs AS p JOIN points.currencies AS c USING (currency) WHERE p.program_id = p_program;
    SELECT p.ladder_since, p.ladder_tiers, p.ladder_points, p.ladder_spend INTO v_ladder
    FROM points.programs AS p WHERE p.program_id = p_program;
    v_backdate_days := (points.settings_at(p_program, now())).backdate_days;
    SELECT t.tier INTO v_entry_tier FROM points.tiers AS t WHERE t.program_id = p_program ORDER BY t.rank LIMIT 1;
    -- Whether any first purchase can pay a referrer: when no settings ever had a referral bonus,
    -- referrers need neither locks nor lookups.
    v_referrals := EXISTS (SELECT 1 FROM points.program_settings AS ps WHERE ps.program_id = p_program AND ps.referral_bonus > 0);

    -- The batch, with everything that follows from each line alone, computed in one pass: the
    -- reason it cannot be posted, if any (status stays NULL while a line may still be posted),
    -- and its points, maturity and lot expiry by the settings in force at its own time (one join
    -- against the program's few settings versions, each valid until the next).
    DROP TABLE IF EXISTS pg_temp.import_work;
    CREATE TEMP TABLE import_work ON COMMIT DROP AS
    SELECT x.*,
           -- Amount problems reject a line at once; time problems only once the ledger is known
           -- not to hold its order (a re-run of an old file is answered with duplicates).
           CASE WHEN x.reason IS NOT NULL AND NOT x.time_problem THEN 'rejected' END AS status,
           NULL::bigint AS ledger_entry_id,
           CASE WHEN x.points > 0 AND x.return_window_days > 0
                THEN ((x.occurred_at AT TIME ZONE v_time_zone) + make_interval(days => x.return_window_days)) AT TIME ZONE v_time_zone
           END AS matures_at,
           points.lot_expiry(x.expiry_kind, x.expiry_count, x.occurred_at, v_time_zone) AS expires_at,
           nextval('points.journal_entry_ids') AS entry_id,
           points.tier_period_start(x.tier_period, x.occurred_at, v_time_zone) AS period_start
    FROM (
        SELECT st.line, st.order_id, st.member_id, st.amount_minor, st.points_paid_minor, st.occurred_at, st.referrer,
               jsonb_build_object('member', st.member_id, 'order', st.order_id, 'amount_minor', st.amount_minor,
                                  'points_paid_minor', st.points_paid_minor, 'occurred_at', st.occurred_at AT TIME ZONE 'UTC') AS request,
               points.round_points((st.amount_minor - st.points_paid_minor)::numeric / (10::numeric ^ v_exponent) * s.earn_rate,
                                   s.rounding) AS points,
               s.return_window_days, s.expiry_kind, s.expiry_count, s.tier_period, s.rounding, s.earn_rate,
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
        WHERE st.batch_id = p_batch
    ) AS x;
    DELETE FROM points.import_staging AS st WHERE st.batch_id = p_batch;
    ANALYZE pg_temp.import_work;

    -- Orders the ledger has already: the same content is a duplicate, other content a conflict.
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
          WHERE w2.status IS NULL) AS f
    WHERE w.line = f.line;
    UPDATE pg_temp.import_work AS w SET status = 'rejected' WHERE w.status IS NULL AND w.time_problem;

    -- Members: refuse lines of unknown members (unless they are to be created) and of unknown
    -- referrers.
    IF p_create_members THEN
        UPDATE pg_temp.import_work AS w SET status = 'rejected',
            reason = format('referrer %s does not exist', w.referrer)
        WHERE w.status IS NULL AND w.referrer IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = w.member_id)
          AND NOT EXISTS (SELECT 1 FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = w.referrer)
          AND NOT EXISTS (SELECT 1 FROM pg_temp.import_work AS w2 WHERE w2.member_id = w.referrer AND w2.status IS NULL);
    ELSE
        UPDATE pg_temp.import_work AS w SET status = 'rejected',
            reason = format('member %s does not exist (import without --no-create-members to create members)', w.member_id)
        WHERE w.status IS NULL
          AND NOT EXISTS (SELECT 1 FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = w.member_id);
    END IF;

    -- An order repeated in the batch (among the lines still to post): the first line counts; the
    -- others repeat it or conflict.
    UPDATE pg_temp.import_work AS w SET
        status = CASE WHEN w.request = f.request THEN 'duplicate' ELSE 'rejected' END,
        reason = CASE WHEN w.request = f.request THEN format('order %s repeats line %s', w.order_id, f.line)
                      ELSE format('order %s is on line %s with different content', w.order_id, f.line) END
    FROM (SELECT DISTINCT ON (w2.order_id) w2.order_id, w2.line, w2.request
          FROM pg_temp.import_work AS w2 WHERE w2.status IS NULL ORDER BY w2.order_id, w2.line) AS f
    WHERE w.status IS NULL AND w.order_id = f.order_id AND w.line <> f.line;

    -- Lock every member the batch credits, the referrers a first purchase pays and the referrers
    -- of members to be created, in id order, before anything is written: creating a member
    -- share-locks its referrer, which must not come before the ordered locks.
    SELECT array_agg(DISTINCT x.member_id) INTO v_members FROM (
        SELECT w.member_id FROM pg_temp.import_work AS w WHERE w.status IS NULL
        UNION ALL
        SELECT w.referrer FROM pg_temp.import_work AS w WHERE w.status IS NULL AND w.referrer IS NOT NULL
        UNION ALL
        SELECT r.referrer FROM pg_temp.import_work AS w
        CROSS JOIN LATERAL (
            SELECT m.referrer FROM points.members AS m
            WHERE m.program_id = p_program AND m.member_id = w.member_id AND m.first_purchase_at IS NULL AND m.referrer IS NOT NULL
            LIMIT 1) AS r
        WHERE v_referrals AND w.status IS NULL) AS x;
    -- Members to create are missing from the locked ones; usually there are none.
    IF points.lock_members(p_program, v_members) < cardinality(v_members) AND p_create_members THEN
        INSERT INTO points.members (program_id, member_id, tier, referrer)
        SELECT DISTINCT ON (w.member_id) p_program, w.member_id, v_entry_tier, nullif(w.referrer, w.member_id)
        FROM pg_temp.import_work AS w WHERE w.status IS NULL
        ORDER BY w.member_id, w.line
        ON CONFLICT ON CONSTRAINT members_pkey DO NOTHING;
    END IF;

    -- The entries. Another importer may have taken an order since the check above: such a line
    -- is not inserted, and is answered from the journal (the rare, slow path).
    SELECT count(*) INTO v_expected FROM pg_temp.import_work AS w WHERE w.status IS NULL;
    INSERT INTO points.journal_entries AS e
        (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
    SELECT p_program, w.member_id, w.entry_id, 'purchase', 'purchase', w.order_id, w.request, w.occurred_at, p_backdated
    FROM pg_temp.import_work AS w WHERE w.status IS NULL
    ORDER BY w.order_id  -- two importers meeting on the same orders wait for each other in one order
    ON CONFLICT ON CONSTRAINT idempotency_key_unique DO NOTHING;
    GET DIAGNOSTICS v_inserted = ROW_COUNT;
    IF v_inserted <> v_expected THEN
        UPDATE pg_temp.import_work AS w SET
            status = CASE WHEN points.same_request(e.request, w.request) THEN 'duplicate' ELSE 'rejected' END,
            reason = format('order %s was posted as entry %s%s', w.order_id, e.entry_id,
                            CASE WHEN points.same_request(e.request, w.request) THEN ''
                                 ELSE ' with different content (idempotency conflict)' END),
            ledger_entry_id = e.entry_id
        FROM points.journal_entries AS e
        WHERE w.status IS NULL AND e.program_id = p_program AND e.key_scope = 'purchase' AND e.idempotency_key = w.order_id
          AND e.entry_id <> w.entry_id;  -- the rare path: a scan is acceptable here
    END IF;
    -- From here on, a line whose status is still NULL has been posted.

    -- Tier multipliers (0006_tiers.sql): when any tier of the program has one other than 1, each
    -- line's points are multiplied by that of the effective tier its member holds at the start of the
    -- batch, as in force at the line's time. Upgrades that the batch earns apply at its end.
    v_multiplied := EXISTS (SELECT 1 FROM points.tier_settings AS ts WHERE ts.program_id = p_program AND ts.multiplier <> 1);
    IF v_multiplied THEN
        UPDATE pg_temp.import_work AS w SET
            points = x.points,
            -- Points that the multiplier lifts above 0 wait out the return window too.
            matures_at = CASE WHEN x.points > 0 AND w.return_window_days > 0
                              THEN ((w.occurred_at AT TIME ZONE v_time_zone) + make_interval(days => w.return_window_days))
                                   AT TIME ZONE v_time_zone END
        FROM (SELECT w2.line, points.round_points(
                  (w2.amount_minor - w2.points_paid_minor)::numeric / (10::numeric ^ v_exponent) * w2.earn_rate * tm.multiplier,
                  w2.rounding) AS points
              FROM pg_temp.import_work AS w2
              JOIN points.members AS m ON m.program_id = p_program AND m.member_id = w2.member_id
              CROSS JOIN LATERAL (
                  SELECT ts.multiplier FROM points.tier_settings AS ts
                  WHERE ts.program_id = m.program_id AND ts.effective_at <= w2.occurred_at
                    AND ts.tier = points.tier_at(p_program, m.member_id, m.tier, m.override_until, m.override_previous,
                                                 m.granted_until, w2.occurred_at)
                  ORDER BY ts.effective_at DESC LIMIT 1) AS tm
              WHERE w2.status IS NULL AND tm.multiplier <> 1) AS x
        WHERE w.line = x.line;
    END IF;

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
                 points.lot_amount(w.points, m.available + coalesce(sum(w.points) OVER (
                     PARTITION BY w.member_id ORDER BY w.line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint) AS lot_amount
          FROM pg_temp.import_work AS w
          CROSS JOIN LATERAL (
              SELECT m.available FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = w.member_id LIMIT 1) AS m
          WHERE w.status IS NULL AND w.matures_at IS NULL AND w.points > 0) AS x
    WHERE x.lot_amount > 0;

    -- A member's first purchase pays the referrer (after the balances, so a referrer who also
    -- bought in this batch has their own purchases counted first).
    CREATE TEMP TABLE import_referrals ON COMMIT DROP AS
    SELECT DISTINCT ON (w.member_id) w.member_id, m.referrer, w.order_id, w.occurred_at
    FROM pg_temp.import_work AS w
    CROSS JOIN LATERAL (
        SELECT m.referrer FROM points.members AS m
        WHERE m.program_id = p_program AND m.member_id = w.member_id AND m.first_purchase_at IS NULL AND m.referrer IS NOT NULL
        LIMIT 1) AS m
    WHERE v_referrals AND w.status IS NULL
    ORDER BY w.member_id, w.line;

    -- Qualifying totals (0006_tiers.sql) per member and period. A member's latest period in the
    -- batch, when later than the one on the member's row, takes the row's place (the row's
    -- totals move to qualifying_totals); the sums of that period go onto the row with the
    -- balances, those of earlier periods into qualifying_totals.
    CREATE TEMP TABLE import_qualifying ON COMMIT DROP AS
    SELECT w.member_id, w.period_start, sum(w.points) AS points, sum(w.amount_minor - w.points_paid_minor) AS spend,
           max(w.occurred_at) AS last_at, max(w.entry_id) AS entry_id,
           w.period_start = max(w.period_start) OVER (PARTITION BY w.member_id) AS latest
    FROM pg_temp.import_work AS w WHERE w.status IS NULL
    GROUP BY w.member_id, w.period_start;
    INSERT INTO points.qualifying_totals (program_id, member_id, period_start, points, spend_minor)
    SELECT p_program, m.member_id, m.q_period, m.q_points, m.q_spend
    FROM pg_temp.import_qualifying AS iq
    JOIN points.members AS m ON m.program_id = p_program AND m.member_id = iq.member_id
    WHERE iq.latest AND m.q_period < iq.period_start;

    UPDATE points.members AS m SET
        available = m.available + t.available, pending = m.pending + t.pending, issued = m.issued - t.available - t.pending,
        first_purchase_at = coalesce(m.first_purchase_at, t.first_at),
        q_period = greatest(m.q_period, iq.period_start),
        q_points = CASE WHEN m.q_period > iq.period_start THEN m.q_points
                        WHEN m.q_period = iq.period_start THEN m.q_points + iq.points ELSE iq.points END,
        q_spend = CASE WHEN m.q_period > iq.period_start THEN m.q_spend
                       WHEN m.q_period = iq.period_start THEN m.q_spend + iq.spend ELSE iq.spend END
    FROM (SELECT w.member_id,
                 coalesce(sum(w.points) FILTER (WHERE w.matures_at IS NULL), 0) AS available,
                 coalesce(sum(w.points) FILTER (WHERE w.matures_at IS NOT NULL), 0) AS pending,
                 min(w.occurred_at) AS first_at
          FROM pg_temp.import_work AS w WHERE w.status IS NULL GROUP BY w.member_id) AS t
    JOIN pg_temp.import_qualifying AS iq ON iq.member_id = t.member_id AND iq.latest
    WHERE m.program_id = p_program AND m.member_id = t.member_id AND m.member_id = ANY (v_members);

    INSERT INTO points.qualifying_totals AS q (program_id, member_id, period_start, points, spend_minor)
    SELECT p_program, iq.member_id, iq.period_start, iq.points, iq.spend
    FROM pg_temp.import_qualifying AS iq
    JOIN points.members AS m ON m.program_id = p_program AND m.member_id = iq.member_id
    WHERE iq.period_start < m.q_period
    ON CONFLICT ON CONSTRAINT qualifying_totals_pkey DO UPDATE
        SET points = q.points + EXCLUDED.points, spend_minor = q.spend_minor + EXCLUDED.spend_minor;

    -- Each member whose totals in an open period reach a higher tier's entry threshold moves up
    -- (by the settings in force at their last purchase of that period in the batch).
    WITH reached AS (
        SELECT DISTINCT ON (t.member_id) t.member_id, t.period_start, t.last_at, t.entry_id, m.tier AS from_tier,
               up.tier AS to_tier, totals.points, totals.spend_minor
        FROM pg_temp.import_qualifying AS t
        JOIN points.members AS m ON m.program_id = p_program AND m.member_id = t.member_id
        LEFT JOIN points.qualifying_totals AS q
            ON q.program_id = p_program AND q.member_id = t.member_id AND q.period_start = t.period_start
        CROSS JOIN LATERAL (
            SELECT CASE WHEN m.q_period = t.period_start THEN m.q_points ELSE q.points END AS points,
                   CASE WHEN m.q_period = t.period_start THEN m.q_spend ELSE q.spend_minor END AS spend_minor) AS totals
        -- The tiers' ladder on the program's row, without a query per line (see tier_reached_above).
        CROSS JOIN LATERAL (
            SELECT points.tier_reached_above(p_program, m.tier, t.last_at, totals.points, totals.spend_minor,
                v_ladder.ladder_since, v_ladder.ladder_tiers, v_ladder.ladder_points, v_ladder.ladder_spend) AS tier) AS up
        JOIN points.tiers AS reached_tier ON reached_tier.program_id = p_program AND reached_tier.tier = up.tier
        WHERE t.last_at >= coalesce(v_closed_until, '-infinity')
          -- Members who reach no higher threshold (most) skip the call above.
          AND points.may_reach_above(m.tier, t.last_at, totals.points, totals.spend_minor,
                  v_ladder.ladder_since, v_ladder.ladder_tiers, v_ladder.ladder_points, v_ladder.ladder_spend)
        ORDER BY t.member_id, reached_tier.rank DESC, t.period_start DESC
    ), moved AS (
        UPDATE points.members AS m SET
            tier = r.to_tier,
            tier_before_upgrade = CASE WHEN m.tier_reached_period = r.period_start THEN m.tier_before_upgrade ELSE m.tier END,
            tier_reached_period = r.period_start,
            override_until = NULL,
            override_previous = NULL
        FROM reached AS r
        WHERE m.program_id = p_program AND m.member_id = r.member_id
    )
    INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause, period_start,
                                     qualifying_points, qualifying_spend_minor, entry_id)
    SELECT p_program, r.member_id, r.last_at, r.from_tier, r.to_tier, 'upgrade', r.period_start, r.points, r.spend_minor, r.entry_id
    FROM reached AS r;

    FOR v_referral IN SELECT r.* FROM pg_temp.import_referrals AS r ORDER BY r.member_id LOOP
        PERFORM points.pay_referral(
            p_program, v_referral.member_id, v_referral.referrer, v_referral.order_id,
            (points.settings_at(p_program, v_referral.occurred_at)).referral_bonus, v_referral.occurred_at, p_backdated);
    END LOOP;
    DROP TABLE pg_temp.import_referrals;
    DROP TABLE pg_temp.import_qualifying;

    RETURN QUERY
    SELECT w.line, coalesce(w.status, 'accepted'), CASE WHEN w.status IS NULL THEN w.entry_id ELSE w.ledger_entry_id END,
           CASE WHEN w.status IS NULL THEN w.points END, w.reason
    FROM pg_temp.import_work AS w ORDER BY w.line;
END
$$;

REVOKE EXECUTE ON FUNCTION points.import_purchase_batch(integer, bigint, boolean, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION points.import_purchase_batch(integer, bigint, boolean, boolean) TO {{writer}};
