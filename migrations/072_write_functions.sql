-- 072: every write that is not a project transition, a document attachment or a workflow
-- load goes through a function of the schema (issue 8, "the database is the only door").
--
-- Each function runs with the rights of its owner (SECURITY DEFINER, search_path pinned
-- with pg_temp last), checks the caller's group itself (pg_has_role(session_user, ...);
-- superusers pass), takes the actor of every row and event from session_user (never from
-- a parameter), writes its rows and its event in one transaction (the caller's, or the
-- statement's own) and says what went wrong in a sentence with one of the SQLSTATEs of
-- DOOR-PLAN ("Errors"): 22023 bad input, 42501 not allowed, P0002 not found, 40001 someone
-- else was first, SR001 a rule said no. A unique violation never reaches the caller.
--
-- Until 079 revokes the direct grants, the old statements would still work; libstpm no
-- longer uses them.
--
--   function                                                  who may call it
--   org_add, org_update                                       officer, admin
--   blacklist_add, blacklist_lift                             admin
--   conflict_declare                                          officer, admin
--   conflict_withdraw (never for oneself)                     admin
--   plan_add                                                  admin
--   target_set                                                admin
--   calendar_set, calendar_unset, calendar_load               admin
--   checkpoint_record                                         admin
--   survey_import_apply                                       officer, admin
--   project_create, reserve_promote                           officer, admin
--   project_migrate_one                                       admin
--   user_add (with the business date: writes its event)       admin

-- The functions run as stpm_owner (created by 070) once 079 hands them over.

-- ---- helpers (not callable by the groups: only from the functions below) ----

-- Raise 42501 with the sentence unless session_user is a member of one of the groups.
CREATE FUNCTION stpm.require_member(p_groups text[], p_message text, p_hint text)
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    g text;
BEGIN
    FOREACH g IN ARRAY p_groups LOOP
        IF pg_has_role(session_user, g, 'MEMBER') THEN
            RETURN;
        END IF;
    END LOOP;
    RAISE EXCEPTION '%', p_message
        USING ERRCODE = 'insufficient_privilege', HINT = p_hint;
END $$;
REVOKE ALL ON FUNCTION stpm.require_member(text[], text, text) FROM PUBLIC;

-- A normalised unified social credit code (GB 32100-2015): 18 characters of the code's
-- alphabet, the last one the check character of the first 17 (as core/util/uscc.c).
-- (No SET clause on these two helpers, so that the planner can inline them.)
CREATE FUNCTION stpm.uscc_valid(c text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT c IS NOT NULL AND c ~ '^[0-9A-HJ-NPQRTUWXY]{18}$'
       AND substr('0123456789ABCDEFGHJKLMNPQRTUWXY',
                  (31 - (SELECT sum((strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(c, i::int, 1)) - 1)
                                    * w)
                         FROM unnest('{1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28}'::int[])
                              WITH ORDINALITY AS t(w, i))::int % 31) % 31 + 1, 1)
           = substr(c, 18, 1)
$$;

-- A name, reason or title of blanks only is none: stpm.is_blank (070), the white space of
-- core/util/text.c.

-- ---- organisations, blacklist, conflicts of interest ----

CREATE FUNCTION stpm.org_add(p_uscc text, p_name text, p_town text, p_kind text, p_on_date date)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    o stpm.orgs;
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_officer', 'stpm_admin'],
        'only an officer or an administrator may add organisations',
        'Connect as a member of stpm_officer or stpm_admin.');
    IF NOT stpm.uscc_valid(p_uscc) THEN
        RAISE EXCEPTION 'invalid unified social credit code "%"', p_uscc
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give the 18 characters in upper case; the last one is a check character.';
    END IF;
    IF stpm.is_blank(p_name) THEN
        RAISE EXCEPTION 'missing organisation name' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO stpm.orgs (uscc, name, town, kind)
        VALUES (p_uscc, p_name, nullif(btrim(p_town), ''), nullif(btrim(p_kind), ''))
        ON CONFLICT (uscc) DO NOTHING RETURNING * INTO o;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'organisation % already exists', p_uscc
            USING ERRCODE = 'serialization_failure',
                  HINT = format('See it with "stpm org show %s".', p_uscc);
    END IF;
    INSERT INTO stpm.events (chain, kind, on_date, data)
        VALUES ('org:' || o.uscc, 'admin', p_on_date, jsonb_build_object('action', 'org_add',
                'uscc', o.uscc, 'name', o.name, 'town', o.town, 'kind', o.kind));
    RETURN o.id;
END $$;

