-- The ledger's first release: every table, type, domain, index and table grant in its final
-- shape (RULES.md says what they mean, DESIGN.md how they are built). Functions, and the
-- triggers that call them, are not here: they are the modules in Schema/functions, re-created
-- by `points-admin db migrate` whenever they change. Migrations are a history from here on:
-- never edit this file once released; add the next numbered file for a change.
--
-- The three roles of the ledger (DESIGN.md, principle 8), with the names chosen at the first
-- `points-admin db migrate` ({{owner}}, {{writer}}, {{auditor}} are filled in by the migrator):
--   owner   owns every object and runs migrations;
--   writer  is what checkout systems and apps use: it posts through the ledger's functions and
--           can never update or delete a ledger row;
--   auditor reads everything, and seals the journal; it changes nothing else.
-- They are group roles (NOLOGIN): grant them to the login roles of each system.
-- Roles belong to the whole cluster, so a role that exists already is taken as it is.

-- Text is valid UTF-8 (DESIGN.md, principle 8): in a UTF8 database the server refuses any other
-- bytes, whatever a client sends; SQL_ASCII would store them unchecked.
DO $encoding$
BEGIN
    IF pg_catalog.getdatabaseencoding() <> 'UTF8' THEN
        RAISE EXCEPTION 'database % uses the encoding %; the ledger needs UTF8', current_database(), pg_catalog.getdatabaseencoding()
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Create the database with ENCODING ''UTF8'' (for example: createdb -E UTF8 -T template0 NAME).';
    END IF;
END
$encoding$;

DO $roles$
BEGIN
    BEGIN
        CREATE ROLE {{owner}} NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    BEGIN
        CREATE ROLE {{writer}} NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    BEGIN
        CREATE ROLE {{auditor}} NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    -- A migrator that is not a superuser acts as the owner through membership.
    IF NOT pg_has_role(current_user, {{owner_name}}, 'MEMBER') THEN
        EXECUTE format('GRANT %I TO %I', {{owner_name}}, current_user);
    END IF;
END
$roles$;

CREATE SCHEMA points AUTHORIZATION {{owner}};
GRANT USAGE ON SCHEMA points TO {{writer}}, {{auditor}};
-- Functions are executable by PUBLIC unless revoked; the ledger grants each one explicitly.
ALTER DEFAULT PRIVILEGES FOR ROLE {{owner}} IN SCHEMA points REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE {{owner}} IN SCHEMA points GRANT SELECT ON TABLES TO {{writer}}, {{auditor}};

SET LOCAL ROLE {{owner}};

-- ---------------------------------------------------------------------------------------------
-- Values: domains and enumerations
-- ---------------------------------------------------------------------------------------------

-- Rules of single values are domains, not table CHECK constraints, on the tables that every
-- write touches. PostgreSQL reads and prepares a table's CHECK constraints afresh for each
-- statement that writes the table, and evaluates every one of them on every UPDATE, whichever
-- columns it sets; a domain's check is prepared once per session and runs only where a value is
-- stored. (A purchase updates a member's row and inserts an entry, postings and a lot: sixteen
-- table CHECKs were a fifth of its time on the server.) Table CHECKs remain for rules that span
-- columns.
--
-- Text rules (DESIGN.md, principle 8). Text is valid UTF-8: the database's encoding is UTF8
-- (the check above refuses any other), so the server refuses invalid bytes. No stored text holds a
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

-- A member's birthday, month and day, stored as that day of the leap year 2000: every real
-- month and day is a date of it (29 February too; it counts as 28 February in other years),
-- and no other is.
CREATE DOMAIN points.month_day AS date
    CONSTRAINT month_day_in_2000 CHECK (VALUE >= '2000-01-01' AND VALUE < '2001-01-01');

-- The cap of a task that was full ('day', 'week' or 'month').
CREATE DOMAIN points.cap_period AS text CONSTRAINT cap_period_name CHECK (VALUE IN ('day', 'week', 'month'));

-- The accounts of the ledger. A member has `available` (spendable) and `pending` (earned, not
-- yet spendable); the program has the system accounts, the source and sinks of every point.
CREATE TYPE points.account AS ENUM
    ('available', 'pending', 'issued', 'redeemed', 'expired', 'written_off', 'adjustments');

