-- Bulk import of grants and deductions, and of spends of points (HistoryImport.swift): set-based,
-- with the answers of points.adjust and points.redeem line for line.

-- Stages the batch p_batch into pg_temp.history_work for points.import_settle_history, with the
-- request each line's single call would record (p_request, built from the staged row `st`), its
-- signed change of available points (p_delta), and whether it needs its single function
-- (p_slow); deletes the staged rows. The key names an entry of scope p_scope; a time out of
-- bounds is 'in_future', 'too_old' or 'before_settings' as for purchases.
CREATE FUNCTION points.import_stage_history(p_program integer, p_batch bigint, p_scope points.key_scope, p_backdated boolean)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_me xid8 := pg_current_xact_id();
    v_window integer := (points.settings_at(p_program, now())).backdate_days;
    v_first timestamptz := points.first_write_at(p_program);
BEGIN
    DROP TABLE IF EXISTS pg_temp.history_work;
    CREATE TEMP TABLE history_work ON COMMIT DROP AS
    SELECT st.*,
           CASE p_scope
               WHEN 'adjustment' THEN jsonb_strip_nulls(jsonb_build_object(
                   'member', st.member_id, 'points', st.points, 'reason', st.reason, 'actor', st.actor,
                   'occurred_at', st.occurred_at AT TIME ZONE 'UTC', 'expires_at', st.expires_at AT TIME ZONE 'UTC'))
               ELSE jsonb_strip_nulls(jsonb_build_object(
                   'member', st.member_id, 'reward', st.reward, 'quantity', st.quantity, 'points', st.points, 'reason', st.reason,
                   'occurred_at', st.occurred_at AT TIME ZONE 'UTC')) END AS request,
           CASE p_scope WHEN 'adjustment' THEN st.points ELSE -st.points END AS delta,
           CASE WHEN st.occurred_at > now() + interval '5 minutes' THEN 'in_future'
                WHEN NOT p_backdated AND st.occurred_at < now() - make_interval(days => v_window) THEN 'too_old'
                WHEN st.occurred_at < v_first THEN 'before_settings' END AS problem,
           e.entry_id AS existing_entry, e.request AS existing_request,
           count(*) OVER (PARTITION BY st.record_key) > 1 AS repeated,
           (p_scope = 'redemption' AND st.reward IS NOT NULL) AS slow,
           NULL::text AS status, NULL::bigint AS entry_id, NULL::bigint AS before
    FROM points.import_history_staging AS st
    LEFT JOIN LATERAL (
        SELECT je.entry_id, je.request FROM points.journal_entries AS je
        WHERE je.program_id = p_program AND je.key_scope = p_scope AND je.idempotency_key = st.record_key
        LIMIT 1) AS e ON true
    WHERE st.batch_id = p_batch AND st.staged_by = v_me
    ORDER BY st.member_id, st.line;
    DELETE FROM points.import_history_staging AS st WHERE st.batch_id = p_batch AND st.staged_by = v_me;
END
$$;