-- Change an organisation's name, town or kind (NULL keeps the value; '' clears town, kind).
CREATE FUNCTION stpm.org_update(p_uscc text, p_name text, p_town text, p_kind text,
                                p_on_date date)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    old stpm.orgs;
    o stpm.orgs;
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_officer', 'stpm_admin'],
        'only an officer or an administrator may change organisations',
        'Connect as a member of stpm_officer or stpm_admin.');
    IF p_name IS NOT NULL AND stpm.is_blank(p_name) THEN
        RAISE EXCEPTION 'missing organisation name' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO old FROM stpm.orgs WHERE uscc = p_uscc FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'organisation % does not exist', p_uscc
            USING ERRCODE = 'no_data_found', HINT = 'List the organisations with "stpm org list".';
    END IF;
    UPDATE stpm.orgs SET name = coalesce(p_name, name),
            town = CASE WHEN p_town IS NULL THEN town ELSE nullif(btrim(p_town), '') END,
            kind = CASE WHEN p_kind IS NULL THEN kind ELSE nullif(btrim(p_kind), '') END,
            updated_at = now()
        WHERE id = old.id RETURNING * INTO o;
    IF (o.name, o.town, o.kind) IS NOT DISTINCT FROM (old.name, old.town, old.kind) THEN
        RETURN false;
    END IF;
    INSERT INTO stpm.events (chain, kind, on_date, data)
        VALUES ('org:' || o.uscc, 'admin', p_on_date, jsonb_build_object('action', 'org_update',
                'uscc', o.uscc, 'name', o.name, 'town', o.town, 'kind', o.kind,
                'previous', jsonb_build_object('name', old.name, 'town', old.town,
                                               'kind', old.kind)));
    RETURN true;
END $$;

CREATE FUNCTION stpm.blacklist_add(p_uscc text, p_reason text, p_valid_from date,
                                   p_valid_until date, p_on_date date)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    b stpm.blacklist;
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_admin'],
        'only an administrator may add blacklist entries', 'Connect as a member of stpm_admin.');
    IF stpm.is_blank(p_reason) THEN
        RAISE EXCEPTION 'missing reason for the blacklist entry'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_valid_from IS NULL THEN
        RAISE EXCEPTION 'missing start of the blacklist entry'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_valid_until < p_valid_from THEN
        RAISE EXCEPTION 'invalid end of the blacklist entry %', p_valid_until
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The entry would start on %s.', p_valid_from);
    END IF;
    PERFORM FROM stpm.orgs WHERE uscc = p_uscc FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'organisation % does not exist', p_uscc
            USING ERRCODE = 'no_data_found', HINT = 'Add it first with "stpm org add".';
    END IF;
    INSERT INTO stpm.blacklist (uscc, reason, valid_from, valid_until, added_by)
        VALUES (p_uscc, p_reason, p_valid_from, p_valid_until, session_user)
        RETURNING * INTO b;
    INSERT INTO stpm.events (chain, kind, on_date, reason, data)
        VALUES ('org:' || b.uscc, 'admin', p_on_date, b.reason,
                jsonb_build_object('action', 'blacklist', 'entry', b.id, 'reason', b.reason,
                                   'valid_from', b.valid_from, 'valid_until', b.valid_until));
    RETURN b.id;
END $$;

-- Lift the organisation's entries in force or still to come on p_on_date. Returns how many.
CREATE FUNCTION stpm.blacklist_lift(p_uscc text, p_reason text, p_on_date date)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    lifted jsonb;
    n integer;
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_admin'],
        'only an administrator may lift blacklist entries', 'Connect as a member of stpm_admin.');
    PERFORM FROM stpm.orgs WHERE uscc = p_uscc;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'organisation % does not exist', p_uscc
            USING ERRCODE = 'no_data_found', HINT = 'List the organisations with "stpm org list".';
    END IF;
    WITH l AS (
        UPDATE stpm.blacklist b SET lifted_on = p_on_date, lifted_at = now(),
                lifted_by = session_user, lift_reason = nullif(btrim(p_reason), '')
            WHERE b.uscc = p_uscc AND b.lifted_on IS NULL AND b.lifted_at IS NULL
              AND (b.valid_until IS NULL OR b.valid_until >= p_on_date)
            RETURNING b.id, b.reason, b.valid_from, b.valid_until)
    SELECT count(*), jsonb_agg(jsonb_build_object('entry', l.id, 'reason', l.reason,
                                                  'valid_from', l.valid_from,
                                                  'valid_until', l.valid_until))
        INTO n, lifted FROM l;
    IF n > 0 THEN
        INSERT INTO stpm.events (chain, kind, on_date, reason, data)
            VALUES ('org:' || p_uscc, 'admin', p_on_date, nullif(btrim(p_reason), ''),
                    jsonb_build_object('action', 'unblacklist', 'lifted', lifted));
    END IF;
    RETURN n;
END $$;

