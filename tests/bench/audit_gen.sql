-- The data set of bench_audit.sh and bench_scale.sh, made set-based directly in the tables
-- (psql -v n=PROJECTS). Ten events per project, their hash chains computed in SQL with
-- stpm.event_canonical (the same text the trigger hashes), project_states, project_facts and
-- report_counts derived as 081/084 define them, so that `stpm audit verify` accepts it whole.
-- Classes by i % 100: 0-69 accepted on time, 70-89 rejected after applying, 90-97 accepted
-- late (overdue for a while), 98 terminated, 99 stuck in approved (overdue unless recent).
-- On 2 shared cores: 20,000 projects in 16 s (the recursive version before it: 76 s), 100,000
-- in 129 s, 1,000,000 (10,000,000 events) in 1,182 s (docs/scaling.md).
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

-- The events, one step of every chain at a time: step k writes the k-th event of every
-- project at once (one INSERT of N rows), its prev_hash the hash step k-1 returned, its hash
-- stpm.event_canonical's text as the events_chain trigger computes it (the triggers are off
-- here: session_replication_role = replica). Ten set-based statements, no recursion.
CREATE TEMP TABLE heads (project_id uuid, hash text, on_date date);
ANALYZE gp, plan_ix, tmpl;
-- The events' indexes are dropped for the ten INSERTs and built again after them, each with
-- its own name and definition as the migrations made it (ten million random insertions
-- into four B-trees that no longer fit in memory were three quarters of the time at 1 M).
CREATE TEMP TABLE ev_ix AS
SELECT 'ALTER TABLE stpm.events ADD CONSTRAINT ' || quote_ident(c.conname) || ' '
       || pg_get_constraintdef(c.oid) AS make,
       'ALTER TABLE stpm.events DROP CONSTRAINT ' || quote_ident(c.conname) AS drop
  FROM pg_constraint c WHERE c.conrelid = 'stpm.events'::regclass AND c.contype IN ('p', 'u')
UNION ALL
SELECT pg_get_indexdef(i.indexrelid), 'DROP INDEX ' || i.indexrelid::regclass::text
  FROM pg_index i
 WHERE i.indrelid = 'stpm.events'::regclass
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);
DO $$
DECLARE x record;
BEGIN
  FOR x IN SELECT * FROM ev_ix LOOP EXECUTE x.drop; END LOOP;
