-- A replay answers exactly what the original answered (DESIGN.md, principle 13): each write
-- keeps, beside what it wrote, the member's balances it answered with (and a redemption the
-- stock it left, a task completion whether it filled a cap), so that a retry of it reads them
-- back instead of today's. Rows written before this migration have none: their replays answer
-- with the balances of the moment, as before.
SET LOCAL ROLE {{owner}};

ALTER TABLE points.purchases ADD COLUMN available_after bigint, ADD COLUMN pending_after bigint;
ALTER TABLE points.holds
    ADD COLUMN available_after bigint, ADD COLUMN held_after bigint,
    ADD COLUMN resolved_available_after bigint, ADD COLUMN resolved_held_after bigint;
ALTER TABLE points.redemptions ADD COLUMN available_after bigint, ADD COLUMN held_after bigint, ADD COLUMN stock_left bigint;
ALTER TABLE points.task_completions ADD COLUMN available_after bigint, ADD COLUMN cap_reached boolean;