CREATE FUNCTION stpm.conflict_declare(p_uscc text, p_officer text, p_reason text,
                                      p_on_date date)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    o stpm.orgs;
    c stpm.conflicts;
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_officer', 'stpm_admin'],
        'only an officer or an administrator may declare conflicts of interest',
        'Connect as a member of stpm_officer or stpm_admin.');
    IF stpm.is_blank(p_officer) THEN
        RAISE EXCEPTION 'missing officer' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF stpm.is_blank(p_reason) THEN
        RAISE EXCEPTION 'missing reason for the conflict of interest'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO o FROM stpm.orgs WHERE uscc = p_uscc FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'organisation % does not exist', p_uscc
            USING ERRCODE = 'no_data_found', HINT = 'List the organisations with "stpm org list".';
    END IF;
    PERFORM FROM pg_catalog.pg_roles WHERE rolname = p_officer;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role "%" does not exist', p_officer
            USING ERRCODE = 'no_data_found',
                  HINT = 'Give the officer''s database role; "stpm user list" shows them.';
    END IF;
    INSERT INTO stpm.conflicts (officer, org_id, reason, declared_by)
        VALUES (p_officer, o.id, p_reason, session_user)
        ON CONFLICT (officer, org_id) DO NOTHING RETURNING * INTO c;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'a conflict of interest of % with organisation % is already declared',
                p_officer, p_uscc
            USING ERRCODE = 'serialization_failure',
                  HINT = format('See it with "stpm org show %s".', p_uscc);
    END IF;
    INSERT INTO stpm.events (chain, kind, on_date, reason, data)
        VALUES ('org:' || o.uscc, 'admin', p_on_date, c.reason,
                jsonb_build_object('action', 'conflict', 'officer', c.officer,
                                   'reason', c.reason));
    RETURN c.id;
END $$;

-- Withdraw a declaration; the event keeps what it said.
CREATE FUNCTION stpm.conflict_withdraw(p_uscc text, p_officer text, p_reason text,
                                       p_on_date date)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    c stpm.conflicts;
BEGIN
    -- A recusal (回避) is lifted by an administrator, never by the officer it binds: else an
    -- officer could withdraw it, admit the organisation's project and pass no_conflict.
    PERFORM stpm.require_member(ARRAY['stpm_admin'],
        'only an administrator may withdraw a conflict of interest',
        'Connect as a member of stpm_admin.');
    IF p_officer = session_user THEN
        RAISE EXCEPTION 'an officer cannot withdraw a conflict of interest declared for themself'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Another administrator withdraws it.';
    END IF;
    IF stpm.is_blank(p_reason) THEN
        RAISE EXCEPTION 'missing reason for withdrawing the conflict of interest'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM stpm.conflicts x USING stpm.orgs o
        WHERE o.id = x.org_id AND o.uscc = p_uscc AND x.officer = p_officer
        RETURNING x.* INTO c;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no conflict of interest of % with organisation % is declared',
                p_officer, p_uscc
            USING ERRCODE = 'no_data_found',
                  HINT = format('See the declarations with "stpm org show %s".', p_uscc);
    END IF;
    INSERT INTO stpm.events (chain, kind, on_date, reason, data)
        VALUES ('org:' || p_uscc, 'admin', p_on_date, p_reason,
                jsonb_build_object('action', 'conflict_withdraw', 'officer', c.officer,
                                   'declared_reason', c.reason, 'declared_by', c.declared_by,
                                   'declared_at', c.declared_at));
END $$;

-- ---- plans, targets ----

CREATE FUNCTION stpm.plan_add(p_code text, p_name text, p_level text, p_workflow text,
                              p_funded boolean, p_on_date date)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    p stpm.plans;
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_admin'],
        'only an administrator may add plans', 'Connect as a member of stpm_admin.');
    IF p_code IS NULL OR p_code !~ '^[A-Z][A-Z0-9]{1,15}$' THEN
        RAISE EXCEPTION 'invalid plan code "%"', coalesce(p_code, '')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example PKRD or NTSF; it becomes part of project codes such as 2021-PKRD-0042.';
    END IF;
    IF p_name IS NULL OR p_name = '' THEN
        RAISE EXCEPTION 'missing plan name' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_level IS NULL OR p_level NOT IN ('national', 'provincial', 'municipal', 'county') THEN
        RAISE EXCEPTION 'invalid plan level "%"', coalesce(p_level, '')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Expected national, provincial, municipal or county.';
    END IF;
    PERFORM FROM stpm.workflows WHERE name = p_workflow;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'workflow "%" is not loaded', p_workflow
            USING ERRCODE = 'no_data_found',
                  HINT = 'Load it first with "stpm workflow load FILE"; "stpm workflow list" shows the loaded ones.';
    END IF;
    INSERT INTO stpm.plans (code, name, level, funded, workflow_name)
        VALUES (p_code, p_name, p_level, coalesce(p_funded, false), p_workflow)
        ON CONFLICT (code) DO NOTHING RETURNING * INTO p;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'plan % already exists', p_code
            USING ERRCODE = 'serialization_failure',
                  HINT = format('See it with "stpm plan show %s".', p_code);
    END IF;
    INSERT INTO stpm.events (chain, kind, on_date, data)
        VALUES ('plan:' || p.code, 'admin', p_on_date, jsonb_build_object('action', 'plan_add',
                'code', p.code, 'name', p.name, 'level', p.level, 'funded', p.funded,
                'workflow', p.workflow_name));
    RETURN p.id;
END $$;

