-- Grants, deductions and redemptions may carry their original time (a program moving in its
-- history, a correction dated when it happened), with the same window and the same recorded
-- back-dating permission as purchases: a time more than five minutes ahead is refused
-- ('in_future'), one older than the program's back-dating window without the permission
-- ('too_old'). Their functions (adjustment.sql, redemption/redeem.sql) answer these statuses.
SET LOCAL ROLE {{owner}};

ALTER TYPE points.adjust_status ADD VALUE 'in_future';
ALTER TYPE points.adjust_status ADD VALUE 'too_old';
ALTER TYPE points.redeem_status ADD VALUE 'in_future';
ALTER TYPE points.redeem_status ADD VALUE 'too_old';
