-- 096: the integrity checks of a bulk's set path run as one statement for the whole chunk
-- (issue 8, "Figures": a bulk admit of 10,000 projects).
--
-- 097's set path would call stpm.checks_run for each project: about fifteen statements each
-- started and ended per project (measured: 1.05 ms of a bulk admit's 1.6 ms per project,
-- most of it executor start-up of small aggregates). stpm.checks_run_set gives, for many
-- projects at once, the very outcomes stpm.checks_run (081) gives each of them (with
-- whether all passed and their evidence in order, what a transition records) — the same
-- queries, formats and evidence, each check a LATERAL subquery of one statement, run only
-- when the transition has that check. tests/cli/bulk_sets.sh compares the two ways.
--
-- A list that names a check twice (two thresholds of no_duplicate, say) or an unknown check
-- is not for this function: it raises SR090 and the set path leaves the chunk to the old
-- path, where checks_run answers as before.

CREATE FUNCTION stpm.checks_run_set(p_checks jsonb, p_ids uuid[], p_today date)
RETURNS TABLE (project_id uuid, outcomes jsonb, passed boolean, evidence jsonb)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, stpm, pg_temp AS $$
DECLARE
    names constant text[] := ARRAY(SELECT c ->> 'name' FROM jsonb_array_elements(p_checks) c);
    thr_text text;
    max_text text;
    thr real;
    mx integer;
    org_why jsonb;
