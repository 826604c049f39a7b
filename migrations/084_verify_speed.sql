-- 084: `audit verify` fast again (docs/audit.md, "Figures"), checking what it checked.
--
-- 081's stpm.derived_problems() replayed every project with the plpgsql
-- stpm.project_states_replay, one project at a time. Here the same rules are applied to
-- every project at once, set-based: one pass over the events in (project, seq) order with
-- window functions, merge-joined with project_states and project_facts in the same order.
-- stpm.project_states_replay stays the reference (tests/cli/verify_speed.sh compares the
-- two on a varied history); the rules remain those of 081's trigger stpm.project_track.
--
-- The only recursive rule is missed_due (stpm.period_missed_due): a deadline missed is
-- carried from period to period until a reset (a final state, or due_date set to a day not
-- before the event). Set-based: number the periods after each reset (a running count of
-- resets); a period's missed_due is the first deadline missed in its group up to it.

-- `vals := vals || set` of the replay, as a running aggregate: jsonb's own concatenation.
CREATE OR REPLACE AGGREGATE stpm.jsonb_merge(jsonb) (
    SFUNC = pg_catalog.jsonb_concat,
    STYPE = jsonb,
    INITCOND = '{}',
    PARALLEL = SAFE
);

-- The periods of every project, replayed from the events alone: what
-- stpm.project_states_replay(p) returns for each project p, for all of them at once, in
-- (project_id, seq) order.
CREATE OR REPLACE FUNCTION stpm.project_states_rebuilt() RETURNS SETOF stpm.project_states
LANGUAGE sql STABLE AS $$
    SELECT m.project_id, m.seq, m.state, m.from_date, m.to_date, m.due, m.closed, m.final,
           m.counts_as, m.active,
           CASE WHEN NOT m.reset AND m.missed[1] = m.grp
                THEN CASE WHEN m.missed[3] = -2147483648 THEN '-infinity'::date
                          ELSE DATE '2000-01-01' + m.missed[3]::integer END END,
           m.amount_requested, m.amount_approved
    FROM (
        SELECT g.*,
               -- [group, -seq, day] of the first deadline missed in the group so far
               max(CASE WHEN NOT g.reset AND g.miss IS NOT NULL
                        THEN ARRAY[g.grp, -g.seq,
                                   CASE WHEN pg_catalog.isfinite(g.miss)
                                        THEN (g.miss - DATE '2000-01-01')::bigint
                                        ELSE -2147483648 END] END)
                   OVER (PARTITION BY g.project_id ORDER BY g.seq) AS missed
        FROM (
            SELECT d.*,
                   pg_catalog.lead(d.from_date) OVER w AS to_date,
                   -- a period entered after the due day of the one before it
                   CASE WHEN pg_catalog.lag(d.due) OVER w IS NOT NULL
                             AND d.from_date > pg_catalog.lag(d.due) OVER w
                        THEN pg_catalog.lag(d.due) OVER w END AS miss,
                   count(*) FILTER (WHERE d.reset) OVER w AS grp
            FROM (
                SELECT s.project_id, s.seq, s.to_state AS state, s.on_date AS from_date,
                       CASE WHEN NOT s.v_final AND s.due_field IS NOT NULL
                                 AND pg_catalog.jsonb_typeof(s.vals -> s.due_field) = 'string'
                            THEN (s.vals ->> s.due_field)::date END AS due,
                       coalesce(s.closed, false) AS closed, s.v_final AS final, s.counts_as,
                       coalesce(s.active, false) AS active,
                       (s.vals ->> 'amount_requested')::numeric(18,4) AS amount_requested,
                       (s.vals ->> 'amount_approved')::numeric(18,4) AS amount_approved,
                       -- stpm.period_missed_due's resets, in its order
                       CASE WHEN s.v_final THEN true
                            WHEN s.data -> 'set' ? 'due_date'
                                 AND pg_catalog.jsonb_typeof(s.data -> 'set' -> 'due_date') = 'string'
                                 AND (s.data -> 'set' ->> 'due_date')::date >= s.on_date THEN true
                            ELSE false END AS reset
                FROM (
                    SELECT ev.project_id, ev.seq, ev.to_state, ev.on_date, ev.data, ev.vals,
                           ws.closed, ws.due_field, ws.counts_as, ws.active,
                           coalesce(ws.final OR ws.closed, false) AS v_final
                    FROM (
                        -- every event of each project's chain that sets a value, names a
                        -- workflow version or enters a state; vals and the version named
                        -- last, as the replay has them at each event
                        SELECT p.id AS project_id, p.workflow_id AS p_wid, e.seq, e.to_state,
                               e.on_date, e.data,
                               stpm.jsonb_merge(CASE WHEN pg_catalog.jsonb_typeof(e.data -> 'set') = 'object'
                                                     THEN e.data -> 'set' END) OVER w AS vals,
                               stpm.jsonb_merge(CASE WHEN e.data ? 'workflow' AND e.data ? 'version'
                                   THEN pg_catalog.jsonb_build_object('w', e.data -> 'workflow',
                                            'v', (e.data ->> 'version')::integer) END) OVER w AS wv
                        FROM stpm.projects p
                        JOIN stpm.events e ON e.chain = 'project:' || p.id
                        WHERE e.to_state IS NOT NULL OR e.data ? 'set'
                           OR (e.data ? 'workflow' AND e.data ? 'version')
                        WINDOW w AS (PARTITION BY p.id ORDER BY e.seq)
                    ) ev
                    LEFT JOIN stpm.workflows wf ON ev.wv ? 'w' AND wf.name = ev.wv ->> 'w'
                          AND wf.version = (ev.wv ->> 'v')::integer
                    LEFT JOIN stpm.workflow_states ws
                           ON ws.workflow_id = CASE WHEN ev.wv ? 'w' THEN wf.id ELSE ev.p_wid END
                          AND ws.name = ev.to_state
                    WHERE ev.to_state IS NOT NULL
                ) s
            ) d
            WINDOW w AS (PARTITION BY d.project_id ORDER BY d.seq)
        ) g
    ) m
    ORDER BY m.project_id, m.seq
