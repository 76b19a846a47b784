-- The double-entry core: programs, tiers, members, journal entries and postings
-- (RULES.md: Accounts and postings, Idempotency).
SET LOCAL ROLE {{owner}};

-- ISO 4217 currencies and their minor-unit exponents: money is an integer count of minor units.
CREATE TABLE points.currencies (
    currency char(3) PRIMARY KEY CHECK (currency ~ '^[A-Z]{3}$'),
    exponent smallint NOT NULL CHECK (exponent BETWEEN 0 AND 4)
);
INSERT INTO points.currencies (currency, exponent) VALUES
    ('AED', 2), ('ARS', 2), ('AUD', 2), ('BDT', 2), ('BHD', 3), ('BRL', 2), ('CAD', 2), ('CHF', 2),
    ('CLP', 0), ('CNY', 2), ('COP', 2), ('CZK', 2), ('DKK', 2), ('EGP', 2), ('EUR', 2), ('GBP', 2),
    ('HKD', 2), ('HUF', 2), ('IDR', 2), ('ILS', 2), ('INR', 2), ('ISK', 0), ('JOD', 3), ('JPY', 0),
    ('KES', 2), ('KHR', 2), ('KRW', 0), ('KWD', 3), ('KZT', 2), ('LAK', 2), ('LKR', 2), ('MMK', 2),
    ('MNT', 2), ('MOP', 2), ('MXN', 2), ('MYR', 2), ('NGN', 2), ('NOK', 2), ('NPR', 2), ('NZD', 2),
    ('OMR', 3), ('PEN', 2), ('PHP', 2), ('PKR', 2), ('PLN', 2), ('QAR', 2), ('RON', 2), ('RUB', 2),
    ('SAR', 2), ('SEK', 2), ('SGD', 2), ('THB', 2), ('TND', 3), ('TRY', 2), ('TWD', 2), ('UAH', 2),
    ('UGX', 0), ('USD', 2), ('VND', 0), ('XAF', 0), ('XOF', 0), ('ZAR', 2);

-- Rules of single values are domains, not table CHECK constraints, on the tables that every
-- write touches. PostgreSQL reads and prepares a table's CHECK constraints afresh for each
-- statement that writes the table, and evaluates every one of them on every UPDATE, whichever
-- columns it sets; a domain's check is prepared once per session and runs only where a value is
-- stored. (A purchase updates a member's row and inserts an entry, postings and a lot: sixteen
-- table CHECKs were a fifth of its time on the server.) Table CHECKs remain for rules that span
-- columns.
--
-- Text rules (DESIGN.md, principle 8). Text is valid UTF-8: the database's encoding is UTF8
-- (0001_roles.sql refuses any other), so the server refuses invalid bytes. No stored text holds a
-- character a terminal or a table would act on: C0 and C1 controls, DEL, the line and paragraph
-- separators, and the bidirectional marks, embeddings, overrides and isolates that reorder what
-- is shown. Ids and keys are stricter, so that two ids that look alike are the same bytes: no
-- invisible format character (Unicode category Cf: zero-width spaces and joiners, soft hyphens,
-- word joiners, the byte-order mark, tags...), no U+FFFD (the mark of bytes a client could not
-- decode), no space at either end, and Unicode normalization form NFC. Ids are compared byte by
-- byte; a caller that holds an id in another form normalizes it to NFC before sending it.
-- Function parameters use these domains too, so text that is only kept inside a request's JSON
-- (a reason, an actor) is checked on the way in.
CREATE DOMAIN points.label_text AS text
    CONSTRAINT label_text_format CHECK (
        VALUE <> '' AND length(VALUE) <= 1000
        AND VALUE !~ '[\x01-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]');
CREATE DOMAIN points.id_text AS text COLLATE "C"
    CONSTRAINT id_text_format CHECK (
        VALUE <> ''
        AND VALUE !~ '[\x01-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffd\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]'
        AND VALUE !~ '^[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]|[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]$'
        AND VALUE IS NFC NORMALIZED);
CREATE DOMAIN points.member_key AS points.id_text
    CONSTRAINT member_id_length CHECK (length(VALUE) <= 128);
CREATE DOMAIN points.idempotency_key AS points.id_text
    CONSTRAINT idempotency_key_length CHECK (length(VALUE) <= 200);
-- When things happen, are due or take effect: finite, within the years 1900 to 9999 in every
-- time zone, so every stored time reads back as a date a person and every client can handle.
CREATE DOMAIN points.event_time AS timestamptz
    CONSTRAINT event_time_range CHECK (VALUE >= '1899-12-31 00:00:00+00' AND VALUE < '10000-01-02 00:00:00+00');
