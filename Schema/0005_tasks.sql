-- Tasks and birthdays (RULES.md: Tasks, Other earnings, Time, Idempotency, Configuration):
-- members earn by taking part (a daily check-in with streak bonuses, posting, sharing, custom
-- tasks), within caps per local day, week and month, and once a year on their birthday.
SET LOCAL ROLE {{owner}};

-- New values are only used by later transactions (functions below name them in their bodies).
ALTER TYPE points.entry_kind ADD VALUE 'task';
ALTER TYPE points.entry_kind ADD VALUE 'birthday';
ALTER TYPE points.key_scope ADD VALUE 'task';
ALTER TYPE points.key_scope ADD VALUE 'birthday';

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
    PRIMARY KEY (program_id, task, effective_at),
    CONSTRAINT streak_rules_paired CHECK (cardinality(streak_days) = cardinality(streak_points)
        AND 0 < ALL (streak_days) AND 0 <= ALL (streak_points)),
    CONSTRAINT streaks_for_checkin_only CHECK (task = 'checkin' OR (cardinality(streak_days) = 0 AND streak_cycle IS NULL))
);
GRANT SELECT ON points.task_settings TO {{writer}}, {{auditor}};

-- The built-in tasks, in force from the beginning of time: a daily check-in (5 points, +20 on
-- every 7th day of a streak), posting (10 points, 3 a day) and sharing (5 points, 3 a day).
CREATE FUNCTION points.add_default_tasks(p_program integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO points.task_settings
        (program_id, task, effective_at, points, cap_day, cap_week, cap_month, qualifying, active,
         streak_days, streak_points, streak_cycle)
    VALUES (p_program, 'checkin', '-infinity', 5, NULL, NULL, NULL, false, true, '{7}', '{20}', 7),
           (p_program, 'post', '-infinity', 10, 3, NULL, NULL, false, true, '{}', '{}', NULL),
           (p_program, 'share', '-infinity', 5, 3, NULL, NULL, false, true, '{}', '{}', NULL)
$$;

-- The birthday bonus of each tier, one row per version (tiers gain their thresholds and
-- multipliers in the same table later).
CREATE TABLE points.tier_settings (
    program_id integer NOT NULL,
    tier text NOT NULL,
    effective_at timestamptz NOT NULL,
    birthday_bonus bigint NOT NULL CONSTRAINT birthday_bonus_range CHECK (birthday_bonus BETWEEN 0 AND 1000000000),
    PRIMARY KEY (program_id, tier, effective_at),
    FOREIGN KEY (program_id, tier) REFERENCES points.tiers
);
GRANT SELECT ON points.tier_settings TO {{writer}}, {{auditor}};

-- Tiers are created with the program, after the programs row: add the defaults once they exist.
CREATE FUNCTION points.tiers_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO points.tier_settings (program_id, tier, effective_at, birthday_bonus)
    SELECT n.program_id, n.tier, '-infinity', 0 FROM new_tiers AS n;
    RETURN NULL;
END
$$;
CREATE TRIGGER tiers_default_settings AFTER INSERT ON points.tiers
    REFERENCING NEW TABLE AS new_tiers FOR EACH STATEMENT EXECUTE FUNCTION points.tiers_created();

-- A new program gets its default tasks from the trigger that gives it its default settings.
CREATE OR REPLACE FUNCTION points.program_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM points.add_default_settings(NEW.program_id);
    PERFORM points.add_default_tasks(NEW.program_id);
    RETURN NULL;
END
$$;
SELECT points.add_default_tasks(program_id) FROM points.programs;
INSERT INTO points.tier_settings (program_id, tier, effective_at, birthday_bonus)
SELECT t.program_id, t.tier, '-infinity', 0 FROM points.tiers AS t;

-- A member's birthday, month and day, stored as that day of the leap year 2000: every real
-- month and day is a date of it (29 February too; it counts as 28 February in other years),
-- and no other is. A domain, not a CHECK on members (see 0002_ledger.sql).
CREATE DOMAIN points.month_day AS date
    CONSTRAINT month_day_in_2000 CHECK (VALUE >= '2000-01-01' AND VALUE < '2001-01-01');
ALTER TABLE points.members ADD COLUMN birthday points.month_day;

-- One row per completion, earning or capped: what it earned, on which local day, and for a
-- check-in the streak that day makes. Caps count the earning rows of a day, week and month.
-- Written with its journal entry by complete_task; `audit verify` checks the entry exists.
CREATE DOMAIN points.cap_period AS text CONSTRAINT cap_period_name CHECK (VALUE IN ('day', 'week', 'month'));
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
CREATE TRIGGER task_completions_append_only BEFORE UPDATE OR DELETE ON points.task_completions
    FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();
CREATE TRIGGER task_completions_no_truncate BEFORE TRUNCATE ON points.task_completions
    FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();
GRANT SELECT ON points.task_completions TO {{writer}}, {{auditor}};

-- Changes a task from p_effective_at on (creating it when p_changes names its points); the
-- other settings keep the values in force then. Recorded with who, when, before and after.
-- Returns status 'changed', 'unchanged', 'in_past' (see set_program_settings) or 'unknown_task'
-- (a new task without points).
CREATE FUNCTION points.set_task(
    p_program integer, p_task text, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text)
RETURNS TABLE (status text, effective_at timestamptz)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_before points.task_settings;
    v_after points.task_settings;
BEGIN
    IF NOT points.begin_configuration_change(p_program, p_effective_at) THEN
        RETURN QUERY SELECT 'in_past', p_effective_at::timestamptz;
        RETURN;
    END IF;
    SELECT ts.* INTO v_before FROM points.task_settings AS ts
    WHERE ts.program_id = p_program AND ts.task = p_task AND ts.effective_at <= p_effective_at
    ORDER BY ts.effective_at DESC LIMIT 1;
    IF NOT FOUND THEN
        IF NOT p_changes ? 'points' THEN
            RETURN QUERY SELECT 'unknown_task', p_effective_at::timestamptz;
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
        RETURN QUERY SELECT 'unchanged', v_before.effective_at;
        RETURN;
    END IF;
    -- A second change at the same instant replaces the first.
    DELETE FROM points.task_settings AS ts WHERE ts.program_id = p_program AND ts.task = p_task AND ts.effective_at = p_effective_at;
    INSERT INTO points.task_settings VALUES (v_after.*);
    INSERT INTO points.configuration_changes (program_id, subject, actor, effective_at, before, after)
    VALUES (p_program, 'task ' || p_task, p_actor, p_effective_at,
            to_jsonb(v_before) - 'program_id' - 'task' - 'effective_at', to_jsonb(v_after) - 'program_id' - 'task' - 'effective_at');
    RETURN QUERY SELECT 'changed', p_effective_at::timestamptz;
END
$$;

-- Sets or clears (NULL) a member's birthday. Returns 'set' or 'unknown_member'.
CREATE FUNCTION points.set_birthday(p_program integer, p_member points.member_key, p_month smallint, p_day smallint)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
BEGIN
    UPDATE points.members AS m SET birthday = make_date(2000, p_month, p_day)
    WHERE m.program_id = p_program AND m.member_id = p_member;
    RETURN CASE WHEN FOUND THEN 'set' ELSE 'unknown_member' END;
END
$$;

-- A task completion, idempotent by (task, ref); a check-in's ref is its local date (default),
-- and its key also names the member, since every member checks in on the same dates. Caps,
-- days and streaks are in the program's time zone; the member's row lock makes caps exact
-- under concurrency. A completion beyond a cap is recorded, earns nothing and counts toward
-- the streak. A streak is the check-in days in a row up to this one; a late check-in does not
-- change the streaks (and bonuses) of the days after it, already paid.
-- Returns status 'completed', 'replayed', 'conflict', 'unknown_member', 'unknown_task',
-- 'inactive', 'bad_ref', 'in_future' or 'too_old'; for a completion: the entry, the task's
-- points, the streak bonus, the streak, whether it was capped and by which period, whether a
-- cap is now full, and the member's available balance.
CREATE FUNCTION points.complete_task(
    p_program integer, p_member points.member_key, p_task text, p_ref points.idempotency_key, p_occurred_at points.event_time)
RETURNS TABLE (status text, entry_id bigint, points bigint, streak_bonus bigint, streak integer, capped_by text,
               cap_reached boolean, available bigint, local_day date)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_now timestamptz := now();
    v_at timestamptz := coalesce(p_occurred_at, now());
    v_row record;
    v_day date;
    v_week date;
    v_month date;
    v_ref text := p_ref;
    v_key text;
    v_request jsonb;
    v_day_count bigint := 0;
    v_week_count bigint := 0;
    v_month_count bigint := 0;
    v_capped_by text;
    v_points bigint := 0;
    v_bonus bigint := 0;
    v_streak integer;
    v_total bigint;
    v_entry bigint;
    v_existing record;
    v_position integer;
    v_problem text;
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
        RETURN QUERY SELECT 'unknown_member', NULL::bigint, NULL::bigint, NULL::bigint, NULL::integer, NULL::text,
            NULL::boolean, NULL::bigint, NULL::date;
        RETURN;
    END IF;
    IF v_row.task_points IS NULL THEN
        RETURN QUERY SELECT 'unknown_task', NULL::bigint, NULL::bigint, NULL::bigint, NULL::integer, NULL::text,
            NULL::boolean, NULL::bigint, NULL::date;
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
    IF p_task = 'checkin' THEN
        IF v_ref IS NULL THEN
            v_ref := to_char(v_day, 'YYYY-MM-DD');
        ELSIF v_ref <> to_char(v_day, 'YYYY-MM-DD') THEN
            RETURN QUERY SELECT 'bad_ref', NULL::bigint, NULL::bigint, NULL::bigint, NULL::integer, NULL::text,
                NULL::boolean, NULL::bigint, v_day;
            RETURN;
        END IF;
        v_key := 'checkin:' || p_member || ':' || v_ref;
    ELSIF v_ref IS NULL THEN
        RETURN QUERY SELECT 'bad_ref', NULL::bigint, NULL::bigint, NULL::bigint, NULL::integer, NULL::text,
            NULL::boolean, NULL::bigint, v_day;
        RETURN;
    ELSE
        v_key := p_task || ':' || v_ref;
    END IF;
    -- What a replay must match. A check-in's date is its identity: a second check-in on the same
    -- day, at another time, replays the first.
    v_request := jsonb_strip_nulls(jsonb_build_object(
        'member', p_member, 'task', p_task, 'ref', v_ref,
        'occurred_at', CASE WHEN p_task <> 'checkin' THEN p_occurred_at AT TIME ZONE 'UTC' END));

    v_problem := CASE
        WHEN v_at > v_now + interval '5 minutes' THEN 'in_future'
        WHEN v_at < v_now - make_interval(days => v_backdate_days) THEN 'too_old'
        WHEN NOT v_row.active THEN 'inactive' END;
    IF v_problem IS NULL THEN
        -- Caps: the earning completions of this task in the completion's local day, week (from
        -- Monday) and month (not counted when the task has no cap).
        v_week := date_trunc('week', v_day)::date;
        v_month := date_trunc('month', v_day)::date;
        IF coalesce(v_row.cap_day, v_row.cap_week, v_row.cap_month) IS NOT NULL THEN
            SELECT count(*) FILTER (WHERE c.local_day = v_day) AS day,
                   count(*) FILTER (WHERE c.local_day >= v_week AND c.local_day < v_week + 7) AS week,
                   count(*) FILTER (WHERE c.local_day >= v_month AND c.local_day < (v_month + interval '1 month')::date) AS month
            INTO v_day_count, v_week_count, v_month_count
            FROM points.task_completions AS c
            WHERE c.program_id = p_program AND c.member_id = p_member AND c.task = p_task
              AND c.local_day >= least(v_week, v_month) AND c.local_day < greatest(v_week + 7, (v_month + interval '1 month')::date)
              AND c.capped_by IS NULL;
        END IF;
        v_capped_by := CASE
            WHEN v_day_count >= v_row.cap_day THEN 'day'
            WHEN v_week_count >= v_row.cap_week THEN 'week'
            WHEN v_month_count >= v_row.cap_month THEN 'month' END;
        IF v_capped_by IS NULL THEN
            v_points := v_row.task_points;
        END IF;
        IF p_task = 'checkin' THEN
            SELECT c.streak INTO v_streak FROM points.task_completions AS c
            WHERE c.program_id = p_program AND c.member_id = p_member AND c.task = 'checkin' AND c.local_day = v_day - 1;
            v_streak := coalesce(v_streak, 0) + 1;
            v_position := CASE WHEN v_row.streak_cycle IS NULL THEN v_streak ELSE (v_streak - 1) % v_row.streak_cycle + 1 END;
            IF v_capped_by IS NULL AND v_position = ANY (v_row.streak_days) THEN
                SELECT coalesce(sum(r.pts), 0) INTO v_bonus
                FROM unnest(v_row.streak_days, v_row.streak_points) AS r(days, pts) WHERE r.days = v_position;
            END IF;
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
    -- Nothing posted: a replay is answered with the original result, however late it comes and
    -- whatever the task's state now; otherwise the problem.
    IF v_entry IS NULL THEN
        SELECT e.entry_id, e.request, c.points, c.streak_bonus, c.streak, c.capped_by, c.local_day INTO v_existing
        FROM points.journal_entries AS e
        LEFT JOIN points.task_completions AS c
            ON c.program_id = e.program_id AND c.member_id = e.member_id AND c.task = p_task AND c.entry_id = e.entry_id
        WHERE e.program_id = p_program AND e.key_scope = 'task' AND e.idempotency_key = v_key;
        IF FOUND THEN
            RETURN QUERY SELECT CASE WHEN points.same_request(v_existing.request, v_request) THEN 'replayed' ELSE 'conflict' END,
                v_existing.entry_id, v_existing.points::bigint, v_existing.streak_bonus::bigint, v_existing.streak::integer,
                v_existing.capped_by::text, NULL::boolean, v_row.available, v_existing.local_day;
        ELSE
            RETURN QUERY SELECT v_problem, NULL::bigint, NULL::bigint, NULL::bigint, NULL::integer, NULL::text,
                NULL::boolean, NULL::bigint, v_day;
        END IF;
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
    VALUES (p_program, p_member, p_task, v_day, v_entry, v_points, v_bonus, v_streak, v_capped_by);

    -- A qualifying task's points count toward the member's tier.
    IF v_row.qualifying AND v_total > 0 THEN
        PERFORM points.qualify(p_program, p_member, v_at, v_total, 0, v_entry);
    END IF;
    status := 'completed';
    entry_id := v_entry;
    points := v_points;
    streak_bonus := v_bonus;
    streak := v_streak;
    capped_by := v_capped_by;
    cap_reached := v_capped_by IS NOT NULL OR p_task = 'checkin' OR coalesce(v_day_count + 1 >= v_row.cap_day, false)
        OR coalesce(v_week_count + 1 >= v_row.cap_week, false) OR coalesce(v_month_count + 1 >= v_row.cap_month, false);
    available := v_row.available + v_total;
    local_day := v_day;
    RETURN NEXT;
