-- 103: reserve_entries.project_id checked once per statement, as 060 does for org_id and
-- import_id (issue 11, item 4).
--
-- The foreign key reserve_entries_project_id_fkey queued one check per inserted row, null or
-- not: a survey's 100,000 new candidates, none of them promoted yet, cost 40-60 ms of an
-- import of about 1.1 s. Its guarantees are kept as 060 keeps the others':
--   - an INSERT or UPDATE naming a project that does not exist fails with 23503, the old
--     constraint's name, and PostgreSQL's message and detail; the project is locked FOR KEY
--     SHARE unless this transaction wrote it (stpm.refs_require);
--   - a DELETE, an UPDATE of id or a TRUNCATE of stpm.projects that would leave a candidate
--     pointing nowhere fails (23503; 0A000 for TRUNCATE). The deleting side first takes a
--     SHARE lock on stpm.reserve_entries, and refuses a transaction snapshot (40001), as
--     060's refs_guard does. An UPDATE of a project's id is checked by a row trigger on
--     that column alone: a statement trigger with transition tables on every UPDATE of
--     stpm.projects would cost each transition.

ALTER TABLE stpm.reserve_entries DROP CONSTRAINT reserve_entries_project_id_fkey;

-- 095's checks, and the projects the rows bring (promoted candidates only).
CREATE OR REPLACE FUNCTION stpm.reserve_entries_check_refs() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    org_ids uuid[];
    import_ids uuid[];
    project_ids uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- one pass over the rows, hashed by their references (a survey's 100,000
        -- candidates have about 33,000 pairs), then each list made distinct
        SELECT array_agg(DISTINCT d.org_id), array_agg(DISTINCT d.import_id),
               array_agg(DISTINCT d.project_id) FILTER (WHERE d.project_id IS NOT NULL)
            INTO org_ids, import_ids, project_ids
            FROM (SELECT n.org_id, n.import_id, n.project_id FROM new_rows n
                  GROUP BY n.org_id, n.import_id, n.project_id) d;
    ELSE
        SELECT array_agg(DISTINCT n.org_id) FILTER (WHERE p.org_id IS DISTINCT FROM n.org_id),
               array_agg(DISTINCT n.import_id) FILTER (WHERE p.import_id IS DISTINCT FROM n.import_id),
               array_agg(DISTINCT n.project_id)
                   FILTER (WHERE n.project_id IS NOT NULL
                             AND p.project_id IS DISTINCT FROM n.project_id)
        INTO org_ids, import_ids, project_ids
        FROM new_rows n LEFT JOIN old_rows p ON p.id = n.id;
    END IF;
    PERFORM stpm.refs_require(org_ids, 'orgs', 'reserve_entries', 'org_id',
                              'reserve_entries_org_id_fkey');
    PERFORM stpm.refs_require(import_ids, 'survey_imports', 'reserve_entries', 'import_id',
                              'reserve_entries_import_id_fkey');
    PERFORM stpm.refs_require(project_ids, 'projects', 'reserve_entries', 'project_id',
                              'reserve_entries_project_id_fkey');
    RETURN NULL;
END $$;

-- The error of a project still referenced, as the foreign key gave it.
CREATE FUNCTION stpm.projects_ref_still(p_id uuid) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
        MESSAGE = 'update or delete on table "projects" violates foreign key constraint '
                  '"reserve_entries_project_id_fkey" on table "reserve_entries"',
        DETAIL = format('Key (id)=(%s) is still referenced from table "reserve_entries".', p_id),
        SCHEMA = 'stpm', TABLE = 'reserve_entries', COLUMN = 'project_id',
        CONSTRAINT = 'reserve_entries_project_id_fkey';
END $$;
REVOKE ALL ON FUNCTION stpm.projects_ref_still(uuid) FROM PUBLIC;

-- Deleting side, before the statement: wait for open writers of the pool and keep new ones
-- out; refuse under a transaction snapshot; a TRUNCATE under promoted candidates.
CREATE FUNCTION stpm.projects_refs_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
            MESSAGE = format('cannot %s rows of stpm.projects in a %s transaction', lower(TG_OP),
                             upper(current_setting('transaction_isolation'))),
            DETAIL = 'Candidates of the reserve pool may refer to them.',
            HINT = 'Do it in a READ COMMITTED transaction.';
    END IF;
    LOCK TABLE stpm.reserve_entries IN SHARE MODE;
    IF TG_OP = 'TRUNCATE' AND EXISTS (SELECT FROM stpm.reserve_entries r
                                      WHERE r.project_id IS NOT NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = 'cannot truncate a table referenced in a foreign key constraint',
            DETAIL = 'Table "reserve_entries" references "projects".';
    END IF;
    RETURN NULL;
END $$;

-- Deleting side, after the statement: no candidate refers to a project that went away.
CREATE FUNCTION stpm.projects_refs_gone() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    gone uuid;
BEGIN
    SELECT p.id INTO gone FROM old_rows p
        WHERE EXISTS (SELECT FROM stpm.reserve_entries r WHERE r.project_id = p.id) LIMIT 1;
    IF gone IS NOT NULL THEN
        PERFORM stpm.projects_ref_still(gone);
    END IF;
    RETURN NULL;
END $$;

-- A project's id changed: no candidate may still refer to the old one.
CREATE FUNCTION stpm.projects_ref_moved() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT FROM stpm.reserve_entries r WHERE r.project_id = OLD.id) THEN
        PERFORM stpm.projects_ref_still(OLD.id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER projects_refs_guard BEFORE DELETE OR UPDATE OF id OR TRUNCATE ON stpm.projects
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.projects_refs_guard();
CREATE TRIGGER projects_refs_delete AFTER DELETE ON stpm.projects
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.projects_refs_gone();
CREATE TRIGGER projects_refs_update AFTER UPDATE OF id ON stpm.projects
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION stpm.projects_ref_moved();

SELECT stpm.door_close();
