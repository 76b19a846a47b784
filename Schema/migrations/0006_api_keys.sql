-- API keys of points-server: each scoped to one program and one role (a checkout system, a
-- member app, finance), kept as the SHA-256 of its secret only. The secret is shown once, when
-- the key is made (points-admin api-key create), and stored nowhere; a key revoked stops
-- working at once. Only the owner (the admin's role) reads or writes this table; the server
-- checks a key through points.authenticate_api_key (functions/api_keys.sql).
SET LOCAL ROLE {{owner}};

CREATE TYPE points.api_role AS ENUM ('checkout', 'app', 'finance');

CREATE TABLE points.api_keys (
    key_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    program_id integer NOT NULL REFERENCES points.programs,
    role points.api_role NOT NULL,
    name points.label_text NOT NULL,
    secret_hash bytea NOT NULL CONSTRAINT api_key_hash_is_sha256 CHECK (octet_length(secret_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by points.label_text NOT NULL,
    revoked_at timestamptz,
    revoked_by points.label_text,
    CONSTRAINT api_key_hash_unique UNIQUE (secret_hash),
    CONSTRAINT api_key_revoked_by_someone CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
-- A name names one key in force in its program; revoked keys keep theirs.
CREATE UNIQUE INDEX api_key_name_in_force ON points.api_keys (program_id, name) WHERE revoked_at IS NULL;

REVOKE ALL ON points.api_keys FROM PUBLIC;
