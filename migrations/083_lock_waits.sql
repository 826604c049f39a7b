-- 083: locks that other roles can hold are waited for a bounded time, and the error
-- names who holds them.
--
-- An advisory lock is not a privilege: any role that may connect can take any key
-- (`SELECT pg_advisory_lock(hashtext('stpm.year'), 2020)` as an auditor), and a key cannot
-- be reserved for the writers. So stpm's advisory locks — the plan year (shared by every
-- transition, exclusive for a new project or a promotion), the organisation and the leader
-- of a transition (stpm.lock_for_transition), a year's survey import — are taken by
-- stpm.lock_wait: at once when free; else waiting at most the setting lock_wait_seconds
-- (default 10, changed by an administrator with stpm.setting_set), then failing with
-- SQLSTATE 55P03 (lock_not_available, exit 4 in stpm) and a message that names what was
-- waited for and the sessions holding it (role, application name, pid: pg_locks and
-- pg_stat_activity, which every role may read). See docs/database.md, "Locks".

INSERT INTO stpm.settings (name, value) VALUES ('lock_wait_seconds', '10')
    ON CONFLICT (name) DO NOTHING;

-- How long stpm.lock_wait waits, in seconds (1 to 3600).
CREATE FUNCTION stpm.lock_wait_seconds() RETURNS integer
LANGUAGE sql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
    SELECT coalesce((SELECT value::integer FROM stpm.settings WHERE name = 'lock_wait_seconds'), 10)
$$;

-- Take the transaction-level advisory lock (p_k1, p_k2), shared when p_shared. p_what
-- says what it guards, for the message ("plan year 2020"). Free: taken at once, without
-- a subtransaction. Held by another session: waited for lock_wait_seconds at most (the
-- session's lock_timeout for that one statement, restored afterwards), then 55P03 naming
-- the holders.
CREATE FUNCTION stpm.lock_wait(p_k1 integer, p_k2 integer, p_shared boolean, p_what text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    secs integer;
    saved text;
    holders text;
    first_pid integer;
    got boolean;
BEGIN
    IF p_shared THEN
        got := pg_try_advisory_xact_lock_shared(p_k1, p_k2);
    ELSE
        got := pg_try_advisory_xact_lock(p_k1, p_k2);
    END IF;
    IF got THEN
        RETURN;
    END IF;
    secs := stpm.lock_wait_seconds();
    saved := current_setting('lock_timeout');
    PERFORM set_config('lock_timeout', (secs * 1000)::text, true);
    BEGIN
        IF p_shared THEN
            PERFORM pg_advisory_xact_lock_shared(p_k1, p_k2);
        ELSE
            PERFORM pg_advisory_xact_lock(p_k1, p_k2);
        END IF;
    EXCEPTION WHEN lock_not_available THEN
        PERFORM set_config('lock_timeout', saved, true);
        SELECT string_agg(format('role %s (%s, pid %s%s)', coalesce(a.usename::text, '?'),
                                 coalesce(nullif(a.application_name, ''), 'no application name'),
                                 l.pid, CASE WHEN a.xact_start IS NOT NULL
                                             THEN ', in a transaction since '
                                                  || to_char(a.xact_start, 'HH24:MI:SS')
                                             ELSE '' END),
                          ', ' ORDER BY l.pid),
               min(l.pid)
          INTO holders, first_pid
          FROM pg_catalog.pg_locks l
          LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid()
           AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                              WHERE d.datname = current_database())
           AND l.classid = (p_k1::bigint & 4294967295)::oid
           AND l.objid = (p_k2::bigint & 4294967295)::oid
           AND l.objsubid = 2;
        RAISE EXCEPTION 'waited % s for the lock on %, held by %', secs, p_what,
                coalesce(holders, 'a session that has let go of it since')
            USING ERRCODE = 'lock_not_available',
                  DETAIL = format('stpm waits at most lock_wait_seconds (%s) for a lock that '
                                  'any role may hold (pg_advisory_lock(%s, %s)).',
                                  secs, p_k1, p_k2),
                  HINT = CASE WHEN first_pid IS NULL THEN 'Try again.'
                              ELSE format('Try again once it is released; an administrator can '
                                          'end the holding session with SELECT '
                                          'pg_terminate_backend(%s).', first_pid) END;
    END;
    PERFORM set_config('lock_timeout', saved, true);
END $$;

-- The locks of a transition (070, which see for the order), each with a bounded wait.
-- The names for the message are looked up only when a lock is not free at once.
CREATE OR REPLACE FUNCTION stpm.lock_for_transition(p_year integer, p_org uuid, p_leader uuid)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock_shared(hashtext('stpm.year'), p_year) THEN
        PERFORM stpm.lock_wait(hashtext('stpm.year'), p_year, true,
                               format('plan year %s', p_year));
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('stpm.org'), hashtext(p_org::text)) THEN
        PERFORM stpm.lock_wait(hashtext('stpm.org'), hashtext(p_org::text), false,
                               format('organisation %s',
                                      coalesce((SELECT o.name FROM stpm.orgs o WHERE o.id = p_org),
                                               p_org::text)));
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('stpm.leader'), hashtext(p_leader::text)) THEN
        PERFORM stpm.lock_wait(hashtext('stpm.leader'), hashtext(p_leader::text), false,
                               format('project leader %s',
                                      coalesce((SELECT l.name FROM stpm.leaders l
                                                 WHERE l.id = p_leader), p_leader::text)));
    END IF;
