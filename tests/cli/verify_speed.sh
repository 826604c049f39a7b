#!/usr/bin/env bash
# audit verify's set-based comparisons (migration 084) give the answers of the definitions
# they replace: stpm.project_states_rebuilt() = stpm.project_states_replay(p) for every
# project, on a varied history (shipped workflow, two pinned versions, rectify loops,
# extensions, late transitions, deadlines set by non-state events, terminations, unknown
# states, odd values); and derived_problems (081), project_problems and document_problems
# (080) — recreated here from their migrations — list the same problems as 084's on the
# clean history and after each tampering.
. "$(dirname "$0")/lib.sh"
need_db
need_source
DB=$(fresh_db vspeed)
sql() { psql "$DB" -qAtX -v ON_ERROR_STOP=1 -c "SET session_replication_role = replica" -c "$1"; }
"$STPM" --db "$DB" workflow load "$SRC/workflows/municipal_nantong.yaml" >/dev/null
sed -e 's/^version: 2/version: 3/' -e 's/due: rectify_due/due: due_date/' \
    "$SRC/workflows/municipal_nantong.yaml" >"$TMP/nt3.yaml"
"$STPM" --db "$DB" workflow load "$TMP/nt3.yaml" >/dev/null

# The old definitions, as their migrations made them, under other names.
{
    sed -n '/^CREATE OR REPLACE FUNCTION stpm.derived_problems()/,/^\$\$;/p' "$SRC/migrations/081_milestones.sql" |
        sed 's/stpm.derived_problems()/public.derived_problems_old()/'
    sed -n '/^CREATE FUNCTION stpm.project_replay()/,/^\$\$;/p' "$SRC/migrations/080_verify_all.sql" |
        sed 's/stpm.project_replay()/public.project_replay_old()/'
    sed -n '/^CREATE FUNCTION stpm.project_problems()/,/^\$\$;/p' "$SRC/migrations/080_verify_all.sql" |
        sed -e 's/stpm.project_problems()/public.project_problems_old()/' -e 's/stpm.project_replay()/public.project_replay_old()/'
    sed -n '/^CREATE FUNCTION stpm.document_problems()/,/^\$\$;/p' "$SRC/migrations/080_verify_all.sql" |
        sed 's/stpm.document_problems()/public.document_problems_old()/'
} >"$TMP/old.sql"
run psql "$DB" -qAtX -v ON_ERROR_STOP=1 -f "$TMP/old.sql"
expect_rc 0 "the old definitions recreated"
is "$(grep -c '^CREATE' "$TMP/old.sql")" "4" "four old functions"

