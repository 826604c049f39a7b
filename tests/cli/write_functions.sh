#!/usr/bin/env bash
# The write functions of migrations/072 (issue 8, "the database is the only door"):
#   - the actor of every row and event they write is the connected role (session_user),
#     whatever the caller types;
#   - a role outside the groups that may call a function gets 42501 (psql) / exit 7 (CLI),
#     also when it was granted EXECUTE: the function checks the caller's group itself;
#   - ten concurrent `reserve promote` of one entry make one project; every loser exits
#     with a sentence naming the winner's project, never a constraint's name.
. "$(dirname "$0")/lib.sh"
need_db
SRC=$STPM_SOURCE_ROOT
export STPM_TODAY=2020-11-20

need_logins door_admin:admin door_officer:officer door_expert:expert door_auditor:auditor door_nobody

DB=$(fresh_db door)
ADM="$DB user=door_admin"
OFF="$DB user=door_officer"
EXP="$DB user=door_expert"
AUD="$DB user=door_auditor"
sql() { psql "$DB" -qAtX -c "$1"; }
run "$STPM" --db "$DB" db migrate
expect_rc 0 "migrate"
sql "GRANT CONNECT ON DATABASE ${DB##*dbname=} TO PUBLIC" >/dev/null

cat >"$TMP/pool.csv" <<'CSV'
org_name,uscc,town,title,field,target_plan,leader,planned_investment,requested_funding,rd_spend,revenue,high_tech,partner,maturity,notes
江苏汤臣汽车零部件有限公司,91320682053181941N,城北街道,候选甲 轻量化底盘,高端装备,如皋市科技计划,张伟,500,50,300,10000,是,南通大学,5,
南通华泰化工有限公司,91320682120538710X,长江镇,候选乙 绿色催化工艺,新材料,如皋市科技计划,李娜,1200,400,100,3000,否,,9,
CSV
cat >"$TMP/cal.yaml" <<'YAML'
2021:
  holidays: [2021-11-11]
YAML

# ---- every write function, each by the role that may call it ----
run "$STPM" --db "$ADM" workflow load "$SRC/workflows/county_rugao.yaml"
expect_rc 0 "admin: workflow load"
run "$STPM" --db "$ADM" plan add RGKJ --name 如皋市科技计划 --level county --workflow county_rugao
expect_rc 0 "admin: plan add"
run "$STPM" --db "$OFF" survey import "$TMP/pool.csv" --year 2020
expect_rc 0 "officer: survey import"
run "$STPM" --db "$OFF" org add --uscc 91320682MA1MXXXX9P --name 如皋某某科技有限公司 --town 如城街道
expect_rc 0 "officer: org add"
run "$STPM" --db "$OFF" org conflict 91320682MA1MXXXX9P --officer door_expert --reason 亲属任职
expect_rc 0 "officer: org conflict"
run "$STPM" --db "$ADM" org blacklist 91320682120538710X --reason 虚假申报 --from 2020-05-01
expect_rc 0 "admin: org blacklist"
run "$STPM" --db "$ADM" org unblacklist 91320682120538710X --reason 已整改
expect_rc 0 "admin: org unblacklist"
run "$STPM" --db "$ADM" report target set --year 2020 --metric applications --value 4
expect_rc 0 "admin: report target set"
run "$STPM" --db "$ADM" calendar set 2021-03-04 --holiday --note 县庆
expect_rc 0 "admin: calendar set"
run "$STPM" --db "$ADM" calendar unset 2021-03-04
expect_rc 0 "admin: calendar unset"
run "$STPM" --db "$ADM" calendar load "$TMP/cal.yaml"
expect_rc 0 "admin: calendar load"
run "$STPM" --db "$ADM" user add door_newbie --role expert
expect_rc 0 "admin: user add"
run "$STPM" --db "$OFF" project create --plan RGKJ --org 91320682MA1MXXXX9P --title 门测试项目 --leader 王五 --set amount_requested=10
expect_rc 0 "officer: project create"
P1=$OUT
entry=$(sql "SELECT left(id::text, 8) FROM stpm.reserve_entries WHERE title LIKE '候选甲%'")
run "$STPM" --db "$OFF" reserve promote "$entry" --plan RGKJ
expect_rc 0 "officer: reserve promote"
run "$STPM" --db "$ADM" audit checkpoint --generate-key --key "$TMP/k.pem" --out "$TMP/cp"
expect_rc 0 "admin: audit checkpoint"
contains "$OUT" "recorded in stpm.checkpoints" "the administrator's checkpoint is recorded"

