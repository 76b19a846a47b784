--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: points; Type: SCHEMA; Schema: -; Owner: points_owner
--

CREATE SCHEMA points;


ALTER SCHEMA points OWNER TO points_owner;

--
-- Name: points_meta; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA points_meta;


ALTER SCHEMA points_meta OWNER TO postgres;

--
-- Name: account; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.account AS ENUM (
    'available',
    'pending',
    'issued',
    'redeemed',
    'expired',
    'written_off',
    'adjustments'
);


ALTER TYPE points.account OWNER TO points_owner;

--
-- Name: adjust_status; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.adjust_status AS ENUM (
    'posted',
    'replayed',
    'conflict',
    'insufficient_points',
    'unknown_member'
);


ALTER TYPE points.adjust_status OWNER TO points_owner;

--
-- Name: amount_not_negative; Type: DOMAIN; Schema: points; Owner: points_owner
--

CREATE DOMAIN points.amount_not_negative AS bigint
	CONSTRAINT amount_not_negative CHECK ((VALUE >= 0));


ALTER DOMAIN points.amount_not_negative OWNER TO points_owner;

--
-- Name: amount_not_zero; Type: DOMAIN; Schema: points; Owner: points_owner
--

CREATE DOMAIN points.amount_not_zero AS bigint
	CONSTRAINT amount_not_zero CHECK ((VALUE <> 0));


ALTER DOMAIN points.amount_not_zero OWNER TO points_owner;

--
-- Name: amount_positive; Type: DOMAIN; Schema: points; Owner: points_owner
--

CREATE DOMAIN points.amount_positive AS bigint
	CONSTRAINT amount_positive CHECK ((VALUE > 0));


ALTER DOMAIN points.amount_positive OWNER TO points_owner;

--
-- Name: cap_period; Type: DOMAIN; Schema: points; Owner: points_owner
--

CREATE DOMAIN points.cap_period AS text
	CONSTRAINT cap_period_name CHECK ((VALUE = ANY (ARRAY['day'::text, 'week'::text, 'month'::text])));


ALTER DOMAIN points.cap_period OWNER TO points_owner;

--
-- Name: complete_task_status; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.complete_task_status AS ENUM (
    'completed',
    'replayed',
    'conflict',
    'unknown_member',
    'unknown_task',
    'inactive',
    'bad_ref',
    'in_future',
    'too_old'
);


ALTER TYPE points.complete_task_status OWNER TO points_owner;

--
-- Name: create_hold_status; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.create_hold_status AS ENUM (
    'held',
    'replayed',
    'conflict',
    'unknown_member',
    'insufficient_points'
);


ALTER TYPE points.create_hold_status OWNER TO points_owner;

--
-- Name: create_member_status; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.create_member_status AS ENUM (
    'created',
    'exists',
    'conflict',
    'unknown_referrer'
);


ALTER TYPE points.create_member_status OWNER TO points_owner;

--
-- Name: create_program_status; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.create_program_status AS ENUM (
    'created',
    'exists',
    'conflict'
);


ALTER TYPE points.create_program_status OWNER TO points_owner;

--
-- Name: entry_kind; Type: TYPE; Schema: points; Owner: points_owner
--

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


ALTER TYPE points.entry_kind OWNER TO points_owner;

--
-- Name: event_time; Type: DOMAIN; Schema: points; Owner: points_owner
--

CREATE DOMAIN points.event_time AS timestamp with time zone
	CONSTRAINT event_time_range CHECK (((VALUE >= '1899-12-31 00:00:00+00'::timestamp with time zone) AND (VALUE < '10000-01-02 00:00:00+00'::timestamp with time zone)));


ALTER DOMAIN points.event_time OWNER TO points_owner;

--
-- Name: grant_tier_status; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.grant_tier_status AS ENUM (
    'granted',
    'exists',
    'conflict',
    'unknown_member',
    'unknown_tier'
);


ALTER TYPE points.grant_tier_status OWNER TO points_owner;

--
-- Name: hold_state; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.hold_state AS ENUM (
    'open',
    'captured',
    'voided',
    'expired'
);


ALTER TYPE points.hold_state OWNER TO points_owner;

--
-- Name: id_text; Type: DOMAIN; Schema: points; Owner: points_owner
--

CREATE DOMAIN points.id_text AS text COLLATE pg_catalog."C"
	CONSTRAINT id_text_format CHECK (((VALUE <> ''::text) AND (VALUE !~ '[\x01-\x1f\x7f-\x9f\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffd\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]'::text) AND (VALUE !~ '^[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]|[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]$'::text) AND (VALUE IS NFC NORMALIZED)));


ALTER DOMAIN points.id_text OWNER TO points_owner;

--
-- Name: idempotency_key; Type: DOMAIN; Schema: points; Owner: points_owner
--

CREATE DOMAIN points.idempotency_key AS points.id_text
	CONSTRAINT idempotency_key_length CHECK ((length((VALUE)::text) <= 200));


ALTER DOMAIN points.idempotency_key OWNER TO points_owner;

--
-- Name: import_purchase_batch_status; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.import_purchase_batch_status AS ENUM (
    'accepted',
    'duplicate',
    'rejected'
);


ALTER TYPE points.import_purchase_batch_status OWNER TO points_owner;

--
-- Name: key_scope; Type: TYPE; Schema: points; Owner: points_owner
--

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


ALTER TYPE points.key_scope OWNER TO points_owner;

--
-- Name: label_text; Type: DOMAIN; Schema: points; Owner: points_owner
--

CREATE DOMAIN points.label_text AS text
	CONSTRAINT label_text_format CHECK (((VALUE <> ''::text) AND (length(VALUE) <= 1000) AND (VALUE !~ '[\x01-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]'::text)));


ALTER DOMAIN points.label_text OWNER TO points_owner;

--
-- Name: member_key; Type: DOMAIN; Schema: points; Owner: points_owner
--

CREATE DOMAIN points.member_key AS points.id_text
	CONSTRAINT member_id_length CHECK ((length((VALUE)::text) <= 128));


ALTER DOMAIN points.member_key OWNER TO points_owner;

--
-- Name: month_day; Type: DOMAIN; Schema: points; Owner: points_owner
--

CREATE DOMAIN points.month_day AS date
	CONSTRAINT month_day_in_2000 CHECK (((VALUE >= '2000-01-01'::date) AND (VALUE < '2001-01-01'::date)));


ALTER DOMAIN points.month_day OWNER TO points_owner;

--
-- Name: override_tier_status; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.override_tier_status AS ENUM (
    'overridden',
    'unchanged',
    'unknown_member',
    'unknown_tier'
);


ALTER TYPE points.override_tier_status OWNER TO points_owner;

--
-- Name: purchase_status; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.purchase_status AS ENUM (
    'posted',
    'replayed',
    'conflict',
    'unknown_member',
    'in_future',
    'too_old'
);


ALTER TYPE points.purchase_status OWNER TO points_owner;

--
-- Name: redeem_status; Type: TYPE; Schema: points; Owner: points_owner
--

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
    'out_of_stock'
);


ALTER TYPE points.redeem_status OWNER TO points_owner;

--
-- Name: refund_status; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.refund_status AS ENUM (
    'refunded',
    'replayed',
    'conflict',
    'unknown_order',
    'exceeds_order',
    'before_purchase',
    'in_future',
    'too_old'
);


ALTER TYPE points.refund_status OWNER TO points_owner;

--
-- Name: resolve_hold_status; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.resolve_hold_status AS ENUM (
    'captured',
    'voided',
    'replayed',
    'resolved',
    'unknown_hold',
    'exceeds_hold',
    'insufficient_points'
);


ALTER TYPE points.resolve_hold_status OWNER TO points_owner;

--
-- Name: set_program_settings_status; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.set_program_settings_status AS ENUM (
    'changed',
    'unchanged',
    'in_past',
    'tier_period_mid_year'
);


ALTER TYPE points.set_program_settings_status OWNER TO points_owner;

--
-- Name: set_reward_status; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.set_reward_status AS ENUM (
    'created',
    'changed',
    'unchanged',
    'incomplete',
    'unknown_tier'
);


ALTER TYPE points.set_reward_status OWNER TO points_owner;

--
-- Name: set_task_status; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.set_task_status AS ENUM (
    'changed',
    'unchanged',
    'in_past',
    'unknown_task'
);


ALTER TYPE points.set_task_status OWNER TO points_owner;

--
-- Name: set_tier_status; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.set_tier_status AS ENUM (
    'changed',
    'unchanged',
    'in_past',
    'unknown_tier',
    'rank_taken',
    'rank_fixed'
);


ALTER TYPE points.set_tier_status OWNER TO points_owner;

--
-- Name: tier_change_cause; Type: TYPE; Schema: points; Owner: points_owner
--

CREATE TYPE points.tier_change_cause AS ENUM (
    'upgrade',
    'evaluation',
    'refund',
    'grant',
    'override',
    'grant_end',
    'override_end'
);


ALTER TYPE points.tier_change_cause OWNER TO points_owner;

--
-- Name: add_default_settings(integer); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.add_default_settings(p_program integer) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO points.program_settings
        (program_id, effective_at, earn_rate, rounding, return_window_days, refund_policy, expiry_kind, expiry_count,
         referral_bonus, backdate_days)
    VALUES (p_program, '-infinity', 1, 'down', 0, 'negative', 'never', NULL, 0, 7)
$$;


ALTER FUNCTION points.add_default_settings(p_program integer) OWNER TO points_owner;

--
-- Name: add_default_tasks(integer); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.add_default_tasks(p_program integer) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO points.task_settings
        (program_id, task, effective_at, points, cap_day, cap_week, cap_month, qualifying, active,
         streak_days, streak_points, streak_cycle)
    VALUES (p_program, 'checkin', '-infinity', 5, NULL, NULL, NULL, false, true, '{7}', '{20}', 7),
           (p_program, 'post', '-infinity', 10, 3, NULL, NULL, false, true, '{}', '{}', NULL),
           (p_program, 'share', '-infinity', 5, 3, NULL, NULL, false, true, '{}', '{}', NULL)
$$;


ALTER FUNCTION points.add_default_tasks(p_program integer) OWNER TO points_owner;

--
-- Name: add_qualifying(integer, text, date, bigint, bigint); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.add_qualifying(p_program integer, p_member text, p_period date, p_points bigint, p_spend_minor bigint, OUT total_points bigint, OUT total_spend bigint) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_row record;
    v_step record;
BEGIN
    SELECT m.q_period, m.q_points, m.q_spend INTO v_row FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = p_member;
    v_step := points.qualifying_step(v_row.q_period, v_row.q_points, v_row.q_spend, p_period, p_points, p_spend_minor);
    IF v_step.q_period = p_period THEN
        UPDATE points.members AS m SET q_period = v_step.q_period, q_points = v_step.q_points, q_spend = v_step.q_spend
        WHERE m.program_id = p_program AND m.member_id = p_member;
    END IF;
    IF v_step.carried_period IS NULL THEN
        total_points := v_step.q_points;
        total_spend := v_step.q_spend;
    ELSE
        SELECT c.total_points, c.total_spend INTO total_points, total_spend
        FROM points.carry_qualifying(p_program, p_member, v_step.q_period = p_period, v_step.q_points, v_step.q_spend,
                                     v_step.carried_period, v_step.carried_points, v_step.carried_spend) AS c;
    END IF;
END
$$;


ALTER FUNCTION points.add_qualifying(p_program integer, p_member text, p_period date, p_points bigint, p_spend_minor bigint, OUT total_points bigint, OUT total_spend bigint) OWNER TO points_owner;

--
-- Name: adjust(integer, points.member_key, bigint, points.label_text, points.label_text, points.idempotency_key); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.adjust(p_program integer, p_member points.member_key, p_points bigint, p_reason points.label_text, p_actor points.label_text, p_key points.idempotency_key) RETURNS TABLE(status points.adjust_status, entry_id bigint, available bigint, pending bigint, held bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_request jsonb := jsonb_build_object(
        'member', p_member, 'points', p_points, 'reason', p_reason, 'actor', p_actor);
    v_member record;
    v_entry bigint;
    v_existing record;
BEGIN
    IF p_points IS NULL OR p_points = 0 THEN
        RAISE EXCEPTION 'an adjustment needs a non-zero number of points' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT m.available, m.pending, m.held INTO v_member
    FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = p_member
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member'::points.adjust_status, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    -- Holds past their time no longer reserve anything (redemption/holds.sql).
    IF p_points < 0 AND v_member.held > 0 THEN
        v_member.held := v_member.held - points.release_expired_holds(p_program, p_member);
    END IF;

    -- The common case first: a new key. Only a conflict, or a spend that is short, looks the
    -- key up, so that a replay is answered with the original entry even when points are short.
    IF p_points > 0 OR v_member.available - v_member.held >= -p_points THEN
        INSERT INTO points.journal_entries AS e
            (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at)
        VALUES (p_program, p_member, CASE WHEN p_points > 0 THEN 'adjustment.grant' ELSE 'adjustment.deduct' END::points.entry_kind,
                'adjustment', p_key, v_request, now())
        ON CONFLICT ON CONSTRAINT idempotency_key_unique DO NOTHING
        RETURNING e.entry_id INTO v_entry;
    END IF;
    IF v_entry IS NULL THEN
        SELECT e.entry_id, e.request INTO v_existing
        FROM points.journal_entries AS e
        WHERE e.program_id = p_program AND e.key_scope = 'adjustment' AND e.idempotency_key = p_key;
        IF FOUND THEN
            RETURN QUERY SELECT
                CASE WHEN v_existing.request = v_request THEN 'replayed' ELSE 'conflict' END::points.adjust_status,
                v_existing.entry_id, v_member.available, v_member.pending::bigint, v_member.held::bigint;
        ELSE
            RETURN QUERY SELECT 'insufficient_points'::points.adjust_status, NULL::bigint, v_member.available,
                v_member.pending::bigint, v_member.held::bigint;
        END IF;
        RETURN;
    END IF;

    IF p_points > 0 THEN
        -- A grant repays a debt first; the rest forms a lot.
        PERFORM points.form_lot(p_program, p_member, v_entry, p_points, v_member.available, now(),
                                points.expiry_for(p_program, now()));
    ELSE
        PERFORM points.consume_lots(p_program, p_member, v_entry, -p_points);
    END IF;
    INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES
        (p_program, p_member, v_entry, 'available', p_points, now()),
        (p_program, p_member, v_entry, 'adjustments', -p_points, now());
    UPDATE points.members AS m
    SET available = m.available + p_points, adjustments = m.adjustments - p_points
    WHERE m.program_id = p_program AND m.member_id = p_member;
    RETURN QUERY SELECT 'posted'::points.adjust_status, v_entry, v_member.available + p_points,
        v_member.pending::bigint, v_member.held::bigint;
END
$$;


ALTER FUNCTION points.adjust(p_program integer, p_member points.member_key, p_points bigint, p_reason points.label_text, p_actor points.label_text, p_key points.idempotency_key) OWNER TO points_owner;

--
-- Name: begin_chunk(integer, timestamp with time zone, text[]); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.begin_chunk(p_program integer, p_as_of timestamp with time zone, p_members text[]) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM points.check_as_of(p_as_of);
    IF p_members IS NULL THEN
        RETURN false;
    END IF;
    PERFORM points.lock_members(p_program, p_members);
    RETURN true;
END
$$;


ALTER FUNCTION points.begin_chunk(p_program integer, p_as_of timestamp with time zone, p_members text[]) OWNER TO points_owner;

--
-- Name: begin_configuration_change(integer, timestamp with time zone); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.begin_configuration_change(p_program integer, p_effective_at timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM 1 FROM points.programs AS p WHERE p.program_id = p_program FOR UPDATE;
    RETURN p_effective_at >= now() - interval '5 minutes'
        OR NOT EXISTS (SELECT 1 FROM points.journal_entries AS e WHERE e.program_id = p_program);
END
$$;


ALTER FUNCTION points.begin_configuration_change(p_program integer, p_effective_at timestamp with time zone) OWNER TO points_owner;

--
-- Name: birthday_in(date, integer); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.birthday_in(p_birthday date, p_year integer) RETURNS date
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE WHEN extract(month FROM p_birthday) = 2 AND extract(day FROM p_birthday) = 29
                     AND NOT (p_year % 4 = 0 AND (p_year % 100 <> 0 OR p_year % 400 = 0))
                THEN make_date(p_year, 2, 28)
                ELSE make_date(p_year, extract(month FROM p_birthday)::integer, extract(day FROM p_birthday)::integer) END
$$;


ALTER FUNCTION points.birthday_in(p_birthday date, p_year integer) OWNER TO points_owner;

--
-- Name: canonical_line(bigint, text, points.entry_kind, points.key_scope, text, timestamp with time zone, timestamp with time zone, jsonb, json); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.canonical_line(p_entry bigint, p_member text, p_kind points.entry_kind, p_scope points.key_scope, p_key text, p_occurred timestamp with time zone, p_recorded timestamp with time zone, p_request jsonb, p_postings json) RETURNS text
    LANGUAGE sql STABLE
    AS $$
    SELECT json_build_array(p_entry, p_member, p_kind, p_scope, p_key, p_occurred, p_recorded, p_request,
                            coalesce(p_postings, '[]'))::text
$$;


ALTER FUNCTION points.canonical_line(p_entry bigint, p_member text, p_kind points.entry_kind, p_scope points.key_scope, p_key text, p_occurred timestamp with time zone, p_recorded timestamp with time zone, p_request jsonb, p_postings json) OWNER TO points_owner;

--
-- Name: carry_qualifying(integer, text, boolean, bigint, bigint, date, bigint, bigint); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.carry_qualifying(p_program integer, p_member text, p_row_holds_period boolean, p_q_points bigint, p_q_spend bigint, p_carried_period date, p_carried_points bigint, p_carried_spend bigint, OUT total_points bigint, OUT total_spend bigint) RETURNS record
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF p_row_holds_period THEN
        IF p_carried_period IS NOT NULL THEN
            INSERT INTO points.qualifying_totals (program_id, member_id, period_start, points, spend_minor)
            VALUES (p_program, p_member, p_carried_period, p_carried_points, p_carried_spend);
        END IF;
        total_points := p_q_points;
        total_spend := p_q_spend;
    ELSE
        INSERT INTO points.qualifying_totals AS q (program_id, member_id, period_start, points, spend_minor)
        VALUES (p_program, p_member, p_carried_period, p_carried_points, p_carried_spend)
        ON CONFLICT ON CONSTRAINT qualifying_totals_pkey DO UPDATE
            SET points = q.points + EXCLUDED.points, spend_minor = q.spend_minor + EXCLUDED.spend_minor
        RETURNING q.points, q.spend_minor INTO total_points, total_spend;
    END IF;
END
$$;


ALTER FUNCTION points.carry_qualifying(p_program integer, p_member text, p_row_holds_period boolean, p_q_points bigint, p_q_spend bigint, p_carried_period date, p_carried_points bigint, p_carried_spend bigint, OUT total_points bigint, OUT total_spend bigint) OWNER TO points_owner;

--
-- Name: check_as_of(timestamp with time zone); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.check_as_of(p_as_of timestamp with time zone) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF p_as_of > now() + interval '5 minutes' THEN
        RAISE EXCEPTION 'the as-of time % is in the future', p_as_of USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;


ALTER FUNCTION points.check_as_of(p_as_of timestamp with time zone) OWNER TO points_owner;

--
-- Name: check_entries_balance(); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.check_entries_balance() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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


ALTER FUNCTION points.check_entries_balance() OWNER TO points_owner;

--
-- Name: check_occurred_at(integer, timestamp with time zone, boolean); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.check_occurred_at(p_program integer, p_at timestamp with time zone, p_backdated boolean) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    IF p_at > now() + interval '5 minutes' THEN
        RETURN 'in_future';
    END IF;
    IF NOT p_backdated AND p_at < now() - make_interval(days => (points.settings_at(p_program, now())).backdate_days) THEN
        RETURN 'too_old';
    END IF;
    RETURN NULL;
END
$$;


ALTER FUNCTION points.check_occurred_at(p_program integer, p_at timestamp with time zone, p_backdated boolean) OWNER TO points_owner;

--
-- Name: check_program_time_zone(); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.check_program_time_zone() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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


ALTER FUNCTION points.check_program_time_zone() OWNER TO points_owner;

--
-- Name: checkin_streak(integer, text, date, integer[], bigint[], integer, boolean); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.checkin_streak(p_program integer, p_member text, p_day date, p_streak_days integer[], p_streak_points bigint[], p_streak_cycle integer, p_earns boolean, OUT streak integer, OUT bonus bigint) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_position integer;
BEGIN
    SELECT c.streak INTO streak FROM points.task_completions AS c
    WHERE c.program_id = p_program AND c.member_id = p_member AND c.task = 'checkin' AND c.local_day = p_day - 1;
    streak := coalesce(streak, 0) + 1;
    v_position := CASE WHEN p_streak_cycle IS NULL THEN streak ELSE (streak - 1) % p_streak_cycle + 1 END;
    bonus := 0;
    IF p_earns AND v_position = ANY (p_streak_days) THEN
        SELECT coalesce(sum(r.pts), 0) INTO bonus
        FROM unnest(p_streak_days, p_streak_points) AS r(days, pts) WHERE r.days = v_position;
    END IF;
END
$$;


ALTER FUNCTION points.checkin_streak(p_program integer, p_member text, p_day date, p_streak_days integer[], p_streak_points bigint[], p_streak_cycle integer, p_earns boolean, OUT streak integer, OUT bonus bigint) OWNER TO points_owner;

--
-- Name: complete_task(integer, points.member_key, text, points.idempotency_key, points.event_time); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.complete_task(p_program integer, p_member points.member_key, p_task text, p_ref points.idempotency_key, p_occurred_at points.event_time) RETURNS TABLE(status points.complete_task_status, entry_id bigint, points bigint, streak_bonus bigint, streak integer, capped_by text, cap_reached boolean, available bigint, local_day date)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_now timestamptz := now();
    v_at timestamptz := coalesce(p_occurred_at, now());
    v_row record;
    v_day date;
    v_ref text;
    v_key text;
    v_request jsonb;
    v_cap record;
    v_points bigint := 0;
    v_bonus bigint := 0;
    v_streak integer;
    v_total bigint;
    v_entry bigint;
    v_problem points.complete_task_status;
    v_settings points.program_settings;
    v_backdate_days integer;
    v_multiplier numeric;
BEGIN
    -- One query: the program's time zone, latest settings and tiers' ladder, the task's settings
    -- in force when it was completed, and the member's row, locked.
    SELECT p.time_zone, latest.settings, p.ladder_since, p.ladder_tiers, p.ladder_multipliers, t.points AS task_points,
           t.cap_day, t.cap_week, t.cap_month, t.qualifying, t.active, t.streak_days, t.streak_points, t.streak_cycle,
           t.tier_multiplier, m.available,
           points.tier_at(p_program, p_member, m.tier, m.override_until, m.override_previous, m.granted_until, v_at) AS effective
    INTO v_row
    FROM points.programs AS p
    CROSS JOIN LATERAL (
        SELECT ps AS settings FROM points.program_settings AS ps
        WHERE ps.program_id = p.program_id ORDER BY ps.effective_at DESC LIMIT 1) AS latest
    LEFT JOIN LATERAL (
        SELECT ts.* FROM points.task_settings AS ts
        WHERE ts.program_id = p.program_id AND ts.task = p_task AND ts.effective_at <= v_at
        ORDER BY ts.effective_at DESC LIMIT 1) AS t ON true
    LEFT JOIN LATERAL (
        SELECT mm.available, mm.tier, mm.override_until, mm.override_previous, mm.granted_until FROM points.members AS mm
        WHERE mm.program_id = p.program_id AND mm.member_id = p_member FOR UPDATE) AS m ON true
    WHERE p.program_id = p_program;
    IF v_row.available IS NULL THEN
        RETURN QUERY SELECT 'unknown_member'::points.complete_task_status, NULL::bigint, NULL::bigint, NULL::bigint,
            NULL::integer, NULL::text, NULL::boolean, NULL::bigint, NULL::date;
        RETURN;
    END IF;
    IF v_row.task_points IS NULL THEN
        RETURN QUERY SELECT 'unknown_task'::points.complete_task_status, NULL::bigint, NULL::bigint, NULL::bigint,
            NULL::integer, NULL::text, NULL::boolean, NULL::bigint, NULL::date;
        RETURN;
    END IF;
    -- The settings in force at the completion and the back-dating window in force now, as for
    -- purchases (points.purchase); the multiplier of the member's effective tier, for a task
    -- whose points it multiplies.
    v_settings := points.settings_in_force(p_program, v_row.settings, v_at);
    v_backdate_days := (points.settings_in_force(p_program, v_row.settings, v_now)).backdate_days;
    IF v_row.tier_multiplier THEN
        v_multiplier := points.multiplier_in_force(
            p_program, v_row.effective, v_at, v_row.ladder_since, v_row.ladder_tiers, v_row.ladder_multipliers);
    END IF;
    v_day := (v_at AT TIME ZONE v_row.time_zone)::date;
    v_ref := coalesce(p_ref, CASE WHEN p_task = 'checkin' THEN to_char(v_day, 'YYYY-MM-DD') END);
    IF v_ref IS NULL OR (p_task = 'checkin' AND v_ref <> to_char(v_day, 'YYYY-MM-DD')) THEN
        RETURN QUERY SELECT 'bad_ref'::points.complete_task_status, NULL::bigint, NULL::bigint, NULL::bigint, NULL::integer,
            NULL::text, NULL::boolean, NULL::bigint, v_day;
        RETURN;
    END IF;
    v_key := CASE WHEN p_task = 'checkin' THEN 'checkin:' || p_member ELSE p_task END || ':' || v_ref;
    -- What a replay must match. A check-in's date is its identity: a second check-in on the same
    -- day, at another time, replays the first.
    v_request := jsonb_strip_nulls(jsonb_build_object(
        'member', p_member, 'task', p_task, 'ref', v_ref,
        'occurred_at', CASE WHEN p_task <> 'checkin' THEN p_occurred_at AT TIME ZONE 'UTC' END));

    v_problem := CASE
        WHEN v_at > v_now + interval '5 minutes' THEN 'in_future'
        WHEN v_at < v_now - make_interval(days => v_backdate_days) THEN 'too_old'
        WHEN NOT v_row.active THEN 'inactive' END::points.complete_task_status;
    IF v_problem IS NULL THEN
        -- Caps (tasks/caps.sql) and a check-in's streak (tasks/streaks.sql).
        SELECT c.capped_by, c.cap_reached INTO v_cap
        FROM points.task_cap(p_program, p_member, p_task, v_day, v_row.cap_day, v_row.cap_week, v_row.cap_month) AS c;
        IF v_cap.capped_by IS NULL THEN
            v_points := v_row.task_points;
        END IF;
        IF p_task = 'checkin' THEN
            SELECT s.streak, s.bonus INTO v_streak, v_bonus
            FROM points.checkin_streak(p_program, p_member, v_day, v_row.streak_days, v_row.streak_points, v_row.streak_cycle,
                                       v_cap.capped_by IS NULL) AS s;
        END IF;
        IF v_multiplier IS DISTINCT FROM 1 AND v_multiplier IS NOT NULL THEN
            v_points := points.round_points(v_points * v_multiplier, v_settings.rounding);
            v_bonus := points.round_points(v_bonus * v_multiplier, v_settings.rounding);
        END IF;
        v_total := v_points + v_bonus;

        -- The entry, unless the key was used before; its postings, the lot, the completion and the
        -- member's balances follow below, each a plain statement (see points.purchase).
        INSERT INTO points.journal_entries AS e (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at)
        VALUES (p_program, p_member, 'task', 'task', v_key, v_request, v_at)
        ON CONFLICT ON CONSTRAINT idempotency_key_unique DO NOTHING
        RETURNING e.entry_id INTO v_entry;
    END IF;
    IF v_entry IS NULL THEN
        RETURN QUERY SELECT * FROM points.completion_not_posted(p_program, p_task, v_key, v_request, v_problem, v_row.available,
            v_day);
        RETURN;
    END IF;
    IF v_total > 0 THEN
        INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES
            (p_program, p_member, v_entry, 'available', v_total, v_at),
            (p_program, p_member, v_entry, 'issued', -v_total, v_at);
        PERFORM points.form_lot(p_program, p_member, v_entry, v_total, v_row.available, v_at,
            points.lot_expiry(v_settings.expiry_kind, v_settings.expiry_count, v_at, v_row.time_zone));
        UPDATE points.members AS m SET available = m.available + v_total, issued = m.issued - v_total
        WHERE m.program_id = p_program AND m.member_id = p_member;
    END IF;
    INSERT INTO points.task_completions
        (program_id, member_id, task, local_day, entry_id, points, streak_bonus, streak, capped_by)
    VALUES (p_program, p_member, p_task, v_day, v_entry, v_points, v_bonus, v_streak, v_cap.capped_by);

    -- A qualifying task's points count toward the member's tier.
    IF v_row.qualifying AND v_total > 0 THEN
        PERFORM points.qualify(p_program, p_member, v_at, v_total, 0, v_entry);
    END IF;
    -- A check-in's cap is always reached: its key allows one a day.
    RETURN QUERY SELECT 'completed'::points.complete_task_status, v_entry, v_points, v_bonus, v_streak, v_cap.capped_by,
        v_cap.cap_reached OR p_task = 'checkin', v_row.available + v_total, v_day;
END
$$;


ALTER FUNCTION points.complete_task(p_program integer, p_member points.member_key, p_task text, p_ref points.idempotency_key, p_occurred_at points.event_time) OWNER TO points_owner;

--
-- Name: completion_not_posted(integer, text, text, jsonb, points.complete_task_status, bigint, date); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.completion_not_posted(p_program integer, p_task text, p_key text, p_request jsonb, p_problem points.complete_task_status, p_available bigint, p_day date) RETURNS TABLE(status points.complete_task_status, entry_id bigint, points bigint, streak_bonus bigint, streak integer, capped_by text, cap_reached boolean, available bigint, local_day date)
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_existing record;
BEGIN
    SELECT e.entry_id, e.request, c.points, c.streak_bonus, c.streak, c.capped_by, c.local_day INTO v_existing
    FROM points.journal_entries AS e
    LEFT JOIN points.task_completions AS c
        ON c.program_id = e.program_id AND c.member_id = e.member_id AND c.task = p_task AND c.entry_id = e.entry_id
    WHERE e.program_id = p_program AND e.key_scope = 'task' AND e.idempotency_key = p_key;
    IF FOUND THEN
        RETURN QUERY SELECT
            CASE WHEN points.same_request(v_existing.request, p_request) THEN 'replayed' ELSE 'conflict' END
                ::points.complete_task_status,
            v_existing.entry_id, v_existing.points::bigint, v_existing.streak_bonus::bigint, v_existing.streak::integer,
            v_existing.capped_by::text, NULL::boolean, p_available, v_existing.local_day;
    ELSE
        RETURN QUERY SELECT p_problem, NULL::bigint, NULL::bigint, NULL::bigint, NULL::integer, NULL::text, NULL::boolean,
            NULL::bigint, p_day;
    END IF;
END
$$;


ALTER FUNCTION points.completion_not_posted(p_program integer, p_task text, p_key text, p_request jsonb, p_problem points.complete_task_status, p_available bigint, p_day date) OWNER TO points_owner;

--
-- Name: consume_lots(integer, text, bigint, bigint); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.consume_lots(p_program integer, p_member text, p_entry bigint, p_points bigint) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_taken bigint;
BEGIN
    IF p_points <= 0 THEN
        RETURN 0;
    END IF;
    WITH ordered AS (
        SELECT l.lot_id, l.remaining,
               coalesce(sum(l.remaining) OVER (
                   ORDER BY l.expires_at NULLS LAST, l.earned_at, l.lot_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
        FROM points.lots AS l
        WHERE l.program_id = p_program AND l.member_id = p_member AND l.remaining > 0
    ), taken AS (
        SELECT o.lot_id, least(o.remaining, p_points - o.before) AS amount FROM ordered AS o WHERE o.before < p_points
    ), spent AS (
        UPDATE points.lots AS l SET remaining = l.remaining - t.amount
        FROM taken AS t
        WHERE l.program_id = p_program AND l.member_id = p_member AND l.lot_id = t.lot_id
        RETURNING t.lot_id, t.amount
    ), recorded AS (
        INSERT INTO points.lot_allocations (program_id, member_id, entry_id, lot_id, amount)
        SELECT p_program, p_member, p_entry, sp.lot_id, sp.amount FROM spent AS sp
        RETURNING amount
    )
    SELECT coalesce(sum(r.amount), 0)::bigint INTO v_taken FROM recorded AS r;
    RETURN v_taken;
END
$$;


ALTER FUNCTION points.consume_lots(p_program integer, p_member text, p_entry bigint, p_points bigint) OWNER TO points_owner;

--
-- Name: create_hold(integer, points.member_key, bigint, points.event_time, points.idempotency_key); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.create_hold(p_program integer, p_member points.member_key, p_points bigint, p_expires_at points.event_time, p_key points.idempotency_key) RETURNS TABLE(status points.create_hold_status, hold_id bigint, expires_at timestamp with time zone, available bigint, held bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_member points.members;
    v_existing points.holds;
    v_hold bigint;
BEGIN
    IF p_points IS NULL OR p_points <= 0 OR p_expires_at IS NULL OR p_expires_at <= now()
        OR p_expires_at > now() + interval '30 days' THEN
        RAISE EXCEPTION 'a hold needs positive points and an expiry in the future, at most 30 days away'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT m.* INTO v_member FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = p_member FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member'::points.create_hold_status, NULL::bigint, NULL::timestamptz,
            NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    IF v_member.held > 0 THEN
        v_member.held := v_member.held - points.release_expired_holds(p_program, p_member);
    END IF;
    SELECT h.* INTO v_existing FROM points.holds AS h WHERE h.program_id = p_program AND h.hold_key = p_key;
    IF FOUND THEN
        RETURN QUERY SELECT
            CASE WHEN v_existing.member_id = p_member AND v_existing.points = p_points THEN 'replayed' ELSE 'conflict' END
                ::points.create_hold_status,
            v_existing.hold_id, v_existing.expires_at::timestamptz, v_member.available, v_member.held::bigint;
        RETURN;
    END IF;
    IF v_member.available - v_member.held < p_points THEN
        RETURN QUERY SELECT 'insufficient_points'::points.create_hold_status, NULL::bigint, NULL::timestamptz,
            v_member.available, v_member.held::bigint;
        RETURN;
    END IF;
    INSERT INTO points.holds AS h (program_id, member_id, hold_key, points, expires_at)
    VALUES (p_program, p_member, p_key, p_points, p_expires_at)
    RETURNING h.hold_id INTO v_hold;
    UPDATE points.members AS m SET held = m.held + p_points WHERE m.program_id = p_program AND m.member_id = p_member;
    RETURN QUERY SELECT 'held'::points.create_hold_status, v_hold, p_expires_at::timestamptz, v_member.available,
        v_member.held + p_points;
END
$$;


ALTER FUNCTION points.create_hold(p_program integer, p_member points.member_key, p_points bigint, p_expires_at points.event_time, p_key points.idempotency_key) OWNER TO points_owner;

--
-- Name: create_member(integer, points.member_key, points.member_key); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.create_member(p_program integer, p_member points.member_key, p_referrer points.member_key) RETURNS TABLE(status points.create_member_status, tier text, created_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_tier text;
    v_created timestamptz;
BEGIN
    IF p_member ~ '[[:cntrl:]]' OR p_referrer ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'a member id cannot hold control characters' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_referrer IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = p_referrer) THEN
        RETURN QUERY SELECT 'unknown_referrer'::points.create_member_status, NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    SELECT t.tier INTO v_tier FROM points.tiers AS t WHERE t.program_id = p_program ORDER BY t.rank LIMIT 1;
    INSERT INTO points.members AS m (program_id, member_id, tier, referrer)
    VALUES (p_program, p_member, v_tier, p_referrer)
    ON CONFLICT ON CONSTRAINT members_pkey DO NOTHING
    RETURNING m.created_at INTO v_created;
    IF v_created IS NOT NULL THEN
        RETURN QUERY SELECT 'created'::points.create_member_status, v_tier, v_created;
    ELSE
        RETURN QUERY SELECT
                CASE WHEN m.referrer IS NOT DISTINCT FROM p_referrer OR p_referrer IS NULL THEN 'exists' ELSE 'conflict' END
                    ::points.create_member_status,
                m.tier, m.created_at
            FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = p_member;
    END IF;
END
$$;


ALTER FUNCTION points.create_member(p_program integer, p_member points.member_key, p_referrer points.member_key) OWNER TO points_owner;

--
-- Name: create_program(text, text, text, points.label_text); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.create_program(p_name text, p_currency text, p_time_zone text, p_actor points.label_text) RETURNS TABLE(status points.create_program_status, program_id integer, currency text, time_zone text, created_at timestamp with time zone)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
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
                 THEN 'exists' ELSE 'conflict' END::points.create_program_status,
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
    RETURN QUERY SELECT 'created'::points.create_program_status, v_program.program_id, v_program.currency::text,
        v_program.time_zone, v_program.created_at;
END
$$;


ALTER FUNCTION points.create_program(p_name text, p_currency text, p_time_zone text, p_actor points.label_text) OWNER TO points_owner;

--
-- Name: disqualify(integer, text, timestamp with time zone, bigint, bigint, timestamp with time zone, bigint); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.disqualify(p_program integer, p_member text, p_purchase_at timestamp with time zone, p_points bigint, p_spend_minor bigint, p_at timestamp with time zone, p_entry bigint) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_purchase_period record := points.tier_period_at(p_program, p_purchase_at);
    v_period date := v_purchase_period.period_start;
    v_totals record;
    v_member record;
    v_reach record;
    v_to text;
BEGIN
    IF p_points = 0 AND p_spend_minor = 0 THEN
        RETURN NULL;
    END IF;
    UPDATE points.members AS m SET q_points = m.q_points - p_points, q_spend = m.q_spend - p_spend_minor
    WHERE m.program_id = p_program AND m.member_id = p_member AND m.q_period = v_period
    RETURNING m.q_points AS points, m.q_spend AS spend_minor INTO v_totals;
    IF NOT FOUND THEN
        UPDATE points.qualifying_totals AS q SET points = q.points - p_points, spend_minor = q.spend_minor - p_spend_minor
        WHERE q.program_id = p_program AND q.member_id = p_member AND q.period_start = v_period
        RETURNING q.points, q.spend_minor INTO v_totals;
    END IF;
    IF v_purchase_period.closed THEN
        RETURN NULL;
    END IF;
    SELECT m.tier, cur.rank, m.tier_before_upgrade, before.rank AS before_rank INTO v_member
    FROM points.members AS m
    JOIN points.tiers AS cur ON cur.program_id = m.program_id AND cur.tier = m.tier
    JOIN points.tiers AS before ON before.program_id = m.program_id AND before.tier = m.tier_before_upgrade
    WHERE m.program_id = p_program AND m.member_id = p_member AND m.tier_reached_period = v_period;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT r.tier, r.rank INTO v_reach FROM points.tiers_at(p_program, p_at) AS r
    WHERE r.entry_points <= v_totals.points OR r.entry_spend_minor <= v_totals.spend_minor
    ORDER BY r.rank DESC LIMIT 1;
    v_to := CASE WHEN v_reach.rank > v_member.before_rank THEN v_reach.tier ELSE v_member.tier_before_upgrade END;
    IF v_to = v_member.tier OR coalesce(v_reach.rank, 0) >= v_member.rank THEN
        RETURN NULL;
    END IF;
    UPDATE points.members AS m SET
        tier = v_to,
        tier_reached_period = CASE WHEN v_to = m.tier_before_upgrade THEN NULL ELSE m.tier_reached_period END,
        tier_before_upgrade = CASE WHEN v_to = m.tier_before_upgrade THEN NULL ELSE m.tier_before_upgrade END
    WHERE m.program_id = p_program AND m.member_id = p_member;
    INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause, period_start,
                                     qualifying_points, qualifying_spend_minor, entry_id)
    VALUES (p_program, p_member, p_at, v_member.tier, v_to, 'refund', v_period, v_totals.points, v_totals.spend_minor, p_entry);
    RETURN v_to;
END
$$;


ALTER FUNCTION points.disqualify(p_program integer, p_member text, p_purchase_at timestamp with time zone, p_points bigint, p_spend_minor bigint, p_at timestamp with time zone, p_entry bigint) OWNER TO points_owner;

--
-- Name: effective_tier(integer, text, text, timestamp with time zone); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.effective_tier(p_program integer, p_member text, p_earned text, p_at timestamp with time zone) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_tier text;
BEGIN
    SELECT g.tier INTO v_tier
    FROM points.tier_grants AS g
    JOIN points.tiers AS gt ON gt.program_id = g.program_id AND gt.tier = g.tier
    JOIN points.tiers AS et ON et.program_id = g.program_id AND et.tier = p_earned
    WHERE g.program_id = p_program AND g.member_id = p_member AND g.starts_at <= p_at AND g.ends_at > p_at
      AND gt.rank > et.rank
    ORDER BY gt.rank DESC LIMIT 1;
    RETURN coalesce(v_tier, p_earned);
END
$$;


ALTER FUNCTION points.effective_tier(p_program integer, p_member text, p_earned text, p_at timestamp with time zone) OWNER TO points_owner;

--
-- Name: end_tier_terms(integer, points.event_time); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.end_tier_terms(p_program integer, p_as_of points.event_time) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_overrides integer;
    v_grants integer;
BEGIN
    PERFORM points.check_as_of(p_as_of);
    WITH ended AS (
        SELECT m.member_id, m.tier, m.override_previous, m.override_until FROM points.members AS m
        WHERE m.program_id = p_program AND m.override_until <= p_as_of
        ORDER BY m.member_id FOR UPDATE
    ), moved AS (
        UPDATE points.members AS m SET tier = e.override_previous, override_until = NULL, override_previous = NULL
        FROM ended AS e WHERE m.program_id = p_program AND m.member_id = e.member_id
    )
    INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause)
    SELECT p_program, e.member_id, e.override_until, e.tier, e.override_previous, 'override_end' FROM ended AS e;
    GET DIAGNOSTICS v_overrides = ROW_COUNT;

    WITH ended AS (
        SELECT g.member_id, g.grant_id, g.ends_at FROM points.tier_grants AS g
        WHERE g.program_id = p_program AND NOT g.end_recorded AND g.ends_at <= p_as_of
        FOR UPDATE
    ), marked AS (
        UPDATE points.tier_grants AS g SET end_recorded = true
        FROM ended AS e WHERE g.program_id = p_program AND g.member_id = e.member_id AND g.grant_id = e.grant_id
    ), changes AS (
        SELECT e.member_id, e.ends_at,
               points.tier_at(p_program, m.member_id, m.tier, m.override_until, m.override_previous, m.granted_until,
                              e.ends_at - interval '1 microsecond') AS before,
               points.tier_at(p_program, m.member_id, m.tier, m.override_until, m.override_previous, m.granted_until, e.ends_at) AS after
        FROM ended AS e JOIN points.members AS m ON m.program_id = p_program AND m.member_id = e.member_id
    )
    INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause)
    SELECT p_program, c.member_id, c.ends_at, c.before, c.after, 'grant_end' FROM changes AS c WHERE c.before <> c.after;
    GET DIAGNOSTICS v_grants = ROW_COUNT;
    RETURN v_overrides + v_grants;
END
$$;


ALTER FUNCTION points.end_tier_terms(p_program integer, p_as_of points.event_time) OWNER TO points_owner;

--
-- Name: evaluate_tiers(integer, date, integer); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.evaluate_tiers(p_program integer, p_period_start date, p_limit integer) RETURNS TABLE(members integer, changed integer, finished boolean)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    SET enable_seqscan TO 'off'
    SET enable_hashjoin TO 'off'
    SET enable_mergejoin TO 'off'
    SET jit TO 'off'
    AS $$
DECLARE
    v_evaluation points.tier_evaluations;
    v_at timestamptz;
    v_policy text;
    v_members integer;
    v_changed integer;
    v_chunk text[];
BEGIN
    SELECT e.* INTO v_evaluation FROM points.tier_evaluations AS e
    WHERE e.program_id = p_program AND e.period_start = p_period_start FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the period starting % is not being evaluated', p_period_start USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_evaluation.finished_at IS NOT NULL THEN
        RETURN QUERY SELECT 0, 0, true;
        RETURN;
    END IF;
    v_at := v_evaluation.period_end - interval '1 microsecond';
    v_policy := (points.settings_at(p_program, v_at)).downgrade;

    -- The chunk's members are locked first, in id order; the statement below then reads their
    -- rows and totals afresh, after every posting that held one of those locks has committed (a
    -- posting may move a period's totals from the member's row to qualifying_totals).
    SELECT array_agg(l.member_id ORDER BY l.member_id) INTO v_chunk FROM (
        SELECT m.member_id FROM points.members AS m
        WHERE m.program_id = p_program AND m.member_id > coalesce(v_evaluation.cursor, '')
        ORDER BY m.member_id LIMIT p_limit
        FOR UPDATE) AS l;
    IF v_chunk IS NULL THEN
        UPDATE points.tier_evaluations AS e SET finished_at = now()
        WHERE e.program_id = p_program AND e.period_start = p_period_start;
        UPDATE points.programs AS p SET tiers_closed_until = greatest(p.tiers_closed_until, v_evaluation.period_end)
        WHERE p.program_id = p_program;
        RETURN QUERY SELECT 0, 0, true;
        RETURN;
    END IF;

    -- One statement: decide each member of the chunk, move those whose tier changes, record the
    -- changes and count the members by the tier they had and got. A member whose totals in a
    -- later period (already under way) reach a higher tier goes there: upgrades are immediate.
    WITH thresholds AS MATERIALIZED (
        SELECT * FROM points.tiers_at(p_program, v_at)
    ), chunk AS MATERIALIZED (
        SELECT m.member_id, m.tier, cur.rank, m.tier_reached_period,
               CASE WHEN m.q_period = p_period_start THEN m.q_points ELSE coalesce(q.points, 0) END AS points,
               CASE WHEN m.q_period = p_period_start THEN m.q_spend ELSE coalesce(q.spend_minor, 0) END AS spend_minor,
               m.q_period, m.q_points, m.q_spend
        FROM points.members AS m
        JOIN points.tiers AS cur ON cur.program_id = m.program_id AND cur.tier = m.tier
        LEFT JOIN points.qualifying_totals AS q
            ON q.program_id = m.program_id AND q.member_id = m.member_id AND q.period_start = p_period_start
        WHERE m.program_id = p_program AND m.member_id = ANY (v_chunk)
    ), decided AS MATERIALIZED (
        SELECT c.member_id, c.tier AS from_tier, c.rank, c.points, c.spend_minor, c.q_period,
               max(t.rank) FILTER (WHERE c.q_period > p_period_start
                                     AND (t.entry_points <= c.q_points OR t.entry_spend_minor <= c.q_spend)) AS later_rank,
               greatest(
                   max(t.rank) FILTER (WHERE t.entry_points <= c.points OR t.entry_spend_minor <= c.spend_minor),
                   CASE WHEN c.tier_reached_period >= p_period_start
                             OR max(t.rank) FILTER (WHERE t.retain_points <= c.points OR t.retain_spend_minor <= c.spend_minor) >= c.rank
                        THEN c.rank
                        WHEN v_policy = 'one_level' THEN greatest(
                            max(t.rank) FILTER (WHERE t.rank < c.rank),
                            max(t.rank) FILTER (WHERE t.retain_points <= c.points OR t.retain_spend_minor <= c.spend_minor))
                        ELSE max(t.rank) FILTER (WHERE t.retain_points <= c.points OR t.retain_spend_minor <= c.spend_minor) END)
               AS period_rank
        FROM chunk AS c CROSS JOIN thresholds AS t
        GROUP BY c.member_id, c.tier, c.rank, c.points, c.spend_minor, c.tier_reached_period, c.q_period, c.q_points, c.q_spend
    ), outcome AS MATERIALIZED (
        SELECT d.*, greatest(d.period_rank, d.later_rank) AS to_rank, t.tier AS to_tier,
               CASE WHEN d.later_rank > d.period_rank THEN d.q_period ELSE p_period_start END AS reached_in
        FROM decided AS d JOIN thresholds AS t ON t.rank = greatest(d.period_rank, d.later_rank)
    ), moved AS (
        UPDATE points.members AS m SET
            tier = o.to_tier,
            tier_before_upgrade = CASE WHEN o.to_rank > o.rank THEN o.from_tier END,
            tier_reached_period = CASE WHEN o.to_rank > o.rank THEN o.reached_in END,
            override_until = NULL,
            override_previous = NULL
        FROM outcome AS o
        WHERE o.to_tier <> o.from_tier AND m.program_id = p_program AND m.member_id = o.member_id
    ), recorded AS (
        INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause, period_start,
                                         qualifying_points, qualifying_spend_minor)
        SELECT p_program, o.member_id, v_evaluation.period_end, o.from_tier, o.to_tier, 'evaluation', p_period_start,
               o.points, o.spend_minor
        FROM outcome AS o WHERE o.to_tier <> o.from_tier
    ), counted AS (
        INSERT INTO points.tier_evaluation_counts AS n (program_id, period_start, from_tier, to_tier, members)
        SELECT p_program, p_period_start, o.from_tier, o.to_tier, count(*) FROM outcome AS o GROUP BY o.from_tier, o.to_tier
        ON CONFLICT ON CONSTRAINT tier_evaluation_counts_pkey DO UPDATE SET members = n.members + EXCLUDED.members
    )
    SELECT count(*), count(*) FILTER (WHERE o.to_tier <> o.from_tier)
    INTO v_members, v_changed
    FROM outcome AS o;
    UPDATE points.tier_evaluations AS e SET cursor = v_chunk[cardinality(v_chunk)]
    WHERE e.program_id = p_program AND e.period_start = p_period_start;
    RETURN QUERY SELECT v_members, v_changed, false;
END
$$;


ALTER FUNCTION points.evaluate_tiers(p_program integer, p_period_start date, p_limit integer) OWNER TO points_owner;

--
-- Name: expire_due(integer, points.event_time, integer); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.expire_due(p_program integer, p_as_of points.event_time, p_limit integer) RETURNS TABLE(lots integer, points bigint, members integer)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    SET enable_seqscan TO 'off'
    SET jit TO 'off'
    AS $$
DECLARE
    v_members text[];
BEGIN
    SELECT array_agg(DISTINCT d.member_id ORDER BY d.member_id) INTO v_members FROM (
        SELECT l.member_id FROM points.lots AS l
        WHERE l.program_id = p_program AND l.remaining > 0 AND l.expires_at <= p_as_of
        ORDER BY l.expires_at LIMIT p_limit
    ) AS d;
    IF NOT points.begin_chunk(p_program, p_as_of, v_members) THEN
        RETURN QUERY SELECT 0, 0::bigint, 0;
        RETURN;
    END IF;

    RETURN QUERY
    WITH due AS (
        SELECT l.member_id, l.lot_id, l.remaining, l.expires_at
        FROM points.lots AS l
        WHERE l.program_id = p_program AND l.member_id = ANY (v_members)
          AND l.remaining > 0 AND l.expires_at <= p_as_of
    ), grouped AS (
        SELECT d.member_id, d.expires_at, sum(d.remaining) AS pts, min(d.lot_id) AS first_lot
        FROM due AS d GROUP BY d.member_id, d.expires_at
    ), numbered AS (
        SELECT g.*, nextval('points.journal_entry_ids') AS entry_id FROM grouped AS g
    ), entries AS (
        INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at)
        SELECT p_program, n.member_id, n.entry_id, 'expiry', 'expiry', n.member_id || '/' || n.first_lot,
               jsonb_build_object('points', n.pts, 'expires_at', n.expires_at), n.expires_at
        FROM numbered AS n
    ), lines AS (
        INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at)
        SELECT p_program, n.member_id, n.entry_id, line.account, line.amount, n.expires_at
        FROM numbered AS n
        CROSS JOIN LATERAL (VALUES ('available'::points.account, -n.pts), ('expired', n.pts)) AS line(account, amount)
    ), spent AS (
        UPDATE points.lots AS l SET expired_amount = l.expired_amount + d.remaining, remaining = 0, expired_entry_id = n.entry_id
        FROM due AS d JOIN numbered AS n ON n.member_id = d.member_id AND n.expires_at = d.expires_at
        WHERE l.program_id = p_program AND l.member_id = d.member_id AND l.lot_id = d.lot_id
        RETURNING 1
    ), balances AS (
        UPDATE points.members AS m SET available = m.available - t.pts, expired = m.expired + t.pts
        FROM (SELECT n.member_id, sum(n.pts) AS pts FROM numbered AS n GROUP BY n.member_id) AS t
        WHERE m.program_id = p_program AND m.member_id = t.member_id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM spent)::integer,
           (SELECT coalesce(sum(n.pts), 0) FROM numbered AS n)::bigint,
           (SELECT count(*) FROM balances)::integer;
