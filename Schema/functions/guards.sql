-- Guards of the tables: the journal is append-only, members are never deleted, nobody refers
-- themselves. Each trigger is created here with its function. (The journal balances by its
-- shape: a movement names two accounts and a positive amount, migrations/0004.)

-- The journal is append-only: a mistake is corrected by a reversing entry. Only the owner role
-- (for repairs under audit) may rewrite it; privileges already keep the writer and auditor out.
CREATE FUNCTION points.forbid_journal_rewrite() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_user <> {{owner_name}} THEN
        RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Correct a mistake with a new, reversing entry.';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON points.journal_entries
    FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();

CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON points.journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();

CREATE TRIGGER movements_append_only BEFORE UPDATE OR DELETE ON points.movements
    FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();

CREATE TRIGGER movements_no_truncate BEFORE TRUNCATE ON points.movements
    FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();

CREATE TRIGGER lot_allocations_append_only BEFORE UPDATE OR DELETE ON points.lot_allocations
    FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();

CREATE TRIGGER lot_allocations_no_truncate BEFORE TRUNCATE ON points.lot_allocations
    FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();

CREATE TRIGGER task_completions_append_only BEFORE UPDATE OR DELETE ON points.task_completions
    FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();

CREATE TRIGGER task_completions_no_truncate BEFORE TRUNCATE ON points.task_completions
    FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();

CREATE TRIGGER tier_changes_append_only BEFORE UPDATE OR DELETE ON points.tier_changes
    FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();

CREATE TRIGGER tier_changes_no_truncate BEFORE TRUNCATE ON points.tier_changes
    FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();

CREATE TRIGGER redemptions_append_only BEFORE UPDATE OR DELETE ON points.redemptions
    FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();

CREATE TRIGGER redemptions_no_truncate BEFORE TRUNCATE ON points.redemptions
    FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();

CREATE TRIGGER journal_blocks_append_only BEFORE UPDATE OR DELETE ON points.journal_blocks
    FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();

CREATE TRIGGER journal_blocks_no_truncate BEFORE TRUNCATE ON points.journal_blocks
    FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();

-- Members are never deleted, by anyone: the journal names them.
CREATE FUNCTION points.forbid_member_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'members are never deleted: the journal names them'
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Keep the member; their balances can be corrected with adjustments.';
END
$$;

CREATE TRIGGER members_never_deleted BEFORE DELETE ON points.members
    FOR EACH ROW EXECUTE FUNCTION points.forbid_member_delete();

CREATE TRIGGER members_never_truncated BEFORE TRUNCATE ON points.members
    FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_member_delete();

-- Nobody refers themselves. A trigger on the referrer column rather than a CHECK, which would be
-- evaluated again on every balance update (see the domains in migrations/0001_baseline.sql).
CREATE FUNCTION points.refuse_self_referral() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'member % cannot be their own referrer', NEW.member_id
        USING ERRCODE = 'check_violation', CONSTRAINT = 'referrer_not_self';
END
$$;

CREATE TRIGGER members_referrer_not_self BEFORE INSERT OR UPDATE OF referrer ON points.members
    FOR EACH ROW WHEN (NEW.referrer = NEW.member_id) EXECUTE FUNCTION points.refuse_self_referral();
