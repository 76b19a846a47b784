-- Bulk import of a program's history other than purchases (HistoryImport.swift): refunds,
-- redemptions, grants and deductions, task completions.

-- Posts the staged batch p_batch of records of kind p_kind, in line order, each by the function
-- a single call uses (points.refund, points.redeem, points.adjust, points.complete_task) with
-- the import's back-dating permission p_backdated: the same rules, the same answers, line for
-- line. Answers each line with its time and that function's row as JSON, which the library
-- reads as it reads a single call's. Only the calling transaction's lines of the batch are read,
-- and they are deleted when posted.
CREATE FUNCTION points.import_history_batch(p_program integer, p_batch bigint, p_kind points.history_kind, p_backdated boolean)
RETURNS TABLE (line bigint, occurred_at timestamptz, answer jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp SET jit = off AS $$
DECLARE
    v_me xid8 := pg_current_xact_id();
    r points.import_history_staging;
BEGIN
    IF p_kind IS NULL OR p_backdated IS NULL THEN
        RAISE EXCEPTION 'an import batch needs a kind and a back-dating flag' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR r IN
        SELECT st.* FROM points.import_history_staging AS st WHERE st.batch_id = p_batch AND st.staged_by = v_me ORDER BY st.line
    LOOP
        line := r.line;
        occurred_at := r.occurred_at;
        IF p_kind = 'adjustment' THEN
            SELECT to_jsonb(a) INTO answer FROM points.adjust(
                p_program, r.member_id, r.points, r.reason, r.actor, r.record_key, r.occurred_at, p_backdated, r.expires_at) AS a;
        ELSIF p_kind = 'redemption' THEN
            SELECT to_jsonb(a) INTO answer FROM points.redeem(
                p_program, r.member_id, r.reward, r.quantity, r.points, r.reason, r.record_key, r.occurred_at, p_backdated) AS a;
        ELSIF p_kind = 'refund' THEN
            SELECT to_jsonb(a) INTO answer FROM points.refund(
                p_program, r.order_id, r.record_key, r.amount_minor, r.occurred_at, p_backdated) AS a;
        ELSE
            SELECT to_jsonb(a) INTO answer FROM points.complete_task(
                p_program, r.member_id, r.task, r.record_key, r.occurred_at, p_backdated) AS a;
        END IF;
        RETURN NEXT;
    END LOOP;
    DELETE FROM points.import_history_staging AS st WHERE st.batch_id = p_batch AND st.staged_by = v_me;
END
$$;

GRANT EXECUTE ON FUNCTION points.import_history_batch(integer, bigint, points.history_kind, boolean) TO {{writer}};