END
$$;


ALTER FUNCTION points.expire_due(p_program integer, p_as_of points.event_time, p_limit integer) OWNER TO points_owner;

--
-- Name: expire_holds(integer, points.event_time, integer); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.expire_holds(p_program integer, p_as_of points.event_time, p_limit integer) RETURNS TABLE(holds integer, points bigint, members integer)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    SET enable_seqscan TO 'off'
    SET jit TO 'off'
    AS $$
DECLARE
    v_members text[];
BEGIN
    SELECT array_agg(DISTINCT h.member_id) INTO v_members FROM (
        SELECT h.member_id FROM points.holds AS h
        WHERE h.program_id = p_program AND h.state = 'open' AND h.expires_at <= p_as_of
        ORDER BY h.expires_at LIMIT p_limit) AS h;
    IF NOT points.begin_chunk(p_program, p_as_of, v_members) THEN
        RETURN QUERY SELECT 0, 0::bigint, 0;
        RETURN;
    END IF;
    RETURN QUERY
    WITH due AS (
        UPDATE points.holds AS h SET state = 'expired', resolved_at = h.expires_at
        FROM (SELECT d.member_id, d.hold_id FROM points.holds AS d
              WHERE d.program_id = p_program AND d.state = 'open' AND d.expires_at <= p_as_of AND d.member_id = ANY (v_members)
              ORDER BY d.expires_at LIMIT p_limit FOR UPDATE) AS d
        WHERE h.program_id = p_program AND h.member_id = d.member_id AND h.hold_id = d.hold_id
        RETURNING h.member_id, h.points
    ), released AS (
        UPDATE points.members AS m SET held = m.held - r.points
        FROM (SELECT u.member_id, sum(u.points) AS points FROM due AS u GROUP BY u.member_id) AS r
        WHERE m.program_id = p_program AND m.member_id = r.member_id
        RETURNING m.member_id
    )
    SELECT (SELECT count(*) FROM due)::integer, (SELECT coalesce(sum(u.points), 0) FROM due AS u)::bigint,
           (SELECT count(*) FROM released)::integer;
END
$$;


ALTER FUNCTION points.expire_holds(p_program integer, p_as_of points.event_time, p_limit integer) OWNER TO points_owner;

--
-- Name: expiry_for(integer, timestamp with time zone); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.expiry_for(p_program integer, p_at timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_settings points.program_settings := points.settings_at(p_program, p_at);
    v_time_zone text;
BEGIN
    IF v_settings.expiry_kind = 'never' THEN
        RETURN NULL;
    END IF;
    SELECT p.time_zone INTO v_time_zone FROM points.programs AS p WHERE p.program_id = p_program;
    RETURN points.lot_expiry(v_settings.expiry_kind, v_settings.expiry_count, p_at, v_time_zone);
END
$$;


ALTER FUNCTION points.expiry_for(p_program integer, p_at timestamp with time zone) OWNER TO points_owner;

--
-- Name: forbid_journal_rewrite(); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.forbid_journal_rewrite() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF current_user <> 'points_owner' THEN
        RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Correct a mistake with a new, reversing entry.';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;


ALTER FUNCTION points.forbid_journal_rewrite() OWNER TO points_owner;

--
-- Name: forbid_member_delete(); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.forbid_member_delete() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'members are never deleted: the journal names them'
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Keep the member; their balances can be corrected with adjustments.';
END
$$;


ALTER FUNCTION points.forbid_member_delete() OWNER TO points_owner;

--
-- Name: form_lot(integer, text, bigint, bigint, bigint, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.form_lot(p_program integer, p_member text, p_entry bigint, p_points bigint, p_available_before bigint, p_earned_at timestamp with time zone, p_expires_at timestamp with time zone) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_amount bigint := points.lot_amount(p_points, p_available_before);
BEGIN
    IF v_amount > 0 THEN
        INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, expires_at, amount, remaining)
        VALUES (p_program, p_member, p_entry, p_earned_at, p_expires_at, v_amount, v_amount);
    END IF;
    RETURN v_amount;
END
$$;


ALTER FUNCTION points.form_lot(p_program integer, p_member text, p_entry bigint, p_points bigint, p_available_before bigint, p_earned_at timestamp with time zone, p_expires_at timestamp with time zone) OWNER TO points_owner;

--
-- Name: genesis_hash(integer); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.genesis_hash(p_program integer) RETURNS bytea
    LANGUAGE sql STABLE
    AS $$
    SELECT sha256(convert_to('PointsLedger journal of program ' || p.program_id || ' ' || p.name, 'UTF8'))
    FROM points.programs AS p WHERE p.program_id = p_program
$$;


ALTER FUNCTION points.genesis_hash(p_program integer) OWNER TO points_owner;

--
-- Name: grant_tier(integer, points.member_key, text, text, points.event_time, points.label_text, points.idempotency_key); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.grant_tier(p_program integer, p_member points.member_key, p_tier text, p_term text, p_from points.event_time, p_actor points.label_text, p_key points.idempotency_key) RETURNS TABLE(status points.grant_tier_status, grant_id bigint, starts_at timestamp with time zone, ends_at timestamp with time zone, tier_before text, tier_after text)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_member points.members;
    v_time_zone text;
    v_ends timestamptz;
    v_grant bigint;
    v_before text;
    v_after text;
    v_existing points.tier_grants;
BEGIN
    SELECT m.* INTO v_member FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = p_member FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member'::points.grant_tier_status, NULL::bigint, NULL::timestamptz, NULL::timestamptz,
            NULL::text, NULL::text;
        RETURN;
    END IF;
    SELECT g.* INTO v_existing FROM points.tier_grants AS g WHERE g.program_id = p_program AND g.grant_key = p_key;
    IF FOUND THEN
        RETURN QUERY SELECT
            CASE WHEN v_existing.member_id = p_member AND v_existing.tier = p_tier AND v_existing.term = p_term
                      AND v_existing.starts_at = coalesce(p_from::timestamptz, v_existing.starts_at) THEN 'exists' ELSE 'conflict' END
                ::points.grant_tier_status,
            v_existing.grant_id, v_existing.starts_at, v_existing.ends_at,
            points.tier_at(p_program, p_member, v_member.tier, v_member.override_until, v_member.override_previous,
                           v_member.granted_until, v_existing.starts_at),
            points.tier_at(p_program, p_member, v_member.tier, v_member.override_until, v_member.override_previous,
                           v_member.granted_until, v_existing.starts_at);
        RETURN;
    END IF;
    p_from := coalesce(p_from, now());
    IF NOT EXISTS (SELECT 1 FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = p_tier) THEN
        RETURN QUERY SELECT 'unknown_tier'::points.grant_tier_status, NULL::bigint, NULL::timestamptz, NULL::timestamptz,
            NULL::text, NULL::text;
        RETURN;
    END IF;
    SELECT p.time_zone INTO v_time_zone FROM points.programs AS p WHERE p.program_id = p_program;
    v_ends := points.tier_period_end(p_term, p_from AT TIME ZONE v_time_zone, v_time_zone);
    v_before := points.tier_at(p_program, p_member, v_member.tier, v_member.override_until, v_member.override_previous,
                               v_member.granted_until, p_from);
    INSERT INTO points.tier_grants AS g (program_id, member_id, tier, term, starts_at, ends_at, actor, grant_key)
    VALUES (p_program, p_member, p_tier, p_term, p_from, v_ends, p_actor, p_key)
    ON CONFLICT ON CONSTRAINT grant_once DO NOTHING
    RETURNING g.grant_id INTO v_grant;
    IF v_grant IS NULL THEN
        RETURN QUERY SELECT 'exists'::points.grant_tier_status, g.grant_id, g.starts_at, g.ends_at, v_before, v_before
            FROM points.tier_grants AS g
            WHERE g.program_id = p_program AND g.member_id = p_member AND g.tier = p_tier AND g.term = p_term AND g.starts_at = p_from::timestamptz;
        RETURN;
    END IF;
    UPDATE points.members AS m SET granted_until = greatest(m.granted_until, v_ends)
    WHERE m.program_id = p_program AND m.member_id = p_member;
    v_after := points.tier_at(p_program, p_member, v_member.tier, v_member.override_until, v_member.override_previous,
                              greatest(v_member.granted_until, v_ends), p_from);
    IF v_after <> v_before THEN
        INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause, reason, actor)
        VALUES (p_program, p_member, p_from, v_before, v_after, 'grant', format('%s grant until %s', p_term, v_ends), p_actor);
    END IF;
    RETURN QUERY SELECT 'granted'::points.grant_tier_status, v_grant, p_from::timestamptz, v_ends, v_before, v_after;
END
$$;


ALTER FUNCTION points.grant_tier(p_program integer, p_member points.member_key, p_tier text, p_term text, p_from points.event_time, p_actor points.label_text, p_key points.idempotency_key) OWNER TO points_owner;

--
-- Name: import_answer_from_journal(integer, boolean); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.import_answer_from_journal(p_program integer, p_all boolean) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_answered bigint;
BEGIN
    UPDATE pg_temp.import_work AS w SET
        status = CASE WHEN f.same THEN 'duplicate' ELSE 'rejected' END::points.import_purchase_batch_status,
        reason = format('order %s was posted as entry %s%s', w.order_id, f.entry_id,
                        CASE WHEN f.same THEN '' ELSE ' with different content (idempotency conflict)' END),
        ledger_entry_id = f.entry_id
    FROM (SELECT w2.line, e.entry_id, points.same_request(e.request, w2.request) AS same
          FROM pg_temp.import_work AS w2
          CROSS JOIN LATERAL (
              SELECT e.entry_id, e.request FROM points.journal_entries AS e
              WHERE e.program_id = p_program AND e.key_scope = 'purchase' AND e.idempotency_key = w2.order_id
              LIMIT 1) AS e
          WHERE w2.status IS NULL AND (p_all OR w2.time_problem OR NOT w2.known)) AS f
    WHERE w.line = f.line;
    GET DIAGNOSTICS v_answered = ROW_COUNT;
    RETURN v_answered;
END
$$;


ALTER FUNCTION points.import_answer_from_journal(p_program integer, p_all boolean) OWNER TO points_owner;

--
-- Name: import_apply_member_changes(integer); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.import_apply_member_changes(p_program integer) RETURNS void
    LANGUAGE plpgsql
    SET enable_hashjoin TO 'off'
    SET enable_mergejoin TO 'off'
    SET enable_bitmapscan TO 'off'
    AS $$
BEGIN
    UPDATE points.members AS m SET
        available = m.available + c.available, pending = m.pending + c.pending, issued = m.issued - c.available - c.pending,
        first_purchase_at = coalesce(m.first_purchase_at, c.first_at),
        q_period = c.q_period, q_points = c.q_points, q_spend = c.q_spend,
        tier = coalesce(c.to_tier, m.tier),
        tier_before_upgrade = CASE WHEN c.to_tier IS NULL THEN m.tier_before_upgrade ELSE c.before_tier END,
        tier_reached_period = CASE WHEN c.to_tier IS NULL THEN m.tier_reached_period ELSE c.reached_period END,
        override_until = CASE WHEN c.to_tier IS NULL THEN m.override_until END,
        override_previous = CASE WHEN c.to_tier IS NULL THEN m.override_previous END
    FROM pg_temp.import_changes AS c
    WHERE m.program_id = p_program AND m.member_id = c.member_id;
END
$$;


ALTER FUNCTION points.import_apply_member_changes(p_program integer) OWNER TO points_owner;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: programs; Type: TABLE; Schema: points; Owner: points_owner
--

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


ALTER TABLE points.programs OWNER TO points_owner;

