-- Tiers (RULES.md: Tiers, Time, Configuration): entry and retention thresholds and an earn
-- multiplier per tier, qualifying totals per member and period, immediate upgrades, refunds that
-- undo an upgrade of the period, period-end evaluation, and the history of every tier change.
-- Purchases, refunds and task completions (0003, 0005) call qualify and disqualify below.
SET LOCAL ROLE {{owner}};

-- A tier's thresholds and multiplier, versioned like its birthday bonus. A member reaches a tier
-- when the qualifying points or the qualifying spend of one period reach its entry threshold
-- (a spend threshold of NULL: spend does not qualify for it), and keeps it at period end when
-- they reach its retention threshold (NULL: the entry threshold).
ALTER TABLE points.tier_settings
    ADD COLUMN entry_points bigint NOT NULL DEFAULT 0 CONSTRAINT entry_points_range CHECK (entry_points >= 0),
    ADD COLUMN entry_spend_minor bigint CONSTRAINT entry_spend_range CHECK (entry_spend_minor >= 0),
    ADD COLUMN retain_points bigint CONSTRAINT retain_points_range CHECK (retain_points >= 0),
    ADD COLUMN retain_spend_minor bigint CONSTRAINT retain_spend_range CHECK (retain_spend_minor >= 0),
    ADD COLUMN multiplier numeric NOT NULL DEFAULT 1
        CONSTRAINT multiplier_range CHECK (multiplier >= 0 AND multiplier <= 100 AND scale(multiplier) <= 4),
    ADD CONSTRAINT retention_within_entry CHECK (
        coalesce(retain_points, entry_points) <= entry_points
        AND (entry_spend_minor IS NULL OR coalesce(retain_spend_minor, entry_spend_minor) <= entry_spend_minor)
        AND (retain_spend_minor IS NULL OR entry_spend_minor IS NOT NULL));

-- The default tiers: advanced from 1,000 qualifying points in a period, premium from 5,000;
-- every multiplier 1 until an admin sets them.
CREATE OR REPLACE FUNCTION points.tiers_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO points.tier_settings (program_id, tier, effective_at, birthday_bonus, entry_points)
    SELECT n.program_id, n.tier, '-infinity', 0, CASE n.rank WHEN 0 THEN 0 WHEN 1 THEN 1000 ELSE 5000 END
    FROM new_tiers AS n;
    PERFORM points.refresh_ladder(n.program_id) FROM (SELECT DISTINCT program_id FROM new_tiers) AS n;
    RETURN NULL;
END
$$;
UPDATE points.tier_settings AS ts SET entry_points = CASE t.rank WHEN 0 THEN 0 WHEN 1 THEN 1000 ELSE 5000 END
FROM points.tiers AS t WHERE t.program_id = ts.program_id AND t.tier = ts.tier;

-- The program's qualification period and what happens at its end to members below their
-- tier's retention threshold: 'one_level' (down one tier, never below the highest tier whose
-- retention threshold they met) or 'requalify' (to that tier).
ALTER TABLE points.program_settings
    ADD COLUMN tier_period text NOT NULL DEFAULT 'year' CONSTRAINT tier_period_kind CHECK (tier_period IN ('month', 'quarter', 'year')),
    ADD COLUMN downgrade text NOT NULL DEFAULT 'one_level' CONSTRAINT downgrade_policy CHECK (downgrade IN ('one_level', 'requalify'));

-- Whether a task's points are multiplied by the member's tier multiplier (purchases always are).
ALTER TABLE points.task_settings ADD COLUMN tier_multiplier boolean NOT NULL DEFAULT false;