$$;

-- The facts row of each project as stpm.project_facts_of makes it from its periods, from
-- the stored periods of every project at once (project_id order).
CREATE OR REPLACE FUNCTION stpm.project_facts_from_states() RETURNS SETOF stpm.project_facts
LANGUAGE sql STABLE AS $$
    SELECT p.id, p.org_id, p.plan_id, p.year, pl.level, pl.funded, o.town, p.field,
           h.initial, h.state, h.created_on, h.applied_on, h.admitted_on, h.approved_on,
           h.started_on, CASE WHEN h.final THEN h.from_date END,
           CASE WHEN h.final THEN h.counts_as END, CASE WHEN h.closed THEN h.from_date END,
           CASE WHEN h.closed THEN h.state END, h.amount_requested, h.amount_approved
    FROM (
        SELECT s.project_id, s.state, s.from_date, s.final, s.closed, s.counts_as,
               s.amount_requested, s.amount_approved,
               pg_catalog.lead(s.seq) OVER w IS NULL AS last,
               pg_catalog.first_value(s.state) OVER w AS initial,
               min(s.from_date) OVER w AS created_on,
               min(s.from_date) FILTER (WHERE stpm.milestone_reached(s.counts_as, 'applied'))
                   OVER w AS applied_on,
               min(s.from_date) FILTER (WHERE stpm.milestone_reached(s.counts_as, 'admitted'))
                   OVER w AS admitted_on,
               min(s.from_date) FILTER (WHERE stpm.milestone_reached(s.counts_as, 'approved'))
                   OVER w AS approved_on,
               min(s.from_date) FILTER (WHERE stpm.milestone_reached(s.counts_as, 'in_progress'))
                   OVER w AS started_on
        FROM stpm.project_states s
        WINDOW w AS (PARTITION BY s.project_id ORDER BY s.seq)
    ) h
    JOIN stpm.projects p ON p.id = h.project_id
    JOIN stpm.plans pl ON pl.id = p.plan_id
    JOIN stpm.orgs o ON o.id = p.org_id
    WHERE h.last
$$;

