-- 060: the reserve pool's references checked once per statement (docs/survey.md, "Speed
-- and memory").
--
-- stpm.reserve_entries.org_id -> stpm.orgs(id) and .import_id -> stpm.survey_imports(id)
-- were foreign keys, which PostgreSQL checks with one query per inserted row (about 0.45 s
-- of CPU for an import of 100,000 candidates). They become statement-level triggers with
-- transition tables that check all rows of a statement with one anti-join, keeping what
-- the foreign keys guaranteed:
--   - an insert or update of reserve_entries naming an organisation or an import that does
--     not exist fails with SQLSTATE 23503 (foreign_key_violation), the constraint name of
--     the old foreign key, and the same message and detail;
--   - the referenced rows are locked FOR KEY SHARE, as a foreign key does, so that nobody
--     can delete them or change their id until the transaction ends;
--   - a DELETE, an UPDATE of id or a TRUNCATE of stpm.orgs or stpm.survey_imports that
--     would leave a candidate pointing nowhere fails (23503, or 0A000 for TRUNCATE as
--     PostgreSQL says). Nobody is granted DELETE on these tables; this guards the owner.
--     The deleting side first takes a SHARE lock on reserve_entries (waiting for open
--     imports, keeping new ones out until it ends) and then looks with a fresh snapshot.
--     A transaction snapshot (REPEATABLE READ, SERIALIZABLE) could miss candidates
--     committed meanwhile, so there such a DELETE/UPDATE/TRUNCATE is refused (40001) and
--     is to be done in a READ COMMITTED transaction.

ALTER TABLE stpm.reserve_entries DROP CONSTRAINT reserve_entries_org_id_fkey;
ALTER TABLE stpm.reserve_entries DROP CONSTRAINT reserve_entries_import_id_fkey;
-- (As before, no index on org_id or import_id: the deleting side's check is one hash
-- join over the pool, and deleting is rare.)

-- Insert side: every org_id and import_id the statement's rows bring (for an UPDATE: the
-- rows whose reference changed) exists, and is locked FOR KEY SHARE. Rows this
-- transaction wrote itself (xmin) need no lock: no one else sees them before it ends.
CREATE FUNCTION stpm.reserve_entries_check_refs() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me xid := pg_current_xact_id()::xid;
    org_ids uuid[];
    import_ids uuid[];
    own bigint;
    locked bigint;
    missing text;
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
    IF org_ids IS NOT NULL THEN
        SELECT count(*) INTO own FROM stpm.orgs o
        WHERE o.id IN (SELECT unnest(org_ids)) AND o.xmin = me;
        SELECT count(*) INTO locked FROM (
            SELECT 1 FROM stpm.orgs o WHERE o.id IN (SELECT unnest(org_ids)) AND o.xmin <> me
            FOR KEY SHARE OF o) l;
        IF own + locked <> cardinality(org_ids) THEN
            SELECT k::text INTO missing FROM unnest(org_ids) k
            WHERE NOT EXISTS (SELECT FROM stpm.orgs o WHERE o.id = k) LIMIT 1;
            RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
                MESSAGE = 'insert or update on table "reserve_entries" violates foreign key constraint "reserve_entries_org_id_fkey"',
                DETAIL = format('Key (org_id)=(%s) is not present in table "orgs".', missing),
                SCHEMA = 'stpm', TABLE = 'reserve_entries', COLUMN = 'org_id',
                CONSTRAINT = 'reserve_entries_org_id_fkey';
        END IF;
    END IF;
    IF import_ids IS NOT NULL THEN
        SELECT count(*) INTO own FROM stpm.survey_imports i
        WHERE i.id IN (SELECT unnest(import_ids)) AND i.xmin = me;
        SELECT count(*) INTO locked FROM (
            SELECT 1 FROM stpm.survey_imports i
            WHERE i.id IN (SELECT unnest(import_ids)) AND i.xmin <> me
            FOR KEY SHARE OF i) l;
        IF own + locked <> cardinality(import_ids) THEN
            SELECT k::text INTO missing FROM unnest(import_ids) k
            WHERE NOT EXISTS (SELECT FROM stpm.survey_imports i WHERE i.id = k) LIMIT 1;
            RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
                MESSAGE = 'insert or update on table "reserve_entries" violates foreign key constraint "reserve_entries_import_id_fkey"',
                DETAIL = format('Key (import_id)=(%s) is not present in table "survey_imports".', missing),
                SCHEMA = 'stpm', TABLE = 'reserve_entries', COLUMN = 'import_id',
                CONSTRAINT = 'reserve_entries_import_id_fkey';
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER reserve_entries_refs_insert AFTER INSERT ON stpm.reserve_entries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.reserve_entries_check_refs();
CREATE TRIGGER reserve_entries_refs_update AFTER UPDATE ON stpm.reserve_entries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.reserve_entries_check_refs();

