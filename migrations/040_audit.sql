-- 040: what the auditor's and the bureau's views need (docs/audit.md, docs/reports.md).
--
-- Two tables derived from the history, maintained by a trigger on stpm.events in the
-- transaction that writes the event, so that no writer can forget them:
--
--   project_states  one row per state a project entered (per event with a to_state):
--                   the period [from_date, to_date) during which it was the state at the
--                   end of each day, and the `due:` date in effect in it. "The state as of
--                   D" is the to_state of the last event, in chain order, whose on_date is
--                   on or before D; to_date is therefore the smallest on_date of any later
--                   event of the chain (exclusive), NULL while nothing came later.
--   project_facts   one row per project: what the reports count (milestone dates, current
--                   state, plan level, town, field, amounts), one narrow row to GROUP BY.
--
-- Both can be rebuilt from the events at any time (the backfill below does exactly that).

CREATE TABLE stpm.project_states (
    project_id  uuid NOT NULL REFERENCES stpm.projects(id),
    seq         bigint NOT NULL,        -- the event (in the project's chain) that entered it
    state       text NOT NULL,
    from_date   date NOT NULL,          -- that event's on_date
    to_date     date,                   -- exclusive; NULL while it is the last state
    due         date,                   -- the state's `due:` date in effect; NULL if none/closed
    closed      boolean NOT NULL,       -- the state is `closed: true` in the pinned version
    PRIMARY KEY (project_id, seq)
);

-- 应结未结 as of D: a period with due < D <= ... that was still open after its due date.
-- Periods left before their due date can never be overdue, so the index holds only the
-- periods that ever were overdue — few, whatever the size of the history.
CREATE INDEX project_states_overdue ON stpm.project_states (due)
    WHERE due IS NOT NULL AND (to_date IS NULL OR to_date > due);
-- `audit closed --from --to`: entries into closed states by date.
CREATE INDEX project_states_closed ON stpm.project_states (from_date) WHERE closed;

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
    state             text NOT NULL,
    applied_on        date,             -- see docs/reports.md for what each milestone means
    admitted_on       date,
    approved_on       date,
    closed_on         date,
    closed_state      text,
    amount_requested  numeric(18,4),
    amount_approved   numeric(18,4)
);
CREATE INDEX project_facts_org ON stpm.project_facts (org_id);
CREATE INDEX project_facts_year ON stpm.project_facts (year);

