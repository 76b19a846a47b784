-- Imports of a program's history beside its purchases: refunds, redemptions, grants and
-- deductions (opening balances among them) and task completions, staged in batches like
-- purchases (points.import_staging) and posted by points.import_history_batch
-- (functions/import/history_import.sql), each line by the same function as a single call.
-- A staged line belongs to the transaction that staged it, and lives only until that
-- transaction's batch call: unlogged, since a batch lost to a crash is simply sent again.
SET LOCAL ROLE {{owner}};

CREATE TYPE points.history_kind AS ENUM ('refund', 'redemption', 'adjustment', 'task');

CREATE UNLOGGED TABLE points.import_history_staging (
    batch_id bigint NOT NULL,
    line bigint NOT NULL,
    staged_by xid8 NOT NULL DEFAULT pg_current_xact_id(),
    -- The line's idempotency key: a refund's id, a redemption's or an adjustment's key, a task
    -- completion's ref (NULL: a check-in's local date).
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
CREATE UNIQUE INDEX import_history_staging_batch ON points.import_history_staging (batch_id, line);

REVOKE ALL ON points.import_history_staging FROM PUBLIC;
GRANT INSERT (batch_id, line, record_key, member_id, order_id, points, amount_minor, reward, quantity, reason, actor, task,
              occurred_at, expires_at)
    ON points.import_history_staging TO {{writer}};