--
-- Name: import_find_upgrades(integer, points.programs, smallint, boolean); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.import_find_upgrades(p_program integer, p_row points.programs, p_exponent smallint, p_multiplied boolean) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
BEGIN
    -- Upgrades in line order, as the same purchases posted one by one make them: a line whose
    -- period's totals (with it) reach a higher tier's entry threshold, in a period not yet
    -- evaluated, moves its member up at once; it earned at the old multiplier, the member's later
    -- lines earn at the new one. Each pass finds every member's next crossing, set-based, and
    -- prices the lines after it again; a member crosses at most once per tier above it, so the
    -- passes end.
    CREATE TEMP TABLE import_tiers ON COMMIT DROP AS
    SELECT i.member_id, i.tier, i.override_until, i.override_previous, i.granted_until, i.q_period, i.q_points, i.q_spend,
           0::bigint AS settled_line, false AS done
    FROM pg_temp.import_members AS i
    WHERE EXISTS (SELECT FROM pg_temp.import_work AS w WHERE w.member_id = i.member_id AND w.status IS NULL);
    ANALYZE pg_temp.import_tiers;
    CREATE TEMP TABLE import_crossings (
        member_id text COLLATE "C", line bigint, entry_id bigint, occurred_at timestamptz, period_start date,
        from_tier text, to_tier text, q_points bigint, q_spend bigint) ON COMMIT DROP;
    LOOP
        WITH running AS (
            -- Each posted line's period totals with it: what the period held before the batch, and
            -- the member's lines of that period up to it.
            SELECT w.member_id, w.line, w.entry_id, w.occurred_at, w.period_start,
                   (coalesce(base.points, 0) + sum(w.points) OVER per_period)::bigint AS q_points,
                   (coalesce(base.spend, 0) + sum(w.amount_minor - w.points_paid_minor) OVER per_period)::bigint AS q_spend
            FROM pg_temp.import_work AS w
            JOIN pg_temp.import_tiers AS t ON t.member_id = w.member_id AND NOT t.done
            LEFT JOIN LATERAL (
                SELECT t.q_points AS points, t.q_spend AS spend WHERE w.period_start = t.q_period
                UNION ALL
                SELECT q.points, q.spend_minor FROM points.qualifying_totals AS q
                WHERE w.period_start < t.q_period AND q.program_id = p_program AND q.member_id = w.member_id
                  AND q.period_start = w.period_start) AS base ON true
            WHERE w.status IS NULL
            WINDOW per_period AS (PARTITION BY w.member_id, w.period_start ORDER BY w.line)
        ), crossing AS (
            SELECT DISTINCT ON (r.member_id) r.*, e.earned AS from_tier,
                   points.tier_reached_above(p_program, e.earned, r.occurred_at, r.q_points, r.q_spend, p_row.ladder_since,
                       p_row.ladder_tiers, p_row.ladder_points, p_row.ladder_spend) AS to_tier
            FROM running AS r
            JOIN pg_temp.import_tiers AS t ON t.member_id = r.member_id
            CROSS JOIN LATERAL (
                SELECT CASE WHEN t.override_until <= r.occurred_at THEN t.override_previous ELSE t.tier END AS earned) AS e
            WHERE r.line > t.settled_line AND r.occurred_at >= coalesce(p_row.tiers_closed_until, '-infinity')
              -- From the ladder's time on, may_reach_above is exact, and the call above runs once per
              -- member, on its first crossing; before it (history older than the tiers' latest
              -- change), each candidate line asks the versions in force then.
              AND points.may_reach_above(e.earned, r.occurred_at, r.q_points, r.q_spend,
                      p_row.ladder_since, p_row.ladder_tiers, p_row.ladder_points, p_row.ladder_spend)
              AND CASE WHEN r.occurred_at >= p_row.ladder_since THEN true
                       ELSE points.tier_reached_above(p_program, e.earned, r.occurred_at, r.q_points, r.q_spend,
                                p_row.ladder_since, p_row.ladder_tiers, p_row.ladder_points, p_row.ladder_spend) IS NOT NULL END
            ORDER BY r.member_id, r.line
        ), found AS (
            INSERT INTO pg_temp.import_crossings AS x
            SELECT c.member_id, c.line, c.entry_id, c.occurred_at, c.period_start, c.from_tier, c.to_tier, c.q_points, c.q_spend
            FROM crossing AS c
            RETURNING x.member_id, x.line, x.to_tier
        )
        UPDATE pg_temp.import_tiers AS t SET
            done = f.member_id IS NULL,
            tier = coalesce(f.to_tier, t.tier),
            override_until = CASE WHEN f.member_id IS NULL THEN t.override_until END,
            override_previous = CASE WHEN f.member_id IS NULL THEN t.override_previous END,
            settled_line = coalesce(f.line, t.settled_line)
        FROM pg_temp.import_tiers AS t2 LEFT JOIN found AS f ON f.member_id = t2.member_id
        WHERE NOT t.done AND t2.member_id = t.member_id;
        EXIT WHEN NOT EXISTS (SELECT FROM pg_temp.import_tiers AS t WHERE NOT t.done);
        -- The lines after a crossing earn at the new tier's multiplier.
        IF p_multiplied THEN
            UPDATE pg_temp.import_work AS w SET (points, matures_at) = (
                SELECT x.points, points.purchase_matures_at(x.points, w.occurred_at, w.return_window_days, p_row.time_zone)
                FROM (SELECT points.purchase_points(w.amount_minor - w.points_paid_minor, p_exponent, w.earn_rate,
                          points.multiplier_in_force(p_program,
                              points.tier_at(p_program, t.member_id, t.tier, t.override_until, t.override_previous,
                                             t.granted_until, w.occurred_at),
                              w.occurred_at, p_row.ladder_since, p_row.ladder_tiers, p_row.ladder_multipliers),
                          w.rounding) AS points) AS x)
            FROM pg_temp.import_tiers AS t
            WHERE t.member_id = w.member_id AND NOT t.done AND w.line > t.settled_line AND w.status IS NULL;
        END IF;
    END LOOP;
END
$$;


ALTER FUNCTION points.import_find_upgrades(p_program integer, p_row points.programs, p_exponent smallint, p_multiplied boolean) OWNER TO points_owner;

--
-- Name: import_purchase_batch(integer, bigint, boolean, boolean); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.import_purchase_batch(p_program integer, p_batch bigint, p_create_members boolean, p_backdated boolean) RETURNS TABLE(line bigint, status points.import_purchase_batch_status, entry_id bigint, points bigint, reason text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    SET work_mem TO '64MB'
    SET jit TO 'off'
    AS $$
DECLARE
    v_row points.programs;
    v_exponent smallint;
    v_entry_tier text;
    v_referrals boolean;
    v_multiplied boolean;
BEGIN
    SELECT p.* INTO v_row FROM points.programs AS p WHERE p.program_id = p_program;
    SELECT c.exponent INTO v_exponent FROM points.currencies AS c WHERE c.currency = v_row.currency;
    SELECT t.tier INTO v_entry_tier FROM points.tiers AS t WHERE t.program_id = p_program ORDER BY t.rank LIMIT 1;
    -- Whether any first purchase can pay a referrer: when no settings ever had a referral bonus,
    -- referrers need neither locks nor lookups.
    v_referrals := EXISTS (SELECT 1 FROM points.program_settings AS ps WHERE ps.program_id = p_program AND ps.referral_bonus > 0);
    -- Tier multipliers (tiers/ladder.sql): when any tier of the program has one other than 1, each
    -- line's points are multiplied by that of the effective tier its member holds before it, as in
    -- force at the line's time: first the tier held when the batch starts, then, for the lines
    -- after one that moves the member up, the new tier (import/upgrades.sql).
    v_multiplied := EXISTS (SELECT 1 FROM points.tier_settings AS ts WHERE ts.program_id = p_program AND ts.multiplier <> 1);
    DROP TABLE IF EXISTS pg_temp.import_members, pg_temp.import_work, pg_temp.import_tiers, pg_temp.import_crossings,
        pg_temp.import_qualifying, pg_temp.import_changes;

    PERFORM points.import_read_lines(p_program, v_row, p_batch, p_create_members, p_backdated, v_exponent, v_entry_tier,
        v_multiplied, v_referrals, (points.settings_at(p_program, now())).backdate_days);
    PERFORM points.import_write_entries(p_program, p_create_members, p_backdated, v_entry_tier);
    PERFORM points.import_find_upgrades(p_program, v_row, v_exponent, v_multiplied);
    PERFORM points.import_write_lines(p_program, p_backdated, v_referrals);

    RETURN QUERY
    SELECT w.line, coalesce(w.status, 'accepted'), CASE WHEN w.status IS NULL THEN w.entry_id ELSE w.ledger_entry_id END,
           CASE WHEN w.status IS NULL THEN w.points END, w.reason
    FROM pg_temp.import_work AS w ORDER BY w.line;
    DROP TABLE pg_temp.import_members, pg_temp.import_work, pg_temp.import_tiers, pg_temp.import_crossings,
               pg_temp.import_qualifying, pg_temp.import_changes;
END
$$;


ALTER FUNCTION points.import_purchase_batch(p_program integer, p_batch bigint, p_create_members boolean, p_backdated boolean) OWNER TO points_owner;

--
-- Name: import_read_lines(integer, points.programs, bigint, boolean, boolean, smallint, text, boolean, boolean, integer); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.import_read_lines(p_program integer, p_row points.programs, p_batch bigint, p_create_members boolean, p_backdated boolean, p_exponent smallint, p_entry_tier text, p_multiplied boolean, p_referrals boolean, p_backdate_days integer) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_members text[];
    -- Only the rows this transaction staged are the batch's (migrations/0002).
    v_me xid8 := pg_current_xact_id();
BEGIN
    -- Lock every member of the batch, the referrers its lines name and the referrers a first
    -- purchase pays, in id order, before anything is written (creating a member share-locks its
    -- referrer, which must not come before the ordered locks), and copy their rows.
    SELECT array_agg(DISTINCT x.member_id) INTO v_members FROM (
        SELECT st.member_id FROM points.import_staging AS st WHERE st.batch_id = p_batch AND st.staged_by = v_me
        UNION ALL
        SELECT st.referrer FROM points.import_staging AS st WHERE st.batch_id = p_batch AND st.staged_by = v_me AND st.referrer IS NOT NULL
        UNION ALL
        SELECT r.referrer FROM (SELECT DISTINCT st.member_id FROM points.import_staging AS st WHERE st.batch_id = p_batch AND st.staged_by = v_me) AS st
        CROSS JOIN LATERAL (
            SELECT m.referrer FROM points.members AS m
            WHERE m.program_id = p_program AND m.member_id = st.member_id AND m.first_purchase_at IS NULL AND m.referrer IS NOT NULL
            LIMIT 1) AS r
        WHERE p_referrals) AS x;
    CREATE TEMP TABLE import_members ON COMMIT DROP AS SELECT * FROM points.lock_members(p_program, v_members);

    -- The batch in member order, with everything that follows from each line alone, computed in
    -- one pass: the reason it cannot be posted, if any (status stays NULL while a line may still
    -- be posted), and its points, maturity and lot expiry by the settings in force at its own time
    -- (one join against the program's few settings versions, each valid until the next).
    CREATE TEMP TABLE import_work ON COMMIT DROP AS
    SELECT x.*,
           -- Amount problems reject a line at once; time problems only once the ledger is known
           -- not to hold its order (a re-run of an old file is answered with duplicates).
           CASE WHEN x.reason IS NOT NULL AND NOT x.time_problem THEN 'rejected'::points.import_purchase_batch_status END
               AS status,
           NULL::bigint AS ledger_entry_id,
           points.purchase_matures_at(x.points, x.occurred_at, x.return_window_days, p_row.time_zone) AS matures_at,
           points.lot_expiry(x.expiry_kind, x.expiry_count, x.occurred_at, p_row.time_zone) AS expires_at,
           nextval('points.journal_entry_ids') AS entry_id,
           points.tier_period_start(x.tier_period, x.occurred_at, p_row.time_zone) AS period_start
    FROM (
        SELECT st.line, st.order_id, st.member_id, st.amount_minor, st.points_paid_minor, st.occurred_at, st.referrer,
               jsonb_build_object('member', st.member_id, 'order', st.order_id, 'amount_minor', st.amount_minor,
                                  'points_paid_minor', st.points_paid_minor, 'occurred_at', st.occurred_at AT TIME ZONE 'UTC') AS request,
               points.purchase_points(st.amount_minor - st.points_paid_minor, p_exponent, s.earn_rate,
                   CASE WHEN p_multiplied THEN points.multiplier_in_force(p_program,
                       -- A member created by this batch holds the entry tier.
                       points.tier_at(p_program, st.member_id, coalesce(im.tier, p_entry_tier), im.override_until,
                                      im.override_previous, im.granted_until, st.occurred_at),
                       st.occurred_at, p_row.ladder_since, p_row.ladder_tiers, p_row.ladder_multipliers) END,
                   s.rounding) AS points,
               s.earn_rate, s.rounding, s.return_window_days, s.expiry_kind, s.expiry_count, s.tier_period,
               im.member_id IS NOT NULL AS known,
               CASE
                   WHEN st.amount_minor <= 0 THEN 'amount must be more than zero'
                   WHEN st.points_paid_minor < 0 OR st.points_paid_minor > st.amount_minor THEN 'points_paid must be between 0 and the amount'
                   WHEN st.occurred_at > now() + interval '5 minutes' THEN 'occurred_at is more than 5 minutes in the future'
                   WHEN NOT p_backdated AND st.occurred_at < now() - make_interval(days => p_backdate_days) THEN
                       format('occurred_at is older than the back-dating window of %s days; loading history needs an explicit back-dating permission', p_backdate_days)
               END AS reason,
               st.occurred_at > now() + interval '5 minutes'
                   OR (NOT p_backdated AND st.occurred_at < now() - make_interval(days => p_backdate_days)) AS time_problem
        FROM points.import_staging AS st
        JOIN (SELECT ps.*, lead(ps.effective_at, 1, 'infinity') OVER (ORDER BY ps.effective_at) AS until
              FROM points.program_settings AS ps WHERE ps.program_id = p_program) AS s
          ON st.occurred_at >= s.effective_at AND st.occurred_at < s.until
        LEFT JOIN pg_temp.import_members AS im ON im.member_id = st.member_id
        WHERE st.batch_id = p_batch AND st.staged_by = v_me
    ) AS x
    ORDER BY x.member_id, x.line;
    -- Statistics of the work tables, so that the later stages join them by hash, not by loops
    -- over estimates of a few rows (temporary tables get none otherwise).
    ANALYZE pg_temp.import_work, pg_temp.import_members;
    -- The batch's rows, and rows whose transactions have all ended (staged under this batch's id
    -- by another transaction, or left by a crash): nobody will read them.
    DELETE FROM points.import_staging AS st
    WHERE st.batch_id = p_batch OR st.staged_by < pg_snapshot_xmin(pg_current_snapshot());

    -- Orders the ledger has already, among the lines of new members and the lines out of time
    -- (the others are found when the entries are written): members are created only for lines
    -- that will be posted.
    PERFORM points.import_answer_from_journal(p_program, false);
    UPDATE pg_temp.import_work AS w SET status = 'rejected' WHERE w.status IS NULL AND w.time_problem;

    -- Members: refuse lines of unknown members (unless they are to be created) and of unknown
    -- referrers.
    IF p_create_members THEN
        -- Until nothing changes: a referrer to be created by this batch whose own line is refused
        -- here is unknown too (one statement sees its line as it was before the statement).
        LOOP
            UPDATE pg_temp.import_work AS w SET status = 'rejected',
                reason = format('referrer %s does not exist', w.referrer)
            WHERE w.status IS NULL AND w.referrer IS NOT NULL AND NOT w.known
              AND NOT EXISTS (SELECT 1 FROM pg_temp.import_members AS m WHERE m.member_id = w.referrer)
              AND NOT EXISTS (SELECT 1 FROM pg_temp.import_work AS w2 WHERE w2.member_id = w.referrer AND w2.status IS NULL);
            EXIT WHEN NOT FOUND;
        END LOOP;
    ELSE
        UPDATE pg_temp.import_work AS w SET status = 'rejected',
            reason = format('member %s does not exist (an import that creates members would create it)', w.member_id)
        WHERE w.status IS NULL AND NOT w.known;
    END IF;

    -- An order repeated in the batch (among the lines still to post): a posted one is answered from
    -- the journal, line by line (so every line gets the posted entry, and its own verdict); of one
    -- not yet posted the first line counts, and the others repeat it or conflict.
    IF EXISTS (SELECT FROM pg_temp.import_work AS w WHERE w.status IS NULL GROUP BY w.order_id HAVING count(*) > 1) THEN
        PERFORM points.import_answer_from_journal(p_program, true);
        UPDATE pg_temp.import_work AS w SET
            status = CASE WHEN w.request = f.request THEN 'duplicate' ELSE 'rejected' END::points.import_purchase_batch_status,
            reason = CASE WHEN w.request = f.request THEN format('order %s repeats line %s', w.order_id, f.line)
                          ELSE format('order %s is on line %s with different content', w.order_id, f.line) END
        FROM (SELECT DISTINCT ON (w2.order_id) w2.order_id, w2.line, w2.request
              FROM pg_temp.import_work AS w2 WHERE w2.status IS NULL ORDER BY w2.order_id, w2.line) AS f
        WHERE w.status IS NULL AND w.order_id = f.order_id AND w.line <> f.line;
    END IF;
END
$$;


ALTER FUNCTION points.import_read_lines(p_program integer, p_row points.programs, p_batch bigint, p_create_members boolean, p_backdated boolean, p_exponent smallint, p_entry_tier text, p_multiplied boolean, p_referrals boolean, p_backdate_days integer) OWNER TO points_owner;

--
-- Name: import_write_entries(integer, boolean, boolean, text); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.import_write_entries(p_program integer, p_create_members boolean, p_backdated boolean, p_entry_tier text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
BEGIN
    -- New members, locked by their creation. One that another transaction created meanwhile
    -- (after this batch's points were worked out at the entry tier's multiplier, which that
    -- transaction may have changed) makes the batch start again: the client runs it again, and
    -- the member is then locked and read with the others.
    IF p_create_members AND EXISTS (SELECT FROM pg_temp.import_work AS w WHERE w.status IS NULL AND NOT w.known) THEN
        WITH created AS (
            INSERT INTO points.members AS m (program_id, member_id, tier, referrer)
            SELECT DISTINCT ON (w.member_id) p_program, w.member_id, p_entry_tier, nullif(w.referrer, w.member_id)
            FROM pg_temp.import_work AS w WHERE w.status IS NULL AND NOT w.known
            ORDER BY w.member_id, w.line
            ON CONFLICT ON CONSTRAINT members_pkey DO NOTHING
            RETURNING m.*)
        INSERT INTO pg_temp.import_members SELECT * FROM created;
        -- A count, not EXISTS: EXISTS would be planned for its first row, as a loop over the
        -- members for every line, which scans them all when (as nearly always) there is none.
        IF (SELECT count(*) FROM pg_temp.import_work AS w
            LEFT JOIN pg_temp.import_members AS i ON i.member_id = w.member_id
            WHERE w.status IS NULL AND NOT w.known AND i.member_id IS NULL) > 0 THEN
            RAISE EXCEPTION 'a member of this batch was created by another transaction while the batch was posted'
                USING ERRCODE = 'serialization_failure', HINT = 'Post the batch again.';
        END IF;
    END IF;

    -- The entries, in member order. A plain INSERT: the unique key on orders refuses an order the
    -- journal holds already (a file run again, or another importer just now), and then every
    -- line is looked up and answered from the journal, and the rest written. Two importers whose
    -- batches give the same orders to different members can deadlock here; the one PostgreSQL
    -- stops runs its batch again and answers those lines from the journal. (ON CONFLICT would
    -- look up and confirm every line: a third of the entries' cost.)
    LOOP
        BEGIN
            INSERT INTO points.journal_entries AS e
                (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
            SELECT p_program, w.member_id, w.entry_id, 'purchase', 'purchase', w.order_id, w.request, w.occurred_at, p_backdated
            FROM pg_temp.import_work AS w WHERE w.status IS NULL;
            EXIT;
        EXCEPTION WHEN unique_violation THEN
            -- Nothing to answer: the order was posted after this batch's snapshot (possible only
            -- above READ COMMITTED), which running the batch again resolves.
            IF points.import_answer_from_journal(p_program, true) = 0 THEN
                RAISE EXCEPTION 'an order of this batch was posted by another transaction while the batch was posted'
                    USING ERRCODE = 'serialization_failure', DETAIL = SQLERRM, HINT = 'Post the batch again.';
            END IF;
        END;
    END LOOP;
    -- From here on, a line whose status is still NULL has been posted.
END
$$;


ALTER FUNCTION points.import_write_entries(p_program integer, p_create_members boolean, p_backdated boolean, p_entry_tier text) OWNER TO points_owner;

--
-- Name: import_write_lines(integer, boolean, boolean); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.import_write_lines(p_program integer, p_backdated boolean, p_referrals boolean) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_referral record;
BEGIN
    INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at)
    SELECT p_program, w.member_id, w.entry_id, posting.account, posting.amount, w.occurred_at
    FROM pg_temp.import_work AS w
    CROSS JOIN LATERAL (VALUES
        (CASE WHEN w.matures_at IS NULL THEN 'available' ELSE 'pending' END::points.account, w.points),
        ('issued', -w.points)) AS posting(account, amount)
    WHERE w.status IS NULL AND w.points > 0;

    INSERT INTO points.purchases
        (program_id, member_id, order_id, entry_id, occurred_at, amount_minor, points_paid_minor, points, pending_points, matures_at)
    SELECT p_program, w.member_id, w.order_id, w.entry_id, w.occurred_at, w.amount_minor, w.points_paid_minor, w.points,
           CASE WHEN w.matures_at IS NULL THEN 0 ELSE w.points END, w.matures_at
    FROM pg_temp.import_work AS w WHERE w.status IS NULL;

    -- Points available at once repay a member's debt before they form lots, line by line.
    INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, expires_at, amount, remaining)
    SELECT p_program, x.member_id, x.entry_id, x.occurred_at, x.expires_at, x.lot_amount, x.lot_amount
    FROM (SELECT w.member_id, w.entry_id, w.occurred_at, w.expires_at,
                 points.lot_amount(w.points, i.available + coalesce(sum(w.points) OVER (
                     PARTITION BY w.member_id ORDER BY w.line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint) AS lot_amount
          FROM pg_temp.import_work AS w JOIN pg_temp.import_members AS i ON i.member_id = w.member_id
          WHERE w.status IS NULL AND w.matures_at IS NULL AND w.points > 0) AS x
    WHERE x.lot_amount > 0;

    -- What the batch changes on each member. Qualifying totals (tiers/qualifying_totals.sql), per member and
    -- period: a member's latest period in the batch, when later than the one on the member's row,
    -- takes the row's place (the row's totals move to qualifying_totals); the sums of that period
    -- go onto the row with the balances, those of earlier periods into qualifying_totals.
    CREATE TEMP TABLE import_qualifying ON COMMIT DROP AS
    SELECT w.member_id, w.period_start, sum(w.points) AS points, sum(w.amount_minor - w.points_paid_minor) AS spend,
           w.period_start = max(w.period_start) OVER (PARTITION BY w.member_id) AS latest
    FROM pg_temp.import_work AS w WHERE w.status IS NULL
    GROUP BY w.member_id, w.period_start;
    CREATE TEMP TABLE import_changes ON COMMIT DROP AS
    SELECT i.member_id, t.available, t.pending, t.first_at,
           i.q_period AS row_period, i.q_points AS row_points, i.q_spend AS row_spend,
           greatest(i.q_period, iq.period_start) AS q_period,
           CASE WHEN i.q_period > iq.period_start THEN i.q_points
                WHEN i.q_period = iq.period_start THEN i.q_points + iq.points ELSE iq.points END::bigint AS q_points,
           CASE WHEN i.q_period > iq.period_start THEN i.q_spend
                WHEN i.q_period = iq.period_start THEN i.q_spend + iq.spend ELSE iq.spend END::bigint AS q_spend,
           NULL::text AS to_tier, NULL::date AS reached_period, NULL::text AS before_tier
    FROM (SELECT w.member_id,
                 coalesce(sum(w.points) FILTER (WHERE w.matures_at IS NULL), 0)::bigint AS available,
                 coalesce(sum(w.points) FILTER (WHERE w.matures_at IS NOT NULL), 0)::bigint AS pending,
                 min(w.occurred_at) AS first_at
          FROM pg_temp.import_work AS w WHERE w.status IS NULL GROUP BY w.member_id) AS t
    JOIN pg_temp.import_qualifying AS iq ON iq.member_id = t.member_id AND iq.latest
    JOIN pg_temp.import_members AS i ON i.member_id = t.member_id
    ORDER BY i.member_id;

    INSERT INTO points.qualifying_totals (program_id, member_id, period_start, points, spend_minor)
    SELECT p_program, c.member_id, c.row_period, c.row_points, c.row_spend
    FROM pg_temp.import_changes AS c WHERE c.row_period < c.q_period;
    INSERT INTO points.qualifying_totals AS q (program_id, member_id, period_start, points, spend_minor)
    SELECT p_program, iq.member_id, iq.period_start, iq.points, iq.spend
    FROM pg_temp.import_qualifying AS iq
    JOIN pg_temp.import_changes AS c ON c.member_id = iq.member_id
    WHERE iq.period_start < c.q_period
    ON CONFLICT ON CONSTRAINT qualifying_totals_pkey DO UPDATE
        SET points = q.points + EXCLUDED.points, spend_minor = q.spend_minor + EXCLUDED.spend_minor;

    -- The upgrades the passes found, each recorded at its line; the member's row gets the last,
    -- and the tier held before the first upgrade of that one's period (as upgrade_if_reached keeps it).
    UPDATE pg_temp.import_changes AS c SET to_tier = u.to_tier, reached_period = u.period_start,
        before_tier = CASE WHEN NOT u.earlier AND i.tier_reached_period = u.period_start THEN i.tier_before_upgrade
                           ELSE u.first_from END
    FROM (SELECT DISTINCT ON (x.member_id) x.member_id, x.to_tier, x.period_start,
                 first_value(x.from_tier) OVER same_period AS first_from,
                 first_value(x.line) OVER same_period > min(x.line) OVER (PARTITION BY x.member_id) AS earlier
          FROM pg_temp.import_crossings AS x
          WINDOW same_period AS (PARTITION BY x.member_id, x.period_start ORDER BY x.line)
          ORDER BY x.member_id, x.line DESC) AS u
    JOIN pg_temp.import_members AS i ON i.member_id = u.member_id
    WHERE c.member_id = u.member_id;
    INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause, period_start,
                                     qualifying_points, qualifying_spend_minor, entry_id)
    SELECT p_program, x.member_id, x.occurred_at, x.from_tier, x.to_tier, 'upgrade', x.period_start, x.q_points, x.q_spend, x.entry_id
    FROM pg_temp.import_crossings AS x ORDER BY x.member_id, x.line;

    PERFORM points.import_apply_member_changes(p_program);

    -- A member's first purchase pays the referrer (after the balances, so a referrer who also
    -- bought in this batch has their own purchases counted first).
    FOR v_referral IN
        SELECT DISTINCT ON (w.member_id) w.member_id, i.referrer, w.order_id, w.occurred_at
        FROM pg_temp.import_work AS w JOIN pg_temp.import_members AS i ON i.member_id = w.member_id
        WHERE p_referrals AND w.status IS NULL AND i.first_purchase_at IS NULL AND i.referrer IS NOT NULL
        ORDER BY w.member_id, w.line
    LOOP
        PERFORM points.pay_referral(
            p_program, v_referral.member_id, v_referral.referrer, v_referral.order_id,
            (points.settings_at(p_program, v_referral.occurred_at)).referral_bonus, v_referral.occurred_at, p_backdated);
    END LOOP;
END
$$;


ALTER FUNCTION points.import_write_lines(p_program integer, p_backdated boolean, p_referrals boolean) OWNER TO points_owner;

--
-- Name: journal_digest(integer, bigint, bigint, bytea); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.journal_digest(p_program integer, p_after bigint, p_last bigint, p_previous bytea) RETURNS TABLE(entries bigint, postings bigint, digest bytea, unbalanced_entry bigint)
    LANGUAGE sql STABLE
    SET "TimeZone" TO 'UTC'
    SET "DateStyle" TO 'ISO, YMD'
    SET enable_seqscan TO 'off'
    AS $$
    WITH lines AS (
        SELECT p.entry_id, p.member_id, count(*) AS n, sum(p.amount) AS total,
               json_agg(json_build_array(p.account, p.amount, p.occurred_at) ORDER BY p.account) AS postings
        FROM points.postings AS p
        WHERE p.program_id = p_program AND p.entry_id > p_after AND p.entry_id <= p_last
        GROUP BY p.entry_id, p.member_id
    ), entries AS (
        SELECT e.member_id, e.entry_id, e.kind, e.key_scope, e.idempotency_key, e.occurred_at, e.recorded_at, e.request
        FROM points.journal_entries AS e
        WHERE e.program_id = p_program AND e.entry_id > p_after AND e.entry_id <= p_last
    )
    SELECT count(e.entry_id), coalesce(sum(l.n), 0)::bigint,
           sha256(p_previous || convert_to(coalesce(string_agg(
               points.canonical_line(coalesce(e.entry_id, l.entry_id), coalesce(e.member_id, l.member_id), e.kind, e.key_scope,
                                     e.idempotency_key, e.occurred_at, e.recorded_at, e.request, l.postings) || E'\n',
               '' ORDER BY coalesce(e.entry_id, l.entry_id), coalesce(e.member_id, l.member_id)), ''), 'UTF8')),
           min(coalesce(e.entry_id, l.entry_id)) FILTER (WHERE l.total <> 0 OR l.n < 2 OR e.entry_id IS NULL)
    FROM entries AS e
    FULL JOIN lines AS l ON l.member_id = e.member_id AND l.entry_id = e.entry_id
$$;


ALTER FUNCTION points.journal_digest(p_program integer, p_after bigint, p_last bigint, p_previous bytea) OWNER TO points_owner;

--
-- Name: last_birthday(date, date); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.last_birthday(p_birthday date, p_today date) RETURNS date
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE WHEN points.birthday_in(p_birthday, extract(year FROM p_today)::integer) <= p_today
                THEN points.birthday_in(p_birthday, extract(year FROM p_today)::integer)
                ELSE points.birthday_in(p_birthday, extract(year FROM p_today)::integer - 1) END
$$;


ALTER FUNCTION points.last_birthday(p_birthday date, p_today date) OWNER TO points_owner;

--
-- Name: members; Type: TABLE; Schema: points; Owner: points_owner
--

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


ALTER TABLE points.members OWNER TO points_owner;

--
-- Name: lock_members(integer, text[]); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.lock_members(p_program integer, p_members text[]) RETURNS SETOF points.members
    LANGUAGE sql
    SET enable_seqscan TO 'off'
    SET enable_bitmapscan TO 'off'
    SET jit TO 'off'
    AS $$
    SELECT m.* FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = ANY (p_members)
    ORDER BY m.member_id FOR UPDATE
$$;


ALTER FUNCTION points.lock_members(p_program integer, p_members text[]) OWNER TO points_owner;

--
-- Name: lot_amount(bigint, bigint); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.lot_amount(p_credit bigint, p_available_before bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT p_credit - least(p_credit, greatest(0, -p_available_before))
$$;


ALTER FUNCTION points.lot_amount(p_credit bigint, p_available_before bigint) OWNER TO points_owner;

--
-- Name: lot_expiry(text, integer, timestamp with time zone, text); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.lot_expiry(p_kind text, p_count integer, p_earned_at timestamp with time zone, p_time_zone text) RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE p_kind
        WHEN 'never' THEN NULL
        WHEN 'days' THEN (date_trunc('day', p_earned_at AT TIME ZONE p_time_zone) + make_interval(days => p_count + 1)) AT TIME ZONE p_time_zone
        WHEN 'months' THEN (date_trunc('month', p_earned_at AT TIME ZONE p_time_zone) + make_interval(months => p_count + 1)) AT TIME ZONE p_time_zone
        WHEN 'years' THEN (date_trunc('year', p_earned_at AT TIME ZONE p_time_zone) + make_interval(years => p_count + 1)) AT TIME ZONE p_time_zone
    END
$$;


ALTER FUNCTION points.lot_expiry(p_kind text, p_count integer, p_earned_at timestamp with time zone, p_time_zone text) OWNER TO points_owner;

--
-- Name: mature_due(integer, points.event_time, integer); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.mature_due(p_program integer, p_as_of points.event_time, p_limit integer) RETURNS TABLE(purchases integer, points bigint, members integer)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    SET enable_seqscan TO 'off'
    SET jit TO 'off'
    AS $$
DECLARE
    v_members text[];
BEGIN
    SELECT array_agg(DISTINCT d.member_id ORDER BY d.member_id) INTO v_members FROM (
        SELECT pu.member_id FROM points.purchases AS pu
        WHERE pu.program_id = p_program AND pu.pending_points > 0 AND pu.matures_at <= p_as_of
        ORDER BY pu.matures_at LIMIT p_limit
    ) AS d;
    IF NOT points.begin_chunk(p_program, p_as_of, v_members) THEN
        RETURN QUERY SELECT 0, 0::bigint, 0;
        RETURN;
    END IF;

    -- Every data-modifying CTE runs to completion whether or not the final SELECT reads it.
    RETURN QUERY
    WITH due AS (
        SELECT pu.member_id, pu.order_id, pu.pending_points AS pts, pu.matures_at,
               m.available + coalesce(sum(pu.pending_points) OVER (
                   PARTITION BY pu.member_id ORDER BY pu.matures_at, pu.order_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS available_before
        FROM points.purchases AS pu
        JOIN points.members AS m ON m.program_id = pu.program_id AND m.member_id = pu.member_id
        WHERE pu.program_id = p_program AND pu.member_id = ANY (v_members)
          AND pu.pending_points > 0 AND pu.matures_at <= p_as_of
    ), numbered AS (
        SELECT d.*, nextval('points.journal_entry_ids') AS entry_id,
               points.lot_amount(d.pts, d.available_before::bigint) AS lot_amount
        FROM due AS d
    ), entries AS (
        INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at)
        SELECT p_program, n.member_id, n.entry_id, 'maturation', 'maturation', n.order_id,
               jsonb_build_object('order', n.order_id, 'points', n.pts), n.matures_at
        FROM numbered AS n
    ), lines AS (
        INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at)
        SELECT p_program, n.member_id, n.entry_id, line.account, line.amount, n.matures_at
        FROM numbered AS n
        CROSS JOIN LATERAL (VALUES ('pending'::points.account, -n.pts), ('available', n.pts)) AS line(account, amount)
    ), formed AS (
        INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, expires_at, amount, remaining)
        SELECT p_program, n.member_id, n.entry_id, n.matures_at, points.expiry_for(p_program, n.matures_at),
               n.lot_amount, n.lot_amount
        FROM numbered AS n WHERE n.lot_amount > 0
    ), settled AS (
        UPDATE points.purchases AS pu SET pending_points = 0, matured_entry_id = n.entry_id
        FROM numbered AS n
        WHERE pu.program_id = p_program AND pu.member_id = n.member_id AND pu.order_id = n.order_id
        RETURNING 1
    ), balances AS (
        UPDATE points.members AS m SET pending = m.pending - t.pts, available = m.available + t.pts
        FROM (SELECT n.member_id, sum(n.pts) AS pts FROM numbered AS n GROUP BY n.member_id) AS t
        WHERE m.program_id = p_program AND m.member_id = t.member_id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM settled)::integer,
           (SELECT coalesce(sum(n.pts), 0) FROM numbered AS n)::bigint,
           (SELECT count(*) FROM balances)::integer;
