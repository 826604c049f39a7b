-- 070: the workflow's rules enforced by the server (docs/architecture.md, "The database is
-- the only door").
--
-- Until now the C client decided every transition and wrote the row and the event with
-- direct grants, so whoever could connect could walk around the rules. From here on:
--   * stpm.workflow_rules holds, per stored workflow version, what the server needs to
--     decide a transition: libstpm compiles it when the workflow is loaded (fields and
--     their types, declared documents, states, and per transition from/to/roles/input/
--     require/checks and the guard and `set:` expressions as typed syntax trees that
--     stpm.expr_eval (071) evaluates);
--   * stpm.project_advance decides and writes a transition in one transaction, taking the
--     locks its integrity checks need; stpm.document_attach stores a document;
--   * the integrity checks are SQL functions (stpm.check_run), the same ones the client's
--     `project why` and `--dry-run` call, so the two can never disagree on a check;
--   * an event's business date runs forward in its chain and never passes the server's
--     date (the trigger that keeps the chain refuses it).
-- 079 then takes every direct write away from the login roles.

DO $$
BEGIN
    CREATE ROLE stpm_owner NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END $$;

-- ---------------------------------------------------------------------------------------
-- Compiled rules, one row per stored workflow version; immutable like the version.
CREATE TABLE stpm.workflow_rules (
    workflow_id  uuid PRIMARY KEY REFERENCES stpm.workflows(id),
    rules        jsonb NOT NULL,
    stored_at    timestamptz NOT NULL DEFAULT now(),
    stored_by    text NOT NULL DEFAULT session_user
);
CREATE TRIGGER workflow_rules_immutable BEFORE UPDATE OR DELETE ON stpm.workflow_rules
    FOR EACH ROW EXECUTE FUNCTION stpm.refuse_change();
GRANT SELECT ON stpm.workflow_rules TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

-- Each transition's part of the rules on its own row: what stpm.project_advance reads.
CREATE TABLE stpm.workflow_transition_rules (
    workflow_id  uuid NOT NULL REFERENCES stpm.workflow_rules(workflow_id),
    name         text NOT NULL,
    rule         jsonb NOT NULL,
    PRIMARY KEY (workflow_id, name)
);
CREATE TRIGGER workflow_transition_rules_immutable
    BEFORE UPDATE OR DELETE ON stpm.workflow_transition_rules
    FOR EACH ROW EXECUTE FUNCTION stpm.refuse_change();
GRANT SELECT ON stpm.workflow_transition_rules
    TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

-- ---------------------------------------------------------------------------------------
-- Business dates run forward. The chain head remembers the business date of its last
-- event; the trigger that extends a chain refuses an event of a project dated before it
-- (organisation and system chains hold administrative records whose business dates are
-- those of the facts they record, entered in any order), and any event dated after the
-- latest date anywhere on Earth at the server's moment (UTC+14, so that a client east of
-- the server is never refused its own today).
ALTER TABLE stpm.chain_heads ADD COLUMN on_date date;
UPDATE stpm.chain_heads h SET on_date = (SELECT max(e.on_date) FROM stpm.events e
                                         WHERE e.chain = h.chain);

CREATE FUNCTION stpm.latest_business_date() RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT greatest(current_date, ((now() AT TIME ZONE 'UTC') + interval '14 hours')::date)
$$;

CREATE OR REPLACE FUNCTION stpm.events_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    genesis constant char(64) := repeat('0', 64);
    last_on date;
    latest date := stpm.latest_business_date();
BEGIN
    -- Who and when are the server's to say, never the client's.
    NEW.actor := session_user;
    NEW.at := clock_timestamp();
    IF NEW.on_date IS NULL THEN
        NEW.on_date := current_date;
    END IF;
    IF NEW.on_date > latest THEN
        RAISE EXCEPTION 'the business date % is later than the server''s date %',
                NEW.on_date, current_date
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('An event of %s cannot be dated in the future.',
                                  coalesce((SELECT 'project ' || code FROM stpm.projects
                                             WHERE id = NEW.project_id), NEW.chain)),
                  HINT = 'Give a date up to today with --today, or leave it out.';
    END IF;
    -- Take the chain's head under a row lock: concurrent writers queue, the chain never forks.
    INSERT INTO stpm.chain_heads AS h (chain, seq, hash, on_date)
        VALUES (NEW.chain, 0, genesis, NULL)
        ON CONFLICT (chain) DO UPDATE SET seq = h.seq
        RETURNING h.seq, h.hash, h.on_date INTO NEW.seq, NEW.prev_hash, last_on;
    IF last_on IS NOT NULL AND NEW.on_date < last_on AND NEW.chain LIKE 'project:%' THEN
        RAISE EXCEPTION 'the business date % is earlier than %, the date of the last event of %',
                NEW.on_date, last_on,
                coalesce((SELECT 'project ' || code FROM stpm.projects WHERE id = NEW.project_id),
                         NEW.chain)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The history of a project runs forward: an event may not be dated '
                           'before the one that came before it.',
                  HINT = format('Use --today %s or later.', last_on);
    END IF;
    NEW.seq := NEW.seq + 1;
    NEW.hash := encode(sha256(convert_to(stpm.event_canonical(NEW), 'UTF8')), 'hex');
    UPDATE stpm.chain_heads SET seq = NEW.seq, hash = NEW.hash,
           on_date = greatest(coalesce(on_date, NEW.on_date), NEW.on_date)
        WHERE chain = NEW.chain;
    RETURN NEW;
END $$;