-- Deleting side, before the statement: wait for open writers of the pool and keep new
-- ones out; refuse under a transaction snapshot (see above).
CREATE FUNCTION stpm.reserve_refs_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
            MESSAGE = format('cannot %s rows of stpm.%s in a %s transaction', lower(TG_OP),
                             TG_TABLE_NAME, upper(current_setting('transaction_isolation'))),
            DETAIL = 'Candidates of the reserve pool may refer to them.',
            HINT = 'Do it in a READ COMMITTED transaction.';
    END IF;
    LOCK TABLE stpm.reserve_entries IN SHARE MODE;
    IF TG_OP = 'TRUNCATE' AND EXISTS (SELECT FROM stpm.reserve_entries) THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = 'cannot truncate a table referenced in a foreign key constraint',
            DETAIL = format('Table "reserve_entries" references "%s".', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END $$;

-- Deleting side, after the statement: no candidate refers to a key that went away.
CREATE FUNCTION stpm.reserve_refs_check_gone() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    gone text;
    col text := CASE TG_TABLE_NAME WHEN 'orgs' THEN 'org_id' ELSE 'import_id' END;
BEGIN
    IF TG_OP = 'DELETE' THEN
        EXECUTE format('SELECT p.id::text FROM old_rows p WHERE EXISTS '
                       '(SELECT FROM stpm.reserve_entries r WHERE r.%I = p.id) LIMIT 1', col)
            INTO gone;
    ELSE
        EXECUTE format('SELECT p.id::text FROM old_rows p '
                       'WHERE NOT EXISTS (SELECT FROM new_rows n WHERE n.id = p.id) '
                       'AND EXISTS (SELECT FROM stpm.reserve_entries r WHERE r.%I = p.id) LIMIT 1', col)
            INTO gone;
    END IF;
    IF gone IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('update or delete on table "%s" violates foreign key constraint "reserve_entries_%s_fkey" on table "reserve_entries"',
                             TG_TABLE_NAME, col),
            DETAIL = format('Key (id)=(%s) is still referenced from table "reserve_entries".', gone),
            SCHEMA = 'stpm', TABLE = 'reserve_entries', COLUMN = col,
            CONSTRAINT = format('reserve_entries_%s_fkey', col);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER orgs_reserve_refs_guard BEFORE DELETE OR UPDATE OF id OR TRUNCATE ON stpm.orgs
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.reserve_refs_guard();
CREATE TRIGGER orgs_reserve_refs_delete AFTER DELETE ON stpm.orgs
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.reserve_refs_check_gone();
CREATE TRIGGER orgs_reserve_refs_update AFTER UPDATE ON stpm.orgs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.reserve_refs_check_gone();
CREATE TRIGGER imports_reserve_refs_guard
    BEFORE DELETE OR UPDATE OF id OR TRUNCATE ON stpm.survey_imports
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.reserve_refs_guard();
CREATE TRIGGER imports_reserve_refs_delete AFTER DELETE ON stpm.survey_imports
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.reserve_refs_check_gone();
CREATE TRIGGER imports_reserve_refs_update AFTER UPDATE ON stpm.survey_imports
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.reserve_refs_check_gone();