CREATE FUNCTION stpm.target_set(p_year integer, p_metric text, p_level text, p_value numeric,
                                p_on_date date)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    t stpm.targets;
    hint constant text := 'Metrics: applications, approvals, funded, funding. Levels: all, '
        'national, provincial, municipal, county, municipal_and_above, provincial_and_above.';
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_admin'],
        'only an administrator may set targets', 'Connect as a member of stpm_admin.');
    IF p_metric IS NULL OR p_metric NOT IN ('applications', 'approvals', 'funded', 'funding') THEN
        RAISE EXCEPTION 'unknown target metric "%"', coalesce(p_metric, '')
            USING ERRCODE = 'invalid_parameter_value', HINT = hint;
    END IF;
    IF coalesce(p_level, 'all') NOT IN ('all', 'national', 'provincial', 'municipal', 'county',
                                        'municipal_and_above', 'provincial_and_above') THEN
        RAISE EXCEPTION 'unknown target level "%"', p_level
            USING ERRCODE = 'invalid_parameter_value', HINT = hint;
    END IF;
    IF p_value IS NULL OR p_value < 0 OR p_value >= 1e14 OR p_value <> round(p_value, 4) THEN
        RAISE EXCEPTION 'invalid target value "%"', p_value
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A count, or 万元 with at most four decimals, not negative.';
    END IF;
    IF p_year IS NULL OR p_year NOT BETWEEN 1990 AND 2100 THEN
        RAISE EXCEPTION 'invalid target year %', p_year USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO stpm.targets AS x (year, metric, level, value)
        VALUES (p_year, p_metric, coalesce(p_level, 'all'), p_value)
        ON CONFLICT (year, metric, level) DO UPDATE SET value = EXCLUDED.value
        RETURNING * INTO t;
    INSERT INTO stpm.events (chain, kind, on_date, data)
        VALUES ('system', 'admin', p_on_date, jsonb_build_object('action', 'target_set',
                'year', t.year, 'metric', t.metric, 'level', t.level, 'value', t.value));
END $$;

-- ---- the calendar (the administrator's additions to the shipped days) ----

CREATE FUNCTION stpm.calendar_set(p_day date, p_workday boolean, p_note text, p_on_date date)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    prev jsonb;
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_admin'],
        'only an administrator may change the calendar', 'Connect as a member of stpm_admin.');
    IF p_day IS NULL OR p_workday IS NULL THEN
        RAISE EXCEPTION 'a calendar day needs a date and whether it is a working day'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT jsonb_build_object('workday', d.workday, 'note', d.note) INTO prev
        FROM stpm.calendar_days d WHERE d.day = p_day FOR UPDATE;
    INSERT INTO stpm.calendar_days (day, workday, note) VALUES (p_day, p_workday, p_note)
        ON CONFLICT (day) DO UPDATE SET workday = EXCLUDED.workday, note = EXCLUDED.note;
    INSERT INTO stpm.events (chain, kind, on_date, data)
        VALUES ('system', 'admin', p_on_date, jsonb_build_object('action', 'calendar_set',
                'day', p_day, 'workday', p_workday, 'note', p_note, 'previous', prev));
END $$;

CREATE FUNCTION stpm.calendar_unset(p_day date, p_on_date date)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    d stpm.calendar_days;
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_admin'],
        'only an administrator may change the calendar', 'Connect as a member of stpm_admin.');
    DELETE FROM stpm.calendar_days WHERE day = p_day RETURNING * INTO d;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no calendar day % was added', to_char(p_day, 'YYYY-MM-DD')
            USING ERRCODE = 'no_data_found',
                  HINT = '"stpm calendar list" shows the added days (source "added"); the shipped days are changed with "stpm calendar set".';
    END IF;
    INSERT INTO stpm.events (chain, kind, on_date, data)
        VALUES ('system', 'admin', p_on_date, jsonb_build_object('action', 'calendar_unset',
                'day', d.day, 'workday', d.workday, 'note', d.note));
END $$;

