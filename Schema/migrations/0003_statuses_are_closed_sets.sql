-- Statuses are closed sets (DESIGN.md, principle 11). Each function that answers a caller with
-- a status returns it as its own enumeration, points.<function>_status: the server refuses a
-- status outside the set (plpgsql_check and the first call name a stray literal), so the set
-- written here is the whole contract, and the Swift library maps each label to a case of its
-- own enumeration. The outcome that did what was asked comes first, then replays and
-- conflicts, then refusals.
SET LOCAL ROLE {{owner}};

-- Postings (earning/, adjustment.sql, tasks/completion.sql, import/).
CREATE TYPE points.purchase_status AS ENUM
    ('posted', 'replayed', 'conflict', 'unknown_member', 'in_future', 'too_old');
CREATE TYPE points.refund_status AS ENUM
    ('refunded', 'replayed', 'conflict', 'unknown_order', 'exceeds_order', 'before_purchase', 'in_future', 'too_old');
CREATE TYPE points.adjust_status AS ENUM
    ('posted', 'replayed', 'conflict', 'insufficient_points', 'unknown_member');
CREATE TYPE points.complete_task_status AS ENUM
    ('completed', 'replayed', 'conflict', 'unknown_member', 'unknown_task', 'inactive', 'bad_ref', 'in_future', 'too_old');
-- A batch's status is per line.
CREATE TYPE points.import_purchase_batch_status AS ENUM ('accepted', 'duplicate', 'rejected');

-- Spending (redemption/).
CREATE TYPE points.redeem_status AS ENUM
    ('redeemed', 'replayed', 'conflict', 'unknown_member', 'unknown_reward', 'inactive', 'tier_too_low', 'limit_reached',
     'insufficient_points', 'out_of_stock');
CREATE TYPE points.create_hold_status AS ENUM
    ('held', 'replayed', 'conflict', 'unknown_member', 'insufficient_points');
-- 'resolved': the hold was resolved otherwise before (the hold's state says how).
CREATE TYPE points.resolve_hold_status AS ENUM
    ('captured', 'voided', 'replayed', 'resolved', 'unknown_hold', 'exceeds_hold', 'insufficient_points');

-- Members and programs.
CREATE TYPE points.create_member_status AS ENUM ('created', 'exists', 'conflict', 'unknown_referrer');
CREATE TYPE points.create_program_status AS ENUM ('created', 'exists', 'conflict');

-- Configuration (settings, tasks, tiers, rewards) and tier standing.
CREATE TYPE points.set_program_settings_status AS ENUM ('changed', 'unchanged', 'in_past', 'tier_period_mid_year');
CREATE TYPE points.set_task_status AS ENUM ('changed', 'unchanged', 'in_past', 'unknown_task');
CREATE TYPE points.set_tier_status AS ENUM ('changed', 'unchanged', 'in_past', 'unknown_tier', 'rank_taken', 'rank_fixed');
CREATE TYPE points.set_reward_status AS ENUM ('created', 'changed', 'unchanged', 'incomplete', 'unknown_tier');
CREATE TYPE points.grant_tier_status AS ENUM ('granted', 'exists', 'conflict', 'unknown_member', 'unknown_tier');
CREATE TYPE points.override_tier_status AS ENUM ('overridden', 'unchanged', 'unknown_member', 'unknown_tier');
