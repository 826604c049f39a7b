-- 102: a large survey is merged chunk by chunk while the client reads on (issue 11, item 4:
-- "client parsing overlapped with the server").
--
-- stpm.survey_import_apply merged the staged rows in one call once the last row was staged:
-- for a workbook of 100,000 rows the client parsed for 0.7 s while the server only took the
-- rows in, then the server merged for 0.9 s while the client waited. Now the client calls
-- stpm.survey_import_chunk every few thousand rows: it merges the rows staged since its last
-- call (their organisations, then their candidates) while the client reads the next ones;
-- stpm.survey_import_apply then merges the rest and ends the run with what needs every
-- row: the organisations' counts, the figures of the year, the record's digest and counts,
-- the event. A survey imported in one call or in many chunks writes the same rows and the
-- same counts (tests/cli/survey_chunks.sh compares).
--
-- The run's state — the last row merged, the counts so far, and for each organisation
-- its last row of each chunk (name, town) and its last row of each chunk that gives
-- figures — is kept in temporary tables that the first chunk creates as the owner of these
-- functions: the caller can neither read nor change them (dropping them, DISCARD TEMP,
-- only makes the import fail), and they go with the transaction. The end of the run reads them, not the
-- staging table, so that what it writes comes from the rows merged and nothing else. The
-- first chunk also writes the import's record, which its candidates name; a deferred
-- constraint trigger refuses to commit a record without its event, so no record and no
-- candidate stays from a run that stpm.survey_import_apply did not end.
--
-- A run takes, besides its year's lock, one lock for the imports of every year: the chunks
-- of two runs could otherwise create or lock the same organisations in two orders and
-- deadlock (one merge did it in one statement, in the order of their codes). Imports are
-- a few a year; those of two years now queue like those of one (a bounded wait that names
-- the holder, 083).

-- The staged rows' form (072, 095): a plain temporary table of the caller's, of the columns
-- stpm survey import makes, with nothing that the planner or the executor would run as the
-- owner of these functions.
CREATE FUNCTION stpm.survey_stage_check() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    stage oid := to_regclass('pg_temp.stpm_survey_stage');
    expected constant text :=
        'rownum integer!,id uuid!,org_new_id uuid!,uscc character(18)!,org_name text!,'
        'town text,title text!,title_norm text!,field text,target_plan text,leader text,'
        'planned_investment numeric(18,4),requested_funding numeric(18,4),'
        'rd_spend numeric(18,4),revenue numeric(18,4),high_tech boolean,partner text,'
        'maturity integer,notes text,row_digest character(64)!';
    got text;
BEGIN
    IF stage IS NULL THEN
        RAISE EXCEPTION 'no survey rows are staged'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'COPY the rows into the temporary table stpm_survey_stage first (stpm survey import does).';
    END IF;
    SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                      || CASE WHEN a.attnotnull THEN '!' ELSE '' END, ',' ORDER BY a.attnum)
        INTO got
        FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = stage AND a.attnum > 0 AND NOT a.attisdropped;
    IF got IS DISTINCT FROM expected
       OR NOT EXISTS (SELECT FROM pg_catalog.pg_class c
                      WHERE c.oid = stage AND c.relkind = 'r' AND c.relpersistence = 't'
                        AND NOT c.relrowsecurity AND NOT c.relhassubclass
                        AND c.relnamespace = pg_my_temp_schema()
                        AND c.relchecks = 0 AND NOT c.relhasindex AND NOT c.relhasrules
                        AND NOT c.relhastriggers)
       OR EXISTS (SELECT FROM pg_catalog.pg_statistic_ext x WHERE x.stxrelid = stage)
       OR EXISTS (SELECT FROM pg_catalog.pg_attribute a
                   WHERE a.attrelid = stage AND a.attnum > 0
                     AND (a.attgenerated <> '' OR a.atthasdef)) THEN
        RAISE EXCEPTION 'the staged survey rows are not in the expected form'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'stpm_survey_stage must be a plain temporary table of the columns stpm survey import makes.';
    END IF;