-- `audit verify`'s check of the derived tables, as 081's, with the same answers: the
-- periods rebuilt from the events (stpm.project_states_rebuilt) against project_states in
-- one merge of the two in (project, seq) order; the facts and the counts are those of the
-- rebuilt periods — for a project whose stored periods all agree with the rebuilt ones
-- (every project but the ones named above), the facts of its stored periods, and for the
-- others, of the periods stpm.project_states_replay gives.
CREATE OR REPLACE FUNCTION stpm.derived_problems()
RETURNS TABLE (project_code text, what text)
LANGUAGE sql STABLE SET search_path = pg_catalog, stpm, pg_temp SET work_mem = '64MB' AS $$
    WITH state_diff AS MATERIALIZED (
        SELECT coalesce(w.project_id, h.project_id) AS project_id,
               'project_states seq ' || coalesce(w.seq, h.seq) || ': ' ||
               CASE WHEN h.project_id IS NULL THEN 'its row is missing'
                    WHEN w.project_id IS NULL THEN 'the row has no event that entered a state'
                    ELSE stpm.derived_diff(to_jsonb(h), to_jsonb(w)) END AS what
          FROM stpm.project_states_rebuilt() w
          FULL JOIN stpm.project_states h ON h.project_id = w.project_id AND h.seq = w.seq
         WHERE h.project_id IS NULL OR w.project_id IS NULL
            OR ROW(h.*)::stpm.project_states IS DISTINCT FROM ROW(w.*)::stpm.project_states
    ),
    bad AS MATERIALIZED (SELECT DISTINCT project_id FROM state_diff),
    want_facts AS (
        SELECT f.* FROM stpm.project_facts_from_states() f
         WHERE NOT EXISTS (SELECT 1 FROM bad b WHERE b.project_id = f.project_id)
        UNION ALL
        SELECT (stpm.project_facts_of(r.project_id, array_agg(r ORDER BY r.seq))).*
          FROM bad b CROSS JOIN LATERAL stpm.project_states_replay(b.project_id) r
         GROUP BY r.project_id
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

-- ---------------------------------------------------------------------------------------
-- stpm.project_problems() (080) replayed every chain into one jsonb of [seq, value] per key
-- and compared all projects with it. The same answers, faster: the values alone are
-- replayed for every project at once (the same keys, the last event that set each one
-- wins) and compared with the row; only the projects where something may differ — a
-- superset of those 080 reports — go through 080's comparison (stpm.project_problems_of,
-- the same text, restricted to them), which names the event of each difference.

-- 080's stpm.project_replay for the given projects only.
CREATE OR REPLACE FUNCTION stpm.project_replay_of(p_ids uuid[])
RETURNS TABLE (project_id uuid, last jsonb)
LANGUAGE sql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
    SELECT e.project_id, jsonb_object_agg(k.key, jsonb_build_array(e.seq, k.value))
      FROM (SELECT x.project_id, x.seq, x.kind, x.to_state, x.on_date, x.data
              FROM stpm.events x
             WHERE x.project_id = ANY (p_ids) AND x.kind IN ('create', 'transition', 'migrate')
             ORDER BY x.project_id, x.seq) e
      CROSS JOIN LATERAL jsonb_each(
          CASE WHEN e.kind = 'migrate' THEN '{}'::jsonb
               ELSE coalesce(CASE WHEN jsonb_typeof(e.data -> 'set') = 'object'
                                  THEN e.data -> 'set' END, '{}') END
          || jsonb_strip_nulls(jsonb_build_object(
                 ' state', CASE WHEN e.kind <> 'migrate' THEN e.to_state END,
                 ' since', CASE WHEN e.kind <> 'migrate' THEN e.on_date END,
                 ' workflow', e.data -> 'workflow',
                 ' version', CASE WHEN e.kind = 'migrate' THEN e.data -> 'to_version'
                                  ELSE e.data -> 'version' END))
          || CASE WHEN e.kind = 'create' THEN jsonb_build_object(
                 ' created', true, ' title', e.data -> 'title', ' org', e.data -> 'org',
                 ' leader', e.data -> 'leader', ' plan', e.data -> 'plan',
                 ' year', e.data -> 'year', ' field', e.data -> 'field')
             ELSE '{}'::jsonb END) k
     GROUP BY e.project_id
$$;


