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