BEGIN
    IF cardinality(names) <> (SELECT count(DISTINCT x) FROM unnest(names) x)
       OR EXISTS (SELECT 1 FROM unnest(names) x
                   WHERE x IS NULL OR x NOT IN ('integrity_commitment', 'credit_clean',
                         'no_conflict', 'no_duplicate', 'leader_limit', 'org_no_overdue',
                         'uscc_valid')) THEN
        RAISE EXCEPTION 'checks not for the set path' USING ERRCODE = 'SR090';
    END IF;
    -- checks_run's p_param of each check (its raw text is what the summaries quote)
    SELECT coalesce(c ->> 'similarity', c ->> 'max') INTO thr_text
      FROM jsonb_array_elements(p_checks) c WHERE c ->> 'name' = 'no_duplicate';
    SELECT coalesce(c ->> 'similarity', c ->> 'max') INTO max_text
      FROM jsonb_array_elements(p_checks) c WHERE c ->> 'name' = 'leader_limit';
    IF 'no_duplicate' = ANY (names) THEN
        thr := coalesce(thr_text, '0.6')::real;
        PERFORM set_config('pg_trgm.similarity_threshold', thr::text, true);
    END IF;
    IF 'leader_limit' = ANY (names) THEN
        mx := coalesce(max_text, '3')::integer;
    END IF;
    -- Each organisation's code checked once (a plpgsql loop over its characters).
    IF 'uscc_valid' = ANY (names) THEN
        SELECT jsonb_object_agg(o.id, stpm.uscc_problem(o.uscc)) INTO org_why
          FROM stpm.orgs o
         WHERE o.id IN (SELECT b.org_id FROM stpm.projects b WHERE b.id = ANY (p_ids));
    END IF;
    RETURN QUERY
    -- Per organisation, once: its overdue projects (org_no_overdue).
    WITH org_overdue AS MATERIALIZED (
        SELECT q.org_id, q.id, q.code, q.title, x.state, x.due
          FROM stpm.projects q CROSS JOIN LATERAL stpm.project_overdue(q.id, p_today) x
         WHERE 'org_no_overdue' = ANY (names)
           AND q.org_id IN (SELECT b.org_id FROM stpm.projects b WHERE b.id = ANY (p_ids)))
    SELECT r.id, r.outcomes,
           NOT EXISTS (SELECT 1 FROM jsonb_array_elements(r.outcomes) x
                        WHERE NOT (x ->> 'passed')::boolean),
           (SELECT jsonb_agg(x -> 'evidence' ORDER BY n)
              FROM jsonb_array_elements(r.outcomes) WITH ORDINALITY e(x, n))
    FROM (
    SELECT p.id,
           (SELECT jsonb_agg(jsonb_build_object('name', k.name, 'passed', k.passed,
                                                'summary', k.summary, 'evidence', k.evidence)
                             ORDER BY ck.n)
              FROM jsonb_array_elements(p_checks) WITH ORDINALITY ck(c, n)
              -- (each check's answer, under its name; a name is there once, checked above)
              JOIN (VALUES ('integrity_commitment', ic.passed, ic.summary, ic.evidence),
                           ('credit_clean', cc.passed, cc.summary, cc.evidence),
                           ('no_conflict', nc.passed, nc.summary, nc.evidence),
                           ('no_duplicate', nd.passed, nd.summary, nd.evidence),
                           ('leader_limit', ll.passed, ll.summary, ll.evidence),
                           ('org_no_overdue', oo.passed, oo.summary, oo.evidence),
                           ('uscc_valid', uv.passed, uv.summary, uv.evidence))
                   AS k(name, passed, summary, evidence) ON k.name = ck.c ->> 'name'
              ) AS outcomes
      FROM stpm.projects p
      JOIN stpm.orgs o ON o.id = p.org_id
      -- integrity_commitment
      LEFT JOIN LATERAL (
          SELECT y.n > 0 AS passed,
                 CASE WHEN y.n > 0
                     THEN format('integrity commitment attached to %s: %s (sha256 %s)', p.code,
                                 y.first_name, left(y.first_sha, 12))
                     ELSE format('no integrity commitment (廉政承诺书) is attached to project %s',
                                 p.code) END AS summary,
                 jsonb_build_object('check', 'integrity_commitment', 'project', p.code,
                                    'as_of', p_today, 'passed', y.n > 0,
                                    'documents', coalesce(y.lst, '[]')) AS evidence
            FROM (SELECT count(*) AS n,
                         jsonb_agg(jsonb_build_object('file_name', x.file_name, 'sha256', x.sha256,
                             'size', x.size, 'attached_at', x.attached_at)
                             ORDER BY x.attached_at, x.file_name) AS lst,
                         (array_agg(x.file_name ORDER BY x.attached_at, x.file_name))[1] AS first_name,
                         (array_agg(x.sha256 ORDER BY x.attached_at, x.file_name))[1] AS first_sha
                    FROM stpm.documents x
                   WHERE x.project_id = p.id AND x.kind = 'integrity_commitment') y
           WHERE 'integrity_commitment' = ANY (names)) ic ON true
      -- credit_clean
      LEFT JOIN LATERAL (
          SELECT b.n = 0 AS passed,
                 CASE WHEN b.n = 0
                     THEN format('org %s (%s) has no active blacklist entry on %s', o.uscc,
                                 o.name, p_today)
                     ELSE format('org %s (%s) is on the credit blacklist: %s (%s – %s)', o.uscc,
                                 o.name, b.first_reason, b.first_from,
                                 coalesce(b.first_until::text, 'open-ended')) END AS summary,
                 jsonb_build_object('check', 'credit_clean', 'project', p.code, 'as_of', p_today,
                                    'passed', b.n = 0, 'org', o.uscc,
                                    'entries', coalesce(b.entries, '[]')) AS evidence
            FROM (SELECT count(*) AS n,
                         jsonb_agg(jsonb_build_object('id', e.id, 'reason', e.reason,
                             'valid_from', e.valid_from, 'valid_until', e.valid_until,
                             'added_by', e.added_by) ORDER BY e.valid_from, e.id) AS entries,
                         (array_agg(e.reason ORDER BY e.valid_from, e.id))[1] AS first_reason,
                         (array_agg(e.valid_from ORDER BY e.valid_from, e.id))[1] AS first_from,
                         (array_agg(e.valid_until ORDER BY e.valid_from, e.id))[1] AS first_until
                    FROM stpm.blacklist e
                   WHERE e.uscc = o.uscc AND e.valid_from <= p_today
                     AND (e.valid_until IS NULL OR e.valid_until >= p_today)
                     AND coalesce(e.lifted_on, e.lifted_at::date, 'infinity') > p_today) b
           WHERE 'credit_clean' = ANY (names)) cc ON true
      -- no_conflict
      LEFT JOIN LATERAL (
          SELECT c.id IS NULL AS passed,
                 CASE WHEN c.id IS NULL
                     THEN format('%s has declared no conflict of interest with org %s (%s)',
                                 session_user, o.uscc, o.name)
                     ELSE format('%s has declared a conflict of interest (回避) with org %s (%s): %s',
                                 session_user, o.uscc, o.name, c.reason) END AS summary,
                 jsonb_build_object('check', 'no_conflict', 'project', p.code, 'as_of', p_today,
                     'passed', c.id IS NULL, 'officer', session_user::text, 'org', o.uscc,
                     'conflict', CASE WHEN c.id IS NOT NULL THEN jsonb_build_object(
                         'reason', c.reason, 'declared_at', c.declared_at,
                         'declared_by', c.declared_by) END) AS evidence
            FROM (SELECT 1) one
            LEFT JOIN stpm.conflicts c ON c.org_id = o.id AND c.officer = session_user::text
           WHERE 'no_conflict' = ANY (names)) nc ON true
      -- no_duplicate: the trigram index answers `%` at the threshold; similarity() decides
      LEFT JOIN LATERAL (
          SELECT d.n = 0 AS passed,
                 CASE WHEN d.n = 0
                     THEN format('no other project of %s has a title similar to "%s" (threshold %s)',
                                 p.year, p.title, thr_text)
                     ELSE format('possible duplicate application: %s "%s" (org %s, plan %s) has title '
                                 'similarity %s >= %s%s', d.top ->> 'code', d.top ->> 'title',
                                 d.top ->> 'org', d.top ->> 'plan', d.top ->> 'score', thr_text,
                                 CASE WHEN d.n > 1 THEN format(', and %s more', d.n - 1)
                                      ELSE '' END) END AS summary,
                 jsonb_build_object('check', 'no_duplicate', 'project', p.code, 'as_of', p_today,
                     'passed', d.n = 0, 'threshold', thr_text::numeric, 'year', p.year,
                     'similar', coalesce(d.lst, '[]')) AS evidence
            FROM (SELECT count(*) AS n, jsonb_agg(to_jsonb(s) ORDER BY s.score DESC, s.code) AS lst,
                         (array_agg(to_jsonb(s) ORDER BY s.score DESC, s.code))[1] AS top
                    FROM (SELECT q.code, q.title, og.uscc AS org, og.name AS org_name,
                                 pl.code AS plan, q.state,
                                 round(similarity(x.title, p.title)::numeric, 3) AS score
                            FROM stpm.project_titles x
                            JOIN stpm.projects q ON q.id = x.project_id
                            JOIN stpm.orgs og ON og.id = q.org_id
                            JOIN stpm.plans pl ON pl.id = q.plan_id
                           WHERE x.title % p.title AND x.year = p.year AND x.project_id <> p.id
                             AND NOT EXISTS (SELECT 1 FROM stpm.workflow_states ws
                                     WHERE ws.workflow_id = q.workflow_id AND ws.name = q.state
                                       AND (ws.counts_as IN ('rejected', 'terminated', 'withdrawn')
                                            OR (ws.counts_as IS NULL AND NOT ws.active
                                                AND NOT ws.final)))
                             AND similarity(x.title, p.title) >= thr
                           ORDER BY score DESC, q.code LIMIT 5) s) d
           WHERE 'no_duplicate' = ANY (names)) nd ON true
      -- leader_limit
      LEFT JOIN LATERAL (
          SELECT a.n < mx AS passed,
                 CASE WHEN a.n < mx
                     THEN format('leader %s of org %s has %s other active project(s), under the limit of %s',
                                 a.lname, o.uscc, a.n, mx)
                     ELSE format('leader %s of org %s already has %s active project(s), the limit is %s: %s',
                                 a.lname, o.uscc, a.n, mx,
                                 a.codes || CASE WHEN a.n > 20 THEN ' ...' ELSE '' END) END AS summary,
                 jsonb_build_object('check', 'leader_limit', 'project', p.code, 'as_of', p_today,
                     'passed', a.n < mx, 'leader', a.lname, 'org', o.uscc, 'max', mx,
                     'count', a.n, 'active', coalesce(a.lst, '[]')) AS evidence
            FROM (SELECT (SELECT l.name FROM stpm.leaders l WHERE l.id = p.leader_id) AS lname,
                         (SELECT count(*) FROM stpm.projects q
                            JOIN stpm.workflow_states ws ON ws.workflow_id = q.workflow_id
                                                        AND ws.name = q.state
                           WHERE q.leader_id = p.leader_id AND q.id <> p.id AND ws.active) AS n,
                         t.lst, t.codes
                    FROM (SELECT jsonb_agg(jsonb_build_object('code', t.code, 'title', t.title,
                                     'plan', t.plan, 'state', t.state) ORDER BY t.code) AS lst,
                                 string_agg(t.code, ', ' ORDER BY t.code) AS codes
                            FROM (SELECT q.code, q.title, pl.code AS plan, q.state
                                    FROM stpm.projects q JOIN stpm.plans pl ON pl.id = q.plan_id
                                    JOIN stpm.workflow_states ws ON ws.workflow_id = q.workflow_id
                                                                AND ws.name = q.state
                                   WHERE q.leader_id = p.leader_id AND q.id <> p.id AND ws.active
                                   ORDER BY q.code LIMIT 20) t) t
                  OFFSET 0) a -- (n counted once, not once per use)
           WHERE 'leader_limit' = ANY (names)) ll ON true
      -- org_no_overdue: 应结未结 as audit unclosed has it, of the organisation's other projects
      LEFT JOIN LATERAL (
          SELECT v.n = 0 AS passed,
                 CASE WHEN v.n = 0
                     THEN format('org %s (%s) has no overdue unclosed project on %s', o.uscc,
                                 o.name, p_today)
                     ELSE format('org %s (%s) has %s overdue unclosed project(s) (应结未结): %s',
                                 o.uscc, o.name, v.n,
                                 v.codes || CASE WHEN v.n > 20 THEN ' ...' ELSE '' END) END AS summary,
                 jsonb_build_object('check', 'org_no_overdue', 'project', p.code, 'as_of', p_today,
                     'passed', v.n = 0, 'org', o.uscc, 'overdue', coalesce(v.lst, '[]')) AS evidence
            FROM (SELECT (SELECT count(*) FROM org_overdue od
                           WHERE od.org_id = p.org_id AND od.id <> p.id) AS n,
                         t.lst, t.codes
                    FROM (SELECT jsonb_agg(jsonb_build_object('code', t.code, 'title', t.title,
                                     'state', t.state, 'due_date', t.due) ORDER BY t.due, t.code) AS lst,
                                 string_agg(format('%s (due %s)', t.code, t.due), ', '
                                            ORDER BY t.due, t.code) AS codes
                            FROM (SELECT od.code, od.title, od.state, od.due
                                    FROM org_overdue od
                                   WHERE od.org_id = p.org_id AND od.id <> p.id
                                   ORDER BY od.due, od.code LIMIT 20) t) t
                  OFFSET 0) v -- (n counted once, not once per use)
           WHERE 'org_no_overdue' = ANY (names)) oo ON true
      -- uscc_valid
      LEFT JOIN LATERAL (
          SELECT u.why IS NULL AS passed,
                 CASE WHEN u.why IS NULL
                     THEN format('org %s (%s) has a valid unified social credit code', o.uscc, o.name)
                     ELSE format('org %s (%s) has an invalid unified social credit code: %s', o.uscc,
                                 o.name, u.why) END AS summary,
                 jsonb_build_object('check', 'uscc_valid', 'project', p.code, 'as_of', p_today,
                     'passed', u.why IS NULL, 'org', o.uscc, 'reason', u.why) AS evidence
            FROM (SELECT org_why ->> o.id::text AS why) u
           WHERE 'uscc_valid' = ANY (names)) uv ON true
     WHERE p.id = ANY (p_ids)
    OFFSET 0) r; -- (each project's outcomes made once, then read twice)
END $$;
-- The same plan settings as checks_run (090): lookups on the indexes, no JIT.
ALTER FUNCTION stpm.checks_run_set(jsonb, uuid[], date) SET enable_seqscan = off;
ALTER FUNCTION stpm.checks_run_set(jsonb, uuid[], date) SET jit = off;
ALTER FUNCTION stpm.checks_run_set(jsonb, uuid[], date) SET plan_cache_mode = force_generic_plan;
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION stpm.checks_run_set(jsonb, uuid[], date) '
                   'SET search_path = pg_catalog, stpm, %I, pg_temp',
                   (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                     WHERE e.extname = 'pg_trgm'));
END $$;