-- Posts the staged batch p_batch of adjustments as points.adjust would post them one by one in
-- line order, answering each line with its time and points.adjust's row as JSON (as
-- points.import_history_batch does). Which lines post is settled for the whole batch
-- (points.import_settle_history); the entries, postings, lots and balances of the accepted lines
-- are written by one statement each, and so is the deductions' spending of lots (soonest-expiring
-- first, among the lots of the lines before each: points.import_spend_lots), but for members
-- whose batch also grants, whose deductions are a call each. The lines of a member the set
-- cannot post exactly go through points.adjust itself.
CREATE FUNCTION points.import_adjustment_batch(p_program integer, p_batch bigint, p_backdated boolean)
RETURNS TABLE (line bigint, occurred_at timestamptz, answer jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp SET work_mem = '64MB' SET jit = off AS $$
DECLARE
    v_bad record;
    r record;
BEGIN
    IF p_backdated IS NULL THEN
        RAISE EXCEPTION 'an import batch needs a back-dating flag' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM points.import_stage_history(p_program, p_batch, 'adjustment', p_backdated);
    -- What points.adjust refuses with an error refuses the batch: the library then finds the line.
    SELECT w.points, w.occurred_at INTO v_bad FROM pg_temp.history_work AS w
    WHERE w.points IS NULL OR w.points = 0 OR (w.expires_at IS NOT NULL AND (w.points < 0 OR w.expires_at <= w.occurred_at))
    ORDER BY w.line LIMIT 1;
    IF FOUND THEN
        IF v_bad.points IS NULL OR v_bad.points = 0 THEN
            RAISE EXCEPTION 'an adjustment needs a non-zero number of points and a back-dating flag' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RAISE EXCEPTION 'an expiry belongs to a grant and comes after its time (%)', v_bad.occurred_at USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM points.import_settle_history(p_program, 'posted');

    INSERT INTO points.journal_entries
        (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
    SELECT p_program, w.member_id, w.entry_id,
           CASE WHEN w.points > 0 THEN 'adjustment.grant' ELSE 'adjustment.deduct' END::points.entry_kind,
           'adjustment', w.record_key, w.request, w.occurred_at, p_backdated
    FROM pg_temp.history_work AS w WHERE w.status = 'posted' AND NOT w.slow ORDER BY w.member_id, w.line;
    INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
    SELECT p_program, w.member_id, w.entry_id, 1, CASE WHEN w.points > 0 THEN 'adjustments' ELSE 'available' END::points.account,
           CASE WHEN w.points > 0 THEN 'available' ELSE 'adjustments' END::points.account, abs(w.points), w.occurred_at
    FROM pg_temp.history_work AS w WHERE w.status = 'posted' AND NOT w.slow ORDER BY w.member_id, w.line;
    -- A lot expires at its own time, else by the rule in force when it was earned (points.expiry_for,
    -- read here as a join rather than a call per lot).
    INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, expires_at, amount, remaining)
    SELECT p_program, w.member_id, w.entry_id, w.occurred_at,
           coalesce(w.expires_at, points.lot_expiry(s.expiry_kind, s.expiry_count, w.occurred_at, p.time_zone)), a.amount, a.amount
    FROM pg_temp.history_work AS w
    CROSS JOIN LATERAL (SELECT points.lot_amount(w.points, w.before) AS amount) AS a
    JOIN points.programs AS p ON p.program_id = p_program
    LEFT JOIN LATERAL (
        SELECT ps.expiry_kind, ps.expiry_count FROM points.program_settings AS ps
        WHERE ps.program_id = p_program AND ps.effective_at <= w.occurred_at
        ORDER BY ps.effective_at DESC LIMIT 1) AS s ON w.expires_at IS NULL
    WHERE w.status = 'posted' AND NOT w.slow AND w.points > 0 AND a.amount > 0
    ORDER BY w.member_id, w.line;
    PERFORM points.import_spend_lots(p_program, 'posted');
    UPDATE points.members AS m SET available = m.available + t.points, adjustments = m.adjustments - t.points
    FROM (SELECT w.member_id, sum(w.points) AS points FROM pg_temp.history_work AS w
          WHERE w.status = 'posted' AND NOT w.slow GROUP BY w.member_id) AS t
    WHERE m.program_id = p_program AND m.member_id = t.member_id;

    -- The answers, in line order: the other lines by points.adjust itself.
    FOR r IN SELECT w.*, m.pending AS m_pending, m.held AS m_held FROM pg_temp.history_work AS w
             LEFT JOIN pg_temp.history_members AS m ON m.member_id = w.member_id ORDER BY w.line LOOP
        line := r.line;
        occurred_at := r.occurred_at;
        IF r.slow THEN
            SELECT to_jsonb(a) INTO answer FROM points.adjust(
                p_program, r.member_id, r.points, r.reason, r.actor, r.record_key, r.occurred_at, p_backdated, r.expires_at) AS a;
        ELSE
            answer := jsonb_build_object(
                'status', r.status,
                'entry_id', CASE WHEN r.status = 'posted' THEN r.entry_id ELSE r.existing_entry END,
                'available', CASE WHEN r.status = 'posted' THEN r.before + r.points
                                  WHEN r.status <> 'unknown_member' THEN coalesce(r.before, 0) END,
                'pending', r.m_pending, 'held', r.m_held);
        END IF;
        RETURN NEXT;
    END LOOP;
    -- The work tables go with the transaction (ON COMMIT DROP), or with the next batch's call.
END
$$;

GRANT EXECUTE ON FUNCTION points.import_adjustment_batch(integer, bigint, boolean) TO {{writer}};

-- Posts the staged batch p_batch of redemptions as points.redeem would post them one by one in
-- line order, answering as points.import_adjustment_batch does: spends of points for a reason
-- are settled and written for the whole batch (entries, postings, redemptions and balances by
-- one statement each, and the lots they spend: points.import_spend_lots); the lines of a member that redeems a reward
-- in the batch (its window, tier, limit and stock) go through points.redeem itself.
CREATE FUNCTION points.import_redemption_batch(p_program integer, p_batch bigint, p_backdated boolean)
RETURNS TABLE (line bigint, occurred_at timestamptz, answer jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp SET work_mem = '64MB' SET jit = off AS $$
DECLARE
    r record;
BEGIN
    IF p_backdated IS NULL THEN
        RAISE EXCEPTION 'an import batch needs a back-dating flag' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM points.import_stage_history(p_program, p_batch, 'redemption', p_backdated);
    -- What points.redeem refuses with an error refuses the batch: the library then finds the line.
    IF EXISTS (SELECT FROM pg_temp.history_work AS w
               WHERE (w.reward IS NULL) = (w.points IS NULL) OR (w.reward IS NOT NULL AND (w.quantity IS NULL OR w.quantity <= 0))
                  OR (w.reward IS NULL AND (w.points <= 0 OR w.reason IS NULL))) THEN
        RAISE EXCEPTION 'a redemption needs a reward and a positive quantity, or positive points and a reason'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM points.import_settle_history(p_program, 'redeemed');

    INSERT INTO points.journal_entries
        (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
    SELECT p_program, w.member_id, w.entry_id, 'redemption', 'redemption', w.record_key, w.request, w.occurred_at, p_backdated
    FROM pg_temp.history_work AS w WHERE w.status = 'redeemed' AND NOT w.slow ORDER BY w.member_id, w.line;
    INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
    SELECT p_program, w.member_id, w.entry_id, 1, 'available', 'redeemed', w.points, w.occurred_at
    FROM pg_temp.history_work AS w WHERE w.status = 'redeemed' AND NOT w.slow ORDER BY w.member_id, w.line;
    INSERT INTO points.redemptions (program_id, member_id, entry_id, reward, quantity, points, reason)
    SELECT p_program, w.member_id, w.entry_id, NULL, w.quantity, w.points, w.reason
    FROM pg_temp.history_work AS w WHERE w.status = 'redeemed' AND NOT w.slow ORDER BY w.member_id, w.line;
    PERFORM points.import_spend_lots(p_program, 'redeemed');
    UPDATE points.members AS m SET available = m.available - t.points, redeemed = m.redeemed + t.points
    FROM (SELECT w.member_id, sum(w.points) AS points FROM pg_temp.history_work AS w
          WHERE w.status = 'redeemed' AND NOT w.slow GROUP BY w.member_id) AS t
    WHERE m.program_id = p_program AND m.member_id = t.member_id;

    -- The answers, in line order: the other lines by points.redeem itself.
    FOR r IN SELECT w.*, m.held AS m_held, x.points AS existing_points FROM pg_temp.history_work AS w
             LEFT JOIN pg_temp.history_members AS m ON m.member_id = w.member_id
             LEFT JOIN points.redemptions AS x
               ON x.program_id = p_program AND x.member_id = w.member_id AND x.entry_id = w.existing_entry AND w.status IN ('replayed', 'conflict')
             ORDER BY w.line LOOP
        line := r.line;
        occurred_at := r.occurred_at;
        IF r.slow THEN
            SELECT to_jsonb(a) INTO answer FROM points.redeem(
                p_program, r.member_id, r.reward, r.quantity, r.points, r.reason, r.record_key, r.occurred_at, p_backdated) AS a;
        ELSE
            answer := jsonb_build_object(
                'status', r.status,
                'entry_id', CASE WHEN r.status = 'redeemed' THEN r.entry_id ELSE r.existing_entry END,
                'points', CASE WHEN r.status IN ('redeemed', 'insufficient_points') THEN r.points ELSE r.existing_points END,
                'available', CASE WHEN r.status = 'redeemed' THEN r.before - r.points
                                  WHEN r.status <> 'unknown_member' THEN coalesce(r.before, 0) END,
                'held', CASE WHEN r.status <> 'unknown_member' THEN r.m_held END);
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

GRANT EXECUTE ON FUNCTION points.import_redemption_batch(integer, bigint, boolean) TO {{writer}};