# A varied history, written behind the triggers' back (the hashes do not matter here).
run psql "$DB" -qAtX -v ON_ERROR_STOP=1 <<'SQL'
SET session_replication_role = replica;
SELECT setseed(0.84);
INSERT INTO stpm.plans (code, name, level, funded, workflow_name)
VALUES ('NTS', '南通市科技计划', 'municipal', true, 'municipal_nantong');
INSERT INTO stpm.orgs (id, uscc, name, town)
VALUES ('00000000-0000-0000-0000-000000000001', '91320682MA1MXXXX9P', '如皋某某科技有限公司', '如城街道');
INSERT INTO stpm.leaders (id, org_id, name)
VALUES ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000001', '张三');
CREATE TEMP TABLE gp AS
SELECT i, ('20000000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid AS id,
       1 + floor(random() * 16)::int AS k, DATE '2020-01-01' + i AS b
FROM generate_series(1, 150) i;
INSERT INTO stpm.projects (id, code, title, org_id, leader_id, plan_id, workflow_id, year, state,
                           state_since)
SELECT gp.id, '2020-NTS-' || lpad(gp.i::text, 4, '0'), '项目' || gp.i,
       '00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000001',
       (SELECT id FROM stpm.plans), (SELECT id FROM stpm.workflows WHERE version = 2), 2020,
       'reserve', gp.b
FROM gp;
CREATE TEMP TABLE ev AS
SELECT gp.id, n, gp.b + (n * 40 + floor(random() * 300))::int AS d, random() AS r1, random() AS r2,
       random() AS r3, random() AS r4, floor(random() * 12)::int AS s
FROM gp, generate_series(1, gp.k) n;
-- on_date runs forward; a deadline set is before or after the event; states walk among
-- the workflow's, rectification loops included, and sometimes an unknown one.
INSERT INTO stpm.events (chain, seq, project_id, at, on_date, actor, kind, transition, from_state,
                         to_state, reason, data, prev_hash, hash, canon)
SELECT 'project:' || e.id, e.n, e.id, now(), max(e.d) OVER (PARTITION BY e.id ORDER BY e.n),
       'test', x.kind, NULL, NULL,
       CASE WHEN x.kind IN ('create', 'transition') THEN
            CASE WHEN e.n = 1 THEN 'reserve'
                 ELSE (ARRAY['applied', 'approved', 'in_progress', 'rectifying', 'in_progress',
                             'rectifying', 'accepting', 'accepted', 'terminated', 'rejected',
                             'in_progress', 'no_such_state'])[1 + e.s] END END,
       NULL,
       jsonb_strip_nulls(jsonb_build_object(
           'workflow', CASE WHEN x.kind IN ('create', 'transition', 'migrate') AND e.r4 < 0.9
                            THEN 'municipal_nantong' END,
           'version', CASE WHEN x.kind IN ('create', 'transition', 'migrate') AND e.r4 < 0.9
                           THEN CASE WHEN e.r3 < 0.3 THEN 3 WHEN e.r3 < 0.32 THEN 7 ELSE 2 END END,
           'to_version', CASE WHEN x.kind = 'migrate' THEN 3 END))
       || CASE WHEN e.r2 < 0.05 THEN '{"set": ["not", "an", "object"]}'::jsonb
               WHEN x.kind IN ('create', 'transition', 'note') OR e.r2 < 0.2 THEN jsonb_build_object('set',
                    jsonb_strip_nulls(jsonb_build_object(
                        'amount_requested', CASE WHEN e.n = 1 OR e.r1 < 0.1 THEN 10 + e.n END,
                        'amount_approved', CASE WHEN e.r1 > 0.8 THEN round((e.r2 * 100)::numeric, 5) END,
                        'due_date', CASE WHEN e.r1 < 0.35 THEN to_jsonb((e.d + (e.r3 * 500 - 150)::int)::text)
                                         WHEN e.r1 < 0.38 THEN '20211231'::jsonb END,
                        'rectify_due', CASE WHEN e.r2 > 0.6 THEN to_jsonb((e.d + 60)::text) END,
                        'acceptance_due', CASE WHEN e.r3 > 0.7 THEN to_jsonb((e.d + (e.r1 * 100)::int)::text) END,
                        'task_book_due', CASE WHEN e.r4 > 0.5 THEN to_jsonb((e.d + 30)::text) END))
                    || CASE WHEN e.r4 < 0.03 THEN '{"due_date": null}'::jsonb ELSE '{}'::jsonb END)
               ELSE '{}'::jsonb END,
       repeat('0', 64), repeat('0', 64), 2
FROM ev e
CROSS JOIN LATERAL (SELECT CASE WHEN e.n = 1 THEN 'create' WHEN e.r1 > 0.93 THEN 'attach'
                                WHEN e.r1 > 0.9 THEN 'migrate' WHEN e.r1 > 0.86 THEN 'note'
                                ELSE 'transition' END AS kind) x;
SQL
expect_rc 0 "a varied history of 150 projects"

run sql "SELECT count(*) FROM (SELECT * FROM stpm.project_states_rebuilt()
                  EXCEPT ALL SELECT r.* FROM stpm.projects p CROSS JOIN LATERAL stpm.project_states_replay(p.id) r) x"
is "$OUT" "0" "every period rebuilt set-based is one the replay gives"
run sql "SELECT count(*) FROM (SELECT r.* FROM stpm.projects p CROSS JOIN LATERAL stpm.project_states_replay(p.id) r
                  EXCEPT ALL SELECT * FROM stpm.project_states_rebuilt()) x"
is "$OUT" "0" "every period the replay gives is rebuilt set-based"
# The history is varied enough to mean something.
is "$(sql "SELECT count(*) > 750, count(*) FILTER (WHERE missed_due IS NOT NULL) > 35,
                  count(DISTINCT missed_due) > 18, count(*) FILTER (WHERE due IS NOT NULL) > 180,
                  count(*) FILTER (WHERE final) > 35, count(*) FILTER (WHERE counts_as IS NULL) > 18,
                  count(DISTINCT amount_approved) > 18
             FROM stpm.project_states_rebuilt()")" "t|t|t|t|t|t|t" \
    "periods: missed deadlines carried and reset, due dates, final states, unknown states, amounts"
is "$(sql "SELECT count(*) > 5 FROM (SELECT project_id FROM stpm.project_states_rebuilt() GROUP BY 1
                                        HAVING count(DISTINCT missed_due) > 1) x")" "t" \
    "projects that missed a deadline, were given a new one and missed it again"