-- Keep both tables as each project event is written. AFTER the row: the projects row the
-- same statement wrote is visible here (an AFTER trigger sees the whole statement's effects).
CREATE FUNCTION stpm.project_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm AS $$
DECLARE
    p stpm.projects;
    ws stpm.workflow_states;
    v_due date;
    v_closed boolean;
    v_rejection boolean;
    v_checked boolean;
BEGIN
    SELECT * INTO p FROM stpm.projects WHERE id = NEW.project_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT * INTO ws FROM stpm.workflow_states
        WHERE workflow_id = p.workflow_id AND name = NEW.to_state;
    v_closed := coalesce(ws.closed, false);
    v_rejection := coalesce(ws.final AND NOT ws.closed, false);
    v_checked := jsonb_typeof(NEW.data -> 'checks') = 'array'
                 AND jsonb_array_length(NEW.data -> 'checks') > 0;
    IF NOT v_closed AND ws.due_field IS NOT NULL THEN
        v_due := stpm.project_due(p, ws.due_field);
    END IF;

    UPDATE stpm.project_states SET to_date = NEW.on_date
        WHERE project_id = NEW.project_id AND (to_date IS NULL OR to_date > NEW.on_date);
    INSERT INTO stpm.project_states (project_id, seq, state, from_date, to_date, due, closed)
        VALUES (NEW.project_id, NEW.seq, NEW.to_state, NEW.on_date, NULL, v_due, v_closed);

    INSERT INTO stpm.project_facts AS f (project_id, org_id, plan_id, year, level, funded_plan,
            town, field, initial, state, closed_on, closed_state, amount_requested,
            amount_approved)
        SELECT p.id, p.org_id, p.plan_id, p.year, pl.level, pl.funded, o.town, p.field,
               NEW.to_state, NEW.to_state,
               CASE WHEN v_closed THEN NEW.on_date END, CASE WHEN v_closed THEN NEW.to_state END,
               p.amount_requested, p.amount_approved
        FROM stpm.plans pl, stpm.orgs o WHERE pl.id = p.plan_id AND o.id = p.org_id
    ON CONFLICT (project_id) DO UPDATE SET
        state = NEW.to_state,
        field = p.field,
        amount_requested = p.amount_requested,
        amount_approved = p.amount_approved,
        applied_on = coalesce(f.applied_on, CASE WHEN NEW.to_state <> f.initial
                                                  AND NOT v_rejection THEN NEW.on_date END),
        admitted_on = coalesce(f.admitted_on, CASE WHEN v_checked AND NOT v_rejection
                                                   THEN NEW.on_date END),
        approved_on = coalesce(f.approved_on, CASE WHEN ws.due_field IS NOT NULL OR v_closed
                                                   THEN NEW.on_date END),
        closed_on = CASE WHEN v_closed THEN NEW.on_date END,
        closed_state = CASE WHEN v_closed THEN NEW.to_state END;
    RETURN NULL;
END $$;

CREATE TRIGGER events_project_track AFTER INSERT ON stpm.events
    FOR EACH ROW WHEN (NEW.project_id IS NOT NULL AND NEW.to_state IS NOT NULL)
    EXECUTE FUNCTION stpm.project_track();

-- An organisation's town (所属板块) is reported as it is now.
CREATE FUNCTION stpm.project_facts_town() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm AS $$
BEGIN
    UPDATE stpm.project_facts SET town = NEW.town WHERE org_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER orgs_town_facts AFTER UPDATE OF town ON stpm.orgs
    FOR EACH ROW WHEN (OLD.town IS DISTINCT FROM NEW.town)
    EXECUTE FUNCTION stpm.project_facts_town();

-- Backfill from the history already written (a database migrated from an older version).
INSERT INTO stpm.project_states (project_id, seq, state, from_date, to_date, due, closed)
SELECT e.project_id, e.seq, e.to_state, e.on_date,
       min(e.on_date) OVER (PARTITION BY e.project_id ORDER BY e.seq
                            ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING),
       CASE WHEN NOT coalesce(ws.closed, false) AND ws.due_field IS NOT NULL THEN
           (SELECT (x.data -> 'set' ->> ws.due_field)::date FROM stpm.events x
            WHERE x.project_id = e.project_id AND x.seq <= e.seq
              AND x.data -> 'set' ? ws.due_field
            ORDER BY x.seq DESC LIMIT 1)
       END,
       coalesce(ws.closed, false)
FROM stpm.events e
JOIN stpm.projects p ON p.id = e.project_id
LEFT JOIN stpm.workflow_states ws ON ws.workflow_id = p.workflow_id AND ws.name = e.to_state
WHERE e.project_id IS NOT NULL AND e.to_state IS NOT NULL;

INSERT INTO stpm.project_facts (project_id, org_id, plan_id, year, level, funded_plan, town,
        field, initial, state, applied_on, admitted_on, approved_on, closed_on, closed_state,
        amount_requested, amount_approved)
SELECT p.id, p.org_id, p.plan_id, p.year, pl.level, pl.funded, o.town, p.field,
       coalesce(h.initial, p.state), p.state, h.applied_on, h.admitted_on, h.approved_on,
       CASE WHEN cs.closed THEN p.state_since END, CASE WHEN cs.closed THEN p.state END,
       p.amount_requested, p.amount_approved
FROM stpm.projects p
JOIN stpm.plans pl ON pl.id = p.plan_id
JOIN stpm.orgs o ON o.id = p.org_id
LEFT JOIN stpm.workflow_states cs ON cs.workflow_id = p.workflow_id AND cs.name = p.state
LEFT JOIN LATERAL (
    SELECT (array_agg(e.to_state ORDER BY e.seq))[1] AS initial,
           min(e.on_date) FILTER (WHERE e.kind <> 'create' AND NOT coalesce(ws.final AND NOT ws.closed, false)) AS applied_on,
           min(e.on_date) FILTER (WHERE jsonb_typeof(e.data -> 'checks') = 'array'
                                    AND jsonb_array_length(e.data -> 'checks') > 0
                                    AND NOT coalesce(ws.final AND NOT ws.closed, false)) AS admitted_on,
           min(e.on_date) FILTER (WHERE ws.due_field IS NOT NULL OR ws.closed) AS approved_on
    FROM stpm.events e
    LEFT JOIN stpm.workflow_states ws ON ws.workflow_id = p.workflow_id AND ws.name = e.to_state
    WHERE e.project_id = p.id AND e.to_state IS NOT NULL
) h ON true;

GRANT SELECT ON stpm.project_states, stpm.project_facts
    TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

-- `audit trail` and `audit verify` read a chain in order; `audit unclosed` and reports read
-- the facts above. The checkpoint record is written by administrators (003); an auditor
-- makes the checkpoint file without a record (docs/audit.md).