END
$$;


ALTER FUNCTION points.mature_due(p_program integer, p_as_of points.event_time, p_limit integer) OWNER TO points_owner;

--
-- Name: may_reach_above(text, timestamp with time zone, bigint, bigint, timestamp with time zone, text[], bigint[], bigint[]); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.may_reach_above(p_earned text, p_at timestamp with time zone, p_points bigint, p_spend_minor bigint, p_ladder_since timestamp with time zone, p_ladder_tiers text[], p_ladder_points bigint[], p_ladder_spend bigint[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT (p_at < p_ladder_since) IS NOT FALSE
        OR p_points >= ANY (p_ladder_points[coalesce(array_position(p_ladder_tiers, p_earned), 0) + 1:])
        OR coalesce(p_spend_minor >= ANY (p_ladder_spend[coalesce(array_position(p_ladder_tiers, p_earned), 0) + 1:]), false)
$$;


ALTER FUNCTION points.may_reach_above(p_earned text, p_at timestamp with time zone, p_points bigint, p_spend_minor bigint, p_ladder_since timestamp with time zone, p_ladder_tiers text[], p_ladder_points bigint[], p_ladder_spend bigint[]) OWNER TO points_owner;

--
-- Name: multiplier_at(integer, text, timestamp with time zone); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.multiplier_at(p_program integer, p_tier text, p_at timestamp with time zone) RETURNS numeric
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_multiplier numeric;
BEGIN
    SELECT ts.multiplier INTO v_multiplier FROM points.tier_settings AS ts
    WHERE ts.program_id = p_program AND ts.tier = p_tier AND ts.effective_at <= p_at
    ORDER BY ts.effective_at DESC LIMIT 1;
    RETURN v_multiplier;
END
$$;


ALTER FUNCTION points.multiplier_at(p_program integer, p_tier text, p_at timestamp with time zone) OWNER TO points_owner;

--
-- Name: multiplier_in_force(integer, text, timestamp with time zone, timestamp with time zone, text[], numeric[]); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.multiplier_in_force(p_program integer, p_tier text, p_at timestamp with time zone, p_ladder_since timestamp with time zone, p_ladder_tiers text[], p_ladder_multipliers numeric[]) RETURNS numeric
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE WHEN p_at >= p_ladder_since THEN p_ladder_multipliers[array_position(p_ladder_tiers, p_tier)]
                ELSE points.multiplier_at(p_program, p_tier, p_at) END
$$;


ALTER FUNCTION points.multiplier_in_force(p_program integer, p_tier text, p_at timestamp with time zone, p_ladder_since timestamp with time zone, p_ladder_tiers text[], p_ladder_multipliers numeric[]) OWNER TO points_owner;

--
-- Name: next_tier_period(integer, points.event_time); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.next_tier_period(p_program integer, p_as_of points.event_time) RETURNS TABLE(period_start date, period_kind text, period_end timestamp with time zone, resumed boolean)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_time_zone text;
    v_from timestamptz;
    v_created timestamptz;
    v_kind text;
    v_start date;
BEGIN
    PERFORM points.check_as_of(p_as_of);
    SELECT p.time_zone, p.created_at INTO v_time_zone, v_created FROM points.programs AS p
    WHERE p.program_id = p_program FOR UPDATE;
    RETURN QUERY SELECT e.period_start, e.period_kind, e.period_end, true FROM points.tier_evaluations AS e
        WHERE e.program_id = p_program AND e.finished_at IS NULL;
    IF FOUND THEN
        RETURN;
    END IF;
    SELECT e.period_end INTO v_from FROM points.tier_evaluations AS e
    WHERE e.program_id = p_program ORDER BY e.period_start DESC LIMIT 1;
    IF NOT FOUND THEN
        v_from := least(v_created,
            (SELECT min(q.period_start)::timestamp AT TIME ZONE v_time_zone FROM points.qualifying_totals AS q WHERE q.program_id = p_program),
            (SELECT min(m.q_period)::timestamp AT TIME ZONE v_time_zone FROM points.members AS m WHERE m.program_id = p_program));
    END IF;
    v_kind := (points.settings_at(p_program, v_from)).tier_period;
    v_start := points.tier_period_start(v_kind, v_from, v_time_zone);
    IF points.tier_period_end(v_kind, v_start, v_time_zone) > least(p_as_of, now()) THEN
        RETURN;
    END IF;
    INSERT INTO points.tier_evaluations AS e (program_id, period_start, period_kind, period_end)
    VALUES (p_program, v_start, v_kind, points.tier_period_end(v_kind, v_start, v_time_zone));
    RETURN QUERY SELECT v_start, v_kind, points.tier_period_end(v_kind, v_start, v_time_zone), false;
END
$$;


ALTER FUNCTION points.next_tier_period(p_program integer, p_as_of points.event_time) OWNER TO points_owner;

--
-- Name: override_tier(integer, points.member_key, text, points.label_text, points.event_time, points.label_text); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.override_tier(p_program integer, p_member points.member_key, p_tier text, p_reason points.label_text, p_until points.event_time, p_actor points.label_text) RETURNS TABLE(status points.override_tier_status, tier_before text)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_member points.members;
    v_ended boolean;
BEGIN
    SELECT m.* INTO v_member FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = p_member FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member'::points.override_tier_status, NULL::text;
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = p_tier) THEN
        RETURN QUERY SELECT 'unknown_tier'::points.override_tier_status, NULL::text;
        RETURN;
    END IF;
    -- The earned tier now: the one before an override that has ended (jobs tiers may not have
    -- recorded its end yet).
    v_ended := v_member.override_until <= now();
    IF v_ended THEN
        v_member.tier := v_member.override_previous;
        v_member.override_until := NULL;
    ELSIF v_member.tier = p_tier AND v_member.override_until IS NOT DISTINCT FROM p_until THEN
        RETURN QUERY SELECT 'unchanged'::points.override_tier_status, v_member.tier;
        RETURN;
    END IF;
    IF v_ended THEN
        -- The old override's end, which jobs tiers has not recorded yet.
        INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause)
        SELECT p_program, p_member, m.override_until, m.tier, m.override_previous, 'override_end'
        FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = p_member;
    END IF;
    UPDATE points.members AS m SET
        tier = p_tier,
        override_until = p_until,
        -- An override of an override returns, at its end, to the tier before the first.
        override_previous = CASE WHEN p_until IS NULL THEN NULL
                                 WHEN m.override_until > now() THEN m.override_previous ELSE v_member.tier END,
        tier_reached_period = NULL,
        tier_before_upgrade = NULL
    WHERE m.program_id = p_program AND m.member_id = p_member;
    INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause, reason, actor)
    VALUES (p_program, p_member, now(), v_member.tier, p_tier, 'override',
            p_reason || CASE WHEN p_until IS NOT NULL THEN format(' (until %s)', p_until) ELSE '' END, p_actor);
    RETURN QUERY SELECT 'overridden'::points.override_tier_status, v_member.tier;
END
$$;


ALTER FUNCTION points.override_tier(p_program integer, p_member points.member_key, p_tier text, p_reason points.label_text, p_until points.event_time, p_actor points.label_text) OWNER TO points_owner;

--
-- Name: pay_birthdays(integer, points.event_time, text, integer); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.pay_birthdays(p_program integer, p_as_of points.event_time, p_after text, p_limit integer) RETURNS TABLE(members integer, paid integer, points bigint, cursor text)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    SET enable_seqscan TO 'off'
    SET jit TO 'off'
    AS $$
DECLARE
    v_time_zone text;
    v_today date;
    v_window integer;
    v_chunk text[];
    v_due text[];
BEGIN
    PERFORM points.check_as_of(p_as_of);
    SELECT p.time_zone INTO v_time_zone FROM points.programs AS p WHERE p.program_id = p_program;
    v_today := (p_as_of AT TIME ZONE v_time_zone)::date;
    v_window := (points.settings_at(p_program, p_as_of)).backdate_days;
    SELECT array_agg(m.member_id ORDER BY m.member_id),
           array_agg(m.member_id ORDER BY m.member_id)
               FILTER (WHERE m.birthday IS NOT NULL AND points.last_birthday(m.birthday, v_today) >= v_today - v_window)
    INTO v_chunk, v_due FROM (
        SELECT mm.member_id, mm.birthday FROM points.members AS mm
        WHERE mm.program_id = p_program AND mm.member_id > coalesce(p_after, '')
        ORDER BY mm.member_id LIMIT p_limit) AS m;
    IF v_chunk IS NULL THEN
        RETURN QUERY SELECT 0, 0, 0::bigint, NULL::text;
        RETURN;
    END IF;
    IF v_due IS NULL THEN
        RETURN QUERY SELECT cardinality(v_chunk), 0, 0::bigint, v_chunk[cardinality(v_chunk)];
        RETURN;
    END IF;
    PERFORM points.lock_members(p_program, v_due);

    RETURN QUERY
    WITH due AS (
        SELECT m.member_id, m.available, ts.birthday_bonus AS bonus, b.day::timestamp AT TIME ZONE v_time_zone AS at,
               m.member_id || '/' || extract(year FROM b.day) AS key
        FROM points.members AS m
        CROSS JOIN LATERAL (SELECT points.last_birthday(m.birthday, v_today) AS day) AS b
        CROSS JOIN LATERAL (
            SELECT s.birthday_bonus FROM points.tier_settings AS s
            WHERE s.program_id = m.program_id AND s.effective_at <= b.day::timestamp AT TIME ZONE v_time_zone
              AND s.tier = points.tier_at(p_program, m.member_id, m.tier, m.override_until, m.override_previous, m.granted_until,
                                          b.day::timestamp AT TIME ZONE v_time_zone)
            ORDER BY s.effective_at DESC LIMIT 1) AS ts
        WHERE m.program_id = p_program AND m.member_id = ANY (v_due) AND ts.birthday_bonus > 0
    ), entries AS (
        INSERT INTO points.journal_entries AS e (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at)
        SELECT p_program, d.member_id, 'birthday', 'birthday', d.key, jsonb_build_object('member', d.member_id, 'points', d.bonus), d.at
        FROM due AS d
        ON CONFLICT ON CONSTRAINT idempotency_key_unique DO NOTHING
        RETURNING e.member_id, e.entry_id
    ), paid AS (
        SELECT d.*, e.entry_id, points.lot_amount(d.bonus, d.available) AS lot_amount
        FROM entries AS e JOIN due AS d USING (member_id)
    ), lines AS (
        INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at)
        SELECT p_program, d.member_id, d.entry_id, line.account, line.amount, d.at
        FROM paid AS d CROSS JOIN LATERAL (VALUES ('available'::points.account, d.bonus), ('issued', -d.bonus)) AS line(account, amount)
    ), formed AS (
        INSERT INTO points.lots (program_id, member_id, entry_id, earned_at, expires_at, amount, remaining)
        SELECT p_program, d.member_id, d.entry_id, d.at, points.expiry_for(p_program, d.at), d.lot_amount, d.lot_amount
        FROM paid AS d WHERE d.lot_amount > 0
    ), balances AS (
        UPDATE points.members AS m SET available = m.available + d.bonus, issued = m.issued - d.bonus
        FROM paid AS d
        WHERE m.program_id = p_program AND m.member_id = d.member_id
    )
    SELECT cardinality(v_chunk), (SELECT count(*) FROM paid)::integer, (SELECT coalesce(sum(d.bonus), 0) FROM paid AS d)::bigint,
        v_chunk[cardinality(v_chunk)];
END
$$;


ALTER FUNCTION points.pay_birthdays(p_program integer, p_as_of points.event_time, p_after text, p_limit integer) OWNER TO points_owner;

--
-- Name: pay_referral(integer, text, text, text, bigint, timestamp with time zone, boolean); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.pay_referral(p_program integer, p_member text, p_referrer text, p_order text, p_bonus bigint, p_at timestamp with time zone, p_backdated boolean) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
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
    INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES
        (p_program, p_referrer, v_entry, 'available', p_bonus, p_at),
        (p_program, p_referrer, v_entry, 'issued', -p_bonus, p_at);
    PERFORM points.form_lot(p_program, p_referrer, v_entry, p_bonus, v_available, p_at, points.expiry_for(p_program, p_at));
    UPDATE points.members AS m SET available = m.available + p_bonus, issued = m.issued - p_bonus
    WHERE m.program_id = p_program AND m.member_id = p_referrer;
    RETURN v_entry;
END
$$;


ALTER FUNCTION points.pay_referral(p_program integer, p_member text, p_referrer text, p_order text, p_bonus bigint, p_at timestamp with time zone, p_backdated boolean) OWNER TO points_owner;

--
-- Name: program_created(); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.program_created() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM points.add_default_settings(NEW.program_id);
    PERFORM points.add_default_tasks(NEW.program_id);
    RETURN NULL;
END
$$;


ALTER FUNCTION points.program_created() OWNER TO points_owner;

--
-- Name: purchase(integer, points.member_key, points.idempotency_key, bigint, bigint, points.event_time, boolean); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.purchase(p_program integer, p_member points.member_key, p_order points.idempotency_key, p_amount_minor bigint, p_points_paid_minor bigint, p_occurred_at points.event_time, p_backdated boolean) RETURNS TABLE(status points.purchase_status, entry_id bigint, points bigint, matures_at timestamp with time zone, referral_entry_id bigint, available bigint, pending bigint, upgraded_to text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_now timestamptz := now();
    v_at timestamptz := coalesce(p_occurred_at, now());
    -- What a replay must match. The time is recorded in UTC, so the session's time zone never
    -- matters; the back-dating permission is recorded on the entry, not compared.
    v_request jsonb := jsonb_strip_nulls(jsonb_build_object(
        'member', p_member, 'order', p_order, 'amount_minor', p_amount_minor, 'points_paid_minor', p_points_paid_minor,
        'occurred_at', p_occurred_at AT TIME ZONE 'UTC'));
    v_row record;
    v_points bigint;
    v_entry bigint;
    v_matures timestamptz;
    v_referral bigint;
    v_upgraded text;
    v_period date;
    v_spend bigint := p_amount_minor - p_points_paid_minor;
    v_step record;
    v_q_points bigint;
    v_q_spend bigint;
    v_settings points.program_settings;
    v_backdate_days integer;
    v_multiplier numeric;
BEGIN
    IF p_amount_minor IS NULL OR p_amount_minor <= 0 OR p_points_paid_minor IS NULL OR p_points_paid_minor < 0
        OR p_points_paid_minor > p_amount_minor OR p_backdated IS NULL OR p_order IS NULL THEN
        RAISE EXCEPTION 'a purchase needs an order id, a positive amount, a part paid with points between 0 and the amount, and a back-dating flag'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One query: the program's constants and latest settings, the tiers' ladder, and the member's
    -- row, locked. A first purchase by a referred member locks the referrer's row too (its bonus
    -- is paid below), both in id order like the jobs and imports that lock many.
    SELECT c.exponent, p.time_zone, p.tiers_closed_until, p.ladder_since, p.ladder_tiers, p.ladder_points, p.ladder_spend,
           p.ladder_multipliers, latest.settings, m.available, m.pending, m.referrer, m.first_purchase_at, m.q_period,
           m.q_points, m.q_spend,
           CASE WHEN m.override_until <= v_at THEN m.override_previous ELSE m.tier END AS earned,
           points.tier_at(p_program, p_member, m.tier, m.override_until, m.override_previous, m.granted_until, v_at) AS effective
    INTO v_row
    FROM points.programs AS p
    JOIN points.currencies AS c USING (currency)
    CROSS JOIN LATERAL (
        SELECT ps AS settings FROM points.program_settings AS ps
        WHERE ps.program_id = p.program_id ORDER BY ps.effective_at DESC LIMIT 1) AS latest
    CROSS JOIN LATERAL (
        SELECT locked.* FROM (
            SELECT mm.member_id, mm.available, mm.pending, mm.referrer, mm.first_purchase_at, mm.tier, mm.override_until,
                   mm.override_previous, mm.granted_until, mm.q_period, mm.q_points, mm.q_spend
            FROM points.members AS mm
            WHERE mm.program_id = p_program AND mm.member_id IN (p_member, (
                SELECT r.referrer FROM points.members AS r
                WHERE r.program_id = p_program AND r.member_id = p_member AND r.first_purchase_at IS NULL))
            ORDER BY mm.member_id FOR UPDATE) AS locked
        WHERE locked.member_id = p_member) AS m
    WHERE p.program_id = p_program;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member'::points.purchase_status, NULL::bigint, NULL::bigint, NULL::timestamptz,
            NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    -- The settings in force when the purchase happened, the back-dating window in force now, and
    -- the multiplier of the member's effective tier when the purchase happened.
    v_settings := points.settings_in_force(p_program, v_row.settings, v_at);
    v_backdate_days := (points.settings_in_force(p_program, v_row.settings, v_now)).backdate_days;
    v_multiplier := points.multiplier_in_force(
        p_program, v_row.effective, v_at, v_row.ladder_since, v_row.ladder_tiers, v_row.ladder_multipliers);

    -- A time outside the window is refused, unless the order was posted before: a replay is
    -- answered with its entry however late it comes.
    IF v_at <= v_now + interval '5 minutes' AND (p_backdated OR v_at >= v_now - make_interval(days => v_backdate_days)) THEN
        v_points := points.purchase_points(v_spend, v_row.exponent, v_settings.earn_rate, v_multiplier, v_settings.rounding);
        v_matures := points.purchase_matures_at(v_points, v_at, v_settings.return_window_days, v_row.time_zone);
        -- Qualifying totals (tiers/qualifying_totals.sql): the row's part is written with the
        -- balances below, in the one update of the member's row.
        v_period := points.tier_period_start(v_settings.tier_period, v_at, v_row.time_zone);
        v_step := points.qualifying_step(v_row.q_period, v_row.q_points, v_row.q_spend, v_period, v_points, v_spend);
        -- The entry, unless the order was posted before. Then its postings, the lot, the purchase
        -- and the member's balances, each a plain statement: cheaper on the server than one
        -- statement of data-modifying CTEs, which materialises the entry for each of them.
        INSERT INTO points.journal_entries AS e
            (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
        VALUES (p_program, p_member, 'purchase', 'purchase', p_order, v_request, v_at, p_backdated)
        ON CONFLICT ON CONSTRAINT idempotency_key_unique DO NOTHING
        RETURNING e.entry_id INTO v_entry;
    END IF;
    IF v_entry IS NULL THEN
        RETURN QUERY SELECT * FROM points.purchase_not_posted(p_program, p_order, v_request, v_at > v_now, v_row.available,
            v_row.pending);
        RETURN;
    END IF;
    IF v_points > 0 THEN
        INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES
            (p_program, p_member, v_entry, CASE WHEN v_matures IS NULL THEN 'available' ELSE 'pending' END::points.account,
             v_points, v_at),
            (p_program, p_member, v_entry, 'issued', -v_points, v_at);
    END IF;
    IF v_points > 0 AND v_matures IS NULL THEN
        -- Points available at once repay a debt first; the rest forms a lot.
        PERFORM points.form_lot(p_program, p_member, v_entry, v_points, v_row.available, v_at,
            points.lot_expiry(v_settings.expiry_kind, v_settings.expiry_count, v_at, v_row.time_zone));
    END IF;
    INSERT INTO points.purchases
        (program_id, member_id, order_id, entry_id, occurred_at, amount_minor, points_paid_minor, points, pending_points,
         matures_at)
    VALUES (p_program, p_member, p_order, v_entry, v_at, p_amount_minor, p_points_paid_minor, v_points,
            CASE WHEN v_matures IS NULL THEN 0 ELSE v_points END, v_matures);
    UPDATE points.members AS m SET
        available = m.available + CASE WHEN v_matures IS NULL THEN v_points ELSE 0 END,
        pending = m.pending + CASE WHEN v_matures IS NULL THEN 0 ELSE v_points END,
        issued = m.issued - v_points,
        first_purchase_at = coalesce(m.first_purchase_at, v_at),
        q_period = v_step.q_period, q_points = v_step.q_points, q_spend = v_step.q_spend
    WHERE m.program_id = p_program AND m.member_id = p_member;

    -- The period's totals, and an upgrade at once if they reach a higher tier (this purchase earned
    -- at the old multiplier). Most purchases carry nothing and reach no tier: they call neither.
    v_q_points := v_step.q_points;
    v_q_spend := v_step.q_spend;
    IF v_step.carried_period IS NOT NULL THEN
        SELECT c.total_points, c.total_spend INTO v_q_points, v_q_spend
        FROM points.carry_qualifying(p_program, p_member, v_step.q_period = v_period, v_step.q_points, v_step.q_spend,
                                     v_step.carried_period, v_step.carried_points, v_step.carried_spend) AS c;
    END IF;
    IF points.may_reach_above(v_row.earned, v_at, v_q_points, v_q_spend,
           v_row.ladder_since, v_row.ladder_tiers, v_row.ladder_points, v_row.ladder_spend) THEN
        v_upgraded := points.upgrade_if_reached(p_program, p_member, v_row.earned, v_at, v_period, v_q_points, v_q_spend,
            v_entry, v_row.tiers_closed_until, v_row.ladder_since, v_row.ladder_tiers, v_row.ladder_points, v_row.ladder_spend);
    END IF;
    IF v_row.first_purchase_at IS NULL AND v_row.referrer IS NOT NULL AND v_settings.referral_bonus > 0 THEN
        v_referral := points.pay_referral(
            p_program, p_member, v_row.referrer, p_order, v_settings.referral_bonus, v_at, p_backdated);
    END IF;
    RETURN QUERY SELECT 'posted'::points.purchase_status, v_entry, v_points, v_matures, v_referral,
        v_row.available + CASE WHEN v_matures IS NULL THEN v_points ELSE 0 END,
        v_row.pending + CASE WHEN v_matures IS NULL THEN 0 ELSE v_points END, v_upgraded;
END
$$;


ALTER FUNCTION points.purchase(p_program integer, p_member points.member_key, p_order points.idempotency_key, p_amount_minor bigint, p_points_paid_minor bigint, p_occurred_at points.event_time, p_backdated boolean) OWNER TO points_owner;

--
-- Name: purchase_matures_at(bigint, timestamp with time zone, integer, text); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.purchase_matures_at(p_points bigint, p_at timestamp with time zone, p_return_window_days integer, p_time_zone text) RETURNS timestamp with time zone
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE WHEN p_points > 0 AND p_return_window_days > 0
                THEN ((p_at AT TIME ZONE p_time_zone) + make_interval(days => p_return_window_days)) AT TIME ZONE p_time_zone END
$$;


ALTER FUNCTION points.purchase_matures_at(p_points bigint, p_at timestamp with time zone, p_return_window_days integer, p_time_zone text) OWNER TO points_owner;

--
-- Name: purchase_not_posted(integer, points.idempotency_key, jsonb, boolean, bigint, bigint); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.purchase_not_posted(p_program integer, p_order points.idempotency_key, p_request jsonb, p_in_future boolean, p_available bigint, p_pending bigint) RETURNS TABLE(status points.purchase_status, entry_id bigint, points bigint, matures_at timestamp with time zone, referral_entry_id bigint, available bigint, pending bigint, upgraded_to text)
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_existing record;
BEGIN
    SELECT e.entry_id, e.request, e.member_id INTO v_existing
    FROM points.journal_entries AS e
    WHERE e.program_id = p_program AND e.key_scope = 'purchase' AND e.idempotency_key = p_order;
    IF NOT FOUND THEN
        RETURN QUERY SELECT CASE WHEN p_in_future THEN 'in_future' ELSE 'too_old' END::points.purchase_status,
            NULL::bigint, NULL::bigint, NULL::timestamptz, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
    ELSIF points.same_request(v_existing.request, p_request) THEN
        RETURN QUERY SELECT 'replayed'::points.purchase_status, v_existing.entry_id, pu.points::bigint, pu.matures_at,
                NULL::bigint, p_available, p_pending, NULL::text
            FROM points.purchases AS pu
            WHERE pu.program_id = p_program AND pu.member_id = v_existing.member_id AND pu.order_id = p_order;
    ELSE
        RETURN QUERY SELECT 'conflict'::points.purchase_status, v_existing.entry_id, NULL::bigint, NULL::timestamptz,
            NULL::bigint, p_available, p_pending, NULL::text;
    END IF;
END
$$;


ALTER FUNCTION points.purchase_not_posted(p_program integer, p_order points.idempotency_key, p_request jsonb, p_in_future boolean, p_available bigint, p_pending bigint) OWNER TO points_owner;

--
-- Name: purchase_points(bigint, smallint, numeric, numeric, text); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.purchase_points(p_eligible_minor bigint, p_exponent smallint, p_earn_rate numeric, p_multiplier numeric, p_rounding text) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT points.round_points(
        p_eligible_minor::numeric / (10::numeric ^ p_exponent) * p_earn_rate * coalesce(p_multiplier, 1), p_rounding)
$$;


ALTER FUNCTION points.purchase_points(p_eligible_minor bigint, p_exponent smallint, p_earn_rate numeric, p_multiplier numeric, p_rounding text) OWNER TO points_owner;

--
-- Name: qualify(integer, text, timestamp with time zone, bigint, bigint, bigint); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.qualify(p_program integer, p_member text, p_at timestamp with time zone, p_points bigint, p_spend_minor bigint, p_entry bigint) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_period record := points.tier_period_at(p_program, p_at);
    v_totals record;
    v_row record;
BEGIN
    SELECT * INTO v_totals FROM points.add_qualifying(p_program, p_member, v_period.period_start, p_points, p_spend_minor);
    -- A closed period moves nobody up; nor do totals below every higher tier's threshold.
    IF v_period.closed THEN
        RETURN NULL;
    END IF;
    SELECT CASE WHEN m.override_until <= p_at THEN m.override_previous ELSE m.tier END AS earned, p.tiers_closed_until,
           p.ladder_since, p.ladder_tiers, p.ladder_points, p.ladder_spend
    INTO v_row
    FROM points.members AS m JOIN points.programs AS p ON p.program_id = m.program_id
    WHERE m.program_id = p_program AND m.member_id = p_member;
    IF NOT points.may_reach_above(v_row.earned, p_at, v_totals.total_points, v_totals.total_spend,
           v_row.ladder_since, v_row.ladder_tiers, v_row.ladder_points, v_row.ladder_spend) THEN
        RETURN NULL;
    END IF;
    RETURN points.upgrade_if_reached(p_program, p_member, v_row.earned, p_at, v_period.period_start, v_totals.total_points,
        v_totals.total_spend, p_entry, v_row.tiers_closed_until, v_row.ladder_since, v_row.ladder_tiers, v_row.ladder_points,
        v_row.ladder_spend);
END
$$;


ALTER FUNCTION points.qualify(p_program integer, p_member text, p_at timestamp with time zone, p_points bigint, p_spend_minor bigint, p_entry bigint) OWNER TO points_owner;

--
-- Name: qualifying_step(date, bigint, bigint, date, bigint, bigint); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.qualifying_step(p_row_period date, p_row_points bigint, p_row_spend bigint, p_period date, p_points bigint, p_spend_minor bigint, OUT q_period date, OUT q_points bigint, OUT q_spend bigint, OUT carried_period date, OUT carried_points bigint, OUT carried_spend bigint) RETURNS record
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    IF p_period < p_row_period THEN
        q_period := p_row_period;
        q_points := p_row_points;
        q_spend := p_row_spend;
        carried_period := p_period;
        carried_points := p_points;
        carried_spend := p_spend_minor;
    ELSIF p_period = p_row_period THEN
        q_period := p_period;
        q_points := p_row_points + p_points;
        q_spend := p_row_spend + p_spend_minor;
    ELSE
        q_period := p_period;
        q_points := p_points;
        q_spend := p_spend_minor;
        carried_period := p_row_period;
        carried_points := CASE WHEN p_row_period IS NOT NULL THEN p_row_points END;
        carried_spend := CASE WHEN p_row_period IS NOT NULL THEN p_row_spend END;
    END IF;
END
$$;


ALTER FUNCTION points.qualifying_step(p_row_period date, p_row_points bigint, p_row_spend bigint, p_period date, p_points bigint, p_spend_minor bigint, OUT q_period date, OUT q_points bigint, OUT q_spend bigint, OUT carried_period date, OUT carried_points bigint, OUT carried_spend bigint) OWNER TO points_owner;