SQL_DERIVED="INSERT INTO stpm.project_states SELECT r.* FROM stpm.projects p CROSS JOIN LATERAL stpm.project_states_replay(p.id) r;
INSERT INTO stpm.project_facts SELECT (stpm.project_facts_of(p.id, (SELECT array_agg(s ORDER BY s.seq) FROM stpm.project_states s WHERE s.project_id = p.id))).*
  FROM stpm.projects p WHERE EXISTS (SELECT 1 FROM stpm.project_states s WHERE s.project_id = p.id);
INSERT INTO stpm.report_counts SELECT (c).year, (c).plan_id, (c).level, (c).town, (c).field, (c).state, (c).applied, (c).admitted,
  (c).approved, (c).started, (c).funded, (c).final_as, sum((c).projects), sum((c).requested), sum((c).approved_amount)
  FROM (SELECT stpm.report_counts_row(f, 1) AS c FROM stpm.project_facts f) x GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;
INSERT INTO stpm.documents (project_id, kind, file_name, size, sha256, content)
  SELECT id, 'task_book', 't.txt', 3, encode(sha256('abc'), 'hex'), 'abc' FROM stpm.projects WHERE code LIKE '%1';
INSERT INTO stpm.events (chain, seq, project_id, at, on_date, actor, kind, data, prev_hash, hash, canon)
  SELECT 'project:' || id, 100, id, now(), '2030-01-01', 'test', 'attach',
         jsonb_build_object('kind', 'task_book', 'file_name', 't.txt', 'size', 3, 'sha256', encode(sha256('abc'), 'hex')), repeat('0', 64), repeat('0', 64), 2
    FROM stpm.projects WHERE code LIKE '%1' OR code LIKE '%2';"
run sql "$SQL_DERIVED"
expect_rc 0 "the derived tables as the backfill makes them, documents"

same() { # NAME: the old and the new functions list the same problems
    local f
    for f in derived_problems project_problems document_problems; do
        local diff
        diff=$(sql "SELECT count(*) FROM ((SELECT * FROM public.${f}_old() EXCEPT ALL SELECT * FROM stpm.$f())
                     UNION ALL (SELECT * FROM stpm.$f() EXCEPT ALL SELECT * FROM public.${f}_old())) x")
        is "$diff" "0" "$1: $f lists what the old one lists"
    done
}
same "the clean history"
is "$(sql "SELECT (SELECT count(*) FROM stpm.derived_problems()) || ' ' || (SELECT count(*) FROM stpm.document_problems())")" \
    "0 15" "no derived problem; the documents without attach events and the attach events without documents"
n=$(sql "SELECT count(*) FROM stpm.project_problems()")
is "$([ "$n" -gt 100 ] && echo many)" "many" "the project rows were not kept by the events: many problems ($n)"
sql "UPDATE stpm.projects p SET state = s.state, state_since = s.from_date, amount_requested = s.amount_requested, amount_approved = s.amount_approved
       FROM (SELECT DISTINCT ON (project_id) * FROM stpm.project_states ORDER BY project_id, seq DESC) s WHERE s.project_id = p.id" >/dev/null
same "project rows partly made good"

T="UPDATE stpm.project_states SET due = due + 1 WHERE seq = 3 AND due IS NOT NULL;
UPDATE stpm.project_states SET missed_due = '2020-01-01' WHERE seq = 5 AND missed_due IS NULL;
UPDATE stpm.project_states SET missed_due = NULL WHERE seq = 6;
DELETE FROM stpm.project_states WHERE seq = 7 AND project_id IN (SELECT id FROM stpm.projects WHERE code LIKE '%3');
UPDATE stpm.project_facts SET approved_on = NULL WHERE project_id IN (SELECT id FROM stpm.projects WHERE code LIKE '%4');
DELETE FROM stpm.project_facts WHERE project_id IN (SELECT id FROM stpm.projects WHERE code LIKE '%5');
UPDATE stpm.report_counts SET projects = projects + 1 WHERE state = 'accepted';
UPDATE stpm.projects SET fields = '{\" x\": 1}' WHERE code LIKE '%6';
UPDATE stpm.projects SET title = '改' WHERE code LIKE '%7';
UPDATE stpm.documents SET content = 'abd' WHERE project_id IN (SELECT id FROM stpm.projects WHERE code LIKE '%11');"
run sql "$T"
expect_rc 0 "tampered with every derived table, project rows and documents"
same "tampered"
is "$(sql "SELECT count(*) > 100 FROM stpm.derived_problems()")" "t" "the tampering is found"

drop_db "$DB"
done_testing
