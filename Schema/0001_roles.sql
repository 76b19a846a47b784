-- The three roles of the ledger (DESIGN.md, principle 8), with the names chosen at the first
-- `points-admin db migrate` ({{owner}}, {{writer}}, {{auditor}} are filled in by the migrator):
--   owner   owns every object and runs migrations;
--   writer  is what checkout systems and apps use: it posts through the ledger's functions and
--           can never update or delete a ledger row;
--   auditor reads everything and changes nothing.
-- They are group roles (NOLOGIN): grant them to the login roles of each system.
-- Roles belong to the whole cluster, so a role that exists already is taken as it is.

-- Text is valid UTF-8 (DESIGN.md, principle 8): in a UTF8 database the server refuses any other
-- bytes, whatever a client sends; SQL_ASCII would store them unchecked.
DO $encoding$
BEGIN
    IF pg_catalog.getdatabaseencoding() <> 'UTF8' THEN
        RAISE EXCEPTION 'database % uses the encoding %; the ledger needs UTF8', current_database(), pg_catalog.getdatabaseencoding()
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Create the database with ENCODING ''UTF8'' (for example: createdb -E UTF8 -T template0 NAME).';
    END IF;
END
$encoding$;

DO $roles$
BEGIN
    BEGIN
        CREATE ROLE {{owner}} NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    BEGIN
        CREATE ROLE {{writer}} NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    BEGIN
        CREATE ROLE {{auditor}} NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    -- A migrator that is not a superuser acts as the owner through membership.
    IF NOT pg_has_role(current_user, {{owner_name}}, 'MEMBER') THEN
        EXECUTE format('GRANT %I TO %I', {{owner_name}}, current_user);
    END IF;
END
$roles$;

CREATE SCHEMA points AUTHORIZATION {{owner}};
GRANT USAGE ON SCHEMA points TO {{writer}}, {{auditor}};

-- Functions are executable by PUBLIC unless revoked; the ledger grants each one explicitly.
ALTER DEFAULT PRIVILEGES FOR ROLE {{owner}} IN SCHEMA points REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE {{owner}} IN SCHEMA points GRANT SELECT ON TABLES TO {{writer}}, {{auditor}};