--
-- Name: redeem(integer, points.member_key, text, integer, bigint, points.label_text, points.idempotency_key); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.redeem(p_program integer, p_member points.member_key, p_reward text, p_quantity integer, p_points bigint, p_reason points.label_text, p_key points.idempotency_key) RETURNS TABLE(status points.redeem_status, entry_id bigint, points bigint, available bigint, held bigint, stock_left bigint, detail text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_request jsonb := jsonb_strip_nulls(jsonb_build_object(
        'member', p_member, 'reward', p_reward, 'quantity', p_quantity, 'points', p_points, 'reason', p_reason));
    v_member points.members;
    v_existing record;
    v_reward points.rewards;
    v_cost bigint := p_points;
    v_stock bigint;
    v_taken bigint;
    v_entry bigint;
    v_tier text;
BEGIN
    IF (p_reward IS NULL) = (p_points IS NULL) OR (p_reward IS NOT NULL AND (p_quantity IS NULL OR p_quantity <= 0))
        OR (p_reward IS NULL AND (p_points <= 0 OR p_reason IS NULL)) THEN
        RAISE EXCEPTION 'a redemption needs a reward and a positive quantity, or positive points and a reason'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT m.* INTO v_member FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = p_member FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member'::points.redeem_status, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
            NULL::bigint, NULL::text;
        RETURN;
    END IF;
    -- A replay is answered with the original, whatever the state now.
    SELECT e.entry_id, e.request, r.points INTO v_existing
    FROM points.journal_entries AS e
    LEFT JOIN points.redemptions AS r ON r.program_id = e.program_id AND r.member_id = e.member_id AND r.entry_id = e.entry_id
    WHERE e.program_id = p_program AND e.key_scope = 'redemption' AND e.idempotency_key = p_key;
    IF FOUND THEN
        RETURN QUERY SELECT CASE WHEN v_existing.request = v_request THEN 'replayed' ELSE 'conflict' END::points.redeem_status,
            v_existing.entry_id, v_existing.points::bigint, v_member.available, v_member.held::bigint, NULL::bigint, NULL::text;
        RETURN;
    END IF;

    IF p_reward IS NOT NULL THEN
        SELECT r.* INTO v_reward FROM points.rewards AS r WHERE r.program_id = p_program AND r.reward = p_reward;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'unknown_reward'::points.redeem_status, NULL::bigint, NULL::bigint, v_member.available,
                v_member.held::bigint, NULL::bigint, NULL::text;
            RETURN;
        END IF;
        IF now() < v_reward.active_from OR now() >= v_reward.active_until THEN
            RETURN QUERY SELECT 'inactive'::points.redeem_status, NULL::bigint, NULL::bigint, v_member.available,
                v_member.held::bigint, v_reward.stock::bigint,
                CASE WHEN now() < v_reward.active_from THEN 'from ' || v_reward.active_from ELSE 'until ' || v_reward.active_until END;
            RETURN;
        END IF;
        IF v_reward.min_tier IS NOT NULL THEN
            v_tier := points.tier_at(p_program, p_member, v_member.tier, v_member.override_until, v_member.override_previous,
                                     v_member.granted_until, now());
            IF (SELECT t.rank FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = v_tier)
               < (SELECT t.rank FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = v_reward.min_tier) THEN
                RETURN QUERY SELECT 'tier_too_low'::points.redeem_status, NULL::bigint, NULL::bigint, v_member.available,
                    v_member.held::bigint, v_reward.stock::bigint, v_tier || ',' || v_reward.min_tier;
                RETURN;
            END IF;
        END IF;
        IF v_reward.limit_per_member IS NOT NULL THEN
            SELECT coalesce(sum(r.quantity), 0) INTO v_taken FROM points.redemptions AS r
            WHERE r.program_id = p_program AND r.member_id = p_member AND r.reward = p_reward;
            IF v_taken + p_quantity > v_reward.limit_per_member THEN
                RETURN QUERY SELECT 'limit_reached'::points.redeem_status, NULL::bigint, NULL::bigint, v_member.available,
                    v_member.held::bigint, v_reward.stock::bigint, v_taken || ' of ' || v_reward.limit_per_member;
                RETURN;
            END IF;
        END IF;
        v_cost := v_reward.cost * p_quantity;
    END IF;
    IF v_member.held > 0 THEN
        v_member.held := v_member.held - points.release_expired_holds(p_program, p_member);
    END IF;
    IF v_member.available - v_member.held < v_cost THEN
        RETURN QUERY SELECT 'insufficient_points'::points.redeem_status, NULL::bigint, v_cost, v_member.available,
            v_member.held::bigint, v_reward.stock::bigint, NULL::text;
        RETURN;
    END IF;
    IF v_reward.stock IS NOT NULL THEN
        -- Checked and taken in one statement: the reward's row lock orders racing redemptions.
        UPDATE points.rewards AS r SET stock = r.stock - p_quantity
        WHERE r.program_id = p_program AND r.reward = p_reward AND r.stock >= p_quantity
        RETURNING r.stock INTO v_stock;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'out_of_stock'::points.redeem_status, NULL::bigint, NULL::bigint, v_member.available,
                v_member.held::bigint,
                (SELECT r.stock FROM points.rewards AS r WHERE r.program_id = p_program AND r.reward = p_reward)::bigint, NULL::text;
            RETURN;
        END IF;
    END IF;

    -- The same key taken at this moment by another member's redemption fails here with a unique
    -- violation, and the whole call (stock included) is undone.
    INSERT INTO points.journal_entries AS e (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at)
    VALUES (p_program, p_member, 'redemption', 'redemption', p_key, v_request, now())
    RETURNING e.entry_id INTO v_entry;
    PERFORM points.consume_lots(p_program, p_member, v_entry, v_cost);
    -- Plain statements: cheaper on the server than data-modifying CTEs (see points.purchase).
    INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES
        (p_program, p_member, v_entry, 'available', -v_cost, now()),
        (p_program, p_member, v_entry, 'redeemed', v_cost, now());
    INSERT INTO points.redemptions (program_id, member_id, entry_id, reward, quantity, points, reason)
    VALUES (p_program, p_member, v_entry, p_reward, p_quantity, v_cost, p_reason);
    UPDATE points.members AS m SET available = m.available - v_cost, redeemed = m.redeemed + v_cost
    WHERE m.program_id = p_program AND m.member_id = p_member;
    status := 'redeemed';
    entry_id := v_entry;
    points := v_cost;
    available := v_member.available - v_cost;
    held := v_member.held;
    stock_left := v_stock;
    detail := NULL;
    RETURN NEXT;
END
$$;


ALTER FUNCTION points.redeem(p_program integer, p_member points.member_key, p_reward text, p_quantity integer, p_points bigint, p_reason points.label_text, p_key points.idempotency_key) OWNER TO points_owner;

--
-- Name: refresh_ladder(integer); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.refresh_ladder(p_program integer) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_since timestamptz;
BEGIN
    SELECT max(ts.effective_at) INTO v_since FROM points.tier_settings AS ts WHERE ts.program_id = p_program;
    UPDATE points.programs AS p SET
        ladder_since = v_since,
        ladder_tiers = l.tiers, ladder_points = l.entry_points, ladder_spend = l.entry_spend,
        ladder_multipliers = l.multipliers
    FROM (SELECT array_agg(t.tier ORDER BY t.rank) AS tiers, array_agg(t.entry_points ORDER BY t.rank) AS entry_points,
                 array_agg(t.entry_spend_minor ORDER BY t.rank) AS entry_spend,
                 array_agg(t.multiplier ORDER BY t.rank) AS multipliers
          FROM points.tiers_at(p_program, v_since) AS t) AS l
    WHERE p.program_id = p_program;
END
$$;


ALTER FUNCTION points.refresh_ladder(p_program integer) OWNER TO points_owner;

--
-- Name: refund(integer, points.idempotency_key, points.idempotency_key, bigint, points.event_time, boolean); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.refund(p_program integer, p_order points.idempotency_key, p_refund points.idempotency_key, p_amount_minor bigint, p_occurred_at points.event_time, p_backdated boolean) RETURNS TABLE(status points.refund_status, entry_id bigint, member_id text, clawed_back bigint, from_pending bigint, from_available bigint, written_off bigint, refunded_minor bigint, order_amount_minor bigint, tier text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_at timestamptz := coalesce(p_occurred_at, now());
    v_request jsonb := jsonb_strip_nulls(jsonb_build_object(
        'order', p_order, 'refund', p_refund, 'amount_minor', p_amount_minor, 'occurred_at', p_occurred_at AT TIME ZONE 'UTC'));
    v_time_problem text;
    v_member text;
    v_available bigint;
    v_existing record;
    v_purchase points.purchases;
    v_policy text;
    v_delta bigint;
    v_from_pending bigint;
    v_take bigint;
    v_write bigint;
    v_entry bigint;
    v_spend bigint;
    v_tier text;
BEGIN
    IF p_amount_minor IS NULL OR p_amount_minor <= 0 OR p_backdated IS NULL THEN
        RAISE EXCEPTION 'a refund needs a positive amount and a back-dating flag' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT e.member_id INTO v_member FROM points.journal_entries AS e
    WHERE e.program_id = p_program AND e.key_scope = 'purchase' AND e.idempotency_key = p_order;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_order'::points.refund_status, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint,
            NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    SELECT m.available INTO v_available FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = v_member FOR UPDATE;
    SELECT pu.* INTO v_purchase FROM points.purchases AS pu
    WHERE pu.program_id = p_program AND pu.member_id = v_member AND pu.order_id = p_order;

    SELECT e.entry_id, e.request INTO v_existing FROM points.journal_entries AS e
    WHERE e.program_id = p_program AND e.key_scope = 'refund' AND e.idempotency_key = p_refund;
    IF FOUND THEN
        RETURN QUERY SELECT
            CASE WHEN points.same_request(v_existing.request, v_request) THEN 'replayed' ELSE 'conflict' END::points.refund_status,
            v_existing.entry_id, v_member, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
            v_purchase.refunded_minor::bigint, v_purchase.amount_minor::bigint, NULL::text;
        RETURN;
    END IF;
    -- A time outside the window is refused only now: a replay is answered however late it comes.
    v_time_problem := points.check_occurred_at(p_program, v_at, p_backdated);
    IF v_time_problem IS NOT NULL THEN
        RETURN QUERY SELECT v_time_problem::points.refund_status, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint,
            NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    IF v_purchase.refunded_minor + p_amount_minor > v_purchase.amount_minor THEN
        RETURN QUERY SELECT 'exceeds_order'::points.refund_status, NULL::bigint, v_member, NULL::bigint, NULL::bigint,
            NULL::bigint, NULL::bigint, v_purchase.refunded_minor::bigint, v_purchase.amount_minor::bigint, NULL::text;
        RETURN;
    END IF;
    IF v_at < v_purchase.occurred_at THEN
        RETURN QUERY SELECT 'before_purchase'::points.refund_status, NULL::bigint, v_member, NULL::bigint, NULL::bigint,
            NULL::bigint, NULL::bigint, v_purchase.refunded_minor::bigint, v_purchase.amount_minor::bigint, NULL::text;
        RETURN;
    END IF;

    v_policy := (points.settings_at(p_program, v_at)).refund_policy;
    v_delta := floor(v_purchase.points::numeric * (v_purchase.refunded_minor + p_amount_minor) / v_purchase.amount_minor)::bigint
               - v_purchase.clawed_back;
    v_from_pending := least(v_delta, v_purchase.pending_points);
    IF v_policy = 'write_off' THEN
        v_take := least(v_delta - v_from_pending, greatest(v_available, 0));
    ELSE
        v_take := v_delta - v_from_pending;
    END IF;
    v_write := v_delta - v_from_pending - v_take;
    -- Qualifying spend taken back, cumulative like the points: floor(E × R / A) in all, where E
    -- is the part of the order not paid with points.
    v_spend := floor((v_purchase.amount_minor - v_purchase.points_paid_minor)::numeric
                     * (v_purchase.refunded_minor + p_amount_minor) / v_purchase.amount_minor)::bigint
             - floor((v_purchase.amount_minor - v_purchase.points_paid_minor)::numeric
                     * v_purchase.refunded_minor / v_purchase.amount_minor)::bigint;

    INSERT INTO points.journal_entries AS e
        (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at, backdated)
    VALUES (p_program, v_member, 'refund', 'refund', p_refund, v_request, v_at, p_backdated)
    ON CONFLICT ON CONSTRAINT idempotency_key_unique DO NOTHING
    RETURNING e.entry_id INTO v_entry;
    IF v_entry IS NULL THEN
        -- The same refund id, taken at this moment by a refund of another member's order.
        RETURN QUERY SELECT 'conflict'::points.refund_status, e.entry_id, v_member, NULL::bigint, NULL::bigint,
                NULL::bigint, NULL::bigint, v_purchase.refunded_minor::bigint, v_purchase.amount_minor::bigint, NULL::text
            FROM points.journal_entries AS e
            WHERE e.program_id = p_program AND e.key_scope = 'refund' AND e.idempotency_key = p_refund;
        RETURN;
    END IF;
    INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at)
    SELECT p_program, v_member, v_entry, line.account, line.amount, v_at
    FROM (VALUES ('pending'::points.account, -v_from_pending), ('available', -v_take),
                 ('written_off', -v_write), ('issued', v_delta)) AS line(account, amount)
    WHERE line.amount <> 0;
    PERFORM points.consume_lots(p_program, v_member, v_entry, least(v_take, greatest(v_available, 0)));
    UPDATE points.purchases AS pu SET
        refunded_minor = pu.refunded_minor + p_amount_minor,
        clawed_back = pu.clawed_back + v_delta,
        pending_points = pu.pending_points - v_from_pending
    WHERE pu.program_id = p_program AND pu.member_id = v_member AND pu.order_id = p_order;
    UPDATE points.members AS m SET
        pending = m.pending - v_from_pending,
        available = m.available - v_take,
        issued = m.issued + v_delta,
        written_off = m.written_off - v_write
    WHERE m.program_id = p_program AND m.member_id = v_member;
    -- The purchase's period loses the points and spend (tiers/qualification.sql), which may undo an
    -- upgrade of that period.
    v_tier := points.disqualify(p_program, v_member, v_purchase.occurred_at, v_delta, v_spend, v_at, v_entry);
    RETURN QUERY SELECT 'refunded'::points.refund_status, v_entry, v_member, v_delta, v_from_pending, v_take, v_write,
        v_purchase.refunded_minor + p_amount_minor, v_purchase.amount_minor::bigint, v_tier;
END
$$;


ALTER FUNCTION points.refund(p_program integer, p_order points.idempotency_key, p_refund points.idempotency_key, p_amount_minor bigint, p_occurred_at points.event_time, p_backdated boolean) OWNER TO points_owner;

--
-- Name: refuse_self_referral(); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.refuse_self_referral() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'member % cannot be their own referrer', NEW.member_id
        USING ERRCODE = 'check_violation', CONSTRAINT = 'referrer_not_self';
END
$$;


ALTER FUNCTION points.refuse_self_referral() OWNER TO points_owner;

--
-- Name: release_expired_holds(integer, text); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.release_expired_holds(p_program integer, p_member text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_released bigint;
BEGIN
    WITH expired AS (
        UPDATE points.holds AS h SET state = 'expired', resolved_at = h.expires_at
        WHERE h.program_id = p_program AND h.member_id = p_member AND h.state = 'open' AND h.expires_at <= now()
        RETURNING h.points
    )
    SELECT coalesce(sum(e.points), 0) INTO v_released FROM expired AS e;
    IF v_released > 0 THEN
        UPDATE points.members AS m SET held = m.held - v_released WHERE m.program_id = p_program AND m.member_id = p_member;
    END IF;
    RETURN v_released;
END
$$;


ALTER FUNCTION points.release_expired_holds(p_program integer, p_member text) OWNER TO points_owner;

--
-- Name: resolve_hold(integer, bigint, boolean, bigint); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.resolve_hold(p_program integer, p_hold bigint, p_void boolean, p_capture bigint) RETURNS TABLE(status points.resolve_hold_status, state points.hold_state, member_id text, points bigint, captured bigint, entry_id bigint, available bigint, held bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_member_id text;
    v_member points.members;
    v_hold points.holds;
    v_entry bigint;
    v_capture bigint;
BEGIN
    IF p_capture <= 0 OR p_void IS NULL THEN
        RAISE EXCEPTION 'a capture needs positive points' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT h.member_id INTO v_member_id FROM points.holds AS h WHERE h.program_id = p_program AND h.hold_id = p_hold;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_hold'::points.resolve_hold_status, NULL::points.hold_state, NULL::text, NULL::bigint,
            NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    -- The member first, then the hold: the order every writer locks in.
    SELECT m.* INTO v_member FROM points.members AS m WHERE m.program_id = p_program AND m.member_id = v_member_id FOR UPDATE;
    SELECT h.* INTO v_hold FROM points.holds AS h
    WHERE h.program_id = p_program AND h.member_id = v_member_id AND h.hold_id = p_hold FOR UPDATE;
    IF v_hold.state = 'open' AND v_hold.expires_at <= now() THEN
        UPDATE points.holds AS h SET state = 'expired', resolved_at = v_hold.expires_at
        WHERE h.program_id = p_program AND h.member_id = v_member_id AND h.hold_id = p_hold;
        UPDATE points.members AS m SET held = m.held - v_hold.points WHERE m.program_id = p_program AND m.member_id = v_member_id;
        v_hold.state := 'expired';
        v_member.held := v_member.held - v_hold.points;
    END IF;
    IF v_hold.state <> 'open' THEN
        RETURN QUERY SELECT
            CASE WHEN (v_hold.state = 'voided' AND p_void)
                   OR (v_hold.state = 'captured' AND NOT p_void AND v_hold.captured = coalesce(p_capture, v_hold.points))
                 THEN 'replayed' ELSE 'resolved' END::points.resolve_hold_status,
            v_hold.state, v_member_id, v_hold.points::bigint, v_hold.captured::bigint, v_hold.entry_id, v_member.available,
            v_member.held::bigint;
        RETURN;
    END IF;
    IF p_void THEN
        UPDATE points.holds AS h SET state = 'voided', resolved_at = now()
        WHERE h.program_id = p_program AND h.member_id = v_member_id AND h.hold_id = p_hold;
        UPDATE points.members AS m SET held = m.held - v_hold.points WHERE m.program_id = p_program AND m.member_id = v_member_id;
        RETURN QUERY SELECT 'voided'::points.resolve_hold_status, 'voided'::points.hold_state, v_member_id,
            v_hold.points::bigint, NULL::bigint, NULL::bigint, v_member.available, v_member.held - v_hold.points;
        RETURN;
    END IF;
    v_capture := coalesce(p_capture, v_hold.points);
    IF v_capture > v_hold.points THEN
        RETURN QUERY SELECT 'exceeds_hold'::points.resolve_hold_status, 'open'::points.hold_state, v_member_id,
            v_hold.points::bigint, NULL::bigint, NULL::bigint, v_member.available, v_member.held::bigint;
        RETURN;
    END IF;
    IF v_member.available < v_capture THEN
        -- Clawbacks since the hold took the points it reserved.
        RETURN QUERY SELECT 'insufficient_points'::points.resolve_hold_status, 'open'::points.hold_state, v_member_id,
            v_hold.points::bigint, NULL::bigint, NULL::bigint, v_member.available, v_member.held::bigint;
        RETURN;
    END IF;
    INSERT INTO points.journal_entries AS e (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at)
    VALUES (p_program, v_member_id, 'capture', 'capture', p_hold::text,
            jsonb_build_object('hold', p_hold, 'key', v_hold.hold_key, 'points', v_capture), now())
    RETURNING e.entry_id INTO v_entry;
    PERFORM points.consume_lots(p_program, v_member_id, v_entry, v_capture);
    WITH lines AS (
        INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES
            (p_program, v_member_id, v_entry, 'available', -v_capture, now()),
            (p_program, v_member_id, v_entry, 'redeemed', v_capture, now())
    ), resolved AS (
        UPDATE points.holds AS h SET state = 'captured', captured = v_capture, resolved_at = now(), entry_id = v_entry
        WHERE h.program_id = p_program AND h.member_id = v_member_id AND h.hold_id = p_hold
    )
    UPDATE points.members AS m SET available = m.available - v_capture, redeemed = m.redeemed + v_capture,
        held = m.held - v_hold.points
    WHERE m.program_id = p_program AND m.member_id = v_member_id;
    RETURN QUERY SELECT 'captured'::points.resolve_hold_status, 'captured'::points.hold_state, v_member_id,
        v_hold.points::bigint, v_capture, v_entry, v_member.available - v_capture, v_member.held - v_hold.points;
END
$$;


ALTER FUNCTION points.resolve_hold(p_program integer, p_hold bigint, p_void boolean, p_capture bigint) OWNER TO points_owner;

--
-- Name: round_points(numeric, text); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.round_points(p_value numeric, p_mode text) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE p_mode
        WHEN 'down' THEN floor(p_value)
        WHEN 'up' THEN ceil(p_value)
        WHEN 'half_up' THEN round(p_value)
        ELSE CASE WHEN p_value - floor(p_value) = 0.5 AND mod(floor(p_value), 2) = 0 THEN floor(p_value) ELSE round(p_value) END
    END::bigint
$$;


ALTER FUNCTION points.round_points(p_value numeric, p_mode text) OWNER TO points_owner;

--
-- Name: same_request(jsonb, jsonb); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.same_request(p_recorded jsonb, p_given jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT p_recorded - 'occurred_at' = p_given - 'occurred_at'
       AND (NOT (p_recorded ? 'occurred_at' AND p_given ? 'occurred_at')
            OR p_recorded -> 'occurred_at' = p_given -> 'occurred_at')
$$;


ALTER FUNCTION points.same_request(p_recorded jsonb, p_given jsonb) OWNER TO points_owner;

--
-- Name: seal_journal(integer, integer, integer, bigint, interval); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.seal_journal(p_program integer, p_block_entries integer, p_max_blocks integer, p_up_to bigint, p_wait interval) RETURNS TABLE(blocks integer, entries bigint, postings bigint, head_block integer, head_entry_id bigint, head_hash bytea, horizon bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_horizon bigint;
    v_open text[];
    v_deadline timestamptz;
    v_waiting record;
    v_no integer := 0;
    v_after bigint := 0;
    v_previous bytea;
    v_blocks integer := 0;
    v_entries bigint := 0;
    v_postings bigint := 0;
    v_bounds bigint[];
    v_last bigint;
    v_digest record;
BEGIN
    IF p_block_entries IS NULL OR p_max_blocks IS NULL OR p_block_entries < 1 OR p_max_blocks < 1 THEN
        RAISE EXCEPTION 'a block holds at least one entry' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_wait IS NULL OR p_wait < interval '0' OR p_wait > interval '1 hour' THEN
        RAISE EXCEPTION 'sealing waits between 0 seconds and 1 hour for open transactions, not %', p_wait
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'sealing runs at READ COMMITTED, not %', current_setting('transaction_isolation')
            USING ERRCODE = 'invalid_transaction_state',
                  HINT = 'Call points.seal_journal outside an explicit REPEATABLE READ or SERIALIZABLE transaction.';
    END IF;
    -- One sealer at a time, by a lock only the owner's functions can take (the writer and the
    -- auditor may only read journal_blocks), and that readers never wait for.
    BEGIN
        LOCK TABLE points.journal_blocks IN SHARE ROW EXCLUSIVE MODE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RAISE EXCEPTION 'another seal of the journal is running'
            USING ERRCODE = 'lock_not_available', HINT = 'Run the seal job again when it has finished.';
    END;
    SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END INTO v_horizon
    FROM points.journal_entry_ids AS s;
    v_horizon := least(v_horizon, p_up_to);
    -- Read after the horizon: the transactions that drew entry ids and have not ended, prepared
    -- ones included. Drawing an id locks the sequence until the transaction ends (a prepared
    -- transaction keeps the lock), so these are exactly the transactions that may still commit an
    -- entry at or below the horizon; transactions that write no entries are never waited for.
    SELECT coalesce(array_agg(l.virtualtransaction), '{}') INTO v_open
    FROM pg_catalog.pg_locks AS l
    WHERE l.locktype = 'relation' AND l.relation = 'points.journal_entry_ids'::regclass
      AND l.database = (SELECT d.oid FROM pg_catalog.pg_database AS d WHERE d.datname = current_database())
      AND l.granted AND l.pid IS DISTINCT FROM pg_backend_pid();
    v_deadline := clock_timestamp() + p_wait;
    LOOP
        SELECT count(*) AS transactions, min(l.pid) AS pid INTO v_waiting
        FROM pg_catalog.pg_locks AS l
        WHERE l.locktype = 'relation' AND l.relation = 'points.journal_entry_ids'::regclass AND l.granted
          AND l.virtualtransaction = ANY (v_open);
        EXIT WHEN v_waiting.transactions = 0;
        IF clock_timestamp() >= v_deadline THEN
            RAISE EXCEPTION 'sealing waits for % transaction(s) that may still write entries (%)',
                    v_waiting.transactions, coalesce('server process ' || v_waiting.pid, 'a prepared transaction')
                USING ERRCODE = 'lock_not_available', HINT = 'Let it finish (or end it), then run the seal job again.';
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
    SELECT b.block_no, b.last_entry_id, b.block_hash INTO v_no, v_after, v_previous
    FROM points.journal_blocks AS b WHERE b.program_id = p_program ORDER BY b.block_no DESC LIMIT 1;
    IF NOT FOUND THEN
        v_no := 0;
        v_after := 0;
        v_previous := points.genesis_hash(p_program);
    END IF;
    -- The last entry id of each block this call seals, from one ordered read of the unsealed ids.
    SELECT array_agg(n.entry_id ORDER BY n.entry_id) INTO v_bounds
    FROM (
        SELECT u.entry_id, row_number() OVER (ORDER BY u.entry_id) AS rn, count(*) OVER () AS total
        FROM (SELECT e.entry_id FROM points.journal_entries AS e
              WHERE e.program_id = p_program AND e.entry_id > v_after AND e.entry_id <= v_horizon
              ORDER BY e.entry_id LIMIT p_block_entries::bigint * p_max_blocks) AS u
    ) AS n
    WHERE n.rn % p_block_entries = 0 OR n.rn = n.total;
    FOREACH v_last IN ARRAY coalesce(v_bounds, '{}') LOOP
        SELECT * INTO v_digest FROM points.journal_digest(p_program, v_after, v_last, v_previous);
        -- What is sealed balances: `audit verify` checks entry by entry only what is not sealed
        -- (and the blocks whose hash no longer matches), so nothing unbalanced may enter a block.
        IF v_digest.unbalanced_entry IS NOT NULL THEN
            RAISE EXCEPTION 'journal entry % does not balance (or its postings have no entry); it cannot be sealed',
                    v_digest.unbalanced_entry
                USING ERRCODE = 'check_violation', CONSTRAINT = 'entry_balances',
                      HINT = 'run points-admin audit verify to see it: only a rewrite by the owner role unbalances an entry, and only the owner can repair it (under audit) before the journal is sealed further';
        END IF;
        v_no := v_no + 1;
        INSERT INTO points.journal_blocks
            (program_id, block_no, after_entry_id, last_entry_id, entries, postings, previous_hash, block_hash, sealed_by)
        VALUES (p_program, v_no, v_after, v_last, v_digest.entries, v_digest.postings, v_previous, v_digest.digest, session_user);
        v_blocks := v_blocks + 1;
        v_entries := v_entries + v_digest.entries;
        v_postings := v_postings + v_digest.postings;
        v_after := v_last;
        v_previous := v_digest.digest;
    END LOOP;
    RETURN QUERY SELECT v_blocks, v_entries, v_postings, v_no, v_after, v_previous, v_horizon;
END
$$;


ALTER FUNCTION points.seal_journal(p_program integer, p_block_entries integer, p_max_blocks integer, p_up_to bigint, p_wait interval) OWNER TO points_owner;

--
-- Name: set_birthday(integer, points.member_key, smallint, smallint); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.set_birthday(p_program integer, p_member points.member_key, p_month smallint, p_day smallint) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
BEGIN
    UPDATE points.members AS m SET birthday = make_date(2000, p_month, p_day)
    WHERE m.program_id = p_program AND m.member_id = p_member;
    RETURN CASE WHEN FOUND THEN 'set' ELSE 'unknown_member' END;
END
$$;


ALTER FUNCTION points.set_birthday(p_program integer, p_member points.member_key, p_month smallint, p_day smallint) OWNER TO points_owner;

--
-- Name: set_program_settings(integer, jsonb, points.event_time, points.label_text); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.set_program_settings(p_program integer, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text) RETURNS TABLE(status points.set_program_settings_status, effective_at timestamp with time zone)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_before points.program_settings;
    v_after points.program_settings;
BEGIN
    IF NOT points.begin_configuration_change(p_program, p_effective_at) THEN
        RETURN QUERY SELECT 'in_past'::points.set_program_settings_status, p_effective_at::timestamptz;
        RETURN;
    END IF;
    v_before := points.settings_at(p_program, p_effective_at);
    v_after := jsonb_populate_record(v_before, p_changes);
    v_after.effective_at := p_effective_at;
    IF to_jsonb(v_after) - 'effective_at' = to_jsonb(v_before) - 'effective_at' THEN
        RETURN QUERY SELECT 'unchanged'::points.set_program_settings_status, v_before.effective_at;
        RETURN;
    END IF;
    -- The tier period (tiers/periods.sql) changes only where every kind of period starts, at the
    -- start of a local year, once the program has entries: no period is cut in two.
    IF v_after.tier_period <> v_before.tier_period
       AND p_effective_at <> (SELECT date_trunc('year', p_effective_at AT TIME ZONE p.time_zone) AT TIME ZONE p.time_zone
                              FROM points.programs AS p WHERE p.program_id = p_program)
       AND EXISTS (SELECT 1 FROM points.journal_entries AS e WHERE e.program_id = p_program) THEN
        RETURN QUERY SELECT 'tier_period_mid_year'::points.set_program_settings_status, p_effective_at::timestamptz;
        RETURN;
    END IF;
    -- A second change at the same instant replaces the first.
    DELETE FROM points.program_settings AS ps WHERE ps.program_id = p_program AND ps.effective_at = p_effective_at;
    INSERT INTO points.program_settings VALUES (v_after.*);
    INSERT INTO points.configuration_changes (program_id, subject, actor, effective_at, before, after)
    VALUES (p_program, 'settings', p_actor, p_effective_at,
            to_jsonb(v_before) - 'program_id' - 'effective_at', to_jsonb(v_after) - 'program_id' - 'effective_at');
    RETURN QUERY SELECT 'changed'::points.set_program_settings_status, p_effective_at::timestamptz;
END
$$;


ALTER FUNCTION points.set_program_settings(p_program integer, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text) OWNER TO points_owner;

--
-- Name: set_reward(integer, text, jsonb, points.label_text); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.set_reward(p_program integer, p_reward text, p_changes jsonb, p_actor points.label_text) RETURNS TABLE(status points.set_reward_status)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_before points.rewards;
    v_after points.rewards;
BEGIN
    IF p_changes ? 'min_tier' AND p_changes->>'min_tier' IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = p_changes->>'min_tier') THEN
        RETURN QUERY SELECT 'unknown_tier'::points.set_reward_status;
        RETURN;
    END IF;
    SELECT r.* INTO v_before FROM points.rewards AS r WHERE r.program_id = p_program AND r.reward = p_reward FOR UPDATE;
    IF NOT FOUND THEN
        IF NOT (p_changes ? 'name' AND p_changes ? 'cost') THEN
            RETURN QUERY SELECT 'incomplete'::points.set_reward_status;
            RETURN;
        END IF;
        v_after := jsonb_populate_record(
            jsonb_populate_record(NULL::points.rewards, jsonb_build_object('program_id', p_program, 'reward', p_reward)), p_changes);
        INSERT INTO points.rewards VALUES (v_after.*);
    ELSE
        v_after := jsonb_populate_record(v_before, p_changes);
        IF to_jsonb(v_after) = to_jsonb(v_before) THEN
            RETURN QUERY SELECT 'unchanged'::points.set_reward_status;
            RETURN;
        END IF;
        UPDATE points.rewards AS r SET name = v_after.name, cost = v_after.cost, stock = v_after.stock,
            min_tier = v_after.min_tier, limit_per_member = v_after.limit_per_member,
            active_from = v_after.active_from, active_until = v_after.active_until
        WHERE r.program_id = p_program AND r.reward = p_reward;
    END IF;
    INSERT INTO points.configuration_changes (program_id, subject, actor, effective_at, before, after)
    VALUES (p_program, 'reward ' || p_reward, p_actor, now(),
            to_jsonb(v_before) - 'program_id' - 'reward', to_jsonb(v_after) - 'program_id' - 'reward');
    RETURN QUERY SELECT CASE WHEN v_before.reward IS NULL THEN 'created' ELSE 'changed' END::points.set_reward_status;
END
$$;


ALTER FUNCTION points.set_reward(p_program integer, p_reward text, p_changes jsonb, p_actor points.label_text) OWNER TO points_owner;

--
-- Name: set_task(integer, text, jsonb, points.event_time, points.label_text); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.set_task(p_program integer, p_task text, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text) RETURNS TABLE(status points.set_task_status, effective_at timestamp with time zone)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_before points.task_settings;
    v_after points.task_settings;
BEGIN
    IF NOT points.begin_configuration_change(p_program, p_effective_at) THEN
        RETURN QUERY SELECT 'in_past'::points.set_task_status, p_effective_at::timestamptz;
        RETURN;
    END IF;
    SELECT ts.* INTO v_before FROM points.task_settings AS ts
    WHERE ts.program_id = p_program AND ts.task = p_task AND ts.effective_at <= p_effective_at
    ORDER BY ts.effective_at DESC LIMIT 1;
    IF NOT FOUND THEN
        IF NOT p_changes ? 'points' THEN
            RETURN QUERY SELECT 'unknown_task'::points.set_task_status, p_effective_at::timestamptz;
            RETURN;
        END IF;
        v_before := jsonb_populate_record(NULL::points.task_settings, jsonb_build_object(
            'program_id', p_program, 'task', p_task, 'effective_at', p_effective_at, 'points', 0, 'qualifying', false,
            'active', true, 'streak_days', '{}'::integer[], 'streak_points', '{}'::bigint[], 'tier_multiplier', false));
        v_after := jsonb_populate_record(v_before, p_changes);
        v_before := NULL;
    ELSE
        v_after := jsonb_populate_record(v_before, p_changes);
    END IF;
    v_after.effective_at := p_effective_at;
    IF v_before IS NOT NULL AND to_jsonb(v_after) - 'effective_at' = to_jsonb(v_before) - 'effective_at' THEN
        RETURN QUERY SELECT 'unchanged'::points.set_task_status, v_before.effective_at;
        RETURN;
    END IF;
    -- A second change at the same instant replaces the first.
    DELETE FROM points.task_settings AS ts WHERE ts.program_id = p_program AND ts.task = p_task AND ts.effective_at = p_effective_at;
    INSERT INTO points.task_settings VALUES (v_after.*);
    INSERT INTO points.configuration_changes (program_id, subject, actor, effective_at, before, after)
    VALUES (p_program, 'task ' || p_task, p_actor, p_effective_at,
            to_jsonb(v_before) - 'program_id' - 'task' - 'effective_at', to_jsonb(v_after) - 'program_id' - 'task' - 'effective_at');
    RETURN QUERY SELECT 'changed'::points.set_task_status, p_effective_at::timestamptz;
END
$$;


ALTER FUNCTION points.set_task(p_program integer, p_task text, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text) OWNER TO points_owner;

--
-- Name: set_tier(integer, text, smallint, jsonb, points.event_time, points.label_text); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.set_tier(p_program integer, p_tier text, p_rank smallint, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text) RETURNS TABLE(status points.set_tier_status, effective_at timestamp with time zone, detail text)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'points', 'pg_temp'
    AS $$
DECLARE
    v_rank smallint;
    v_before points.tier_settings;
    v_after points.tier_settings;
    v_bad record;
BEGIN
    IF NOT points.begin_configuration_change(p_program, p_effective_at) THEN
        RETURN QUERY SELECT 'in_past'::points.set_tier_status, p_effective_at::timestamptz, NULL::text;
        RETURN;
    END IF;
    SELECT t.rank INTO v_rank FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = p_tier;
    IF NOT FOUND THEN
        IF p_rank IS NULL OR NOT p_changes ? 'entry_points' THEN
            RETURN QUERY SELECT 'unknown_tier'::points.set_tier_status, p_effective_at::timestamptz, NULL::text;
            RETURN;
        END IF;
        IF EXISTS (SELECT 1 FROM points.tiers AS t WHERE t.program_id = p_program AND t.rank = p_rank) THEN
            RETURN QUERY SELECT 'rank_taken'::points.set_tier_status, p_effective_at::timestamptz, t.tier FROM points.tiers AS t
                WHERE t.program_id = p_program AND t.rank = p_rank;
            RETURN;
        END IF;
        -- The trigger on tiers adds default settings from the beginning of time; a new tier
        -- exists from p_effective_at only.
        INSERT INTO points.tiers (program_id, tier, rank) VALUES (p_program, p_tier, p_rank);
        DELETE FROM points.tier_settings AS ts WHERE ts.program_id = p_program AND ts.tier = p_tier;
        v_after := jsonb_populate_record(
            ROW(p_program, p_tier, p_effective_at, 0, 0, NULL, NULL, NULL, 1)::points.tier_settings, p_changes);
    ELSE
        IF p_rank IS NOT NULL AND p_rank <> v_rank THEN
            RETURN QUERY SELECT 'rank_fixed'::points.set_tier_status, p_effective_at::timestamptz, v_rank::text;
            RETURN;
        END IF;
        SELECT ts.* INTO v_before FROM points.tier_settings AS ts
        WHERE ts.program_id = p_program AND ts.tier = p_tier AND ts.effective_at <= p_effective_at
        ORDER BY ts.effective_at DESC LIMIT 1;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'unknown_tier'::points.set_tier_status, p_effective_at::timestamptz, NULL::text;
            RETURN;
        END IF;
        v_after := jsonb_populate_record(v_before, p_changes);
        v_after.effective_at := p_effective_at;
        IF to_jsonb(v_after) - 'effective_at' = to_jsonb(v_before) - 'effective_at' THEN
            RETURN QUERY SELECT 'unchanged'::points.set_tier_status, v_before.effective_at, NULL::text;
            RETURN;
        END IF;
    END IF;
    DELETE FROM points.tier_settings AS ts
    WHERE ts.program_id = p_program AND ts.tier = p_tier AND ts.effective_at = p_effective_at;
    INSERT INTO points.tier_settings VALUES (v_after.*);

    -- Thresholds must rise with rank at every moment from p_effective_at on: entry points
    -- strictly, entry spend strictly where both tiers have one, retention never lower than a
    -- lower tier's. The entry tier's entry threshold is 0.
    SELECT CASE
        WHEN lo.rank = (SELECT min(t.rank) FROM points.tiers AS t WHERE t.program_id = p_program) AND lo.entry_points > 0 THEN
            format('the entry tier %s must have 0 entry points', lo.tier)
        WHEN hi.entry_points <= lo.entry_points THEN
            format('tier %s needs more entry points than tier %s (%s)', hi.tier, lo.tier, lo.entry_points)
        WHEN hi.entry_spend_minor <= lo.entry_spend_minor OR (lo.entry_spend_minor IS NOT NULL AND hi.entry_spend_minor IS NULL) THEN
            format('tier %s needs an entry spend above that of tier %s, which has one', hi.tier, lo.tier)
        ELSE format('tier %s needs retention thresholds at least those of tier %s', hi.tier, lo.tier)
        END AS problem, moments.at INTO v_bad
    FROM (SELECT p_effective_at AS at UNION
          SELECT ts.effective_at FROM points.tier_settings AS ts
          WHERE ts.program_id = p_program AND ts.effective_at > p_effective_at) AS moments
    CROSS JOIN LATERAL points.tiers_at(p_program, moments.at) AS lo
    JOIN LATERAL points.tiers_at(p_program, moments.at) AS hi ON hi.rank > lo.rank
    WHERE hi.entry_points <= lo.entry_points
       OR hi.entry_spend_minor <= lo.entry_spend_minor
       OR (lo.entry_spend_minor IS NOT NULL AND hi.entry_spend_minor IS NULL AND lo.rank > 0)
       OR hi.retain_points < lo.retain_points
       OR hi.retain_spend_minor < lo.retain_spend_minor
       OR (lo.rank = (SELECT min(t.rank) FROM points.tiers AS t WHERE t.program_id = p_program) AND lo.entry_points > 0)
    ORDER BY moments.at, lo.rank, hi.rank
    LIMIT 1;
    IF FOUND THEN
        -- Undoes this call's writes: thresholds that do not rise are never stored.
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'tier_thresholds_rise',
            MESSAGE = v_bad.problem || CASE WHEN v_bad.at > p_effective_at THEN format(' (from %s)', v_bad.at) ELSE '' END;
    END IF;
    PERFORM points.refresh_ladder(p_program);
    INSERT INTO points.configuration_changes (program_id, subject, actor, effective_at, before, after)
    VALUES (p_program, 'tier ' || p_tier, p_actor, p_effective_at,
            to_jsonb(v_before) - 'program_id' - 'tier' - 'effective_at',
            to_jsonb(v_after) - 'program_id' - 'tier' - 'effective_at' || jsonb_build_object('rank', coalesce(v_rank, p_rank)));
    RETURN QUERY SELECT 'changed'::points.set_tier_status, p_effective_at::timestamptz, NULL::text;
END
$$;


ALTER FUNCTION points.set_tier(p_program integer, p_tier text, p_rank smallint, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text) OWNER TO points_owner;

--
-- Name: program_settings; Type: TABLE; Schema: points; Owner: points_owner
--

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


ALTER TABLE points.program_settings OWNER TO points_owner;

--
-- Name: settings_at(integer, timestamp with time zone); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.settings_at(p_program integer, p_at timestamp with time zone) RETURNS points.program_settings
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_settings points.program_settings;
BEGIN
    SELECT s.* INTO v_settings FROM points.program_settings AS s
    WHERE s.program_id = p_program AND s.effective_at <= p_at
    ORDER BY s.effective_at DESC LIMIT 1;
    RETURN v_settings;
END
$$;


ALTER FUNCTION points.settings_at(p_program integer, p_at timestamp with time zone) OWNER TO points_owner;

--
-- Name: settings_in_force(integer, points.program_settings, timestamp with time zone); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.settings_in_force(p_program integer, p_latest points.program_settings, p_at timestamp with time zone) RETURNS points.program_settings
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE WHEN (p_latest).effective_at <= p_at THEN p_latest ELSE points.settings_at(p_program, p_at) END
$$;


ALTER FUNCTION points.settings_in_force(p_program integer, p_latest points.program_settings, p_at timestamp with time zone) OWNER TO points_owner;

--
-- Name: task_cap(integer, text, text, date, integer, integer, integer); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.task_cap(p_program integer, p_member text, p_task text, p_day date, p_cap_day integer, p_cap_week integer, p_cap_month integer, OUT capped_by text, OUT cap_reached boolean) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_week date := date_trunc('week', p_day)::date;
    v_month date := date_trunc('month', p_day)::date;
    v_day_count bigint := 0;
    v_week_count bigint := 0;
    v_month_count bigint := 0;
BEGIN
    IF coalesce(p_cap_day, p_cap_week, p_cap_month) IS NOT NULL THEN
        SELECT count(*) FILTER (WHERE c.local_day = p_day) AS day,
               count(*) FILTER (WHERE c.local_day >= v_week AND c.local_day < v_week + 7) AS week,
               count(*) FILTER (WHERE c.local_day >= v_month AND c.local_day < (v_month + interval '1 month')::date) AS month
        INTO v_day_count, v_week_count, v_month_count
        FROM points.task_completions AS c
        WHERE c.program_id = p_program AND c.member_id = p_member AND c.task = p_task
          AND c.local_day >= least(v_week, v_month) AND c.local_day < greatest(v_week + 7, (v_month + interval '1 month')::date)
          AND c.capped_by IS NULL;
    END IF;
    capped_by := CASE
        WHEN v_day_count >= p_cap_day THEN 'day'
        WHEN v_week_count >= p_cap_week THEN 'week'
        WHEN v_month_count >= p_cap_month THEN 'month' END;
    cap_reached := capped_by IS NOT NULL OR coalesce(v_day_count + 1 >= p_cap_day, false)
        OR coalesce(v_week_count + 1 >= p_cap_week, false) OR coalesce(v_month_count + 1 >= p_cap_month, false);
END
$$;


ALTER FUNCTION points.task_cap(p_program integer, p_member text, p_task text, p_day date, p_cap_day integer, p_cap_week integer, p_cap_month integer, OUT capped_by text, OUT cap_reached boolean) OWNER TO points_owner;

--
-- Name: tier_at(integer, text, text, timestamp with time zone, text, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.tier_at(p_program integer, p_member text, p_tier text, p_override_until timestamp with time zone, p_override_previous text, p_granted_until timestamp with time zone, p_at timestamp with time zone) RETURNS text
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE WHEN p_granted_until > p_at
                THEN points.effective_tier(p_program, p_member,
                         CASE WHEN p_override_until <= p_at THEN p_override_previous ELSE p_tier END, p_at)
                ELSE CASE WHEN p_override_until <= p_at THEN p_override_previous ELSE p_tier END END
$$;


ALTER FUNCTION points.tier_at(p_program integer, p_member text, p_tier text, p_override_until timestamp with time zone, p_override_previous text, p_granted_until timestamp with time zone, p_at timestamp with time zone) OWNER TO points_owner;

--
-- Name: tier_period_at(integer, timestamp with time zone); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.tier_period_at(p_program integer, p_at timestamp with time zone, OUT period_start date, OUT closed boolean) RETURNS record
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    SELECT points.tier_period_start(s.tier_period, p_at, p.time_zone), p_at < coalesce(p.tiers_closed_until, '-infinity')
    INTO period_start, closed
    FROM points.programs AS p CROSS JOIN LATERAL points.settings_at(p.program_id, p_at) AS s
    WHERE p.program_id = p_program;
END
$$;


ALTER FUNCTION points.tier_period_at(p_program integer, p_at timestamp with time zone, OUT period_start date, OUT closed boolean) OWNER TO points_owner;

--
-- Name: tier_period_end(text, timestamp without time zone, text); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.tier_period_end(p_kind text, p_start timestamp without time zone, p_time_zone text) RETURNS timestamp with time zone
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT (p_start + CASE p_kind WHEN 'month' THEN interval '1 month' WHEN 'quarter' THEN interval '3 months'
                              ELSE interval '1 year' END) AT TIME ZONE p_time_zone
$$;


ALTER FUNCTION points.tier_period_end(p_kind text, p_start timestamp without time zone, p_time_zone text) OWNER TO points_owner;

--
-- Name: tier_period_start(text, timestamp with time zone, text); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.tier_period_start(p_kind text, p_at timestamp with time zone, p_time_zone text) RETURNS date
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT date_trunc(p_kind, p_at AT TIME ZONE p_time_zone)::date
$$;


ALTER FUNCTION points.tier_period_start(p_kind text, p_at timestamp with time zone, p_time_zone text) OWNER TO points_owner;

--
-- Name: tier_reached_above(integer, text, timestamp with time zone, bigint, bigint, timestamp with time zone, text[], bigint[], bigint[]); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.tier_reached_above(p_program integer, p_earned text, p_at timestamp with time zone, p_points bigint, p_spend_minor bigint, p_ladder_since timestamp with time zone, p_ladder_tiers text[], p_ladder_points bigint[], p_ladder_spend bigint[]) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_tier text;
BEGIN
    IF p_at >= p_ladder_since THEN
        FOR i IN REVERSE cardinality(p_ladder_tiers) .. coalesce(array_position(p_ladder_tiers, p_earned), 0) + 1 LOOP
            IF p_ladder_points[i] <= p_points OR p_ladder_spend[i] <= p_spend_minor THEN
                RETURN p_ladder_tiers[i];
            END IF;
        END LOOP;
        RETURN NULL;
    END IF;
    SELECT r.tier INTO v_tier FROM points.tiers_at(p_program, p_at) AS r
    WHERE r.rank > (SELECT t.rank FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = p_earned)
      AND (r.entry_points <= p_points OR r.entry_spend_minor <= p_spend_minor)
    ORDER BY r.rank DESC LIMIT 1;
    RETURN v_tier;
END
$$;


ALTER FUNCTION points.tier_reached_above(p_program integer, p_earned text, p_at timestamp with time zone, p_points bigint, p_spend_minor bigint, p_ladder_since timestamp with time zone, p_ladder_tiers text[], p_ladder_points bigint[], p_ladder_spend bigint[]) OWNER TO points_owner;

--
-- Name: tiers_at(integer, timestamp with time zone); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.tiers_at(p_program integer, p_at timestamp with time zone) RETURNS TABLE(tier text, rank smallint, entry_points bigint, entry_spend_minor bigint, retain_points bigint, retain_spend_minor bigint, multiplier numeric, birthday_bonus bigint, effective_at timestamp with time zone)
    LANGUAGE sql STABLE
    AS $$
    SELECT t.tier, t.rank, s.entry_points, s.entry_spend_minor, coalesce(s.retain_points, s.entry_points),
           CASE WHEN s.entry_spend_minor IS NOT NULL THEN coalesce(s.retain_spend_minor, s.entry_spend_minor) END,
           s.multiplier, s.birthday_bonus, s.effective_at
    FROM points.tiers AS t
    CROSS JOIN LATERAL (
        SELECT ts.* FROM points.tier_settings AS ts
        WHERE ts.program_id = t.program_id AND ts.tier = t.tier AND ts.effective_at <= p_at
        ORDER BY ts.effective_at DESC LIMIT 1) AS s
    WHERE t.program_id = p_program
$$;


ALTER FUNCTION points.tiers_at(p_program integer, p_at timestamp with time zone) OWNER TO points_owner;

--
-- Name: tiers_created(); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.tiers_created() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO points.tier_settings (program_id, tier, effective_at, birthday_bonus, entry_points)
    SELECT n.program_id, n.tier, '-infinity', 0, CASE n.rank WHEN 0 THEN 0 WHEN 1 THEN 1000 ELSE 5000 END
    FROM new_tiers AS n;
    PERFORM points.refresh_ladder(n.program_id) FROM (SELECT DISTINCT program_id FROM new_tiers) AS n;
    RETURN NULL;
END
$$;


ALTER FUNCTION points.tiers_created() OWNER TO points_owner;

--
-- Name: upgrade_if_reached(integer, text, text, timestamp with time zone, date, bigint, bigint, bigint, timestamp with time zone, timestamp with time zone, text[], bigint[], bigint[]); Type: FUNCTION; Schema: points; Owner: points_owner
--

CREATE FUNCTION points.upgrade_if_reached(p_program integer, p_member text, p_earned text, p_at timestamp with time zone, p_period date, p_points bigint, p_spend_minor bigint, p_entry bigint, p_tiers_closed_until timestamp with time zone, p_ladder_since timestamp with time zone, p_ladder_tiers text[], p_ladder_points bigint[], p_ladder_spend bigint[]) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_to text;
BEGIN
    IF p_at < coalesce(p_tiers_closed_until, '-infinity') THEN
        RETURN NULL;
    END IF;
    v_to := points.tier_reached_above(p_program, p_earned, p_at, p_points, p_spend_minor, p_ladder_since, p_ladder_tiers,
        p_ladder_points, p_ladder_spend);
    IF v_to IS NOT NULL THEN
        UPDATE points.members AS m SET
            tier = v_to,
            tier_before_upgrade = CASE WHEN m.tier_reached_period = p_period THEN m.tier_before_upgrade ELSE p_earned END,
            tier_reached_period = p_period,
            override_until = NULL,
            override_previous = NULL
        WHERE m.program_id = p_program AND m.member_id = p_member;
        INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause, period_start,
                                         qualifying_points, qualifying_spend_minor, entry_id)
        VALUES (p_program, p_member, p_at, p_earned, v_to, 'upgrade', p_period, p_points, p_spend_minor, p_entry);
    END IF;
    RETURN v_to;
END
$$;


ALTER FUNCTION points.upgrade_if_reached(p_program integer, p_member text, p_earned text, p_at timestamp with time zone, p_period date, p_points bigint, p_spend_minor bigint, p_entry bigint, p_tiers_closed_until timestamp with time zone, p_ladder_since timestamp with time zone, p_ladder_tiers text[], p_ladder_points bigint[], p_ladder_spend bigint[]) OWNER TO points_owner;

--
-- Name: settle_temporary_objects(text, text, text); Type: FUNCTION; Schema: points_meta; Owner: postgres
--

CREATE FUNCTION points_meta.settle_temporary_objects(p_owner text, p_writer text, p_auditor text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_database AS d WHERE d.datname = current_database()
               AND pg_has_role(current_user, d.datdba, 'USAGE')) THEN
        EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC, %I, %I', current_database(), p_writer, p_auditor);
        EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), p_owner);
    END IF;
END
$$;


ALTER FUNCTION points_meta.settle_temporary_objects(p_owner text, p_writer text, p_auditor text) OWNER TO postgres;

--
-- Name: configuration_changes; Type: TABLE; Schema: points; Owner: points_owner
--

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


ALTER TABLE points.configuration_changes OWNER TO points_owner;

--
-- Name: configuration_changes_change_id_seq; Type: SEQUENCE; Schema: points; Owner: points_owner
--

ALTER TABLE points.configuration_changes ALTER COLUMN change_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME points.configuration_changes_change_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: currencies; Type: TABLE; Schema: points; Owner: points_owner
--

CREATE TABLE points.currencies (
    currency character(3) NOT NULL,
    exponent smallint NOT NULL,
    CONSTRAINT currencies_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT currencies_exponent_check CHECK (((exponent >= 0) AND (exponent <= 4)))
);


ALTER TABLE points.currencies OWNER TO points_owner;

--
-- Name: holds; Type: TABLE; Schema: points; Owner: points_owner
--

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
    CONSTRAINT hold_resolved_once CHECK ((((state = 'open'::points.hold_state) = (resolved_at IS NULL)) AND ((state = 'captured'::points.hold_state) = (captured IS NOT NULL)) AND ((captured)::bigint <= (points)::bigint)))
);