-- ---------------------------------------------------------------------------------------
-- The Unified Social Credit Code (GB 32100-2015), as core/util/uscc.c checks it: NULL
-- when valid, else the reason.
CREATE FUNCTION stpm.uscc_problem(p_code text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    alphabet constant text := '0123456789ABCDEFGHJKLMNPQRTUWXY';
    c text := upper(btrim(coalesce(p_code, '')));
    kinds text;
    s integer := 0;
    w integer := 1;
    v integer;
    oc text;
    cc text;
    ow constant integer[] := ARRAY[3, 7, 9, 10, 5, 8, 4, 2];
BEGIN
    IF c = '' THEN
        RETURN 'is empty';
    END IF;
    IF length(c) <> 18 THEN
        RETURN format('has %s characters, expected 18', length(c));
    END IF;
    FOR i IN 1..18 LOOP
        IF strpos(alphabet, substr(c, i, 1)) = 0 THEN
            RETURN format('character %s ''%s'' is not allowed (0-9 and A-Y without I, O, S, V, Z)',
                          i, substr(c, i, 1));
        END IF;
    END LOOP;
    IF strpos('123456789ANY', substr(c, 1, 1)) = 0 THEN
        RETURN format('registration authority ''%s'' (character 1) does not exist', substr(c, 1, 1));
    END IF;
    kinds := CASE substr(c, 1, 1) WHEN '9' THEN '123' WHEN '5' THEN '1239' WHEN '1' THEN '1239'
                                  WHEN 'Y' THEN '1' ELSE '123456789' END;
    IF strpos(kinds, substr(c, 2, 1)) = 0 THEN
        RETURN format('kind ''%s'' (character 2) does not exist under authority ''%s''',
                      substr(c, 2, 1), substr(c, 1, 1));
    END IF;
    IF substr(c, 3, 6) !~ '^[0-9]{6}$' THEN
        RETURN format('division code (characters 3-8) "%s" is not six digits', substr(c, 3, 6));
    END IF;
    FOR i IN 1..8 LOOP
        v := CASE WHEN substr(c, 8 + i, 1) ~ '[0-9]' THEN ascii(substr(c, 8 + i, 1)) - 48
                  ELSE ascii(substr(c, 8 + i, 1)) - 55 END;
        s := s + v * ow[i];
    END LOOP;
    oc := CASE 11 - s % 11 WHEN 10 THEN 'X' WHEN 11 THEN '0' ELSE (11 - s % 11)::text END;
    IF oc <> substr(c, 17, 1) THEN
        RETURN format('organisation code check character (17) is ''%s'', expected ''%s''',
                      substr(c, 17, 1), oc);
    END IF;
    s := 0;
    FOR i IN 1..17 LOOP
        s := s + (strpos(alphabet, substr(c, i, 1)) - 1) * w;
        w := (w * 3) % 31;
    END LOOP;
    cc := substr(alphabet, (31 - s % 31) % 31 + 1, 1);
    IF cc <> substr(c, 18, 1) THEN
        RETURN format('check character (18) is ''%s'', expected ''%s''', substr(c, 18, 1), cc);
    END IF;
    RETURN NULL;
END $$;


-- ---------------------------------------------------------------------------------------
-- The integrity checks of 廉政准入 (DESIGN §5). One function runs a transition's checks
-- (p_checks: [{name, similarity | max}]) on one project as of a date: for each, whether it
-- passed, a sentence, and the evidence that goes into the event.
-- `project why` and `--dry-run` call it from the client; stpm.project_advance inside the
-- transaction that writes. It only reads (the caller's snapshot decides what it sees).
-- p_param: no_duplicate's similarity threshold, leader_limit's max.
CREATE FUNCTION stpm.checks_run(p_checks jsonb, p_project uuid, p_today date)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    p_check text;
    p_param text;
    ck jsonb;
    res jsonb := '[]';
    passed boolean;
    summary text;
    evidence jsonb;
    p stpm.projects;
    o stpm.orgs;
    n bigint;
    lst jsonb;
    codes text;
    first_name text;
    first_sha text;
    b record;
    c stpm.conflicts;
    lname text;
    mx integer;
    thr real;
    top jsonb;
    why text;
BEGIN
    SELECT * INTO p FROM stpm.projects WHERE id = p_project;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'project % does not exist', p_project USING ERRCODE = 'no_data_found';
    END IF;
    SELECT * INTO o FROM stpm.orgs WHERE id = p.org_id;
    FOR ck IN SELECT jsonb_array_elements(p_checks) LOOP
    p_check := ck ->> 'name';
    p_param := coalesce(ck ->> 'similarity', ck ->> 'max');
    CASE p_check
    WHEN 'integrity_commitment' THEN
        SELECT count(*),
               jsonb_agg(jsonb_build_object('file_name', x.file_name, 'sha256', x.sha256,
                   'size', x.size, 'attached_at', x.attached_at) ORDER BY x.attached_at, x.file_name),
               (array_agg(x.file_name ORDER BY x.attached_at, x.file_name))[1],
               (array_agg(x.sha256 ORDER BY x.attached_at, x.file_name))[1]
          INTO n, lst, first_name, first_sha
          FROM stpm.documents x WHERE x.project_id = p.id AND x.kind = 'integrity_commitment';
        passed := n > 0;
        summary := CASE WHEN passed
            THEN format('integrity commitment attached to %s: %s (sha256 %s)', p.code, first_name,
                        left(first_sha, 12))
            ELSE format('no integrity commitment (廉政承诺书) is attached to project %s', p.code) END;
        evidence := jsonb_build_object('check', p_check, 'project', p.code, 'as_of', p_today,
                                       'passed', passed, 'documents', coalesce(lst, '[]'));
    WHEN 'credit_clean' THEN
        SELECT count(*) AS n,
               jsonb_agg(jsonb_build_object('id', e.id, 'reason', e.reason,
                   'valid_from', e.valid_from, 'valid_until', e.valid_until, 'added_by', e.added_by)
                   ORDER BY e.valid_from, e.id) AS entries,
               (array_agg(e.reason ORDER BY e.valid_from, e.id))[1] AS first_reason,
               (array_agg(e.valid_from ORDER BY e.valid_from, e.id))[1] AS first_from,
               (array_agg(e.valid_until ORDER BY e.valid_from, e.id))[1] AS first_until
          INTO b
          FROM stpm.blacklist e
         WHERE e.uscc = o.uscc AND e.valid_from <= p_today
           AND (e.valid_until IS NULL OR e.valid_until >= p_today)
           AND coalesce(e.lifted_on, e.lifted_at::date, 'infinity') > p_today;
        passed := b.n = 0;
        summary := CASE WHEN passed
            THEN format('org %s (%s) has no active blacklist entry on %s', o.uscc, o.name, p_today)
            ELSE format('org %s (%s) is on the credit blacklist: %s (%s – %s)', o.uscc, o.name,
                        b.first_reason, b.first_from, coalesce(b.first_until::text, 'open-ended'))
            END;
        evidence := jsonb_build_object('check', p_check, 'project', p.code, 'as_of', p_today,
                                       'passed', passed, 'org', o.uscc,
                                       'entries', coalesce(b.entries, '[]'));
    WHEN 'no_conflict' THEN
        SELECT * INTO c FROM stpm.conflicts x
         WHERE x.org_id = o.id AND x.officer = session_user::text;
        passed := c.id IS NULL;
        summary := CASE WHEN passed
            THEN format('%s has declared no conflict of interest with org %s (%s)',
                        session_user, o.uscc, o.name)
            ELSE format('%s has declared a conflict of interest (回避) with org %s (%s): %s',
                        session_user, o.uscc, o.name, c.reason) END;
        evidence := jsonb_build_object('check', p_check, 'project', p.code, 'as_of', p_today,
            'passed', passed, 'officer', session_user::text, 'org', o.uscc,
            'conflict', CASE WHEN c.id IS NOT NULL THEN jsonb_build_object('reason', c.reason,
                'declared_at', c.declared_at, 'declared_by', c.declared_by) END);
    WHEN 'no_duplicate' THEN
        thr := coalesce(p_param, '0.6')::real;
        -- The trigram index answers `%` at this threshold; similarity() then decides exactly.
        PERFORM set_config('pg_trgm.similarity_threshold', thr::text, true);
        SELECT count(*), jsonb_agg(to_jsonb(s) ORDER BY s.score DESC, s.code),
               (array_agg(to_jsonb(s) ORDER BY s.score DESC, s.code))[1]
          INTO n, lst, top
          FROM (SELECT q.code, q.title, og.uscc AS org, og.name AS org_name, pl.code AS plan,
                       q.state, round(similarity(x.title, p.title)::numeric, 3) AS score
                  FROM stpm.project_titles x
                  JOIN stpm.projects q ON q.id = x.project_id
                  JOIN stpm.orgs og ON og.id = q.org_id JOIN stpm.plans pl ON pl.id = q.plan_id
                 WHERE x.title % p.title AND x.year = p.year AND x.project_id <> p.id
                   AND q.state NOT IN ('rejected', 'terminated', 'withdrawn')
                   AND similarity(x.title, p.title) >= thr
                 ORDER BY score DESC, q.code LIMIT 5) s;
        passed := n = 0;
        summary := CASE WHEN passed
            THEN format('no other project of %s has a title similar to "%s" (threshold %s)',
                        p.year, p.title, p_param)
            ELSE format('possible duplicate application: %s "%s" (org %s, plan %s) has title '
                        'similarity %s >= %s%s', top->>'code', top->>'title', top->>'org',
                        top->>'plan', top->>'score', p_param,
                        CASE WHEN n > 1 THEN format(', and %s more', n - 1) ELSE '' END) END;
        evidence := jsonb_build_object('check', p_check, 'project', p.code, 'as_of', p_today,
            'passed', passed, 'threshold', p_param::numeric, 'year', p.year,
            'similar', coalesce(lst, '[]'));
    WHEN 'leader_limit' THEN
        mx := coalesce(p_param, '3')::integer;
        SELECT l.name INTO lname FROM stpm.leaders l WHERE l.id = p.leader_id;
        SELECT count(*) INTO n FROM stpm.projects q
         WHERE q.leader_id = p.leader_id AND q.id <> p.id AND q.closed_date IS NULL
           AND q.state NOT IN ('reserve', 'rejected', 'terminated', 'withdrawn', 'accepted', 'closed');
        SELECT jsonb_agg(jsonb_build_object('code', t.code, 'title', t.title, 'plan', t.plan,
                   'state', t.state) ORDER BY t.code),
               string_agg(t.code, ', ' ORDER BY t.code)
          INTO lst, codes
          FROM (SELECT q.code, q.title, pl.code AS plan, q.state
                  FROM stpm.projects q JOIN stpm.plans pl ON pl.id = q.plan_id
                 WHERE q.leader_id = p.leader_id AND q.id <> p.id AND q.closed_date IS NULL
                   AND q.state NOT IN ('reserve', 'rejected', 'terminated', 'withdrawn',
                                       'accepted', 'closed')
                 ORDER BY q.code LIMIT 20) t;
        passed := n < mx;
        summary := CASE WHEN passed
            THEN format('leader %s of org %s has %s other active project(s), under the limit of %s',
                        lname, o.uscc, n, mx)
            ELSE format('leader %s of org %s already has %s active project(s), the limit is %s: %s',
                        lname, o.uscc, n, mx,
                        codes || CASE WHEN n > 20 THEN ' ...' ELSE '' END) END;
        evidence := jsonb_build_object('check', p_check, 'project', p.code, 'as_of', p_today,
            'passed', passed, 'leader', lname, 'org', o.uscc, 'max', mx, 'count', n,
            'active', coalesce(lst, '[]'));
    WHEN 'org_no_overdue' THEN
        SELECT count(*) INTO n FROM stpm.projects q
         WHERE q.org_id = p.org_id AND q.closed_date IS NULL AND q.due_date < p_today;
        SELECT jsonb_agg(jsonb_build_object('code', t.code, 'title', t.title, 'state', t.state,
                   'due_date', t.due_date) ORDER BY t.due_date, t.code),
               string_agg(format('%s (due %s)', t.code, t.due_date), ', '
                          ORDER BY t.due_date, t.code)
          INTO lst, codes
          FROM (SELECT q.code, q.title, q.state, q.due_date FROM stpm.projects q
                 WHERE q.org_id = p.org_id AND q.closed_date IS NULL AND q.due_date < p_today
                 ORDER BY q.due_date, q.code LIMIT 20) t;
        passed := n = 0;
        summary := CASE WHEN passed
            THEN format('org %s (%s) has no overdue unclosed project on %s', o.uscc, o.name,
                        p_today)
            ELSE format('org %s (%s) has %s overdue unclosed project(s) (应结未结): %s', o.uscc,
                        o.name, n, codes || CASE WHEN n > 20 THEN ' ...' ELSE '' END) END;
        evidence := jsonb_build_object('check', p_check, 'project', p.code, 'as_of', p_today,
            'passed', passed, 'org', o.uscc, 'overdue', coalesce(lst, '[]'));
    WHEN 'uscc_valid' THEN
        why := stpm.uscc_problem(o.uscc);
        passed := why IS NULL;
        summary := CASE WHEN passed
            THEN format('org %s (%s) has a valid unified social credit code', o.uscc, o.name)
            ELSE format('org %s (%s) has an invalid unified social credit code: %s', o.uscc,
                        o.name, why) END;
        evidence := jsonb_build_object('check', p_check, 'project', p.code, 'as_of', p_today,
            'passed', passed, 'org', o.uscc, 'reason', why);
    ELSE
        RAISE EXCEPTION 'unknown integrity check "%"', p_check
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The checks are integrity_commitment, credit_clean, no_conflict, '
                         'no_duplicate, leader_limit, org_no_overdue and uscc_valid.';
    END CASE;
    res := res || jsonb_build_object('name', p_check, 'passed', passed, 'summary', summary,
                                     'evidence', evidence);
    END LOOP;
    RETURN res;
END $$;
GRANT EXECUTE ON FUNCTION stpm.checks_run(jsonb, uuid, date)
    TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

-- One check, for `project why` and `--dry-run` (core/project/integrity.c).
CREATE FUNCTION stpm.check_run(p_check text, p_project uuid, p_today date, p_param text,
                               OUT passed boolean, OUT summary text, OUT evidence jsonb)
LANGUAGE sql STABLE AS $$
    SELECT (r -> 0 ->> 'passed')::boolean, r -> 0 ->> 'summary', r -> 0 -> 'evidence'
    FROM stpm.checks_run(jsonb_build_array(jsonb_build_object('name', p_check,
                             'similarity', p_param, 'max', p_param)), p_project, p_today) r
$$;
GRANT EXECUTE ON FUNCTION stpm.check_run(text, uuid, date, text)
    TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;
-- similarity() and `%` come from pg_trgm, in whatever schema the database installed it:
-- that schema, named once here, and nothing else the caller could put first.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION stpm.checks_run(jsonb, uuid, date) '
                   'SET search_path = pg_catalog, stpm, %I, pg_temp',
                   (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                     WHERE e.extname = 'pg_trgm'));
END $$;

-- ---------------------------------------------------------------------------------------
-- (The small helpers below have no SET clause, so that they cost no GUC switch per call
-- and the SQL ones are inlined; they name only pg_catalog's functions and operators —
-- searched first — and schema-qualified ones.)
--
-- A reason of blanks only is no reason: the white space of core/util/text.c
-- (stpm_text_is_space): ASCII's, the no-break space, U+2000..U+200B, the ideographic
-- (full-width) space 　 that Chinese input methods type, and U+FEFF.
CREATE FUNCTION stpm.is_blank(p_text text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT btrim(coalesce(p_text, ''), E' \t\r\n\f\v\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u3000\ufeff') = ''
$$;

-- ---------------------------------------------------------------------------------------
-- A project's field values as the expressions see them (071's encoding): the built-in
-- columns, then the workflow's own fields (their defaults where the project has none).
-- No SET clause: it is inlined into the caller.
CREATE FUNCTION stpm.project_values(p stpm.projects, p_defaults jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(p_defaults, '{}')
        || p.fields
        || jsonb_build_object('title', p.title, 'year', p.year,
                              'amount_requested', p.amount_requested,
                              'amount_approved', p.amount_approved, 'start_date', p.start_date,
                              'due_date', p.due_date, 'closed_date', p.closed_date,
                              'extensions', p.extensions, 'state_since', p.state_since)
$$;

-- A value given with --set, checked against its field's type: the value in the
-- expressions' encoding, or an error naming the field. Numbers, dates and booleans may
-- come as JSON text too ("12.5", "2021-03-01", "true"/"是").
CREATE FUNCTION stpm.field_value(p_field text, p_type text, p_value jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    t text := jsonb_typeof(p_value);
    d date;
    n numeric;
BEGIN
    IF p_value IS NULL OR t = 'null' THEN
        RETURN 'null';
    END IF;
    -- A number typed as text ("12.5", as FIELD=VALUE gives it) is read as the number.
    IF t = 'string' AND p_type IN ('integer', 'amount')
       AND p_value #>> '{}' ~ '^\s*[-+]?[0-9]{1,20}(\.[0-9]{1,20})?\s*$' THEN
        p_value := to_jsonb((p_value #>> '{}')::numeric);
        t := 'number';
    END IF;
    CASE p_type
    WHEN 'text' THEN
        IF t = 'string' THEN
            RETURN p_value;
        END IF;
    WHEN 'boolean' THEN
        IF t = 'boolean' THEN
            RETURN p_value;
        END IF;
        IF t = 'string' AND lower(p_value #>> '{}') IN ('true', 't', 'yes', '1', '是') THEN
            RETURN 'true';
        END IF;
        IF t = 'string' AND lower(p_value #>> '{}') IN ('false', 'f', 'no', '0', '否') THEN
            RETURN 'false';
        END IF;
    WHEN 'integer' THEN
        IF t = 'number' AND (p_value::text)::numeric = trunc((p_value::text)::numeric)
           AND abs((p_value::text)::numeric) < 9223372036854775807 THEN
            RETURN to_jsonb((p_value::text)::numeric::bigint);
        END IF;
    WHEN 'amount' THEN
        IF t = 'number' THEN
            n := (p_value::text)::numeric;
            IF n < 0 THEN
                RAISE EXCEPTION 'invalid value % for field "%": amounts are not negative',
                        p_value, p_field USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF n >= 100000000000000 OR scale(n) > 4 THEN
                RAISE EXCEPTION 'invalid value % for field "%": an amount in 万元 has at most 14 digits before the point and 4 after',
                        p_value, p_field USING ERRCODE = 'invalid_parameter_value';
            END IF;
            RETURN p_value;
        END IF;
    WHEN 'date' THEN
        IF t = 'string' AND p_value #>> '{}' ~ '^\d{4}-\d{2}-\d{2}$' THEN
            BEGIN
                d := (p_value #>> '{}')::date;
                RETURN to_jsonb(d);
            EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
                NULL;
            END;
        END IF;
    ELSE
        NULL;
    END CASE;
    RAISE EXCEPTION 'invalid value % for field "%": expected %', p_value, p_field,
            CASE p_type WHEN 'date' THEN 'a date YYYY-MM-DD' WHEN 'amount' THEN 'an amount in 万元'
                        WHEN 'integer' THEN 'an integer' WHEN 'boolean' THEN 'true or false'
                        ELSE 'text' END
        USING ERRCODE = 'invalid_parameter_value';
END $$;

-- ---------------------------------------------------------------------------------------
-- Whether the connected role may take a transition open to p_roles (officer, admin,
-- expert): membership of stpm_<role> (superusers are members of every role).
CREATE FUNCTION stpm.may_take(p_roles jsonb) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM jsonb_array_elements_text(p_roles) r
                    WHERE pg_has_role(session_user, 'stpm_' || r, 'MEMBER'))
$$;

-- The locks a transition of project p takes before it reads anything its checks count,
-- always in this order (so that two transitions never wait for each other in a cycle):
--   1. the plan year, shared — project creation takes it exclusively (072), so that
--      no_duplicate never misses a project created at the same moment;
--   2. the organisation — org_no_overdue counts the organisation's projects;
--   3. the leader — leader_limit counts the leader's projects;
--   4. the project's row (FOR UPDATE, by the caller).
-- Advisory locks live in memory and end with the transaction: a few microseconds each.
CREATE FUNCTION stpm.lock_for_transition(p_year integer, p_org uuid, p_leader uuid)
RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock_shared(hashtext('stpm.year'), p_year),
           pg_advisory_xact_lock(hashtext('stpm.org'), hashtext(p_org::text)),
           pg_advisory_xact_lock(hashtext('stpm.leader'), hashtext(p_leader::text))
$$;

-- ---------------------------------------------------------------------------------------
-- Decide a transition and, when it is allowed, write it: the body of stpm.project_advance
-- below (which see), without the attachments and the record of a refusal. Called by
-- stpm.project_advance only (no grant). A refusal writes nothing and returns allowed false
-- with "failed" true when an integrity check failed.
CREATE FUNCTION stpm.transition_take(p_code text, p_transition text, p_on_date date,
        p_sets jsonb, p_reason text, p_by_timer boolean, p_documents uuid[],
        p_expect_state text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    p stpm.projects;
    w stpm.workflows;
    t jsonb;
    ws stpm.workflow_states;
    today date := coalesce(p_on_date, current_date);
    vals jsonb;
    changes jsonb := '{}';
    blocks jsonb := '[]';
    checks jsonb := '[]';
    outcomes jsonb := '[]';
    failed boolean := false;
    role_ok boolean := true;
    k text;
    v jsonb;
    f jsonb;
    c jsonb;
    r record;
    due date;
    docs jsonb;
    data jsonb;
    builtin_cols constant text[] := ARRAY['amount_requested', 'amount_approved', 'start_date',
                                          'due_date', 'closed_date', 'extensions'];
    h text;
    seen_version integer;
    seen_state text;
BEGIN
    SELECT * INTO p FROM stpm.projects WHERE code = p_code;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'project % does not exist', p_code
            USING ERRCODE = 'no_data_found', HINT = '"stpm project list" shows the projects.';
    END IF;
    seen_version := p.row_version;
    seen_state := p.state;
    PERFORM stpm.lock_for_transition(p.year, p.org_id, p.leader_id);
    SELECT * INTO p FROM stpm.projects WHERE id = p.id FOR UPDATE;
    SELECT tr.rule INTO t FROM stpm.workflow_transition_rules tr
     WHERE tr.workflow_id = p.workflow_id AND tr.name = p_transition;
    -- '*': the state read before waiting for the locks is the one the caller meant.
    IF p_expect_state = '*' AND p.row_version <> seen_version THEN
        RAISE EXCEPTION 'project % changed meanwhile: it is now in state %, not %', p.code,
                p.state, seen_state
            USING ERRCODE = 'serialization_failure',
                  HINT = format('Look at it again with "stpm project why %s".', p.code);
    END IF;
    IF p_expect_state <> '*' AND p.state <> p_expect_state THEN
        RAISE EXCEPTION 'project % changed meanwhile: it is now in state %, not %', p.code,
                p.state, p_expect_state
            USING ERRCODE = 'serialization_failure',
                  HINT = format('Look at it again with "stpm project why %s".', p.code);
    END IF;
    -- t, read above, is the transition's own compiled rule: a small value (never the whole
    -- workflow's rules, whose every access would decompress them again).
    IF t IS NULL THEN
        SELECT * INTO w FROM stpm.workflows WHERE id = p.workflow_id;
        IF NOT EXISTS (SELECT 1 FROM stpm.workflow_rules WHERE workflow_id = p.workflow_id) THEN
            RAISE EXCEPTION 'workflow %@% has no compiled rules', w.name, w.version
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'An administrator loads the same workflow file again with '
                             '"stpm workflow load"; this stores what the server needs.';
        END IF;
        RAISE EXCEPTION 'workflow %@% has no transition "%"', w.name, w.version, p_transition
            USING ERRCODE = 'no_data_found',
                  HINT = format('"stpm project why %s" lists the transitions out of its state.',
                                p.code);
    END IF;

    -- The user's values: only the transition's inputs, each of its field's type.
    vals := stpm.project_values(p, t -> 'defaults');
    FOR k, v IN SELECT * FROM jsonb_each(p_sets) WHERE p_sets IS NOT NULL AND p_sets <> '{}' LOOP
        IF NOT coalesce(t -> 'input', '[]') ? k THEN
            RAISE EXCEPTION 'field "%" is not an input of transition %', k, p_transition
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = CASE WHEN jsonb_array_length(t -> 'input') = 0
                          THEN format('Transition %s takes no input with --set.', p_transition)
                          ELSE format('The inputs of %s are: %s.', p_transition,
                                      (SELECT string_agg(x, ', ')
                                         FROM jsonb_array_elements_text(t -> 'input') x)) END,
                      HINT = 'Other fields change only by the workflow''s own set:.';
        END IF;
        v := stpm.field_value(k, t -> 'fields' -> k ->> 'type', v);
        vals := jsonb_set(vals, ARRAY[k], v);
        changes := jsonb_set(changes, ARRAY[k], v);
    END LOOP;

    -- Every rule, every reason, in the order of the C engine (core/workflow/wf_engine.c).
    IF NOT coalesce(t -> 'from', '[]') ? p.state THEN
        blocks := blocks || jsonb_build_object('kind', 'state', 'subject', p.state,
            'message', format('transition %s does not leave state %s', p_transition, p.state));
    END IF;
    IF p_by_timer THEN
        SELECT * INTO ws FROM stpm.workflow_states
         WHERE workflow_id = p.workflow_id AND name = p.state;
        IF ws.timeout_transition IS DISTINCT FROM p_transition THEN
            RAISE EXCEPTION 'state % of project % has no timer that takes %', p.state, p.code,
                    p_transition USING ERRCODE = 'SR001';
        END IF;
        due := stpm.duration_add(p.state_since, ws.timeout_unit, ws.timeout_n);
        IF today < due THEN
            RAISE EXCEPTION 'the timer of state % of project % is not due before %', p.state,
                    p.code, due USING ERRCODE = 'SR001',
                    DETAIL = format('The state was entered on %s; the timer runs %s%s.',
                                    p.state_since, ws.timeout_n, ws.timeout_unit);
        END IF;
    ELSIF NOT stpm.may_take(coalesce(t -> 'roles', '[]')) THEN
        role_ok := false;
        blocks := blocks || jsonb_build_object('kind', 'role',
            'subject', (SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(t -> 'roles') x),
            'message', format('requires the role %s',
                (SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(t -> 'roles') x)));
    END IF;
    FOR k IN SELECT jsonb_array_elements_text(t -> 'require' -> 'fields')
              WHERE t -> 'require' -> 'fields' <> '[]' LOOP
        IF jsonb_typeof(vals -> k) IS NULL OR jsonb_typeof(vals -> k) = 'null' THEN
            blocks := blocks || jsonb_build_object('kind', 'field', 'subject', k,
                'message', CASE WHEN t -> 'fields' -> k ->> 'label' IS NOT NULL
                    THEN format('field %s (%s) is not set', k, t -> 'fields' -> k ->> 'label')
                    ELSE format('field %s is not set', k) END);
        END IF;
    END LOOP;
    FOR k IN SELECT jsonb_array_elements_text(t -> 'required_before')
              WHERE t -> 'required_before' <> '[]' LOOP
        IF jsonb_typeof(vals -> k) IS NULL OR jsonb_typeof(vals -> k) = 'null' THEN
            blocks := blocks || jsonb_build_object('kind', 'field', 'subject', k,
                'message', CASE WHEN t -> 'fields' -> k ->> 'label' IS NOT NULL
                    THEN format('field %s (%s) must be set in state %s', k,
                                t -> 'fields' -> k ->> 'label', t ->> 'to')
                    ELSE format('field %s must be set in state %s', k, t ->> 'to') END);
        END IF;
    END LOOP;
    FOR k IN SELECT jsonb_array_elements_text(t -> 'require' -> 'documents')
              WHERE t -> 'require' -> 'documents' <> '[]' LOOP
        IF NOT EXISTS (SELECT 1 FROM stpm.documents d WHERE d.project_id = p.id AND d.kind = k) THEN
            blocks := blocks || jsonb_build_object('kind', 'document', 'subject', k,
                'message', format('document %s is not attached', k));
        END IF;
    END LOOP;
    IF (t -> 'require' ->> 'reason')::boolean AND stpm.is_blank(p_reason) THEN
        blocks := blocks || jsonb_build_object('kind', 'reason',
            'message', 'a reason is required');
    END IF;
    IF coalesce(t -> 'from', '[]') ? p.state AND jsonb_array_length(t -> 'checks') > 0 THEN
        outcomes := stpm.checks_run(t -> 'checks', p.id, today);
        SELECT jsonb_agg(x -> 'evidence' ORDER BY n),
               coalesce(jsonb_agg(jsonb_build_object('kind', 'check', 'subject', x ->> 'name',
                            'message', format('check %s failed: %s', x ->> 'name', x ->> 'summary'),
                            'evidence', x -> 'evidence') ORDER BY n)
                        FILTER (WHERE NOT (x ->> 'passed')::boolean), '[]')
          INTO checks, c
          FROM jsonb_array_elements(outcomes) WITH ORDINALITY e(x, n);
        IF jsonb_array_length(c) > 0 THEN
            -- A refusal is recorded only for someone who may take the transition: else
            -- anyone of the three groups could write refusals into any project's history.
            failed := role_ok;
            blocks := blocks || c;
        END IF;
    END IF;
    IF t -> 'when' IS NOT NULL AND jsonb_typeof(t -> 'when') <> 'null' THEN
        BEGIN
            v := stpm.expr_eval(t -> 'when', vals, today);
            IF jsonb_typeof(v) = 'null' THEN
                blocks := blocks || jsonb_build_object('kind', 'guard', 'subject', t ->> 'when_src',
                    'message', format('guard is not true (a field it reads is not set): %s',
                                      t ->> 'when_src'));
            ELSIF v = 'false' THEN
                blocks := blocks || jsonb_build_object('kind', 'guard', 'subject', t ->> 'when_src',
                    'message', format('guard is false: %s', t ->> 'when_src'));
            END IF;
        EXCEPTION WHEN numeric_value_out_of_range OR datetime_field_overflow
                       OR invalid_parameter_value THEN
            blocks := blocks || jsonb_build_object('kind', 'guard', 'subject', t ->> 'when_src',
                'message', format('guard could not be evaluated (%s): %s', SQLERRM,
                                  t ->> 'when_src'));
        END;
    END IF;

    IF jsonb_array_length(blocks) > 0 THEN
        SELECT * INTO w FROM stpm.workflows WHERE id = p.workflow_id;
        RETURN jsonb_build_object('allowed', false, 'code', p.code, 'from', p.state,
            'to', t ->> 'to', 'row_version', p.row_version, 'blocks', blocks, 'checks', checks,
            'outcomes', outcomes, 'failed', failed, 'project_id', p.id, 'workflow', w.name,
            'version', w.version);
    END IF;

    -- `set:` in order, each expression seeing the values set before it.
    FOR c IN SELECT jsonb_array_elements(t -> 'set') WHERE t -> 'set' <> '[]' LOOP
        k := c ->> 'field';
        v := stpm.expr_eval(c -> 'expr', vals, today);
        IF t -> 'fields' -> k ->> 'type' = 'amount' AND jsonb_typeof(v) = 'number' THEN
            v := stpm.field_value(k, 'amount', v);
        END IF;
        vals := jsonb_set(vals, ARRAY[k], v);
        changes := jsonb_set(changes, ARRAY[k], v);
    END LOOP;
    FOR k IN SELECT jsonb_array_elements_text(t -> 'required_after')
              WHERE t -> 'required_after' <> '[]' LOOP
        IF jsonb_typeof(vals -> k) IS NULL OR jsonb_typeof(vals -> k) = 'null' THEN
            RAISE EXCEPTION 'transition % of project % is refused', p_transition, p.code
                USING ERRCODE = 'SR001',
                      DETAIL = format('field %s must be set in state %s', k, t ->> 'to');
        END IF;
    END LOOP;

    docs := '[]';
    IF cardinality(p_documents) > 0 THEN
        SELECT coalesce(jsonb_agg(jsonb_build_object('kind', d.kind, 'file_name', d.file_name,
                            'sha256', d.sha256, 'size', d.size) ORDER BY d.kind, d.sha256), '[]')
          INTO docs FROM stpm.documents d WHERE d.id = ANY (p_documents) AND d.project_id = p.id;
    END IF;
    SELECT * INTO w FROM stpm.workflows WHERE id = p.workflow_id;

    UPDATE stpm.projects SET state = t ->> 'to', state_since = today,
        amount_requested = CASE WHEN changes ? 'amount_requested'
            THEN (changes ->> 'amount_requested')::numeric ELSE amount_requested END,
        amount_approved = CASE WHEN changes ? 'amount_approved'
            THEN (changes ->> 'amount_approved')::numeric ELSE amount_approved END,
        start_date = CASE WHEN changes ? 'start_date'
            THEN (changes ->> 'start_date')::date ELSE start_date END,
        due_date = CASE WHEN changes ? 'due_date'
            THEN (changes ->> 'due_date')::date ELSE due_date END,
        closed_date = CASE WHEN changes ? 'closed_date'
            THEN (changes ->> 'closed_date')::date ELSE closed_date END,
        extensions = CASE WHEN changes ? 'extensions'
            THEN coalesce((changes ->> 'extensions')::int, 0) ELSE extensions END,
        fields = jsonb_strip_nulls(fields || (changes - builtin_cols)),
        row_version = row_version + 1, updated_at = now()
     WHERE id = p.id;
    data := jsonb_build_object('workflow', w.name, 'version', w.version, 'set', changes,
                               'checks', checks, 'documents', docs, 'by_timer', p_by_timer);
    INSERT INTO stpm.events (chain, project_id, on_date, kind, transition, from_state, to_state,
                             reason, data)
    VALUES ('project:' || p.id, p.id, today, 'transition', p_transition, p.state, t ->> 'to',
            CASE WHEN NOT stpm.is_blank(p_reason) THEN p_reason END, data)
    RETURNING hash INTO h;
    RETURN jsonb_build_object('allowed', true, 'code', p.code, 'from', p.state, 'to', t ->> 'to',
        'row_version', p.row_version + 1, 'hash', h, 'changes', changes, 'checks', checks,
        'outcomes', outcomes, 'blocks', '[]'::jsonb);
END $$;
REVOKE ALL ON FUNCTION stpm.transition_take(text, text, date, jsonb, text, boolean, uuid[], text)
    FROM PUBLIC;

-- ---------------------------------------------------------------------------------------
-- Take a transition (`stpm project advance`, `stpm tick`): the documents attached for it,
-- the whole decision and the write, in the caller's transaction.
--   p_code        the project's human code
--   p_transition  the workflow's transition name
--   p_on_date     the business date ("today"); NULL: the server's date
--   p_sets        {field: value}: --set, only the transition's `input:` fields
--   p_reason      --reason (a reason of blanks only is no reason)
--   p_by_timer    fired by `stpm tick`: allowed only when the state's timer is due
--   p_attach_kinds, p_attach_names, p_attach_contents
--                 documents to attach first (--attach KIND=FILE), as stpm.document_attach
--                 does; the event records their kinds and digests
--   p_expect_state  the state the caller saw, or NULL: when another transition moved the
--                 project meanwhile, 40001 (someone changed it first) rather than a
--                 decision on a state the caller did not see; '*': the state this call
--                 reads first, before it waits for the locks (a change while it waited
--                 is 40001)
--   p_report      return a refusal as the JSON below instead of raising it (stpm does, to
--                 show every reason with its subject and evidence)
-- Returns {"allowed": bool, "code", "from", "to", "row_version", "hash", "changes",
-- "checks": [evidence...], "outcomes": [{name, passed, summary, evidence}],
-- "blocks": [{kind, subject, message, evidence}], "refused": the refused event's hash}.
-- A refusal raises SR001 (exit 3) with every reason in the detail and writes nothing —
-- not even the documents — except when an integrity check failed: then an event of kind
-- `refused` records the evidence of every check (DESIGN §3), the state stays, and the
-- function returns allowed false with a WARNING (raising would take the record back).
-- Bad input (a field that is not an input, a bad value, a date out of order) raises 22023.
CREATE FUNCTION stpm.project_advance(p_code text, p_transition text, p_on_date date DEFAULT NULL,
        p_sets jsonb DEFAULT '{}', p_reason text DEFAULT NULL, p_by_timer boolean DEFAULT false,
        p_attach_kinds text[] DEFAULT '{}', p_attach_names text[] DEFAULT '{}',
        p_attach_contents bytea[] DEFAULT '{}', p_expect_state text DEFAULT NULL,
        p_report boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    res jsonb;
    ids uuid[] := '{}';
    d record;
    n integer := coalesce(array_length(p_attach_kinds, 1), 0);
    h text;
BEGIN
    IF NOT (pg_has_role(session_user, 'stpm_officer', 'MEMBER')
            OR pg_has_role(session_user, 'stpm_admin', 'MEMBER')
            OR pg_has_role(session_user, 'stpm_expert', 'MEMBER')) THEN
        RAISE EXCEPTION 'permission denied: the role % may not change projects', session_user
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Transitions are taken by members of stpm_officer, stpm_admin or '
                           'stpm_expert; auditors only read.';
    END IF;
    IF n <> coalesce(array_length(p_attach_names, 1), 0)
       OR n <> coalesce(array_length(p_attach_contents, 1), 0) THEN
        RAISE EXCEPTION 'every attached document needs a kind, a file name and a content'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF n = 0 THEN
        res := stpm.transition_take(p_code, p_transition, p_on_date, p_sets, p_reason,
                                    p_by_timer, '{}', p_expect_state);
    ELSE
        -- The transition's locks before the documents' row lock, in the order of
        -- stpm.lock_for_transition (transition_take takes them itself otherwise).
        SELECT * INTO d FROM stpm.projects WHERE code = p_code;
        IF FOUND THEN
            PERFORM stpm.lock_for_transition(d.year, d.org_id, d.leader_id);
        END IF;
        -- The documents belong to the transition: a refusal takes them back (the
        -- subtransaction ends in an exception), the rest of the caller's work stays.
        BEGIN
            FOR i IN 1..n LOOP
                SELECT * INTO d FROM stpm.document_attach(p_code, p_attach_kinds[i],
                        p_attach_names[i], p_attach_contents[i], p_on_date);
                ids := ids || d.id;
            END LOOP;
            res := stpm.transition_take(p_code, p_transition, p_on_date, p_sets, p_reason,
                                        p_by_timer, ids, p_expect_state);
            IF NOT (res ->> 'allowed')::boolean THEN
                RAISE EXCEPTION 'refused' USING ERRCODE = 'SR002';
            END IF;
        EXCEPTION WHEN SQLSTATE 'SR002' THEN
            NULL;
        END;
    END IF;
    IF (res ->> 'allowed')::boolean OR (p_report AND NOT (res ->> 'failed')::boolean) THEN
        RETURN res - 'failed' - 'project_id' - 'workflow' - 'version';
    END IF;
    IF NOT (res ->> 'failed')::boolean THEN
        RAISE EXCEPTION 'transition % of project % is refused', p_transition, p_code
            USING ERRCODE = 'SR001',
                  DETAIL = (SELECT string_agg((b ->> 'kind') || ': ' || (b ->> 'message'), E'\n'
                                              ORDER BY x.k)
                              FROM jsonb_array_elements(res -> 'blocks') WITH ORDINALITY x(b, k)),
                  HINT = format('"stpm project why %s" shows every rule and its evidence.', p_code);
    END IF;
    INSERT INTO stpm.events (chain, project_id, on_date, kind, transition, from_state, reason, data)
    VALUES ('project:' || (res ->> 'project_id'), (res ->> 'project_id')::uuid,
            coalesce(p_on_date, current_date), 'refused', p_transition, res ->> 'from',
            CASE WHEN NOT stpm.is_blank(p_reason) THEN p_reason END,
            jsonb_build_object('workflow', res ->> 'workflow', 'version', (res ->> 'version')::int,
                               'checks', res -> 'checks', 'blocks', res -> 'blocks'))
    RETURNING hash INTO h;
    IF NOT p_report THEN
        RAISE WARNING 'transition % of project % is refused; the refusal is recorded', p_transition,
                p_code
            USING DETAIL = (SELECT string_agg((b ->> 'kind') || ': ' || (b ->> 'message'), E'\n'
                                              ORDER BY x.k)
                              FROM jsonb_array_elements(res -> 'blocks') WITH ORDINALITY x(b, k));
    END IF;
    RETURN (res - 'failed' - 'project_id' - 'workflow' - 'version')
           || jsonb_build_object('refused', h);
END $$;
REVOKE ALL ON FUNCTION stpm.project_advance(text, text, date, jsonb, text, boolean, text[],
                                            text[], bytea[], text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stpm.project_advance(text, text, date, jsonb, text, boolean, text[],
                                               text[], bytea[], text, boolean)
    TO stpm_admin, stpm_officer, stpm_expert;

-- Many projects, one transition (`project advance --where`, `tick`): p_sets is one object
-- for all, or an array of one object per project (stpm_project_advance_each); each project in its
-- own subtransaction, so each is atomic on its own and the later ones see the earlier
-- ones; one round trip and one commit for the lot. Every project's outcome is returned
-- in order: the result of stpm.project_advance, or {"error": {sqlstate, message, detail,
-- hint}} when it raised.
CREATE FUNCTION stpm.project_advance_many(p_codes text[], p_transition text,
        p_on_date date DEFAULT NULL, p_sets jsonb DEFAULT '{}', p_reason text DEFAULT NULL,
        p_by_timer boolean DEFAULT false)
RETURNS SETOF jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    code text;
    res jsonb;
    st text;
    msg text;
    det text;
    hnt text;
BEGIN
    FOR i IN 1..coalesce(array_length(p_codes, 1), 0) LOOP
        code := p_codes[i];
        BEGIN
            res := stpm.project_advance(code, p_transition, p_on_date,
                                        CASE WHEN jsonb_typeof(p_sets) = 'array'
                                             THEN coalesce(p_sets -> (i - 1), '{}')
                                             ELSE p_sets END,
                                        p_reason, p_by_timer, p_report => true);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                                    det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
            IF st IN ('40P01', '40001', '55P03') OR st LIKE '08%' OR st LIKE '57%'
               OR st LIKE '53%' THEN
                RAISE; -- the whole batch is retried or fails: not one project's problem
            END IF;
            res := jsonb_build_object('code', code, 'error', jsonb_build_object(
                'sqlstate', st, 'message', msg, 'detail', nullif(det, ''),
                'hint', nullif(hnt, '')));
        END;
        RETURN NEXT res;
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION stpm.project_advance_many(text[], text, date, jsonb, text, boolean)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stpm.project_advance_many(text[], text, date, jsonb, text, boolean)
    TO stpm_admin, stpm_officer, stpm_expert;

-- ---------------------------------------------------------------------------------------
-- Attach a document to a project (`project attach`, `project advance --attach`): the
-- server computes the digest and size, refuses a kind the pinned workflow does not
-- declare, and writes the `attach` event. Returns the document's id, its digest and
-- whether it is new (the same content of the same kind is stored once).
CREATE FUNCTION stpm.document_attach(p_code text, p_kind text, p_file_name text,
        p_content bytea, p_on_date date DEFAULT NULL,
        OUT id uuid, OUT sha256 text, OUT is_new boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    p stpm.projects;
    rules jsonb;
    digest text := encode(pg_catalog.sha256(p_content), 'hex');
BEGIN
    IF NOT (pg_has_role(session_user, 'stpm_officer', 'MEMBER')
            OR pg_has_role(session_user, 'stpm_admin', 'MEMBER')
            OR pg_has_role(session_user, 'stpm_expert', 'MEMBER')) THEN
        RAISE EXCEPTION 'permission denied: the role % may not attach documents', session_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT * INTO p FROM stpm.projects WHERE code = p_code;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'project % does not exist', p_code
            USING ERRCODE = 'no_data_found', HINT = '"stpm project list" shows the projects.';
    END IF;
    PERFORM stpm.lock_for_transition(p.year, p.org_id, p.leader_id); -- the transitions' order
    SELECT * INTO p FROM stpm.projects x WHERE x.id = p.id FOR UPDATE;
    IF p_kind IS NULL OR p_kind !~ '^[a-z][a-z0-9_]*$' THEN
        RAISE EXCEPTION 'invalid document kind "%": expected [a-z][a-z0-9_]*', p_kind
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT wr.rules INTO rules FROM stpm.workflow_rules wr WHERE wr.workflow_id = p.workflow_id;
    IF rules IS NOT NULL AND NOT (rules -> 'documents') ? p_kind THEN
        RAISE EXCEPTION 'document kind "%" is not declared by workflow %@%', p_kind,
                rules ->> 'workflow', rules ->> 'version'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = CASE WHEN (SELECT count(*) FROM jsonb_object_keys(rules -> 'documents')) = 0
                      THEN 'It declares no document kinds.'
                      ELSE format('The declared kinds are: %s.',
                          (SELECT string_agg(x, ', ' ORDER BY x)
                             FROM jsonb_object_keys(rules -> 'documents') x)) END;
    END IF;
    IF p_file_name IS NULL OR btrim(p_file_name) = '' THEN
        RAISE EXCEPTION 'a document needs a file name' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    sha256 := digest;
    SELECT d.id INTO id FROM stpm.documents d
     WHERE d.project_id = p.id AND d.kind = p_kind AND d.sha256 = digest;
    IF FOUND THEN
        is_new := false;
        RETURN;
    END IF;
    INSERT INTO stpm.documents (project_id, kind, file_name, size, sha256, content)
    VALUES (p.id, p_kind, p_file_name, octet_length(p_content), digest, p_content)
    RETURNING documents.id INTO id;
    INSERT INTO stpm.events (chain, project_id, on_date, kind, data)
    VALUES ('project:' || p.id, p.id, coalesce(p_on_date, current_date), 'attach',
            jsonb_build_object('kind', p_kind, 'file_name', p_file_name,
                               'size', octet_length(p_content), 'sha256', digest));
    is_new := true;
END $$;
REVOKE ALL ON FUNCTION stpm.document_attach(text, text, text, bytea, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stpm.document_attach(text, text, text, bytea, date)
    TO stpm_admin, stpm_officer, stpm_expert;

-- ---------------------------------------------------------------------------------------
-- Store a workflow version (`stpm workflow load`), administrators only: the version, its
-- states, its compiled rules and the `workflow_load` event in one transaction. The same
-- name and version with the same digest changes nothing (but stores compiled rules
-- that a version loaded before 070 lacks); another digest is refused.
-- Returns 'stored', 'unchanged' or 'compiled'.
CREATE FUNCTION stpm.workflow_store(p_name text, p_version integer, p_title text,
        p_digest text, p_source text, p_states jsonb, p_rules jsonb)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    wid uuid;
    old text;
    s jsonb;
    i integer := 0;
    v_kind text := 'workflow_load';
BEGIN
    IF NOT pg_has_role(session_user, 'stpm_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'cannot load workflow: permission denied'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Loading a workflow needs the stpm_admin role.',
                  HINT = 'Connect as an administrator (a member of stpm_admin).';
    END IF;
    IF p_digest IS DISTINCT FROM encode(pg_catalog.sha256(convert_to(p_source, 'UTF8')), 'hex') THEN
        RAISE EXCEPTION 'cannot load workflow %@%: the digest is not the SHA-256 of the source',
                p_name, p_version USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_rules ->> 'workflow' IS DISTINCT FROM p_name
       OR (p_rules ->> 'version')::integer IS DISTINCT FROM p_version THEN
        RAISE EXCEPTION 'cannot load workflow %@%: the compiled rules are of another workflow',
                p_name, p_version USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One loader of a name at a time: the second one sees the first one's row.
    PERFORM pg_advisory_xact_lock(hashtext('stpm.workflow'), hashtext(p_name));
    SELECT id, digest INTO wid, old FROM stpm.workflows WHERE name = p_name AND version = p_version;
    IF FOUND THEN
        IF old <> p_digest THEN
            RAISE EXCEPTION 'workflow % version % is already stored with digest %, not %',
                    p_name, p_version, old, p_digest
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'A stored workflow version is immutable: projects are pinned to it.',
                      HINT = 'Give the changed workflow a new version number.';
        END IF;
        IF EXISTS (SELECT 1 FROM stpm.workflow_rules WHERE workflow_id = wid) THEN
            RETURN 'unchanged';
        END IF;
        v_kind := 'workflow_compile'; -- a version stored before 070: its rules only
    ELSE
        INSERT INTO stpm.workflows (name, version, title, digest, source)
        VALUES (p_name, p_version, p_title, p_digest, p_source) RETURNING id INTO wid;
        FOR s IN SELECT jsonb_array_elements(p_states) LOOP
            i := i + 1;
            INSERT INTO stpm.workflow_states (workflow_id, ord, name, label, final, closed,
                                              due_field, timeout_n, timeout_unit,
                                              timeout_transition)
            VALUES (wid, i, s ->> 'name', coalesce(s ->> 'label', s ->> 'name'),
                    coalesce((s ->> 'final')::boolean, false),
                    coalesce((s ->> 'closed')::boolean, false), s ->> 'due',
                    (s ->> 'timeout_n')::integer, s ->> 'timeout_unit', s ->> 'timeout_transition');
        END LOOP;
    END IF;
    INSERT INTO stpm.workflow_rules (workflow_id, rules) VALUES (wid, p_rules);
    INSERT INTO stpm.workflow_transition_rules (workflow_id, name, rule)
        SELECT wid, e.key, e.value FROM jsonb_each(p_rules -> 'transitions') e;
    -- The event names the source's digest and the compiled rules' digest, so that a
    -- verifier can recompile the source and compare.
    INSERT INTO stpm.events (chain, kind, data)
    VALUES ('system', v_kind, jsonb_build_object('workflow', p_name,
            'version', p_version, 'digest', p_digest,
            'rules_digest', encode(pg_catalog.sha256(convert_to(p_rules::text, 'UTF8')), 'hex')));
    RETURN CASE v_kind WHEN 'workflow_load' THEN 'stored' ELSE 'compiled' END;
END $$;
REVOKE ALL ON FUNCTION stpm.workflow_store(text, integer, text, text, text, jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stpm.workflow_store(text, integer, text, text, text, jsonb, jsonb)
    TO stpm_admin;

-- ---------------------------------------------------------------------------------------
-- Settings of the bureau, changed by administrators only (SELECT stpm.setting_set(...)),
-- each change an event of the system chain.
--   late_after_days  an event entered (server clock) more than this many days after its
--                    business date is marked "late" in `audit trail` and `project history`
CREATE TABLE stpm.settings (
    name        text PRIMARY KEY,
    value       text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changed_by  text NOT NULL DEFAULT session_user
);
INSERT INTO stpm.settings (name, value) VALUES ('late_after_days', '3');
GRANT SELECT ON stpm.settings TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

CREATE FUNCTION stpm.late_after_days() RETURNS integer
LANGUAGE sql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
    SELECT coalesce((SELECT value::integer FROM stpm.settings WHERE name = 'late_after_days'), 3)
$$;

CREATE FUNCTION stpm.setting_set(p_name text, p_value text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    old text;
BEGIN
    IF NOT pg_has_role(session_user, 'stpm_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied: only an administrator may change settings'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_name = 'late_after_days' THEN
        IF p_value !~ '^[0-9]{1,4}$' THEN
            RAISE EXCEPTION 'invalid value "%" for setting late_after_days: expected a number of days',
                    p_value USING ERRCODE = 'invalid_parameter_value';
        END IF;
    ELSE
        RAISE EXCEPTION 'unknown setting "%"', p_name
            USING ERRCODE = 'invalid_parameter_value', HINT = 'The settings are: late_after_days.';
    END IF;
    SELECT value INTO old FROM stpm.settings WHERE name = p_name FOR UPDATE;
    UPDATE stpm.settings SET value = p_value, changed_at = now(), changed_by = session_user
     WHERE name = p_name;
    INSERT INTO stpm.events (chain, kind, data)
    VALUES ('system', 'admin', jsonb_build_object('action', 'setting_set', 'setting', p_name,
                                                  'from', old, 'to', p_value));
END $$;
REVOKE ALL ON FUNCTION stpm.setting_set(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stpm.setting_set(text, text) TO stpm_admin;

-- no_duplicate searches titles by trigram inside every admission. The trigram index
-- lived on stpm.projects, so every transition (a new row version, and no HOT update since
-- the state is indexed) inserted the title's trigrams again, and with GIN's fast update
-- they waited in a pending list that every search read in full until autovacuum folded
-- it in — a bulk admission right after a bulk application scanned thousands of pending
-- entries per project. The titles now have their own table, written once when a project
-- is created (or renamed), with the index written straight through: a transition touches
-- no trigram, and a search costs the same whatever autovacuum has done.
CREATE TABLE stpm.project_titles (
    project_id  uuid PRIMARY KEY REFERENCES stpm.projects(id),
    year        integer NOT NULL,
    title       text NOT NULL
);
INSERT INTO stpm.project_titles (project_id, year, title) SELECT id, year, title FROM stpm.projects;
CREATE INDEX project_titles_trgm ON stpm.project_titles USING gin (title gin_trgm_ops)
    WITH (fastupdate = off);
DROP INDEX stpm.projects_title_trgm;
GRANT SELECT ON stpm.project_titles TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

CREATE FUNCTION stpm.project_titles_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
BEGIN
    INSERT INTO stpm.project_titles AS t (project_id, year, title)
    VALUES (NEW.id, NEW.year, NEW.title)
    ON CONFLICT (project_id) DO UPDATE SET year = EXCLUDED.year, title = EXCLUDED.title;
    RETURN NULL;
END $$;
CREATE TRIGGER projects_titles_ins AFTER INSERT ON stpm.projects
    FOR EACH ROW EXECUTE FUNCTION stpm.project_titles_track();
CREATE TRIGGER projects_titles_upd AFTER UPDATE OF title, year ON stpm.projects
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.year IS DISTINCT FROM NEW.year)
    EXECUTE FUNCTION stpm.project_titles_track();
