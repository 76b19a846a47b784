CREATE SCHEMA points;

CREATE TYPE points.account AS ENUM (
    'available',
    'pending',
    'issued',
    'redeemed',
    'expired',
    'written_off',
    'adjustments'
);

CREATE TYPE points.adjust_status AS ENUM (
    'posted',
    'replayed',
    'conflict',
    'insufficient_points',
    'unknown_member',
    'in_future',
    'too_old',
    'before_settings'
);

CREATE DOMAIN points.amount_not_negative AS bigint
	CONSTRAINT amount_not_negative CHECK ((VALUE >= 0));

CREATE DOMAIN points.amount_not_zero AS bigint
	CONSTRAINT amount_not_zero CHECK ((VALUE <> 0));

CREATE DOMAIN points.amount_positive AS bigint
	CONSTRAINT amount_positive CHECK ((VALUE > 0));

CREATE TYPE points.api_role AS ENUM (
    'checkout',
    'app',
    'finance'
);

CREATE DOMAIN points.cap_period AS text
	CONSTRAINT cap_period_name CHECK ((VALUE = ANY (ARRAY['day'::text, 'week'::text, 'month'::text])));

CREATE TYPE points.complete_task_status AS ENUM (
    'completed',
    'replayed',
    'conflict',
    'unknown_member',
    'unknown_task',
    'inactive',
    'bad_ref',
    'in_future',
    'too_old',
    'before_settings'
);

CREATE TYPE points.create_hold_status AS ENUM (
    'held',
    'replayed',
    'conflict',
    'unknown_member',
    'insufficient_points'
);

CREATE TYPE points.create_member_status AS ENUM (
    'created',
    'exists',
    'conflict',
    'unknown_referrer'
);

CREATE TYPE points.create_program_status AS ENUM (
    'created',
    'exists',
    'conflict'
);

CREATE TYPE points.entry_kind AS ENUM (
    'adjustment.grant',
    'adjustment.deduct',
    'purchase',
    'refund',
    'maturation',
    'expiry',
    'referral',
    'task',
    'birthday',
    'redemption',
    'capture'
);

CREATE DOMAIN points.event_time AS timestamp with time zone
	CONSTRAINT event_time_range CHECK (((VALUE >= '1899-12-31 00:00:00+00'::timestamp with time zone) AND (VALUE < '10000-01-02 00:00:00+00'::timestamp with time zone)));

CREATE TYPE points.grant_tier_status AS ENUM (
    'granted',
    'exists',
    'conflict',
    'unknown_member',
    'unknown_tier'
);

CREATE TYPE points.history_kind AS ENUM (
    'refund',
    'redemption',
    'adjustment',
    'task'
);

CREATE TYPE points.hold_state AS ENUM (
    'open',
    'captured',
    'voided',
    'expired'
);

CREATE DOMAIN points.id_text AS text COLLATE pg_catalog."C"
	CONSTRAINT id_text_format CHECK (((VALUE <> ''::text) AND (VALUE !~ '[\x01-\x1f\x7f-\x9f\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffd\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]'::text) AND (VALUE !~ '^[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]|[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]$'::text) AND (VALUE IS NFC NORMALIZED)));

CREATE DOMAIN points.idempotency_key AS points.id_text
	CONSTRAINT idempotency_key_length CHECK ((length((VALUE)::text) <= 200));

CREATE TYPE points.import_purchase_batch_status AS ENUM (
    'accepted',
    'duplicate',
    'rejected'
);

CREATE TYPE points.key_scope AS ENUM (
    'adjustment',
    'purchase',
    'refund',
    'maturation',
    'expiry',
    'referral',
    'task',
    'birthday',
    'redemption',
    'capture'
);

CREATE DOMAIN points.label_text AS text
	CONSTRAINT label_text_format CHECK (((VALUE <> ''::text) AND (length(VALUE) <= 1000) AND (VALUE !~ '[\x01-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]'::text)));

CREATE DOMAIN points.member_key AS points.id_text
	CONSTRAINT member_id_length CHECK ((length((VALUE)::text) <= 128));

CREATE DOMAIN points.month_day AS date
	CONSTRAINT month_day_in_2000 CHECK (((VALUE >= '2000-01-01'::date) AND (VALUE < '2001-01-01'::date)));

CREATE TYPE points.override_tier_status AS ENUM (
    'overridden',
    'unchanged',
    'unknown_member',
    'unknown_tier'
);

