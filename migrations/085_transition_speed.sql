-- 085: transitions cost less server time, one at a time and in bulk (issue 8, "Figures").
--
-- Every decision, every refusal's evidence and every row written stays what 070-083 make
-- of it; only the way there is shorter:
--   * stpm.event_canonical (recipe 2 of 080, byte for byte the same text) in plpgsql: the
--     SQL version was declared IMMUTABLE over STABLE functions (to_char, convert_to), so
--     the planner never inlined it nor stpm.canon_field, and every event ran fourteen
--     SQL-function executions (about a quarter of a millisecond) for its hash.

-- ---------------------------------------------------------------------------------------
-- One field of recipe 2 (080): the same text; STABLE, what its body is, so that it is
-- inlined into the expressions that call it.
CREATE OR REPLACE FUNCTION stpm.canon_field(t text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t IS NULL THEN '-'
                ELSE pg_catalog.octet_length(pg_catalog.convert_to(t, 'UTF8'))::text || ':' || t END
$$;

-- The canonical text of an event (080's two recipes, the same text for each).
CREATE OR REPLACE FUNCTION stpm.event_canonical(e stpm.events) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    at_text constant text := pg_catalog.to_char(e.at AT TIME ZONE 'UTC',
                                                'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    on_text constant text := CASE WHEN pg_catalog.isfinite(e.on_date)
        THEN pg_catalog.to_char(e.on_date, 'YYYY-MM-DD')
             || CASE WHEN e.on_date < DATE '0001-01-01' THEN ' BC' ELSE '' END
        ELSE e.on_date::text END;
BEGIN
    IF e.canon = 1 THEN
        RETURN pg_catalog.concat_ws(E'\x1f',
            e.chain, e.seq::text, coalesce(e.project_id::text, ''), at_text, on_text,
            e.actor, e.kind, coalesce(e.transition, ''),
            coalesce(e.from_state, ''), coalesce(e.to_state, ''), coalesce(e.reason, ''),
            e.data::text, e.prev_hash);
    END IF;
    RETURN 'stpm-event-2'
        || stpm.canon_field(e.chain) || stpm.canon_field(e.seq::text)
        || stpm.canon_field(e.project_id::text) || stpm.canon_field(at_text)
        || stpm.canon_field(on_text) || stpm.canon_field(e.actor) || stpm.canon_field(e.kind)
        || stpm.canon_field(e.transition) || stpm.canon_field(e.from_state)
        || stpm.canon_field(e.to_state) || stpm.canon_field(e.reason)
        || stpm.canon_field(e.data::text) || stpm.canon_field(e.prev_hash::text);
END $$;

-- ---------------------------------------------------------------------------------------
-- The same three helpers (020, 070, 081), STABLE as their bodies are (jsonb_build_object
-- and a text-to-date cast are STABLE), so that they are inlined where they are called.
CREATE OR REPLACE FUNCTION stpm.project_due(p stpm.projects, due_field text) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT CASE due_field
        WHEN 'due_date' THEN p.due_date
        WHEN 'start_date' THEN p.start_date
        WHEN 'closed_date' THEN p.closed_date
        ELSE (p.fields ->> due_field)::date
    END
$$;

CREATE OR REPLACE FUNCTION stpm.project_values(p stpm.projects, p_defaults jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(p_defaults, '{}')
        || p.fields
        || jsonb_build_object('title', p.title, 'year', p.year,
                              'amount_requested', p.amount_requested,
                              'amount_approved', p.amount_approved, 'start_date', p.start_date,
                              'due_date', p.due_date, 'closed_date', p.closed_date,
                              'extensions', p.extensions, 'state_since', p.state_since)
$$;

CREATE OR REPLACE FUNCTION stpm.period_missed_due(prev_due date, prev_missed date, p_final boolean,
                                                  p_on_date date, p_data jsonb) RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_final THEN NULL
        WHEN p_data -> 'set' ? 'due_date' AND jsonb_typeof(p_data -> 'set' -> 'due_date') = 'string'
             AND (p_data -> 'set' ->> 'due_date')::date >= p_on_date THEN NULL
        WHEN prev_missed IS NOT NULL THEN prev_missed
        WHEN prev_due IS NOT NULL AND p_on_date > prev_due THEN prev_due
    END
$$;
-- ---------------------------------------------------------------------------------------
-- 081's project_track with fewer statements and the same rows: the previous period is
-- closed and read in one UPDATE; the facts row, there since the project's first event, is
-- updated in place (the ON CONFLICT branch of 081, without its join of plans and orgs and
-- its speculative insertion); only a project's first event inserts it.
CREATE OR REPLACE FUNCTION stpm.project_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    p stpm.projects;
    ws stpm.workflow_states;
    prev_due date;
    prev_missed date;
    v_due date;
    v_final boolean;
    v_closed boolean;
BEGIN
    SELECT * INTO p FROM stpm.projects WHERE id = NEW.project_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT * INTO ws FROM stpm.workflow_states
        WHERE workflow_id = p.workflow_id AND name = NEW.to_state;
    v_closed := coalesce(ws.closed, false);
    v_final := coalesce(ws.final OR ws.closed, false);
    IF NOT v_final AND ws.due_field IS NOT NULL THEN
        v_due := stpm.project_due(p, ws.due_field);
    END IF;
    UPDATE stpm.project_states s SET to_date = NEW.on_date
        WHERE s.project_id = NEW.project_id
          AND s.seq = (SELECT max(x.seq) FROM stpm.project_states x
                        WHERE x.project_id = NEW.project_id)
        RETURNING s.due, s.missed_due INTO prev_due, prev_missed;
    INSERT INTO stpm.project_states (project_id, seq, state, from_date, to_date, due, closed,
            final, counts_as, active, missed_due, amount_requested, amount_approved)
        VALUES (NEW.project_id, NEW.seq, NEW.to_state, NEW.on_date, NULL, v_due, v_closed,
                v_final, ws.counts_as, coalesce(ws.active, false),
                stpm.period_missed_due(prev_due, prev_missed, v_final, NEW.on_date, NEW.data),
                p.amount_requested, p.amount_approved);

    UPDATE stpm.project_facts f SET
        state = NEW.to_state,
        field = p.field,
        amount_requested = p.amount_requested,
        amount_approved = p.amount_approved,
        applied_on = coalesce(f.applied_on, CASE WHEN stpm.milestone_reached(ws.counts_as,
                                                     'applied') THEN NEW.on_date END),
        admitted_on = coalesce(f.admitted_on, CASE WHEN stpm.milestone_reached(ws.counts_as,
                                                       'admitted') THEN NEW.on_date END),
        approved_on = coalesce(f.approved_on, CASE WHEN stpm.milestone_reached(ws.counts_as,
                                                       'approved') THEN NEW.on_date END),
        started_on = coalesce(f.started_on, CASE WHEN stpm.milestone_reached(ws.counts_as,
                                                     'in_progress') THEN NEW.on_date END),
        final_on = CASE WHEN v_final THEN NEW.on_date END,
        final_as = CASE WHEN v_final THEN ws.counts_as END,
        closed_on = CASE WHEN v_closed THEN NEW.on_date END,
        closed_state = CASE WHEN v_closed THEN NEW.to_state END
     WHERE f.project_id = p.id;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO stpm.project_facts AS f (project_id, org_id, plan_id, year, level, funded_plan,
            town, field, initial, state, created_on, applied_on, admitted_on, approved_on,
            started_on, final_on, final_as, closed_on, closed_state, amount_requested,
            amount_approved)
        SELECT p.id, p.org_id, p.plan_id, p.year, pl.level, pl.funded, o.town, p.field,
               NEW.to_state, NEW.to_state, NEW.on_date,
               CASE WHEN stpm.milestone_reached(ws.counts_as, 'applied') THEN NEW.on_date END,
               CASE WHEN stpm.milestone_reached(ws.counts_as, 'admitted') THEN NEW.on_date END,
               CASE WHEN stpm.milestone_reached(ws.counts_as, 'approved') THEN NEW.on_date END,
               CASE WHEN stpm.milestone_reached(ws.counts_as, 'in_progress') THEN NEW.on_date END,
               CASE WHEN v_final THEN NEW.on_date END, CASE WHEN v_final THEN ws.counts_as END,
               CASE WHEN v_closed THEN NEW.on_date END, CASE WHEN v_closed THEN NEW.to_state END,
               p.amount_requested, p.amount_approved
        FROM stpm.plans pl, stpm.orgs o WHERE pl.id = p.plan_id AND o.id = p.org_id;
    RETURN NULL;
END $$;

-- ---------------------------------------------------------------------------------------
-- 070's transition_take, the same decisions, refusals and writes: a rule's empty list
-- (no --set, no required field or document, no set:) runs no query, and the workflow's
-- name and version are read without its source text.
CREATE OR REPLACE FUNCTION stpm.transition_take(p_code text, p_transition text, p_on_date date,
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
        SELECT x.name, x.version INTO w.name, w.version FROM stpm.workflows x
         WHERE x.id = p.workflow_id;
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
    -- (no query at all for an empty list)
    IF coalesce(p_sets <> '{}', false) THEN
        FOR k, v IN SELECT * FROM jsonb_each(p_sets)
                     WHERE p_sets IS NOT NULL AND p_sets <> '{}' LOOP
            IF NOT coalesce(t -> 'input', '[]') ? k THEN
                RAISE EXCEPTION 'field "%" is not an input of transition %', k, p_transition
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = CASE WHEN jsonb_array_length(t -> 'input') = 0
                              THEN format('Transition %s takes no input with --set.',
                                          p_transition)
                              ELSE format('The inputs of %s are: %s.', p_transition,
                                          (SELECT string_agg(x, ', ')
                                             FROM jsonb_array_elements_text(t -> 'input') x)) END,
                          HINT = 'Other fields change only by the workflow''s own set:.';
            END IF;
            v := stpm.field_value(k, t -> 'fields' -> k ->> 'type', v);
            vals := jsonb_set(vals, ARRAY[k], v);
            changes := jsonb_set(changes, ARRAY[k], v);
        END LOOP;
    END IF;

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
    -- (no query at all for an empty list)
    IF coalesce(t -> 'require' -> 'fields' <> '[]', false) THEN
        FOR k IN SELECT jsonb_array_elements_text(t -> 'require' -> 'fields')
                  WHERE t -> 'require' -> 'fields' <> '[]' LOOP
            IF jsonb_typeof(vals -> k) IS NULL OR jsonb_typeof(vals -> k) = 'null' THEN
                blocks := blocks || jsonb_build_object('kind', 'field', 'subject', k,
                    'message', CASE WHEN t -> 'fields' -> k ->> 'label' IS NOT NULL
                        THEN format('field %s (%s) is not set', k,
                                    t -> 'fields' -> k ->> 'label')
                        ELSE format('field %s is not set', k) END);
            END IF;
        END LOOP;
    END IF;
    -- (no query at all for an empty list)
    IF coalesce(t -> 'required_before' <> '[]', false) THEN
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
    END IF;
    -- (no query at all for an empty list)
    IF coalesce(t -> 'require' -> 'documents' <> '[]', false) THEN
        FOR k IN SELECT jsonb_array_elements_text(t -> 'require' -> 'documents')
                  WHERE t -> 'require' -> 'documents' <> '[]' LOOP
            IF NOT EXISTS (SELECT 1 FROM stpm.documents d
                            WHERE d.project_id = p.id AND d.kind = k) THEN
                blocks := blocks || jsonb_build_object('kind', 'document', 'subject', k,
                    'message', format('document %s is not attached', k));
            END IF;
        END LOOP;
    END IF;
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
        SELECT x.name, x.version INTO w.name, w.version FROM stpm.workflows x
         WHERE x.id = p.workflow_id;
        RETURN jsonb_build_object('allowed', false, 'code', p.code, 'from', p.state,
            'to', t ->> 'to', 'row_version', p.row_version, 'blocks', blocks, 'checks', checks,
            'outcomes', outcomes, 'failed', failed, 'project_id', p.id, 'workflow', w.name,
            'version', w.version);
    END IF;

    -- `set:` in order, each expression seeing the values set before it.
    -- (no query at all for an empty list)
    IF coalesce(t -> 'set' <> '[]', false) THEN
        FOR c IN SELECT jsonb_array_elements(t -> 'set') WHERE t -> 'set' <> '[]' LOOP
            k := c ->> 'field';
            v := stpm.expr_eval(c -> 'expr', vals, today);
            IF t -> 'fields' -> k ->> 'type' = 'amount' AND jsonb_typeof(v) = 'number' THEN
                v := stpm.field_value(k, 'amount', v);
            END IF;
            vals := jsonb_set(vals, ARRAY[k], v);
            changes := jsonb_set(changes, ARRAY[k], v);
        END LOOP;
    END IF;
    -- (no query at all for an empty list)
    IF coalesce(t -> 'required_after' <> '[]', false) THEN
        FOR k IN SELECT jsonb_array_elements_text(t -> 'required_after')
                  WHERE t -> 'required_after' <> '[]' LOOP
            IF jsonb_typeof(vals -> k) IS NULL OR jsonb_typeof(vals -> k) = 'null' THEN
                RAISE EXCEPTION 'transition % of project % is refused', p_transition, p.code
                    USING ERRCODE = 'SR001',
                          DETAIL = format('field %s must be set in state %s', k, t ->> 'to');
            END IF;
        END LOOP;
    END IF;

    docs := '[]';
    IF cardinality(p_documents) > 0 THEN
        SELECT coalesce(jsonb_agg(jsonb_build_object('kind', d.kind, 'file_name', d.file_name,
                            'sha256', d.sha256, 'size', d.size) ORDER BY d.kind, d.sha256), '[]')
          INTO docs FROM stpm.documents d WHERE d.id = ANY (p_documents) AND d.project_id = p.id;
    END IF;
    SELECT x.name, x.version INTO w.name, w.version FROM stpm.workflows x
     WHERE x.id = p.workflow_id;

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
-- 070's project_advance_many, the same outcomes with less work per project: the caller's
-- group is looked at once for the lot (stpm.project_advance looked at it for each), and
-- each project goes straight to stpm.transition_take in its own subtransaction, with the
-- refusal record of stpm.project_advance (p_report: returned, never raised).
CREATE OR REPLACE FUNCTION stpm.project_advance_many(p_codes text[], p_transition text,
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
    h text;
    may_write constant boolean := pg_has_role(session_user, 'stpm_officer', 'MEMBER')
                                  OR pg_has_role(session_user, 'stpm_admin', 'MEMBER')
                                  OR pg_has_role(session_user, 'stpm_expert', 'MEMBER');
    each_sets constant boolean := jsonb_typeof(p_sets) = 'array';
BEGIN
    FOR i IN 1..coalesce(array_length(p_codes, 1), 0) LOOP
        code := p_codes[i];
        IF NOT may_write THEN
            -- stpm.project_advance's refusal, for every project as before
            RETURN NEXT jsonb_build_object('code', code, 'error', jsonb_build_object(
                'sqlstate', '42501',
                'message', format('permission denied: the role %s may not change projects',
                                  session_user),
                'detail', 'Transitions are taken by members of stpm_officer, stpm_admin or '
                          'stpm_expert; auditors only read.',
                'hint', NULL));
            CONTINUE;
        END IF;
        BEGIN
            res := stpm.transition_take(code, p_transition, p_on_date,
                                        CASE WHEN each_sets
                                             THEN coalesce(p_sets -> (i - 1), '{}')
                                             ELSE p_sets END,
                                        p_reason, p_by_timer, '{}', NULL);
            IF (res ->> 'failed')::boolean AND NOT (res ->> 'allowed')::boolean THEN
                INSERT INTO stpm.events (chain, project_id, on_date, kind, transition,
                                         from_state, reason, data)
                VALUES ('project:' || (res ->> 'project_id'), (res ->> 'project_id')::uuid,
                        coalesce(p_on_date, current_date), 'refused', p_transition,
                        res ->> 'from', CASE WHEN NOT stpm.is_blank(p_reason) THEN p_reason END,
                        jsonb_build_object('workflow', res ->> 'workflow',
                                           'version', (res ->> 'version')::int,
                                           'checks', res -> 'checks', 'blocks', res -> 'blocks'))
                RETURNING hash INTO h;
                res := (res - 'failed' - 'project_id' - 'workflow' - 'version')
                       || jsonb_build_object('refused', h);
            ELSE
                res := res - 'failed' - 'project_id' - 'workflow' - 'version';
            END IF;
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

SELECT stpm.door_close();