-- What an entry records, and the namespace of its idempotency key. Enumerations: constrained by
-- their type, compared as numbers.
CREATE TYPE points.entry_kind AS ENUM
    ('adjustment.grant', 'adjustment.deduct', 'purchase', 'refund', 'maturation', 'expiry', 'referral', 'task', 'birthday',
     'redemption', 'capture');
CREATE TYPE points.key_scope AS ENUM
    ('adjustment', 'purchase', 'refund', 'maturation', 'expiry', 'referral', 'task', 'birthday', 'redemption', 'capture');

CREATE TYPE points.tier_change_cause AS ENUM
    ('upgrade', 'evaluation', 'refund', 'grant', 'override', 'grant_end', 'override_end');

-- Holds: a checkout paying with points reserves them first, then captures (all or part; the
-- rest is released), voids, or lets the hold expire. Each hold resolves once.
CREATE TYPE points.hold_state AS ENUM ('open', 'captured', 'voided', 'expired');

-- ---------------------------------------------------------------------------------------------
-- Programs, their settings and tiers
-- ---------------------------------------------------------------------------------------------

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
-- (the check at the top of this file refuses any other), so the server refuses invalid bytes. No stored text holds a
-- character a terminal or a table would act on: C0 and C1 controls, DEL, the line and paragraph
-- separators, and the bidirectional marks, embeddings, overrides and isolates that reorder what
-- is shown. Ids and keys are stricter, so that two ids that look alike are the same bytes: no
-- invisible format character (Unicode category Cf: zero-width spaces and joiners, soft hyphens,
-- word joiners, the byte-order mark, tags...), no U+FFFD (the mark of bytes a client could not
-- decode), no space at either end, and Unicode normalization form NFC. Ids are compared byte by
-- byte; a caller that holds an id in another form normalizes it to NFC before sending it.
-- Function parameters use these domains too, so text that is only kept inside a request's JSON
-- (a reason, an actor) is checked on the way in.

-- Ids and keys (member ids, order ids, idempotency keys) are opaque: they compare byte by byte
-- (COLLATE "C"), whatever the database's locale, which keeps their indexes fast.
CREATE TABLE points.programs (
    program_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE
        CONSTRAINT program_name_format CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    currency char(3) NOT NULL REFERENCES points.currencies,
    -- An IANA zone name (checked by a trigger, functions/program.sql).
    time_zone text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by points.label_text NOT NULL,
    -- Events before this instant belong to periods already evaluated: they still count in their
    -- period's totals, but no longer move tiers.
    tiers_closed_until timestamptz,
    -- The tiers' entry thresholds and multipliers in force from ladder_since on (the latest
    -- versions), in rank order, kept on the program's row so that a posting can tell without a
    -- query its member's multiplier and whether its member reached a higher tier. Refreshed
    -- whenever tier settings change.
    ladder_since timestamptz,
    ladder_tiers text[],
    ladder_points bigint[],
    ladder_spend bigint[],
    ladder_multipliers numeric[]
);

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

