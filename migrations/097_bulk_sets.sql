-- 097: a bulk advance decides and writes its projects as one set (issue 8, "Figures").
--
-- stpm.project_advance_many (085) took each project through stpm.transition_take in a
-- subtransaction of its own: about twenty statements per project, each planned, started,
-- run and ended (measured: 0.9-2 ms of server time per project). Most of a bulk is
-- projects that are plainly allowed; for them the decision is made here for all at once
-- and the writes are one UPDATE and one INSERT:
--
--   1. The locks of every project (the plan years shared, the organisations, the leaders,
--      in that order and sorted within each, then the rows), each only if it is free at
--      once. One that is not sends the whole chunk down the old path, which waits a
--      bounded time and names the holder (083).
--   2. Each project is decided by stpm.transition_decide: the same rules in the same
--      order as stpm.transition_take. It answers NULL for anything that is not a plain
--      yes — a block of any kind, a failed check, a date before the chain's last event,
--      a code seen earlier in the chunk — and the old path then takes that project,
--      with its refusal record, its blocks and its error message exactly as before.
--   3. The allowed projects are written together, the events in the chunk's order.
--
-- The later projects of a bulk see the earlier ones (issue 8, item 6). Deciding all before
-- writing any is the same only when no project's transition changes what another's checks
-- count; stpm.transition_independent says when that holds (else the old path, one by one):
--   leader_limit  counts the leader's active projects: the states on both sides are
--                 equally active;
--   no_duplicate  compares with the year's projects that count: the states on both sides
--                 count alike;
--   org_no_overdue counts the organisation's overdue projects: neither side has a due
--                 date, neither is final and the transition sets no due date, so a
--                 project's overdue standing carries over unchanged (081's missed_due).
-- The other checks look at the project itself, its organisation or the officer.
--
-- Any error inside the set path (a guard that cannot be evaluated, a value of the wrong
-- type) undoes the set path alone and the chunk goes the old way, where it is that
-- project's own error. A setting, stpm.bulk_sets = off, sends every chunk the old way:
-- both ways enforce the same rules, and tests/sql/bulk_sets.sh compares what they write.
--
-- The WHEN clause of project_facts_counts_upd moves into its function: the executor read
-- that clause from its text again at every statement that updated project_facts — once
-- per transition (4 % of a bulk's server time).

-- ---------------------------------------------------------------------------------------
-- Whether taking p_t out of p_state changes nothing that another project's checks count.
CREATE FUNCTION stpm.transition_independent(p_workflow uuid, p_t jsonb, p_state text)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_array_length(p_t -> 'checks'), 0) = 0
        OR coalesce((SELECT (NOT p_t -> 'checks' @> '[{"name": "leader_limit"}]'
                    OR a.active IS NOT DISTINCT FROM b.active)
               AND (NOT p_t -> 'checks' @> '[{"name": "no_duplicate"}]'
                    OR (a.counts_as IN ('rejected', 'terminated', 'withdrawn')
                        OR (a.counts_as IS NULL AND NOT a.active AND NOT a.final))
                       IS NOT DISTINCT FROM
                       (b.counts_as IN ('rejected', 'terminated', 'withdrawn')
                        OR (b.counts_as IS NULL AND NOT b.active AND NOT b.final)))
               AND (NOT p_t -> 'checks' @> '[{"name": "org_no_overdue"}]'
                    OR (a.due_field IS NULL AND b.due_field IS NULL
                        AND NOT coalesce(a.final OR a.closed, true)
                        AND NOT coalesce(b.final OR b.closed, true)
                        AND NOT coalesce(p_t -> 'input', '[]') ? 'due_date'
                        AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p_t -> 'set') s
                                         WHERE s ->> 'field' = 'due_date')))
             FROM stpm.workflow_states a, stpm.workflow_states b
            WHERE a.workflow_id = p_workflow AND a.name = p_state
              AND b.workflow_id = p_workflow AND b.name = p_t ->> 'to'),
           false)
$$;