END $$;

-- The lock that queues one year's survey imports (core/survey/import.c takes it first;
-- survey_import_apply takes it again, at once, in the same transaction).
CREATE FUNCTION stpm.survey_import_lock(p_year integer) RETURNS void
LANGUAGE sql AS $$
    SELECT stpm.lock_wait(1937076854, p_year, false, format('the survey imports of year %s', p_year))
$$;

-- 072's project_create, the year's lock taken with a bounded wait.
CREATE OR REPLACE FUNCTION stpm.project_create(p_plan text, p_org text, p_workflow_id uuid,
                                               p_title text, p_leader text, p_year integer,
                                               p_field text, p_initial text, p_defaults jsonb,
                                               p_sets jsonb, p_on_date date)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
BEGIN
    PERFORM stpm.require_member(ARRAY['stpm_officer', 'stpm_admin'],
        'only an officer or an administrator may create projects',
        'Connect as a member of stpm_officer or stpm_admin.');
    IF p_year IS NULL OR p_year NOT BETWEEN 1990 AND 2100 THEN
        RAISE EXCEPTION 'invalid project year %', p_year USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM stpm.lock_wait(hashtext('stpm.year'), p_year, false, format('plan year %s', p_year));
    RETURN stpm.project_insert(p_plan, p_org, p_workflow_id, p_title, p_leader, p_year,
                               p_field, p_initial, p_defaults, p_sets, p_on_date, NULL);
END $$;

-- 072's reserve_promote, the year's lock taken with a bounded wait.
CREATE OR REPLACE FUNCTION stpm.reserve_promote(p_entry uuid, p_plan text, p_workflow_id uuid,
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
    PERFORM stpm.lock_wait(hashtext('stpm.year'), y, false, format('plan year %s', y));
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

-- Settings: 070's late_after_days, and lock_wait_seconds.
CREATE OR REPLACE FUNCTION stpm.setting_set(p_name text, p_value text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    old text;
BEGIN
    IF NOT pg_has_role(session_user, 'stpm_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied: only an administrator may change settings'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_name = 'late_after_days' THEN
        IF p_value IS NULL OR p_value !~ '^[0-9]{1,4}$' THEN
            RAISE EXCEPTION 'invalid value "%" for setting late_after_days: expected a number of days',
                    p_value USING ERRCODE = 'invalid_parameter_value';
        END IF;
    ELSIF p_name = 'lock_wait_seconds' THEN
        IF p_value IS NULL OR p_value !~ '^[0-9]{1,4}$' OR p_value::integer NOT BETWEEN 1 AND 3600 THEN
            RAISE EXCEPTION 'invalid value "%" for setting lock_wait_seconds: expected a number of seconds from 1 to 3600',
                    p_value USING ERRCODE = 'invalid_parameter_value';
        END IF;
    ELSE
        RAISE EXCEPTION 'unknown setting "%"', p_name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The settings are: late_after_days, lock_wait_seconds.';
    END IF;
    SELECT value INTO old FROM stpm.settings WHERE name = p_name FOR UPDATE;
    UPDATE stpm.settings SET value = p_value, changed_at = now(), changed_by = session_user
     WHERE name = p_name;
    INSERT INTO stpm.events (chain, kind, data)
    VALUES ('system', 'admin', jsonb_build_object('action', 'setting_set', 'setting', p_name,
                                                  'from', old, 'to', p_value));
END $$;

SELECT stpm.door_close();