-- Add (or replace) the days of a calendar file: p_days[i] is a working day when
-- p_workdays[i]. Returns the number of days.
CREATE FUNCTION stpm.calendar_load(p_days date[], p_workdays boolean[], p_note text,
                                   p_file text, p_on_date date)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    n integer;
    holidays integer;
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_admin'],
        'only an administrator may change the calendar', 'Connect as a member of stpm_admin.');
    IF cardinality(p_days) IS DISTINCT FROM cardinality(p_workdays)
       OR array_position(p_days, NULL) IS NOT NULL
       OR array_position(p_workdays, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'the calendar''s days and their kinds do not match'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Give as many working-day flags as days, none of them null.';
    END IF;
    IF (SELECT count(DISTINCT d) <> count(*) FROM unnest(p_days) d) THEN
        RAISE EXCEPTION 'the calendar names a day twice' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO stpm.calendar_days (day, workday, note)
        SELECT d, w, p_note FROM unnest(p_days, p_workdays) AS u(d, w)
        ON CONFLICT (day) DO UPDATE SET workday = EXCLUDED.workday, note = EXCLUDED.note;
    SELECT count(*), count(*) FILTER (WHERE NOT w) INTO n, holidays
        FROM unnest(p_workdays) w;
    INSERT INTO stpm.events (chain, kind, on_date, data)
        VALUES ('system', 'admin', p_on_date, jsonb_build_object('action', 'calendar_load',
                'file', p_file, 'holidays', holidays, 'workdays', n - holidays));
    RETURN n;
END $$;

-- ---- signed checkpoints ----

-- Record an administrator's checkpoint (the file is what counts; the record says who made
-- one and when). made_by is session_user.
CREATE FUNCTION stpm.checkpoint_record(p_chains bigint, p_events bigint, p_digest text,
                                       p_public_key text, p_signature text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    id bigint;
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_admin'],
        'only an administrator may record checkpoints',
        'Connect as a member of stpm_admin; an auditor''s checkpoint is the file alone.');
    IF p_digest IS NULL OR p_digest !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION 'invalid checkpoint digest "%"', p_digest
            USING ERRCODE = 'invalid_parameter_value', HINT = '64 lower-case hex digits.';
    END IF;
    IF p_chains IS NULL OR p_chains < 0 OR p_events IS NULL OR p_events < 0 THEN
        RAISE EXCEPTION 'invalid checkpoint counts' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF stpm.is_blank(p_public_key) OR stpm.is_blank(p_signature) THEN
        RAISE EXCEPTION 'a checkpoint needs its public key and signature'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO stpm.checkpoints AS c (chains, events, digest, public_key, signature, made_by)
        VALUES (p_chains, p_events, p_digest, p_public_key, p_signature, session_user)
        RETURNING c.id INTO id;
    RETURN id;
END $$;

-- ---- the survey import ----

-- Merge the rows the caller staged with COPY in its temporary table stpm_survey_stage
-- (core/survey/import.c makes it and grants SELECT on it to stpm_owner) into the
-- organisations, their figures of the year and the reserve pool, record the run and write
-- its event. The staging table is read only if it is the caller's own plain temporary
-- table with exactly the expected columns (nothing in it can run code as the owner).
-- The year's imports queue on an advisory lock (the caller usually holds it already).
CREATE FUNCTION stpm.survey_import_apply(p_year integer, p_file_name text, p_file_digest text,
                                         p_encoding text, p_on_date date,
                                         OUT import_id uuid, OUT rows integer,
                                         OUT new integer, OUT updated integer,
                                         OUT unchanged integer, OUT orgs_new integer,
                                         OUT orgs_updated integer, OUT figures_changed integer)
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

    -- What the tables' check constraints would refuse with their own names. (The reader
    -- of stpm survey import has checked every row already: the USCC's check character,
    -- the digests and the keys are not checked again here — a regular expression over the
    -- 100,000 row digests alone costs 0.75 s. A hand-made staging table that repeats a
    -- key or reuses an id fails on the unique index.)
    SELECT min(s.rownum) INTO bad FROM pg_temp.stpm_survey_stage s
        WHERE s.org_name = '' OR s.title = '' OR s.title_norm = ''
           OR s.maturity NOT BETWEEN 1 AND 9;
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
            SELECT p_year, p_file_name, p_file_digest, n, n, 0, 0, session_user
            FROM (SELECT count(*)::integer AS n FROM pg_temp.stpm_survey_stage) c
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

-- ---- projects: creation, promotion from the reserve pool, a newer workflow version ----

