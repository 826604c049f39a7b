#!/usr/bin/env bash
# stpm reserve list | rank | promote on a small hand-made survey whose scores were
# computed by hand with the shipped weights (workflows/scoring.yaml):
#
#   criterion (weight)        A (row 2)         B (row 3)            C (row 4)         D (row 5)
#   high_tech (15)            是 → 15           否 → 0               是 → 15           是 → 15
#   rd_intensity (25)         300/10000=.03     100/3000=.0333..     600/10000=.06     300/10000=.03
#     ratio / 0.06            .5 → 12.50        .5556 → 13.89        1 → 25            .5 → 12.50
#   partner (10)              yes → 10          missing → 0          yes → 10          yes → 10
#   maturity 1..9 (20)        5: .5 → 10        9: 1 → 20            3: .25 → 5        5: .5 → 10
#   planned 0..1000 (15)      500: .5 → 7.50    1200: 1 → 15         200: .2 → 3       500: .5 → 7.50
#   leverage planned/req /5   500/50=10 → 10    1200/400=3 → 6       200/100=2 → 4     500/40 → 10
#   target_level (5)          如皋 .3 → 1.50    南通 .5 → 2.50       国家 1 → 5        如皋 .3 → 1.50
#   score                     66.50             57.39                67.00             66.50
#
# Order: C 67.00; then A and D tie at 66.50 and the lower requested funding comes first
# (D 40 < A 50); then B.
. "$(dirname "$0")/lib.sh"
need_db
cd "$TMP"
q() { psql "$1" -qAtX -v ON_ERROR_STOP=1 -c "$2"; }

cat >pool.csv <<'CSV'
org_name,uscc,town,title,field,target_plan,leader,planned_investment,requested_funding,rd_spend,revenue,high_tech,partner,maturity,notes
江苏汤臣汽车零部件有限公司,91320682053181941N,城北街道,候选甲 轻量化底盘,高端装备,如皋市科技计划,张伟,500,50,300,10000,是,南通大学,5,
南通华泰化工有限公司,91320682120538710X,长江镇,候选乙 绿色催化工艺,新材料,南通市科技计划,李娜,1200,400,100,3000,否,,9,
如皋市华宇光电科技有限公司,91320682251976788G,如皋经济技术开发区,候选丙 高精度光电模组,电子信息,国家重点研发计划,王强,200,100,600,10000,是,东南大学,3,
南通金鑫生物科技有限公司,91320682550879996M,九华镇,候选丁 生物酶制剂,生物医药,如皋市科技计划,赵敏,500,40,300,10000,是,江南大学,5,
CSV

db=$(fresh_db res)
run "$STPM" --db "$db" survey import pool.csv --year 2020
expect_rc 0 "the hand-made survey imports"
contains "$OUT" "4 new" "four candidates"

run "$STPM" --db "$db" --format csv reserve rank --year 2020
expect_rc 0 "reserve rank exits 0"
OUT=$(tr -d '\r' <<<"$OUT")
is "$(cut -d, -f1,4,6 <<<"$OUT")" "rank,title,score
1,候选丙 高精度光电模组,67.00
2,候选丁 生物酶制剂,66.50
3,候选甲 轻量化底盘,66.50
4,候选乙 绿色催化工艺,57.39" "ranking order and scores as computed by hand (ties by requested funding)"
is "$(sed -n 1p <<<"$OUT")" \
    "rank,entry,org,title,requested_funding,score,project,high_tech,rd_intensity,partner,maturity,planned_investment,leverage,target_level,missing" \
    "one breakdown column per criterion"
is "$(sed -n 5p <<<"$OUT" | cut -d, -f8-)" "0.00,13.89,0.00,20.00,15.00,6.00,2.50,partner" \
    "candidate B's breakdown, with the missing partner named"
is "$(sed -n 2p <<<"$OUT" | cut -d, -f8-)" "15.00,25.00,10.00,5.00,3.00,4.00,5.00," "candidate C's breakdown"

run "$STPM" --db "$db" --format json reserve rank --year 2020 --top 2
expect_rc 0 "--top 2 with JSON"
run python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(len(d), d[0]["score"], d[1]["leverage"])' <<<"$OUT"
is "$OUT" "2 67.0 10.0" "JSON: numbers, the best two"