-- 080's stpm.project_problems for the given projects only (and the chains of those ids).
CREATE OR REPLACE FUNCTION stpm.project_problems_of(p_ids uuid[])
RETURNS TABLE (project_code text, seq bigint, what text)
LANGUAGE sql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
    WITH r AS (SELECT * FROM stpm.project_replay_of(p_ids)),
    pr AS (
        SELECT p.*, r.last, w.name AS wf_name, w.version AS wf_version, o.uscc, l.name AS leader,
               pl.code AS plan_code
          FROM stpm.projects p
          LEFT JOIN r ON r.project_id = p.id
          LEFT JOIN stpm.workflows w ON w.id = p.workflow_id
          LEFT JOIN stpm.orgs o ON o.id = p.org_id
          LEFT JOIN stpm.leaders l ON l.id = p.leader_id
          LEFT JOIN stpm.plans pl ON pl.id = p.plan_id
         WHERE p.id = ANY (p_ids)
    ),
    cols AS (
        SELECT x.code, x.last, c.col, c.have, c.want, c.wseq
          FROM pr x
          CROSS JOIN LATERAL (VALUES
            ('state', x.state, x.last -> ' state' ->> 1, x.last -> ' state' -> 0),
            ('state_since', to_char(x.state_since, 'YYYY-MM-DD'), x.last -> ' since' ->> 1,
             x.last -> ' since' -> 0),
            ('workflow version', x.wf_name || '@' || x.wf_version,
             (x.last -> ' workflow' ->> 1) || '@' || (x.last -> ' version' ->> 1),
             greatest(x.last -> ' workflow' -> 0, x.last -> ' version' -> 0)),
            ('title', x.title, x.last -> ' title' ->> 1, x.last -> ' created' -> 0),
            ('org', x.uscc::text, x.last -> ' org' ->> 1, x.last -> ' created' -> 0),
            ('leader', x.leader, x.last -> ' leader' ->> 1, x.last -> ' created' -> 0),
            ('plan', x.plan_code, x.last -> ' plan' ->> 1, x.last -> ' created' -> 0),
            ('year', x.year::text, x.last -> ' year' ->> 1, x.last -> ' created' -> 0),
            ('field', x.field, stpm.json_text(x.last -> ' field' -> 1), x.last -> ' created' -> 0),
            ('amount_requested', x.amount_requested::text,
             stpm.json_text(x.last -> 'amount_requested' -> 1), x.last -> 'amount_requested' -> 0),
            ('amount_approved', x.amount_approved::text,
             stpm.json_text(x.last -> 'amount_approved' -> 1), x.last -> 'amount_approved' -> 0),
            ('start_date', to_char(x.start_date, 'YYYY-MM-DD'),
             stpm.json_text(x.last -> 'start_date' -> 1), x.last -> 'start_date' -> 0),
            ('due_date', to_char(x.due_date, 'YYYY-MM-DD'),
             stpm.json_text(x.last -> 'due_date' -> 1), x.last -> 'due_date' -> 0),
            ('closed_date', to_char(x.closed_date, 'YYYY-MM-DD'),
             stpm.json_text(x.last -> 'closed_date' -> 1), x.last -> 'closed_date' -> 0),
            ('extensions', x.extensions::text,
             coalesce(stpm.json_text(x.last -> 'extensions' -> 1), '0'),
             x.last -> 'extensions' -> 0)) c(col, have, want, wseq)
         WHERE x.last IS NOT NULL
    ),
    fields AS (
        SELECT x.code, x.last, f.key, x.fields -> f.key AS have, x.want -> f.key AS want
          FROM (SELECT y.code, y.last, y.fields,
                       jsonb_strip_nulls(coalesce((
                           SELECT jsonb_object_agg(k.key, k.value -> 1)
                             FROM jsonb_each(y.last) k
                            WHERE k.key NOT LIKE ' %'
                              AND k.key NOT IN ('amount_requested', 'amount_approved',
                                                'start_date', 'due_date', 'closed_date',
                                                'extensions')), '{}')) AS want
                  FROM pr y WHERE y.last IS NOT NULL) x
          CROSS JOIN LATERAL (SELECT jsonb_object_keys(x.fields)
                              UNION SELECT jsonb_object_keys(x.want)) f(key)
         WHERE x.fields IS DISTINCT FROM x.want
    )
    SELECT c.code, coalesce((c.wseq)::bigint, (SELECT max((v.value ->> 0)::bigint)
                                                  FROM jsonb_each(c.last) v)),
           CASE
             WHEN c.col IN ('amount_requested', 'amount_approved')
                  AND c.want ~ '^-?[0-9]+(\.[0-9]+)?$' AND c.have IS NOT NULL
                  AND c.have::numeric = c.want::numeric THEN NULL
             WHEN c.have IS NOT DISTINCT FROM c.want THEN NULL
             WHEN c.wseq IS NULL THEN format('%s is %s in the projects table, but no event of its '
                                             'chain set it', c.col, coalesce(c.have, 'empty'))
             ELSE format('%s is %s in the projects table, but the event that set it last says %s',
                         c.col, coalesce(c.have, 'empty'), coalesce(c.want, 'empty'))
           END
      FROM cols c
     WHERE c.have IS DISTINCT FROM c.want
       AND NOT (c.col IN ('amount_requested', 'amount_approved')
                AND c.want ~ '^-?[0-9]+(\.[0-9]+)?$' AND c.have IS NOT NULL
                AND c.have::numeric = c.want::numeric)
    UNION ALL
    SELECT f.code, coalesce((f.last -> f.key ->> 0)::bigint,
                            (SELECT max((v.value ->> 0)::bigint) FROM jsonb_each(f.last) v)),
           CASE WHEN f.last ? f.key
                THEN format('field %s is %s in the projects table, but the event that set it '
                            'last says %s', f.key, coalesce(f.have::text, 'not set'),
                            coalesce(f.want::text, 'not set'))
                ELSE format('field %s is %s in the projects table, but no event of its chain '
                            'set it', f.key, coalesce(f.have::text, 'not set')) END
      FROM fields f
     WHERE f.have IS DISTINCT FROM f.want
    UNION ALL
    SELECT x.code, NULL::bigint, 'the project has no create event in its chain'
      FROM pr x WHERE x.last IS NULL OR NOT x.last ? ' created'
    UNION ALL
    SELECT 'project:' || r.project_id, NULL::bigint,
           format('the history holds project %s (%s) but the projects table has no row of it',
                  r.project_id, coalesce(r.last -> ' title' ->> 1, 'no title'))
      FROM r WHERE NOT EXISTS (SELECT 1 FROM stpm.projects p WHERE p.id = r.project_id)