-- The decision of stpm.transition_take for a project p already locked, when it is a plain
-- yes: {changes, checks, outcomes}; NULL when it is anything else (then the caller takes
-- the project through stpm.transition_take, which gives every reason). The same order and
-- the same expressions as 085's transition_take; an error is raised as it would be there.
-- p_outcomes, p_passed, p_evidence: the checks' outcomes, whether all passed and their
-- evidence, when the caller has them (stpm.checks_run_set, 096).
CREATE FUNCTION stpm.transition_decide(t jsonb, p stpm.projects, p_sets jsonb, p_today date,
                                       p_reason text, p_role_ok boolean, p_outcomes jsonb,
                                       p_passed boolean, p_evidence jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    vals jsonb;
    changes jsonb := '{}';
    checks jsonb := '[]';
    outcomes jsonb := '[]';
    k text;
    v jsonb;
    c jsonb;
BEGIN
    IF t IS NULL OR NOT p_role_ok OR NOT coalesce(t -> 'from', '[]') ? p.state THEN
        RETURN NULL;
    END IF;
    vals := stpm.project_values(p, t -> 'defaults');
    IF coalesce(p_sets <> '{}', false) THEN
        FOR k, v IN SELECT * FROM jsonb_each(p_sets) LOOP
            IF NOT coalesce(t -> 'input', '[]') ? k THEN
                RETURN NULL;
            END IF;
            v := stpm.field_value(k, t -> 'fields' -> k ->> 'type', v);
            vals := jsonb_set(vals, ARRAY[k], v);
            changes := jsonb_set(changes, ARRAY[k], v);
        END LOOP;
    END IF;
    IF coalesce(t -> 'require' -> 'fields' <> '[]', false) THEN
        FOR k IN SELECT jsonb_array_elements_text(t -> 'require' -> 'fields') LOOP
            IF jsonb_typeof(vals -> k) IS NULL OR jsonb_typeof(vals -> k) = 'null' THEN
                RETURN NULL;
            END IF;
        END LOOP;
    END IF;
    IF coalesce(t -> 'required_before' <> '[]', false) THEN
        FOR k IN SELECT jsonb_array_elements_text(t -> 'required_before') LOOP
            IF jsonb_typeof(vals -> k) IS NULL OR jsonb_typeof(vals -> k) = 'null' THEN
                RETURN NULL;
            END IF;
        END LOOP;
    END IF;
    IF coalesce(t -> 'require' -> 'documents' <> '[]', false) THEN
        IF EXISTS (SELECT 1 FROM jsonb_array_elements_text(t -> 'require' -> 'documents') r(kind)
                    WHERE NOT EXISTS (SELECT 1 FROM stpm.documents d
                                       WHERE d.project_id = p.id AND d.kind = r.kind)) THEN
            RETURN NULL;
        END IF;
    END IF;
    IF (t -> 'require' ->> 'reason')::boolean AND stpm.is_blank(p_reason) THEN
        RETURN NULL;
    END IF;
    IF jsonb_array_length(t -> 'checks') > 0 AND p_outcomes IS NOT NULL THEN
        IF NOT p_passed THEN
            RETURN NULL;
        END IF;
        outcomes := p_outcomes;
        checks := p_evidence;
    ELSIF jsonb_array_length(t -> 'checks') > 0 THEN
        outcomes := stpm.checks_run(t -> 'checks', p.id, p_today);
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(outcomes) x
                    WHERE NOT (x ->> 'passed')::boolean) THEN
            RETURN NULL;
        END IF;
        SELECT jsonb_agg(x -> 'evidence' ORDER BY n) INTO checks
          FROM jsonb_array_elements(outcomes) WITH ORDINALITY e(x, n);
    END IF;
    IF t -> 'when' IS NOT NULL AND jsonb_typeof(t -> 'when') <> 'null' THEN
        IF stpm.expr_eval(t -> 'when', vals, p_today) IS DISTINCT FROM 'true' THEN
            RETURN NULL;
        END IF;
    END IF;
    IF coalesce(t -> 'set' <> '[]', false) THEN
        FOR c IN SELECT jsonb_array_elements(t -> 'set') LOOP
            k := c ->> 'field';
            v := stpm.expr_eval(c -> 'expr', vals, p_today);
            IF t -> 'fields' -> k ->> 'type' = 'amount' AND jsonb_typeof(v) = 'number' THEN
                v := stpm.field_value(k, 'amount', v);
            END IF;
            vals := jsonb_set(vals, ARRAY[k], v);
            changes := jsonb_set(changes, ARRAY[k], v);
        END LOOP;
    END IF;
    IF coalesce(t -> 'required_after' <> '[]', false) THEN
        FOR k IN SELECT jsonb_array_elements_text(t -> 'required_after') LOOP
            IF jsonb_typeof(vals -> k) IS NULL OR jsonb_typeof(vals -> k) = 'null' THEN
                RETURN NULL;
            END IF;
        END LOOP;
    END IF;
    RETURN jsonb_build_object('changes', changes, 'checks', checks, 'outcomes', outcomes);
END $$;
ALTER FUNCTION stpm.transition_decide(jsonb, stpm.projects, jsonb, date, text, boolean, jsonb,
                                      boolean, jsonb)
    SET plan_cache_mode = force_generic_plan;

