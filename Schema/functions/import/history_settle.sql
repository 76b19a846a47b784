-- Bulk import of history, the part grants, deductions and spends share (adjustment_import.sql,
-- redemption_import.sql): which lines post, worked out for a whole batch at once.

-- Settles pg_temp.history_work, a batch's lines in (member, line) order with their signed change
-- of the member's available points (delta), their time problem, the entry their key already
-- names, and whether the line needs its single function (slow), as the single function would
-- decide line by line: locks the batch's members once, in id order, into pg_temp.history_members;
-- marks the lines of unknown members 'unknown_member'; sends every line of a member with a hold
-- to release, a key used twice in the batch or a line that needs it through the single function
-- (slow); then, for the other lines, a key used before answers 'replayed' (same request) or
-- 'conflict', a time out of bounds its problem, and a deduction is refused 'insufficient_points'
-- when the member's spendable points before it, after the lines accepted before it, are short
-- (the first such line of each member at a time, until none is). The lines left take status
-- p_posted and an entry id, in (member, line) order; `before` holds each line's available
-- points before it.
CREATE FUNCTION points.import_settle_history(p_program integer, p_posted text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_refused integer;
BEGIN
    DROP TABLE IF EXISTS pg_temp.history_members;
    CREATE TEMP TABLE history_members ON COMMIT DROP AS
    SELECT m.member_id, m.available, m.pending, m.held
    FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id IN (SELECT DISTINCT w.member_id FROM pg_temp.history_work AS w)
    ORDER BY m.member_id
    FOR UPDATE;
    UPDATE pg_temp.history_work AS w SET status = 'unknown_member'
    WHERE NOT EXISTS (SELECT FROM pg_temp.history_members AS m WHERE m.member_id = w.member_id);
    UPDATE pg_temp.history_work AS w SET slow = true
    WHERE w.status IS NULL AND w.member_id IN (
        SELECT x.member_id FROM pg_temp.history_work AS x
        JOIN pg_temp.history_members AS m ON m.member_id = x.member_id
        GROUP BY x.member_id, m.held
        HAVING bool_or(x.repeated OR x.slow) OR m.held > 0);
    UPDATE pg_temp.history_work AS w
    SET status = CASE WHEN w.request = w.existing_request THEN 'replayed' ELSE 'conflict' END
    WHERE w.status IS NULL AND NOT w.slow AND w.existing_entry IS NOT NULL;
    UPDATE pg_temp.history_work AS w SET status = w.problem WHERE w.status IS NULL AND NOT w.slow AND w.problem IS NOT NULL;
    LOOP
        UPDATE pg_temp.history_work AS w SET before = b.before
        FROM (
            SELECT x.line, m.available + coalesce(sum(x.delta) FILTER (WHERE x.status IS NULL) OVER (
                       PARTITION BY x.member_id ORDER BY x.line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
            FROM pg_temp.history_work AS x JOIN pg_temp.history_members AS m ON m.member_id = x.member_id
            WHERE NOT x.slow) AS b
        WHERE w.line = b.line;
        UPDATE pg_temp.history_work AS w SET status = 'insufficient_points'
        FROM (
            SELECT DISTINCT ON (x.member_id) x.line
            FROM pg_temp.history_work AS x JOIN pg_temp.history_members AS m ON m.member_id = x.member_id
            WHERE x.status IS NULL AND NOT x.slow AND x.delta < 0 AND x.before - m.held < -x.delta
            ORDER BY x.member_id, x.line) AS f
        WHERE w.line = f.line;
        GET DIAGNOSTICS v_refused = ROW_COUNT;
        EXIT WHEN v_refused = 0;
    END LOOP;
    UPDATE pg_temp.history_work AS w SET entry_id = n.entry_id, status = p_posted
    FROM (SELECT x.line, nextval('points.journal_entry_ids') AS entry_id
          FROM (SELECT x.line FROM pg_temp.history_work AS x WHERE x.status IS NULL AND NOT x.slow ORDER BY x.member_id, x.line) AS x) AS n
    WHERE w.line = n.line;
END
$$;

-- Spends the lots of a settled batch's accepted spends (lines of status p_posted that lower
-- available points, not slow) exactly as points.consume_lots would, spend by spend in entry order
-- with the lots formed before each. A member whose batch forms no lot offers every spend the
-- same lots (formed before the batch, locked with the member), so spend k takes the span between
-- the spends' running totals before and after it out of the lots laid end to end in spending
-- order: one statement matches those spans for every such member. The spends of a member whose
-- batch also forms lots go through points.consume_lots one by one, in line order.
CREATE FUNCTION points.import_spend_lots(p_program integer, p_posted text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    r record;
BEGIN
    WITH spenders AS (
        SELECT w.member_id FROM pg_temp.history_work AS w
        WHERE w.status = p_posted AND NOT w.slow
        GROUP BY w.member_id HAVING bool_or(w.delta < 0) AND NOT bool_or(w.delta > 0)
    ), spends AS (
        SELECT w.member_id, w.entry_id, -w.delta AS amount,
               sum(-w.delta) OVER (PARTITION BY w.member_id ORDER BY w.entry_id) AS upto
        FROM pg_temp.history_work AS w JOIN spenders AS s ON s.member_id = w.member_id
        WHERE w.status = p_posted AND NOT w.slow AND w.delta < 0
    ), lots AS (
        SELECT l.member_id, l.lot_id, l.remaining,
               sum(l.remaining) OVER (PARTITION BY l.member_id ORDER BY l.expires_at NULLS LAST, l.earned_at, l.lot_id) AS upto
        FROM points.lots AS l JOIN spenders AS s ON s.member_id = l.member_id
        WHERE l.program_id = p_program AND l.remaining > 0
    ), taken AS (
        SELECT sp.member_id, sp.entry_id, lo.lot_id,
               least(sp.upto, lo.upto) - greatest(sp.upto - sp.amount, lo.upto - lo.remaining) AS amount
        FROM spends AS sp JOIN lots AS lo
          ON lo.member_id = sp.member_id AND lo.upto - lo.remaining < sp.upto AND sp.upto - sp.amount < lo.upto
    ), spent AS (
        UPDATE points.lots AS l SET remaining = l.remaining - t.amount
        FROM (SELECT tk.member_id, tk.lot_id, sum(tk.amount) AS amount FROM taken AS tk GROUP BY tk.member_id, tk.lot_id) AS t
        WHERE l.program_id = p_program AND l.member_id = t.member_id AND l.lot_id = t.lot_id
    )
    INSERT INTO points.lot_allocations (program_id, member_id, entry_id, lot_id, amount)
    SELECT p_program, tk.member_id, tk.entry_id, tk.lot_id, tk.amount FROM taken AS tk ORDER BY tk.member_id, tk.entry_id, tk.lot_id;

    FOR r IN SELECT w.member_id, w.entry_id, -w.delta AS amount FROM pg_temp.history_work AS w
             WHERE w.status = p_posted AND NOT w.slow AND w.delta < 0
               AND EXISTS (SELECT FROM pg_temp.history_work AS g
                           WHERE g.member_id = w.member_id AND g.status = p_posted AND NOT g.slow AND g.delta > 0)
             ORDER BY w.member_id, w.line LOOP
        PERFORM points.consume_lots(p_program, r.member_id, r.entry_id, r.amount, true);
    END LOOP;
END
$$;