-- Where a member's earned tier came from: reached by an upgrade (or an evaluation that raised
-- it) during the period starting tier_reached_period, from tier_before_upgrade (the tier held
-- before that period's first upgrade). A tier reached during period P is kept through P+1.
ALTER TABLE points.members
    ADD COLUMN tier_reached_period date,
    ADD COLUMN tier_before_upgrade text;
-- A grant raises the effective tier until its end; granted_until is the latest end of the
-- member's grants (below), so that postings skip the look-up for members without one.
ALTER TABLE points.members ADD COLUMN granted_until timestamptz;
-- An override sets the earned tier, with a reason, until an optional end, when the earned tier
-- returns to the one before (override_previous). Not a floor: the next evaluation or upgrade
-- applies normally and ends the override.
ALTER TABLE points.members ADD COLUMN override_until points.event_time, ADD COLUMN override_previous text;

-- Events before this instant belong to periods already evaluated: they still count in their
-- period's totals, but no longer move tiers.
ALTER TABLE points.programs ADD COLUMN tiers_closed_until timestamptz;

-- The start (a local date) of the period of kind p_kind that contains p_at.
CREATE FUNCTION points.tier_period_start(p_kind text, p_at timestamptz, p_time_zone text) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT date_trunc(p_kind, p_at AT TIME ZONE p_time_zone)::date
$$;

-- The instant the period of kind p_kind starting p_start (a local date or time) ends.
CREATE FUNCTION points.tier_period_end(p_kind text, p_start timestamp, p_time_zone text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT (p_start + CASE p_kind WHEN 'month' THEN interval '1 month' WHEN 'quarter' THEN interval '3 months'
                              ELSE interval '1 year' END) AT TIME ZONE p_time_zone
$$;

-- The tiers of a program with their settings in force at p_at (a tier created later is absent).
-- Retention thresholds default to the entry thresholds.
CREATE FUNCTION points.tiers_at(p_program integer, p_at timestamptz)
RETURNS TABLE (tier text, rank smallint, entry_points bigint, entry_spend_minor bigint, retain_points bigint,
               retain_spend_minor bigint, multiplier numeric, birthday_bonus bigint, effective_at timestamptz)
LANGUAGE sql STABLE AS $$
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
GRANT SELECT ON points.qualifying_totals TO {{writer}}, {{auditor}};
ALTER TABLE points.members
    ADD COLUMN q_period date,
    ADD COLUMN q_points points.amount_not_negative NOT NULL DEFAULT 0,
    ADD COLUMN q_spend points.amount_not_negative NOT NULL DEFAULT 0;

-- The tiers' entry thresholds and multipliers in force from ladder_since on (the latest
-- versions), in rank order, kept on the program's row so that a posting can tell without a query
-- its member's multiplier and whether its member reached a higher tier. Refreshed whenever tier
-- settings change.
ALTER TABLE points.programs
    ADD COLUMN ladder_since timestamptz,
    ADD COLUMN ladder_tiers text[],
    ADD COLUMN ladder_points bigint[],
    ADD COLUMN ladder_spend bigint[],
    ADD COLUMN ladder_multipliers numeric[];

CREATE FUNCTION points.refresh_ladder(p_program integer) RETURNS void
LANGUAGE plpgsql AS $$
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

-- The multiplier of tier p_tier at p_at: from the program's ladder when p_at is within it (no
-- query; one expression, so the planner inlines it into the caller), else from the version in
-- force then.
CREATE FUNCTION points.multiplier_at(p_program integer, p_tier text, p_at timestamptz) RETURNS numeric
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_multiplier numeric;
BEGIN
    SELECT ts.multiplier INTO v_multiplier FROM points.tier_settings AS ts
    WHERE ts.program_id = p_program AND ts.tier = p_tier AND ts.effective_at <= p_at
    ORDER BY ts.effective_at DESC LIMIT 1;
    RETURN v_multiplier;
END
$$;
CREATE FUNCTION points.multiplier_in_force(
    p_program integer, p_tier text, p_at timestamptz, p_ladder_since timestamptz, p_ladder_tiers text[],
    p_ladder_multipliers numeric[])
RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_at >= p_ladder_since THEN p_ladder_multipliers[array_position(p_ladder_tiers, p_tier)]
                ELSE points.multiplier_at(p_program, p_tier, p_at) END
$$;

CREATE TYPE points.tier_change_cause AS ENUM
    ('upgrade', 'evaluation', 'refund', 'grant', 'override', 'grant_end', 'override_end');

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
CREATE TRIGGER tier_changes_append_only BEFORE UPDATE OR DELETE ON points.tier_changes
    FOR EACH ROW EXECUTE FUNCTION points.forbid_journal_rewrite();
CREATE TRIGGER tier_changes_no_truncate BEFORE TRUNCATE ON points.tier_changes
    FOR EACH STATEMENT EXECUTE FUNCTION points.forbid_journal_rewrite();
GRANT SELECT ON points.tier_changes TO {{writer}}, {{auditor}};