CREATE TYPE points.purchase_status AS ENUM (
    'posted',
    'replayed',
    'conflict',
    'unknown_member',
    'in_future',
    'too_old',
    'before_settings'
);

CREATE TYPE points.redeem_status AS ENUM (
    'redeemed',
    'replayed',
    'conflict',
    'unknown_member',
    'unknown_reward',
    'inactive',
    'tier_too_low',
    'limit_reached',
    'insufficient_points',
    'out_of_stock',
    'in_future',
    'too_old',
    'before_settings'
);

CREATE TYPE points.refund_status AS ENUM (
    'refunded',
    'replayed',
    'conflict',
    'unknown_order',
    'exceeds_order',
    'before_purchase',
    'in_future',
    'too_old',
    'before_settings'
);

CREATE TYPE points.resolve_hold_status AS ENUM (
    'captured',
    'voided',
    'replayed',
    'resolved',
    'unknown_hold',
    'exceeds_hold',
    'insufficient_points'
);

CREATE TYPE points.set_program_settings_status AS ENUM (
    'changed',
    'unchanged',
    'in_past',
    'tier_period_mid_year'
);

CREATE TYPE points.set_reward_status AS ENUM (
    'created',
    'changed',
    'unchanged',
    'incomplete',
    'unknown_tier'
);

CREATE TYPE points.set_task_status AS ENUM (
    'changed',
    'unchanged',
    'in_past',
    'unknown_task'
);

CREATE TYPE points.set_tier_status AS ENUM (
    'changed',
    'unchanged',
    'in_past',
    'unknown_tier',
    'rank_taken',
    'rank_fixed'
);

CREATE TYPE points.tier_change_cause AS ENUM (
    'upgrade',
    'evaluation',
    'refund',
    'grant',
    'override',
    'grant_end',
    'override_end'
);

