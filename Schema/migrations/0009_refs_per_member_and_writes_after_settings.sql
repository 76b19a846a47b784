-- A task's reference is unique per member and task, not across the program: two members may
-- share the same article (RULES.md, Idempotency). The journal's idempotency keys stay unique per
-- program and scope, with the member as part of the key of a task's completion: key_member is
-- the member for the scope 'task' and '' for every other scope, whose keys name one request in
-- the whole program (an order, a refund, a redemption's key).
--
-- A write dated before the program's settings were first in force is refused ('before_settings'),
-- so that no write is ever posted under built-in defaults (RULES.md, Redemption and holds).
SET LOCAL ROLE {{owner}};

ALTER TABLE points.journal_entries
    ADD COLUMN key_member text COLLATE "C" NOT NULL
        GENERATED ALWAYS AS (CASE WHEN key_scope = 'task' THEN member_id ELSE '' END) STORED;
ALTER TABLE points.journal_entries DROP CONSTRAINT idempotency_key_unique;
ALTER TABLE points.journal_entries
    ADD CONSTRAINT idempotency_key_unique UNIQUE (program_id, key_scope, idempotency_key, key_member);

ALTER TYPE points.purchase_status ADD VALUE 'before_settings';
ALTER TYPE points.refund_status ADD VALUE 'before_settings';
ALTER TYPE points.adjust_status ADD VALUE 'before_settings';
ALTER TYPE points.complete_task_status ADD VALUE 'before_settings';
ALTER TYPE points.redeem_status ADD VALUE 'before_settings';
