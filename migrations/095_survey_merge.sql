-- 095: the survey's merge does less work (issue 11, item 4).
--
-- What stpm.survey_import_apply writes, counts and refuses stays what 072 makes of it;
-- only the way there is shorter:
--   * the reference checks of 060 on INSERT first hash a statement's rows by their
--     references (GROUP BY), so that array_agg(DISTINCT ...) sorts the distinct ids (about
--     33,000 organisations for a survey's 100,000 candidates) instead of every row's;
--   * the check of the staged rows also counts them, so that a fresh year's import record
--     does not read the staging table once more for its count.
-- (One sort of the staged rows for both the organisations and their figures, in one
-- statement, was tried and not kept: the figures would then take the ids of unchanged
-- organisations from the statement's snapshot, which misses an organisation that another
-- year's import commits meanwhile — the upsert waits for it, the snapshot does not see it.)

-- 060's checks, the same rows checked and locked, the same errors.
CREATE OR REPLACE FUNCTION stpm.reserve_entries_check_refs() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    org_ids uuid[];
    import_ids uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- one pass over the rows, hashed by their pair of references (a survey's 100,000
        -- candidates have about 33,000), then each list made distinct
        SELECT array_agg(DISTINCT d.org_id), array_agg(DISTINCT d.import_id)
            INTO org_ids, import_ids
            FROM (SELECT n.org_id, n.import_id FROM new_rows n GROUP BY n.org_id, n.import_id) d;
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

CREATE OR REPLACE FUNCTION stpm.org_figures_check_refs() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    org_ids uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(d.org_id) INTO org_ids FROM (SELECT DISTINCT n.org_id FROM new_rows n) d;
    ELSE
        SELECT array_agg(DISTINCT n.org_id) INTO org_ids FROM new_rows n
        WHERE NOT EXISTS (SELECT FROM old_rows p WHERE p.org_id = n.org_id);
    END IF;
    PERFORM stpm.refs_require(org_ids, 'orgs', 'org_figures', 'org_id', 'org_figures_org_id_fkey');
    RETURN NULL;
END $$;

-- 072's merge (see there for what each step means).
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
    stage oid := to_regclass('pg_temp.stpm_survey_stage');
    expected constant text :=
        'rownum integer!,id uuid!,org_new_id uuid!,uscc character(18)!,org_name text!,'
        'town text,title text!,title_norm text!,field text,target_plan text,leader text,'
        'planned_investment numeric(18,4),requested_funding numeric(18,4),'
        'rd_spend numeric(18,4),revenue numeric(18,4),high_tech boolean,partner text,'
        'maturity integer,notes text,row_digest character(64)!';
    got text;
    fresh boolean;
    bad integer;
    staged integer;
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_officer', 'stpm_admin'],
        'only an officer or an administrator may import surveys',
        'Connect as a member of stpm_officer or stpm_admin.');
    IF p_year IS NULL OR p_year NOT BETWEEN 1990 AND 2100 THEN
        RAISE EXCEPTION 'invalid survey year %', p_year
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give the year of the survey, e.g. 2020.';
    END IF;
    IF p_file_digest IS NULL OR p_file_digest !~ '^[0-9a-f]{64}$' OR stpm.is_blank(p_file_name) THEN
        RAISE EXCEPTION 'an import needs the file''s name and SHA-256 digest'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
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
                        -- nothing of the caller's that the planner or the executor would
                        -- run as this function's owner: no check constraint, index, rule,
                        -- trigger, extended statistics, generated or defaulted column
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
    PERFORM pg_advisory_xact_lock(1937076854, p_year); -- "surv", as core/survey/import.c

    -- What the tables' check constraints would refuse with their own names (see 072), and
    -- how many rows there are, in one pass.
    SELECT min(s.rownum) FILTER (WHERE s.org_name = '' OR s.title = '' OR s.title_norm = ''
                                    OR s.maturity NOT BETWEEN 1 AND 9),
           count(*)
        INTO bad, staged FROM pg_temp.stpm_survey_stage s;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'staged survey row % is invalid', bad
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Import the file with stpm survey import, which checks every row.';
    END IF;

    fresh := NOT EXISTS (SELECT FROM stpm.reserve_entries WHERE survey_year = p_year);

    -- Organisations: the last row of each USCC in the file gives its name and town.
    WITH src AS (
        SELECT DISTINCT ON (s.uscc COLLATE "C") s.uscc, s.org_new_id, s.org_name, s.town
        FROM pg_temp.stpm_survey_stage s ORDER BY s.uscc COLLATE "C", s.rownum DESC
    ), up AS (
        INSERT INTO stpm.orgs AS o (id, uscc, name, town)
        SELECT src.org_new_id, src.uscc, src.org_name, src.town FROM src
        ON CONFLICT (uscc) DO UPDATE SET name = EXCLUDED.name, town = EXCLUDED.town,
            updated_at = now()
        WHERE (o.name, o.town) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.town)
        RETURNING (o.xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
        INTO orgs_new, orgs_updated FROM up;

    -- The organisation's figures of the year: from its last row that gives any of them.
    WITH src AS (
        SELECT DISTINCT ON (s.uscc COLLATE "C") s.uscc, s.rd_spend, s.revenue, s.high_tech
        FROM pg_temp.stpm_survey_stage s
        WHERE s.rd_spend IS NOT NULL OR s.revenue IS NOT NULL OR s.high_tech IS NOT NULL
        ORDER BY s.uscc COLLATE "C", s.rownum DESC
    ), up AS (
        INSERT INTO stpm.org_figures AS f (org_id, survey_year, rd_spend, revenue, high_tech)
        SELECT o.id, p_year, src.rd_spend, src.revenue, src.high_tech
        FROM src JOIN stpm.orgs o ON o.uscc = src.uscc
        ON CONFLICT (org_id, survey_year) DO UPDATE SET rd_spend = EXCLUDED.rd_spend,
            revenue = EXCLUDED.revenue, high_tech = EXCLUDED.high_tech
        WHERE (f.rd_spend, f.revenue, f.high_tech)
            IS DISTINCT FROM (EXCLUDED.rd_spend, EXCLUDED.revenue, EXCLUDED.high_tech)
        RETURNING 1
    )
    SELECT count(*) INTO figures_changed FROM up;

    -- Classify every staged row against the pool, and record the run with its counts.
    IF fresh THEN
        INSERT INTO stpm.survey_imports AS i
                (survey_year, file_name, file_digest, rows, new, updated, unchanged,
                 imported_by)
            VALUES (p_year, p_file_name, p_file_digest, staged, staged, 0, 0, session_user)
            RETURNING i.id, i.rows, i.new, i.updated, i.unchanged
            INTO import_id, rows, new, updated, unchanged;
    ELSE
        INSERT INTO stpm.survey_imports AS i
                (survey_year, file_name, file_digest, rows, new, updated, unchanged,
                 imported_by)
            SELECT p_year, p_file_name, p_file_digest, count(*),
                count(*) FILTER (WHERE r.id IS NULL),
                count(*) FILTER (WHERE r.row_digest <> s.row_digest),
                count(*) FILTER (WHERE r.row_digest = s.row_digest), session_user
            FROM pg_temp.stpm_survey_stage s
            JOIN stpm.orgs o ON o.uscc = s.uscc
            LEFT JOIN stpm.reserve_entries r
                ON r.survey_year = p_year AND r.org_id = o.id AND r.title_norm = s.title_norm
            RETURNING i.id, i.rows, i.new, i.updated, i.unchanged
            INTO import_id, rows, new, updated, unchanged;
    END IF;

    -- The new candidates: the year's lock keeps others from adding the same keys
    -- meanwhile, so a plain INSERT of what the pool lacks is enough.
    IF new > 0 AND fresh THEN
        INSERT INTO stpm.reserve_entries (id, survey_year, org_id, title, title_norm, field,
                target_plan, leader, planned_investment, requested_funding, rd_spend,
                revenue, high_tech, partner, maturity, notes, row_digest, import_id)
            SELECT s.id, p_year, o.id, s.title, s.title_norm, s.field, s.target_plan,
                s.leader, s.planned_investment, s.requested_funding, s.rd_spend, s.revenue,
                s.high_tech, s.partner, s.maturity, s.notes, s.row_digest,
                survey_import_apply.import_id
            FROM pg_temp.stpm_survey_stage s JOIN stpm.orgs o ON o.uscc = s.uscc;
    ELSIF new > 0 THEN
        INSERT INTO stpm.reserve_entries (id, survey_year, org_id, title, title_norm, field,
                target_plan, leader, planned_investment, requested_funding, rd_spend,
                revenue, high_tech, partner, maturity, notes, row_digest, import_id)
            SELECT s.id, p_year, o.id, s.title, s.title_norm, s.field, s.target_plan,
                s.leader, s.planned_investment, s.requested_funding, s.rd_spend, s.revenue,
                s.high_tech, s.partner, s.maturity, s.notes, s.row_digest,
                survey_import_apply.import_id
            FROM pg_temp.stpm_survey_stage s JOIN stpm.orgs o ON o.uscc = s.uscc
            WHERE NOT EXISTS (SELECT FROM stpm.reserve_entries r
                              WHERE r.survey_year = p_year AND r.org_id = o.id
                                AND r.title_norm = s.title_norm);
    END IF;
    -- The candidates whose values changed; unchanged ones keep their import.
    IF updated > 0 THEN
        UPDATE stpm.reserve_entries r SET title = s.title, field = s.field,
                target_plan = s.target_plan, leader = s.leader,
                planned_investment = s.planned_investment,
                requested_funding = s.requested_funding,
                rd_spend = s.rd_spend, revenue = s.revenue, high_tech = s.high_tech,
                partner = s.partner, maturity = s.maturity, notes = s.notes,
                row_digest = s.row_digest, import_id = survey_import_apply.import_id,
                updated_at = now()
            FROM pg_temp.stpm_survey_stage s JOIN stpm.orgs o ON o.uscc = s.uscc
            WHERE r.survey_year = p_year AND r.org_id = o.id AND r.title_norm = s.title_norm
                AND r.row_digest <> s.row_digest;
    END IF;
    INSERT INTO stpm.events (chain, kind, on_date, data)
        VALUES ('survey:' || p_year, 'import', coalesce(p_on_date, current_date),
                jsonb_build_object('import_id', import_id, 'year', p_year, 'file', p_file_name,
                    'file_digest', p_file_digest, 'encoding', p_encoding, 'rows', rows,
                    'new', new, 'updated', updated, 'unchanged', unchanged,
                    'orgs_new', orgs_new, 'orgs_updated', orgs_updated,
                    'figures_changed', figures_changed));
END $$;

SELECT stpm.door_close();
