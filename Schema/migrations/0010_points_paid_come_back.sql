-- Points paid on an order come back with its refunds (RULES.md, Refunds): a hold captured for an
-- order names it (holds.order_id), and the order keeps the points its refunds have returned so
-- far (purchases.points_returned), so that a later refund returns the rest in proportion, as a
-- clawback does with the points earned.
SET LOCAL ROLE {{owner}};

ALTER TABLE points.holds ADD COLUMN order_id points.idempotency_key;
ALTER TABLE points.purchases ADD COLUMN points_returned points.amount_not_negative NOT NULL DEFAULT 0;
