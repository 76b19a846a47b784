-- Each sealed block keeps, beside its SHA-256 hash, a fingerprint of the rows it sealed: the sum
-- modulo 2^64 of a 64-bit hash of every entry and every movement in its range
-- (finance/journal_digest.sql). `audit verify` recomputes every block's fingerprint in one pass
-- over the journal, and `audit verify --deep` every hash. Blocks sealed before this migration
-- have none: `audit verify` recomputes their hashes, as before.
SET LOCAL ROLE {{owner}};

ALTER TABLE points.journal_blocks ADD COLUMN fingerprint bigint;