-- The rows of a new project and its 'create' event (for project_create and
-- reserve_promote, which have checked the caller and taken the year's lock).
-- p_workflow_id is the version the caller checked its fields against: it must be the
-- newest version of the plan's workflow (else 40001: a version came meanwhile).
CREATE FUNCTION stpm.project_insert(p_plan text, p_org text, p_workflow_id uuid, p_title text,
                                    p_leader text, p_year integer, p_field text,
                                    p_initial text, p_defaults jsonb, p_sets jsonb,
                                    p_on_date date, p_reserve_entry uuid)
RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    pl stpm.plans;
    o stpm.orgs;
    w stpm.workflows;
    newest integer;
    v jsonb;
    rules jsonb;
    k text;
    x jsonb;
    v_leader uuid;
    n integer;
    p stpm.projects;
BEGIN
    IF stpm.is_blank(p_title) OR stpm.is_blank(p_leader) THEN
        RAISE EXCEPTION 'a project needs a plan, an org, a title and a leader'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_year IS NULL OR p_year NOT BETWEEN 1990 AND 2100 THEN
        RAISE EXCEPTION 'invalid project year %', p_year USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(coalesce(p_sets, '{}')) <> 'object' THEN
        RAISE EXCEPTION 'the fields of a new project must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO pl FROM stpm.plans WHERE code = p_plan;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'plan % does not exist', p_plan
            USING ERRCODE = 'no_data_found', HINT = '"stpm plan list" shows the plans.';
    END IF;
    SELECT * INTO o FROM stpm.orgs WHERE uscc = p_org FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'organisation % does not exist', p_org
            USING ERRCODE = 'no_data_found',
                  HINT = 'Add it with "stpm org add" or import a survey first.';
    END IF;
    SELECT * INTO w FROM stpm.workflows WHERE id = p_workflow_id;
    SELECT max(version) INTO newest FROM stpm.workflows WHERE name = pl.workflow_name;
    IF newest IS NULL THEN
        RAISE EXCEPTION 'workflow % of plan % is not stored', pl.workflow_name, pl.code
            USING ERRCODE = 'no_data_found', HINT = 'Load it with "stpm workflow load FILE".';
    END IF;
    IF w.id IS NULL OR w.name <> pl.workflow_name OR w.version <> newest THEN
        RAISE EXCEPTION 'workflow % of plan % changed meanwhile', pl.workflow_name, pl.code
            USING ERRCODE = 'serialization_failure',
                  DETAIL = format('New projects follow version %s.', newest),
                  HINT = 'Try again.';
    END IF;
    SELECT wr.rules INTO rules FROM stpm.workflow_rules wr WHERE wr.workflow_id = w.id;
    IF rules IS NULL THEN
        RAISE EXCEPTION 'workflow %@% has no compiled rules', w.name, w.version
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'An administrator loads the same workflow file again with '
                         '"stpm workflow load"; this stores what the server needs.';
    END IF;
    -- A project starts in the workflow's initial state, never further on.
    IF p_initial IS DISTINCT FROM rules ->> 'initial' THEN
        RAISE EXCEPTION 'a project of workflow % version % starts in state %, not %', w.name,
                w.version, rules ->> 'initial', coalesce(p_initial, 'none')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Its values: the workflow's own defaults, then what the person gave — the workflow's
    -- own fields and amount_requested only, each of its type (the other built-in fields
    -- change only by the workflow's set:).
    v := coalesce((SELECT jsonb_object_agg(f.key, f.value -> 'default')
                     FROM jsonb_each(rules -> 'fields') f
                    WHERE NOT (f.value ->> 'builtin')::boolean
                      AND jsonb_typeof(f.value -> 'default') IS DISTINCT FROM 'null'), '{}');
    FOR k, x IN SELECT * FROM jsonb_each(coalesce(p_sets, '{}')) LOOP
        IF k <> 'amount_requested' AND (rules -> 'fields' -> k IS NULL
                                        OR (rules -> 'fields' -> k ->> 'builtin')::boolean) THEN
            RAISE EXCEPTION 'field "%" cannot be set when a project is created', k
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('A new project of workflow %s takes amount_requested and '
                                      'the workflow''s own fields.', w.name);
        END IF;
        v := v || jsonb_build_object(k, stpm.field_value(k, rules -> 'fields' -> k ->> 'type', x));
    END LOOP;
    p_on_date := coalesce(p_on_date, current_date);

    INSERT INTO stpm.leaders AS l (org_id, name) VALUES (o.id, p_leader)
        ON CONFLICT (org_id, name) DO UPDATE SET name = EXCLUDED.name
        RETURNING l.id INTO v_leader;
    INSERT INTO stpm.project_codes AS pc (year, plan_id, last) VALUES (p_year, pl.id, 1)
        ON CONFLICT (year, plan_id) DO UPDATE SET last = pc.last + 1
        RETURNING pc.last INTO n;
    INSERT INTO stpm.projects (code, title, org_id, leader_id, plan_id, workflow_id, year, field,
            state, state_since, amount_requested, amount_approved, start_date, due_date,
            closed_date, fields, reserve_entry_id)
        VALUES (format('%s-%s-%s', p_year, pl.code, CASE WHEN n < 10000 THEN lpad(n::text, 4, '0') ELSE n::text END), p_title, o.id,
            v_leader, pl.id, w.id, p_year, p_field, p_initial, p_on_date,
            (v->>'amount_requested')::numeric, NULL, NULL, NULL, NULL,
            jsonb_strip_nulls(v - 'amount_requested'),
            p_reserve_entry)
        RETURNING * INTO p;
    INSERT INTO stpm.events (chain, project_id, on_date, kind, to_state, data)
        SELECT 'project:' || p.id, p.id, p_on_date, 'create', p_initial,
            jsonb_build_object('plan', pl.code, 'org', o.uscc, 'title', p_title,
                'leader', p_leader, 'year', p_year, 'field', p_field, 'workflow', w.name,
                'version', w.version, 'set', v)
            || coalesce((SELECT jsonb_build_object('reserve_entry', re.id, 'survey_year',
                    re.survey_year, 'survey_import', si.id, 'survey_file', si.file_name,
                    'survey_file_digest', si.file_digest)
                FROM stpm.reserve_entries re JOIN stpm.survey_imports si ON si.id = re.import_id
                WHERE re.id = p_reserve_entry), '{}');
    RETURN p.code;
END $$;
REVOKE ALL ON FUNCTION stpm.project_insert(text, text, uuid, text, text, integer, text, text,
    jsonb, jsonb, date, uuid) FROM PUBLIC;

-- Create a project under a plan; returns its code. The project starts in the workflow's
-- initial state with the workflow's defaults and p_sets (what the person set: the
-- workflow's own fields and amount_requested, each checked against its type here);
-- p_defaults is not used (the server takes the defaults from the compiled rules). Takes the year's lock first (as no_duplicate does), so that a duplicate
-- application cannot race past that check.
CREATE FUNCTION stpm.project_create(p_plan text, p_org text, p_workflow_id uuid, p_title text,
                                    p_leader text, p_year integer, p_field text,
                                    p_initial text, p_defaults jsonb, p_sets jsonb,
                                    p_on_date date)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_officer', 'stpm_admin'],
        'only an officer or an administrator may create projects',
        'Connect as a member of stpm_officer or stpm_admin.');
    IF p_year IS NULL OR p_year NOT BETWEEN 1990 AND 2100 THEN
        RAISE EXCEPTION 'invalid project year %', p_year USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('stpm.year'), p_year);
    RETURN stpm.project_insert(p_plan, p_org, p_workflow_id, p_title, p_leader, p_year,
                               p_field, p_initial, p_defaults, p_sets, p_on_date, NULL);
