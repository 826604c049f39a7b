-- 060: the survey's references checked once per statement (docs/survey.md, "Speed and
-- memory").
--
-- Three foreign keys the survey import fills, which PostgreSQL checks with one query per
-- row (about 0.6 s of CPU for an import of 100,000 candidates of 33,334 organisations):
--   reserve_entries.org_id -> orgs(id)            (reserve_entries_org_id_fkey)
--   reserve_entries.import_id -> survey_imports(id) (reserve_entries_import_id_fkey)
--   org_figures.org_id -> orgs(id)                (org_figures_org_id_fkey)
-- become statement-level triggers with transition tables that check all rows of a
-- statement at once, keeping what the foreign keys guaranteed:
--   - an INSERT or UPDATE naming an organisation or an import that does not exist fails
--     with SQLSTATE 23503 (foreign_key_violation), the old constraint's name, and
--     PostgreSQL's message and detail;
--   - the referenced rows are locked FOR KEY SHARE, as a foreign key does, so nobody can
--     delete them or change their id until the transaction ends (rows this transaction
--     wrote itself need no lock: no one else sees them before it ends);
--   - a DELETE, an UPDATE of id or a TRUNCATE of stpm.orgs or stpm.survey_imports that
--     would leave a row pointing nowhere fails (23503; 0A000 for TRUNCATE, as PostgreSQL
--     says). Nobody is granted DELETE on these tables; this guards their owner. The
--     deleting side first takes a SHARE lock on the referencing tables (waiting for open
--     imports and keeping new ones out until it ends), then looks with a fresh snapshot.
--     A transaction snapshot (REPEATABLE READ, SERIALIZABLE) could miss rows committed
--     meanwhile, so there such a DELETE/UPDATE OF id/TRUNCATE is refused (40001): do it in
--     a READ COMMITTED transaction.
-- No index on the referencing columns, as before: the deleting side's check is one hash
-- join, and deleting is rare.

ALTER TABLE stpm.reserve_entries DROP CONSTRAINT reserve_entries_org_id_fkey;
ALTER TABLE stpm.reserve_entries DROP CONSTRAINT reserve_entries_import_id_fkey;
ALTER TABLE stpm.org_figures DROP CONSTRAINT org_figures_org_id_fkey;

-- Do the keys ids (distinct, not null) of stpm.<target> exist? Lock them FOR KEY SHARE;
-- raise 23503 as a foreign key <conname> of <tab>.<col> would.
CREATE FUNCTION stpm.refs_require(ids uuid[], target text, tab text, col text, conname text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me xid := pg_current_xact_id()::xid;
    own bigint;
    locked bigint;
    missing text;
BEGIN
    IF ids IS NULL THEN
        RETURN;
    END IF;
    EXECUTE format('SELECT count(*) FROM stpm.%I t WHERE t.id IN (SELECT unnest($1)) '
                   'AND t.xmin = $2', target) INTO own USING ids, me;
    EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM stpm.%I t '
                   'WHERE t.id IN (SELECT unnest($1)) AND t.xmin <> $2 FOR KEY SHARE OF t) l',
                   target) INTO locked USING ids, me;
    IF own + locked <> cardinality(ids) THEN
        EXECUTE format('SELECT k::text FROM unnest($1) k '
                       'WHERE NOT EXISTS (SELECT FROM stpm.%I t WHERE t.id = k) LIMIT 1', target)
            INTO missing USING ids;
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('insert or update on table "%s" violates foreign key constraint "%s"',
                             tab, conname),
            DETAIL = format('Key (%s)=(%s) is not present in table "%s".', col, missing, target),
            SCHEMA = 'stpm', TABLE = tab, COLUMN = col, CONSTRAINT = conname;
    END IF;
END $$;

-- reserve_entries: the org_id and import_id its new rows bring (for an UPDATE: the rows
-- whose reference changed).
CREATE FUNCTION stpm.reserve_entries_check_refs() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    org_ids uuid[];
    import_ids uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.org_id), array_agg(DISTINCT n.import_id)
        INTO org_ids, import_ids FROM new_rows n;
    ELSE
        SELECT array_agg(DISTINCT n.org_id) FILTER (WHERE p.org_id IS DISTINCT FROM n.org_id),
               array_agg(DISTINCT n.import_id) FILTER (WHERE p.import_id IS DISTINCT FROM n.import_id)
        INTO org_ids, import_ids
        FROM new_rows n LEFT JOIN old_rows p ON p.id = n.id;
    END IF;
    PERFORM stpm.refs_require(org_ids, 'orgs', 'reserve_entries', 'org_id',
                              'reserve_entries_org_id_fkey');
    PERFORM stpm.refs_require(import_ids, 'survey_imports', 'reserve_entries', 'import_id',
                              'reserve_entries_import_id_fkey');
    RETURN NULL;
END $$;