CREATE TABLE points.programs (
    program_id integer NOT NULL,
    name text NOT NULL,
    currency character(3) NOT NULL,
    time_zone text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by points.label_text NOT NULL,
    tiers_closed_until timestamp with time zone,
    ladder_since timestamp with time zone,
    ladder_tiers text[],
    ladder_points bigint[],
    ladder_spend bigint[],
    ladder_multipliers numeric[],
    CONSTRAINT program_name_format CHECK ((name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'::text))
);

CREATE TABLE points.members (
    program_id integer NOT NULL,
    member_id points.member_key NOT NULL,
    tier text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    available bigint DEFAULT 0 NOT NULL,
    pending points.amount_not_negative DEFAULT 0 NOT NULL,
    held points.amount_not_negative DEFAULT 0 NOT NULL,
    issued bigint DEFAULT 0 NOT NULL,
    redeemed bigint DEFAULT 0 NOT NULL,
    expired bigint DEFAULT 0 NOT NULL,
    written_off bigint DEFAULT 0 NOT NULL,
    adjustments bigint DEFAULT 0 NOT NULL,
    referrer points.member_key,
    first_purchase_at timestamp with time zone,
    birthday points.month_day,
    tier_reached_period date,
    tier_before_upgrade text,
    granted_until timestamp with time zone,
    override_until points.event_time,
    override_previous text,
    q_period date,
    q_points points.amount_not_negative DEFAULT 0 NOT NULL,
    q_spend points.amount_not_negative DEFAULT 0 NOT NULL
)
WITH (fillfactor='80');

CREATE TABLE points.rewards (
    program_id integer NOT NULL,
    reward text NOT NULL COLLATE pg_catalog."C",
    name points.label_text NOT NULL,
    cost points.amount_positive NOT NULL,
    stock points.amount_not_negative,
    min_tier text,
    limit_per_member points.amount_positive,
    active_from points.event_time,
    active_until points.event_time,
    CONSTRAINT reward_code_format CHECK ((reward ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'::text)),
    CONSTRAINT reward_window CHECK (((active_until)::timestamp with time zone > (active_from)::timestamp with time zone))
);

CREATE TABLE points.program_settings (
    program_id integer NOT NULL,
    effective_at timestamp with time zone NOT NULL,
    earn_rate numeric NOT NULL,
    rounding text NOT NULL,
    return_window_days integer NOT NULL,
    refund_policy text NOT NULL,
    expiry_kind text NOT NULL,
    expiry_count integer,
    referral_bonus bigint NOT NULL,
    backdate_days integer NOT NULL,
    tier_period text DEFAULT 'year'::text NOT NULL,
    downgrade text DEFAULT 'one_level'::text NOT NULL,
    point_value numeric DEFAULT 0.01 NOT NULL,
    CONSTRAINT backdate_days_range CHECK (((backdate_days >= 0) AND (backdate_days <= 3650))),
    CONSTRAINT downgrade_policy CHECK ((downgrade = ANY (ARRAY['one_level'::text, 'requalify'::text]))),
    CONSTRAINT earn_rate_range CHECK (((earn_rate >= (0)::numeric) AND (earn_rate <= (1000000)::numeric) AND (scale(earn_rate) <= 6))),
    CONSTRAINT expiry_count CHECK ((((expiry_kind = 'never'::text) AND (expiry_count IS NULL)) OR ((expiry_kind <> 'never'::text) AND ((expiry_count >= 1) AND (expiry_count <= 36500))))),
    CONSTRAINT expiry_kind CHECK ((expiry_kind = ANY (ARRAY['never'::text, 'days'::text, 'months'::text, 'years'::text]))),
    CONSTRAINT point_value_range CHECK (((point_value >= (0)::numeric) AND (point_value <= (1000000)::numeric) AND (scale(point_value) <= 8))),
    CONSTRAINT referral_bonus_range CHECK ((referral_bonus >= 0)),
    CONSTRAINT refund_policy_kind CHECK ((refund_policy = ANY (ARRAY['negative'::text, 'write_off'::text]))),
    CONSTRAINT return_window_range CHECK (((return_window_days >= 0) AND (return_window_days <= 365))),
    CONSTRAINT rounding_mode CHECK ((rounding = ANY (ARRAY['down'::text, 'up'::text, 'half_up'::text, 'half_even'::text]))),
    CONSTRAINT tier_period_kind CHECK ((tier_period = ANY (ARRAY['month'::text, 'quarter'::text, 'year'::text])))
);

CREATE TABLE points.api_keys (
    key_id bigint NOT NULL,
    program_id integer NOT NULL,
    role points.api_role NOT NULL,
    name points.label_text NOT NULL,
    secret_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by points.label_text NOT NULL,
    revoked_at timestamp with time zone,
    revoked_by points.label_text,
    CONSTRAINT api_key_hash_is_sha256 CHECK ((octet_length(secret_hash) = 32)),
    CONSTRAINT api_key_revoked_by_someone CHECK (((revoked_at IS NULL) = (revoked_by IS NULL)))
);

ALTER TABLE points.api_keys ALTER COLUMN key_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME points.api_keys_key_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE points.configuration_changes (
    change_id bigint NOT NULL,
    program_id integer NOT NULL,
    subject text NOT NULL,
    actor points.label_text NOT NULL,
    changed_at timestamp with time zone DEFAULT now() NOT NULL,
    effective_at points.event_time NOT NULL,
    before jsonb,
    after jsonb NOT NULL
);

ALTER TABLE points.configuration_changes ALTER COLUMN change_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME points.configuration_changes_change_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE points.currencies (
    currency character(3) NOT NULL,
    exponent smallint NOT NULL,
    CONSTRAINT currencies_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT currencies_exponent_check CHECK (((exponent >= 0) AND (exponent <= 4)))
);

CREATE TABLE points.holds (
    program_id integer NOT NULL,
    member_id text NOT NULL COLLATE pg_catalog."C",
    hold_id bigint NOT NULL,
    hold_key points.idempotency_key NOT NULL,
    points points.amount_positive NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at points.event_time NOT NULL,
    state points.hold_state DEFAULT 'open'::points.hold_state NOT NULL,
    captured points.amount_not_negative,
    resolved_at timestamp with time zone,
    entry_id bigint,
    order_id points.idempotency_key,
    available_after bigint,
    held_after bigint,
    resolved_available_after bigint,
    resolved_held_after bigint,
    CONSTRAINT hold_resolved_once CHECK ((((state = 'open'::points.hold_state) = (resolved_at IS NULL)) AND ((state = 'captured'::points.hold_state) = (captured IS NOT NULL)) AND ((captured)::bigint <= (points)::bigint)))
);

ALTER TABLE points.holds ALTER COLUMN hold_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME points.holds_hold_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE SEQUENCE points.import_batch_ids
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

CREATE UNLOGGED TABLE points.import_history_staging (
    batch_id bigint NOT NULL,
    line bigint NOT NULL,
    staged_by xid8 DEFAULT pg_current_xact_id() NOT NULL,
    record_key points.idempotency_key,
    member_id points.member_key,
    order_id points.idempotency_key,
    points bigint,
    amount_minor bigint,
    reward text,
    quantity integer,
    reason points.label_text,
    actor points.label_text,
    task text,
    occurred_at points.event_time NOT NULL,
    expires_at points.event_time
);

CREATE UNLOGGED TABLE points.import_staging (
    batch_id bigint NOT NULL,
    line bigint NOT NULL,
    order_id points.idempotency_key NOT NULL,
    member_id points.member_key NOT NULL,
    amount_minor bigint NOT NULL,
    points_paid_minor bigint NOT NULL,
    occurred_at points.event_time NOT NULL,
    referrer points.member_key,
    staged_by xid8 DEFAULT pg_current_xact_id() NOT NULL
);

CREATE TABLE points.journal_blocks (
    program_id integer NOT NULL,
    block_no integer NOT NULL,
    after_entry_id bigint NOT NULL,
    last_entry_id bigint NOT NULL,
    entries bigint NOT NULL,
    postings bigint NOT NULL,
    previous_hash bytea NOT NULL,
    block_hash bytea NOT NULL,
    sealed_at timestamp with time zone DEFAULT now() NOT NULL,
    sealed_by points.label_text NOT NULL,
    fingerprint bigint,
    CONSTRAINT block_hash_size CHECK ((length(block_hash) = 32)),
    CONSTRAINT block_no_positive CHECK ((block_no >= 1)),
    CONSTRAINT block_not_empty CHECK ((entries > 0)),
    CONSTRAINT block_postings CHECK ((postings >= 0)),
    CONSTRAINT block_range CHECK ((last_entry_id > after_entry_id)),
    CONSTRAINT previous_hash_size CHECK ((length(previous_hash) = 32))
);

CREATE SEQUENCE points.journal_entry_ids
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

CREATE TABLE points.journal_entries (
    program_id integer NOT NULL,
    member_id text NOT NULL COLLATE pg_catalog."C",
    entry_id bigint DEFAULT nextval('points.journal_entry_ids'::regclass) NOT NULL,
    kind points.entry_kind NOT NULL,
    key_scope points.key_scope NOT NULL,
    idempotency_key points.idempotency_key NOT NULL,
    request jsonb NOT NULL,
    occurred_at points.event_time NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    backdated boolean DEFAULT false NOT NULL,
    key_member text GENERATED ALWAYS AS (
CASE
    WHEN (key_scope = 'task'::points.key_scope) THEN member_id
    ELSE ''::text
END) STORED NOT NULL COLLATE pg_catalog."C"
);

CREATE TABLE points.lot_allocations (
    program_id integer NOT NULL,
    member_id text NOT NULL COLLATE pg_catalog."C",
    entry_id bigint NOT NULL,
    lot_id bigint NOT NULL,
    amount points.amount_positive NOT NULL
);

CREATE SEQUENCE points.lot_ids
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

CREATE TABLE points.lots (
    program_id integer NOT NULL,
    member_id text NOT NULL COLLATE pg_catalog."C",
    lot_id bigint DEFAULT nextval('points.lot_ids'::regclass) NOT NULL,
    entry_id bigint NOT NULL,
    earned_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone,
    amount points.amount_positive NOT NULL,
    remaining points.amount_not_negative NOT NULL,
    expired_amount points.amount_not_negative DEFAULT 0 NOT NULL,
    expired_entry_id bigint,
    CONSTRAINT lot_within_amount CHECK ((((remaining)::bigint <= (amount)::bigint) AND ((expired_amount)::bigint <= (amount)::bigint)))
)
WITH (fillfactor='90');

CREATE TABLE points.movements (
    program_id integer NOT NULL,
    member_id text NOT NULL COLLATE pg_catalog."C",
    entry_id bigint NOT NULL,
    leg smallint NOT NULL,
    from_account points.account NOT NULL,
    to_account points.account NOT NULL,
    amount bigint NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    CONSTRAINT movement_amount_positive CHECK ((amount > 0)),
    CONSTRAINT movement_between_two_accounts CHECK ((from_account <> to_account)),
    CONSTRAINT movement_leg_positive CHECK ((leg >= 1))
);

CREATE VIEW points.postings AS
 SELECT m.program_id,
    m.member_id,
    m.entry_id,
    m.account,
    (sum(m.amount))::bigint AS amount,
    m.occurred_at
   FROM ( SELECT movements.program_id,
            movements.member_id,
            movements.entry_id,
            movements.from_account AS account,
            (- movements.amount) AS amount,
            movements.occurred_at
           FROM points.movements
        UNION ALL
         SELECT movements.program_id,
            movements.member_id,
            movements.entry_id,
            movements.to_account,
            movements.amount,
            movements.occurred_at
           FROM points.movements) m
  GROUP BY m.program_id, m.member_id, m.entry_id, m.account, m.occurred_at
 HAVING (sum(m.amount) <> (0)::numeric);

ALTER TABLE points.programs ALTER COLUMN program_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME points.programs_program_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE points.purchases (
    program_id integer NOT NULL,
    member_id text NOT NULL COLLATE pg_catalog."C",
    order_id points.idempotency_key NOT NULL,
    entry_id bigint NOT NULL,
    occurred_at points.event_time NOT NULL,
    amount_minor points.amount_positive NOT NULL,
    points_paid_minor points.amount_not_negative NOT NULL,
    points points.amount_not_negative NOT NULL,
    pending_points points.amount_not_negative NOT NULL,
    matures_at timestamp with time zone,
    matured_entry_id bigint,
    refunded_minor points.amount_not_negative DEFAULT 0 NOT NULL,
    clawed_back points.amount_not_negative DEFAULT 0 NOT NULL,
    points_returned points.amount_not_negative DEFAULT 0 NOT NULL,
    available_after bigint,
    pending_after bigint,
    CONSTRAINT purchase_within_order CHECK ((((points_paid_minor)::bigint <= (amount_minor)::bigint) AND ((refunded_minor)::bigint <= (amount_minor)::bigint) AND ((pending_points)::bigint <= (points)::bigint) AND ((clawed_back)::bigint <= (points)::bigint)))
)
WITH (fillfactor='90');

CREATE TABLE points.qualifying_totals (
    program_id integer NOT NULL,
    member_id text NOT NULL COLLATE pg_catalog."C",
    period_start date NOT NULL,
    points points.amount_not_negative NOT NULL,
    spend_minor points.amount_not_negative NOT NULL
)
WITH (fillfactor='80');

CREATE TABLE points.redemptions (
    program_id integer NOT NULL,
    member_id text NOT NULL COLLATE pg_catalog."C",
    entry_id bigint NOT NULL,
    reward text COLLATE pg_catalog."C",
    quantity integer,
    points points.amount_positive NOT NULL,
    reason points.label_text,
    available_after bigint,
    held_after bigint,
    stock_left bigint
);

CREATE TABLE points.task_completions (
    program_id integer NOT NULL,
    member_id text NOT NULL COLLATE pg_catalog."C",
    task text NOT NULL COLLATE pg_catalog."C",
    local_day date NOT NULL,
    entry_id bigint NOT NULL,
    points points.amount_not_negative NOT NULL,
    streak_bonus points.amount_not_negative NOT NULL,
    streak points.amount_positive,
    capped_by points.cap_period,
    available_after bigint,
    cap_reached boolean
);

CREATE TABLE points.task_settings (
    program_id integer NOT NULL,
    task text NOT NULL COLLATE pg_catalog."C",
    effective_at timestamp with time zone NOT NULL,
    points bigint NOT NULL,
    cap_day integer,
    cap_week integer,
    cap_month integer,
    qualifying boolean NOT NULL,
    active boolean NOT NULL,
    streak_days integer[] DEFAULT '{}'::integer[] NOT NULL,
    streak_points bigint[] DEFAULT '{}'::bigint[] NOT NULL,
    streak_cycle integer,
    tier_multiplier boolean DEFAULT false NOT NULL,
    CONSTRAINT cap_day_range CHECK ((cap_day >= 0)),
    CONSTRAINT cap_month_range CHECK ((cap_month >= 0)),
    CONSTRAINT cap_week_range CHECK ((cap_week >= 0)),
    CONSTRAINT streak_cycle_range CHECK (((streak_cycle >= 1) AND (streak_cycle <= 366))),
    CONSTRAINT streak_rules_paired CHECK (((cardinality(streak_days) = cardinality(streak_points)) AND (0 < ALL (streak_days)) AND (0 <= ALL (streak_points)))),
    CONSTRAINT streaks_for_checkin_only CHECK (((task = 'checkin'::text) OR ((cardinality(streak_days) = 0) AND (streak_cycle IS NULL)))),
    CONSTRAINT task_code_format CHECK ((task ~ '^[a-z][a-z0-9_-]{0,31}$'::text)),
    CONSTRAINT task_points_range CHECK (((points >= 0) AND (points <= 1000000000)))
);

CREATE TABLE points.tier_changes (
    program_id integer NOT NULL,
    member_id text NOT NULL COLLATE pg_catalog."C",
    change_id bigint NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    from_tier text NOT NULL,
    to_tier text NOT NULL,
    cause points.tier_change_cause NOT NULL,
    period_start date,
    qualifying_points bigint,
    qualifying_spend_minor bigint,
    entry_id bigint,
    reason points.label_text,
    actor points.label_text
);

ALTER TABLE points.tier_changes ALTER COLUMN change_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME points.tier_changes_change_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE points.tier_evaluation_counts (
    program_id integer NOT NULL,
    period_start date NOT NULL,
    from_tier text NOT NULL,
    to_tier text NOT NULL,
    members bigint NOT NULL
);

CREATE TABLE points.tier_evaluations (
    program_id integer NOT NULL,
    period_start date NOT NULL,
    period_kind text NOT NULL,
    period_end timestamp with time zone NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    cursor text COLLATE pg_catalog."C"
);

CREATE TABLE points.tier_grants (
    program_id integer NOT NULL,
    member_id text NOT NULL COLLATE pg_catalog."C",
    grant_id bigint NOT NULL,
    tier text NOT NULL,
    term text NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    actor points.label_text NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    end_recorded boolean DEFAULT false NOT NULL,
    grant_key points.idempotency_key,
    CONSTRAINT grant_term CHECK ((term = ANY (ARRAY['month'::text, 'quarter'::text, 'year'::text])))
);

ALTER TABLE points.tier_grants ALTER COLUMN grant_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME points.tier_grants_grant_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE points.tier_settings (
    program_id integer NOT NULL,
    tier text NOT NULL,
    effective_at timestamp with time zone NOT NULL,
    birthday_bonus bigint NOT NULL,
    entry_points bigint DEFAULT 0 NOT NULL,
    entry_spend_minor bigint,
    retain_points bigint,
    retain_spend_minor bigint,
    multiplier numeric DEFAULT 1 NOT NULL,
    CONSTRAINT birthday_bonus_range CHECK (((birthday_bonus >= 0) AND (birthday_bonus <= 1000000000))),
    CONSTRAINT entry_points_range CHECK ((entry_points >= 0)),
    CONSTRAINT entry_spend_range CHECK ((entry_spend_minor >= 0)),
    CONSTRAINT multiplier_range CHECK (((multiplier >= (0)::numeric) AND (multiplier <= (100)::numeric) AND (scale(multiplier) <= 4))),
    CONSTRAINT retain_points_range CHECK ((retain_points >= 0)),
    CONSTRAINT retain_spend_range CHECK ((retain_spend_minor >= 0)),
    CONSTRAINT retention_within_entry CHECK (((COALESCE(retain_points, entry_points) <= entry_points) AND ((entry_spend_minor IS NULL) OR (COALESCE(retain_spend_minor, entry_spend_minor) <= entry_spend_minor)) AND ((retain_spend_minor IS NULL) OR (entry_spend_minor IS NOT NULL))))
);

CREATE TABLE points.tiers (
    program_id integer NOT NULL,
    tier text NOT NULL,
    rank smallint NOT NULL,
    CONSTRAINT tier_name_format CHECK ((tier ~ '^[a-z][a-z0-9_-]{0,31}$'::text)),
    CONSTRAINT tiers_rank_check CHECK ((rank >= 0))
);

ALTER TABLE ONLY points.api_keys
    ADD CONSTRAINT api_key_hash_unique UNIQUE (secret_hash);

ALTER TABLE ONLY points.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (key_id);

ALTER TABLE ONLY points.configuration_changes
    ADD CONSTRAINT configuration_changes_pkey PRIMARY KEY (change_id);

ALTER TABLE ONLY points.currencies
    ADD CONSTRAINT currencies_pkey PRIMARY KEY (currency);

ALTER TABLE ONLY points.tier_grants
    ADD CONSTRAINT grant_key_unique UNIQUE (program_id, grant_key);

ALTER TABLE ONLY points.tier_grants
    ADD CONSTRAINT grant_once UNIQUE (program_id, member_id, tier, term, starts_at);

ALTER TABLE ONLY points.holds
    ADD CONSTRAINT hold_key_unique UNIQUE (program_id, hold_key);

ALTER TABLE ONLY points.holds
    ADD CONSTRAINT holds_pkey PRIMARY KEY (program_id, member_id, hold_id);

ALTER TABLE ONLY points.journal_entries
    ADD CONSTRAINT idempotency_key_unique UNIQUE (program_id, key_scope, idempotency_key, key_member);

ALTER TABLE ONLY points.journal_blocks
    ADD CONSTRAINT journal_blocks_pkey PRIMARY KEY (program_id, block_no);

ALTER TABLE ONLY points.journal_entries
    ADD CONSTRAINT journal_entries_pkey PRIMARY KEY (program_id, member_id, entry_id);

ALTER TABLE ONLY points.lot_allocations
    ADD CONSTRAINT lot_allocations_pkey PRIMARY KEY (program_id, member_id, entry_id, lot_id);

ALTER TABLE ONLY points.lots
    ADD CONSTRAINT lots_pkey PRIMARY KEY (program_id, member_id, lot_id);

ALTER TABLE ONLY points.members
    ADD CONSTRAINT members_pkey PRIMARY KEY (program_id, member_id);

ALTER TABLE ONLY points.movements
    ADD CONSTRAINT movements_pkey PRIMARY KEY (program_id, member_id, entry_id, leg);

ALTER TABLE points.program_settings
    ADD CONSTRAINT point_value_positive CHECK ((point_value > (0)::numeric)) NOT VALID;

ALTER TABLE ONLY points.program_settings
    ADD CONSTRAINT program_settings_pkey PRIMARY KEY (program_id, effective_at);

ALTER TABLE ONLY points.programs
    ADD CONSTRAINT programs_name_key UNIQUE (name);

ALTER TABLE ONLY points.programs
    ADD CONSTRAINT programs_pkey PRIMARY KEY (program_id);

ALTER TABLE ONLY points.purchases
    ADD CONSTRAINT purchases_pkey PRIMARY KEY (program_id, member_id, order_id);

ALTER TABLE ONLY points.qualifying_totals
    ADD CONSTRAINT qualifying_totals_pkey PRIMARY KEY (program_id, member_id, period_start);

ALTER TABLE ONLY points.redemptions
    ADD CONSTRAINT redemptions_pkey PRIMARY KEY (program_id, member_id, entry_id);

ALTER TABLE ONLY points.rewards
    ADD CONSTRAINT rewards_pkey PRIMARY KEY (program_id, reward);

ALTER TABLE ONLY points.task_completions
    ADD CONSTRAINT task_completions_pkey PRIMARY KEY (program_id, member_id, task, local_day, entry_id);

ALTER TABLE ONLY points.task_settings
    ADD CONSTRAINT task_settings_pkey PRIMARY KEY (program_id, task, effective_at);

ALTER TABLE ONLY points.tier_changes
    ADD CONSTRAINT tier_changes_pkey PRIMARY KEY (program_id, member_id, change_id);

ALTER TABLE ONLY points.tier_evaluation_counts
    ADD CONSTRAINT tier_evaluation_counts_pkey PRIMARY KEY (program_id, period_start, from_tier, to_tier);

ALTER TABLE ONLY points.tier_evaluations
    ADD CONSTRAINT tier_evaluations_pkey PRIMARY KEY (program_id, period_start);

ALTER TABLE ONLY points.tier_grants
    ADD CONSTRAINT tier_grants_pkey PRIMARY KEY (program_id, member_id, grant_id);

ALTER TABLE ONLY points.tier_settings
    ADD CONSTRAINT tier_settings_pkey PRIMARY KEY (program_id, tier, effective_at);

ALTER TABLE ONLY points.tiers
    ADD CONSTRAINT tiers_pkey PRIMARY KEY (program_id, tier);

ALTER TABLE ONLY points.tiers
    ADD CONSTRAINT tiers_program_id_rank_key UNIQUE (program_id, rank);

CREATE UNIQUE INDEX api_key_name_in_force ON points.api_keys USING btree (program_id, name) WHERE (revoked_at IS NULL);

CREATE UNIQUE INDEX holds_by_id ON points.holds USING btree (program_id, hold_id);

CREATE INDEX holds_expiring ON points.holds USING btree (program_id, expires_at) WHERE (state = 'open'::points.hold_state);

CREATE UNIQUE INDEX import_history_staging_batch ON points.import_history_staging USING btree (batch_id, line);

CREATE UNIQUE INDEX import_staging_batch ON points.import_staging USING btree (batch_id, line);

CREATE INDEX journal_entries_by_id ON points.journal_entries USING brin (entry_id) WITH (autosummarize='on');

CREATE INDEX lots_expiring ON points.lots USING btree (program_id, expires_at) WHERE (((remaining)::bigint > 0) AND (expires_at IS NOT NULL));

CREATE INDEX lots_spending_order ON points.lots USING btree (program_id, member_id, expires_at, earned_at, lot_id) WHERE ((remaining)::bigint > 0);

CREATE INDEX movements_by_entry ON points.movements USING brin (entry_id) WITH (autosummarize='on');

CREATE INDEX movements_by_time ON points.movements USING brin (occurred_at) WITH (autosummarize='on');

CREATE INDEX purchases_maturing ON points.purchases USING btree (program_id, matures_at) WHERE ((pending_points)::bigint > 0);

CREATE INDEX redemptions_of_reward ON points.redemptions USING btree (program_id, member_id, reward) WHERE (reward IS NOT NULL);

CREATE INDEX tier_grants_ending ON points.tier_grants USING btree (program_id, ends_at) WHERE (NOT end_recorded);

ALTER TABLE ONLY points.api_keys
    ADD CONSTRAINT api_keys_program_id_fkey FOREIGN KEY (program_id) REFERENCES points.programs(program_id);

ALTER TABLE ONLY points.configuration_changes
    ADD CONSTRAINT configuration_changes_program_id_fkey FOREIGN KEY (program_id) REFERENCES points.programs(program_id);

ALTER TABLE ONLY points.journal_blocks
    ADD CONSTRAINT journal_blocks_program_id_fkey FOREIGN KEY (program_id) REFERENCES points.programs(program_id);

ALTER TABLE ONLY points.lot_allocations
    ADD CONSTRAINT lot_allocations_program_id_member_id_lot_id_fkey FOREIGN KEY (program_id, member_id, lot_id) REFERENCES points.lots(program_id, member_id, lot_id);

ALTER TABLE ONLY points.members
    ADD CONSTRAINT members_program_id_tier_fkey FOREIGN KEY (program_id, tier) REFERENCES points.tiers(program_id, tier);

ALTER TABLE ONLY points.members
    ADD CONSTRAINT members_referrer_fkey FOREIGN KEY (program_id, referrer) REFERENCES points.members(program_id, member_id);

ALTER TABLE ONLY points.program_settings
    ADD CONSTRAINT program_settings_program_id_fkey FOREIGN KEY (program_id) REFERENCES points.programs(program_id);

ALTER TABLE ONLY points.programs
    ADD CONSTRAINT programs_currency_fkey FOREIGN KEY (currency) REFERENCES points.currencies(currency);

ALTER TABLE ONLY points.rewards
    ADD CONSTRAINT rewards_program_id_fkey FOREIGN KEY (program_id) REFERENCES points.programs(program_id);

ALTER TABLE ONLY points.rewards
    ADD CONSTRAINT rewards_program_id_min_tier_fkey FOREIGN KEY (program_id, min_tier) REFERENCES points.tiers(program_id, tier);

ALTER TABLE ONLY points.task_settings
    ADD CONSTRAINT task_settings_program_id_fkey FOREIGN KEY (program_id) REFERENCES points.programs(program_id);

ALTER TABLE ONLY points.tier_evaluation_counts
    ADD CONSTRAINT tier_evaluation_counts_program_id_period_start_fkey FOREIGN KEY (program_id, period_start) REFERENCES points.tier_evaluations(program_id, period_start);

ALTER TABLE ONLY points.tier_evaluations
    ADD CONSTRAINT tier_evaluations_program_id_fkey FOREIGN KEY (program_id) REFERENCES points.programs(program_id);

ALTER TABLE ONLY points.tier_grants
    ADD CONSTRAINT tier_grants_program_id_tier_fkey FOREIGN KEY (program_id, tier) REFERENCES points.tiers(program_id, tier);

ALTER TABLE ONLY points.tier_settings
    ADD CONSTRAINT tier_settings_program_id_tier_fkey FOREIGN KEY (program_id, tier) REFERENCES points.tiers(program_id, tier);

ALTER TABLE ONLY points.tiers
    ADD CONSTRAINT tiers_program_id_fkey FOREIGN KEY (program_id) REFERENCES points.programs(program_id);
