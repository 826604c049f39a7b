-- The data set of bench_audit.sh, made set-based directly in the tables (psql -v n=PROJECTS).
-- Ten events per project, their hash chains computed in SQL with stpm.event_canonical (the
-- same text the trigger hashes), project_states and project_facts derived as 040 defines.
-- Classes by i % 100: 0-69 accepted on time, 70-89 rejected after applying, 90-97 accepted
-- late (overdue for a while), 98 terminated, 99 stuck in approved (overdue unless recent).
\set ON_ERROR_STOP on
SET session_replication_role = replica;   -- the rows below carry their own hashes
SET synchronous_commit = off;
SET work_mem = '256MB';
SET maintenance_work_mem = '512MB';

INSERT INTO stpm.plans (code, name, level, funded, workflow_name) VALUES
  ('NKRD', '国家重点研发计划', 'national', true, 'audit_test'),
  ('PKRD', '省重点研发计划', 'provincial', true, 'audit_test'),
  ('PINT', '省国际科技合作', 'provincial', true, 'audit_test'),
  ('PAGR', '省重点研发计划（现代农业）', 'provincial', false, 'audit_test'),
  ('NTSF', '南通市科技计划', 'municipal', true, 'audit_test'),
  ('NTCX', '南通市创新计划', 'municipal', false, 'audit_test'),
  ('RGKJ', '如皋市科技计划', 'county', true, 'audit_test'),
  ('RGCX', '如皋市创新券', 'county', false, 'audit_test');

CREATE TEMP TABLE towns (k int, town text);
INSERT INTO towns VALUES (0, '如城街道'), (1, '长江镇'), (2, '城南街道'), (3, '白蒲镇'),
  (4, '丁堰镇'), (5, '东陈镇'), (6, '搬经镇'), (7, '九华镇'), (8, '石庄镇'), (9, '下原镇');

INSERT INTO stpm.orgs (id, uscc, name, town)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(o), 12, '0'))::uuid,
       '913206' || lpad(o::text, 12, '0'), '如皋企业' || o, t.town
FROM generate_series(1, greatest(:n / 100, 10)) o JOIN towns t ON t.k = o % 10;
INSERT INTO stpm.leaders (id, org_id, name) SELECT id, id, '负责人' FROM stpm.orgs;

CREATE TEMP TABLE plan_ix AS SELECT row_number() OVER (ORDER BY code) - 1 AS k, id, code, funded
  FROM stpm.plans;
CREATE TEMP TABLE wf AS SELECT id FROM stpm.workflows WHERE name = 'audit_test';

-- The event templates: class, n, kind, transition, from, to, day offset, due in effect after
-- it (days), and the fields it sets.
CREATE TEMP TABLE tmpl (cls text, n int, kind text, tr text, fr text, too text, off int, due int);
INSERT INTO tmpl VALUES
 ('acc',1,'create',NULL,NULL,'reserve',0,NULL), ('acc',2,'attach',NULL,NULL,NULL,0,NULL),
 ('acc',3,'transition','apply','reserve','applied',1,NULL),
 ('acc',4,'transition','admit','applied','admitted',10,NULL),
 ('acc',5,'transition','approve','admitted','approved',40,405),
 ('acc',6,'attach',NULL,NULL,NULL,100,NULL),
 ('acc',7,'transition','extend','approved','approved',300,495),
 ('acc',8,'transition','submit','approved','accepting',450,480),
 ('acc',9,'attach',NULL,NULL,NULL,460,NULL),
 ('acc',10,'transition','accept','accepting','accepted',470,NULL),
 ('rej',1,'create',NULL,NULL,'reserve',0,NULL), ('rej',2,'attach',NULL,NULL,NULL,0,NULL),
 ('rej',3,'transition','apply','reserve','applied',1,NULL),
 ('rej',4,'attach',NULL,NULL,NULL,2,NULL), ('rej',5,'attach',NULL,NULL,NULL,3,NULL),
 ('rej',6,'attach',NULL,NULL,NULL,4,NULL), ('rej',7,'attach',NULL,NULL,NULL,5,NULL),
 ('rej',8,'attach',NULL,NULL,NULL,6,NULL), ('rej',9,'attach',NULL,NULL,NULL,7,NULL),
 ('rej',10,'transition','reject','applied','rejected',20,NULL);
INSERT INTO tmpl SELECT 'late', n, kind, tr, fr, too,
    CASE n WHEN 8 THEN 520 WHEN 9 THEN 525 WHEN 10 THEN 540 ELSE off END,
    CASE n WHEN 8 THEN 550 ELSE due END FROM tmpl WHERE cls = 'acc';