END $$;
DO $$
BEGIN
  FOR step IN 1..10 LOOP
    CREATE TEMP TABLE heads_next (project_id uuid, hash text, on_date date);
    WITH x AS MATERIALIZED (  -- once: (r).f below would repeat the ROW for each field
      SELECT ROW(NULL, 'project:' || gp.id, step, gp.id,
                 (gp.b + t.off + time '09:00') AT TIME ZONE 'UTC'
                     + CASE WHEN step > 1 THEN step * interval '1 minute' ELSE interval '0' END,
                 gp.b + t.off, 'bench', t.kind, t.tr, t.fr, t.too,
                 CASE WHEN t.tr IN ('extend', 'reject', 'terminate') THEN '理由' END,
                 CASE WHEN t.kind = 'create' THEN
                          jsonb_build_object('plan', pl.code, 'org', o.uscc, 'title', '项目' || gp.i,
                              'leader', '负责人', 'year', gp.year,
                              'field', (ARRAY['先进制造', '生物医药', '新能源', '新材料', '电子信息'])[1 + gp.i % 5],
                              'workflow', 'audit_test', 'version', 1,
                              'set', jsonb_build_object('amount_requested', gp.req))
                      WHEN t.kind = 'attach' AND t.n = 2 THEN jsonb_build_object('kind', 'task_book',
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
                 coalesce(h.hash, repeat('0', 64)), NULL, 2)::stpm.events AS r
      FROM gp JOIN tmpl t ON t.cls = gp.cls AND t.n = step
      JOIN plan_ix pl ON pl.k = gp.pk JOIN stpm.orgs o ON o.id = gp.org
      LEFT JOIN heads h ON h.project_id = gp.id
    ), y AS (
      SELECT r, encode(sha256(convert_to(stpm.event_canonical(r), 'UTF8')), 'hex') AS hash FROM x
    ), ins AS (
      INSERT INTO stpm.events (chain, seq, project_id, at, on_date, actor, kind, transition,
          from_state, to_state, reason, data, prev_hash, hash, canon)
      SELECT (r).chain, (r).seq, (r).project_id, (r).at, (r).on_date, (r).actor, (r).kind,
             (r).transition, (r).from_state, (r).to_state, (r).reason, (r).data, (r).prev_hash,
             hash, 2
      FROM y
      RETURNING project_id, hash, on_date
    )
    INSERT INTO heads_next SELECT * FROM ins;
    DROP TABLE heads;
    ALTER TABLE heads_next RENAME TO heads;
    ANALYZE heads;
  END LOOP;
END $$;

DO $$
DECLARE x record;
BEGIN
  FOR x IN SELECT * FROM ev_ix LOOP EXECUTE x.make; END LOOP;
END $$;

-- The document of each project's first attach event (the later ones are notes).
INSERT INTO stpm.documents (project_id, kind, file_name, size, sha256, content)
SELECT gp.id, 'task_book', 'task.txt', octet_length(convert_to('任务书' || gp.i, 'UTF8')),
       encode(sha256(convert_to('任务书' || gp.i, 'UTF8')), 'hex'), convert_to('任务书' || gp.i, 'UTF8')
FROM gp;

-- Each chain's head: its tenth event (business dates never go back, so its date is the
-- chain's latest, as the events_chain trigger keeps it).
INSERT INTO stpm.chain_heads (chain, seq, hash, on_date)
SELECT 'project:' || project_id, 10, hash, on_date FROM heads;

-- The derived tables as 081's trigger writes them. The periods: every project of a class has
-- the periods of its class's first project, shifted by its base date (every date of the
-- templates is b + an offset) with its own amounts; that first project's periods are
-- replayed by 081's stpm.project_states_replay (the trigger's rules), and `audit verify`
-- compares all of them with 084's rebuild from the events. The facts of those periods by
-- 084's set-based stpm.project_facts_from_states, and the report counts of the facts (as
-- 081's backfill makes them; the triggers are off here).
CREATE TEMP TABLE proto AS SELECT DISTINCT ON (cls) cls, id, b FROM gp ORDER BY cls, i;
CREATE TEMP TABLE proto_states AS
SELECT p.cls, r.seq, r.state, r.from_date - p.b AS from_off, r.to_date - p.b AS to_off,
       r.due - p.b AS due_off, r.closed, r.final, r.counts_as, r.active,
       r.missed_due - p.b AS missed_off, r.amount_requested IS NOT NULL AS has_req,
       r.amount_approved IS NOT NULL AS has_appr
FROM proto p CROSS JOIN LATERAL stpm.project_states_replay(p.id) r;
INSERT INTO stpm.project_states
SELECT gp.id, s.seq, s.state, gp.b + s.from_off, gp.b + s.to_off, gp.b + s.due_off, s.closed,
       s.final, s.counts_as, s.active, gp.b + s.missed_off,
       CASE WHEN s.has_req THEN gp.req END, CASE WHEN s.has_appr THEN round(gp.req * 0.6, 2) END
FROM gp JOIN proto_states s ON s.cls = gp.cls
ORDER BY gp.id, s.seq;
ANALYZE stpm.projects, stpm.project_states;
INSERT INTO stpm.project_facts SELECT * FROM stpm.project_facts_from_states();
INSERT INTO stpm.report_counts
SELECT (c).year, (c).plan_id, (c).level, (c).town, (c).field, (c).state, (c).applied,
       (c).admitted, (c).approved, (c).started, (c).funded, (c).final_as, sum((c).projects),
       sum((c).requested), sum((c).approved_amount)
FROM (SELECT stpm.report_counts_row(f, 1) AS c FROM stpm.project_facts f) x
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;

RESET session_replication_role;
VACUUM ANALYZE;
