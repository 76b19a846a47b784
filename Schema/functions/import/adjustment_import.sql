-- Bulk import of grants and deductions (HistoryImport.swift): set-based, with the answers of
-- points.adjust line for line.

-- Posts the staged batch p_batch of adjustments as points.adjust would post them one by one in
-- line order, answering each line with its time and points.adjust's row as JSON (as
-- points.import_history_batch does). The batch's members are locked once, in id order; the lines
-- of a member whose adjustments a set can post exactly (no hold to release, no key used twice
-- in the batch) are worked out together: a
-- deduction is refused when the member's spendable points before it, after the lines accepted
-- before it, are short (the first such line of each member at a time, until none is); then
-- their entries, postings, lots and balances are written by one statement each, and only the
-- deductions' spending of lots (soonest-expiring first, among the lots of the lines before
-- each: entry ids follow the lines) is a call per line. Every other line goes through
-- points.adjust itself, in line order.
CREATE FUNCTION points.import_adjustment_batch(p_program integer, p_batch bigint, p_backdated boolean)
RETURNS TABLE (line bigint, occurred_at timestamptz, answer jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp SET work_mem = '64MB' SET jit = off AS $$
DECLARE
    v_me xid8 := pg_current_xact_id();
    v_window integer := (points.settings_at(p_program, now())).backdate_days;
    v_bad record;
    v_refused integer;
    r record;
BEGIN
    IF p_backdated IS NULL THEN
        RAISE EXCEPTION 'an import batch needs a back-dating flag' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DROP TABLE IF EXISTS pg_temp.adjust_work, pg_temp.adjust_members;
    CREATE TEMP TABLE adjust_work ON COMMIT DROP AS
    SELECT st.line, st.member_id, st.record_key, st.points, st.reason, st.actor, st.occurred_at, st.expires_at,
           jsonb_strip_nulls(jsonb_build_object(
               'member', st.member_id, 'points', st.points, 'reason', st.reason, 'actor', st.actor,
               'occurred_at', st.occurred_at AT TIME ZONE 'UTC', 'expires_at', st.expires_at AT TIME ZONE 'UTC')) AS request,
           CASE WHEN st.occurred_at > now() + interval '5 minutes' THEN 'in_future'
                WHEN NOT p_backdated AND st.occurred_at < now() - make_interval(days => v_window) THEN 'too_old' END AS problem,
           e.entry_id AS existing_entry, e.request AS existing_request,
           count(*) OVER (PARTITION BY st.record_key) > 1 AS repeated,
           NULL::text AS status, NULL::bigint AS entry_id, NULL::bigint AS before, false AS slow
    FROM points.import_history_staging AS st
    LEFT JOIN LATERAL (
        SELECT je.entry_id, je.request FROM points.journal_entries AS je
        WHERE je.program_id = p_program AND je.key_scope = 'adjustment' AND je.idempotency_key = st.record_key
        LIMIT 1) AS e ON true
    WHERE st.batch_id = p_batch AND st.staged_by = v_me
    ORDER BY st.member_id, st.line;
    DELETE FROM points.import_history_staging AS st WHERE st.batch_id = p_batch AND st.staged_by = v_me;

    -- What points.adjust refuses with an error refuses the batch: the library then finds the line.
    SELECT w.* INTO v_bad FROM pg_temp.adjust_work AS w
    WHERE w.points IS NULL OR w.points = 0 OR (w.expires_at IS NOT NULL AND (w.points < 0 OR w.expires_at <= w.occurred_at))
    ORDER BY w.line LIMIT 1;
    IF FOUND THEN
        IF v_bad.points IS NULL OR v_bad.points = 0 THEN
            RAISE EXCEPTION 'an adjustment needs a non-zero number of points and a back-dating flag' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RAISE EXCEPTION 'an expiry belongs to a grant and comes after its time (%)', v_bad.occurred_at USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- The batch's members, locked in id order.
    CREATE TEMP TABLE adjust_members ON COMMIT DROP AS
    SELECT m.member_id, m.available, m.pending, m.held
    FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id IN (SELECT DISTINCT w.member_id FROM pg_temp.adjust_work AS w)
    ORDER BY m.member_id
    FOR UPDATE;
    UPDATE pg_temp.adjust_work AS w SET status = 'unknown_member'
    WHERE NOT EXISTS (SELECT FROM pg_temp.adjust_members AS m WHERE m.member_id = w.member_id);
    -- Members whose lines a set cannot post exactly go through points.adjust.
    UPDATE pg_temp.adjust_work AS w SET slow = true
    WHERE w.status IS NULL AND w.member_id IN (
        SELECT x.member_id FROM pg_temp.adjust_work AS x
        JOIN pg_temp.adjust_members AS m ON m.member_id = x.member_id
        GROUP BY x.member_id, m.held
        HAVING bool_or(x.repeated) OR m.held > 0);
    UPDATE pg_temp.adjust_work AS w
    SET status = CASE WHEN w.request = w.existing_request THEN 'replayed' ELSE 'conflict' END
    WHERE w.status IS NULL AND NOT w.slow AND w.existing_entry IS NOT NULL;
    UPDATE pg_temp.adjust_work AS w SET status = w.problem WHERE w.status IS NULL AND NOT w.slow AND w.problem IS NOT NULL;

    -- Spendable points before each line, after the lines accepted before it; the first deduction
    -- of a member that is short is refused, and the rest worked out again.
    LOOP
        UPDATE pg_temp.adjust_work AS w SET before = b.before
        FROM (
            SELECT x.line, m.available + coalesce(sum(x.points) FILTER (WHERE x.status IS NULL) OVER (
                       PARTITION BY x.member_id ORDER BY x.line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
            FROM pg_temp.adjust_work AS x JOIN pg_temp.adjust_members AS m ON m.member_id = x.member_id
            WHERE NOT x.slow) AS b
        WHERE w.line = b.line;
        UPDATE pg_temp.adjust_work AS w SET status = 'insufficient_points'
        FROM (
            SELECT DISTINCT ON (x.member_id) x.line
            FROM pg_temp.adjust_work AS x JOIN pg_temp.adjust_members AS m ON m.member_id = x.member_id
            WHERE x.status IS NULL AND NOT x.slow AND x.points < 0 AND x.before - m.held < -x.points
            ORDER BY x.member_id, x.line) AS f
        WHERE w.line = f.line;
        GET DIAGNOSTICS v_refused = ROW_COUNT;
        EXIT WHEN v_refused = 0;
    END LOOP;

    -- The accepted lines: entries, postings, lots, then the deductions' spending, and balances.
    UPDATE pg_temp.adjust_work AS w SET entry_id = n.entry_id, status = 'posted'
    FROM (SELECT x.line, nextval('points.journal_entry_ids') AS entry_id
          FROM (SELECT x.line FROM pg_temp.adjust_work AS x WHERE x.status IS NULL AND NOT x.slow ORDER BY x.member_id, x.line) AS x) AS n
    WHERE w.line = n.line;
    INSERT INTO points.journal_entries
        (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
    SELECT p_program, w.member_id, w.entry_id,
           CASE WHEN w.points > 0 THEN 'adjustment.grant' ELSE 'adjustment.deduct' END::points.entry_kind,
           'adjustment', w.record_key, w.request, w.occurred_at, p_backdated
    FROM pg_temp.adjust_work AS w WHERE w.status = 'posted' AND NOT w.slow ORDER BY w.member_id, w.line;
    INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
    SELECT p_program, w.member_id, w.entry_id, 1, CASE WHEN w.points > 0 THEN 'adjustments' ELSE 'available' END::points.account,
           CASE WHEN w.points > 0 THEN 'available' ELSE 'adjustments' END::points.account, abs(w.points), w.occurred_at
    FROM pg_temp.adjust_work AS w WHERE w.status = 'posted' AND NOT w.slow ORDER BY w.member_id, w.line;
    INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, expires_at, amount, remaining)
    SELECT p_program, w.member_id, w.entry_id, w.occurred_at, coalesce(w.expires_at, points.expiry_for(p_program, w.occurred_at)),
           points.lot_amount(w.points, w.before), points.lot_amount(w.points, w.before)
    FROM pg_temp.adjust_work AS w
    WHERE w.status = 'posted' AND NOT w.slow AND w.points > 0 AND points.lot_amount(w.points, w.before) > 0
    ORDER BY w.member_id, w.line;
    FOR r IN SELECT w.member_id, w.entry_id, w.points FROM pg_temp.adjust_work AS w
             WHERE w.status = 'posted' AND NOT w.slow AND w.points < 0 ORDER BY w.member_id, w.line LOOP
        PERFORM points.consume_lots(p_program, r.member_id, r.entry_id, -r.points, true);
    END LOOP;
    UPDATE points.members AS m SET available = m.available + t.points, adjustments = m.adjustments - t.points
    FROM (SELECT w.member_id, sum(w.points) AS points FROM pg_temp.adjust_work AS w
          WHERE w.status = 'posted' AND NOT w.slow GROUP BY w.member_id) AS t
    WHERE m.program_id = p_program AND m.member_id = t.member_id;

    -- The answers, in line order: the other lines by points.adjust itself.
    FOR r IN SELECT w.*, m.pending AS m_pending, m.held AS m_held FROM pg_temp.adjust_work AS w
             LEFT JOIN pg_temp.adjust_members AS m ON m.member_id = w.member_id ORDER BY w.line LOOP
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
