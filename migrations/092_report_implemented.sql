-- 092: a report of now no longer reads one row per project.
--
-- 081's stpm.report_rows answers a report as of a day on or after the last event from the
-- counts (a few hundred rows), but its "implemented" part gave one row per project in
-- progress at any time of the period, each found by a DISTINCT over the periods and a
-- lookup of its facts: 78,000 of the 79,252 rows of `report summary` at 100,000 projects
-- (2.8 s), 780,000 at 1,000,000 (12 s; docs/scaling.md). Every report sums `implemented`
-- (core/audit/report.c), so the part now gives one row per combination of the columns
-- reports group by, with the number of such projects: the same sums from a semi-join of
-- the facts with the periods in progress (081's partial index), grouped in the server.
-- The other parts are those of 081.

CREATE OR REPLACE FUNCTION stpm.report_rows(p_from integer, p_to integer, p_as_of date)
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
           false, NULL, 0, 0, 0, 0, count(*)::integer
    FROM stpm.project_facts f
    WHERE EXISTS (SELECT 1 FROM stpm.project_states s
                  WHERE s.project_id = f.project_id AND s.counts_as = 'in_progress'
                    AND coalesce(s.to_date, 'infinity') > coalesce(make_date(p_from, 1, 1), '-infinity')
                    AND s.from_date <= least(coalesce(make_date(p_to, 12, 31), 'infinity'), p_as_of)
                    AND (s.to_date IS NULL OR s.to_date > s.from_date))
    GROUP BY f.year, f.plan_id, f.level, f.town, f.field, f.state
$$;
GRANT EXECUTE ON FUNCTION stpm.report_rows(integer, integer, date)
    TO stpm_admin, stpm_officer, stpm_expert, stpm_auditor;

SELECT stpm.door_close();