run "$STPM" --db "$db" reserve rank --year 2020
contains "$OUT" "储备项目好中选优评分" "the table shows the scheme's title"
run "$STPM" --db "$db" reserve rank --year 2019
expect_rc 0 "an empty year ranks nothing"
contains "$OUT" "(0 rows)" "and says so"
run "$STPM" --db "$db" reserve rank
expect_rc 2 "rank needs --year"

# -- other weights
cat >w.yaml <<'YAML'
scoring: maturity_only
version: 2
title: 只看成熟度
criteria:
  maturity:
    label: 技术成熟度
    weight: 100
    input: maturity
    rule: {linear: {from: 1, to: 9}}
YAML
run "$STPM" --db "$db" --format csv reserve rank --year 2020 --weights w.yaml
is "$(cut -d, -f4,6 <<<"$OUT" | sed -n 2,5p | tr '\n' ' ')" \
    "候选乙 绿色催化工艺,100.00 候选丁 生物酶制剂,50.00 候选甲 轻量化底盘,50.00 候选丙 高精度光电模组,25.00 " \
    "--weights FILE replaces the shipped weights"
cat >bad.yaml <<'YAML'
scoring: bad
version: 1
title: x
criteria:
  a:
    label: a
    weight: 60
    input: nonsense
    rule: {present: true}
  b:
    label: b
    weight: 30
    input: maturity
    rule: {linear: {from: 9, to: 1}}
YAML
run "$STPM" --db "$db" reserve rank --year 2020 --weights bad.yaml
expect_rc 5 "a bad scoring file exits 5"
contains "$ERR" "bad.yaml:8:12: unknown survey column \"nonsense\"" "an unknown input is located FILE:LINE:COL"
contains "$ERR" "\"from\" must be less than \"to\"" "from >= to is reported"

# -- list
run "$STPM" --db "$db" --format csv reserve list --year 2020 --town 长江镇
expect_rc 0 "reserve list --town"
is "$(cut -d, -f7 <<<"$OUT" | tail -n +2)" "候选乙 绿色催化工艺" "only the candidate of 长江镇"
run "$STPM" --db "$db" reserve list --plan NOPE
expect_rc 6 "an unknown plan exits 6"

# -- promote
run "$STPM" --db "$db" workflow load "$STPM_SOURCE_ROOT/workflows/county_rugao.yaml"
expect_rc 0 "the Rugao workflow loads"
q "$db" "INSERT INTO stpm.plans (code, name, level, workflow_name) VALUES ('RGKJ', '如皋市科技计划', 'county', 'county_rugao')"
run "$STPM" --db "$db" --format csv reserve list --plan RGKJ
is "$(tail -n +2 <<<"$OUT" | wc -l)" "2" "list --plan: the two candidates aiming at 如皋市科技计划"
entry=$(q "$db" "SELECT left(id::text, 8) FROM stpm.reserve_entries WHERE title LIKE '候选丁%'")
imp=$(q "$db" "SELECT import_id FROM stpm.reserve_entries WHERE title LIKE '候选丁%'")
run "$STPM" --db "$db" --today 2020-11-02 reserve promote "$entry" --plan RGKJ
expect_rc 0 "promote by the short entry id"
contains "$OUT" "into project 2020-RGKJ-0001" "the project's code is printed"
is "$(q "$db" "SELECT p.title || '|' || o.uscc || '|' || l.name || '|' || p.year || '|' || p.field || '|' || p.amount_requested
    FROM stpm.projects p JOIN stpm.orgs o ON o.id = p.org_id JOIN stpm.leaders l ON l.id = p.leader_id")" \
    "候选丁 生物酶制剂|91320682550879996M|赵敏|2020|生物医药|40.0000" \
    "the project carries title, org, leader, year, field and the requested funding"
is "$(q "$db" "SELECT count(*) FROM stpm.reserve_entries r JOIN stpm.projects p ON p.id = r.project_id AND p.reserve_entry_id = r.id")" \
    "1" "entry and project point at each other"
is "$(q "$db" "SELECT seq || ' ' || kind || ' ' || (data->>'reserve_entry' LIKE '$entry%') || ' ' || (data->>'survey_import') FROM stpm.events WHERE chain LIKE 'project:%' ORDER BY seq LIMIT 1")" \
    "1 create true $imp" "the project's history starts with the candidate and its survey import"