-- A program's settings, one row per version: a posting uses the version in force at its
-- occurred_at. The first version is in force from the beginning of time (effective_at
-- '-infinity').
CREATE TABLE points.program_settings (
    program_id integer NOT NULL REFERENCES points.programs,
    effective_at timestamptz NOT NULL,
    -- points per major currency unit (1.25 points per yuan), an exact decimal
    earn_rate numeric NOT NULL CONSTRAINT earn_rate_range CHECK (earn_rate >= 0 AND earn_rate <= 1000000 AND scale(earn_rate) <= 6),
    rounding text NOT NULL CONSTRAINT rounding_mode CHECK (rounding IN ('down', 'up', 'half_up', 'half_even')),
    return_window_days integer NOT NULL CONSTRAINT return_window_range CHECK (return_window_days BETWEEN 0 AND 365),
    refund_policy text NOT NULL CONSTRAINT refund_policy_kind CHECK (refund_policy IN ('negative', 'write_off')),
    expiry_kind text NOT NULL CONSTRAINT expiry_kind CHECK (expiry_kind IN ('never', 'days', 'months', 'years')),
    expiry_count integer CONSTRAINT expiry_count CHECK (
        (expiry_kind = 'never' AND expiry_count IS NULL) OR (expiry_kind <> 'never' AND expiry_count BETWEEN 1 AND 36500)),
    referral_bonus bigint NOT NULL CONSTRAINT referral_bonus_range CHECK (referral_bonus >= 0),
    backdate_days integer NOT NULL CONSTRAINT backdate_days_range CHECK (backdate_days BETWEEN 0 AND 3650),
    -- The program's qualification period and what happens at its end to members below their
    -- tier's retention threshold: 'one_level' (down one tier, never below the highest tier whose
    -- retention threshold they met) or 'requalify' (to that tier).
    tier_period text NOT NULL DEFAULT 'year' CONSTRAINT tier_period_kind CHECK (tier_period IN ('month', 'quarter', 'year')),
    downgrade text NOT NULL DEFAULT 'one_level' CONSTRAINT downgrade_policy CHECK (downgrade IN ('one_level', 'requalify')),
    -- What one point is worth in the program's currency (major units: 0.01 CNY), for valuing the
    -- outstanding points.
    point_value numeric NOT NULL DEFAULT 0.01
        CONSTRAINT point_value_range CHECK (point_value >= 0 AND point_value <= 1000000 AND scale(point_value) <= 8),
    PRIMARY KEY (program_id, effective_at)
);

-- The settings of each tier, one row per version. A member reaches a tier when the qualifying
-- points or the qualifying spend of one period reach its entry threshold (a spend threshold of
-- NULL: spend does not qualify for it), and keeps it at period end when they reach its retention
-- threshold (NULL: the entry threshold). Its multiplier applies to what its members earn, and its
-- birthday bonus is paid once a year.
CREATE TABLE points.tier_settings (
    program_id integer NOT NULL,
    tier text NOT NULL,
    effective_at timestamptz NOT NULL,
    birthday_bonus bigint NOT NULL CONSTRAINT birthday_bonus_range CHECK (birthday_bonus BETWEEN 0 AND 1000000000),
    entry_points bigint NOT NULL DEFAULT 0 CONSTRAINT entry_points_range CHECK (entry_points >= 0),
    entry_spend_minor bigint CONSTRAINT entry_spend_range CHECK (entry_spend_minor >= 0),
    retain_points bigint CONSTRAINT retain_points_range CHECK (retain_points >= 0),
    retain_spend_minor bigint CONSTRAINT retain_spend_range CHECK (retain_spend_minor >= 0),
    multiplier numeric NOT NULL DEFAULT 1
        CONSTRAINT multiplier_range CHECK (multiplier >= 0 AND multiplier <= 100 AND scale(multiplier) <= 4),
    PRIMARY KEY (program_id, tier, effective_at),
    FOREIGN KEY (program_id, tier) REFERENCES points.tiers,
    CONSTRAINT retention_within_entry CHECK (
        coalesce(retain_points, entry_points) <= entry_points
        AND (entry_spend_minor IS NULL OR coalesce(retain_spend_minor, entry_spend_minor) <= entry_spend_minor)
        AND (retain_spend_minor IS NULL OR entry_spend_minor IS NOT NULL))
);

-- A task's settings, one row per version: a completion uses the version in force at its
-- occurred_at. A cap of NULL is no cap. Streak bonuses (check-in only): on the day a streak
-- reaches streak_days[i] it pays streak_points[i]; with a cycle of N days the positions repeat
-- every N days (day N+3 pays like day 3).
CREATE TABLE points.task_settings (
    program_id integer NOT NULL REFERENCES points.programs,
    task text COLLATE "C" NOT NULL CONSTRAINT task_code_format CHECK (task ~ '^[a-z][a-z0-9_-]{0,31}$'),
    effective_at timestamptz NOT NULL,
    points bigint NOT NULL CONSTRAINT task_points_range CHECK (points BETWEEN 0 AND 1000000000),
    cap_day integer CONSTRAINT cap_day_range CHECK (cap_day >= 0),
    cap_week integer CONSTRAINT cap_week_range CHECK (cap_week >= 0),
    cap_month integer CONSTRAINT cap_month_range CHECK (cap_month >= 0),
    qualifying boolean NOT NULL,
    active boolean NOT NULL,
    streak_days integer[] NOT NULL DEFAULT '{}',
    streak_points bigint[] NOT NULL DEFAULT '{}',
    streak_cycle integer CONSTRAINT streak_cycle_range CHECK (streak_cycle BETWEEN 1 AND 366),
    -- Whether the task's points are multiplied by the member's tier multiplier (purchases always are).
    tier_multiplier boolean NOT NULL DEFAULT false,
    PRIMARY KEY (program_id, task, effective_at),
    CONSTRAINT streak_rules_paired CHECK (cardinality(streak_days) = cardinality(streak_points)
        AND 0 < ALL (streak_days) AND 0 <= ALL (streak_points)),
    CONSTRAINT streaks_for_checkin_only CHECK (task = 'checkin' OR (cardinality(streak_days) = 0 AND streak_cycle IS NULL))
);

