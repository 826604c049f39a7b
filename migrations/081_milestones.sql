-- 081: one meaning for each state, one definition of 应结未结, every figure as of any date
-- (docs/workflows.md "Milestones", docs/audit.md "应结未结", docs/reports.md).
--
-- 1. What a state counts as is declared in the workflow (`counts_as:`, `active:`) and kept in
--    stpm.workflow_states; the trigger, the checks, `audit` and `report` read it, never a
--    state's name. Versions stored before this migration declared nothing: they get the
--    meaning the shipped workflows give their states of the same name (else one read off
--    their structure: closed = terminated, final = rejected, a deadline = in progress), and
--    one `milestones_assumed` event on the system chain says so, per version.
-- 2. stpm.project_states keeps, per period, what it counts as, whether it is active, the
--    amounts in effect and `missed_due`: a deadline the project missed earlier and has not
--    made good since (see stpm.project_overdue below).
-- 3. stpm.project_facts keeps the first day of each milestone and how the project ended, so
--    that a report as of any day is a comparison of dates.
-- The derived tables are rebuilt from the events here (their rows follow the new rules).

ALTER TABLE stpm.workflow_states
    ADD COLUMN counts_as text CHECK (counts_as IN ('applied', 'admitted', 'approved',
        'in_progress', 'accepted', 'terminated', 'rejected', 'withdrawn')),
    ADD COLUMN active boolean NOT NULL DEFAULT false;

-- A stored version's states are immutable (020's trigger); this one-time declaration of
-- what they count as is the only change ever made to them, recorded by the event below.
ALTER TABLE stpm.workflow_states DISABLE TRIGGER workflow_states_immutable;
UPDATE stpm.workflow_states SET counts_as = CASE
        WHEN name IN ('applied', 'admitted', 'approved', 'in_progress', 'accepted', 'terminated',
                      'rejected', 'withdrawn') THEN name
        WHEN name = 'publicized' THEN 'admitted'
        WHEN name IN ('checked', 'rectifying', 'accepting') THEN 'in_progress'
        WHEN closed THEN 'terminated'
        WHEN final THEN 'rejected'
        WHEN due_field IS NOT NULL THEN 'in_progress'
    END;
UPDATE stpm.workflow_states SET active = NOT final
    AND coalesce(counts_as IN ('applied', 'admitted', 'approved', 'in_progress'), false);
ALTER TABLE stpm.workflow_states ENABLE TRIGGER workflow_states_immutable;

INSERT INTO stpm.events (chain, kind, data)
SELECT 'system', 'milestones_assumed',
       jsonb_build_object('workflow', w.name, 'version', w.version,
           'note', 'stored before milestones were declared (migration 081): assumed from the '
                   'shipped workflows'' states of the same name, else from the structure',
           'states', (SELECT jsonb_object_agg(s.name, jsonb_build_object('counts_as', s.counts_as,
                                                                        'active', s.active))
                      FROM stpm.workflow_states s WHERE s.workflow_id = w.id))
FROM stpm.workflows w
WHERE EXISTS (SELECT 1 FROM stpm.workflow_states s WHERE s.workflow_id = w.id)
ORDER BY w.name, w.version;

-- ---------------------------------------------------------------------------------------
-- The derived tables, with what reports and 应结未结 need.
DROP TABLE stpm.report_deltas, stpm.report_counts CASCADE;
DROP SEQUENCE stpm.report_deltas_written;
DROP TRIGGER events_project_track ON stpm.events;
DROP TABLE stpm.project_states, stpm.project_facts CASCADE;