-- Adds qualifying points and spend to a member's totals of the period starting p_period and
-- returns that period's totals: on the member's row when it is the member's latest period (a
-- later period moves the row's totals to qualifying_totals first), else in qualifying_totals.
-- The caller holds the member's row lock. (Purchases do the same inline: see points.purchase.)
CREATE FUNCTION points.add_qualifying(
    p_program integer, p_member text, p_period date, p_points bigint, p_spend_minor bigint,
    OUT total_points bigint, OUT total_spend bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_member record;
BEGIN
    SELECT m.q_period, m.q_points, m.q_spend INTO v_member FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = p_member;
    IF v_member.q_period IS NULL OR p_period >= v_member.q_period THEN
        IF p_period > v_member.q_period THEN
            INSERT INTO points.qualifying_totals (program_id, member_id, period_start, points, spend_minor)
            VALUES (p_program, p_member, v_member.q_period, v_member.q_points, v_member.q_spend);
            v_member.q_points := 0;
            v_member.q_spend := 0;
        END IF;
        total_points := v_member.q_points + p_points;
        total_spend := v_member.q_spend + p_spend_minor;
        UPDATE points.members AS m SET q_period = p_period, q_points = total_points, q_spend = total_spend
        WHERE m.program_id = p_program AND m.member_id = p_member;
    ELSE
        INSERT INTO points.qualifying_totals AS q (program_id, member_id, period_start, points, spend_minor)
        VALUES (p_program, p_member, p_period, p_points, p_spend_minor)
        ON CONFLICT ON CONSTRAINT qualifying_totals_pkey DO UPDATE
            SET points = q.points + EXCLUDED.points, spend_minor = q.spend_minor + EXCLUDED.spend_minor
        RETURNING q.points, q.spend_minor INTO total_points, total_spend;
    END IF;
END
$$;

-- The highest tier above p_earned whose entry threshold the totals reach at p_at, or NULL: from
-- the program's ladder when p_at is within it (no query), else from the versions in force then.
CREATE FUNCTION points.tier_reached_above(
    p_program integer, p_earned text, p_at timestamptz, p_points bigint, p_spend_minor bigint,
    p_ladder_since timestamptz, p_ladder_tiers text[], p_ladder_points bigint[], p_ladder_spend bigint[])
RETURNS text
LANGUAGE plpgsql STABLE AS $$
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

-- Whether the totals may reach a tier above p_earned at p_at: false only when the ladder applies
-- and no higher tier's entry threshold is reached, which is what most postings find. One
-- expression, so the planner inlines it and a posting calls tier_reached_above only when it may
-- find a tier.
CREATE FUNCTION points.may_reach_above(
    p_earned text, p_at timestamptz, p_points bigint, p_spend_minor bigint,
    p_ladder_since timestamptz, p_ladder_tiers text[], p_ladder_points bigint[], p_ladder_spend bigint[])
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (p_at < p_ladder_since) IS NOT FALSE
        OR p_points >= ANY (p_ladder_points[coalesce(array_position(p_ladder_tiers, p_earned), 0) + 1:])
        OR coalesce(p_spend_minor >= ANY (p_ladder_spend[coalesce(array_position(p_ladder_tiers, p_earned), 0) + 1:]), false)
$$;

-- Moves a member up from p_from to p_to, reached in the period starting p_period by the totals
-- given (upgrade: at once; the event p_entry crossed the threshold), and records it. The caller
-- holds the member's row lock.
CREATE FUNCTION points.apply_upgrade(
    p_program integer, p_member text, p_from text, p_to text, p_at timestamptz, p_period date, p_points bigint,
    p_spend_minor bigint, p_entry bigint)
RETURNS void
-- plpgsql, so its statements' plans are cached: a LANGUAGE sql function of two statements is
-- parsed and planned again on every call (see settings_at).
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE points.members AS m SET
        tier = p_to,
        tier_before_upgrade = CASE WHEN m.tier_reached_period = p_period THEN m.tier_before_upgrade ELSE p_from END,
        tier_reached_period = p_period,
        override_until = NULL,
        override_previous = NULL
    WHERE m.program_id = p_program AND m.member_id = p_member;
    INSERT INTO points.tier_changes (program_id, member_id, occurred_at, from_tier, to_tier, cause, period_start,
                                     qualifying_points, qualifying_spend_minor, entry_id)
    VALUES (p_program, p_member, p_at, p_from, p_to, 'upgrade', p_period, p_points, p_spend_minor, p_entry);
END
$$;

-- The start of the tier period that contains p_at (by the tier period in force then, in the
-- program's time zone), and whether that period has been evaluated already (closed).
CREATE FUNCTION points.tier_period_at(p_program integer, p_at timestamptz, OUT period_start date, OUT closed boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT points.tier_period_start(s.tier_period, p_at, p.time_zone), p_at < coalesce(p.tiers_closed_until, '-infinity')
    INTO period_start, closed
    FROM points.programs AS p CROSS JOIN LATERAL points.settings_at(p.program_id, p_at) AS s
    WHERE p.program_id = p_program;
END
$$;

-- Adds an event's qualifying points and spend to the totals of its period and, when that period
-- is still open, moves the member up at once to the highest tier whose entry threshold the
-- totals now reach. The caller holds the member's row lock and has already posted the event (at
-- the multiplier of the tier before it). Returns the new tier, or NULL. (Task completions and
-- the like; purchases do it inline.)
CREATE FUNCTION points.qualify(
    p_program integer, p_member text, p_at timestamptz, p_points bigint, p_spend_minor bigint, p_entry bigint)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_period record := points.tier_period_at(p_program, p_at);
    v_totals record;
    v_earned text;
    v_to text;
BEGIN
    SELECT * INTO v_totals FROM points.add_qualifying(p_program, p_member, v_period.period_start, p_points, p_spend_minor);
    IF v_period.closed THEN
        RETURN NULL;
    END IF;
    SELECT CASE WHEN m.override_until <= p_at THEN m.override_previous ELSE m.tier END,
           points.tier_reached_above(p_program, CASE WHEN m.override_until <= p_at THEN m.override_previous ELSE m.tier END,
               p_at, v_totals.total_points, v_totals.total_spend, p.ladder_since, p.ladder_tiers, p.ladder_points, p.ladder_spend)
    INTO v_earned, v_to
    FROM points.members AS m JOIN points.programs AS p ON p.program_id = m.program_id
    WHERE m.program_id = p_program AND m.member_id = p_member;
    IF v_to IS NOT NULL THEN
        PERFORM points.apply_upgrade(p_program, p_member, v_earned, v_to, p_at, v_period.period_start, v_totals.total_points,
            v_totals.total_spend, p_entry);
    END IF;
    RETURN v_to;
END
$$;

-- Takes a refund's clawed-back points and refunded spend off the totals of the period of its
-- purchase (p_purchase_at). If the member's tier was reached by an upgrade in that period and
-- the period is still open, the member returns to the higher of the tier held before the
-- period's first upgrade and the highest tier whose entry threshold the remaining totals still
-- reach (by the settings in force at the refund, p_at). The caller holds the member's row lock.
-- Returns the new tier, or NULL.
CREATE FUNCTION points.disqualify(
    p_program integer, p_member text, p_purchase_at timestamptz, p_points bigint, p_spend_minor bigint,
    p_at timestamptz, p_entry bigint)
RETURNS text
LANGUAGE plpgsql AS $$
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

-- Creates a tier (p_rank given, with its entry points) or changes a tier's settings from
-- p_effective_at on; the other settings keep the values in force then. The settings in force
-- at every moment from then on must keep thresholds that rise with rank. Recorded with who,
-- when, before and after. Returns status 'changed', 'unchanged', 'in_past', 'unknown_tier' (a
-- new tier without a rank and entry points), 'rank_taken' (another tier has the rank),
-- 'rank_fixed' (an existing tier's rank cannot change) or 'not_rising' (with the offending
-- pair of tiers in detail).
CREATE FUNCTION points.set_tier(
    p_program integer, p_tier text, p_rank smallint, p_changes jsonb, p_effective_at points.event_time, p_actor points.label_text)
RETURNS TABLE (status text, effective_at timestamptz, detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_rank smallint;
    v_before points.tier_settings;
    v_after points.tier_settings;
    v_bad record;
BEGIN
    IF NOT points.begin_configuration_change(p_program, p_effective_at) THEN
        RETURN QUERY SELECT 'in_past', p_effective_at::timestamptz, NULL::text;
        RETURN;
    END IF;
    SELECT t.rank INTO v_rank FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = p_tier;
    IF NOT FOUND THEN
        IF p_rank IS NULL OR NOT p_changes ? 'entry_points' THEN
            RETURN QUERY SELECT 'unknown_tier', p_effective_at::timestamptz, NULL::text;
            RETURN;
        END IF;
        IF EXISTS (SELECT 1 FROM points.tiers AS t WHERE t.program_id = p_program AND t.rank = p_rank) THEN
            RETURN QUERY SELECT 'rank_taken', p_effective_at::timestamptz, t.tier FROM points.tiers AS t
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
            RETURN QUERY SELECT 'rank_fixed', p_effective_at::timestamptz, v_rank::text;
            RETURN;
        END IF;
        SELECT ts.* INTO v_before FROM points.tier_settings AS ts
        WHERE ts.program_id = p_program AND ts.tier = p_tier AND ts.effective_at <= p_effective_at
        ORDER BY ts.effective_at DESC LIMIT 1;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'unknown_tier', p_effective_at::timestamptz, NULL::text;
            RETURN;
        END IF;
        v_after := jsonb_populate_record(v_before, p_changes);
        v_after.effective_at := p_effective_at;
        IF to_jsonb(v_after) - 'effective_at' = to_jsonb(v_before) - 'effective_at' THEN
            RETURN QUERY SELECT 'unchanged', v_before.effective_at, NULL::text;
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
    RETURN QUERY SELECT 'changed', p_effective_at::timestamptz, NULL::text;
END
$$;

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
GRANT SELECT ON points.tier_evaluations, points.tier_evaluation_counts TO {{writer}}, {{auditor}};

-- The period to evaluate next, if it has ended by p_as_of: one already started and not finished,
-- else the one after the last finished (the first: the period of the program's creation or of
-- its oldest qualifying totals, whichever is earlier). Starts it. Returns nothing when no period
-- is due.
CREATE FUNCTION points.next_tier_period(p_program integer, p_as_of points.event_time)
RETURNS TABLE (period_start date, period_kind text, period_end timestamptz, resumed boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
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

-- Evaluates the next p_limit members (in id order) for the period being evaluated, which starts
-- p_period_start, by the tier settings and downgrade policy in force at its last instant:
-- a member who reached their tier during the period (or later: a late run) keeps it; one whose totals meet their tier's
-- retention threshold keeps it; the others move down by the policy. Nobody ends below the
-- highest tier whose entry threshold their totals reach (totals that were loaded late, or
-- thresholds lowered during the period). A tier raised here counts as reached in the period.
-- When no member is left, the evaluation is finished and the period closed. Idempotent and
-- resumable. Returns the members evaluated and changed in this chunk, and whether it finished.
CREATE FUNCTION points.evaluate_tiers(p_program integer, p_period_start date, p_limit integer)
RETURNS TABLE (members integer, changed integer, finished boolean)
-- Plans that stay linear in the chunk whatever the statistics say: index probes per member
-- (never a scan of the program's members or totals), and no JIT for these few-millisecond
-- statements.
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off AS $$
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
GRANT SELECT ON points.tier_grants TO {{writer}}, {{auditor}};


-- The tier that applies to a member at p_at, whose earned tier is p_earned: the highest of it
-- and the tiers of the grants active then.
CREATE FUNCTION points.effective_tier(p_program integer, p_member text, p_earned text, p_at timestamptz) RETURNS text
LANGUAGE plpgsql STABLE AS $$
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

-- The tier whose multiplier and benefits apply to a member row at p_at: its earned tier (the
-- one before an override that has ended by then), raised by any active grant.
CREATE FUNCTION points.tier_at(p_program integer, p_member text, p_tier text, p_override_until timestamptz,
                               p_override_previous text, p_granted_until timestamptz, p_at timestamptz) RETURNS text
-- One expression without FROM, so the planner inlines it into the caller's query (a FROM made
-- every purchase run it through the SQL-function executor: a tenth of the purchase's time).
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_granted_until > p_at
                THEN points.effective_tier(p_program, p_member,
                         CASE WHEN p_override_until <= p_at THEN p_override_previous ELSE p_tier END, p_at)
                ELSE CASE WHEN p_override_until <= p_at THEN p_override_previous ELSE p_tier END END
$$;

-- Grants a member tier p_tier for a term from p_from (NULL: now). The same grant again (by key
-- when one is given, else by member, tier, term and start) posts nothing. Returns status
-- 'granted', 'exists', 'conflict' (the key names another grant), 'unknown_member' or
-- 'unknown_tier', with the grant and the member's effective tier at its start before and after.
CREATE FUNCTION points.grant_tier(
    p_program integer, p_member points.member_key, p_tier text, p_term text, p_from points.event_time, p_actor points.label_text, p_key points.idempotency_key)
RETURNS TABLE (status text, grant_id bigint, starts_at timestamptz, ends_at timestamptz, tier_before text, tier_after text)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
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
        RETURN QUERY SELECT 'unknown_member', NULL::bigint, NULL::timestamptz, NULL::timestamptz, NULL::text, NULL::text;
        RETURN;
    END IF;
    SELECT g.* INTO v_existing FROM points.tier_grants AS g WHERE g.program_id = p_program AND g.grant_key = p_key;
    IF FOUND THEN
        RETURN QUERY SELECT
            CASE WHEN v_existing.member_id = p_member AND v_existing.tier = p_tier AND v_existing.term = p_term
                      AND v_existing.starts_at = coalesce(p_from::timestamptz, v_existing.starts_at) THEN 'exists' ELSE 'conflict' END,
            v_existing.grant_id, v_existing.starts_at, v_existing.ends_at,
            points.tier_at(p_program, p_member, v_member.tier, v_member.override_until, v_member.override_previous,
                           v_member.granted_until, v_existing.starts_at),
            points.tier_at(p_program, p_member, v_member.tier, v_member.override_until, v_member.override_previous,
                           v_member.granted_until, v_existing.starts_at);
        RETURN;
    END IF;
    p_from := coalesce(p_from, now());
    IF NOT EXISTS (SELECT 1 FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = p_tier) THEN
        RETURN QUERY SELECT 'unknown_tier', NULL::bigint, NULL::timestamptz, NULL::timestamptz, NULL::text, NULL::text;
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
        RETURN QUERY SELECT 'exists', g.grant_id, g.starts_at, g.ends_at, v_before, v_before FROM points.tier_grants AS g
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
    RETURN QUERY SELECT 'granted', v_grant, p_from::timestamptz, v_ends, v_before, v_after;
END
$$;

-- Sets a member's earned tier by hand, with a reason, until p_until (NULL: until the next
-- evaluation or upgrade changes it). Returns status 'overridden', 'unchanged' (already so),
-- 'unknown_member' or 'unknown_tier', with the earned tier before.
CREATE FUNCTION points.override_tier(
    p_program integer, p_member points.member_key, p_tier text, p_reason points.label_text, p_until points.event_time, p_actor points.label_text)
RETURNS TABLE (status text, tier_before text)
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
DECLARE
    v_member points.members;
    v_ended boolean;
BEGIN
    SELECT m.* INTO v_member FROM points.members AS m
    WHERE m.program_id = p_program AND m.member_id = p_member FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_member', NULL::text;
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM points.tiers AS t WHERE t.program_id = p_program AND t.tier = p_tier) THEN
        RETURN QUERY SELECT 'unknown_tier', NULL::text;
        RETURN;
    END IF;
    -- The earned tier now: the one before an override that has ended (jobs tiers may not have
    -- recorded its end yet).
    v_ended := v_member.override_until <= now();
    IF v_ended THEN
        v_member.tier := v_member.override_previous;
        v_member.override_until := NULL;
    ELSIF v_member.tier = p_tier AND v_member.override_until IS NOT DISTINCT FROM p_until THEN
        RETURN QUERY SELECT 'unchanged', v_member.tier;
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
    RETURN QUERY SELECT 'overridden', v_member.tier;
END
$$;

-- Records what ended by p_as_of: overrides (the earned tier returns to the one before) and
-- grants (a change when the effective tier drops). Part of `jobs tiers`; idempotent. Returns the
-- number of tier changes recorded.
CREATE FUNCTION points.end_tier_terms(p_program integer, p_as_of points.event_time) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, points, pg_temp AS $$
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

SELECT points.refresh_ladder(p.program_id) FROM points.programs AS p;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA points FROM PUBLIC;