$$;

-- 080's test of an amount: the row's text differs from the event's and they are not the
-- same number.
CREATE OR REPLACE FUNCTION stpm.amount_differs(have text, want text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT have IS DISTINCT FROM want
           AND NOT (want ~ '^-?[0-9]+(\.[0-9]+)?$' AND have IS NOT NULL
                    AND have::numeric = want::numeric)
$$;

CREATE OR REPLACE FUNCTION stpm.project_problems()
RETURNS TABLE (project_code text, seq bigint, what text)
LANGUAGE sql STABLE SET search_path = pg_catalog, stpm, pg_temp SET work_mem = '64MB' AS $$
    WITH r AS (
        -- 080's replay without the seqs: per key the value of the last event that set it
        SELECT e.project_id, stpm.jsonb_merge(
                   CASE WHEN e.kind = 'migrate' THEN '{}'::jsonb
                        ELSE coalesce(CASE WHEN jsonb_typeof(e.data -> 'set') = 'object'
                                           THEN e.data -> 'set' END, '{}') END
                   || jsonb_strip_nulls(jsonb_build_object(
                          ' state', CASE WHEN e.kind <> 'migrate' THEN e.to_state END,
                          ' since', CASE WHEN e.kind <> 'migrate' THEN e.on_date END,
                          ' workflow', e.data -> 'workflow',
                          ' version', CASE WHEN e.kind = 'migrate' THEN e.data -> 'to_version'
                                           ELSE e.data -> 'version' END))
                   || CASE WHEN e.kind = 'create' THEN jsonb_build_object(
                          ' created', true, ' title', e.data -> 'title', ' org', e.data -> 'org',
                          ' leader', e.data -> 'leader', ' plan', e.data -> 'plan',
                          ' year', e.data -> 'year', ' field', e.data -> 'field')
                      ELSE '{}'::jsonb END
                   ORDER BY e.seq) AS v
          FROM stpm.events e
         WHERE e.project_id IS NOT NULL AND e.kind IN ('create', 'transition', 'migrate')
         GROUP BY e.project_id
    ),
    maybe AS (
        SELECT coalesce(p.id, r.project_id) AS id
          FROM stpm.projects p
          FULL JOIN r ON r.project_id = p.id
          LEFT JOIN stpm.workflows w ON w.id = p.workflow_id
          LEFT JOIN stpm.orgs o ON o.id = p.org_id
          LEFT JOIN stpm.leaders l ON l.id = p.leader_id
          LEFT JOIN stpm.plans pl ON pl.id = p.plan_id
          CROSS JOIN LATERAL (SELECT jsonb_strip_nulls(r.v - ARRAY[' state', ' since',
                       ' workflow', ' version', ' created', ' title', ' org', ' leader', ' plan',
                       ' year', ' field', 'amount_requested', 'amount_approved', 'start_date',
                       'due_date', 'closed_date', 'extensions']) AS fields) f
         WHERE p.id IS NULL OR r.project_id IS NULL OR NOT r.v ? ' created'
            OR p.state IS DISTINCT FROM r.v ->> ' state'
            OR to_char(p.state_since, 'YYYY-MM-DD') IS DISTINCT FROM r.v ->> ' since'
            OR w.name || '@' || w.version
               IS DISTINCT FROM (r.v ->> ' workflow') || '@' || (r.v ->> ' version')
            OR p.title IS DISTINCT FROM r.v ->> ' title'
            OR o.uscc::text IS DISTINCT FROM r.v ->> ' org'
            OR l.name IS DISTINCT FROM r.v ->> ' leader'
            OR pl.code IS DISTINCT FROM r.v ->> ' plan'
            OR p.year::text IS DISTINCT FROM r.v ->> ' year'
            OR p.field IS DISTINCT FROM stpm.json_text(r.v -> ' field')
            OR stpm.amount_differs(p.amount_requested::text, stpm.json_text(r.v -> 'amount_requested'))
            OR stpm.amount_differs(p.amount_approved::text, stpm.json_text(r.v -> 'amount_approved'))
            OR to_char(p.start_date, 'YYYY-MM-DD') IS DISTINCT FROM stpm.json_text(r.v -> 'start_date')
            OR to_char(p.due_date, 'YYYY-MM-DD') IS DISTINCT FROM stpm.json_text(r.v -> 'due_date')
            OR to_char(p.closed_date, 'YYYY-MM-DD') IS DISTINCT FROM stpm.json_text(r.v -> 'closed_date')
            OR p.extensions::text IS DISTINCT FROM coalesce(stpm.json_text(r.v -> 'extensions'), '0')
            -- the fields: 080 leaves out every key beginning with a space; a key that does
            -- (in either) makes the project a candidate
            OR p.fields IS DISTINCT FROM f.fields
            OR strpos(p.fields::text, '" ') > 0 OR strpos(f.fields::text, '" ') > 0
    )
    SELECT x.* FROM stpm.project_problems_of(ARRAY(SELECT id FROM maybe)) x
$$;

-- ---------------------------------------------------------------------------------------
-- 080's stpm.document_problems, the same answers: the first attach event of each
-- document's project, kind and digest found for all documents at once (one pass over the
-- attach events) instead of one index look-up per document.
CREATE OR REPLACE FUNCTION stpm.document_problems()
RETURNS TABLE (project_code text, seq bigint, what text)
LANGUAGE sql STABLE SET search_path = pg_catalog, stpm, pg_temp SET work_mem = '64MB' AS $$
    WITH a AS (
        -- the first attach event of each project, kind and digest
        SELECT DISTINCT ON (e.project_id, e.data ->> 'kind', e.data ->> 'sha256')
               e.project_id, e.data ->> 'kind' AS kind, e.data ->> 'sha256' AS sha256, e.seq,
               e.data
          FROM stpm.events e
         WHERE e.kind = 'attach' AND e.project_id IS NOT NULL
         ORDER BY e.project_id, e.data ->> 'kind', e.data ->> 'sha256', e.seq
    )
    SELECT p.code, a.seq, x.what
      FROM stpm.documents d
      LEFT JOIN stpm.projects p ON p.id = d.project_id
      LEFT JOIN a ON a.project_id = d.project_id AND a.kind = d.kind
                 AND a.sha256 = encode(sha256(d.content), 'hex')
      CROSS JOIN LATERAL (VALUES
        (CASE WHEN a.seq IS NULL THEN format(
              'document %s (%s): no attach event of the project records the digest %s… of its '
              'content: the content was replaced', d.kind, d.file_name,
              left(encode(sha256(d.content), 'hex'), 16)) END),
        (CASE WHEN a.seq IS NOT NULL AND d.sha256 <> encode(sha256(d.content), 'hex')
              THEN format('document %s (%s): its digest column %s… is not the digest of its '
                          'content', d.kind, d.file_name, left(d.sha256, 16)) END),
        (CASE WHEN a.seq IS NOT NULL
                   AND (a.data ->> 'size' IS DISTINCT FROM octet_length(d.content)::text
                        OR d.size <> octet_length(d.content))
              THEN format('document %s (%s): %s bytes, the attach event records %s', d.kind,
                          d.file_name, octet_length(d.content), a.data ->> 'size') END)) x(what)
     WHERE x.what IS NOT NULL
    UNION ALL
    -- An attach event whose document is gone.
    SELECT p.code, e.seq, format('document %s (%s, %s…) recorded by this attach event is not '
                                 'stored: it was deleted', e.data ->> 'kind',
                                 e.data ->> 'file_name', left(e.data ->> 'sha256', 16))
      FROM stpm.events e
      LEFT JOIN stpm.projects p ON p.id = e.project_id
     WHERE e.kind = 'attach' AND e.project_id IS NOT NULL AND e.data ? 'sha256'
       AND NOT EXISTS (SELECT 1 FROM stpm.documents d
                        WHERE d.project_id = e.project_id AND d.kind = e.data ->> 'kind'
                          AND d.sha256 = e.data ->> 'sha256')