-- ---------------------------------------------------------------------------------------
-- One project's decision in the set path (d: transition_decide's answer).
CREATE TYPE stpm.bulk_decision AS (idx integer, id uuid, code text, state text, rv integer,
                                   "to" text, workflow text, version integer, d jsonb);

-- The set path of a chunk: the result of each project it took, at its position in
-- p_codes (NULL where the old path is to take it). Raises SR090 when a lock is not free
-- at once. Called by project_advance_many only, inside a block that undoes it on error.
CREATE FUNCTION stpm.transition_take_set(p_codes text[], p_transition text, p_on_date date,
                                         p_sets jsonb, p_reason text)
RETURNS jsonb[]
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    n constant integer := coalesce(array_length(p_codes, 1), 0);
    today constant date := coalesce(p_on_date, current_date);
    latest constant date := stpm.latest_business_date();
    each_sets constant boolean := jsonb_typeof(p_sets) = 'array';
    builtin_cols constant text[] := ARRAY['amount_requested', 'amount_approved', 'start_date',
                                          'due_date', 'closed_date', 'extensions'];
    res jsonb[] := array_fill(NULL::jsonb, ARRAY[n]);
    ids uuid[];
    decs stpm.bulk_decision[];
    lists jsonb[];
    k1 integer;
    k2 integer;
    sh boolean;
    k_order integer;
    ok boolean;
    got integer;
    r record;