END
$$;

-- A birthday's date in a year; 29 February is 28 February in a year without it.
CREATE FUNCTION points.birthday_in(p_birthday date, p_year integer) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN extract(month FROM p_birthday) = 2 AND extract(day FROM p_birthday) = 29
                     AND NOT (p_year % 4 = 0 AND (p_year % 100 <> 0 OR p_year % 400 = 0))
                THEN make_date(p_year, 2, 28)
                ELSE make_date(p_year, extract(month FROM p_birthday)::integer, extract(day FROM p_birthday)::integer) END
$$;

-- The latest birthday on or before p_today: this year's, or last year's when this year's is ahead.
CREATE FUNCTION points.last_birthday(p_birthday date, p_today date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN points.birthday_in(p_birthday, extract(year FROM p_today)::integer) <= p_today
                THEN points.birthday_in(p_birthday, extract(year FROM p_today)::integer)
                ELSE points.birthday_in(p_birthday, extract(year FROM p_today)::integer - 1) END
$$;

-- Birthdays, one chunk: of the next p_limit members after p_after (in id order), those whose
-- latest birthday on or before p_as_of's local date lies within the back-dating window and has
-- not been paid are paid their tier's birthday bonus (as in force at the start of that day),
-- dated at the start of that day: one entry per member and year (key: member/year), forming a
-- lot after repaying any debt. Set-based, idempotent, resumable: call it with the returned
-- cursor until the cursor is NULL. Members are locked in id order.
CREATE FUNCTION points.pay_birthdays(p_program integer, p_as_of points.event_time, p_after text, p_limit integer)
RETURNS TABLE (members integer, paid integer, points bigint, cursor text)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp SET enable_seqscan = off SET jit = off AS $$
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

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA points FROM PUBLIC;
GRANT EXECUTE ON FUNCTION points.complete_task TO {{writer}};
GRANT EXECUTE ON FUNCTION points.set_birthday TO {{writer}};
