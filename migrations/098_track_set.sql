-- 098: the periods and facts of the projects follow their events once per statement, not
-- once per event (issue 8, "Figures": a bulk's INSERT of 500 events ran 085's
-- project_track 500 times, five statements each: 0.15 ms of a bulk admit's 1 ms per
-- project).
--
-- stpm.project_track_set is an AFTER INSERT statement trigger over the inserted events
-- (a transition table). It writes what 085's row trigger wrote, in one statement:
--   * the last period of each project closed on the event's date, its due and missed due
--     read back (RETURNING) for the new period's missed_due;
--   * the new period;
--   * the facts row updated in place, or inserted at a project's first event.
-- A statement that inserts two events of one project (none of stpm's own does; a migration
-- might) is taken event by event in order with 085's very logic (stpm.project_track_one), so
-- that the second event sees the period the first opened; so is a statement of one event.
-- The row trigger fired after all the statement's events were inserted too, so what each
-- project's event sees (its project row, the workflow's state) is the same either way.

-- 085's project_track for one event, as a function of the event (the row trigger's body).
-- No SET clause: it runs inside project_track_set, whose search_path it shares.
CREATE FUNCTION stpm.project_track_one(e stpm.events) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    p stpm.projects;
    ws stpm.workflow_states;
    prev_due date;
    prev_missed date;
    v_due date;
    v_final boolean;
    v_closed boolean;
BEGIN
    SELECT * INTO p FROM stpm.projects WHERE id = e.project_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT * INTO ws FROM stpm.workflow_states
        WHERE workflow_id = p.workflow_id AND name = e.to_state;
    v_closed := coalesce(ws.closed, false);
    v_final := coalesce(ws.final OR ws.closed, false);
    IF NOT v_final AND ws.due_field IS NOT NULL THEN
        v_due := stpm.project_due(p, ws.due_field);
    END IF;
    UPDATE stpm.project_states s SET to_date = e.on_date
        WHERE s.project_id = e.project_id
          AND s.seq = (SELECT max(x.seq) FROM stpm.project_states x
                        WHERE x.project_id = e.project_id)
        RETURNING s.due, s.missed_due INTO prev_due, prev_missed;
    INSERT INTO stpm.project_states (project_id, seq, state, from_date, to_date, due, closed,
            final, counts_as, active, missed_due, amount_requested, amount_approved)
        VALUES (e.project_id, e.seq, e.to_state, e.on_date, NULL, v_due, v_closed,
                v_final, ws.counts_as, coalesce(ws.active, false),
                stpm.period_missed_due(prev_due, prev_missed, v_final, e.on_date, e.data),
                p.amount_requested, p.amount_approved);
    UPDATE stpm.project_facts f SET
        state = e.to_state,
        field = p.field,
        amount_requested = p.amount_requested,
        amount_approved = p.amount_approved,
        applied_on = coalesce(f.applied_on, CASE WHEN stpm.milestone_reached(ws.counts_as,
                                                     'applied') THEN e.on_date END),
        admitted_on = coalesce(f.admitted_on, CASE WHEN stpm.milestone_reached(ws.counts_as,
                                                       'admitted') THEN e.on_date END),
        approved_on = coalesce(f.approved_on, CASE WHEN stpm.milestone_reached(ws.counts_as,
                                                       'approved') THEN e.on_date END),
        started_on = coalesce(f.started_on, CASE WHEN stpm.milestone_reached(ws.counts_as,
                                                     'in_progress') THEN e.on_date END),
        final_on = CASE WHEN v_final THEN e.on_date END,
        final_as = CASE WHEN v_final THEN ws.counts_as END,
        closed_on = CASE WHEN v_closed THEN e.on_date END,
        closed_state = CASE WHEN v_closed THEN e.to_state END
     WHERE f.project_id = p.id;
    IF FOUND THEN
        RETURN;
    END IF;
    INSERT INTO stpm.project_facts AS f (project_id, org_id, plan_id, year, level, funded_plan,
            town, field, initial, state, created_on, applied_on, admitted_on, approved_on,
            started_on, final_on, final_as, closed_on, closed_state, amount_requested,
            amount_approved)
        SELECT p.id, p.org_id, p.plan_id, p.year, pl.level, pl.funded, o.town, p.field,
               e.to_state, e.to_state, e.on_date,
               CASE WHEN stpm.milestone_reached(ws.counts_as, 'applied') THEN e.on_date END,
               CASE WHEN stpm.milestone_reached(ws.counts_as, 'admitted') THEN e.on_date END,
               CASE WHEN stpm.milestone_reached(ws.counts_as, 'approved') THEN e.on_date END,
               CASE WHEN stpm.milestone_reached(ws.counts_as, 'in_progress') THEN e.on_date END,
               CASE WHEN v_final THEN e.on_date END, CASE WHEN v_final THEN ws.counts_as END,
               CASE WHEN v_closed THEN e.on_date END, CASE WHEN v_closed THEN e.to_state END,
               p.amount_requested, p.amount_approved
        FROM stpm.plans pl, stpm.orgs o WHERE pl.id = p.plan_id AND o.id = p.org_id;