CREATE DOMAIN points.amount_positive AS bigint CONSTRAINT amount_positive CHECK (VALUE > 0);
CREATE DOMAIN points.amount_not_negative AS bigint CONSTRAINT amount_not_negative CHECK (VALUE >= 0);
CREATE DOMAIN points.amount_not_zero AS bigint CONSTRAINT amount_not_zero CHECK (VALUE <> 0);

CREATE TABLE points.programs (
    program_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE
        CONSTRAINT program_name_format CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    currency char(3) NOT NULL REFERENCES points.currencies,
    time_zone text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by points.label_text NOT NULL
);

-- A program's time zone must be an IANA zone name (not an abbreviation or a POSIX rule).
CREATE FUNCTION points.check_program_time_zone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names WHERE name = NEW.time_zone)
        OR NEW.time_zone ~ '^(posix|right)/' THEN
        RAISE EXCEPTION 'unknown time zone "%"', NEW.time_zone
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use an IANA time zone name such as Asia/Shanghai or Europe/Berlin.';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER programs_time_zone BEFORE INSERT OR UPDATE OF time_zone ON points.programs
    FOR EACH ROW EXECUTE FUNCTION points.check_program_time_zone();

-- Every configuration change: who, when, what it was before and after (RULES.md: Configuration).
CREATE TABLE points.configuration_changes (
    change_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    program_id integer NOT NULL REFERENCES points.programs,
    subject text NOT NULL,
    actor points.label_text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    effective_at points.event_time NOT NULL,
    before jsonb,
    after jsonb NOT NULL
);

-- The ordered tiers of a program; rank 0 is the entry tier.
CREATE TABLE points.tiers (
    program_id integer NOT NULL REFERENCES points.programs,
    tier text NOT NULL CONSTRAINT tier_name_format CHECK (tier ~ '^[a-z][a-z0-9_-]{0,31}$'),
    rank smallint NOT NULL CHECK (rank >= 0),
    PRIMARY KEY (program_id, tier),
    UNIQUE (program_id, rank)
);

-- The accounts of the ledger. A member has `available` (spendable) and `pending` (earned, not
-- yet spendable); the program has the system accounts, the source and sinks of every point.
CREATE TYPE points.account AS ENUM
    ('available', 'pending', 'issued', 'redeemed', 'expired', 'written_off', 'adjustments');

-- Ids and keys (member ids, order ids, idempotency keys) are opaque: they compare byte by byte
-- (COLLATE "C"), whatever the database's locale, which keeps their indexes fast.
--
-- One row per member: the member's balances, readable in O(1), and the member's bucket of each
-- system account. A program's system account is the sum of its buckets, so no two members'
-- postings ever wait on a shared row (DESIGN.md, principle 3), and every posting touches one
-- member's rows only (principle 7). `held` is the sum of open holds; spendable = available - held.
CREATE TABLE points.members (
    -- The program exists: the member's tier names it (the foreign key to tiers below), and a
    -- tier's program exists. A second key to programs would cost every new member a query.
    program_id integer NOT NULL,
    -- Cheap enough to run on every balance update; control characters are refused where members
    -- are created.
    member_id points.member_key NOT NULL,
    tier text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    available bigint NOT NULL DEFAULT 0,
    pending points.amount_not_negative NOT NULL DEFAULT 0,
    held points.amount_not_negative NOT NULL DEFAULT 0,
    issued bigint NOT NULL DEFAULT 0,
    redeemed bigint NOT NULL DEFAULT 0,
    expired bigint NOT NULL DEFAULT 0,
    written_off bigint NOT NULL DEFAULT 0,
    adjustments bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (program_id, member_id),
    FOREIGN KEY (program_id, tier) REFERENCES points.tiers
) WITH (fillfactor = 80);  -- room on each page, so balance updates stay heap-only (HOT)

CREATE SEQUENCE points.journal_entry_ids AS bigint;

-- What an entry records, and the namespace of its idempotency key. Enumerations: constrained by
-- their type, compared as numbers. Later capabilities add their values.
CREATE TYPE points.entry_kind AS ENUM
    ('adjustment.grant', 'adjustment.deduct', 'purchase', 'refund', 'maturation', 'expiry', 'referral');
CREATE TYPE points.key_scope AS ENUM
    ('adjustment', 'purchase', 'refund', 'maturation', 'expiry', 'referral');

-- A journal entry: one business event of one member, never updated or deleted. Its key is
-- unique within the program and its scope (purchases, refunds, adjustments… each have their
-- own); `request` is the caller's content, which a replay of the key must match exactly.
-- Its member exists: entries are written only by functions that hold the member's row lock, and
-- members are never deleted (below). A foreign key would check that again with a query per
-- entry, a tenth of a purchase's cost; `audit verify` checks it instead.
CREATE TABLE points.journal_entries (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    entry_id bigint NOT NULL DEFAULT nextval('points.journal_entry_ids'),
    kind points.entry_kind NOT NULL,
    key_scope points.key_scope NOT NULL,
    idempotency_key points.idempotency_key NOT NULL,
    request jsonb NOT NULL,
    occurred_at points.event_time NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (program_id, member_id, entry_id),
    CONSTRAINT idempotency_key_unique UNIQUE (program_id, key_scope, idempotency_key)
);