END $$;
REVOKE ALL ON FUNCTION stpm.survey_stage_check() FROM PUBLIC;

-- Is a run under way in this transaction? Only the owner's own table counts: a table of
-- the caller's of the same name is in the way, not a run.
CREATE FUNCTION stpm.survey_run_open() RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    t oid := to_regclass('pg_temp.stpm_survey_run');
BEGIN
    IF t IS NULL THEN
        RETURN false;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
                    WHERE c.oid = t AND r.rolname = 'stpm_owner')
       OR to_regclass('pg_temp.stpm_survey_run_orgs') IS NULL
       OR to_regclass('pg_temp.stpm_survey_run_figures') IS NULL THEN
        RAISE EXCEPTION 'a temporary table of yours named stpm_survey_run is in the way of the survey import'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Drop it, or import in a session of its own.';
    END IF;
    RETURN true;
END $$;
REVOKE ALL ON FUNCTION stpm.survey_run_open() FROM PUBLIC;

-- Begin a run: the locks, whether the year's pool is empty, the record (its digest and
-- counts come at the end), the run's tables.
CREATE FUNCTION stpm.survey_run_begin(p_year integer, p_file_name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    v_id uuid;
BEGIN
    PERFORM pg_advisory_xact_lock(1937076854, p_year); -- "surv", as core/survey/import.c
    PERFORM stpm.lock_wait(1937076854, 0, false, 'the survey imports of every year');
    IF to_regclass('pg_temp.stpm_survey_run') IS NOT NULL
       OR to_regclass('pg_temp.stpm_survey_run_orgs') IS NOT NULL
       OR to_regclass('pg_temp.stpm_survey_run_figures') IS NOT NULL THEN
        RAISE EXCEPTION 'a temporary table of yours named stpm_survey_run is in the way of the survey import'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Drop it, or import in a session of its own.';
    END IF;
    CREATE TEMP TABLE stpm_survey_run (
        import_id uuid NOT NULL, survey_year integer NOT NULL, file_name text NOT NULL,
        fresh boolean NOT NULL, last_tid tid NOT NULL, rows integer NOT NULL,
        new integer NOT NULL, updated integer NOT NULL, unchanged integer NOT NULL
    ) ON COMMIT DROP;
    -- each organisation's last row in each chunk: its name and town, and whether that
    -- chunk created it (the end of the run takes the last of these rows)
    CREATE TEMP TABLE stpm_survey_run_orgs (
        uscc char(18) NOT NULL, rownum integer NOT NULL, org_name text NOT NULL, town text,
        created boolean NOT NULL
    ) ON COMMIT DROP;
    -- each organisation's last row in each chunk that gives any of its figures
    CREATE TEMP TABLE stpm_survey_run_figures (
        uscc char(18) NOT NULL, rownum integer NOT NULL, rd_spend numeric(18,4),
        revenue numeric(18,4), high_tech boolean
    ) ON COMMIT DROP;
    INSERT INTO stpm.survey_imports AS i
            (survey_year, file_name, file_digest, rows, new, updated, unchanged, imported_by)
        VALUES (p_year, p_file_name, repeat('0', 64), 0, 0, 0, 0, session_user)
        RETURNING i.id INTO v_id;
    INSERT INTO pg_temp.stpm_survey_run
        VALUES (v_id, p_year, p_file_name,
                NOT EXISTS (SELECT FROM stpm.reserve_entries WHERE survey_year = p_year),
                '(0,0)', 0, 0, 0, 0);
END $$;
REVOKE ALL ON FUNCTION stpm.survey_run_begin(integer, text) FROM PUBLIC;

-- Merge the rows staged since the last merge (COPY appends them after the rows merged): their
-- organisations, then their candidates. Returns how many rows it merged.
CREATE FUNCTION stpm.survey_run_merge() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    run record;
    bad integer;
    n integer;
    c_new integer := 0;
    c_updated integer := 0;
    c_unchanged integer := 0;
    last tid;
BEGIN
    SELECT * INTO run FROM pg_temp.stpm_survey_run;
    -- What the tables' check constraints would refuse with their own names (see 072), how
    -- many rows there are and where they end, in one pass.
    SELECT min(s.rownum) FILTER (WHERE s.org_name = '' OR s.title = '' OR s.title_norm = ''
                                    OR s.maturity NOT BETWEEN 1 AND 9),
           count(*), max(s.ctid)
        INTO bad, n, last
        FROM pg_temp.stpm_survey_stage s WHERE s.ctid > run.last_tid;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'staged survey row % is invalid', bad
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Import the file with stpm survey import, which checks every row.';
    END IF;
    IF n = 0 THEN
        RETURN 0;
    END IF;

    -- The organisations the register lacks, named as the chunk's last row of each names
    -- them (no lock on those that are there: the end of the run renames what it must, in
    -- one statement). The run keeps each organisation's last row merged, and its last row
    -- merged that gives figures.
    WITH src AS (
        SELECT DISTINCT ON (s.uscc COLLATE "C") s.uscc, s.rownum, s.org_new_id, s.org_name,
               s.town
        FROM pg_temp.stpm_survey_stage s WHERE s.ctid > run.last_tid
        ORDER BY s.uscc COLLATE "C", s.rownum DESC
    ), ins AS (
        INSERT INTO stpm.orgs AS o (id, uscc, name, town)
        SELECT src.org_new_id, src.uscc, src.org_name, src.town FROM src
        ON CONFLICT (uscc) DO NOTHING
        RETURNING o.uscc
    )
    INSERT INTO pg_temp.stpm_survey_run_orgs (uscc, rownum, org_name, town, created)
        SELECT src.uscc, src.rownum, src.org_name, src.town, ins.uscc IS NOT NULL
        FROM src LEFT JOIN ins ON ins.uscc = src.uscc;
    INSERT INTO pg_temp.stpm_survey_run_figures (uscc, rownum, rd_spend, revenue, high_tech)
        SELECT DISTINCT ON (s.uscc COLLATE "C") s.uscc, s.rownum, s.rd_spend, s.revenue,
               s.high_tech
        FROM pg_temp.stpm_survey_stage s
        WHERE s.ctid > run.last_tid
          AND (s.rd_spend IS NOT NULL OR s.revenue IS NOT NULL OR s.high_tech IS NOT NULL)
        ORDER BY s.uscc COLLATE "C", s.rownum DESC;

    IF run.fresh THEN
        -- The year's pool was empty when the run began and the year's lock keeps others
        -- from adding to it: every row is a new candidate (a key twice in the file is
        -- refused by the table's unique key, as before).
        INSERT INTO stpm.reserve_entries (id, survey_year, org_id, title, title_norm, field,
                target_plan, leader, planned_investment, requested_funding, rd_spend,
                revenue, high_tech, partner, maturity, notes, row_digest, import_id)
            SELECT s.id, run.survey_year, o.id, s.title, s.title_norm, s.field, s.target_plan,
                s.leader, s.planned_investment, s.requested_funding, s.rd_spend, s.revenue,
                s.high_tech, s.partner, s.maturity, s.notes, s.row_digest, run.import_id
            FROM pg_temp.stpm_survey_stage s JOIN stpm.orgs o ON o.uscc = s.uscc
            WHERE s.ctid > run.last_tid;
        GET DIAGNOSTICS c_new = ROW_COUNT;
    ELSE
        SELECT count(*) FILTER (WHERE r.id IS NULL),
               count(*) FILTER (WHERE r.row_digest <> s.row_digest),
               count(*) FILTER (WHERE r.row_digest = s.row_digest),
               min(s.rownum) FILTER (WHERE r.import_id = run.import_id)
            INTO c_new, c_updated, c_unchanged, bad
            FROM pg_temp.stpm_survey_stage s
            JOIN stpm.orgs o ON o.uscc = s.uscc
            LEFT JOIN stpm.reserve_entries r
                ON r.survey_year = run.survey_year AND r.org_id = o.id
               AND r.title_norm = s.title_norm
            WHERE s.ctid > run.last_tid;
        -- a key that an earlier chunk of the run merged: twice in the file (one merge
        -- refuses it by the table's unique key)
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'staged survey row % repeats the key of a row merged before', bad
                USING ERRCODE = 'unique_violation',
                      HINT = 'Import the file with stpm survey import, which checks every row.';
        END IF;
        IF c_new > 0 THEN
            INSERT INTO stpm.reserve_entries (id, survey_year, org_id, title, title_norm, field,
                    target_plan, leader, planned_investment, requested_funding, rd_spend,
                    revenue, high_tech, partner, maturity, notes, row_digest, import_id)
                SELECT s.id, run.survey_year, o.id, s.title, s.title_norm, s.field,
                    s.target_plan, s.leader, s.planned_investment, s.requested_funding,
                    s.rd_spend, s.revenue, s.high_tech, s.partner, s.maturity, s.notes,
                    s.row_digest, run.import_id
                FROM pg_temp.stpm_survey_stage s JOIN stpm.orgs o ON o.uscc = s.uscc
                WHERE s.ctid > run.last_tid
                  AND NOT EXISTS (SELECT FROM stpm.reserve_entries r
                                  WHERE r.survey_year = run.survey_year AND r.org_id = o.id
                                    AND r.title_norm = s.title_norm);
        END IF;
        -- The candidates whose values changed; unchanged ones keep their import.
        IF c_updated > 0 THEN
            UPDATE stpm.reserve_entries r SET title = s.title, field = s.field,
                    target_plan = s.target_plan, leader = s.leader,
                    planned_investment = s.planned_investment,
                    requested_funding = s.requested_funding,
                    rd_spend = s.rd_spend, revenue = s.revenue, high_tech = s.high_tech,
                    partner = s.partner, maturity = s.maturity, notes = s.notes,
                    row_digest = s.row_digest, import_id = run.import_id, updated_at = now()
                FROM pg_temp.stpm_survey_stage s JOIN stpm.orgs o ON o.uscc = s.uscc
                WHERE s.ctid > run.last_tid
                    AND r.survey_year = run.survey_year AND r.org_id = o.id
                    AND r.title_norm = s.title_norm AND r.row_digest <> s.row_digest;
        END IF;
    END IF;
    UPDATE pg_temp.stpm_survey_run SET rows = rows + n, new = new + c_new,
        updated = updated + c_updated, unchanged = unchanged + c_unchanged,
        last_tid = last;
    RETURN n;
END $$;
REVOKE ALL ON FUNCTION stpm.survey_run_merge() FROM PUBLIC;

-- The checks every call makes: the caller's group, the year, the file's name (and whether
-- the caller's digest of it is one), the staged rows' form; then the run, begun here if
-- none is under way, of the same year and file.
CREATE FUNCTION stpm.survey_run_enter(p_year integer, p_file_name text, p_digest_ok boolean)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    run record;
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_officer', 'stpm_admin'],
        'only an officer or an administrator may import surveys',
        'Connect as a member of stpm_officer or stpm_admin.');
    IF p_year IS NULL OR p_year NOT BETWEEN 1990 AND 2100 THEN
        RAISE EXCEPTION 'invalid survey year %', p_year
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give the year of the survey, e.g. 2020.';
    END IF;
    IF NOT p_digest_ok OR stpm.is_blank(p_file_name) THEN
        RAISE EXCEPTION 'an import needs the file''s name and SHA-256 digest'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM stpm.survey_stage_check();
    IF NOT stpm.survey_run_open() THEN
        PERFORM stpm.survey_run_begin(p_year, p_file_name);
        RETURN;
    END IF;
    SELECT * INTO run FROM pg_temp.stpm_survey_run;
    IF run.survey_year <> p_year OR run.file_name <> p_file_name THEN
        RAISE EXCEPTION 'the survey import of % for % is under way in this transaction, not one of % for %',
                        run.file_name, run.survey_year, p_file_name, p_year
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'End it with stpm.survey_import_apply first.';
    END IF;
END $$;
REVOKE ALL ON FUNCTION stpm.survey_run_enter(integer, text, boolean) FROM PUBLIC;

-- Merge the rows staged so far, beginning the run if none is under way; the caller then
-- stages more rows and calls again, or ends the run with stpm.survey_import_apply.
CREATE FUNCTION stpm.survey_import_chunk(p_year integer, p_file_name text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
BEGIN
    PERFORM stpm.survey_run_enter(p_year, p_file_name, true);
    RETURN stpm.survey_run_merge();
END $$;

-- 095's merge, in one call or as the end of a run of chunks: the rows not merged yet, then
-- what needs every row of the file.
CREATE OR REPLACE FUNCTION stpm.survey_import_apply(p_year integer, p_file_name text,
                                                    p_file_digest text, p_encoding text,
                                                    p_on_date date,
                                                    OUT import_id uuid, OUT rows integer,
                                                    OUT new integer, OUT updated integer,
                                                    OUT unchanged integer, OUT orgs_new integer,
                                                    OUT orgs_updated integer,
                                                    OUT figures_changed integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    run record;
    staged integer;
BEGIN
    PERFORM stpm.survey_run_enter(p_year, p_file_name,
                                  coalesce(p_file_digest ~ '^[0-9a-f]{64}$', false));
    PERFORM stpm.survey_run_merge();
    SELECT * INTO run FROM pg_temp.stpm_survey_run;
    -- Every staged row merged once. Each chunk merges the rows after the last one merged
    -- in the table's order, where COPY into a table created in this transaction appends;
    -- a row put anywhere else would be left out, and is caught here.
    SELECT count(*) INTO staged FROM pg_temp.stpm_survey_stage;
    IF staged <> run.rows THEN
        RAISE EXCEPTION 'some staged survey rows were not merged'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Stage the rows with COPY into a temporary table made in the same transaction (stpm survey import does).';
    END IF;

    -- Organisations: named as their last row merged names them, locked in the order of
    -- their codes; those the run created are new, the others that change are updated.
    WITH last AS (
        SELECT DISTINCT ON (r.uscc COLLATE "C") r.uscc, r.org_name, r.town
        FROM pg_temp.stpm_survey_run_orgs r ORDER BY r.uscc COLLATE "C", r.rownum DESC
    ), ch AS (
        SELECT o.id, l.org_name, l.town,
               o.uscc IN (SELECT r.uscc FROM pg_temp.stpm_survey_run_orgs r WHERE r.created)
                   AS created
        FROM last l JOIN stpm.orgs o ON o.uscc = l.uscc
        WHERE (o.name, o.town) IS DISTINCT FROM (l.org_name, l.town)
        ORDER BY o.uscc FOR NO KEY UPDATE OF o
    ), up AS (
        UPDATE stpm.orgs o SET name = ch.org_name, town = ch.town, updated_at = now()
        FROM ch WHERE o.id = ch.id
        RETURNING ch.created
    )
    SELECT count(*) FILTER (WHERE NOT up.created) INTO orgs_updated FROM up;
    SELECT count(*) FILTER (WHERE r.created) INTO orgs_new FROM pg_temp.stpm_survey_run_orgs r;

    -- The organisation's figures of the year: from its last row merged that gives any.
    -- Only an import writes figures, each with candidates of its year: when the year's
    -- pool was empty as the run began and no figures of the year are there (a database
    -- of the first version let officers write them), a plain INSERT will do.
    IF run.fresh AND NOT EXISTS (SELECT FROM stpm.org_figures f WHERE f.survey_year = p_year) THEN
        INSERT INTO stpm.org_figures (org_id, survey_year, rd_spend, revenue, high_tech)
            SELECT o.id, p_year, x.rd_spend, x.revenue, x.high_tech
            FROM (SELECT DISTINCT ON (f.uscc COLLATE "C") f.uscc, f.rd_spend, f.revenue,
                         f.high_tech
                  FROM pg_temp.stpm_survey_run_figures f
                  ORDER BY f.uscc COLLATE "C", f.rownum DESC) x
            JOIN stpm.orgs o ON o.uscc = x.uscc;
        GET DIAGNOSTICS figures_changed = ROW_COUNT;
    ELSE
        WITH up AS (
            INSERT INTO stpm.org_figures AS f (org_id, survey_year, rd_spend, revenue, high_tech)
            SELECT o.id, p_year, x.rd_spend, x.revenue, x.high_tech
            FROM (SELECT DISTINCT ON (f.uscc COLLATE "C") f.uscc, f.rd_spend, f.revenue,
                         f.high_tech
                  FROM pg_temp.stpm_survey_run_figures f
                  ORDER BY f.uscc COLLATE "C", f.rownum DESC) x
            JOIN stpm.orgs o ON o.uscc = x.uscc
            ON CONFLICT (org_id, survey_year) DO UPDATE SET rd_spend = EXCLUDED.rd_spend,
                revenue = EXCLUDED.revenue, high_tech = EXCLUDED.high_tech
            WHERE (f.rd_spend, f.revenue, f.high_tech)
                IS DISTINCT FROM (EXCLUDED.rd_spend, EXCLUDED.revenue, EXCLUDED.high_tech)
            RETURNING 1
        )
        SELECT count(*) INTO figures_changed FROM up;
    END IF;

    UPDATE stpm.survey_imports i SET file_digest = p_file_digest, rows = run.rows,
            new = run.new, updated = run.updated, unchanged = run.unchanged
        WHERE i.id = run.import_id;
    import_id := run.import_id;
    rows := run.rows;
    new := run.new;
    updated := run.updated;
    unchanged := run.unchanged;
    INSERT INTO stpm.events (chain, kind, on_date, data)
        VALUES ('survey:' || p_year, 'import', coalesce(p_on_date, current_date),
                jsonb_build_object('import_id', import_id, 'year', p_year, 'file', p_file_name,
                    'file_digest', p_file_digest, 'encoding', p_encoding, 'rows', rows,
                    'new', new, 'updated', updated, 'unchanged', unchanged,
                    'orgs_new', orgs_new, 'orgs_updated', orgs_updated,
                    'figures_changed', figures_changed));
    -- the run has ended: its tables go now (another import may follow in this transaction)
    DROP TABLE pg_temp.stpm_survey_run, pg_temp.stpm_survey_run_orgs,
        pg_temp.stpm_survey_run_figures;
END $$;

-- An import's record commits only with its event, which only the end of the run writes.
CREATE FUNCTION stpm.survey_import_ended() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM stpm.events e
                    WHERE e.chain = 'survey:' || NEW.survey_year AND e.kind = 'import'
                      AND e.data ->> 'import_id' = NEW.id::text) THEN
        RAISE EXCEPTION 'the survey import of % for % was not ended', NEW.file_name,
                        NEW.survey_year
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'stpm.survey_import_apply ends the import that stpm.survey_import_chunk began.';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER survey_imports_ended AFTER INSERT ON stpm.survey_imports
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION stpm.survey_import_ended();

SELECT stpm.door_close();

GRANT EXECUTE ON FUNCTION stpm.survey_import_chunk(integer, text) TO stpm_officer, stpm_admin;