ALTER TABLE points.holds OWNER TO points_owner;

--
-- Name: holds_hold_id_seq; Type: SEQUENCE; Schema: points; Owner: points_owner
--

ALTER TABLE points.holds ALTER COLUMN hold_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME points.holds_hold_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: import_batch_ids; Type: SEQUENCE; Schema: points; Owner: points_owner
--

CREATE SEQUENCE points.import_batch_ids
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE points.import_batch_ids OWNER TO points_owner;

--
-- Name: import_staging; Type: TABLE; Schema: points; Owner: points_owner
--

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


ALTER TABLE points.import_staging OWNER TO points_owner;

--
-- Name: journal_blocks; Type: TABLE; Schema: points; Owner: points_owner
--

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
    CONSTRAINT block_hash_size CHECK ((length(block_hash) = 32)),
    CONSTRAINT block_no_positive CHECK ((block_no >= 1)),
    CONSTRAINT block_not_empty CHECK ((entries > 0)),
    CONSTRAINT block_postings CHECK ((postings >= 0)),
    CONSTRAINT block_range CHECK ((last_entry_id > after_entry_id)),
    CONSTRAINT previous_hash_size CHECK ((length(previous_hash) = 32))
);


ALTER TABLE points.journal_blocks OWNER TO points_owner;

--
-- Name: journal_entry_ids; Type: SEQUENCE; Schema: points; Owner: points_owner
--

CREATE SEQUENCE points.journal_entry_ids
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE points.journal_entry_ids OWNER TO points_owner;

--
-- Name: journal_entries; Type: TABLE; Schema: points; Owner: points_owner
--

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
    backdated boolean DEFAULT false NOT NULL
);


ALTER TABLE points.journal_entries OWNER TO points_owner;

--
-- Name: lot_allocations; Type: TABLE; Schema: points; Owner: points_owner
--

CREATE TABLE points.lot_allocations (
    program_id integer NOT NULL,
    member_id text NOT NULL COLLATE pg_catalog."C",
    entry_id bigint NOT NULL,
    lot_id bigint NOT NULL,
    amount points.amount_positive NOT NULL
);


ALTER TABLE points.lot_allocations OWNER TO points_owner;

--
-- Name: lot_ids; Type: SEQUENCE; Schema: points; Owner: points_owner
--

CREATE SEQUENCE points.lot_ids
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE points.lot_ids OWNER TO points_owner;

--
-- Name: lots; Type: TABLE; Schema: points; Owner: points_owner
--

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


ALTER TABLE points.lots OWNER TO points_owner;

--
-- Name: postings; Type: TABLE; Schema: points; Owner: points_owner
--

CREATE TABLE points.postings (
    program_id integer NOT NULL,
    member_id text NOT NULL COLLATE pg_catalog."C",
    entry_id bigint NOT NULL,
    account points.account NOT NULL,
    amount points.amount_not_zero NOT NULL,
    occurred_at timestamp with time zone NOT NULL
);


ALTER TABLE points.postings OWNER TO points_owner;

--
-- Name: programs_program_id_seq; Type: SEQUENCE; Schema: points; Owner: points_owner
--

ALTER TABLE points.programs ALTER COLUMN program_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME points.programs_program_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: purchases; Type: TABLE; Schema: points; Owner: points_owner
--

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
    CONSTRAINT purchase_within_order CHECK ((((points_paid_minor)::bigint <= (amount_minor)::bigint) AND ((refunded_minor)::bigint <= (amount_minor)::bigint) AND ((pending_points)::bigint <= (points)::bigint) AND ((clawed_back)::bigint <= (points)::bigint)))
)
WITH (fillfactor='90');


ALTER TABLE points.purchases OWNER TO points_owner;

--
-- Name: qualifying_totals; Type: TABLE; Schema: points; Owner: points_owner
--

CREATE TABLE points.qualifying_totals (
    program_id integer NOT NULL,
    member_id text NOT NULL COLLATE pg_catalog."C",
    period_start date NOT NULL,
    points points.amount_not_negative NOT NULL,
    spend_minor points.amount_not_negative NOT NULL
)
WITH (fillfactor='80');


ALTER TABLE points.qualifying_totals OWNER TO points_owner;

--
-- Name: redemptions; Type: TABLE; Schema: points; Owner: points_owner
--

CREATE TABLE points.redemptions (
    program_id integer NOT NULL,
    member_id text NOT NULL COLLATE pg_catalog."C",
    entry_id bigint NOT NULL,
    reward text COLLATE pg_catalog."C",
    quantity integer,
    points points.amount_positive NOT NULL,
    reason points.label_text
);


ALTER TABLE points.redemptions OWNER TO points_owner;

--
-- Name: rewards; Type: TABLE; Schema: points; Owner: points_owner
--

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


ALTER TABLE points.rewards OWNER TO points_owner;

--
-- Name: task_completions; Type: TABLE; Schema: points; Owner: points_owner
--

CREATE TABLE points.task_completions (
    program_id integer NOT NULL,
    member_id text NOT NULL COLLATE pg_catalog."C",
    task text NOT NULL COLLATE pg_catalog."C",
    local_day date NOT NULL,
    entry_id bigint NOT NULL,
    points points.amount_not_negative NOT NULL,
    streak_bonus points.amount_not_negative NOT NULL,
    streak points.amount_positive,
    capped_by points.cap_period
);


ALTER TABLE points.task_completions OWNER TO points_owner;

--
-- Name: task_settings; Type: TABLE; Schema: points; Owner: points_owner
--

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


ALTER TABLE points.task_settings OWNER TO points_owner;

--
-- Name: tier_changes; Type: TABLE; Schema: points; Owner: points_owner
--

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


ALTER TABLE points.tier_changes OWNER TO points_owner;

--
-- Name: tier_changes_change_id_seq; Type: SEQUENCE; Schema: points; Owner: points_owner
--

ALTER TABLE points.tier_changes ALTER COLUMN change_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME points.tier_changes_change_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: tier_evaluation_counts; Type: TABLE; Schema: points; Owner: points_owner
--

CREATE TABLE points.tier_evaluation_counts (
    program_id integer NOT NULL,
    period_start date NOT NULL,
    from_tier text NOT NULL,
    to_tier text NOT NULL,
    members bigint NOT NULL
);


ALTER TABLE points.tier_evaluation_counts OWNER TO points_owner;

--
-- Name: tier_evaluations; Type: TABLE; Schema: points; Owner: points_owner
--

CREATE TABLE points.tier_evaluations (
    program_id integer NOT NULL,
    period_start date NOT NULL,
    period_kind text NOT NULL,
    period_end timestamp with time zone NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    cursor text COLLATE pg_catalog."C"
);


ALTER TABLE points.tier_evaluations OWNER TO points_owner;

--
-- Name: tier_grants; Type: TABLE; Schema: points; Owner: points_owner
--

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


ALTER TABLE points.tier_grants OWNER TO points_owner;

--
-- Name: tier_grants_grant_id_seq; Type: SEQUENCE; Schema: points; Owner: points_owner
--

ALTER TABLE points.tier_grants ALTER COLUMN grant_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME points.tier_grants_grant_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: tier_settings; Type: TABLE; Schema: points; Owner: points_owner
--

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


ALTER TABLE points.tier_settings OWNER TO points_owner;

--
-- Name: tiers; Type: TABLE; Schema: points; Owner: points_owner
--

CREATE TABLE points.tiers (
    program_id integer NOT NULL,
    tier text NOT NULL,
    rank smallint NOT NULL,
    CONSTRAINT tier_name_format CHECK ((tier ~ '^[a-z][a-z0-9_-]{0,31}$'::text)),
    CONSTRAINT tiers_rank_check CHECK ((rank >= 0))
);


ALTER TABLE points.tiers OWNER TO points_owner;

--
-- Name: function_modules; Type: TABLE; Schema: points_meta; Owner: postgres
--

CREATE TABLE points_meta.function_modules (
    only_row boolean DEFAULT true NOT NULL,
    modules integer NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL,
    applied_by text DEFAULT SESSION_USER NOT NULL,
    CONSTRAINT function_modules_only_row_check CHECK (only_row)
);


ALTER TABLE points_meta.function_modules OWNER TO postgres;

--
-- Name: roles; Type: TABLE; Schema: points_meta; Owner: postgres
--

CREATE TABLE points_meta.roles (
    only_row boolean DEFAULT true NOT NULL,
    owner_role text NOT NULL,
    writer_role text NOT NULL,
    auditor_role text NOT NULL,
    CONSTRAINT roles_only_row_check CHECK (only_row)
);


ALTER TABLE points_meta.roles OWNER TO postgres;

--
-- Name: schema_migrations; Type: TABLE; Schema: points_meta; Owner: postgres
--

CREATE TABLE points_meta.schema_migrations (
    version integer NOT NULL,
    file_name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL,
    applied_by text DEFAULT SESSION_USER NOT NULL
);


ALTER TABLE points_meta.schema_migrations OWNER TO postgres;

--
-- Data for Name: configuration_changes; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.configuration_changes (change_id, program_id, subject, actor, changed_at, effective_at, before, after) OVERRIDING SYSTEM VALUE VALUES (1, 1, 'program', 'fixture', '2026-12-03 16:52:32.004092+00', '2026-12-03 16:52:32.004092+00', NULL, '{"name": "default", "tiers": ["ordinary", "advanced", "premium"], "currency": "CNY", "time_zone": "Asia/Shanghai"}');
INSERT INTO points.configuration_changes (change_id, program_id, subject, actor, changed_at, effective_at, before, after) OVERRIDING SYSTEM VALUE VALUES (2, 1, 'settings', 'fixture', '2026-12-03 16:52:32.188256+00', '2025-12-31 16:00:00+00', '{"rounding": "down", "downgrade": "one_level", "earn_rate": 1, "expiry_kind": "never", "point_value": 0.01, "tier_period": "year", "expiry_count": null, "backdate_days": 7, "refund_policy": "negative", "referral_bonus": 0, "return_window_days": 0}', '{"rounding": "down", "downgrade": "one_level", "earn_rate": 1, "expiry_kind": "days", "point_value": 0.01, "tier_period": "year", "expiry_count": 30, "backdate_days": 7, "refund_policy": "write_off", "referral_bonus": 50, "return_window_days": 7}');
INSERT INTO points.configuration_changes (change_id, program_id, subject, actor, changed_at, effective_at, before, after) OVERRIDING SYSTEM VALUE VALUES (3, 1, 'task quiz', 'fixture', '2026-12-03 16:52:33.3398+00', '2026-12-03 16:52:33.3398+00', NULL, '{"active": true, "points": 15, "cap_day": 1, "cap_week": null, "cap_month": null, "qualifying": false, "streak_days": [], "streak_cycle": null, "streak_points": [], "tier_multiplier": false}');
INSERT INTO points.configuration_changes (change_id, program_id, subject, actor, changed_at, effective_at, before, after) OVERRIDING SYSTEM VALUE VALUES (4, 1, 'reward mug', 'fixture', '2026-12-03 16:52:33.504342+00', '2026-12-03 16:52:33.504342+00', '{"cost": null, "name": null, "stock": null, "min_tier": null, "active_from": null, "active_until": null, "limit_per_member": null}', '{"cost": 120, "name": "Coffee mug", "stock": 5, "min_tier": null, "active_from": null, "active_until": null, "limit_per_member": null}');