BEGIN
    SELECT array_agg(DISTINCT p.id ORDER BY p.id) INTO ids
      FROM stpm.projects p WHERE p.code = ANY (p_codes);
    IF ids IS NULL THEN
        RETURN res;
    END IF;
    -- 1. The locks, in 070's order, none waited for.
    FOR k1, k2, sh, k_order IN
        SELECT DISTINCT l.k1, l.k2, l.sh, l.o
          FROM stpm.projects p
         CROSS JOIN LATERAL (VALUES (hashtext('stpm.year'), p.year, true, 1),
                                    (hashtext('stpm.org'), hashtext(p.org_id::text), false, 2),
                                    (hashtext('stpm.leader'), hashtext(p.leader_id::text), false, 3))
               AS l(k1, k2, sh, o)
         WHERE p.id = ANY (ids)
         ORDER BY l.o, l.k2
    LOOP
        IF sh THEN
            ok := pg_try_advisory_xact_lock_shared(k1, k2);
        ELSE
            ok := pg_try_advisory_xact_lock(k1, k2);
        END IF;
        IF NOT ok THEN
            RAISE EXCEPTION 'a lock of the chunk is held' USING ERRCODE = 'SR090';
        END IF;
    END LOOP;
    SELECT count(*) INTO got FROM (SELECT 1 FROM stpm.projects p WHERE p.id = ANY (ids)
                                    ORDER BY p.id FOR UPDATE SKIP LOCKED) x;
    IF got < cardinality(ids) THEN
        RAISE EXCEPTION 'a project of the chunk is locked' USING ERRCODE = 'SR090';
    END IF;

    -- 2. The checks of all at once when the chunk's rules have one list of them (096),
    -- then the decisions, each project as it is now that it is locked; a code seen again
    -- later in the chunk is the old path's. Only the allowed ones are kept.
    SELECT array_agg(DISTINCT tr.rule -> 'checks') INTO lists
      FROM stpm.projects p
      JOIN stpm.workflow_transition_rules tr
        ON tr.workflow_id = p.workflow_id AND tr.name = p_transition
     WHERE p.id = ANY (ids) AND jsonb_array_length(tr.rule -> 'checks') > 0;
    SELECT array_agg(x.dec ORDER BY (x.dec).idx) INTO decs
      FROM (SELECT ROW(c.idx, p.id, p.code, p.state, p.row_version, tr.rule ->> 'to', w.name,
                       w.version,
                       CASE WHEN tr.rule IS NOT NULL
                             AND stpm.transition_independent(p.workflow_id, tr.rule, p.state)
                             AND today <= latest
                             AND today >= coalesce((SELECT h.on_date FROM stpm.chain_heads h
                                                     WHERE h.chain = 'project:' || p.id), today)
                            THEN stpm.transition_decide(tr.rule, p,
                                     CASE WHEN each_sets
                                          THEN coalesce(p_sets -> (c.idx - 1)::integer, '{}')
                                          ELSE p_sets END,
                                     today, p_reason,
                                     stpm.may_take(coalesce(tr.rule -> 'roles', '[]')),
                                     cr.outcomes, cr.passed, cr.evidence) END
                   )::stpm.bulk_decision AS dec
              FROM (SELECT min(u.i) AS idx, u.code FROM unnest(p_codes) WITH ORDINALITY u(code, i)
                     GROUP BY u.code) c
              JOIN stpm.projects p ON p.code = c.code
              JOIN stpm.workflows w ON w.id = p.workflow_id
              LEFT JOIN stpm.workflow_transition_rules tr
                     ON tr.workflow_id = p.workflow_id AND tr.name = p_transition
              -- (no rows when the chunk's rules have no list or more than one)
              LEFT JOIN stpm.checks_run_set(CASE WHEN cardinality(lists) = 1 THEN lists[1] END,
                                            CASE WHEN cardinality(lists) = 1 THEN ids END,
                                            today) cr ON cr.project_id = p.id
            OFFSET 0) x -- (each decision made once, not once more for the filter)
     WHERE (x.dec).d IS NOT NULL;
    IF decs IS NULL THEN
        RETURN res;
    END IF;

    -- 3. The writes of the allowed ones, the events in the chunk's order.
    UPDATE stpm.projects p SET state = s."to", state_since = today,
        amount_requested = CASE WHEN s.d -> 'changes' ? 'amount_requested'
            THEN (s.d -> 'changes' ->> 'amount_requested')::numeric ELSE p.amount_requested END,
        amount_approved = CASE WHEN s.d -> 'changes' ? 'amount_approved'
            THEN (s.d -> 'changes' ->> 'amount_approved')::numeric ELSE p.amount_approved END,
        start_date = CASE WHEN s.d -> 'changes' ? 'start_date'
            THEN (s.d -> 'changes' ->> 'start_date')::date ELSE p.start_date END,
        due_date = CASE WHEN s.d -> 'changes' ? 'due_date'
            THEN (s.d -> 'changes' ->> 'due_date')::date ELSE p.due_date END,
        closed_date = CASE WHEN s.d -> 'changes' ? 'closed_date'
            THEN (s.d -> 'changes' ->> 'closed_date')::date ELSE p.closed_date END,
        extensions = CASE WHEN s.d -> 'changes' ? 'extensions'
            THEN coalesce((s.d -> 'changes' ->> 'extensions')::int, 0) ELSE p.extensions END,
        fields = jsonb_strip_nulls(p.fields || ((s.d -> 'changes') - builtin_cols)),
        row_version = p.row_version + 1, updated_at = now()
      FROM unnest(decs) s
     WHERE p.id = s.id;
    FOR r IN
        WITH e AS (
            INSERT INTO stpm.events (chain, project_id, on_date, kind, transition, from_state,
                                     to_state, reason, data)
            SELECT 'project:' || s.id, s.id, today, 'transition', p_transition, s.state,
                   s."to", CASE WHEN NOT stpm.is_blank(p_reason) THEN p_reason END,
                   jsonb_build_object('workflow', s.workflow, 'version', s.version,
                                      'set', s.d -> 'changes', 'checks', s.d -> 'checks',
                                      'documents', '[]'::jsonb, 'by_timer', false)
              FROM unnest(decs) s
             ORDER BY s.idx
            RETURNING project_id, hash)
        SELECT s.idx, s.code, s.state, s.rv, s."to", e.hash, s.d
          FROM e JOIN unnest(decs) s ON s.id = e.project_id
    LOOP
        res[r.idx] := jsonb_build_object('allowed', true, 'code', r.code, 'from', r.state,
            'to', r."to", 'row_version', r.rv + 1, 'hash', r.hash,
            'changes', r.d -> 'changes', 'checks', r.d -> 'checks',
            'outcomes', r.d -> 'outcomes', 'blocks', '[]'::jsonb);
    END LOOP;
    RETURN res;
END $$;
ALTER FUNCTION stpm.transition_take_set(text[], text, date, jsonb, text)
    SET plan_cache_mode = force_generic_plan;
REVOKE ALL ON FUNCTION stpm.transition_take_set(text[], text, date, jsonb, text) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------
-- 085's project_advance_many keeps its body under the name project_advance_each (the old
-- path: each project through transition_take in its own subtransaction, the refusal
-- records, the errors as answers) and is called by the new project_advance_many below for
-- every project the set path did not take. No login role calls it directly.
ALTER FUNCTION stpm.project_advance_many(text[], text, date, jsonb, text, boolean)
    RENAME TO project_advance_each;
REVOKE ALL ON FUNCTION stpm.project_advance_each(text[], text, date, jsonb, text, boolean)
    FROM PUBLIC, stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

