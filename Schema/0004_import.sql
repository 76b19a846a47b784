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
    order_id text NOT NULL,
    member_id text NOT NULL,
    amount_minor bigint NOT NULL,
    points_paid_minor bigint NOT NULL,
    occurred_at timestamptz NOT NULL,
    referrer text
);
CREATE INDEX import_staging_batch ON points.import_staging (batch_id);
GRANT INSERT ON points.import_staging TO {{writer}};
GRANT USAGE ON SEQUENCE points.import_batch_ids TO {{writer}};

-- Posts the staged batch p_batch: each line is 'accepted' (posted), 'duplicate' (its order was
-- posted before with the same content: nothing new), or 'rejected' with the reason; a rejected
-- line posts nothing and does not stop the others. Unknown members are created first when
-- p_create_members, with the line's referrer. p_backdated records a permission to load history
-- older than the back-dating window. Members are locked in id order.
CREATE FUNCTION points.import_purchase_batch(p_program integer, p_batch bigint, p_create_members boolean, p_backdated boolean)
RETURNS TABLE (line bigint, status text, entry_id bigint, points bigint, reason text)
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    v_exponent smallint;
    v_time_zone text;
    v_backdate_days integer;
    v_entry_tier text;
    v_referral record;
BEGIN
    SELECT c.exponent, p.time_zone INTO v_exponent, v_time_zone
    FROM points.programs AS p JOIN points.currencies AS c USING (currency) WHERE p.program_id = p_program;
    v_backdate_days := (points.settings_at(p_program, now())).backdate_days;
    SELECT t.tier INTO v_entry_tier FROM points.tiers AS t WHERE t.program_id = p_program ORDER BY t.rank LIMIT 1;

    DROP TABLE IF EXISTS pg_temp.import_work;
    CREATE TEMP TABLE import_work ON COMMIT DROP AS
    SELECT s.line, s.order_id, s.member_id, s.amount_minor, s.points_paid_minor, s.occurred_at, s.referrer,
           jsonb_build_object('member', s.member_id, 'order', s.order_id, 'amount_minor', s.amount_minor,
                              'points_paid_minor', s.points_paid_minor, 'occurred_at', s.occurred_at AT TIME ZONE 'UTC') AS request,
           NULL::text AS status, NULL::text AS reason, NULL::bigint AS entry_id, NULL::bigint AS points,
           NULL::timestamptz AS matures_at, 0::bigint AS lot_amount, false AS pays_referral
    FROM points.import_staging AS s WHERE s.batch_id = p_batch;
    DELETE FROM points.import_staging AS s WHERE s.batch_id = p_batch;

    -- Lines that cannot be posted whatever the ledger holds.
    UPDATE pg_temp.import_work AS w SET status = 'rejected', reason = r.reason
    FROM (SELECT w2.line, CASE
            WHEN w2.amount_minor <= 0 THEN 'amount must be more than zero'
            WHEN w2.points_paid_minor < 0 OR w2.points_paid_minor > w2.amount_minor THEN 'points_paid must be between 0 and the amount'
            WHEN w2.occurred_at > now() + interval '5 minutes' THEN 'occurred_at is more than 5 minutes in the future'
            WHEN NOT p_backdated AND w2.occurred_at < now() - make_interval(days => v_backdate_days) THEN
                format('occurred_at is older than the back-dating window of %s days; import history with --allow-backdated', v_backdate_days)
          END AS reason
          FROM pg_temp.import_work AS w2) AS r
    WHERE w.line = r.line AND r.reason IS NOT NULL;

    -- An order repeated in the batch: the first line counts; the others repeat it or conflict.
    UPDATE pg_temp.import_work AS w SET
        status = CASE WHEN w.request = f.request THEN 'duplicate' ELSE 'rejected' END,
        reason = CASE WHEN w.request = f.request THEN format('order %s repeats line %s', w.order_id, f.line)
                      ELSE format('order %s is on line %s with different content', w.order_id, f.line) END
    FROM (SELECT DISTINCT ON (w2.order_id) w2.order_id, w2.line, w2.request
          FROM pg_temp.import_work AS w2 WHERE w2.status IS NULL ORDER BY w2.order_id, w2.line) AS f
    WHERE w.status IS NULL AND w.order_id = f.order_id AND w.line <> f.line;

    -- Orders the ledger has already: the same content is a duplicate, other content a conflict.
    UPDATE pg_temp.import_work AS w SET
        status = CASE WHEN e.request - 'occurred_at' = w.request - 'occurred_at'
                           AND (NOT e.request ? 'occurred_at' OR e.request -> 'occurred_at' = w.request -> 'occurred_at')
                      THEN 'duplicate' ELSE 'rejected' END,
        reason = format('order %s was posted as entry %s%s', w.order_id, e.entry_id,
                        CASE WHEN e.request - 'occurred_at' = w.request - 'occurred_at'
                                  AND (NOT e.request ? 'occurred_at' OR e.request -> 'occurred_at' = w.request -> 'occurred_at')
                             THEN '' ELSE ' with different content (idempotency conflict)' END),
        entry_id = e.entry_id
    FROM points.journal_entries AS e
    WHERE w.status IS NULL AND e.program_id = p_program AND e.key_scope = 'purchase' AND e.idempotency_key = w.order_id;

    -- Members: create the unknown ones (with their referrer), or refuse their lines.
    IF p_create_members THEN
        UPDATE pg_temp.import_work AS w SET status = 'rejected',
            reason = format('referrer %s does not exist', w.referrer)
        WHERE w.status IS NULL AND w.referrer IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = w.member_id)
          AND NOT EXISTS (SELECT 1 FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = w.referrer)
          AND NOT EXISTS (SELECT 1 FROM pg_temp.import_work AS w2 WHERE w2.member_id = w.referrer AND w2.status IS NULL);
        INSERT INTO points.members (program_id, member_id, tier, referrer)
        SELECT DISTINCT ON (w.member_id) p_program, w.member_id, v_entry_tier, nullif(w.referrer, w.member_id)
        FROM pg_temp.import_work AS w WHERE w.status IS NULL
        ORDER BY w.member_id, w.line
        ON CONFLICT ON CONSTRAINT members_pkey DO NOTHING;
    ELSE
        UPDATE pg_temp.import_work AS w SET status = 'rejected',
            reason = format('member %s does not exist (import without --no-create-members to create members)', w.member_id)
        WHERE w.status IS NULL
          AND NOT EXISTS (SELECT 1 FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = w.member_id);
    END IF;

    -- Lock every member the batch credits, and the referrers a first purchase pays, in id order.
    PERFORM 1 FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id IN (
        SELECT w.member_id FROM pg_temp.import_work AS w WHERE w.status IS NULL
        UNION
        SELECT m2.referrer FROM points.members AS m2 JOIN pg_temp.import_work AS w
            ON m2.program_id = p_program AND m2.member_id = w.member_id
        WHERE w.status IS NULL AND m2.first_purchase_at IS NULL AND m2.referrer IS NOT NULL)
    ORDER BY m.member_id FOR UPDATE;

    -- Points by the settings in force at each line's own time.
    UPDATE pg_temp.import_work AS w SET
        points = x.points,
        matures_at = CASE WHEN x.points > 0 AND x.return_window_days > 0
            THEN ((w.occurred_at AT TIME ZONE v_time_zone) + make_interval(days => x.return_window_days)) AT TIME ZONE v_time_zone END,
        entry_id = nextval('points.journal_entry_ids')
    FROM (SELECT w2.line, s.return_window_days,
                 points.round_points((w2.amount_minor - w2.points_paid_minor)::numeric / (10::numeric ^ v_exponent) * s.earn_rate,
                                     s.rounding) AS points
          FROM pg_temp.import_work AS w2 CROSS JOIN LATERAL points.settings_at(p_program, w2.occurred_at) AS s
          WHERE w2.status IS NULL) AS x
    WHERE w.line = x.line;

    -- The entries. Another importer may have taken an order since the check above: its line
    -- is not inserted here and is answered from the journal below.
    WITH inserted AS (
        INSERT INTO points.journal_entries AS e
            (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
        SELECT p_program, w.member_id, w.entry_id, 'purchase', 'purchase', w.order_id, w.request, w.occurred_at, p_backdated
        FROM pg_temp.import_work AS w WHERE w.status IS NULL
        ON CONFLICT ON CONSTRAINT idempotency_key_unique DO NOTHING
        RETURNING e.entry_id
    )
    UPDATE pg_temp.import_work AS w SET status = 'accepted' FROM inserted AS i WHERE w.entry_id = i.entry_id;
    UPDATE pg_temp.import_work AS w SET
        status = CASE WHEN e.request = w.request THEN 'duplicate' ELSE 'rejected' END,
        reason = format('order %s was posted as entry %s%s', w.order_id, e.entry_id,
                        CASE WHEN e.request = w.request THEN '' ELSE ' with different content (idempotency conflict)' END),
        entry_id = e.entry_id, points = NULL, matures_at = NULL
    FROM points.journal_entries AS e
    WHERE w.status IS NULL AND e.program_id = p_program AND e.key_scope = 'purchase' AND e.idempotency_key = w.order_id;

    -- Points available at once repay a member's debt before they form lots, line by line.
    UPDATE pg_temp.import_work AS w SET lot_amount = x.points - least(x.points, greatest(0, -x.available_before))
    FROM (SELECT w2.line, w2.points,
                 m.available + coalesce(sum(w2.points) OVER (
                     PARTITION BY w2.member_id ORDER BY w2.line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS available_before
          FROM pg_temp.import_work AS w2
          JOIN points.members AS m ON m.program_id = p_program AND m.member_id = w2.member_id
          WHERE w2.status = 'accepted' AND w2.matures_at IS NULL AND w2.points > 0) AS x
    WHERE w.line = x.line;

    INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at)
    SELECT p_program, w.member_id, w.entry_id, posting.account, posting.amount, w.occurred_at
    FROM pg_temp.import_work AS w
    CROSS JOIN LATERAL (VALUES
        (CASE WHEN w.matures_at IS NULL THEN 'available' ELSE 'pending' END::points.account, w.points),
        ('issued', -w.points)) AS posting(account, amount)
    WHERE w.status = 'accepted' AND w.points > 0;

    INSERT INTO points.purchases
        (program_id, member_id, order_id, entry_id, occurred_at, amount_minor, points_paid_minor, points, pending_points, matures_at)
    SELECT p_program, w.member_id, w.order_id, w.entry_id, w.occurred_at, w.amount_minor, w.points_paid_minor, w.points,
           CASE WHEN w.matures_at IS NULL THEN 0 ELSE w.points END, w.matures_at
    FROM pg_temp.import_work AS w WHERE w.status = 'accepted';

    INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, expires_at, amount, remaining)
    SELECT p_program, w.member_id, w.entry_id, w.occurred_at, points.expiry_for(p_program, w.occurred_at), w.lot_amount, w.lot_amount
    FROM pg_temp.import_work AS w WHERE w.status = 'accepted' AND w.lot_amount > 0;

    -- A member's first purchase pays the referrer: mark the first accepted line of each member
    -- who had none before, then update each member's balances once.
    UPDATE pg_temp.import_work AS w SET pays_referral = true
    FROM (SELECT DISTINCT ON (w2.member_id) w2.line FROM pg_temp.import_work AS w2
          JOIN points.members AS m ON m.program_id = p_program AND m.member_id = w2.member_id
          WHERE w2.status = 'accepted' AND m.first_purchase_at IS NULL AND m.referrer IS NOT NULL
          ORDER BY w2.member_id, w2.line) AS f
    WHERE w.line = f.line;

    UPDATE points.members AS m SET
        available = m.available + t.available, pending = m.pending + t.pending, issued = m.issued - t.available - t.pending,
        first_purchase_at = coalesce(m.first_purchase_at, t.first_at)
    FROM (SELECT w.member_id,
                 coalesce(sum(w.points) FILTER (WHERE w.matures_at IS NULL), 0) AS available,
                 coalesce(sum(w.points) FILTER (WHERE w.matures_at IS NOT NULL), 0) AS pending,
                 min(w.occurred_at) AS first_at
          FROM pg_temp.import_work AS w WHERE w.status = 'accepted' GROUP BY w.member_id) AS t
    WHERE m.program_id = p_program AND m.member_id = t.member_id;

    FOR v_referral IN
        SELECT w.member_id, m.referrer, w.order_id, w.occurred_at, (points.settings_at(p_program, w.occurred_at)).referral_bonus AS bonus
        FROM pg_temp.import_work AS w
        JOIN points.members AS m ON m.program_id = p_program AND m.member_id = w.member_id
        WHERE w.pays_referral ORDER BY w.line
    LOOP
        PERFORM points.pay_referral(
            p_program, v_referral.member_id, v_referral.referrer, v_referral.order_id, v_referral.bonus, v_referral.occurred_at, p_backdated);
    END LOOP;

    RETURN QUERY SELECT w.line, w.status, w.entry_id, w.points, w.reason FROM pg_temp.import_work AS w ORDER BY w.line;
END
$$;

REVOKE EXECUTE ON FUNCTION points.import_purchase_batch(integer, bigint, boolean, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION points.import_purchase_batch(integer, bigint, boolean, boolean) TO {{writer}};