INSERT INTO tmpl SELECT 'term', n, kind, tr, fr, too, off, due FROM tmpl WHERE cls = 'acc' AND n <= 7;
INSERT INTO tmpl VALUES ('term',8,'attach',NULL,NULL,NULL,310,NULL),
 ('term',9,'attach',NULL,NULL,NULL,320,NULL),
 ('term',10,'transition','terminate','approved','terminated',330,NULL);
INSERT INTO tmpl SELECT 'stuck', n, kind, tr, fr, too, off, due FROM tmpl WHERE cls = 'acc' AND n <= 7;
INSERT INTO tmpl VALUES ('stuck',8,'attach',NULL,NULL,NULL,310,NULL),
 ('stuck',9,'attach',NULL,NULL,NULL,320,NULL), ('stuck',10,'attach',NULL,NULL,NULL,330,NULL);

-- The projects, with their class and base date.
CREATE TEMP TABLE gp AS
SELECT i, ('10000000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid AS id,
       CASE WHEN i % 100 < 70 THEN 'acc' WHEN i % 100 < 90 THEN 'rej' WHEN i % 100 < 98 THEN 'late'
            WHEN i % 100 = 98 THEN 'term' ELSE 'stuck' END AS cls,
       2016 + i % 6 AS year, make_date(2016 + i % 6, 3, 1) + (i % 60) AS b,
       ('00000000-0000-0000-0000-' || lpad(to_hex(1 + i % greatest(:n / 100, 10)), 12, '0'))::uuid AS org,
       i % 8 AS pk, (10 + i % 90)::numeric AS req
FROM generate_series(1, :n) i;

INSERT INTO stpm.projects (id, code, title, org_id, leader_id, plan_id, workflow_id, year, field,
    state, state_since, amount_requested, amount_approved, start_date, due_date, closed_date,
    extensions, fields)
SELECT gp.id, gp.year || '-' || pl.code || '-' || lpad(gp.i::text, 7, '0'), '项目' || gp.i, gp.org,
       gp.org, pl.id, (SELECT id FROM wf), gp.year,
       (ARRAY['先进制造', '生物医药', '新能源', '新材料', '电子信息'])[1 + gp.i % 5],
       last.too, gp.b + last.off, gp.req,
       CASE WHEN gp.cls <> 'rej' THEN round(gp.req * 0.6, 2) END,
       CASE WHEN gp.cls <> 'rej' THEN gp.b + 40 END,
       CASE WHEN gp.cls <> 'rej' THEN gp.b + 495 END,
       CASE WHEN gp.cls IN ('acc', 'late', 'term', 'rej') AND last.too <> 'rejected' THEN gp.b + last.off END,
       CASE WHEN gp.cls <> 'rej' THEN 1 ELSE 0 END,
       CASE gp.cls WHEN 'acc' THEN jsonb_build_object('acceptance_due', gp.b + 480)
                   WHEN 'late' THEN jsonb_build_object('acceptance_due', gp.b + 550)
                   ELSE '{}' END
FROM gp JOIN plan_ix pl ON pl.k = gp.pk
JOIN LATERAL (SELECT t.too, t.off FROM tmpl t WHERE t.cls = gp.cls AND t.too IS NOT NULL
              ORDER BY t.n DESC LIMIT 1) last ON true;

-- The events: the chain computed step by step for all projects at once.
INSERT INTO stpm.events (chain, seq, project_id, at, on_date, actor, kind, transition, from_state,
    to_state, reason, data, prev_hash, hash, canon)
WITH RECURSIVE ev AS (
    SELECT x.r, gp.id AS project_id, 1 AS n,
           encode(sha256(convert_to(stpm.event_canonical(x.r), 'UTF8')), 'hex') AS h
    FROM gp JOIN plan_ix pl ON pl.k = gp.pk JOIN stpm.orgs o ON o.id = gp.org, LATERAL (SELECT ROW(NULL, 'project:' || gp.id, 1, gp.id,
                 (gp.b + time '09:00') AT TIME ZONE 'UTC', gp.b, 'bench', 'create', NULL, NULL,
                 'reserve', NULL,
                 jsonb_build_object('plan', pl.code, 'org', o.uscc, 'title', '项目' || gp.i,
                     'leader', '负责人', 'year', gp.year,
                     'field', (ARRAY['先进制造', '生物医药', '新能源', '新材料', '电子信息'])[1 + gp.i % 5],
                     'workflow', 'audit_test', 'version', 1,
                     'set', jsonb_build_object('amount_requested', gp.req)),
                 repeat('0', 64), NULL, 2)::stpm.events AS r) x
  UNION ALL
    SELECT x.r, ev.project_id, ev.n + 1,
           encode(sha256(convert_to(stpm.event_canonical(x.r), 'UTF8')), 'hex')
    FROM ev JOIN gp ON gp.id = ev.project_id
    JOIN tmpl t ON t.cls = gp.cls AND t.n = ev.n + 1,
    LATERAL (SELECT ROW(NULL, 'project:' || gp.id, ev.n + 1, gp.id,
                 (gp.b + t.off + time '09:00') AT TIME ZONE 'UTC' + (ev.n + 1) * interval '1 minute',
                 gp.b + t.off, 'bench', t.kind, t.tr, t.fr, t.too,
                 CASE WHEN t.tr IN ('extend', 'reject', 'terminate') THEN '理由' END,
                 CASE WHEN t.kind = 'attach' AND t.n = 2 THEN jsonb_build_object('kind', 'task_book',
                          'file_name', 'task.txt', 'size', octet_length(convert_to('任务书' || gp.i, 'UTF8')),
                          'sha256', encode(sha256(convert_to('任务书' || gp.i, 'UTF8')), 'hex'))
                      WHEN t.kind = 'attach' THEN '{}'::jsonb
                      ELSE jsonb_build_object('workflow', 'audit_test', 'version', 1) ||
                 CASE t.tr WHEN 'admit' THEN '{"checks": [{"check": "credit_clean", "passed": true}]}'::jsonb
                           WHEN 'approve' THEN jsonb_build_object('set', jsonb_build_object('due_date', gp.b + 405,
                               'start_date', gp.b + 40, 'amount_approved', round(gp.req * 0.6, 2)))
                           WHEN 'extend' THEN jsonb_build_object('set', jsonb_build_object('due_date', gp.b + 495,
                               'extensions', 1))
                           WHEN 'submit' THEN jsonb_build_object('set', jsonb_build_object('acceptance_due', gp.b + t.due))
                           WHEN 'accept' THEN jsonb_build_object('set', jsonb_build_object('closed_date', gp.b + t.off))
                           WHEN 'terminate' THEN jsonb_build_object('set', jsonb_build_object('closed_date', gp.b + t.off))
                           ELSE '{}'::jsonb END END,
                 ev.h, NULL, 2)::stpm.events AS r) x
    WHERE ev.n < 10
)
SELECT (r).chain, (r).seq, (r).project_id, (r).at, (r).on_date, (r).actor, (r).kind,
       (r).transition, (r).from_state, (r).to_state, (r).reason, (r).data, (r).prev_hash, h, 2
FROM ev;

-- The document of each project's first attach event (the later ones are notes).
INSERT INTO stpm.documents (project_id, kind, file_name, size, sha256, content)
SELECT gp.id, 'task_book', 'task.txt', octet_length(convert_to('任务书' || gp.i, 'UTF8')),
       encode(sha256(convert_to('任务书' || gp.i, 'UTF8')), 'hex'), convert_to('任务书' || gp.i, 'UTF8')
FROM gp;

INSERT INTO stpm.chain_heads (chain, seq, hash)
SELECT DISTINCT ON (chain) chain, seq, hash FROM stpm.events WHERE project_id IS NOT NULL
 ORDER BY chain, seq DESC;

-- The derived tables as 081's trigger writes them: each project's periods replayed by
-- 081's stpm.project_states_replay (the trigger's rules), the facts of those periods, and
-- the report counts of the facts (as 081's backfill makes them; the triggers are off here).
INSERT INTO stpm.project_states
SELECT r.* FROM gp CROSS JOIN LATERAL stpm.project_states_replay(gp.id) r;
INSERT INTO stpm.project_facts
SELECT (stpm.project_facts_of(gp.id, (SELECT array_agg(s ORDER BY s.seq)
                                      FROM stpm.project_states s WHERE s.project_id = gp.id))).*
FROM gp;
INSERT INTO stpm.report_counts
SELECT (c).year, (c).plan_id, (c).level, (c).town, (c).field, (c).state, (c).applied,
       (c).admitted, (c).approved, (c).started, (c).funded, (c).final_as, sum((c).projects),
       sum((c).requested), sum((c).approved_amount)
FROM (SELECT stpm.report_counts_row(f, 1) AS c FROM stpm.project_facts f) x
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;

RESET session_replication_role;
VACUUM ANALYZE;