# ---- the actor is the connected role ----
is "$(sql "SELECT count(*) FROM stpm.events")" "$(sql "SELECT count(*) FROM stpm.events WHERE actor IN ('door_admin', 'door_officer')")" \
    "every event was made by the role that was connected"
is "$(sql "SELECT string_agg(DISTINCT actor, ',' ORDER BY actor) FROM stpm.events WHERE chain LIKE 'project:%' OR chain LIKE 'survey:%'")" \
    "door_officer" "project creation, promotion and the survey import: the officer"
is "$(sql "SELECT string_agg(DISTINCT actor || ':' || (data->>'action'), ',' ORDER BY actor || ':' || (data->>'action')) FROM stpm.events WHERE kind = 'admin'")" \
    "door_admin:blacklist,door_admin:calendar_load,door_admin:calendar_set,door_admin:calendar_unset,door_admin:plan_add,door_admin:target_set,door_admin:unblacklist,door_admin:user_add,door_officer:conflict,door_officer:org_add" \
    "each administrative change names who made it"
is "$(sql "SELECT string_agg(DISTINCT imported_by, ',') FROM stpm.survey_imports")" "door_officer" "survey_imports.imported_by"
is "$(sql "SELECT added_by || ',' || lifted_by FROM stpm.blacklist")" "door_admin,door_admin" "blacklist.added_by and lifted_by"
is "$(sql "SELECT declared_by FROM stpm.conflicts")" "door_officer" "conflicts.declared_by"
is "$(sql "SELECT made_by FROM stpm.checkpoints")" "door_admin" "checkpoints.made_by"
is "$(sql "SELECT count(*) FROM stpm.projects p JOIN stpm.reserve_entries r ON r.project_id = p.id AND p.reserve_entry_id = r.id")" \
    "1" "the promoted entry and its project point at each other"

# Under another name typed in: the server still says who it was.
run psql "$OFF" -qAtX -v ON_ERROR_STOP=1 -c "SET ROLE stpm_officer; SELECT stpm.org_add('91320682MA1N0Q3BXD', '冒名公司', NULL, NULL, '2020-11-20')"
expect_rc 0 "SET ROLE to the group, then org_add"
is "$(sql "SELECT actor FROM stpm.events WHERE chain = 'org:91320682MA1N0Q3BXD'")" "door_officer" \
    "the actor is session_user, not the role set"

# ---- callers outside the groups ----
run "$STPM" --db "$EXP" org add --uscc 91320682MA1N0Q3BXD --name x --town y
expect_rc 7 "an expert may not add organisations (exit 7)"
run "$STPM" --db "$OFF" plan add XPLAN --name x --level county --workflow county_rugao
expect_rc 7 "an officer may not add plans"
run "$STPM" --db "$AUD" survey import "$TMP/pool.csv" --year 2021
expect_rc 7 "an auditor may not import surveys"
run "$STPM" --db "$AUD" project create --plan RGKJ --org 91320682MA1MXXXX9P --title x --leader y
expect_rc 7 "an auditor may not create projects"
run "$STPM" --db "$EXP" report target set --year 2020 --metric applications --value 9
expect_rc 7 "an expert may not set targets"
contains "$ERR" "permission denied" "and is told so"

