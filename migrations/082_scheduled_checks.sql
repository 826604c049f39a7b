-- 082: scheduled checks (中期检查, DESIGN §3): when they are due, and what was recorded.
--
-- A workflow version declares its checks in its top-level `checks:` block
-- (docs/workflows.md), compiled into stpm.workflow_rules.rules -> 'checks'
-- (core/workflow/wf_compile.h). From here:
--
--   stpm.workflow_checks  one row per check of a stored version, filled from its compiled
--                         rules when they are stored (a trigger on stpm.workflow_rules), so
--                         that stpm.workflow_store stays as it is and no caller can store
--                         rules without their checks.
--   stpm.checks           (002) one row per outcome recorded (pass / rectify / fail), now
--                         derived from the events: a trigger on stpm.events writes the rows
--                         stpm.check_outcomes gives for each new event, with the event's seq,
--                         business date, actor, reason and the documents attached in it.
--                         stpm.check_outcomes(project, NULL) recomputes them all from the
--                         history, so the table can be checked against the events.
--   stpm.project_checks   the checks of a project as of a date: each outcome recorded by
--                         then, and each check still open (scheduled / overdue / missed).
--
-- The rules, written once here (docs/workflows.md "Scheduled checks", docs/audit.md):
--   * A check opens when the project first enters a state of its `in:`.
--   * Its due date is `after` past the value of its `of:` field, as the history holds it
--     (the last `set` of that field in the project's events): for an open check as of the
--     last event of that day, for a recorded outcome as of its event.
--   * A transition named as the check's pass, rectify or fail outcome, taken from a state
--     of `in:` while the check is open, records that outcome. pass and fail close the
--     check; rectify keeps it open (the project must be checked again).
--   * An open check is overdue as of D when its due date is before D and the project is,
--     at the end of D, in a state of `in:` (in a rectification state it waits for the
--     rectification, which has its own deadline); it is missed when the project reached a
--     final state with the check still open; else it is scheduled.

-- ---------------------------------------------------------------------------------------
CREATE TABLE stpm.workflow_checks (
    workflow_id  uuid NOT NULL REFERENCES stpm.workflow_rules(workflow_id),
    ord          integer NOT NULL,           -- declaration order
    name         text NOT NULL,
    label        text NOT NULL,
    after_n      integer NOT NULL CHECK (after_n > 0),
    after_unit   text NOT NULL CHECK (after_unit IN ('d', 'wd', 'mo', 'y')),
    of_field     text NOT NULL,              -- a date field
    in_states    text[] NOT NULL,
    pass         text NOT NULL,              -- transition names
    rectify      text,
    fail         text,
    PRIMARY KEY (workflow_id, name)
);
CREATE TRIGGER workflow_checks_immutable BEFORE UPDATE OR DELETE ON stpm.workflow_checks
    FOR EACH ROW EXECUTE FUNCTION stpm.refuse_change();

CREATE FUNCTION stpm.workflow_checks_fill(p_workflow uuid, p_rules jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO stpm.workflow_checks (workflow_id, ord, name, label, after_n, after_unit,
                                      of_field, in_states, pass, rectify, fail)
    SELECT p_workflow, (c.value ->> 'ord')::integer, c.key, coalesce(c.value ->> 'label', c.key),
           (c.value -> 'after' ->> 'n')::integer, c.value -> 'after' ->> 'unit',
           c.value ->> 'of', ARRAY(SELECT jsonb_array_elements_text(c.value -> 'in')),
           c.value ->> 'pass', c.value ->> 'rectify', c.value ->> 'fail'
      FROM jsonb_each(CASE WHEN jsonb_typeof(p_rules -> 'checks') = 'object'
                           THEN p_rules -> 'checks' ELSE '{}' END) c
$$;

CREATE FUNCTION stpm.workflow_checks_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
BEGIN
    PERFORM stpm.workflow_checks_fill(NEW.workflow_id, NEW.rules);
    RETURN NULL;
END $$;

CREATE TRIGGER workflow_rules_checks AFTER INSERT ON stpm.workflow_rules
    FOR EACH ROW EXECUTE FUNCTION stpm.workflow_checks_track();

-- Versions stored before 082 cannot declare checks (the loader refused the key), but the
-- table is what their rules say all the same.
SELECT stpm.workflow_checks_fill(workflow_id, rules) FROM stpm.workflow_rules;

-- ---------------------------------------------------------------------------------------
-- The value of a date field as the project's history holds it after event p_seq: the last
-- `set` of it (creation, transitions, migrations all record what they set).
CREATE FUNCTION stpm.history_date(p_project uuid, p_seq bigint, p_field text) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT (e.data -> 'set' ->> p_field)::date FROM stpm.events e
     WHERE e.chain = 'project:' || p_project AND e.seq <= p_seq AND e.data -> 'set' ? p_field
     ORDER BY e.seq DESC LIMIT 1
$$;

-- A check's due date after event p_seq: NULL while its `of:` field is not set (or when the
-- sum leaves the calendar; a check never makes a transition fail).
CREATE FUNCTION stpm.check_due(p_project uuid, p_seq bigint, p_of text, p_unit text,
                               p_n integer) RETURNS date
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN stpm.duration_add(stpm.history_date(p_project, p_seq, p_of), p_unit, p_n);
EXCEPTION WHEN datetime_field_overflow OR numeric_value_out_of_range THEN
    RETURN NULL;
END $$;

-- The outcomes the events of a project record: those of event p_seq, or all of them when
-- p_seq is NULL. An event records an outcome of check C of the workflow version it names
-- when it is a transition named as C's pass, rectify or fail, taken from a state of C's
-- `in:`, and no earlier event recorded pass or fail for C.
CREATE FUNCTION stpm.check_outcomes(p_project uuid, p_seq bigint)
RETURNS TABLE (project_id uuid, seq bigint, kind text, outcome text, due date, done_on date,
               done_by text, reason text, documents jsonb)
LANGUAGE sql STABLE AS $$
    WITH ev AS (
        SELECT e.seq, e.on_date, e.actor, e.reason, e.data, c.name, c.of_field, c.after_unit,
               c.after_n,
               CASE e.transition WHEN c.pass THEN 'pass' WHEN c.rectify THEN 'rectify'
                                 ELSE 'fail' END AS outcome
          FROM stpm.events e
          JOIN stpm.workflows w
            ON w.name = e.data ->> 'workflow' AND w.version = (e.data ->> 'version')::integer
          JOIN stpm.workflow_checks c ON c.workflow_id = w.id
         WHERE e.chain = 'project:' || p_project AND e.kind = 'transition'
           AND e.seq <= coalesce(p_seq, e.seq)
           AND e.transition IN (c.pass, c.rectify, c.fail)
           AND e.from_state = ANY (c.in_states))
    SELECT p_project, ev.seq, ev.name, ev.outcome,
           stpm.check_due(p_project, ev.seq, ev.of_field, ev.after_unit, ev.after_n),
           ev.on_date, ev.actor, ev.reason,
           CASE WHEN jsonb_typeof(ev.data -> 'documents') = 'array'
                THEN ev.data -> 'documents' ELSE '[]' END
      FROM ev
     WHERE ev.seq = coalesce(p_seq, ev.seq)
       AND NOT EXISTS (SELECT 1 FROM ev x WHERE x.name = ev.name AND x.seq < ev.seq
                                            AND x.outcome IN ('pass', 'fail'))
     ORDER BY ev.seq, ev.name
$$;

ALTER TABLE stpm.checks
    ADD COLUMN seq bigint,                           -- the event (project chain) recording it
    ADD COLUMN documents jsonb NOT NULL DEFAULT '[]', -- attached in that event: kind, file_name, sha256, size
    ALTER COLUMN scheduled_on DROP NOT NULL;         -- NULL: its `of:` field was not set
COMMENT ON COLUMN stpm.checks.scheduled_on IS 'the due date in effect when the outcome was recorded';
CREATE UNIQUE INDEX checks_event ON stpm.checks (project_id, seq, kind) WHERE seq IS NOT NULL;

CREATE FUNCTION stpm.checks_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
BEGIN
    -- Most transitions are no check's outcome: one look at the small table decides.
    IF NOT EXISTS (SELECT 1 FROM stpm.workflow_checks c
                    WHERE NEW.transition IN (c.pass, c.rectify, c.fail)) THEN
        RETURN NULL;
    END IF;
    INSERT INTO stpm.checks (project_id, kind, scheduled_on, done_on, outcome, notes,
                             recorded_by, seq, documents)
    SELECT o.project_id, o.kind, o.due, o.done_on, o.outcome, o.reason, o.done_by, o.seq,
           o.documents
      FROM stpm.check_outcomes(NEW.project_id, NEW.seq) o;
    RETURN NULL;
END $$;

CREATE TRIGGER events_checks_track AFTER INSERT ON stpm.events
    FOR EACH ROW WHEN (NEW.project_id IS NOT NULL AND NEW.kind = 'transition')
    EXECUTE FUNCTION stpm.checks_track();

-- ---------------------------------------------------------------------------------------
-- The checks of a project as of the end of p_as_of, in declaration order: each outcome
-- recorded by then (status done), then, for each check open at the end of that day, one
-- row with its due date and status scheduled, overdue or missed (the rules above).
CREATE FUNCTION stpm.project_checks(p_project uuid, p_as_of date)
RETURNS TABLE (ord integer, name text, label text, due date, status text, outcome text,
               done_on date, done_by text, seq bigint, documents jsonb, reason text)
LANGUAGE sql STABLE AS $$
    WITH p AS (
        SELECT pr.id, pr.workflow_id,
               (SELECT max(e.seq) FROM stpm.events e
                 WHERE e.chain = 'project:' || pr.id AND e.on_date <= p_as_of) AS last_seq,
               (SELECT e.to_state FROM stpm.events e
                 WHERE e.chain = 'project:' || pr.id AND e.on_date <= p_as_of
                   AND e.to_state IS NOT NULL
                 ORDER BY e.seq DESC LIMIT 1) AS state
          FROM stpm.projects pr WHERE pr.id = p_project),
    done AS (
        SELECT coalesce(wc.ord, 0) AS ord, c.kind AS name, coalesce(wc.label, c.kind) AS label,
               c.scheduled_on AS due, 'done'::text AS status, c.outcome, c.done_on,
               c.recorded_by AS done_by, c.seq, c.documents, c.notes AS reason
          FROM p JOIN stpm.checks c ON c.project_id = p.id
          LEFT JOIN stpm.workflow_checks wc ON wc.workflow_id = p.workflow_id AND wc.name = c.kind
         WHERE c.done_on <= p_as_of),
    open AS (
        SELECT wc.ord, wc.name, wc.label,
               stpm.check_due(p.id, p.last_seq, wc.of_field, wc.after_unit, wc.after_n) AS due,
               p.state, wc.in_states, coalesce(ws.final, false) AS final
          FROM p JOIN stpm.workflow_checks wc ON wc.workflow_id = p.workflow_id
          LEFT JOIN stpm.workflow_states ws ON ws.workflow_id = p.workflow_id AND ws.name = p.state
         WHERE EXISTS (SELECT 1 FROM stpm.events e
                        WHERE e.chain = 'project:' || p.id AND e.on_date <= p_as_of
                          AND e.to_state = ANY (wc.in_states))
           AND NOT EXISTS (SELECT 1 FROM done d
                            WHERE d.name = wc.name AND d.outcome IN ('pass', 'fail')))
    SELECT * FROM (
        SELECT d.ord, d.name, d.label, d.due, d.status, d.outcome, d.done_on, d.done_by, d.seq,
               d.documents, d.reason FROM done d
        UNION ALL
        SELECT o.ord, o.name, o.label, o.due,
               CASE WHEN o.final THEN 'missed'
                    WHEN o.due < p_as_of AND o.state = ANY (o.in_states) THEN 'overdue'
                    ELSE 'scheduled' END,
               NULL, NULL, NULL, NULL, '[]'::jsonb, NULL FROM open o) x
     ORDER BY x.ord, x.name, x.done_on IS NULL, x.done_on, x.seq
$$;

SELECT stpm.door_close();