CREATE TRIGGER reserve_entries_refs_insert AFTER INSERT ON stpm.reserve_entries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.reserve_entries_check_refs();
CREATE TRIGGER reserve_entries_refs_update AFTER UPDATE ON stpm.reserve_entries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.reserve_entries_check_refs();

-- org_figures: the org_id its new rows bring (org_id is part of its primary key, so an
-- UPDATE that changes it makes a row the old rows do not hold).
CREATE FUNCTION stpm.org_figures_check_refs() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    org_ids uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.org_id) INTO org_ids FROM new_rows n;
    ELSE
        SELECT array_agg(DISTINCT n.org_id) INTO org_ids FROM new_rows n
        WHERE NOT EXISTS (SELECT FROM old_rows p WHERE p.org_id = n.org_id);
    END IF;
    PERFORM stpm.refs_require(org_ids, 'orgs', 'org_figures', 'org_id', 'org_figures_org_id_fkey');
    RETURN NULL;
END $$;

CREATE TRIGGER org_figures_refs_insert AFTER INSERT ON stpm.org_figures
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.org_figures_check_refs();
CREATE TRIGGER org_figures_refs_update AFTER UPDATE ON stpm.org_figures
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.org_figures_check_refs();

-- Deleting side, before the statement: wait for open writers of the referencing tables
-- and keep new ones out; refuse under a transaction snapshot (see above).
CREATE FUNCTION stpm.refs_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
            MESSAGE = format('cannot %s rows of stpm.%s in a %s transaction', lower(TG_OP),
                             TG_TABLE_NAME, upper(current_setting('transaction_isolation'))),
            DETAIL = 'Rows of the survey (reserve pool, figures) may refer to them.',
            HINT = 'Do it in a READ COMMITTED transaction.';
    END IF;
    LOCK TABLE stpm.reserve_entries IN SHARE MODE;
    IF TG_TABLE_NAME = 'orgs' THEN
        LOCK TABLE stpm.org_figures IN SHARE MODE;
    END IF;
    IF TG_OP = 'TRUNCATE' AND (EXISTS (SELECT FROM stpm.reserve_entries)
            OR (TG_TABLE_NAME = 'orgs' AND EXISTS (SELECT FROM stpm.org_figures))) THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = 'cannot truncate a table referenced in a foreign key constraint',
            DETAIL = format('Table "%s" references "%s".',
                            CASE WHEN EXISTS (SELECT FROM stpm.reserve_entries)
                                 THEN 'reserve_entries' ELSE 'org_figures' END, TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END $$;

-- Deleting side, after the statement: nothing refers to a key that went away.
CREATE FUNCTION stpm.refs_check_gone() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    gone text;
    ref record;
BEGIN
    FOR ref IN
        SELECT * FROM (VALUES ('orgs', 'reserve_entries', 'org_id'),
                              ('orgs', 'org_figures', 'org_id'),
                              ('survey_imports', 'reserve_entries', 'import_id')) v(target, tab, col)
        WHERE v.target = TG_TABLE_NAME
    LOOP
        IF TG_OP = 'DELETE' THEN
            EXECUTE format('SELECT p.id::text FROM old_rows p WHERE EXISTS '
                           '(SELECT FROM stpm.%I r WHERE r.%I = p.id) LIMIT 1', ref.tab, ref.col)
                INTO gone;
        ELSE
            EXECUTE format('SELECT p.id::text FROM old_rows p '
                           'WHERE NOT EXISTS (SELECT FROM new_rows n WHERE n.id = p.id) '
                           'AND EXISTS (SELECT FROM stpm.%I r WHERE r.%I = p.id) LIMIT 1',
                           ref.tab, ref.col)
                INTO gone;
        END IF;
        IF gone IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
                MESSAGE = format('update or delete on table "%s" violates foreign key constraint "%s_%s_fkey" on table "%s"',
                                 TG_TABLE_NAME, ref.tab, ref.col, ref.tab),
                DETAIL = format('Key (id)=(%s) is still referenced from table "%s".', gone, ref.tab),
                SCHEMA = 'stpm', TABLE = ref.tab, COLUMN = ref.col,
                CONSTRAINT = format('%s_%s_fkey', ref.tab, ref.col);
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER orgs_refs_guard BEFORE DELETE OR UPDATE OF id OR TRUNCATE ON stpm.orgs
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.refs_guard();
CREATE TRIGGER orgs_refs_delete AFTER DELETE ON stpm.orgs
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.refs_check_gone();
CREATE TRIGGER orgs_refs_update AFTER UPDATE ON stpm.orgs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.refs_check_gone();
CREATE TRIGGER imports_refs_guard BEFORE DELETE OR UPDATE OF id OR TRUNCATE ON stpm.survey_imports
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.refs_guard();
CREATE TRIGGER imports_refs_delete AFTER DELETE ON stpm.survey_imports
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.refs_check_gone();
CREATE TRIGGER imports_refs_update AFTER UPDATE ON stpm.survey_imports
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.refs_check_gone();
