-- The referral bonus, paid on a referred member's first purchase.

-- Pays a member's referrer the program's referral bonus, once per referred member (the key is
-- the referred member's id). The caller holds the referred member's row lock; this locks the
-- referrer's row. Returns the bonus entry, or NULL when no bonus is due.
CREATE FUNCTION points.pay_referral(
    p_program integer, p_member text, p_referrer text, p_order text, p_bonus bigint, p_at timestamptz, p_backdated boolean)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_available bigint;
    v_entry bigint;
BEGIN
    IF p_referrer IS NULL OR p_bonus <= 0 THEN
        RETURN NULL;
    END IF;
    SELECT m.available INTO v_available FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = p_referrer FOR UPDATE;
    INSERT INTO points.journal_entries AS e
        (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
    VALUES (p_program, p_referrer, 'referral', 'referral', p_member,
            jsonb_build_object('referrer', p_referrer, 'member', p_member, 'order', p_order, 'points', p_bonus),
            p_at, p_backdated)
    ON CONFLICT ON CONSTRAINT idempotency_key_unique DO NOTHING
    RETURNING e.entry_id INTO v_entry;
    IF v_entry IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
    VALUES (p_program, p_referrer, v_entry, 1, 'issued', 'available', p_bonus, p_at);
    PERFORM points.form_lot(p_program, p_referrer, v_entry, p_bonus, v_available, p_at, points.expiry_for(p_program, p_at));
    UPDATE points.members AS m SET available = m.available + p_bonus, issued = m.issued - p_bonus
    WHERE m.program_id = p_program AND m.member_id = p_referrer;
    RETURN v_entry;
END
$$;
