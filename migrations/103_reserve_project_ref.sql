-- 103: reserve_entries.project_id checked once per statement, as 060 does for org_id and
-- import_id (issue 11, item 4).
--
-- The foreign key reserve_entries_project_id_fkey queued one check per inserted row, null or
-- not: a survey's 100,000 new candidates, none of them promoted yet, cost 40-60 ms of an
-- import of about 1.1 s. Its guarantees are kept as 060 keeps the others':
--   - an INSERT or UPDATE naming a project that does not exist fails with 23503, the old
--     constraint's name, and PostgreSQL's message and detail; the project is locked FOR KEY
--     SHARE unless this transaction wrote it (stpm.refs_require);
--   - a DELETE or an UPDATE of id of stpm.projects that would leave a candidate pointing
--     nowhere fails (23503); 060's refs_guard first takes a SHARE lock on
--     stpm.reserve_entries, refuses a transaction snapshot (40001) and a TRUNCATE under
--     candidates (0A000). An UPDATE of a project's id is checked by a row trigger on that
--     column alone: a statement trigger with transition tables on every UPDATE of
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

-- Deleting side, after the statement (a DELETE) or the row (an UPDATE of id): no candidate
-- refers to a project that went away. (060's refs_check_gone reads the UPDATE's new rows
-- from a transition table, which every transition of stpm.projects would then fill.)
CREATE FUNCTION stpm.projects_refs_gone() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    gone uuid;
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        SELECT OLD.id INTO gone
            WHERE EXISTS (SELECT FROM stpm.reserve_entries r WHERE r.project_id = OLD.id);
    ELSE
        SELECT p.id INTO gone FROM old_rows p
            WHERE EXISTS (SELECT FROM stpm.reserve_entries r WHERE r.project_id = p.id) LIMIT 1;
    END IF;
    IF gone IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = 'update or delete on table "projects" violates foreign key constraint '
                      '"reserve_entries_project_id_fkey" on table "reserve_entries"',
            DETAIL = format('Key (id)=(%s) is still referenced from table "reserve_entries".', gone),
            SCHEMA = 'stpm', TABLE = 'reserve_entries', COLUMN = 'project_id',
            CONSTRAINT = 'reserve_entries_project_id_fkey';
    END IF;
    RETURN NULL;
END $$;

-- Before the statement, 060's guard: a SHARE lock on the pool, no transaction snapshot, no
-- TRUNCATE under candidates.
CREATE TRIGGER projects_refs_guard BEFORE DELETE OR UPDATE OF id OR TRUNCATE ON stpm.projects
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.refs_guard();
CREATE TRIGGER projects_refs_delete AFTER DELETE ON stpm.projects
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.projects_refs_gone();
CREATE TRIGGER projects_refs_update AFTER UPDATE OF id ON stpm.projects
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION stpm.projects_refs_gone();

SELECT stpm.door_close();
