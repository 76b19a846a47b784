-- From an outside security review of the first release's schema.
--
-- A staged import line belongs to the transaction that staged it: the batch call reads only its
-- own transaction's rows of the batch, so a writer can no longer stage lines (or poisoned ones)
-- under batch ids another session will draw. The writer may not set staged_by; line numbers are
-- unique within a batch.
SET LOCAL ROLE {{owner}};

ALTER TABLE points.import_staging ADD COLUMN staged_by xid8 NOT NULL DEFAULT pg_current_xact_id();
DROP INDEX points.import_staging_batch;
CREATE UNIQUE INDEX import_staging_batch ON points.import_staging (batch_id, line);
REVOKE INSERT ON points.import_staging FROM {{writer}};
GRANT INSERT (batch_id, line, order_id, member_id, amount_minor, points_paid_minor, occurred_at, referrer)
    ON points.import_staging TO {{writer}};

-- A table added later is read by nobody until its migration grants it: a new table (API keys,
-- say) must not become readable by the writer by default.
ALTER DEFAULT PRIVILEGES FOR ROLE {{owner}} IN SCHEMA points REVOKE SELECT ON TABLES FROM {{writer}}, {{auditor}};

-- Ids refuse every default-ignorable code point (Unicode's invisible characters: Hangul fillers,
-- variation selectors, the combining grapheme joiner, ...) and the blank braille pattern, beside
-- what they refused before, so that two ids that look alike are the same bytes.
ALTER DOMAIN points.id_text DROP CONSTRAINT id_text_format;
ALTER DOMAIN points.id_text ADD CONSTRAINT id_text_format CHECK (
    VALUE <> ''
    AND VALUE !~ '[\x01-\x1f\x7f-\x9f\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffd\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]'
    AND VALUE !~ '^[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]|[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]$'
    AND VALUE IS NFC NORMALIZED);
