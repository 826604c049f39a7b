-- 079: the database is the only door (DESIGN §4).
--
-- From here on no login role writes a table of the schema: the four groups keep SELECT
-- and lose INSERT, UPDATE, DELETE, TRUNCATE (and REFERENCES, TRIGGER), on every table
-- and sequence there is. Every change goes through the schema's functions (070, 072),
-- which run as stpm_owner — a role nobody can log in as — with a pinned search_path
-- whose pg_temp comes last, check the caller's group, enforce the workflow's rules and
-- write the row and its event in one transaction with session_user as the actor.
--
-- stpm.door_close() does the work and is idempotent: a later migration that creates a
-- table or a function ends with `SELECT stpm.door_close();`, so that what it made is
-- owned by stpm_owner and written by nobody else either.
--
-- stpm.user_add (both forms) stays owned by the role that applies the migrations: creating
-- login roles needs CREATEROLE, which stpm_owner does not have (it checks that an
-- administrator calls it, and only grants membership of the four groups).

-- The role applying migrations keeps the right to change what stpm_owner owns.
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT stpm_owner TO %I', current_user);
    END IF;
END $$;

CREATE FUNCTION stpm.door_close() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
    groups constant text := 'stpm_admin, stpm_officer, stpm_expert, stpm_auditor';
BEGIN
    GRANT USAGE, CREATE ON SCHEMA stpm TO stpm_owner;
    FOR r IN SELECT c.oid::regclass AS rel, c.relkind
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'stpm' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    LOOP
        IF r.relkind = 'S' THEN
            EXECUTE format('REVOKE USAGE, UPDATE ON SEQUENCE %s FROM PUBLIC, %s', r.rel, groups);
            EXECUTE format('GRANT SELECT ON SEQUENCE %s TO %s', r.rel, groups);
        ELSE
            EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON %s '
                           'FROM PUBLIC, %s', r.rel, groups);
            EXECUTE format('GRANT SELECT ON %s TO %s', r.rel, groups);
        END IF;
        -- Identity and serial sequences follow their table.
        IF r.relkind <> 'S' OR NOT EXISTS (SELECT 1 FROM pg_depend d
                                            WHERE d.objid = r.rel::oid AND d.deptype IN ('a', 'i')) THEN
            EXECUTE format('ALTER %s %s OWNER TO stpm_owner',
                           CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                          WHEN 'm' THEN 'MATERIALIZED VIEW'
                                          WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, r.rel);
        END IF;
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS fn, p.proname, p.prosecdef, p.prokind
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = 'stpm'
    LOOP
        IF r.proname = 'user_add' THEN
            EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, stpm, pg_temp', r.fn);
            EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', r.fn);
            CONTINUE;
        END IF;
        CONTINUE WHEN r.fn = 'stpm.door_close()'::regprocedure;
        CONTINUE WHEN r.prokind IN ('a', 'w'); -- aggregates: none today; ALTER AGGREGATE

        EXECUTE format('ALTER %s %s OWNER TO stpm_owner',
                       CASE r.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, r.fn);
        IF r.prosecdef THEN
            -- Whatever a definer function reads resolves in these schemas, the caller's
            -- temporary objects last; only the groups granted explicitly may call it.
            EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, stpm, pg_temp', r.fn);
            EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', r.fn);
        END IF;
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION stpm.door_close() FROM PUBLIC;

SELECT stpm.door_close();