run "$STPM" --db "$db" reserve promote "$entry" --plan RGKJ
expect_rc 3 "a second promotion is refused (exit 3)"
contains "$ERR" "promoted already, into project 2020-RGKJ-0001" "naming the existing project"
is "$(q "$db" "SELECT count(*) FROM stpm.projects")" "1" "no second project"
run "$STPM" --db "$db" --format csv reserve rank --year 2020
contains "$OUT" "2020-RGKJ-0001" "the ranking shows the promoted candidate's project"
run "$STPM" --db "$db" reserve promote ffffff00 --plan RGKJ
expect_rc 6 "an unknown entry exits 6"
run "$STPM" --db "$db" reserve promote 12 --plan RGKJ
expect_rc 2 "a too short prefix exits 2"
other=$(q "$db" "SELECT left(id::text, 8) FROM stpm.reserve_entries WHERE title LIKE '候选甲%'")
run "$STPM" --db "$db" reserve promote "$other" --plan NOPE
expect_rc 6 "an unknown plan exits 6"
is "$(q "$db" "SELECT count(*) FROM stpm.reserve_entries WHERE project_id IS NOT NULL")" "1" \
    "a failed promotion links nothing"

# -- the candidate's project (migration 103: checked once per statement, as a foreign key
# would; the test's connection is the cluster's superuser, which may write the tables)
err_of() { psql "$1" -qAtX -v VERBOSITY=verbose -c "$2" 2>&1 >/dev/null | head -n 2 | tr '\n' ' '; }
e=$(err_of "$db" "UPDATE stpm.reserve_entries SET project_id = gen_random_uuid() WHERE id::text LIKE '$other%'")
contains "$e" "ERROR:  23503: insert or update on table \"reserve_entries\" violates foreign key constraint \"reserve_entries_project_id_fkey\"" \
    "linking a candidate to a missing project is refused (23503)"
contains "$e" "is not present in table \"projects\"" "and the detail names the missing key"
e=$(err_of "$db" "INSERT INTO stpm.reserve_entries (survey_year, org_id, title, title_norm, row_digest, import_id, project_id)
    SELECT 2031, org_id, 't', 't', row_digest, import_id, gen_random_uuid() FROM stpm.reserve_entries LIMIT 1")
contains "$e" "ERROR:  23503: insert or update on table \"reserve_entries\" violates foreign key constraint \"reserve_entries_project_id_fkey\"" \
    "a new candidate of a missing project is refused"
is "$(err_of "$db" "BEGIN; UPDATE stpm.reserve_entries SET project_id = (SELECT id FROM stpm.projects)
    WHERE id::text LIKE '$other%'; ROLLBACK")" "" "linking a candidate to an existing project is not refused"
# (the other tables that refer to projects keep their foreign keys: the transactions below
# drop those first, to reach the candidates' check, and roll back)
others="DO \$\$ DECLARE c record; BEGIN
    FOR c IN SELECT conrelid::regclass AS t, conname FROM pg_constraint
              WHERE confrelid = 'stpm.projects'::regclass AND contype = 'f' LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.t, c.conname);
    END LOOP; END \$\$;"
e=$(err_of "$db" "BEGIN; $others DELETE FROM stpm.projects; ROLLBACK")
contains "$e" "ERROR:  23503: update or delete on table \"projects\" violates foreign key constraint \"reserve_entries_project_id_fkey\" on table \"reserve_entries\"" \
    "deleting a project that a candidate points at is refused"
contains "$e" "is still referenced from table \"reserve_entries\"" "and the detail says so"
e=$(err_of "$db" "BEGIN; $others UPDATE stpm.projects SET id = gen_random_uuid(); ROLLBACK")
contains "$e" "ERROR:  23503: update or delete on table \"projects\" violates foreign key constraint \"reserve_entries_project_id_fkey\"" \
    "changing the id of a project that a candidate points at is refused"
e=$(err_of "$db" "BEGIN; $others TRUNCATE stpm.projects; ROLLBACK")
contains "$e" "ERROR:  0A000:" "truncating the projects under a promoted candidate is refused"
is "$(err_of "$db" "BEGIN; $others UPDATE stpm.reserve_entries SET project_id = NULL;
    DELETE FROM stpm.projects; ROLLBACK")" "" "a project no candidate points at can be deleted"
e=$(err_of "$db" "BEGIN ISOLATION LEVEL REPEATABLE READ; DELETE FROM stpm.projects WHERE false; COMMIT")
contains "$e" "ERROR:  40001:" "deleting projects under a transaction snapshot is refused"
is "$(q "$db" "SELECT count(*) FROM stpm.projects p JOIN stpm.reserve_entries r ON r.project_id = p.id")" "1" \
    "and the candidate still points at its project"

drop_db "$db"
done_testing