$$;

GRANT EXECUTE ON FUNCTION stpm.project_states_rebuilt(), stpm.project_facts_from_states(),
    stpm.jsonb_merge(jsonb), stpm.project_replay_of(uuid[]), stpm.project_problems_of(uuid[])
    TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

-- stpm.jsonb_merge is the schema's first aggregate: door_close (079) hands aggregates to
-- stpm_owner too from here on, as it does every other function.
CREATE OR REPLACE FUNCTION stpm.door_close() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
    groups constant text := 'stpm_admin, stpm_officer, stpm_expert, stpm_auditor';
BEGIN
    GRANT USAGE, CREATE ON SCHEMA stpm TO stpm_owner;
    FOR r IN SELECT c.oid::regclass AS rel, c.relkind
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'stpm' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    LOOP
        IF r.relkind = 'S' THEN
            EXECUTE format('REVOKE USAGE, UPDATE ON SEQUENCE %s FROM PUBLIC, %s', r.rel, groups);
            EXECUTE format('GRANT SELECT ON SEQUENCE %s TO %s', r.rel, groups);
        ELSE
            EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON %s '
                           'FROM PUBLIC, %s', r.rel, groups);
            EXECUTE format('GRANT SELECT ON %s TO %s', r.rel, groups);
        END IF;
        -- Identity and serial sequences follow their table.
        IF r.relkind <> 'S' OR NOT EXISTS (SELECT 1 FROM pg_depend d
                                            WHERE d.objid = r.rel::oid AND d.deptype IN ('a', 'i')) THEN
            EXECUTE format('ALTER %s %s OWNER TO stpm_owner',
                           CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                          WHEN 'm' THEN 'MATERIALIZED VIEW'
                                          WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, r.rel);
        END IF;
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS fn, p.proname, p.prosecdef, p.prokind
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = 'stpm'
    LOOP
        IF r.proname = 'user_add' THEN
            EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, stpm, pg_temp', r.fn);
            EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', r.fn);
            CONTINUE;
        END IF;
        CONTINUE WHEN r.fn = 'stpm.door_close()'::regprocedure;
        EXECUTE format('ALTER %s %s OWNER TO stpm_owner',
                       CASE r.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE'
                                      ELSE 'FUNCTION' END, r.fn);
        CONTINUE WHEN r.prokind IN ('a', 'w'); -- an aggregate has no search_path of its own
        IF r.prosecdef THEN
            -- Whatever a definer function reads resolves in these schemas, the caller's
            -- temporary objects last; only the groups granted explicitly may call it.
            EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, stpm, pg_temp', r.fn);
            EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', r.fn);
        END IF;
    END LOOP;
END $$;

SELECT stpm.door_close();