END $$;

-- Turn a candidate of the reserve pool into a project under a plan; returns its code.
-- The title, organisation and field are the entry's; the leader is p_leader or the
-- entry's, the year p_year or the survey's. One entry becomes at most one project: the
-- entry is locked, and whoever comes second is told who was first.
CREATE FUNCTION stpm.reserve_promote(p_entry uuid, p_plan text, p_workflow_id uuid,
                                     p_leader text, p_year integer, p_initial text,
                                     p_defaults jsonb, p_sets jsonb, p_on_date date)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    e stpm.reserve_entries;
    first_code text;
    y integer;
    v_code text;
    seen_free boolean;
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_officer', 'stpm_admin'],
        'only an officer or an administrator may promote candidates',
        'Connect as a member of stpm_officer or stpm_admin.');
    SELECT * INTO e FROM stpm.reserve_entries WHERE id = p_entry;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'reserve entry % does not exist', p_entry
            USING ERRCODE = 'no_data_found', HINT = '"stpm reserve list" shows the entries.';
    END IF;
    seen_free := e.project_id IS NULL;
    y := coalesce(p_year, e.survey_year);
    IF y NOT BETWEEN 1990 AND 2100 THEN
        RAISE EXCEPTION 'invalid project year %', y USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The year's lock first (as every project creation and no_duplicate), then the entry.
    PERFORM pg_advisory_xact_lock(hashtext('stpm.year'), y);
    SELECT * INTO e FROM stpm.reserve_entries WHERE id = p_entry FOR UPDATE;
    IF e.project_id IS NOT NULL THEN
        SELECT p.code INTO first_code FROM stpm.projects p WHERE p.id = e.project_id;
        IF seen_free THEN
            RAISE EXCEPTION 'reserve entry % was promoted meanwhile, into project %',
                    left(e.id::text, 8), first_code
                USING ERRCODE = 'serialization_failure',
                      DETAIL = 'A candidate of the reserve pool becomes at most one project; another promotion came first.',
                      HINT = format('See it with "stpm project show %s".', first_code);
        END IF;
        RAISE EXCEPTION 'reserve entry % was promoted already, into project %',
                left(e.id::text, 8), first_code
            USING ERRCODE = 'SR001',
                  DETAIL = 'A candidate of the reserve pool becomes at most one project.',
                  HINT = format('See it with "stpm project show %s".', first_code);
    END IF;
    IF stpm.is_blank(coalesce(p_leader, e.leader)) THEN
        RAISE EXCEPTION 'reserve entry % names no project leader', left(e.id::text, 8)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give the leader with --leader NAME.';
    END IF;
    BEGIN
        v_code := stpm.project_insert(p_plan, (SELECT o.uscc FROM stpm.orgs o WHERE o.id = e.org_id),
                                    p_workflow_id, e.title, coalesce(p_leader, e.leader), y,
                                    e.field, p_initial, p_defaults, p_sets, p_on_date, e.id);
    EXCEPTION WHEN unique_violation THEN
        -- Cannot happen under the entry's lock; should it, say so without the index's name.
        RAISE EXCEPTION 'reserve entry % was promoted meanwhile', left(e.id::text, 8)
            USING ERRCODE = 'serialization_failure', HINT = 'Try again.';
    END;
    UPDATE stpm.reserve_entries r SET project_id = p.id, updated_at = now()
        FROM stpm.projects p WHERE p.code = v_code AND r.id = e.id;
    RETURN v_code;
END $$;