# Every function of 072, table-driven: a role in no group, even with EXECUTE and USAGE
# granted, is refused by the function's own check with 42501 and a sentence.
calls=(
  "org_add('91320682MA1N0Q3BXD', 'x', NULL, NULL, current_date)"
  "org_update('91320682MA1MXXXX9P', 'x', NULL, NULL, current_date)"
  "blacklist_add('91320682MA1MXXXX9P', 'x', current_date, NULL, current_date)"
  "blacklist_lift('91320682MA1MXXXX9P', 'x', current_date)"
  "conflict_declare('91320682MA1MXXXX9P', 'door_admin', 'x', current_date)"
  "conflict_withdraw('91320682MA1MXXXX9P', 'door_expert', 'x', current_date)"
  "plan_add('XPLAN', 'x', 'county', 'county_rugao', false, current_date)"
  "target_set(2020, 'applications', NULL, 1, current_date)"
  "calendar_set(current_date, true, NULL, current_date)"
  "calendar_unset(current_date, current_date)"
  "calendar_load('{2021-01-04}', '{f}', NULL, 'x', current_date)"
  "checkpoint_record(1, 1, repeat('0', 64), 'k', 's')"
  "survey_import_apply(2020, 'x', repeat('0', 64), 'utf-8', current_date)"
  "project_create('RGKJ', '91320682MA1MXXXX9P', gen_random_uuid(), 'x', 'y', 2020, NULL, 'reserve', '{}', '{}', current_date)"
  "reserve_promote(gen_random_uuid(), 'RGKJ', gen_random_uuid(), NULL, NULL, 'reserve', '{}', '{}', current_date)"
  "project_migrate_one(gen_random_uuid(), 1, gen_random_uuid(), gen_random_uuid(), current_date, NULL)"
  "user_add('door_x', 'admin', NULL, current_date)"
)
for c in "${calls[@]}"; do
    f=${c%%(*}
    run psql "$DB user=door_nobody" -qAtX -v ON_ERROR_STOP=1 -c "SELECT stpm.$c"
    contains "$ERR" "permission denied" "without a grant: stpm.$f is not callable"
done
sql "GRANT USAGE ON SCHEMA stpm TO door_nobody; GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA stpm TO door_nobody" >/dev/null
for c in "${calls[@]}"; do
    f=${c%%(*}
    run psql "$DB user=door_nobody" -qAtX -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "SELECT stpm.$c"
    contains "$ERR" "ERROR:  42501: only " "with EXECUTE granted: stpm.$f checks the caller's group (42501, a sentence)"
done
run psql "$EXP" -qAtX -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "SELECT stpm.$c"
contains "$ERR" "42501" "an expert is refused as well"
is "$(sql "SELECT count(*) FROM stpm.events WHERE actor IN ('door_nobody', 'door_expert')")" "0" "and nothing was written"

# Self-made staging tables are not read unless they are what the import makes.
run psql "$OFF" -qAtX -v ON_ERROR_STOP=1 -v VERBOSITY=verbose \
    -c "BEGIN; CREATE TEMP VIEW stpm_survey_stage AS SELECT 1 AS rownum; SELECT * FROM stpm.survey_import_apply(2020, 'x', repeat('0', 64), 'utf-8', current_date)"
contains "$ERR" "22023: the staged survey rows are not in the expected form" "a view as staging table is refused"

# ---- ten concurrent promotions of one entry ----
entry=$(sql "SELECT left(id::text, 8) FROM stpm.reserve_entries WHERE title LIKE '候选乙%'")
for i in 1 2 3 4 5 6 7 8 9 10; do
    (rc=0
     "$STPM" --db "$OFF" reserve promote "$entry" --plan RGKJ >"$TMP/p$i.out" 2>"$TMP/p$i.err" || rc=$?
     echo $rc >"$TMP/p$i.rc") &
done
wait
is "$(sql "SELECT count(*) FROM stpm.projects p JOIN stpm.reserve_entries r ON r.id = p.reserve_entry_id WHERE r.title LIKE '候选乙%'")" \
    "1" "ten concurrent promotions: exactly one project"
code=$(sql "SELECT p.code FROM stpm.projects p JOIN stpm.reserve_entries r ON r.project_id = p.id WHERE r.title LIKE '候选乙%'")
won=0 lost=0 bad=""
for i in 1 2 3 4 5 6 7 8 9 10; do
    rc=$(cat "$TMP/p$i.rc")
    if [ "$rc" = 0 ]; then
        won=$((won + 1))
    elif { [ "$rc" = 4 ] && grep -q "reserve entry $entry was promoted meanwhile, into project $code" "$TMP/p$i.err"; } ||
         { [ "$rc" = 3 ] && grep -q "reserve entry $entry was promoted already, into project $code" "$TMP/p$i.err"; }; then
        lost=$((lost + 1))
    else
        bad="$bad [exit $rc: $(cat "$TMP/p$i.err")]"
    fi
    if grep -qi "constraint\|violates\|duplicate key\|one_promotion" "$TMP/p$i.err"; then
        bad="$bad [constraint text: $(cat "$TMP/p$i.err")]"
    fi
done
is "$won/$lost$bad" "1/9" "one winner; each loser exits 4 (promoted meanwhile) or 3 (already), naming $code"
echo "# losers: $(cat "$TMP"/p*.rc | sort | uniq -c | tr '\n' ' ')"

# ---- what psql cannot do through the functions either (the security review's findings) ----
sqlstate_of() { # CONNINFO SQL: the SQLSTATE psql reports, or "ok"
    psql "$1" -qAtX -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c '\set VERBOSITY verbose' -c "$2" 2>&1 >/dev/null |
        sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -n 1 | grep . || echo ok
}
wid=$(sql "SELECT id FROM stpm.workflows WHERE name = 'county_rugao' ORDER BY version DESC LIMIT 1")
n0=$(sql "SELECT count(*) FROM stpm.projects")
is "$(sqlstate_of "$OFF" "SELECT stpm.project_create('RGKJ', '91320682MA1MXXXX9P', '$wid', '越级项目', '王五', 2021, NULL, 'approved', '{}', '{}', '2021-01-04')")" \
    "22023" "project_create: a project cannot be born past the workflow's initial state"
is "$(sqlstate_of "$OFF" "SELECT stpm.project_create('RGKJ', '91320682MA1MXXXX9P', '$wid', '越级项目', '王五', 2021, NULL, 'reserve', '{}', '{\"amount_approved\": 500}', '2021-01-04')")" \
    "22023" "project_create: nor with an approved amount"
is "$(sqlstate_of "$OFF" "SELECT stpm.project_create('RGKJ', '91320682MA1MXXXX9P', '$wid', '越级项目', '王五', 2021, NULL, 'reserve', '{}', '{\"closed_date\": \"2024-01-01\"}', '2021-01-04')")" \
    "22023" "project_create: nor closed"
is "$(sql "SELECT count(*) FROM stpm.projects")" "$n0" "no project was created"
is "$(sqlstate_of "$DB user=door_expert" "SELECT stpm.conflict_withdraw('91320682MA1MXXXX9P', 'door_expert', '不再回避', '2021-01-04')")" \
    "42501" "the officer bound by a conflict of interest cannot withdraw it"
is "$(sql "SELECT count(*) FROM stpm.conflicts WHERE officer = 'door_expert'")" "1" "the conflict is still declared"
# The staging table exactly as core/survey/import.c makes it — then with what the planner
# would run as the owner (a CHECK constraint, an index): refused.
STAGE="CREATE TEMP TABLE stpm_survey_stage (rownum integer NOT NULL, id uuid NOT NULL, org_new_id uuid NOT NULL,
 uscc char(18) NOT NULL, org_name text NOT NULL, town text, title text NOT NULL, title_norm text COLLATE \"C\" NOT NULL,
 field text, target_plan text, leader text, planned_investment numeric(18,4), requested_funding numeric(18,4),
 rd_spend numeric(18,4), revenue numeric(18,4), high_tech boolean, partner text, maturity integer, notes text,
 row_digest char(64) NOT NULL); GRANT SELECT ON stpm_survey_stage TO stpm_owner;"
CALL="SELECT * FROM stpm.survey_import_apply(2020, 'x.csv', repeat('0', 64), 'utf-8', '2020-11-20')"
is "$(sqlstate_of "$OFF" "BEGIN; $STAGE $CALL; ROLLBACK")" "ok" "the plain staging table is read (an empty survey)"
is "$(sqlstate_of "$OFF" "BEGIN; $STAGE ALTER TABLE stpm_survey_stage ADD CHECK (rownum > 0); $CALL; ROLLBACK")" \
    "22023" "survey_import_apply refuses a staging table with a check constraint"
is "$(sqlstate_of "$OFF" "BEGIN; $STAGE CREATE INDEX ON stpm_survey_stage ((rownum + 1)); $CALL; ROLLBACK")" \
    "22023" "and one with an index"

drop_db "$DB"
done_testing
