-- 099: a bulk's events are chained as one set (issue 8, "Figures": a bulk admit of 10,000).
--
-- The row trigger events_chain took each event's chain head with two statements (an upsert
-- that locks the head, an update that moves it) and hashed the event in a plpgsql call:
-- measured on a bulk admit of 10,000 projects, 1.3-1.5 s of its 10-12 s. In 097's set path
-- the chunk's projects are locked already; now the heads of their chains are locked there
-- too (FOR UPDATE SKIP LOCKED: a head that is not free sends the chunk down the old path,
-- as a project's lock does), and the chunk's events are chained, hashed and inserted by one
-- statement, their heads moved by the same statement. The trigger keeps an event that
-- comes with its hash, after checking what it can check cheaply; every other event is
-- chained by it as before. What is written is the same either way: tests/cli/bulk_sets.sh
-- compares the two paths' events and `audit verify` checks every chain.
--
-- Also, in the set path, whether a transition is independent of the other projects'
-- checks (097) is asked once for each state the chunk's projects leave, not once for each
-- project (0.35 s of the same bulk); and project_track_set's statement for many events
-- looks its rows up by key (nested loops over the indexes) instead of hashing whole tables:
-- its generic plan read all of projects, project_states and project_facts at every chunk,
-- a cost growing with the database, not with the chunk.

-- 080's trigger, with the case of an event chained beforehand.
CREATE OR REPLACE FUNCTION stpm.events_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    genesis constant char(64) := repeat('0', 64);
    last_on date;
    latest date := stpm.latest_business_date();
BEGIN
    -- An event chained already (by transition_take_set, under the head's row lock, with
    -- the hash of exactly what this trigger would make of it): kept as it is, once it is
    -- the session user's, of today's recipe and dated no later than the server's date.
    -- Only the schema's own functions insert events (no login role may), and only that
    -- one gives a hash; audit verify recomputes every hash and link in any case.
    IF NEW.hash IS NOT NULL THEN
        IF NEW.actor IS DISTINCT FROM session_user OR NEW.canon IS DISTINCT FROM 2
           OR NEW.seq IS NULL OR NEW.prev_hash IS NULL OR NEW.on_date IS NULL
           OR NEW.on_date > latest OR NEW.at IS NULL THEN
            RAISE EXCEPTION 'an event chained beforehand is not in the expected form'
                USING ERRCODE = 'internal_error';
        END IF;
        RETURN NEW;
    END IF;
    -- Who and when are the server's to say, never the client's; so is the recipe.
    NEW.actor := session_user;
    NEW.at := clock_timestamp();
    NEW.canon := 2;
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

-- 097's set path, with its chain heads locked, its events chained here and independence
-- asked once per state.
CREATE OR REPLACE FUNCTION stpm.transition_take_set(p_codes text[], p_transition text, p_on_date date,
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
    -- The heads of their chains too: the events below are chained here, not by the row
    -- trigger, and nobody else may add to these chains meanwhile.
    SELECT count(*) INTO got FROM (SELECT 1 FROM stpm.chain_heads h
                                    WHERE h.chain = ANY (ARRAY(SELECT 'project:' || i
                                                                 FROM unnest(ids) i))
                                    ORDER BY h.chain FOR UPDATE SKIP LOCKED) x;
    IF got < cardinality(ids) THEN
        RAISE EXCEPTION 'a chain of the chunk is locked' USING ERRCODE = 'SR090';
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
                             AND ind.ok
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
              -- (whether the transition is independent, once for each state it leaves)
              LEFT JOIN (SELECT s.workflow_id, s.state,
                                stpm.transition_independent(s.workflow_id, wr.rule, s.state) AS ok
                           FROM (SELECT DISTINCT q.workflow_id, q.state FROM stpm.projects q
                                  WHERE q.id = ANY (ids)) s
                           JOIN stpm.workflow_transition_rules wr
                             ON wr.workflow_id = s.workflow_id AND wr.name = p_transition
                         OFFSET 0) ind
                     ON ind.workflow_id = p.workflow_id AND ind.state = p.state
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
        WITH ev AS (
            SELECT s.idx, ROW(NULL, 'project:' || s.id, h.seq + 1, s.id, clock_timestamp(),
                       today, session_user, 'transition', p_transition, s.state, s."to",
                       CASE WHEN NOT stpm.is_blank(p_reason) THEN p_reason END,
                       jsonb_build_object('workflow', s.workflow, 'version', s.version,
                                          'set', s.d -> 'changes', 'checks', s.d -> 'checks',
                                          'documents', '[]'::jsonb, 'by_timer', false),
                       h.hash, NULL, 2)::stpm.events AS e
              FROM unnest(decs) s JOIN stpm.chain_heads h ON h.chain = 'project:' || s.id
             ORDER BY s.idx),
        e AS (
            INSERT INTO stpm.events (chain, seq, project_id, at, on_date, actor, kind,
                                     transition, from_state, to_state, reason, data,
                                     prev_hash, hash, canon)
            SELECT (ev.e).chain, (ev.e).seq, (ev.e).project_id, (ev.e).at, (ev.e).on_date,
                   (ev.e).actor, (ev.e).kind, (ev.e).transition, (ev.e).from_state,
                   (ev.e).to_state, (ev.e).reason, (ev.e).data, (ev.e).prev_hash,
                   encode(sha256(convert_to(stpm.event_canonical(ev.e), 'UTF8')), 'hex'), 2
              FROM ev ORDER BY ev.idx
            RETURNING chain, seq, on_date, project_id, hash),
        heads AS (
            UPDATE stpm.chain_heads h SET seq = e.seq, hash = e.hash,
                   on_date = greatest(coalesce(h.on_date, e.on_date), e.on_date)
              FROM e
             WHERE h.chain = e.chain)
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

ALTER FUNCTION stpm.events_chain() SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION stpm.transition_take_set(text[], text, date, jsonb, text)
    SET plan_cache_mode = force_generic_plan;
REVOKE ALL ON FUNCTION stpm.transition_take_set(text[], text, date, jsonb, text) FROM PUBLIC;

-- 098's trigger for many events, the period each event closes read with the event (by
-- key, as the statement began: an UPDATE does not change the due date or missed_due that
-- the next period carries on) instead of joined back from the UPDATE's RETURNING, so that
-- every step is a lookup by key; the settings below keep the planner to those lookups.
CREATE OR REPLACE FUNCTION stpm.project_track_set() RETURNS trigger
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
               coalesce(ws.final OR ws.closed, false) AS v_final, ws.due_field,
               pv.seq AS prev_seq, pv.due AS prev_due, pv.missed_due AS prev_missed
          FROM new_events ev
          JOIN stpm.projects p ON p.id = ev.project_id
          LEFT JOIN stpm.workflow_states ws
                 ON ws.workflow_id = p.workflow_id AND ws.name = ev.to_state
          -- (the period the event closes, as the statement began: closed below)
          LEFT JOIN LATERAL (SELECT x.seq, x.due, x.missed_due FROM stpm.project_states x
                              WHERE x.project_id = ev.project_id
                              ORDER BY x.seq DESC LIMIT 1) pv ON true
         WHERE ev.project_id IS NOT NULL AND ev.to_state IS NOT NULL),
    closed AS (
        UPDATE stpm.project_states s SET to_date = n.on_date
          FROM n
         WHERE s.project_id = n.project_id AND s.seq = n.prev_seq
        RETURNING 1),
    periods AS (
        INSERT INTO stpm.project_states (project_id, seq, state, from_date, to_date, due,
                closed, final, counts_as, active, missed_due, amount_requested, amount_approved)
        SELECT n.project_id, n.seq, n.to_state, n.on_date, NULL,
               CASE WHEN NOT n.v_final AND n.due_field IS NOT NULL
                    THEN stpm.project_due(n.prow, n.due_field) END,
               n.v_closed, n.v_final, n.counts_as, n.active,
               stpm.period_missed_due(n.prev_due, n.prev_missed, n.v_final, n.on_date, n.data),
               n.amount_requested, n.amount_approved
          FROM n
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
ALTER FUNCTION stpm.project_track_set() SET enable_seqscan = off;
ALTER FUNCTION stpm.project_track_set() SET enable_hashjoin = off;
ALTER FUNCTION stpm.project_track_set() SET enable_mergejoin = off;
-- (which the report's compaction, called from inside when its deltas pile up, must not
-- inherit: it reads all of them)
ALTER FUNCTION stpm.report_compact() SET enable_seqscan = on;
ALTER FUNCTION stpm.report_compact() SET enable_hashjoin = on;
ALTER FUNCTION stpm.report_compact() SET enable_mergejoin = on;

SELECT stpm.door_close();