--
-- Data for Name: currencies; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.currencies (currency, exponent) VALUES ('AED', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('ARS', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('AUD', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('BDT', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('BHD', 3);
INSERT INTO points.currencies (currency, exponent) VALUES ('BRL', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('CAD', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('CHF', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('CLP', 0);
INSERT INTO points.currencies (currency, exponent) VALUES ('CNY', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('COP', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('CZK', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('DKK', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('EGP', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('EUR', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('GBP', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('HKD', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('HUF', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('IDR', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('ILS', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('INR', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('ISK', 0);
INSERT INTO points.currencies (currency, exponent) VALUES ('JOD', 3);
INSERT INTO points.currencies (currency, exponent) VALUES ('JPY', 0);
INSERT INTO points.currencies (currency, exponent) VALUES ('KES', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('KHR', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('KRW', 0);
INSERT INTO points.currencies (currency, exponent) VALUES ('KWD', 3);
INSERT INTO points.currencies (currency, exponent) VALUES ('KZT', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('LAK', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('LKR', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('MMK', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('MNT', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('MOP', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('MXN', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('MYR', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('NGN', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('NOK', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('NPR', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('NZD', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('OMR', 3);
INSERT INTO points.currencies (currency, exponent) VALUES ('PEN', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('PHP', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('PKR', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('PLN', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('QAR', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('RON', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('RUB', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('SAR', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('SEK', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('SGD', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('THB', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('TND', 3);
INSERT INTO points.currencies (currency, exponent) VALUES ('TRY', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('TWD', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('UAH', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('UGX', 0);
INSERT INTO points.currencies (currency, exponent) VALUES ('USD', 2);
INSERT INTO points.currencies (currency, exponent) VALUES ('VND', 0);
INSERT INTO points.currencies (currency, exponent) VALUES ('XAF', 0);
INSERT INTO points.currencies (currency, exponent) VALUES ('XOF', 0);
INSERT INTO points.currencies (currency, exponent) VALUES ('ZAR', 2);


--
-- Data for Name: holds; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.holds (program_id, member_id, hold_id, hold_key, points, created_at, expires_at, state, captured, resolved_at, entry_id) OVERRIDING SYSTEM VALUE VALUES (1, 'alice', 1, 'hold-1', 100, '2026-12-03 16:52:33.687509+00', '2026-12-04 16:52:33.687509+00', 'captured', 60, '2026-12-03 16:52:33.772689+00', 12);
INSERT INTO points.holds (program_id, member_id, hold_id, hold_key, points, created_at, expires_at, state, captured, resolved_at, entry_id) OVERRIDING SYSTEM VALUE VALUES (1, 'alice', 2, 'hold-2', 50, '2026-12-03 16:52:33.862579+00', '2026-12-04 16:52:33.862579+00', 'voided', NULL, '2026-12-03 16:52:33.950174+00', NULL);


--
-- Data for Name: import_staging; Type: TABLE DATA; Schema: points; Owner: points_owner
--



--
-- Data for Name: journal_blocks; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.journal_blocks (program_id, block_no, after_entry_id, last_entry_id, entries, postings, previous_hash, block_hash, sealed_at, sealed_by) VALUES (1, 1, 0, 14, 14, 29, '\x3e010f797a4a42fd95be14d55a37b8ddc7235dee6d9dd58ba61113cd292b80c6', '\x58f61f586e8dfe9f1e5261736fded55d3f9b2558a68fe098b1243172fc202270', '2026-12-03 16:52:34.179862+00', 'postgres');


--
-- Data for Name: journal_entries; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, recorded_at, backdated) VALUES (1, 'bob', 1, 'purchase', 'purchase', 'A-1', '{"order": "A-1", "member": "bob", "occurred_at": "2026-02-01T02:00:00", "amount_minor": 30000, "points_paid_minor": 0}', '2026-02-01 02:00:00+00', '2026-12-03 16:52:32.541336+00', true);
INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, recorded_at, backdated) VALUES (1, 'alice', 2, 'referral', 'referral', 'bob', '{"order": "A-1", "member": "bob", "points": 50, "referrer": "alice"}', '2026-02-01 02:00:00+00', '2026-12-03 16:52:32.541336+00', true);
INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, recorded_at, backdated) VALUES (1, 'bob', 3, 'purchase', 'purchase', 'A-2', '{"order": "A-2", "member": "bob", "occurred_at": "2026-02-20T02:00:00", "amount_minor": 10000, "points_paid_minor": 0}', '2026-02-20 02:00:00+00', '2026-12-03 16:52:32.656429+00', true);
INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, recorded_at, backdated) VALUES (1, 'bob', 4, 'maturation', 'maturation', 'A-1', '{"order": "A-1", "points": 300}', '2026-02-08 02:00:00+00', '2026-12-03 16:52:32.755431+00', false);
INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, recorded_at, backdated) VALUES (1, 'bob', 5, 'adjustment.deduct', 'adjustment', 'gift-bob-1', '{"actor": "fixture", "member": "bob", "points": -250, "reason": "gift card"}', '2026-12-03 16:52:32.87223+00', '2026-12-03 16:52:32.87223+00', false);
INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, recorded_at, backdated) VALUES (1, 'bob', 6, 'refund', 'refund', 'R-1', '{"order": "A-1", "refund": "R-1", "amount_minor": 30000}', '2026-12-03 16:52:32.975665+00', '2026-12-03 16:52:32.975665+00', false);
INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, recorded_at, backdated) VALUES (1, 'alice', 7, 'adjustment.grant', 'adjustment', 'welcome-alice', '{"actor": "fixture", "member": "alice", "points": 500, "reason": "welcome bonus"}', '2026-12-03 16:52:33.070711+00', '2026-12-03 16:52:33.070711+00', false);
INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, recorded_at, backdated) VALUES (1, 'carol', 8, 'adjustment.grant', 'adjustment', 'open-carol', '{"actor": "fixture", "member": "carol", "points": 80, "reason": "opening balance"}', '2026-12-03 16:52:33.161277+00', '2026-12-03 16:52:33.161277+00', false);
INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, recorded_at, backdated) VALUES (1, 'alice', 9, 'task', 'task', 'checkin:alice:2026-12-04', '{"ref": "2026-12-04", "task": "checkin", "member": "alice"}', '2026-12-03 16:52:33.23753+00', '2026-12-03 16:52:33.23753+00', false);
INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, recorded_at, backdated) VALUES (1, 'alice', 10, 'task', 'task', 'quiz:quiz-1', '{"ref": "quiz-1", "task": "quiz", "member": "alice"}', '2026-12-03 16:52:33.415652+00', '2026-12-03 16:52:33.415652+00', false);
INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, recorded_at, backdated) VALUES (1, 'alice', 11, 'redemption', 'redemption', 'redeem-alice-1', '{"member": "alice", "reward": "mug", "quantity": 1}', '2026-12-03 16:52:33.587636+00', '2026-12-03 16:52:33.587636+00', false);
INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, recorded_at, backdated) VALUES (1, 'alice', 12, 'capture', 'capture', '1', '{"key": "hold-1", "hold": 1, "points": 60}', '2026-12-03 16:52:33.772689+00', '2026-12-03 16:52:33.772689+00', false);
INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, recorded_at, backdated) VALUES (1, 'bob', 13, 'maturation', 'maturation', 'A-2', '{"order": "A-2", "points": 100}', '2026-02-27 02:00:00+00', '2026-12-03 16:52:34.023763+00', false);
INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, recorded_at, backdated) VALUES (1, 'bob', 14, 'expiry', 'expiry', 'bob/7', '{"points": 100, "expires_at": "2026-03-29T16:00:00+00:00"}', '2026-03-29 16:00:00+00', '2026-12-03 16:52:34.10318+00', false);
INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at, recorded_at, backdated) VALUES (1, 'carol', 15, 'purchase', 'purchase', 'C-1', '{"order": "C-1", "member": "carol", "amount_minor": 2000, "points_paid_minor": 0}', '2026-12-03 16:52:34.26212+00', '2026-12-03 16:52:34.26212+00', false);


--
-- Data for Name: lot_allocations; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.lot_allocations (program_id, member_id, entry_id, lot_id, amount) VALUES (1, 'bob', 5, 2, 250);
INSERT INTO points.lot_allocations (program_id, member_id, entry_id, lot_id, amount) VALUES (1, 'bob', 6, 2, 50);
INSERT INTO points.lot_allocations (program_id, member_id, entry_id, lot_id, amount) VALUES (1, 'alice', 11, 1, 50);
INSERT INTO points.lot_allocations (program_id, member_id, entry_id, lot_id, amount) VALUES (1, 'alice', 11, 3, 70);
INSERT INTO points.lot_allocations (program_id, member_id, entry_id, lot_id, amount) VALUES (1, 'alice', 12, 3, 60);


--
-- Data for Name: lots; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.lots (program_id, member_id, lot_id, entry_id, earned_at, expires_at, amount, remaining, expired_amount, expired_entry_id) VALUES (1, 'bob', 2, 4, '2026-02-08 02:00:00+00', '2026-03-10 16:00:00+00', 300, 0, 0, NULL);
INSERT INTO points.lots (program_id, member_id, lot_id, entry_id, earned_at, expires_at, amount, remaining, expired_amount, expired_entry_id) VALUES (1, 'carol', 4, 8, '2026-12-03 16:52:33.161277+00', '2027-01-03 16:00:00+00', 80, 80, 0, NULL);
INSERT INTO points.lots (program_id, member_id, lot_id, entry_id, earned_at, expires_at, amount, remaining, expired_amount, expired_entry_id) VALUES (1, 'alice', 5, 9, '2026-12-03 16:52:33.23753+00', '2027-01-03 16:00:00+00', 5, 5, 0, NULL);
INSERT INTO points.lots (program_id, member_id, lot_id, entry_id, earned_at, expires_at, amount, remaining, expired_amount, expired_entry_id) VALUES (1, 'alice', 6, 10, '2026-12-03 16:52:33.415652+00', '2027-01-03 16:00:00+00', 15, 15, 0, NULL);
INSERT INTO points.lots (program_id, member_id, lot_id, entry_id, earned_at, expires_at, amount, remaining, expired_amount, expired_entry_id) VALUES (1, 'alice', 1, 2, '2026-02-01 02:00:00+00', '2026-03-03 16:00:00+00', 50, 0, 0, NULL);
INSERT INTO points.lots (program_id, member_id, lot_id, entry_id, earned_at, expires_at, amount, remaining, expired_amount, expired_entry_id) VALUES (1, 'alice', 3, 7, '2026-12-03 16:52:33.070711+00', '2027-01-03 16:00:00+00', 500, 370, 0, NULL);
INSERT INTO points.lots (program_id, member_id, lot_id, entry_id, earned_at, expires_at, amount, remaining, expired_amount, expired_entry_id) VALUES (1, 'bob', 7, 13, '2026-02-27 02:00:00+00', '2026-03-29 16:00:00+00', 100, 0, 100, 14);


--
-- Data for Name: members; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.members (program_id, member_id, tier, created_at, available, pending, held, issued, redeemed, expired, written_off, adjustments, referrer, first_purchase_at, birthday, tier_reached_period, tier_before_upgrade, granted_until, override_until, override_previous, q_period, q_points, q_spend) VALUES (1, 'alice', 'ordinary', '2026-12-03 16:52:32.279017+00', 390, 0, 0, -70, 180, 0, 0, -500, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0);
INSERT INTO points.members (program_id, member_id, tier, created_at, available, pending, held, issued, redeemed, expired, written_off, adjustments, referrer, first_purchase_at, birthday, tier_reached_period, tier_before_upgrade, granted_until, override_until, override_previous, q_period, q_points, q_spend) VALUES (1, 'bob', 'ordinary', '2026-12-03 16:52:32.363829+00', 0, 0, 0, -100, 0, 100, -250, 250, 'alice', '2026-02-01 02:00:00+00', NULL, NULL, NULL, NULL, NULL, NULL, '2026-01-01', 100, 10000);
INSERT INTO points.members (program_id, member_id, tier, created_at, available, pending, held, issued, redeemed, expired, written_off, adjustments, referrer, first_purchase_at, birthday, tier_reached_period, tier_before_upgrade, granted_until, override_until, override_previous, q_period, q_points, q_spend) VALUES (1, 'carol', 'ordinary', '2026-12-03 16:52:32.452123+00', 80, 20, 0, -20, 0, 0, 0, -80, NULL, '2026-12-03 16:52:34.26212+00', NULL, NULL, NULL, NULL, NULL, NULL, '2026-01-01', 20, 2000);


--
-- Data for Name: postings; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'bob', 1, 'pending', 300, '2026-02-01 02:00:00+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'bob', 1, 'issued', -300, '2026-02-01 02:00:00+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'alice', 2, 'available', 50, '2026-02-01 02:00:00+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'alice', 2, 'issued', -50, '2026-02-01 02:00:00+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'bob', 3, 'pending', 100, '2026-02-20 02:00:00+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'bob', 3, 'issued', -100, '2026-02-20 02:00:00+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'bob', 4, 'pending', -300, '2026-02-08 02:00:00+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'bob', 4, 'available', 300, '2026-02-08 02:00:00+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'bob', 5, 'available', -250, '2026-12-03 16:52:32.87223+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'bob', 5, 'adjustments', 250, '2026-12-03 16:52:32.87223+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'bob', 6, 'available', -50, '2026-12-03 16:52:32.975665+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'bob', 6, 'written_off', -250, '2026-12-03 16:52:32.975665+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'bob', 6, 'issued', 300, '2026-12-03 16:52:32.975665+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'alice', 7, 'available', 500, '2026-12-03 16:52:33.070711+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'alice', 7, 'adjustments', -500, '2026-12-03 16:52:33.070711+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'carol', 8, 'available', 80, '2026-12-03 16:52:33.161277+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'carol', 8, 'adjustments', -80, '2026-12-03 16:52:33.161277+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'alice', 9, 'available', 5, '2026-12-03 16:52:33.23753+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'alice', 9, 'issued', -5, '2026-12-03 16:52:33.23753+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'alice', 10, 'available', 15, '2026-12-03 16:52:33.415652+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'alice', 10, 'issued', -15, '2026-12-03 16:52:33.415652+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'alice', 11, 'available', -120, '2026-12-03 16:52:33.587636+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'alice', 11, 'redeemed', 120, '2026-12-03 16:52:33.587636+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'alice', 12, 'available', -60, '2026-12-03 16:52:33.772689+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'alice', 12, 'redeemed', 60, '2026-12-03 16:52:33.772689+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'bob', 13, 'pending', -100, '2026-02-27 02:00:00+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'bob', 13, 'available', 100, '2026-02-27 02:00:00+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'bob', 14, 'available', -100, '2026-03-29 16:00:00+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'bob', 14, 'expired', 100, '2026-03-29 16:00:00+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'carol', 15, 'pending', 20, '2026-12-03 16:52:34.26212+00');
INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at) VALUES (1, 'carol', 15, 'issued', -20, '2026-12-03 16:52:34.26212+00');


--
-- Data for Name: program_settings; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.program_settings (program_id, effective_at, earn_rate, rounding, return_window_days, refund_policy, expiry_kind, expiry_count, referral_bonus, backdate_days, tier_period, downgrade, point_value) VALUES (1, '-infinity', 1, 'down', 0, 'negative', 'never', NULL, 0, 7, 'year', 'one_level', 0.01);
INSERT INTO points.program_settings (program_id, effective_at, earn_rate, rounding, return_window_days, refund_policy, expiry_kind, expiry_count, referral_bonus, backdate_days, tier_period, downgrade, point_value) VALUES (1, '2025-12-31 16:00:00+00', 1, 'down', 7, 'write_off', 'days', 30, 50, 7, 'year', 'one_level', 0.01);


--
-- Data for Name: programs; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.programs (program_id, name, currency, time_zone, created_at, created_by, tiers_closed_until, ladder_since, ladder_tiers, ladder_points, ladder_spend, ladder_multipliers) OVERRIDING SYSTEM VALUE VALUES (1, 'default', 'CNY', 'Asia/Shanghai', '2026-12-03 16:52:32.004092+00', 'fixture', NULL, '-infinity', '{ordinary,advanced,premium}', '{0,1000,5000}', '{NULL,NULL,NULL}', '{1,1,1}');


--
-- Data for Name: purchases; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.purchases (program_id, member_id, order_id, entry_id, occurred_at, amount_minor, points_paid_minor, points, pending_points, matures_at, matured_entry_id, refunded_minor, clawed_back) VALUES (1, 'bob', 'A-1', 1, '2026-02-01 02:00:00+00', 30000, 0, 300, 0, '2026-02-08 02:00:00+00', 4, 30000, 300);
INSERT INTO points.purchases (program_id, member_id, order_id, entry_id, occurred_at, amount_minor, points_paid_minor, points, pending_points, matures_at, matured_entry_id, refunded_minor, clawed_back) VALUES (1, 'bob', 'A-2', 3, '2026-02-20 02:00:00+00', 10000, 0, 100, 0, '2026-02-27 02:00:00+00', 13, 0, 0);
INSERT INTO points.purchases (program_id, member_id, order_id, entry_id, occurred_at, amount_minor, points_paid_minor, points, pending_points, matures_at, matured_entry_id, refunded_minor, clawed_back) VALUES (1, 'carol', 'C-1', 15, '2026-12-03 16:52:34.26212+00', 2000, 0, 20, 20, '2026-12-10 16:52:34.26212+00', NULL, 0, 0);


--
-- Data for Name: qualifying_totals; Type: TABLE DATA; Schema: points; Owner: points_owner
--



--
-- Data for Name: redemptions; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.redemptions (program_id, member_id, entry_id, reward, quantity, points, reason) VALUES (1, 'alice', 11, 'mug', 1, 120, NULL);


--
-- Data for Name: rewards; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.rewards (program_id, reward, name, cost, stock, min_tier, limit_per_member, active_from, active_until) VALUES (1, 'mug', 'Coffee mug', 120, 4, NULL, NULL, NULL, NULL);


--
-- Data for Name: task_completions; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.task_completions (program_id, member_id, task, local_day, entry_id, points, streak_bonus, streak, capped_by) VALUES (1, 'alice', 'checkin', '2026-12-04', 9, 5, 0, 1, NULL);
INSERT INTO points.task_completions (program_id, member_id, task, local_day, entry_id, points, streak_bonus, streak, capped_by) VALUES (1, 'alice', 'quiz', '2026-12-04', 10, 15, 0, NULL, NULL);


--
-- Data for Name: task_settings; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.task_settings (program_id, task, effective_at, points, cap_day, cap_week, cap_month, qualifying, active, streak_days, streak_points, streak_cycle, tier_multiplier) VALUES (1, 'checkin', '-infinity', 5, NULL, NULL, NULL, false, true, '{7}', '{20}', 7, false);
INSERT INTO points.task_settings (program_id, task, effective_at, points, cap_day, cap_week, cap_month, qualifying, active, streak_days, streak_points, streak_cycle, tier_multiplier) VALUES (1, 'post', '-infinity', 10, 3, NULL, NULL, false, true, '{}', '{}', NULL, false);
INSERT INTO points.task_settings (program_id, task, effective_at, points, cap_day, cap_week, cap_month, qualifying, active, streak_days, streak_points, streak_cycle, tier_multiplier) VALUES (1, 'share', '-infinity', 5, 3, NULL, NULL, false, true, '{}', '{}', NULL, false);
INSERT INTO points.task_settings (program_id, task, effective_at, points, cap_day, cap_week, cap_month, qualifying, active, streak_days, streak_points, streak_cycle, tier_multiplier) VALUES (1, 'quiz', '2026-12-03 16:52:33.3398+00', 15, 1, NULL, NULL, false, true, '{}', '{}', NULL, false);


--
-- Data for Name: tier_changes; Type: TABLE DATA; Schema: points; Owner: points_owner
--



--
-- Data for Name: tier_evaluation_counts; Type: TABLE DATA; Schema: points; Owner: points_owner
--



--
-- Data for Name: tier_evaluations; Type: TABLE DATA; Schema: points; Owner: points_owner
--



--
-- Data for Name: tier_grants; Type: TABLE DATA; Schema: points; Owner: points_owner
--



--
-- Data for Name: tier_settings; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.tier_settings (program_id, tier, effective_at, birthday_bonus, entry_points, entry_spend_minor, retain_points, retain_spend_minor, multiplier) VALUES (1, 'ordinary', '-infinity', 0, 0, NULL, NULL, NULL, 1);
INSERT INTO points.tier_settings (program_id, tier, effective_at, birthday_bonus, entry_points, entry_spend_minor, retain_points, retain_spend_minor, multiplier) VALUES (1, 'advanced', '-infinity', 0, 1000, NULL, NULL, NULL, 1);
INSERT INTO points.tier_settings (program_id, tier, effective_at, birthday_bonus, entry_points, entry_spend_minor, retain_points, retain_spend_minor, multiplier) VALUES (1, 'premium', '-infinity', 0, 5000, NULL, NULL, NULL, 1);


--
-- Data for Name: tiers; Type: TABLE DATA; Schema: points; Owner: points_owner
--

INSERT INTO points.tiers (program_id, tier, rank) VALUES (1, 'ordinary', 0);
INSERT INTO points.tiers (program_id, tier, rank) VALUES (1, 'advanced', 1);
INSERT INTO points.tiers (program_id, tier, rank) VALUES (1, 'premium', 2);


--
-- Data for Name: function_modules; Type: TABLE DATA; Schema: points_meta; Owner: postgres
--

INSERT INTO points_meta.function_modules (only_row, modules, checksum, applied_at, applied_by) VALUES (true, 40, 'fd39f99c1c1bbe9b9d6d4164207178cc6b24b0b27244ddabbbc1c0b0216489c3', '2026-12-03 16:52:31.554428+00', 'postgres');


--
-- Data for Name: roles; Type: TABLE DATA; Schema: points_meta; Owner: postgres
--

INSERT INTO points_meta.roles (only_row, owner_role, writer_role, auditor_role) VALUES (true, 'points_owner', 'points_writer', 'points_auditor');


--
-- Data for Name: schema_migrations; Type: TABLE DATA; Schema: points_meta; Owner: postgres
--

INSERT INTO points_meta.schema_migrations (version, file_name, checksum, applied_at, applied_by) VALUES (1, '0001_baseline.sql', 'd68d6b03250bdd3a0a6e3ce709c4954e7f70f85016d6e6e2a74dadde6befeaf8', '2026-12-03 16:52:31.554428+00', 'postgres');
INSERT INTO points_meta.schema_migrations (version, file_name, checksum, applied_at, applied_by) VALUES (2, '0002_staged_rows_belong_to_their_transaction.sql', '3d95fb9c7b46ac9a7482e3b3e52b9e8eeebf1515e6e5a158912371ab07b63bb7', '2026-12-03 16:52:31.554428+00', 'postgres');
INSERT INTO points_meta.schema_migrations (version, file_name, checksum, applied_at, applied_by) VALUES (3, '0003_statuses_are_closed_sets.sql', '204f3379d2ad1e80710fe597e1592c2efac60720378ef724ae78cdfabf80e2e8', '2026-12-03 16:52:31.554428+00', 'postgres');


--
-- Name: configuration_changes_change_id_seq; Type: SEQUENCE SET; Schema: points; Owner: points_owner
--

SELECT pg_catalog.setval('points.configuration_changes_change_id_seq', 4, true);


--
-- Name: holds_hold_id_seq; Type: SEQUENCE SET; Schema: points; Owner: points_owner
--

SELECT pg_catalog.setval('points.holds_hold_id_seq', 2, true);


--
-- Name: import_batch_ids; Type: SEQUENCE SET; Schema: points; Owner: points_owner
--

SELECT pg_catalog.setval('points.import_batch_ids', 1, false);


--
-- Name: journal_entry_ids; Type: SEQUENCE SET; Schema: points; Owner: points_owner
--

SELECT pg_catalog.setval('points.journal_entry_ids', 15, true);


--
-- Name: lot_ids; Type: SEQUENCE SET; Schema: points; Owner: points_owner
--

SELECT pg_catalog.setval('points.lot_ids', 7, true);


--
-- Name: programs_program_id_seq; Type: SEQUENCE SET; Schema: points; Owner: points_owner
--

SELECT pg_catalog.setval('points.programs_program_id_seq', 1, true);


--
-- Name: tier_changes_change_id_seq; Type: SEQUENCE SET; Schema: points; Owner: points_owner
--

SELECT pg_catalog.setval('points.tier_changes_change_id_seq', 1, false);


--
-- Name: tier_grants_grant_id_seq; Type: SEQUENCE SET; Schema: points; Owner: points_owner
--

SELECT pg_catalog.setval('points.tier_grants_grant_id_seq', 1, false);


--
-- Name: configuration_changes configuration_changes_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.configuration_changes
    ADD CONSTRAINT configuration_changes_pkey PRIMARY KEY (change_id);


--
-- Name: currencies currencies_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.currencies
    ADD CONSTRAINT currencies_pkey PRIMARY KEY (currency);


--
-- Name: tier_grants grant_key_unique; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.tier_grants
    ADD CONSTRAINT grant_key_unique UNIQUE (program_id, grant_key);


--
-- Name: tier_grants grant_once; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.tier_grants
    ADD CONSTRAINT grant_once UNIQUE (program_id, member_id, tier, term, starts_at);


--
-- Name: holds hold_key_unique; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.holds
    ADD CONSTRAINT hold_key_unique UNIQUE (program_id, hold_key);


--
-- Name: holds holds_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.holds
    ADD CONSTRAINT holds_pkey PRIMARY KEY (program_id, member_id, hold_id);


--
-- Name: journal_entries idempotency_key_unique; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.journal_entries
    ADD CONSTRAINT idempotency_key_unique UNIQUE (program_id, key_scope, idempotency_key);


--
-- Name: journal_blocks journal_blocks_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.journal_blocks
    ADD CONSTRAINT journal_blocks_pkey PRIMARY KEY (program_id, block_no);


--
-- Name: journal_entries journal_entries_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.journal_entries
    ADD CONSTRAINT journal_entries_pkey PRIMARY KEY (program_id, member_id, entry_id);


--
-- Name: lot_allocations lot_allocations_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.lot_allocations
    ADD CONSTRAINT lot_allocations_pkey PRIMARY KEY (program_id, member_id, entry_id, lot_id);


--
-- Name: lots lots_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.lots
    ADD CONSTRAINT lots_pkey PRIMARY KEY (program_id, member_id, lot_id);


--
-- Name: members members_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.members
    ADD CONSTRAINT members_pkey PRIMARY KEY (program_id, member_id);


--
-- Name: postings postings_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.postings
    ADD CONSTRAINT postings_pkey PRIMARY KEY (program_id, member_id, entry_id, account);


--
-- Name: program_settings program_settings_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.program_settings
    ADD CONSTRAINT program_settings_pkey PRIMARY KEY (program_id, effective_at);


--
-- Name: programs programs_name_key; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.programs
    ADD CONSTRAINT programs_name_key UNIQUE (name);


--
-- Name: programs programs_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.programs
    ADD CONSTRAINT programs_pkey PRIMARY KEY (program_id);


--
-- Name: purchases purchases_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.purchases
    ADD CONSTRAINT purchases_pkey PRIMARY KEY (program_id, member_id, order_id);


--
-- Name: qualifying_totals qualifying_totals_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.qualifying_totals
    ADD CONSTRAINT qualifying_totals_pkey PRIMARY KEY (program_id, member_id, period_start);


--
-- Name: redemptions redemptions_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.redemptions
    ADD CONSTRAINT redemptions_pkey PRIMARY KEY (program_id, member_id, entry_id);


--
-- Name: rewards rewards_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.rewards
    ADD CONSTRAINT rewards_pkey PRIMARY KEY (program_id, reward);


--
-- Name: task_completions task_completions_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.task_completions
    ADD CONSTRAINT task_completions_pkey PRIMARY KEY (program_id, member_id, task, local_day, entry_id);


--
-- Name: task_settings task_settings_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.task_settings
    ADD CONSTRAINT task_settings_pkey PRIMARY KEY (program_id, task, effective_at);


--
-- Name: tier_changes tier_changes_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.tier_changes
    ADD CONSTRAINT tier_changes_pkey PRIMARY KEY (program_id, member_id, change_id);


--
-- Name: tier_evaluation_counts tier_evaluation_counts_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.tier_evaluation_counts
    ADD CONSTRAINT tier_evaluation_counts_pkey PRIMARY KEY (program_id, period_start, from_tier, to_tier);


--
-- Name: tier_evaluations tier_evaluations_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.tier_evaluations
    ADD CONSTRAINT tier_evaluations_pkey PRIMARY KEY (program_id, period_start);


--
-- Name: tier_grants tier_grants_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.tier_grants
    ADD CONSTRAINT tier_grants_pkey PRIMARY KEY (program_id, member_id, grant_id);


--
-- Name: tier_settings tier_settings_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.tier_settings
    ADD CONSTRAINT tier_settings_pkey PRIMARY KEY (program_id, tier, effective_at);


--
-- Name: tiers tiers_pkey; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.tiers
    ADD CONSTRAINT tiers_pkey PRIMARY KEY (program_id, tier);


--
-- Name: tiers tiers_program_id_rank_key; Type: CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.tiers
    ADD CONSTRAINT tiers_program_id_rank_key UNIQUE (program_id, rank);


--
-- Name: function_modules function_modules_pkey; Type: CONSTRAINT; Schema: points_meta; Owner: postgres
--

ALTER TABLE ONLY points_meta.function_modules
    ADD CONSTRAINT function_modules_pkey PRIMARY KEY (only_row);


--
-- Name: roles roles_pkey; Type: CONSTRAINT; Schema: points_meta; Owner: postgres
--

ALTER TABLE ONLY points_meta.roles
    ADD CONSTRAINT roles_pkey PRIMARY KEY (only_row);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: points_meta; Owner: postgres
--

ALTER TABLE ONLY points_meta.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: holds_by_id; Type: INDEX; Schema: points; Owner: points_owner
--

CREATE UNIQUE INDEX holds_by_id ON points.holds USING btree (program_id, hold_id);


--
-- Name: holds_expiring; Type: INDEX; Schema: points; Owner: points_owner
--

CREATE INDEX holds_expiring ON points.holds USING btree (program_id, expires_at) WHERE (state = 'open'::points.hold_state);


--
-- Name: import_staging_batch; Type: INDEX; Schema: points; Owner: points_owner
--

CREATE UNIQUE INDEX import_staging_batch ON points.import_staging USING btree (batch_id, line);


--
-- Name: journal_entries_by_id; Type: INDEX; Schema: points; Owner: points_owner
--

CREATE INDEX journal_entries_by_id ON points.journal_entries USING brin (entry_id) WITH (autosummarize='on');


--
-- Name: lots_expiring; Type: INDEX; Schema: points; Owner: points_owner
--

CREATE INDEX lots_expiring ON points.lots USING btree (program_id, expires_at) WHERE (((remaining)::bigint > 0) AND (expires_at IS NOT NULL));


--
-- Name: lots_spending_order; Type: INDEX; Schema: points; Owner: points_owner
--

CREATE INDEX lots_spending_order ON points.lots USING btree (program_id, member_id, expires_at, earned_at, lot_id) WHERE ((remaining)::bigint > 0);


--
-- Name: postings_by_entry; Type: INDEX; Schema: points; Owner: points_owner
--

CREATE INDEX postings_by_entry ON points.postings USING brin (entry_id) WITH (autosummarize='on');


--
-- Name: postings_by_time; Type: INDEX; Schema: points; Owner: points_owner
--

CREATE INDEX postings_by_time ON points.postings USING brin (occurred_at) WITH (autosummarize='on');


--
-- Name: purchases_maturing; Type: INDEX; Schema: points; Owner: points_owner
--

CREATE INDEX purchases_maturing ON points.purchases USING btree (program_id, matures_at) WHERE ((pending_points)::bigint > 0);


--
-- Name: redemptions_of_reward; Type: INDEX; Schema: points; Owner: points_owner
--

CREATE INDEX redemptions_of_reward ON points.redemptions USING btree (program_id, member_id, reward) WHERE (reward IS NOT NULL);


--
-- Name: tier_grants_ending; Type: INDEX; Schema: points; Owner: points_owner
--

CREATE INDEX tier_grants_ending ON points.tier_grants USING btree (program_id, ends_at) WHERE (NOT end_recorded);


--
-- Name: journal_blocks journal_blocks_append_only; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER journal_blocks_append_only BEFORE DELETE OR UPDATE ON points.journal_blocks FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();


--
-- Name: journal_blocks journal_blocks_no_truncate; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER journal_blocks_no_truncate BEFORE TRUNCATE ON points.journal_blocks FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();


--
-- Name: journal_entries journal_entries_append_only; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER journal_entries_append_only BEFORE DELETE OR UPDATE ON points.journal_entries FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();


--
-- Name: journal_entries journal_entries_no_truncate; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON points.journal_entries FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();


--
-- Name: lot_allocations lot_allocations_append_only; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER lot_allocations_append_only BEFORE DELETE OR UPDATE ON points.lot_allocations FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();


--
-- Name: lot_allocations lot_allocations_no_truncate; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER lot_allocations_no_truncate BEFORE TRUNCATE ON points.lot_allocations FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();


--
-- Name: members members_never_deleted; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER members_never_deleted BEFORE DELETE ON points.members FOR EACH ROW EXECUTE FUNCTION points.forbid_member_delete();


--
-- Name: members members_never_truncated; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER members_never_truncated BEFORE TRUNCATE ON points.members FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_member_delete();


--
-- Name: members members_referrer_not_self; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER members_referrer_not_self BEFORE INSERT OR UPDATE OF referrer ON points.members FOR EACH ROW WHEN (((new.referrer)::text = (new.member_id)::text)) EXECUTE FUNCTION points.refuse_self_referral();


--
-- Name: postings postings_append_only; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER postings_append_only BEFORE DELETE OR UPDATE ON points.postings FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();


--
-- Name: postings postings_balance; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER postings_balance AFTER INSERT ON points.postings REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION points.check_entries_balance();


--
-- Name: postings postings_no_truncate; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON points.postings FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();


--
-- Name: programs programs_default_settings; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER programs_default_settings AFTER INSERT ON points.programs FOR EACH ROW EXECUTE FUNCTION points.program_created();


--
-- Name: programs programs_time_zone; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER programs_time_zone BEFORE INSERT OR UPDATE OF time_zone ON points.programs FOR EACH ROW EXECUTE FUNCTION points.check_program_time_zone();


--
-- Name: redemptions redemptions_append_only; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER redemptions_append_only BEFORE DELETE OR UPDATE ON points.redemptions FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();


--
-- Name: redemptions redemptions_no_truncate; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER redemptions_no_truncate BEFORE TRUNCATE ON points.redemptions FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();


--
-- Name: task_completions task_completions_append_only; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER task_completions_append_only BEFORE DELETE OR UPDATE ON points.task_completions FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();


--
-- Name: task_completions task_completions_no_truncate; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER task_completions_no_truncate BEFORE TRUNCATE ON points.task_completions FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();


--
-- Name: tier_changes tier_changes_append_only; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER tier_changes_append_only BEFORE DELETE OR UPDATE ON points.tier_changes FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();


--
-- Name: tier_changes tier_changes_no_truncate; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER tier_changes_no_truncate BEFORE TRUNCATE ON points.tier_changes FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();


--
-- Name: tiers tiers_default_settings; Type: TRIGGER; Schema: points; Owner: points_owner
--

CREATE TRIGGER tiers_default_settings AFTER INSERT ON points.tiers REFERENCING NEW TABLE AS new_tiers FOR EACH STATEMENT EXECUTE FUNCTION points.tiers_created();


--
-- Name: configuration_changes configuration_changes_program_id_fkey; Type: FK CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.configuration_changes
    ADD CONSTRAINT configuration_changes_program_id_fkey FOREIGN KEY (program_id) REFERENCES points.programs(program_id);


--
-- Name: journal_blocks journal_blocks_program_id_fkey; Type: FK CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.journal_blocks
    ADD CONSTRAINT journal_blocks_program_id_fkey FOREIGN KEY (program_id) REFERENCES points.programs(program_id);


--
-- Name: lot_allocations lot_allocations_program_id_member_id_lot_id_fkey; Type: FK CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.lot_allocations
    ADD CONSTRAINT lot_allocations_program_id_member_id_lot_id_fkey FOREIGN KEY (program_id, member_id, lot_id) REFERENCES points.lots(program_id, member_id, lot_id);


--
-- Name: members members_program_id_tier_fkey; Type: FK CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.members
    ADD CONSTRAINT members_program_id_tier_fkey FOREIGN KEY (program_id, tier) REFERENCES points.tiers(program_id, tier);


--
-- Name: members members_referrer_fkey; Type: FK CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.members
    ADD CONSTRAINT members_referrer_fkey FOREIGN KEY (program_id, referrer) REFERENCES points.members(program_id, member_id);


--
-- Name: program_settings program_settings_program_id_fkey; Type: FK CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.program_settings
    ADD CONSTRAINT program_settings_program_id_fkey FOREIGN KEY (program_id) REFERENCES points.programs(program_id);


--
-- Name: programs programs_currency_fkey; Type: FK CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.programs
    ADD CONSTRAINT programs_currency_fkey FOREIGN KEY (currency) REFERENCES points.currencies(currency);


--
-- Name: rewards rewards_program_id_fkey; Type: FK CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.rewards
    ADD CONSTRAINT rewards_program_id_fkey FOREIGN KEY (program_id) REFERENCES points.programs(program_id);


--
-- Name: rewards rewards_program_id_min_tier_fkey; Type: FK CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.rewards
    ADD CONSTRAINT rewards_program_id_min_tier_fkey FOREIGN KEY (program_id, min_tier) REFERENCES points.tiers(program_id, tier);


--
-- Name: task_settings task_settings_program_id_fkey; Type: FK CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.task_settings
    ADD CONSTRAINT task_settings_program_id_fkey FOREIGN KEY (program_id) REFERENCES points.programs(program_id);


--
-- Name: tier_evaluation_counts tier_evaluation_counts_program_id_period_start_fkey; Type: FK CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.tier_evaluation_counts
    ADD CONSTRAINT tier_evaluation_counts_program_id_period_start_fkey FOREIGN KEY (program_id, period_start) REFERENCES points.tier_evaluations(program_id, period_start);


--
-- Name: tier_evaluations tier_evaluations_program_id_fkey; Type: FK CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.tier_evaluations
    ADD CONSTRAINT tier_evaluations_program_id_fkey FOREIGN KEY (program_id) REFERENCES points.programs(program_id);


--
-- Name: tier_grants tier_grants_program_id_tier_fkey; Type: FK CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.tier_grants
    ADD CONSTRAINT tier_grants_program_id_tier_fkey FOREIGN KEY (program_id, tier) REFERENCES points.tiers(program_id, tier);


--
-- Name: tier_settings tier_settings_program_id_tier_fkey; Type: FK CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.tier_settings
    ADD CONSTRAINT tier_settings_program_id_tier_fkey FOREIGN KEY (program_id, tier) REFERENCES points.tiers(program_id, tier);


--
-- Name: tiers tiers_program_id_fkey; Type: FK CONSTRAINT; Schema: points; Owner: points_owner
--

ALTER TABLE ONLY points.tiers
    ADD CONSTRAINT tiers_program_id_fkey FOREIGN KEY (program_id) REFERENCES points.programs(program_id);


--
-- Name: SCHEMA points; Type: ACL; Schema: -; Owner: points_owner
--

GRANT USAGE ON SCHEMA points TO points_writer;
GRANT USAGE ON SCHEMA points TO points_auditor;


--
-- Name: FUNCTION add_default_settings(p_program integer); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.add_default_settings(p_program integer) FROM PUBLIC;


--
-- Name: FUNCTION add_default_tasks(p_program integer); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.add_default_tasks(p_program integer) FROM PUBLIC;


--
-- Name: FUNCTION add_qualifying(p_program integer, p_member text, p_period date, p_points bigint, p_spend_minor bigint, OUT total_points bigint, OUT total_spend bigint); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.add_qualifying(p_program integer, p_member text, p_period date, p_points bigint, p_spend_minor bigint, OUT total_points bigint, OUT total_spend bigint) FROM PUBLIC;


--
-- Name: FUNCTION adjust(p_program integer, p_member points.member_key, p_points bigint, p_reason points.label_text, p_actor points.label_text, p_key points.idempotency_key); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.adjust(p_program integer, p_member points.member_key, p_points bigint, p_reason points.label_text, p_actor points.label_text, p_key points.idempotency_key) FROM PUBLIC;
GRANT ALL ON FUNCTION points.adjust(p_program integer, p_member points.member_key, p_points bigint, p_reason points.label_text, p_actor points.label_text, p_key points.idempotency_key) TO points_writer;


--
-- Name: FUNCTION begin_chunk(p_program integer, p_as_of timestamp with time zone, p_members text[]); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.begin_chunk(p_program integer, p_as_of timestamp with time zone, p_members text[]) FROM PUBLIC;


--
-- Name: FUNCTION begin_configuration_change(p_program integer, p_effective_at timestamp with time zone); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.begin_configuration_change(p_program integer, p_effective_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION birthday_in(p_birthday date, p_year integer); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.birthday_in(p_birthday date, p_year integer) FROM PUBLIC;


--
-- Name: FUNCTION canonical_line(p_entry bigint, p_member text, p_kind points.entry_kind, p_scope points.key_scope, p_key text, p_occurred timestamp with time zone, p_recorded timestamp with time zone, p_request jsonb, p_postings json); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.canonical_line(p_entry bigint, p_member text, p_kind points.entry_kind, p_scope points.key_scope, p_key text, p_occurred timestamp with time zone, p_recorded timestamp with time zone, p_request jsonb, p_postings json) FROM PUBLIC;
GRANT ALL ON FUNCTION points.canonical_line(p_entry bigint, p_member text, p_kind points.entry_kind, p_scope points.key_scope, p_key text, p_occurred timestamp with time zone, p_recorded timestamp with time zone, p_request jsonb, p_postings json) TO points_auditor;


--
-- Name: FUNCTION carry_qualifying(p_program integer, p_member text, p_row_holds_period boolean, p_q_points bigint, p_q_spend bigint, p_carried_period date, p_carried_points bigint, p_carried_spend bigint, OUT total_points bigint, OUT total_spend bigint); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.carry_qualifying(p_program integer, p_member text, p_row_holds_period boolean, p_q_points bigint, p_q_spend bigint, p_carried_period date, p_carried_points bigint, p_carried_spend bigint, OUT total_points bigint, OUT total_spend bigint) FROM PUBLIC;


--
-- Name: FUNCTION check_as_of(p_as_of timestamp with time zone); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.check_as_of(p_as_of timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION check_entries_balance(); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.check_entries_balance() FROM PUBLIC;


--
-- Name: FUNCTION check_occurred_at(p_program integer, p_at timestamp with time zone, p_backdated boolean); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.check_occurred_at(p_program integer, p_at timestamp with time zone, p_backdated boolean) FROM PUBLIC;


--
-- Name: FUNCTION check_program_time_zone(); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.check_program_time_zone() FROM PUBLIC;


--
-- Name: FUNCTION checkin_streak(p_program integer, p_member text, p_day date, p_streak_days integer[], p_streak_points bigint[], p_streak_cycle integer, p_earns boolean, OUT streak integer, OUT bonus bigint); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.checkin_streak(p_program integer, p_member text, p_day date, p_streak_days integer[], p_streak_points bigint[], p_streak_cycle integer, p_earns boolean, OUT streak integer, OUT bonus bigint) FROM PUBLIC;


--
-- Name: FUNCTION complete_task(p_program integer, p_member points.member_key, p_task text, p_ref points.idempotency_key, p_occurred_at points.event_time); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.complete_task(p_program integer, p_member points.member_key, p_task text, p_ref points.idempotency_key, p_occurred_at points.event_time) FROM PUBLIC;
GRANT ALL ON FUNCTION points.complete_task(p_program integer, p_member points.member_key, p_task text, p_ref points.idempotency_key, p_occurred_at points.event_time) TO points_writer;


--
-- Name: FUNCTION completion_not_posted(p_program integer, p_task text, p_key text, p_request jsonb, p_problem points.complete_task_status, p_available bigint, p_day date); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.completion_not_posted(p_program integer, p_task text, p_key text, p_request jsonb, p_problem points.complete_task_status, p_available bigint, p_day date) FROM PUBLIC;


--
-- Name: FUNCTION consume_lots(p_program integer, p_member text, p_entry bigint, p_points bigint); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.consume_lots(p_program integer, p_member text, p_entry bigint, p_points bigint) FROM PUBLIC;


--
-- Name: FUNCTION create_hold(p_program integer, p_member points.member_key, p_points bigint, p_expires_at points.event_time, p_key points.idempotency_key); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.create_hold(p_program integer, p_member points.member_key, p_points bigint, p_expires_at points.event_time, p_key points.idempotency_key) FROM PUBLIC;
GRANT ALL ON FUNCTION points.create_hold(p_program integer, p_member points.member_key, p_points bigint, p_expires_at points.event_time, p_key points.idempotency_key) TO points_writer;


--
-- Name: FUNCTION create_member(p_program integer, p_member points.member_key, p_referrer points.member_key); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.create_member(p_program integer, p_member points.member_key, p_referrer points.member_key) FROM PUBLIC;
GRANT ALL ON FUNCTION points.create_member(p_program integer, p_member points.member_key, p_referrer points.member_key) TO points_writer;


--
-- Name: FUNCTION create_program(p_name text, p_currency text, p_time_zone text, p_actor points.label_text); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.create_program(p_name text, p_currency text, p_time_zone text, p_actor points.label_text) FROM PUBLIC;


--
-- Name: FUNCTION disqualify(p_program integer, p_member text, p_purchase_at timestamp with time zone, p_points bigint, p_spend_minor bigint, p_at timestamp with time zone, p_entry bigint); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.disqualify(p_program integer, p_member text, p_purchase_at timestamp with time zone, p_points bigint, p_spend_minor bigint, p_at timestamp with time zone, p_entry bigint) FROM PUBLIC;


--
-- Name: FUNCTION effective_tier(p_program integer, p_member text, p_earned text, p_at timestamp with time zone); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.effective_tier(p_program integer, p_member text, p_earned text, p_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION end_tier_terms(p_program integer, p_as_of points.event_time); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.end_tier_terms(p_program integer, p_as_of points.event_time) FROM PUBLIC;


--
-- Name: FUNCTION evaluate_tiers(p_program integer, p_period_start date, p_limit integer); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.evaluate_tiers(p_program integer, p_period_start date, p_limit integer) FROM PUBLIC;


--
-- Name: FUNCTION expire_due(p_program integer, p_as_of points.event_time, p_limit integer); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.expire_due(p_program integer, p_as_of points.event_time, p_limit integer) FROM PUBLIC;


--
-- Name: FUNCTION expire_holds(p_program integer, p_as_of points.event_time, p_limit integer); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.expire_holds(p_program integer, p_as_of points.event_time, p_limit integer) FROM PUBLIC;


--
-- Name: FUNCTION expiry_for(p_program integer, p_at timestamp with time zone); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.expiry_for(p_program integer, p_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION forbid_journal_rewrite(); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.forbid_journal_rewrite() FROM PUBLIC;


--
-- Name: FUNCTION forbid_member_delete(); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.forbid_member_delete() FROM PUBLIC;


--
-- Name: FUNCTION form_lot(p_program integer, p_member text, p_entry bigint, p_points bigint, p_available_before bigint, p_earned_at timestamp with time zone, p_expires_at timestamp with time zone); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.form_lot(p_program integer, p_member text, p_entry bigint, p_points bigint, p_available_before bigint, p_earned_at timestamp with time zone, p_expires_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION genesis_hash(p_program integer); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.genesis_hash(p_program integer) FROM PUBLIC;
GRANT ALL ON FUNCTION points.genesis_hash(p_program integer) TO points_auditor;


--
-- Name: FUNCTION grant_tier(p_program integer, p_member points.member_key, p_tier text, p_term text, p_from points.event_time, p_actor points.label_text, p_key points.idempotency_key); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.grant_tier(p_program integer, p_member points.member_key, p_tier text, p_term text, p_from points.event_time, p_actor points.label_text, p_key points.idempotency_key) FROM PUBLIC;


--
-- Name: FUNCTION import_answer_from_journal(p_program integer, p_all boolean); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.import_answer_from_journal(p_program integer, p_all boolean) FROM PUBLIC;


--
-- Name: FUNCTION import_apply_member_changes(p_program integer); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.import_apply_member_changes(p_program integer) FROM PUBLIC;


--
-- Name: TABLE programs; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.programs TO points_writer;
GRANT SELECT ON TABLE points.programs TO points_auditor;


--
-- Name: FUNCTION import_find_upgrades(p_program integer, p_row points.programs, p_exponent smallint, p_multiplied boolean); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.import_find_upgrades(p_program integer, p_row points.programs, p_exponent smallint, p_multiplied boolean) FROM PUBLIC;


--
-- Name: FUNCTION import_purchase_batch(p_program integer, p_batch bigint, p_create_members boolean, p_backdated boolean); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.import_purchase_batch(p_program integer, p_batch bigint, p_create_members boolean, p_backdated boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION points.import_purchase_batch(p_program integer, p_batch bigint, p_create_members boolean, p_backdated boolean) TO points_writer;


--
-- Name: FUNCTION import_read_lines(p_program integer, p_row points.programs, p_batch bigint, p_create_members boolean, p_backdated boolean, p_exponent smallint, p_entry_tier text, p_multiplied boolean, p_referrals boolean, p_backdate_days integer); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.import_read_lines(p_program integer, p_row points.programs, p_batch bigint, p_create_members boolean, p_backdated boolean, p_exponent smallint, p_entry_tier text, p_multiplied boolean, p_referrals boolean, p_backdate_days integer) FROM PUBLIC;


--
-- Name: FUNCTION import_write_entries(p_program integer, p_create_members boolean, p_backdated boolean, p_entry_tier text); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.import_write_entries(p_program integer, p_create_members boolean, p_backdated boolean, p_entry_tier text) FROM PUBLIC;


--
-- Name: FUNCTION import_write_lines(p_program integer, p_backdated boolean, p_referrals boolean); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.import_write_lines(p_program integer, p_backdated boolean, p_referrals boolean) FROM PUBLIC;


--
-- Name: FUNCTION journal_digest(p_program integer, p_after bigint, p_last bigint, p_previous bytea); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.journal_digest(p_program integer, p_after bigint, p_last bigint, p_previous bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION points.journal_digest(p_program integer, p_after bigint, p_last bigint, p_previous bytea) TO points_auditor;


--
-- Name: FUNCTION last_birthday(p_birthday date, p_today date); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.last_birthday(p_birthday date, p_today date) FROM PUBLIC;


--
-- Name: TABLE members; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.members TO points_writer;
GRANT SELECT ON TABLE points.members TO points_auditor;


--
-- Name: FUNCTION lock_members(p_program integer, p_members text[]); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.lock_members(p_program integer, p_members text[]) FROM PUBLIC;


--
-- Name: FUNCTION lot_amount(p_credit bigint, p_available_before bigint); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.lot_amount(p_credit bigint, p_available_before bigint) FROM PUBLIC;


--
-- Name: FUNCTION lot_expiry(p_kind text, p_count integer, p_earned_at timestamp with time zone, p_time_zone text); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.lot_expiry(p_kind text, p_count integer, p_earned_at timestamp with time zone, p_time_zone text) FROM PUBLIC;


--
-- Name: FUNCTION mature_due(p_program integer, p_as_of points.event_time, p_limit integer); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.mature_due(p_program integer, p_as_of points.event_time, p_limit integer) FROM PUBLIC;


--
-- Name: FUNCTION may_reach_above(p_earned text, p_at timestamp with time zone, p_points bigint, p_spend_minor bigint, p_ladder_since timestamp with time zone, p_ladder_tiers text[], p_ladder_points bigint[], p_ladder_spend bigint[]); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.may_reach_above(p_earned text, p_at timestamp with time zone, p_points bigint, p_spend_minor bigint, p_ladder_since timestamp with time zone, p_ladder_tiers text[], p_ladder_points bigint[], p_ladder_spend bigint[]) FROM PUBLIC;


--
-- Name: FUNCTION multiplier_at(p_program integer, p_tier text, p_at timestamp with time zone); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.multiplier_at(p_program integer, p_tier text, p_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION multiplier_in_force(p_program integer, p_tier text, p_at timestamp with time zone, p_ladder_since timestamp with time zone, p_ladder_tiers text[], p_ladder_multipliers numeric[]); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.multiplier_in_force(p_program integer, p_tier text, p_at timestamp with time zone, p_ladder_since timestamp with time zone, p_ladder_tiers text[], p_ladder_multipliers numeric[]) FROM PUBLIC;


--
-- Name: FUNCTION next_tier_period(p_program integer, p_as_of points.event_time); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.next_tier_period(p_program integer, p_as_of points.event_time) FROM PUBLIC;


--
-- Name: FUNCTION override_tier(p_program integer, p_member points.member_key, p_tier text, p_reason points.label_text, p_until points.event_time, p_actor points.label_text); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.override_tier(p_program integer, p_member points.member_key, p_tier text, p_reason points.label_text, p_until points.event_time, p_actor points.label_text) FROM PUBLIC;


--
-- Name: FUNCTION pay_birthdays(p_program integer, p_as_of points.event_time, p_after text, p_limit integer); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.pay_birthdays(p_program integer, p_as_of points.event_time, p_after text, p_limit integer) FROM PUBLIC;


--
-- Name: FUNCTION pay_referral(p_program integer, p_member text, p_referrer text, p_order text, p_bonus bigint, p_at timestamp with time zone, p_backdated boolean); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.pay_referral(p_program integer, p_member text, p_referrer text, p_order text, p_bonus bigint, p_at timestamp with time zone, p_backdated boolean) FROM PUBLIC;


--
-- Name: FUNCTION program_created(); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.program_created() FROM PUBLIC;


--
-- Name: FUNCTION purchase(p_program integer, p_member points.member_key, p_order points.idempotency_key, p_amount_minor bigint, p_points_paid_minor bigint, p_occurred_at points.event_time, p_backdated boolean); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.purchase(p_program integer, p_member points.member_key, p_order points.idempotency_key, p_amount_minor bigint, p_points_paid_minor bigint, p_occurred_at points.event_time, p_backdated boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION points.purchase(p_program integer, p_member points.member_key, p_order points.idempotency_key, p_amount_minor bigint, p_points_paid_minor bigint, p_occurred_at points.event_time, p_backdated boolean) TO points_writer;


--
-- Name: FUNCTION purchase_matures_at(p_points bigint, p_at timestamp with time zone, p_return_window_days integer, p_time_zone text); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.purchase_matures_at(p_points bigint, p_at timestamp with time zone, p_return_window_days integer, p_time_zone text) FROM PUBLIC;


--
-- Name: FUNCTION purchase_not_posted(p_program integer, p_order points.idempotency_key, p_request jsonb, p_in_future boolean, p_available bigint, p_pending bigint); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.purchase_not_posted(p_program integer, p_order points.idempotency_key, p_request jsonb, p_in_future boolean, p_available bigint, p_pending bigint) FROM PUBLIC;


--
-- Name: FUNCTION purchase_points(p_eligible_minor bigint, p_exponent smallint, p_earn_rate numeric, p_multiplier numeric, p_rounding text); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.purchase_points(p_eligible_minor bigint, p_exponent smallint, p_earn_rate numeric, p_multiplier numeric, p_rounding text) FROM PUBLIC;


--
-- Name: FUNCTION qualify(p_program integer, p_member text, p_at timestamp with time zone, p_points bigint, p_spend_minor bigint, p_entry bigint); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.qualify(p_program integer, p_member text, p_at timestamp with time zone, p_points bigint, p_spend_minor bigint, p_entry bigint) FROM PUBLIC;


--
-- Name: FUNCTION qualifying_step(p_row_period date, p_row_points bigint, p_row_spend bigint, p_period date, p_points bigint, p_spend_minor bigint, OUT q_period date, OUT q_points bigint, OUT q_spend bigint, OUT carried_period date, OUT carried_points bigint, OUT carried_spend bigint); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.qualifying_step(p_row_period date, p_row_points bigint, p_row_spend bigint, p_period date, p_points bigint, p_spend_minor bigint, OUT q_period date, OUT q_points bigint, OUT q_spend bigint, OUT carried_period date, OUT carried_points bigint, OUT carried_spend bigint) FROM PUBLIC;


--
-- Name: FUNCTION redeem(p_program integer, p_member points.member_key, p_reward text, p_quantity integer, p_points bigint, p_reason points.label_text, p_key points.idempotency_key); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.redeem(p_program integer, p_member points.member_key, p_reward text, p_quantity integer, p_points bigint, p_reason points.label_text, p_key points.idempotency_key) FROM PUBLIC;
GRANT ALL ON FUNCTION points.redeem(p_program integer, p_member points.member_key, p_reward text, p_quantity integer, p_points bigint, p_reason points.label_text, p_key points.idempotency_key) TO points_writer;


--
-- Name: FUNCTION refresh_ladder(p_program integer); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.refresh_ladder(p_program integer) FROM PUBLIC;


--
-- Name: FUNCTION refund(p_program integer, p_order points.idempotency_key, p_refund points.idempotency_key, p_amount_minor bigint, p_occurred_at points.event_time, p_backdated boolean); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.refund(p_program integer, p_order points.idempotency_key, p_refund points.idempotency_key, p_amount_minor bigint, p_occurred_at points.event_time, p_backdated boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION points.refund(p_program integer, p_order points.idempotency_key, p_refund points.idempotency_key, p_amount_minor bigint, p_occurred_at points.event_time, p_backdated boolean) TO points_writer;


--
-- Name: FUNCTION refuse_self_referral(); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.refuse_self_referral() FROM PUBLIC;


--
-- Name: FUNCTION release_expired_holds(p_program integer, p_member text); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.release_expired_holds(p_program integer, p_member text) FROM PUBLIC;


--
-- Name: FUNCTION resolve_hold(p_program integer, p_hold bigint, p_void boolean, p_capture bigint); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.resolve_hold(p_program integer, p_hold bigint, p_void boolean, p_capture bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION points.resolve_hold(p_program integer, p_hold bigint, p_void boolean, p_capture bigint) TO points_writer;


--
-- Name: FUNCTION round_points(p_value numeric, p_mode text); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.round_points(p_value numeric, p_mode text) FROM PUBLIC;


--
-- Name: FUNCTION same_request(p_recorded jsonb, p_given jsonb); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.same_request(p_recorded jsonb, p_given jsonb) FROM PUBLIC;


--
-- Name: FUNCTION seal_journal(p_program integer, p_block_entries integer, p_max_blocks integer, p_up_to bigint, p_wait interval); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.seal_journal(p_program integer, p_block_entries integer, p_max_blocks integer, p_up_to bigint, p_wait interval) FROM PUBLIC;
GRANT ALL ON FUNCTION points.seal_journal(p_program integer, p_block_entries integer, p_max_blocks integer, p_up_to bigint, p_wait interval) TO points_auditor;


--
-- Name: FUNCTION set_birthday(p_program integer, p_member points.member_key, p_month smallint, p_day smallint); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.set_birthday(p_program integer, p_member points.member_key, p_month smallint, p_day smallint) FROM PUBLIC;
GRANT ALL ON FUNCTION points.set_birthday(p_program integer, p_member points.member_key, p_month smallint, p_day smallint) TO points_writer;


--
-- Name: FUNCTION set_program_settings(p_program integer, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.set_program_settings(p_program integer, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text) FROM PUBLIC;


--
-- Name: FUNCTION set_reward(p_program integer, p_reward text, p_changes jsonb, p_actor points.label_text); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.set_reward(p_program integer, p_reward text, p_changes jsonb, p_actor points.label_text) FROM PUBLIC;


--
-- Name: FUNCTION set_task(p_program integer, p_task text, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.set_task(p_program integer, p_task text, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text) FROM PUBLIC;


--
-- Name: FUNCTION set_tier(p_program integer, p_tier text, p_rank smallint, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.set_tier(p_program integer, p_tier text, p_rank smallint, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text) FROM PUBLIC;


--
-- Name: TABLE program_settings; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.program_settings TO points_writer;
GRANT SELECT ON TABLE points.program_settings TO points_auditor;


--
-- Name: FUNCTION settings_at(p_program integer, p_at timestamp with time zone); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.settings_at(p_program integer, p_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION settings_in_force(p_program integer, p_latest points.program_settings, p_at timestamp with time zone); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.settings_in_force(p_program integer, p_latest points.program_settings, p_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION task_cap(p_program integer, p_member text, p_task text, p_day date, p_cap_day integer, p_cap_week integer, p_cap_month integer, OUT capped_by text, OUT cap_reached boolean); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.task_cap(p_program integer, p_member text, p_task text, p_day date, p_cap_day integer, p_cap_week integer, p_cap_month integer, OUT capped_by text, OUT cap_reached boolean) FROM PUBLIC;


--
-- Name: FUNCTION tier_at(p_program integer, p_member text, p_tier text, p_override_until timestamp with time zone, p_override_previous text, p_granted_until timestamp with time zone, p_at timestamp with time zone); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.tier_at(p_program integer, p_member text, p_tier text, p_override_until timestamp with time zone, p_override_previous text, p_granted_until timestamp with time zone, p_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION tier_period_at(p_program integer, p_at timestamp with time zone, OUT period_start date, OUT closed boolean); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.tier_period_at(p_program integer, p_at timestamp with time zone, OUT period_start date, OUT closed boolean) FROM PUBLIC;


--
-- Name: FUNCTION tier_period_end(p_kind text, p_start timestamp without time zone, p_time_zone text); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.tier_period_end(p_kind text, p_start timestamp without time zone, p_time_zone text) FROM PUBLIC;


--
-- Name: FUNCTION tier_period_start(p_kind text, p_at timestamp with time zone, p_time_zone text); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.tier_period_start(p_kind text, p_at timestamp with time zone, p_time_zone text) FROM PUBLIC;


--
-- Name: FUNCTION tier_reached_above(p_program integer, p_earned text, p_at timestamp with time zone, p_points bigint, p_spend_minor bigint, p_ladder_since timestamp with time zone, p_ladder_tiers text[], p_ladder_points bigint[], p_ladder_spend bigint[]); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.tier_reached_above(p_program integer, p_earned text, p_at timestamp with time zone, p_points bigint, p_spend_minor bigint, p_ladder_since timestamp with time zone, p_ladder_tiers text[], p_ladder_points bigint[], p_ladder_spend bigint[]) FROM PUBLIC;


--
-- Name: FUNCTION tiers_at(p_program integer, p_at timestamp with time zone); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.tiers_at(p_program integer, p_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION tiers_created(); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.tiers_created() FROM PUBLIC;


--
-- Name: FUNCTION upgrade_if_reached(p_program integer, p_member text, p_earned text, p_at timestamp with time zone, p_period date, p_points bigint, p_spend_minor bigint, p_entry bigint, p_tiers_closed_until timestamp with time zone, p_ladder_since timestamp with time zone, p_ladder_tiers text[], p_ladder_points bigint[], p_ladder_spend bigint[]); Type: ACL; Schema: points; Owner: points_owner
--

REVOKE ALL ON FUNCTION points.upgrade_if_reached(p_program integer, p_member text, p_earned text, p_at timestamp with time zone, p_period date, p_points bigint, p_spend_minor bigint, p_entry bigint, p_tiers_closed_until timestamp with time zone, p_ladder_since timestamp with time zone, p_ladder_tiers text[], p_ladder_points bigint[], p_ladder_spend bigint[]) FROM PUBLIC;


--
-- Name: FUNCTION settle_temporary_objects(p_owner text, p_writer text, p_auditor text); Type: ACL; Schema: points_meta; Owner: postgres
--

REVOKE ALL ON FUNCTION points_meta.settle_temporary_objects(p_owner text, p_writer text, p_auditor text) FROM PUBLIC;


--
-- Name: TABLE configuration_changes; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.configuration_changes TO points_writer;
GRANT SELECT ON TABLE points.configuration_changes TO points_auditor;


--
-- Name: TABLE currencies; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.currencies TO points_writer;
GRANT SELECT ON TABLE points.currencies TO points_auditor;


--
-- Name: TABLE holds; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.holds TO points_writer;
GRANT SELECT ON TABLE points.holds TO points_auditor;


--
-- Name: SEQUENCE import_batch_ids; Type: ACL; Schema: points; Owner: points_owner
--

GRANT USAGE ON SEQUENCE points.import_batch_ids TO points_writer;


--
-- Name: TABLE import_staging; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.import_staging TO points_writer;
GRANT SELECT ON TABLE points.import_staging TO points_auditor;


--
-- Name: COLUMN import_staging.batch_id; Type: ACL; Schema: points; Owner: points_owner
--

GRANT INSERT(batch_id) ON TABLE points.import_staging TO points_writer;


--
-- Name: COLUMN import_staging.line; Type: ACL; Schema: points; Owner: points_owner
--

GRANT INSERT(line) ON TABLE points.import_staging TO points_writer;


--
-- Name: COLUMN import_staging.order_id; Type: ACL; Schema: points; Owner: points_owner
--

GRANT INSERT(order_id) ON TABLE points.import_staging TO points_writer;


--
-- Name: COLUMN import_staging.member_id; Type: ACL; Schema: points; Owner: points_owner
--

GRANT INSERT(member_id) ON TABLE points.import_staging TO points_writer;


--
-- Name: COLUMN import_staging.amount_minor; Type: ACL; Schema: points; Owner: points_owner
--

GRANT INSERT(amount_minor) ON TABLE points.import_staging TO points_writer;


--
-- Name: COLUMN import_staging.points_paid_minor; Type: ACL; Schema: points; Owner: points_owner
--

GRANT INSERT(points_paid_minor) ON TABLE points.import_staging TO points_writer;


--
-- Name: COLUMN import_staging.occurred_at; Type: ACL; Schema: points; Owner: points_owner
--

GRANT INSERT(occurred_at) ON TABLE points.import_staging TO points_writer;


--
-- Name: COLUMN import_staging.referrer; Type: ACL; Schema: points; Owner: points_owner
--

GRANT INSERT(referrer) ON TABLE points.import_staging TO points_writer;


--
-- Name: TABLE journal_blocks; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.journal_blocks TO points_writer;
GRANT SELECT ON TABLE points.journal_blocks TO points_auditor;


--
-- Name: TABLE journal_entries; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.journal_entries TO points_writer;
GRANT SELECT ON TABLE points.journal_entries TO points_auditor;


--
-- Name: TABLE lot_allocations; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.lot_allocations TO points_writer;
GRANT SELECT ON TABLE points.lot_allocations TO points_auditor;


--
-- Name: TABLE lots; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.lots TO points_writer;
GRANT SELECT ON TABLE points.lots TO points_auditor;


--
-- Name: TABLE postings; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.postings TO points_writer;
GRANT SELECT ON TABLE points.postings TO points_auditor;


--
-- Name: TABLE purchases; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.purchases TO points_writer;
GRANT SELECT ON TABLE points.purchases TO points_auditor;


--
-- Name: TABLE qualifying_totals; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.qualifying_totals TO points_writer;
GRANT SELECT ON TABLE points.qualifying_totals TO points_auditor;


--
-- Name: TABLE redemptions; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.redemptions TO points_writer;
GRANT SELECT ON TABLE points.redemptions TO points_auditor;


--
-- Name: TABLE rewards; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.rewards TO points_writer;
GRANT SELECT ON TABLE points.rewards TO points_auditor;


--
-- Name: TABLE task_completions; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.task_completions TO points_writer;
GRANT SELECT ON TABLE points.task_completions TO points_auditor;


--
-- Name: TABLE task_settings; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.task_settings TO points_writer;
GRANT SELECT ON TABLE points.task_settings TO points_auditor;


--
-- Name: TABLE tier_changes; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.tier_changes TO points_writer;
GRANT SELECT ON TABLE points.tier_changes TO points_auditor;


--
-- Name: TABLE tier_evaluation_counts; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.tier_evaluation_counts TO points_writer;
GRANT SELECT ON TABLE points.tier_evaluation_counts TO points_auditor;


--
-- Name: TABLE tier_evaluations; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.tier_evaluations TO points_writer;
GRANT SELECT ON TABLE points.tier_evaluations TO points_auditor;


--
-- Name: TABLE tier_grants; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.tier_grants TO points_writer;
GRANT SELECT ON TABLE points.tier_grants TO points_auditor;


--
-- Name: TABLE tier_settings; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.tier_settings TO points_writer;
GRANT SELECT ON TABLE points.tier_settings TO points_auditor;


--
-- Name: TABLE tiers; Type: ACL; Schema: points; Owner: points_owner
--

GRANT SELECT ON TABLE points.tiers TO points_writer;
GRANT SELECT ON TABLE points.tiers TO points_auditor;


--
-- PostgreSQL database dump complete
--