-- The set path first (for two projects or more, not by a timer), then the old path for
-- every project the set path did not take, in the order given.
CREATE FUNCTION stpm.project_advance_many(p_codes text[], p_transition text,
        p_on_date date DEFAULT NULL, p_sets jsonb DEFAULT '{}', p_reason text DEFAULT NULL,
        p_by_timer boolean DEFAULT false)
RETURNS SETOF jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    done jsonb[];
    st text;
    each_sets constant boolean := jsonb_typeof(p_sets) = 'array';
BEGIN
    IF coalesce(array_length(p_codes, 1), 0) > 1 AND NOT coalesce(p_by_timer, false)
       AND coalesce(current_setting('stpm.bulk_sets', true), '') <> 'off'
       AND (pg_has_role(session_user, 'stpm_officer', 'MEMBER')
            OR pg_has_role(session_user, 'stpm_admin', 'MEMBER')
            OR pg_has_role(session_user, 'stpm_expert', 'MEMBER')) THEN
        BEGIN
            done := stpm.transition_take_set(p_codes, p_transition, p_on_date, p_sets, p_reason);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
            IF st IN ('40P01', '40001') OR st LIKE '08%' OR st LIKE '57%' OR st LIKE '53%' THEN
                RAISE; -- the whole batch is retried or fails, as on the old path
            END IF;
            done := NULL; -- undone: every project goes the old way
        END;
    END IF;
    FOR i IN 1..coalesce(array_length(p_codes, 1), 0) LOOP
        IF done[i] IS NOT NULL THEN
            RETURN NEXT done[i];
        ELSE
            RETURN QUERY SELECT * FROM stpm.project_advance_each(ARRAY[p_codes[i]], p_transition,
                p_on_date,
                CASE WHEN each_sets THEN jsonb_build_array(coalesce(p_sets -> (i - 1), '{}'))
                     ELSE p_sets END,
                p_reason, p_by_timer);
        END IF;
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION stpm.project_advance_many(text[], text, date, jsonb, text, boolean)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stpm.project_advance_many(text[], text, date, jsonb, text, boolean)
    TO stpm_admin, stpm_officer, stpm_expert;

-- ---------------------------------------------------------------------------------------
-- 081's report_counts_track with the trigger's WHEN clause in its body.
CREATE OR REPLACE FUNCTION stpm.report_counts_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    o stpm.report_counts;
    n stpm.report_counts;
BEGIN
    IF TG_OP = 'UPDATE'
       AND (OLD.year, OLD.plan_id, OLD.level, OLD.town, OLD.field, OLD.state,
            OLD.applied_on IS NULL, OLD.admitted_on IS NULL, OLD.approved_on IS NULL,
            OLD.started_on IS NULL, OLD.funded_plan, OLD.final_as,
            OLD.amount_requested, OLD.amount_approved)
           IS NOT DISTINCT FROM
           (NEW.year, NEW.plan_id, NEW.level, NEW.town, NEW.field, NEW.state,
            NEW.applied_on IS NULL, NEW.admitted_on IS NULL, NEW.approved_on IS NULL,
            NEW.started_on IS NULL, NEW.funded_plan, NEW.final_as,
            NEW.amount_requested, NEW.amount_approved) THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        o := stpm.report_counts_row(OLD, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        n := stpm.report_counts_row(NEW, 1);
    END IF;
    IF TG_OP = 'UPDATE'
       AND (o.year, o.plan_id, o.level, o.town, o.field, o.state, o.applied, o.admitted,
            o.approved, o.started, o.funded, o.final_as)
           IS NOT DISTINCT FROM
           (n.year, n.plan_id, n.level, n.town, n.field, n.state, n.applied, n.admitted,
            n.approved, n.started, n.funded, n.final_as) THEN
        n.projects := 0;
        n.requested := n.requested + o.requested;
        n.approved_amount := n.approved_amount + o.approved_amount;
        o := NULL;
    END IF;
    INSERT INTO stpm.report_deltas SELECT (r).* FROM (VALUES (o), (n)) v(r)
        WHERE (r).projects IS NOT NULL;
    IF nextval('stpm.report_deltas_written') % 4096 = 0 THEN
        PERFORM stpm.report_compact();
    END IF;
    RETURN NULL;
END $$;
ALTER FUNCTION stpm.report_counts_track() SET plan_cache_mode = force_generic_plan;
DROP TRIGGER project_facts_counts_upd ON stpm.project_facts;
CREATE TRIGGER project_facts_counts_upd AFTER UPDATE ON stpm.project_facts
    FOR EACH ROW EXECUTE FUNCTION stpm.report_counts_track();

SELECT stpm.door_close();