CREATE TABLE stpm.project_states (
    project_id        uuid NOT NULL REFERENCES stpm.projects(id),
    seq               bigint NOT NULL,   -- the event (in the project's chain) that entered it
    state             text NOT NULL,
    from_date         date NOT NULL,     -- that event's on_date
    to_date           date,              -- exclusive; NULL while it is the last state
    due               date,              -- the state's `due:` date in effect; NULL if none
    closed            boolean NOT NULL,  -- `closed: true` in the pinned version
    final             boolean NOT NULL,  -- `final: true`
    counts_as         text,              -- `counts_as:` of the state in the pinned version
    active            boolean NOT NULL,  -- `active:` (leader_limit)
    missed_due        date,              -- a deadline missed before and not made good since
    amount_requested  numeric(18,4),     -- the amounts in effect during the period
    amount_approved   numeric(18,4),
    PRIMARY KEY (project_id, seq)
);

-- 应结未结 as of D: the periods containing D that are overdue then — a missed deadline
-- carried (missed_due), or a due date before D. Keyed by the end of the period (open
-- periods as 'infinity'): the answer for D is one range scan over the periods ending after
-- D, among those that ever were overdue (few, whatever the size of the history).
CREATE INDEX project_states_overdue ON stpm.project_states
    ((coalesce(to_date, 'infinity'::date)))
    INCLUDE (due, missed_due, from_date, to_date, project_id, state)
    WHERE NOT final AND (missed_due IS NOT NULL
                         OR (due IS NOT NULL AND (to_date IS NULL OR to_date > due)));
-- `audit closed --from --to`: entries into closed states by date.
CREATE INDEX project_states_closed ON stpm.project_states (from_date) WHERE closed;
-- "implemented": the periods in progress, by their end.
CREATE INDEX project_states_in_progress ON stpm.project_states
    ((coalesce(to_date, 'infinity'::date)), from_date) INCLUDE (project_id)
    WHERE counts_as = 'in_progress';

CREATE TABLE stpm.project_facts (
    project_id        uuid PRIMARY KEY REFERENCES stpm.projects(id),
    org_id            uuid NOT NULL,
    plan_id           uuid NOT NULL,
    year              integer NOT NULL,
    level             text NOT NULL,
    funded_plan       boolean NOT NULL,
    town              text,
    field             text,
    initial           text NOT NULL,    -- the state the project was created in
    state             text NOT NULL,    -- its state now
    created_on        date NOT NULL,
    applied_on        date,             -- the first day of each milestone (docs/reports.md)
    admitted_on       date,
    approved_on       date,
    started_on        date,             -- first in a state that counts as in_progress
    final_on          date,             -- entered a final state
    final_as          text,             -- what that state counts as (accepted, terminated, ...)
    closed_on         date,             -- entered a closed state (audit closed)
    closed_state      text,
    amount_requested  numeric(18,4),
    amount_approved   numeric(18,4)
);
CREATE INDEX project_facts_org ON stpm.project_facts (org_id);
CREATE INDEX project_facts_year ON stpm.project_facts (year);

-- A milestone is reached on the first entry into a state that counts as it or as a later one.
CREATE FUNCTION stpm.milestone_reached(p_counts_as text, p_milestone text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_milestone
        WHEN 'applied' THEN p_counts_as IN ('applied', 'admitted', 'approved', 'in_progress',
                                            'accepted', 'terminated')
        WHEN 'admitted' THEN p_counts_as IN ('admitted', 'approved', 'in_progress', 'accepted',
                                             'terminated')
        WHEN 'approved' THEN p_counts_as IN ('approved', 'in_progress', 'accepted', 'terminated')
        WHEN 'in_progress' THEN p_counts_as IN ('in_progress', 'accepted')
        ELSE false
    END
$$;

-- The period an event opens, from the period before it (prev, NULL for the first) — one
-- rule for the trigger and for `audit verify`'s rebuild (stpm.derived_problems):
--   missed_due  a period left after its due day (on_date > due), or one that carried a
--               missed deadline, hands it on; entering a final state ends it, and so does
--               an event that sets due_date to a day not before its own (an extension, a
--               task book's agreed date: the project has a deadline again).
CREATE FUNCTION stpm.period_missed_due(prev_due date, prev_missed date, p_final boolean,
                                       p_on_date date, p_data jsonb) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_final THEN NULL
        WHEN p_data -> 'set' ? 'due_date' AND jsonb_typeof(p_data -> 'set' -> 'due_date') = 'string'
             AND (p_data -> 'set' ->> 'due_date')::date >= p_on_date THEN NULL
        WHEN prev_missed IS NOT NULL THEN prev_missed
        WHEN prev_due IS NOT NULL AND p_on_date > prev_due THEN prev_due
    END
$$;

-- Keep both tables as each project event is written. AFTER the row: the projects row the
-- same statement wrote is visible here.
CREATE OR REPLACE FUNCTION stpm.project_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    p stpm.projects;
    ws stpm.workflow_states;
    prev stpm.project_states;
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
    SELECT * INTO prev FROM stpm.project_states
        WHERE project_id = NEW.project_id ORDER BY seq DESC LIMIT 1;
    IF FOUND THEN
        UPDATE stpm.project_states SET to_date = NEW.on_date
            WHERE project_id = NEW.project_id AND seq = prev.seq;
    END IF;
    INSERT INTO stpm.project_states (project_id, seq, state, from_date, to_date, due, closed,
            final, counts_as, active, missed_due, amount_requested, amount_approved)
        VALUES (NEW.project_id, NEW.seq, NEW.to_state, NEW.on_date, NULL, v_due, v_closed,
                v_final, ws.counts_as, coalesce(ws.active, false),
                stpm.period_missed_due(prev.due, prev.missed_due, v_final, NEW.on_date, NEW.data),
                p.amount_requested, p.amount_approved);

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
        FROM stpm.plans pl, stpm.orgs o WHERE pl.id = p.plan_id AND o.id = p.org_id
    ON CONFLICT (project_id) DO UPDATE SET
        state = NEW.to_state,
        field = p.field,
        amount_requested = p.amount_requested,
        amount_approved = p.amount_approved,
        applied_on = coalesce(f.applied_on, EXCLUDED.applied_on),
        admitted_on = coalesce(f.admitted_on, EXCLUDED.admitted_on),
        approved_on = coalesce(f.approved_on, EXCLUDED.approved_on),
        started_on = coalesce(f.started_on, EXCLUDED.started_on),
        final_on = EXCLUDED.final_on,
        final_as = EXCLUDED.final_as,
        closed_on = EXCLUDED.closed_on,
        closed_state = EXCLUDED.closed_state;
    RETURN NULL;
END $$;

CREATE TRIGGER events_project_track AFTER INSERT ON stpm.events
    FOR EACH ROW WHEN (NEW.project_id IS NOT NULL AND NEW.to_state IS NOT NULL)
    EXECUTE FUNCTION stpm.project_track();

-- The periods of one project replayed from its events alone (the values each event set,
-- the workflow version each event names): what project_track wrote, for the backfill below
-- and for `audit verify` (stpm.derived_problems), which compares the two.
CREATE FUNCTION stpm.project_states_replay(p_project uuid) RETURNS SETOF stpm.project_states
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    e stpm.events;
    vals jsonb := '{}';
    wid uuid;
    ws stpm.workflow_states;
    cur stpm.project_states;
    have boolean := false;
    v_final boolean;
BEGIN
    SELECT workflow_id INTO wid FROM stpm.projects WHERE id = p_project;
    FOR e IN SELECT * FROM stpm.events WHERE chain = 'project:' || p_project ORDER BY seq LOOP
        IF jsonb_typeof(e.data -> 'set') = 'object' THEN
            vals := vals || (e.data -> 'set');
        END IF;
        IF e.data ? 'workflow' AND e.data ? 'version' THEN
            SELECT id INTO wid FROM stpm.workflows
             WHERE name = e.data ->> 'workflow' AND version = (e.data ->> 'version')::integer;
        END IF;
        CONTINUE WHEN e.to_state IS NULL;
        SELECT * INTO ws FROM stpm.workflow_states WHERE workflow_id = wid AND name = e.to_state;
        v_final := coalesce(ws.final OR ws.closed, false);
        IF have THEN
            cur.to_date := e.on_date;
            RETURN NEXT cur;
        END IF;
        cur := ROW(p_project, e.seq, e.to_state, e.on_date, NULL,
                   CASE WHEN NOT v_final AND ws.due_field IS NOT NULL
                        AND jsonb_typeof(vals -> ws.due_field) = 'string'
                        THEN (vals ->> ws.due_field)::date END,
                   coalesce(ws.closed, false), v_final, ws.counts_as, coalesce(ws.active, false),
                   stpm.period_missed_due(CASE WHEN have THEN cur.due END,
                                          CASE WHEN have THEN cur.missed_due END,
                                          v_final, e.on_date, e.data),
                   (vals ->> 'amount_requested')::numeric, (vals ->> 'amount_approved')::numeric);
        have := true;
    END LOOP;
    IF have THEN
        RETURN NEXT cur;
    END IF;
END $$;

-- The facts row of one project from its periods (replayed or stored) and its rows.
CREATE FUNCTION stpm.project_facts_of(p_project uuid, p_periods stpm.project_states[])
RETURNS stpm.project_facts
LANGUAGE sql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
    SELECT ROW(p.id, p.org_id, p.plan_id, p.year, pl.level, pl.funded, o.town, p.field,
               h.initial, h.state, h.created_on, h.applied_on, h.admitted_on, h.approved_on,
               h.started_on, h.final_on, h.final_as, h.closed_on, h.closed_state,
               h.amount_requested, h.amount_approved)::stpm.project_facts
    FROM stpm.projects p
    JOIN stpm.plans pl ON pl.id = p.plan_id
    JOIN stpm.orgs o ON o.id = p.org_id
    CROSS JOIN LATERAL (
        SELECT (array_agg(s.state ORDER BY s.seq))[1] AS initial,
               (array_agg(s.state ORDER BY s.seq DESC))[1] AS state,
               min(s.from_date) AS created_on,
               min(s.from_date) FILTER (WHERE stpm.milestone_reached(s.counts_as, 'applied'))
                   AS applied_on,
               min(s.from_date) FILTER (WHERE stpm.milestone_reached(s.counts_as, 'admitted'))
                   AS admitted_on,
               min(s.from_date) FILTER (WHERE stpm.milestone_reached(s.counts_as, 'approved'))
                   AS approved_on,
               min(s.from_date) FILTER (WHERE stpm.milestone_reached(s.counts_as, 'in_progress'))
                   AS started_on,
               (array_agg(CASE WHEN s.final THEN s.from_date END ORDER BY s.seq DESC))[1]
                   AS final_on,
               (array_agg(CASE WHEN s.final THEN s.counts_as END ORDER BY s.seq DESC))[1]
                   AS final_as,
               (array_agg(CASE WHEN s.closed THEN s.from_date END ORDER BY s.seq DESC))[1]
                   AS closed_on,
               (array_agg(CASE WHEN s.closed THEN s.state END ORDER BY s.seq DESC))[1]
                   AS closed_state,
               (array_agg(s.amount_requested ORDER BY s.seq DESC))[1] AS amount_requested,
               (array_agg(s.amount_approved ORDER BY s.seq DESC))[1] AS amount_approved
        FROM unnest(p_periods) s
    ) h
    WHERE p.id = p_project AND h.state IS NOT NULL
$$;

INSERT INTO stpm.project_states
SELECT r.* FROM stpm.projects p CROSS JOIN LATERAL stpm.project_states_replay(p.id) r;
INSERT INTO stpm.project_facts
SELECT (stpm.project_facts_of(p.id, (SELECT array_agg(s ORDER BY s.seq)
                                     FROM stpm.project_states s WHERE s.project_id = p.id))).*
FROM stpm.projects p
WHERE EXISTS (SELECT 1 FROM stpm.project_states s WHERE s.project_id = p.id);

-- ---------------------------------------------------------------------------------------
-- 应结未结 (docs/audit.md), the one definition: the project is overdue at the end of day D
-- when, in the period containing D (the state as of D), it is not in a final state and
--   * the due date of that state (its `due:` field) is before D — the due day itself is
--     still in time; or
--   * it carries a deadline it missed before (missed_due): it left a state after that
--     state's due day and has neither ended nor been given a new due_date since
--     (rectification, a late task book or an acceptance requested late do not make good a
--     missed completion date; an extension within the workflow's limits does).
-- due: the deadline missed (the earliest of the two). At most one row.
CREATE FUNCTION stpm.project_overdue(p_project uuid, p_as_of date,
                                     OUT state text, OUT due date, OUT since date)
RETURNS SETOF record
LANGUAGE sql STABLE AS $$
    SELECT s.state, least(s.missed_due, CASE WHEN s.due < p_as_of THEN s.due END),
           s.from_date
    FROM (SELECT * FROM stpm.project_states x
          WHERE x.project_id = p_project AND x.from_date <= p_as_of
          ORDER BY x.seq DESC LIMIT 1) s
    WHERE NOT s.final AND (s.missed_due IS NOT NULL OR s.due < p_as_of)
$$;

-- The same for every project at once, through the partial index above.
CREATE FUNCTION stpm.overdue_as_of(p_as_of date)
RETURNS TABLE (project_id uuid, state text, due date, since date)
LANGUAGE sql STABLE AS $$
    SELECT s.project_id, s.state, least(s.missed_due, CASE WHEN s.due < p_as_of THEN s.due END),
           s.from_date
    FROM stpm.project_states s
    WHERE NOT s.final AND (s.missed_due IS NOT NULL
                           OR (s.due IS NOT NULL AND (s.to_date IS NULL OR s.to_date > s.due)))
      AND coalesce(s.to_date, 'infinity') > p_as_of AND s.from_date <= p_as_of
      AND (s.missed_due IS NOT NULL OR s.due < p_as_of)
$$;

-- ---------------------------------------------------------------------------------------
-- stpm.report_counts (051's design, with the milestones of this migration): per
-- combination of what the reports group by and the milestones reached, the number of
-- projects and their amounts, kept by deltas that the facts' trigger appends. They answer
-- the figures "as of now" (an as-of date on or after the server's date) in a few hundred
-- rows; a report as of an earlier day reads the facts and the periods (core/audit/report.c).
CREATE TABLE stpm.report_counts (
    year             integer NOT NULL,
    plan_id          uuid NOT NULL,
    level            text NOT NULL,
    town             text,
    field            text,
    state            text NOT NULL,
    applied          boolean NOT NULL,
    admitted         boolean NOT NULL,
    approved         boolean NOT NULL,
    started          boolean NOT NULL,
    funded           boolean NOT NULL,    -- approved, funded plan, amount_approved > 0
    final_as         text,                -- how it ended (accepted, terminated, rejected, ...)
    projects         bigint NOT NULL,
    requested        numeric NOT NULL,    -- sum of amount_requested (NULL as 0)
    approved_amount  numeric NOT NULL,    -- sum of amount_approved (NULL as 0)
    CONSTRAINT report_counts_key UNIQUE NULLS NOT DISTINCT (year, plan_id, level, town, field,
        state, applied, admitted, approved, started, funded, final_as)
);
CREATE TABLE stpm.report_deltas (LIKE stpm.report_counts);
CREATE SEQUENCE stpm.report_deltas_written;

CREATE OR REPLACE FUNCTION stpm.report_counts_row(f stpm.project_facts, sign integer)
RETURNS stpm.report_counts
LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(f.year, f.plan_id, f.level, f.town, f.field, f.state, f.applied_on IS NOT NULL,
               f.admitted_on IS NOT NULL, f.approved_on IS NOT NULL, f.started_on IS NOT NULL,
               coalesce(f.approved_on IS NOT NULL AND f.funded_plan AND f.amount_approved > 0,
                        false),
               f.final_as, sign, sign * coalesce(f.amount_requested, 0),
               sign * coalesce(f.amount_approved, 0))::stpm.report_counts
$$;

CREATE OR REPLACE FUNCTION stpm.report_compact() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('stpm.report_compact')) THEN
        RETURN 0;
    END IF;
    WITH d AS (DELETE FROM stpm.report_deltas RETURNING *)
    INSERT INTO stpm.report_counts AS c
    SELECT year, plan_id, level, town, field, state, applied, admitted, approved, started,
           funded, final_as, sum(projects), sum(requested), sum(approved_amount)
    FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
    ON CONFLICT ON CONSTRAINT report_counts_key DO UPDATE SET
        projects = c.projects + EXCLUDED.projects,
        requested = c.requested + EXCLUDED.requested,
        approved_amount = c.approved_amount + EXCLUDED.approved_amount;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

CREATE OR REPLACE FUNCTION stpm.report_counts_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    o stpm.report_counts;
    n stpm.report_counts;
BEGIN
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

CREATE TRIGGER project_facts_counts_ins AFTER INSERT OR DELETE ON stpm.project_facts
    FOR EACH ROW EXECUTE FUNCTION stpm.report_counts_track();
CREATE TRIGGER project_facts_counts_upd AFTER UPDATE ON stpm.project_facts
    FOR EACH ROW WHEN ((OLD.year, OLD.plan_id, OLD.level, OLD.town, OLD.field, OLD.state,
                        OLD.applied_on IS NULL, OLD.admitted_on IS NULL, OLD.approved_on IS NULL,
                        OLD.started_on IS NULL, OLD.funded_plan, OLD.final_as,
                        OLD.amount_requested, OLD.amount_approved)
                       IS DISTINCT FROM
                       (NEW.year, NEW.plan_id, NEW.level, NEW.town, NEW.field, NEW.state,
                        NEW.applied_on IS NULL, NEW.admitted_on IS NULL, NEW.approved_on IS NULL,
                        NEW.started_on IS NULL, NEW.funded_plan, NEW.final_as,
                        NEW.amount_requested, NEW.amount_approved))
    EXECUTE FUNCTION stpm.report_counts_track();

INSERT INTO stpm.report_counts
SELECT (r).year, (r).plan_id, (r).level, (r).town, (r).field, (r).state, (r).applied,
       (r).admitted, (r).approved, (r).started, (r).funded, (r).final_as, sum((r).projects),
       sum((r).requested), sum((r).approved_amount)
FROM (SELECT stpm.report_counts_row(f, 1) AS r FROM stpm.project_facts f) x
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;

GRANT SELECT ON stpm.project_states, stpm.project_facts, stpm.report_counts, stpm.report_deltas
    TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

-- The latest business date of any project's event (each chain's head keeps its last one,
-- 070), read from an index: reports as of that day or later are reports of now.
CREATE INDEX chain_heads_project_on_date ON stpm.chain_heads (on_date)
    WHERE chain LIKE 'project:%';
CREATE FUNCTION stpm.latest_event_date() RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT coalesce(max(on_date), '-infinity'::date) FROM stpm.chain_heads
    WHERE chain LIKE 'project:%'
$$;

-- The rows every report figure is summed from, as of the end of p_as_of, for the projects of
-- plan years [p_from, p_to] (NULL: open): one row per combination (as of a day no project's
-- event is later than — stpm.latest_event_date() —, where the history as of the day is the history
-- now: the counts and deltas above; as of an earlier day: one row per project from its
-- facts and the period containing p_as_of), plus one row per project overdue then (overdue = 1) and one per
-- project in progress at any time of the period [1 January p_from, min(31 December p_to,
-- p_as_of)] of any plan year (implemented = 1). Reports filter and group these rows.
CREATE FUNCTION stpm.report_rows(p_from integer, p_to integer, p_as_of date)
RETURNS TABLE (year integer, plan_id uuid, level text, town text, field text, state text,
               applied boolean, admitted boolean, approved boolean, started boolean,
               funded boolean, final_as text, projects bigint, requested numeric,
               approved_amount numeric, overdue integer, implemented integer)
LANGUAGE sql STABLE AS $$
    SELECT c.year, c.plan_id, c.level, c.town, c.field, c.state, c.applied, c.admitted,
           c.approved, c.started, c.funded, c.final_as, c.projects, c.requested,
           c.approved_amount, 0, 0
    FROM (SELECT u.year, u.plan_id, u.level, u.town, u.field, u.state, u.applied, u.admitted,
                 u.approved, u.started, u.funded, u.final_as, sum(u.projects) AS projects,
                 sum(u.requested) AS requested, sum(u.approved_amount) AS approved_amount
          FROM (SELECT * FROM stpm.report_counts WHERE projects <> 0
                UNION ALL SELECT * FROM stpm.report_deltas) u
          WHERE p_as_of >= stpm.latest_event_date()
            AND u.year >= coalesce(p_from, 0) AND u.year <= coalesce(p_to, 9999)
          GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
          HAVING sum(u.projects) <> 0) c
    UNION ALL
    SELECT f.year, f.plan_id, f.level, f.town, f.field, s.state,
           coalesce(f.applied_on <= p_as_of, false), coalesce(f.admitted_on <= p_as_of, false),
           coalesce(f.approved_on <= p_as_of, false), coalesce(f.started_on <= p_as_of, false),
           coalesce(f.approved_on <= p_as_of AND f.funded_plan AND s.amount_approved > 0, false),
           CASE WHEN f.final_on <= p_as_of THEN f.final_as END, 1,
           coalesce(s.amount_requested, 0), coalesce(s.amount_approved, 0), 0, 0
    FROM stpm.project_facts f
    CROSS JOIN LATERAL (SELECT x.state, x.amount_requested, x.amount_approved
                        FROM stpm.project_states x
                        WHERE x.project_id = f.project_id AND x.from_date <= p_as_of
                        ORDER BY x.seq DESC LIMIT 1) s
    WHERE p_as_of < stpm.latest_event_date() AND f.created_on <= p_as_of
      AND f.year >= coalesce(p_from, 0) AND f.year <= coalesce(p_to, 9999)
    UNION ALL
    SELECT f.year, f.plan_id, f.level, f.town, f.field, o.state, false, false, false, false,
           false, NULL, 0, 0, 0, 1, 0
    FROM stpm.overdue_as_of(p_as_of) o
    CROSS JOIN LATERAL (SELECT * FROM stpm.project_facts x
                        WHERE x.project_id = o.project_id LIMIT 1) f
    WHERE f.year >= coalesce(p_from, 0) AND f.year <= coalesce(p_to, 9999)
    UNION ALL
    SELECT f.year, f.plan_id, f.level, f.town, f.field, f.state, false, false, false, false,
           false, NULL, 0, 0, 0, 0, 1
    FROM (SELECT DISTINCT s.project_id FROM stpm.project_states s
          WHERE s.counts_as = 'in_progress'
            AND coalesce(s.to_date, 'infinity') > coalesce(make_date(p_from, 1, 1), '-infinity')
            AND s.from_date <= least(coalesce(make_date(p_to, 12, 31), 'infinity'), p_as_of)
            AND (s.to_date IS NULL OR s.to_date > s.from_date)) i
    CROSS JOIN LATERAL (SELECT * FROM stpm.project_facts x
                        WHERE x.project_id = i.project_id LIMIT 1) f
$$;
GRANT EXECUTE ON FUNCTION stpm.report_rows(integer, integer, date)
    TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

-- ---------------------------------------------------------------------------------------
-- The integrity checks read the milestones: leader_limit counts the projects in an `active`
-- state, no_duplicate leaves out those that ended as rejected, terminated or withdrawn,
-- org_no_overdue asks stpm.project_overdue (the auditor's 应结未结) as of the check's day.
CREATE OR REPLACE FUNCTION stpm.checks_run(p_checks jsonb, p_project uuid, p_today date)
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
                   -- not one that ended without success, nor one waiting where it counts
                   -- for nothing (a reserve pool: no milestone, not active, not final)
                   AND NOT EXISTS (SELECT 1 FROM stpm.workflow_states ws
                                    WHERE ws.workflow_id = q.workflow_id AND ws.name = q.state
                                      AND (ws.counts_as IN ('rejected', 'terminated', 'withdrawn')
                                           OR (ws.counts_as IS NULL AND NOT ws.active
                                               AND NOT ws.final)))
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
          JOIN stpm.workflow_states ws ON ws.workflow_id = q.workflow_id AND ws.name = q.state
         WHERE q.leader_id = p.leader_id AND q.id <> p.id AND ws.active;
        SELECT jsonb_agg(jsonb_build_object('code', t.code, 'title', t.title, 'plan', t.plan,
                   'state', t.state) ORDER BY t.code),
               string_agg(t.code, ', ' ORDER BY t.code)
          INTO lst, codes
          FROM (SELECT q.code, q.title, pl.code AS plan, q.state
                  FROM stpm.projects q JOIN stpm.plans pl ON pl.id = q.plan_id
                  JOIN stpm.workflow_states ws ON ws.workflow_id = q.workflow_id
                                              AND ws.name = q.state
                 WHERE q.leader_id = p.leader_id AND q.id <> p.id AND ws.active
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
        -- 应结未结 as audit unclosed has it (stpm.project_overdue), of every other project
        -- of the organisation, as of the day of the check.
        SELECT count(*) INTO n FROM stpm.projects q
          CROSS JOIN LATERAL stpm.project_overdue(q.id, p_today) od
         WHERE q.org_id = p.org_id AND q.id <> p.id;
        SELECT jsonb_agg(jsonb_build_object('code', t.code, 'title', t.title, 'state', t.state,
                   'due_date', t.due) ORDER BY t.due, t.code),
               string_agg(format('%s (due %s)', t.code, t.due), ', ' ORDER BY t.due, t.code)
          INTO lst, codes
          FROM (SELECT q.code, q.title, od.state, od.due FROM stpm.projects q
                  CROSS JOIN LATERAL stpm.project_overdue(q.id, p_today) od
                 WHERE q.org_id = p.org_id AND q.id <> p.id
                 ORDER BY od.due, q.code LIMIT 20) t;
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
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION stpm.checks_run(jsonb, uuid, date) '
                   'SET search_path = pg_catalog, stpm, %I, pg_temp',
                   (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                     WHERE e.extname = 'pg_trgm'));
END $$;

-- ---------------------------------------------------------------------------------------
-- A workflow version keeps what each of its states counts as.
CREATE OR REPLACE FUNCTION stpm.workflow_store(p_name text, p_version integer, p_title text,
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
                                              timeout_transition, counts_as, active)
            VALUES (wid, i, s ->> 'name', coalesce(s ->> 'label', s ->> 'name'),
                    coalesce((s ->> 'final')::boolean, false),
                    coalesce((s ->> 'closed')::boolean, false), s ->> 'due',
                    (s ->> 'timeout_n')::integer, s ->> 'timeout_unit', s ->> 'timeout_transition',
                    s ->> 'counts_as', coalesce((s ->> 'active')::boolean, false));
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


-- ---------------------------------------------------------------------------------------
-- `audit verify`'s check of the derived tables (080's function, for the tables above):
-- project_states against the periods replayed from the events (stpm.project_states_replay,
-- the trigger's own rules), project_facts against the facts of those periods, and
-- report_counts + report_deltas against the counts of those facts. One row per difference,
-- naming the project by its code and the columns that differ.
CREATE OR REPLACE FUNCTION stpm.derived_diff(have jsonb, want jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(format('%s %s, the events say %s', k,
                             coalesce(have ->> k, 'none'), coalesce(want ->> k, 'none')), '; '
                      ORDER BY k)
    FROM (SELECT jsonb_object_keys(coalesce(have, '{}') || coalesce(want, '{}')) AS k) x
    WHERE (have -> k) IS DISTINCT FROM (want -> k)
$$;

CREATE OR REPLACE FUNCTION stpm.derived_problems()
RETURNS TABLE (project_code text, what text)
LANGUAGE sql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
    WITH want_states AS (
        SELECT r.project_id, r.seq, r AS st
          FROM stpm.projects p CROSS JOIN LATERAL stpm.project_states_replay(p.id) r
    ),
    state_diff AS (
        SELECT coalesce(w.project_id, h.project_id) AS project_id,
               'project_states seq ' || coalesce(w.seq, h.seq) || ': ' ||
               CASE WHEN h.project_id IS NULL THEN 'its row is missing'
                    WHEN w.project_id IS NULL THEN 'the row has no event that entered a state'
                    ELSE stpm.derived_diff(to_jsonb(h), to_jsonb(w.st)) END AS what
          FROM want_states w
          FULL JOIN stpm.project_states h ON h.project_id = w.project_id AND h.seq = w.seq
         WHERE h.project_id IS NULL OR w.project_id IS NULL OR h IS DISTINCT FROM w.st
    ),
    want_facts AS (
        SELECT (stpm.project_facts_of(s.project_id, array_agg(s.st ORDER BY s.seq))).*
          FROM want_states s GROUP BY s.project_id
    ),
    fact_diff AS (
        SELECT coalesce(w.project_id, h.project_id) AS project_id,
               'project_facts: ' ||
               CASE WHEN h.project_id IS NULL THEN 'the row is missing'
                    WHEN w.project_id IS NULL
                    THEN 'a row for a project with no event that entered a state'
                    ELSE stpm.derived_diff(to_jsonb(h), to_jsonb(w)) END AS what
          FROM want_facts w
          FULL JOIN stpm.project_facts h ON h.project_id = w.project_id
         WHERE h.project_id IS NULL OR w.project_id IS NULL
            OR h IS DISTINCT FROM ROW(w.*)::stpm.project_facts
    ),
    want_counts AS (
        SELECT (c).year, (c).plan_id, (c).level, (c).town, (c).field, (c).state, (c).applied,
               (c).admitted, (c).approved, (c).started, (c).funded, (c).final_as,
               sum((c).projects) AS projects, sum((c).requested) AS requested,
               sum((c).approved_amount) AS approved_amount
          FROM (SELECT stpm.report_counts_row(ROW(f.*)::stpm.project_facts, 1) AS c FROM want_facts f) x
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
    ),
    have_counts AS (
        SELECT year, plan_id, level, town, field, state, applied, admitted, approved, started,
               funded, final_as, sum(projects) AS projects, sum(requested) AS requested,
               sum(approved_amount) AS approved_amount
          FROM (SELECT * FROM stpm.report_counts UNION ALL SELECT * FROM stpm.report_deltas) u
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
        HAVING sum(projects) <> 0 OR sum(requested) <> 0 OR sum(approved_amount) <> 0
    ),
    count_diff AS (
        SELECT coalesce(w.k, h.k) AS k, coalesce(w.plan_id, h.plan_id) AS plan_id,
               h.projects AS h_projects, w.projects AS w_projects, h.requested AS h_req,
               w.requested AS w_req, h.approved_amount AS h_appr, w.approved_amount AS w_appr
          FROM (SELECT concat_ws(' ', year, level, town, field, state,
                                 CASE WHEN applied THEN 'applied' END,
                                 CASE WHEN admitted THEN 'admitted' END,
                                 CASE WHEN approved THEN 'approved' END,
                                 CASE WHEN started THEN 'started' END,
                                 CASE WHEN funded THEN 'funded' END, final_as) AS k, *
                  FROM want_counts) w
          FULL JOIN (SELECT concat_ws(' ', year, level, town, field, state,
                                      CASE WHEN applied THEN 'applied' END,
                                      CASE WHEN admitted THEN 'admitted' END,
                                      CASE WHEN approved THEN 'approved' END,
                                      CASE WHEN started THEN 'started' END,
                                      CASE WHEN funded THEN 'funded' END, final_as) AS k, *
                       FROM have_counts) h
            ON h.k = w.k AND h.plan_id = w.plan_id
         WHERE (h.projects, h.requested, h.approved_amount)
               IS DISTINCT FROM (w.projects, w.requested, w.approved_amount)
    )
    SELECT p.code, d.what FROM state_diff d LEFT JOIN stpm.projects p ON p.id = d.project_id
    UNION ALL
    SELECT p.code, d.what FROM fact_diff d LEFT JOIN stpm.projects p ON p.id = d.project_id
    UNION ALL
    SELECT NULL::text,
           format('report_counts + report_deltas of %s %s: %s projects, %s requested, %s '
                  'approved; the events give %s, %s, %s',
                  (SELECT pl.code FROM stpm.plans pl WHERE pl.id = d.plan_id), d.k,
                  coalesce(d.h_projects, 0), coalesce(d.h_req, 0), coalesce(d.h_appr, 0),
                  coalesce(d.w_projects, 0), coalesce(d.w_req, 0), coalesce(d.w_appr, 0))
      FROM count_diff d
$$;

GRANT EXECUTE ON FUNCTION stpm.project_overdue(uuid, date), stpm.overdue_as_of(date),
    stpm.milestone_reached(text, text), stpm.project_states_replay(uuid),
    stpm.project_facts_of(uuid, stpm.project_states[])
    TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

SELECT stpm.door_close();