-- A posting: a signed amount of points on one account of the entry's member. The postings of
-- an entry sum to zero and are written by one statement; the entry must exist (both checked
-- below, once per statement, instead of a foreign key checked once per row).
CREATE TABLE points.postings (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    entry_id bigint NOT NULL,
    account points.account NOT NULL,
    amount points.amount_not_zero NOT NULL,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (program_id, member_id, entry_id, account)
);

-- Every INSERT into postings must leave the journal balanced: for each entry it touches, the
-- entry exists, and the statement's new postings of that entry sum to zero over at least two
-- lines. Since every statement adds only zero-sum sets, every entry's postings sum to zero and
-- no entry ever has a single posting. Checked once per statement, on the new rows alone.
CREATE FUNCTION points.check_entries_balance() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    unbalanced record;
BEGIN
    SELECT n.entry_id, n.total, n.lines, e.entry_id IS NOT NULL AS entry_exists INTO unbalanced
    -- In key order, so that the probes of a large statement (an import batch) walk the index in
    -- order rather than jump about it (half the cost).
    FROM (SELECT program_id, member_id, entry_id, sum(amount) AS total, count(*) AS lines
          FROM new_postings GROUP BY program_id, member_id, entry_id ORDER BY program_id, member_id, entry_id) AS n
    LEFT JOIN LATERAL (
        SELECT e.entry_id FROM points.journal_entries AS e
        WHERE e.program_id = n.program_id AND e.member_id = n.member_id AND e.entry_id = n.entry_id
        LIMIT 1) AS e ON true
    WHERE n.total <> 0 OR n.lines < 2 OR e.entry_id IS NULL
    LIMIT 1;
    IF FOUND AND NOT unbalanced.entry_exists THEN
        RAISE EXCEPTION 'postings name journal entry %, which does not exist', unbalanced.entry_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'posting_entry_exists';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'journal entry % does not balance: its % new postings sum to %',
                unbalanced.entry_id, unbalanced.lines, unbalanced.total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'entry_balances';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER postings_balance AFTER INSERT ON points.postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION points.check_entries_balance();

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
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON points.postings
    FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON points.postings
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

-- Creates a program with the default tiers; replaying the same content returns it unchanged.
-- Returns status 'created', 'exists' or 'conflict' (same name, other currency or time zone).
CREATE FUNCTION points.create_program(p_name text, p_currency text, p_time_zone text, p_actor points.label_text)
RETURNS TABLE (status text, program_id integer, currency text, time_zone text, created_at timestamptz)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_program points.programs%ROWTYPE;
BEGIN
    INSERT INTO points.programs AS p (name, currency, time_zone, created_by)
    VALUES (p_name, upper(p_currency), p_time_zone, p_actor)
    ON CONFLICT (name) DO NOTHING
    RETURNING p.* INTO v_program;
    IF v_program.program_id IS NULL THEN
        SELECT p.* INTO v_program FROM points.programs AS p WHERE p.name = p_name;
        RETURN QUERY SELECT
            CASE WHEN v_program.currency = upper(p_currency) AND v_program.time_zone = p_time_zone
                 THEN 'exists' ELSE 'conflict' END,
            v_program.program_id, v_program.currency::text, v_program.time_zone, v_program.created_at;
        RETURN;
    END IF;
    INSERT INTO points.tiers (program_id, tier, rank) VALUES
        (v_program.program_id, 'ordinary', 0),
        (v_program.program_id, 'advanced', 1),
        (v_program.program_id, 'premium', 2);
    INSERT INTO points.configuration_changes (program_id, subject, actor, effective_at, after)
    VALUES (v_program.program_id, 'program', p_actor, v_program.created_at,
            jsonb_build_object('name', p_name, 'currency', v_program.currency, 'time_zone', p_time_zone,
                               'tiers', jsonb_build_array('ordinary', 'advanced', 'premium')));
    RETURN QUERY SELECT 'created', v_program.program_id, v_program.currency::text, v_program.time_zone,
        v_program.created_at;
END
$$;

-- Members and the writes that move points (adjustments, purchases, refunds) are created with
-- lots, in 0003_earning.sql.

REVOKE ALL ON ALL TABLES IN SCHEMA points FROM PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA points TO {{writer}}, {{auditor}};
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA points FROM PUBLIC;