-- ---------------------------------------------------------------------------------------------
-- Members and the journal
-- ---------------------------------------------------------------------------------------------

-- One row per member: the member's balances, readable in O(1), and the member's bucket of each
-- system account. A program's system account is the sum of its buckets, so no two members'
-- postings ever wait on a shared row (DESIGN.md, principle 3), and every posting touches one
-- member's rows only (principle 7). `held` is the sum of open holds; spendable = available - held.
-- Members are never deleted (a trigger, functions/guards.sql): the journal names them.
CREATE TABLE points.members (
    -- The program exists: the member's tier names it (the foreign key to tiers below), and a
    -- tier's program exists. A second key to programs would cost every new member a query.
    program_id integer NOT NULL,
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
    -- Who referred the member, and when the member first bought (the referral bonus is paid once).
    referrer points.member_key,
    first_purchase_at timestamptz,
    birthday points.month_day,
    -- Where the member's earned tier came from: reached by an upgrade (or an evaluation that
    -- raised it) during the period starting tier_reached_period, from tier_before_upgrade (the
    -- tier held before that period's first upgrade). A tier reached during period P is kept
    -- through P+1.
    tier_reached_period date,
    tier_before_upgrade text,
    -- A grant raises the effective tier until its end; granted_until is the latest end of the
    -- member's grants, so that postings skip the look-up for members without one.
    granted_until timestamptz,
    -- An override sets the earned tier, with a reason, until an optional end, when the earned
    -- tier returns to the one before (override_previous). Not a floor: the next evaluation or
    -- upgrade applies normally and ends the override.
    override_until points.event_time,
    override_previous text,
    -- The qualifying totals of the member's latest period (see qualifying_totals).
    q_period date,
    q_points points.amount_not_negative NOT NULL DEFAULT 0,
    q_spend points.amount_not_negative NOT NULL DEFAULT 0,
    PRIMARY KEY (program_id, member_id),
    FOREIGN KEY (program_id, tier) REFERENCES points.tiers,
    CONSTRAINT members_referrer_fkey FOREIGN KEY (program_id, referrer) REFERENCES points.members
) WITH (fillfactor = 80);  -- room on each page, so balance updates stay heap-only (HOT)

CREATE SEQUENCE points.journal_entry_ids AS bigint;

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
    -- A recorded permission to be older than the back-dating window.
    backdated boolean NOT NULL DEFAULT false,
    PRIMARY KEY (program_id, member_id, entry_id),
    CONSTRAINT idempotency_key_unique UNIQUE (program_id, key_scope, idempotency_key)
);
-- A posting: a signed amount of points on one account of the entry's member. The postings of
-- an entry sum to zero and are written by one statement; the entry must exist (both checked
-- by a trigger, functions/guards.sql, once per statement, instead of a foreign key checked once per row).
CREATE TABLE points.postings (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    entry_id bigint NOT NULL,
    account points.account NOT NULL,
    amount points.amount_not_zero NOT NULL,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (program_id, member_id, entry_id, account)
);

-- Entry ids rise with time, and the journal is append-only, so the ids of a heap page range
-- are narrow: block-range indexes find a block's entries and postings for the cost of a few
-- bytes per 128 pages, and add almost nothing to a posting's write.
CREATE INDEX journal_entries_by_id ON points.journal_entries USING brin (entry_id) WITH (autosummarize = on);
CREATE INDEX postings_by_entry ON points.postings USING brin (entry_id) WITH (autosummarize = on);
CREATE INDEX postings_by_time ON points.postings USING brin (occurred_at) WITH (autosummarize = on);