-- Re-pin one project to a newer version of its workflow if nobody changed it since it was
-- read (row version and pinned version as read), and write its 'migrate' event. Returns
-- the event's hash, NULL when the project changed meanwhile. The event has no to_state:
-- the state does not change. p_missing: the fields the new version requires in the state
-- that the project lacks, ", "-separated (libstpm decides them and whether the state can
-- move on in the new version).
CREATE FUNCTION stpm.project_migrate_one(p_project uuid, p_row_version integer,
                                         p_from_workflow uuid, p_to_workflow uuid,
                                         p_on_date date, p_missing text)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    p stpm.projects;
    wf stpm.workflows;
    wt stpm.workflows;
    h text;
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_admin'],
        'only an administrator may move projects to another workflow version',
        'Connect as a member of stpm_admin.');
    SELECT * INTO wt FROM stpm.workflows WHERE id = p_to_workflow;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'workflow version % is not stored', p_to_workflow
            USING ERRCODE = 'no_data_found';
    END IF;
    UPDATE stpm.projects x SET workflow_id = wt.id, row_version = x.row_version + 1,
            updated_at = now()
        WHERE x.id = p_project AND x.row_version = p_row_version
          AND x.workflow_id = p_from_workflow
        RETURNING x.* INTO p;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT * INTO wf FROM stpm.workflows WHERE id = p_from_workflow;
    IF wf.name <> wt.name OR wt.version <= wf.version THEN
        RAISE EXCEPTION 'project % follows workflow % version %, not an older version of % %',
                p.code, wf.name, wf.version, wt.name, wt.version
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A project moves only to a newer version of its own workflow.';
    END IF;
    PERFORM FROM stpm.workflow_states s WHERE s.workflow_id = wt.id AND s.name = p.state;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'state % does not exist in version %', p.state, wt.version
            USING ERRCODE = 'SR001';
    END IF;
    INSERT INTO stpm.events AS e (chain, project_id, on_date, kind, from_state, data)
        VALUES ('project:' || p.id, p.id, p_on_date, 'migrate', p.state,
            jsonb_build_object('workflow', wt.name, 'from_version', wf.version,
                'to_version', wt.version, 'state', p.state, 'stranded', false,
                'missing_fields', to_jsonb(coalesce(string_to_array(p_missing, ', '), '{}'))))
        RETURNING e.hash INTO h;
    RETURN h;
END $$;

-- ---- users ----

-- stpm.user_add of 003, and its event on the business date in the same transaction.
CREATE FUNCTION stpm.user_add(p_name text, p_role text, p_password text, p_on_date date)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    created boolean;
BEGIN
    created := stpm.user_add(p_name, p_role, p_password);
    INSERT INTO stpm.events (chain, kind, on_date, data)
        VALUES ('system', 'admin', p_on_date, jsonb_build_object('action', 'user_add',
                'user', p_name, 'role', p_role, 'created', created));
    RETURN created;
END $$;

-- ---- who may call what ----

REVOKE ALL ON FUNCTION stpm.uscc_valid(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stpm.uscc_valid(text)
    TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

REVOKE ALL ON FUNCTION
    stpm.org_add(text, text, text, text, date),
    stpm.org_update(text, text, text, text, date),
    stpm.blacklist_add(text, text, date, date, date),
    stpm.blacklist_lift(text, text, date),
    stpm.conflict_declare(text, text, text, date),
    stpm.conflict_withdraw(text, text, text, date),
    stpm.plan_add(text, text, text, text, boolean, date),
    stpm.target_set(integer, text, text, numeric, date),
    stpm.calendar_set(date, boolean, text, date),
    stpm.calendar_unset(date, date),
    stpm.calendar_load(date[], boolean[], text, text, date),
    stpm.checkpoint_record(bigint, bigint, text, text, text),
    stpm.survey_import_apply(integer, text, text, text, date),
    stpm.project_create(text, text, uuid, text, text, integer, text, text, jsonb, jsonb, date),
    stpm.reserve_promote(uuid, text, uuid, text, integer, text, jsonb, jsonb, date),
    stpm.project_migrate_one(uuid, integer, uuid, uuid, date, text),
    stpm.user_add(text, text, text, date)
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    stpm.org_add(text, text, text, text, date),
    stpm.org_update(text, text, text, text, date),
    stpm.conflict_declare(text, text, text, date),
    stpm.survey_import_apply(integer, text, text, text, date),
    stpm.project_create(text, text, uuid, text, text, integer, text, text, jsonb, jsonb, date),
    stpm.reserve_promote(uuid, text, uuid, text, integer, text, jsonb, jsonb, date)
TO stpm_officer, stpm_admin;

GRANT EXECUTE ON FUNCTION
    stpm.blacklist_add(text, text, date, date, date),
    stpm.blacklist_lift(text, text, date),
    stpm.conflict_withdraw(text, text, text, date),
    stpm.plan_add(text, text, text, text, boolean, date),
    stpm.target_set(integer, text, text, numeric, date),
    stpm.calendar_set(date, boolean, text, date),
    stpm.calendar_unset(date, date),
    stpm.calendar_load(date[], boolean[], text, text, date),
    stpm.checkpoint_record(bigint, bigint, text, text, text),
    stpm.project_migrate_one(uuid, integer, uuid, uuid, date, text),
    stpm.user_add(text, text, text, date)
TO stpm_admin;
