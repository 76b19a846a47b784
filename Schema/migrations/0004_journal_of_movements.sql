-- The journal as movements, balanced by construction (DESIGN.md, principle 1; RULES.md,
-- "Accounts and postings"). A movement takes a positive number of points from one account of
-- the entry's member (or of the program's buckets on that member's row) and gives them to
-- another: one row cannot be unbalanced, so nothing needs to sum anything, and no trigger an
-- owner could disable holds the rule. An entry of several legs (a refund that claws back
-- pending and available points and writes off the rest) is several movements under one entry.
-- What finance reads as postings (an account and a signed amount per entry) is a view over
-- them, the same rows the table of postings held.
SET LOCAL ROLE {{owner}};

CREATE TABLE points.movements (
    program_id integer NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    entry_id bigint NOT NULL,
    -- The movement's place in its entry, from 1.
    leg smallint NOT NULL CONSTRAINT movement_leg_positive CHECK (leg >= 1),
    -- The account the points leave (its balance falls by amount) and the one they reach.
    from_account points.account NOT NULL,
    to_account points.account NOT NULL,
    amount bigint NOT NULL CONSTRAINT movement_amount_positive CHECK (amount > 0),
    -- The entry's time, here too: reports of a period scan the movements alone.
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (program_id, member_id, entry_id, leg),
    CONSTRAINT movement_between_two_accounts CHECK (from_account <> to_account)
);
CREATE INDEX movements_by_entry ON points.movements USING brin (entry_id) WITH (autosummarize = on);
CREATE INDEX movements_by_time ON points.movements USING brin (occurred_at) WITH (autosummarize = on);

-- Each entry's postings become movements: its accounts that lost points and those that gained
-- them, each laid end to end in account order, and a movement wherever a loss and a gain
-- overlap. The postings of every entry summed to zero (a trigger saw to it), so the two lines
-- have the same length and every point is paired.
WITH lines AS (
    SELECT p.program_id, p.member_id, p.entry_id, p.account, abs(p.amount) AS amount, p.amount < 0 AS loss, p.occurred_at,
           sum(abs(p.amount)) OVER (
               PARTITION BY p.program_id, p.member_id, p.entry_id, p.amount < 0 ORDER BY p.account) AS reach
    FROM points.postings AS p
), legs AS (
    SELECT f.program_id, f.member_id, f.entry_id, f.account AS from_account, t.account AS to_account,
           least(f.reach, t.reach) - greatest(f.reach - f.amount, t.reach - t.amount) AS amount, f.occurred_at
    FROM lines AS f
    JOIN lines AS t ON t.program_id = f.program_id AND t.member_id = f.member_id AND t.entry_id = f.entry_id AND NOT t.loss
     AND t.reach - t.amount < f.reach AND f.reach - f.amount < t.reach
    WHERE f.loss
)
INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
SELECT l.program_id, l.member_id, l.entry_id,
       row_number() OVER (PARTITION BY l.program_id, l.member_id, l.entry_id ORDER BY l.from_account, l.to_account),
       l.from_account, l.to_account, l.amount, l.occurred_at
FROM legs AS l;

-- The movements give back every posting, or the migration stops here.
DO $$
BEGIN
    IF EXISTS (
        (SELECT program_id, member_id, entry_id, account, amount FROM points.postings)
        EXCEPT
        (SELECT program_id, member_id, entry_id, account, sum(amount)
         FROM (SELECT program_id, member_id, entry_id, from_account AS account, -amount AS amount FROM points.movements
               UNION ALL
               SELECT program_id, member_id, entry_id, to_account, amount FROM points.movements) AS m
         GROUP BY program_id, member_id, entry_id, account)) THEN
        RAISE EXCEPTION 'the journal holds postings that do not balance; repair them before this migration'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'entry_balances';
    END IF;
END
$$;

DROP TABLE points.postings;

-- An entry's postings: per account, the points its movements gave less those they took. What
-- the hledger and CSV exports, the reports and the sealed blocks' canonical form read.
CREATE VIEW points.postings AS
SELECT m.program_id, m.member_id, m.entry_id, m.account, sum(m.amount)::bigint AS amount, m.occurred_at
FROM (SELECT program_id, member_id, entry_id, from_account AS account, -amount AS amount, occurred_at FROM points.movements
      UNION ALL
      SELECT program_id, member_id, entry_id, to_account, amount, occurred_at FROM points.movements) AS m
GROUP BY m.program_id, m.member_id, m.entry_id, m.account, m.occurred_at
HAVING sum(m.amount) <> 0;

REVOKE ALL ON points.movements, points.postings FROM PUBLIC;
GRANT SELECT ON points.movements, points.postings TO {{writer}}, {{auditor}};