END $$;
ALTER FUNCTION stpm.project_track_one(stpm.events) SET plan_cache_mode = force_generic_plan;

CREATE FUNCTION stpm.project_track_set() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    e stpm.events;
    total bigint;
    projects bigint;
BEGIN
    SELECT count(*), count(DISTINCT n.project_id) INTO total, projects
      FROM new_events n WHERE n.project_id IS NOT NULL AND n.to_state IS NOT NULL;
    -- Most statements insert one event (one at a time) or none with a state (an attachment):
    -- the row logic's cached plans are the cheaper there (measured: 0.15 against 0.4 ms).
    IF total = 0 THEN
        RETURN NULL;
    END IF;
    IF total = 1 OR projects < total THEN
        FOR e IN SELECT * FROM new_events n
                  WHERE n.project_id IS NOT NULL AND n.to_state IS NOT NULL
                  ORDER BY n.project_id, n.seq LOOP
            PERFORM stpm.project_track_one(e);
        END LOOP;
        RETURN NULL;
    END IF;
    WITH n AS (
        SELECT ev.project_id, ev.seq, ev.to_state, ev.on_date, ev.data, p AS prow,
               p.org_id, p.plan_id, p.year, p.field, p.amount_requested, p.amount_approved,
               ws.counts_as, coalesce(ws.active, false) AS active,
               coalesce(ws.closed, false) AS v_closed,
               coalesce(ws.final OR ws.closed, false) AS v_final, ws.due_field
          FROM new_events ev
          JOIN stpm.projects p ON p.id = ev.project_id
          LEFT JOIN stpm.workflow_states ws
                 ON ws.workflow_id = p.workflow_id AND ws.name = ev.to_state
         WHERE ev.project_id IS NOT NULL AND ev.to_state IS NOT NULL),
    closed AS (
        UPDATE stpm.project_states s SET to_date = n.on_date
          FROM n
         WHERE s.project_id = n.project_id
           AND s.seq = (SELECT max(x.seq) FROM stpm.project_states x
                         WHERE x.project_id = n.project_id)
        RETURNING s.project_id, s.due, s.missed_due),
    periods AS (
        INSERT INTO stpm.project_states (project_id, seq, state, from_date, to_date, due,
                closed, final, counts_as, active, missed_due, amount_requested, amount_approved)
        SELECT n.project_id, n.seq, n.to_state, n.on_date, NULL,
               CASE WHEN NOT n.v_final AND n.due_field IS NOT NULL
                    THEN stpm.project_due(n.prow, n.due_field) END,
               n.v_closed, n.v_final, n.counts_as, n.active,
               stpm.period_missed_due(c.due, c.missed_due, n.v_final, n.on_date, n.data),
               n.amount_requested, n.amount_approved
          FROM n LEFT JOIN closed c ON c.project_id = n.project_id
        RETURNING 1),
    facts AS (
        UPDATE stpm.project_facts f SET
            state = n.to_state,
            field = n.field,
            amount_requested = n.amount_requested,
            amount_approved = n.amount_approved,
            applied_on = coalesce(f.applied_on, CASE WHEN stpm.milestone_reached(n.counts_as,
                                                         'applied') THEN n.on_date END),
            admitted_on = coalesce(f.admitted_on, CASE WHEN stpm.milestone_reached(n.counts_as,
                                                           'admitted') THEN n.on_date END),
            approved_on = coalesce(f.approved_on, CASE WHEN stpm.milestone_reached(n.counts_as,
                                                           'approved') THEN n.on_date END),
            started_on = coalesce(f.started_on, CASE WHEN stpm.milestone_reached(n.counts_as,
                                                         'in_progress') THEN n.on_date END),
            final_on = CASE WHEN n.v_final THEN n.on_date END,
            final_as = CASE WHEN n.v_final THEN n.counts_as END,
            closed_on = CASE WHEN n.v_closed THEN n.on_date END,
            closed_state = CASE WHEN n.v_closed THEN n.to_state END
          FROM n
         WHERE f.project_id = n.project_id
        RETURNING 1)
    -- (the statement itself: the CTEs above run to completion whether read or not)
    INSERT INTO stpm.project_facts (project_id, org_id, plan_id, year, level, funded_plan,
                town, field, initial, state, created_on, applied_on, admitted_on, approved_on,
                started_on, final_on, final_as, closed_on, closed_state, amount_requested,
                amount_approved)
        SELECT n.project_id, n.org_id, n.plan_id, n.year, pl.level, pl.funded, o.town, n.field,
               n.to_state, n.to_state, n.on_date,
               CASE WHEN stpm.milestone_reached(n.counts_as, 'applied') THEN n.on_date END,
               CASE WHEN stpm.milestone_reached(n.counts_as, 'admitted') THEN n.on_date END,
               CASE WHEN stpm.milestone_reached(n.counts_as, 'approved') THEN n.on_date END,
               CASE WHEN stpm.milestone_reached(n.counts_as, 'in_progress') THEN n.on_date END,
               CASE WHEN n.v_final THEN n.on_date END, CASE WHEN n.v_final THEN n.counts_as END,
               CASE WHEN n.v_closed THEN n.on_date END,
               CASE WHEN n.v_closed THEN n.to_state END,
               n.amount_requested, n.amount_approved
          FROM n
          JOIN stpm.plans pl ON pl.id = n.plan_id
          JOIN stpm.orgs o ON o.id = n.org_id
         WHERE NOT EXISTS (SELECT 1 FROM stpm.project_facts f WHERE f.project_id = n.project_id);
    RETURN NULL;
END $$;
ALTER FUNCTION stpm.project_track_set() SET plan_cache_mode = force_generic_plan;

-- The helpers of the expressions' durations are called inside stpm.expr_eval (and the
-- functions that call it), whose search_path they share; their own SET clause was applied
-- and undone at every call (measured: a third of the time of `today + 20wd`). Their bodies
-- name the schema of everything they call.
ALTER FUNCTION stpm.duration_add(date, text, bigint) RESET search_path;
ALTER FUNCTION stpm.workdays_add(date, integer) RESET search_path;

-- Every transition updates its project's facts row in place, and none of the columns it
-- changes is indexed: with room left in each page the update stays on its page (HOT) and
-- adds no index entries (measured: 0.13 -> 0.07 ms an update). New pages keep 30 % free.
ALTER TABLE stpm.project_facts SET (fillfactor = 70);

DROP TRIGGER events_project_track ON stpm.events;
CREATE TRIGGER events_project_track AFTER INSERT ON stpm.events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION stpm.project_track_set();
-- 085's row trigger function: its body is project_track_one's now.
DROP FUNCTION stpm.project_track();

SELECT stpm.door_close();