-- A sealed block: the program's entries with ids in (after_entry_id, last_entry_id], every one
-- of them, hashed with their postings. Blocks are contiguous: each starts after the last entry
-- of the one before, so an entry inserted anywhere in the sealed range changes some block's hash.
--   block_hash = SHA-256(previous_hash || canonical form of the block's entries)
-- where the first block's previous hash is points.genesis_hash(program) and the canonical form
-- is described at points.journal_digest.
CREATE TABLE points.journal_blocks (
    program_id integer NOT NULL REFERENCES points.programs,
    block_no integer NOT NULL CONSTRAINT block_no_positive CHECK (block_no >= 1),
    after_entry_id bigint NOT NULL,
    last_entry_id bigint NOT NULL,
    entries bigint NOT NULL CONSTRAINT block_not_empty CHECK (entries > 0),
    postings bigint NOT NULL CONSTRAINT block_postings CHECK (postings >= 0),
    previous_hash bytea NOT NULL CONSTRAINT previous_hash_size CHECK (length(previous_hash) = 32),
    block_hash bytea NOT NULL CONSTRAINT block_hash_size CHECK (length(block_hash) = 32),
    sealed_at timestamptz NOT NULL DEFAULT now(),
    sealed_by points.label_text NOT NULL,
    PRIMARY KEY (program_id, block_no),
    CONSTRAINT block_range CHECK (last_entry_id > after_entry_id)
);

-- ---------------------------------------------------------------------------------------------
-- Earning: lots, purchases, tasks, qualification
-- ---------------------------------------------------------------------------------------------

CREATE SEQUENCE points.lot_ids AS bigint;

-- A lot: the points of one credit to a member's available account, spent soonest-expiring
-- first. remaining = amount - what allocations took - what expired (checked by audit verify).
CREATE TABLE points.lots (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    lot_id bigint NOT NULL DEFAULT nextval('points.lot_ids'),
    entry_id bigint NOT NULL,
    earned_at timestamptz NOT NULL,
    expires_at timestamptz,
    amount points.amount_positive NOT NULL,
    remaining points.amount_not_negative NOT NULL,
    expired_amount points.amount_not_negative NOT NULL DEFAULT 0,
    CONSTRAINT lot_within_amount CHECK (remaining <= amount AND expired_amount <= amount),
    expired_entry_id bigint,
    -- The entry is written by the same function in the same transaction; `audit verify` checks
    -- that it exists, instead of a foreign key checked row by row on the hot path.
    PRIMARY KEY (program_id, member_id, lot_id)
) WITH (fillfactor = 90);

CREATE INDEX lots_spending_order ON points.lots (program_id, member_id, expires_at NULLS LAST, earned_at, lot_id)
    WHERE remaining > 0;

CREATE INDEX lots_expiring ON points.lots (program_id, expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL;

-- Which lots paid how much of a spend (redemption, capture, clawback, deduction). Append-only.
CREATE TABLE points.lot_allocations (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    entry_id bigint NOT NULL,
    lot_id bigint NOT NULL,
    amount points.amount_positive NOT NULL,
    PRIMARY KEY (program_id, member_id, entry_id, lot_id),
    FOREIGN KEY (program_id, member_id, lot_id) REFERENCES points.lots
);

-- A purchase, by order: what it earned and what refunds have taken back since. The journal's
-- unique key on ('purchase', order id) makes the order unique within the program.
CREATE TABLE points.purchases (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    order_id points.idempotency_key NOT NULL,
    entry_id bigint NOT NULL,
    occurred_at points.event_time NOT NULL,
    amount_minor points.amount_positive NOT NULL,
    points_paid_minor points.amount_not_negative NOT NULL,
    points points.amount_not_negative NOT NULL,
    pending_points points.amount_not_negative NOT NULL,
    matures_at timestamptz,
    matured_entry_id bigint,
    refunded_minor points.amount_not_negative NOT NULL DEFAULT 0,
    clawed_back points.amount_not_negative NOT NULL DEFAULT 0,
    -- Points paid and refunds within the order's amount; pending points and clawbacks within its points.
    CONSTRAINT purchase_within_order CHECK (
        points_paid_minor <= amount_minor AND refunded_minor <= amount_minor AND pending_points <= points AND clawed_back <= points),
    -- Its entry is checked by `audit verify` (see lots).
    PRIMARY KEY (program_id, member_id, order_id)
) WITH (fillfactor = 90);

CREATE INDEX purchases_maturing ON points.purchases (program_id, matures_at) WHERE pending_points > 0;

-- One row per completion, earning or capped: what it earned, on which local day, and for a
-- check-in the streak that day makes. Caps count the earning rows of a day, week and month.
-- Written with its journal entry by complete_task; `audit verify` checks the entry exists.

CREATE TABLE points.task_completions (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    task text COLLATE "C" NOT NULL,
    local_day date NOT NULL,
    entry_id bigint NOT NULL,
    points points.amount_not_negative NOT NULL,
    streak_bonus points.amount_not_negative NOT NULL,
    streak points.amount_positive,
    -- The cap that was full ('day', 'week' or 'month'): the completion earned nothing.
    capped_by points.cap_period,
    PRIMARY KEY (program_id, member_id, task, local_day, entry_id)
);

-- Qualifying points and spend (minor units, net of the part paid with points) per member and
-- period, net of refunds, written in the same call as the posting that changes them. The
-- member's latest period is kept on the member's row (q_period, q_points, q_spend), which every
-- posting updates anyway; this table holds the member's other periods, and never the one on the
-- row: a member's first event in a new period moves the row's totals here.
CREATE TABLE points.qualifying_totals (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    period_start date NOT NULL,
    points points.amount_not_negative NOT NULL,
    spend_minor points.amount_not_negative NOT NULL,
    PRIMARY KEY (program_id, member_id, period_start)
) WITH (fillfactor = 80);

-- ---------------------------------------------------------------------------------------------
-- Tiers: changes, evaluations, grants
-- ---------------------------------------------------------------------------------------------

-- Every change of a member's tier: from, to, cause, when (the instant of the event that caused
-- it), the period and its qualifying totals behind it, and the entry, reason or actor involved.
-- Append-only.
CREATE TABLE points.tier_changes (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    change_id bigint GENERATED ALWAYS AS IDENTITY,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    from_tier text NOT NULL,
    to_tier text NOT NULL,
    cause points.tier_change_cause NOT NULL,
    period_start date,
    qualifying_points bigint,
    qualifying_spend_minor bigint,
    entry_id bigint,
    reason points.label_text,
    actor points.label_text,
    PRIMARY KEY (program_id, member_id, change_id)
);

-- Period-end evaluation: one row per evaluated (or being evaluated) period of a program, with
-- its progress (the last member done, in id order), and the counts of members by the tier they
-- had and the tier they got.
CREATE TABLE points.tier_evaluations (
    program_id integer NOT NULL REFERENCES points.programs,
    period_start date NOT NULL,
    period_kind text NOT NULL,
    period_end timestamptz NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    cursor text COLLATE "C",
    PRIMARY KEY (program_id, period_start)
);

CREATE TABLE points.tier_evaluation_counts (
    program_id integer NOT NULL,
    period_start date NOT NULL,
    from_tier text NOT NULL,
    to_tier text NOT NULL,
    members bigint NOT NULL,
    PRIMARY KEY (program_id, period_start, from_tier, to_tier),
    FOREIGN KEY (program_id, period_start) REFERENCES points.tier_evaluations
);

-- Grants: a tier for a term (a paid membership, a promotion). The effective tier at an instant
-- is the highest of the earned tier and the grants active then; a grant never changes the earned
-- tier.
CREATE TABLE points.tier_grants (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    grant_id bigint GENERATED ALWAYS AS IDENTITY,
    tier text NOT NULL,
    term text NOT NULL CONSTRAINT grant_term CHECK (term IN ('month', 'quarter', 'year')),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    actor points.label_text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    -- Whether the end has been looked at by `jobs tiers` (and recorded, when it lowered the
    -- effective tier).
    end_recorded boolean NOT NULL DEFAULT false,
    PRIMARY KEY (program_id, member_id, grant_id),
    -- A retried grant (same member, tier, term and start) is one grant.
    -- The caller's idempotency key, when given: a retried grant without a stated start is one grant.
    grant_key points.idempotency_key,
    CONSTRAINT grant_once UNIQUE (program_id, member_id, tier, term, starts_at),
    CONSTRAINT grant_key_unique UNIQUE (program_id, grant_key),
    FOREIGN KEY (program_id, tier) REFERENCES points.tiers
);

CREATE INDEX tier_grants_ending ON points.tier_grants (program_id, ends_at) WHERE NOT end_recorded;

-- ---------------------------------------------------------------------------------------------
-- Redemption: rewards, redemptions, holds
-- ---------------------------------------------------------------------------------------------

-- A reward: its cost in points, an optional stock (NULL: unlimited; never below zero), an
-- optional minimum tier and limit per member, and an optional active window. `stock` is what is
-- left; a redemption takes from it in the same statement that checks it.
CREATE TABLE points.rewards (
    program_id integer NOT NULL REFERENCES points.programs,
    reward text COLLATE "C" NOT NULL CONSTRAINT reward_code_format CHECK (reward ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    name points.label_text NOT NULL,
    cost points.amount_positive NOT NULL,
    stock points.amount_not_negative,
    min_tier text,
    limit_per_member points.amount_positive,
    active_from points.event_time,
    active_until points.event_time,
    CONSTRAINT reward_window CHECK (active_until > active_from),
    PRIMARY KEY (program_id, reward),
    FOREIGN KEY (program_id, min_tier) REFERENCES points.tiers
);

-- What each redemption took: the reward and quantity (NULL for a plain spend, with its reason)
-- and the points. Written with its journal entry; append-only.
CREATE TABLE points.redemptions (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    entry_id bigint NOT NULL,
    reward text COLLATE "C",
    quantity integer,
    points points.amount_positive NOT NULL,
    reason points.label_text,
    PRIMARY KEY (program_id, member_id, entry_id)
);

CREATE INDEX redemptions_of_reward ON points.redemptions (program_id, member_id, reward) WHERE reward IS NOT NULL;

-- An open hold's points count in members.held: spendable = available - held.
CREATE TABLE points.holds (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    hold_id bigint GENERATED ALWAYS AS IDENTITY,
    hold_key points.idempotency_key NOT NULL,
    points points.amount_positive NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at points.event_time NOT NULL,
    state points.hold_state NOT NULL DEFAULT 'open',
    captured points.amount_not_negative,
    resolved_at timestamptz,
    -- The capture's journal entry.
    entry_id bigint,
    CONSTRAINT hold_resolved_once CHECK ((state = 'open') = (resolved_at IS NULL) AND (state = 'captured') = (captured IS NOT NULL)
                                         AND captured <= points),
    PRIMARY KEY (program_id, member_id, hold_id),
    CONSTRAINT hold_key_unique UNIQUE (program_id, hold_key)
);

CREATE UNIQUE INDEX holds_by_id ON points.holds (program_id, hold_id);

CREATE INDEX holds_expiring ON points.holds (program_id, expires_at) WHERE state = 'open';

-- ---------------------------------------------------------------------------------------------
-- Bulk import
-- ---------------------------------------------------------------------------------------------

CREATE SEQUENCE points.import_batch_ids AS bigint;

-- In-flight batches only: each is deleted by the call that posts it. Unlogged: a batch lost to
-- a crash is simply sent again (its lines are idempotent by order id).
CREATE UNLOGGED TABLE points.import_staging (
    batch_id bigint NOT NULL,
    line bigint NOT NULL,
    order_id points.idempotency_key NOT NULL,
    member_id points.member_key NOT NULL,
    amount_minor bigint NOT NULL,
    points_paid_minor bigint NOT NULL,
    occurred_at points.event_time NOT NULL,
    referrer points.member_key
);

CREATE INDEX import_staging_batch ON points.import_staging (batch_id);

-- ---------------------------------------------------------------------------------------------
-- Table privileges: the writer and the auditor read every table; the writer writes only
-- through the ledger's functions, and stages import batches.
-- ---------------------------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA points FROM PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA points TO {{writer}}, {{auditor}};
GRANT INSERT ON points.import_staging TO {{writer}};
GRANT USAGE ON SEQUENCE points.import_batch_ids TO {{writer}};
