#!/usr/bin/env bash
# stpm workflow migrate: moving live projects to a newer workflow version (DESIGN §5).
# Version 2 of the test workflow drops the state `reviewing` (projects in it are stranded)
# and requires `town` in `applied` (reported, not blocking).
. "$(dirname "$0")/lib.sh"
need_db
SRC=$STPM_SOURCE_ROOT
V1=$SRC/tests/data/workflows/migrate_v1.yaml
V2=$SRC/tests/data/workflows/migrate_v2.yaml
export STPM_TODAY=2021-03-01

# Login roles shared by the cluster (roles are cluster-wide; creation tolerates a race).
need_logins mig_officer:officer mig_admin:admin

ORG=91320682MA1MXXXX9P
DB=$(fresh_db migrate)
OFF="$DB user=mig_officer"
ADM="$DB user=mig_admin"
sql() { psql "$DB" -qAtX -c "$1"; }
"$STPM" --db "$DB" workflow load "$V1" >/dev/null || echo "# workflow load failed" >&2
psql "$DB" -qAtX -v ON_ERROR_STOP=1 \
    -c "INSERT INTO stpm.plans (code, name, level, workflow_name) VALUES ('MIG', '迁移测试', 'county', 'migrate_test'), ('MIGB', '迁移测试乙', 'county', 'migrate_test')" \
    -c "INSERT INTO stpm.orgs (uscc, name, town) VALUES ('$ORG', '如皋某某科技有限公司', '如城街道')" >/dev/null
new_project() { # PLAN TITLE [--set ...] → prints the code
    local plan=$1 title=$2
    shift 2
    "$STPM" --db "$OFF" project create --plan "$plan" --org $ORG --title "$title" --leader 张三 "$@"
}
adv() { "$STPM" --db "$OFF" project advance "$@" >/dev/null; }

P_RESERVE=$(new_project MIG 储备中的项目)
P_APPLIED=$(new_project MIG 已申报未填板块)
adv "$P_APPLIED" apply
P_TOWN=$(new_project MIG 已申报已填板块 --set town=如城街道)
adv "$P_TOWN" apply
P_REVIEW=$(new_project MIG 评审中的项目)
adv "$P_REVIEW" apply && adv "$P_REVIEW" review
P_REJECTED=$(new_project MIG 未立项的项目)
adv "$P_REJECTED" reject --reason 材料不全
P_OTHER=$(new_project MIGB 另一计划的项目)
is "$(sql "SELECT count(*) FROM stpm.projects p JOIN stpm.workflows w ON w.id = p.workflow_id WHERE w.version = 1")" \
    "6" "six projects pinned to version 1"

"$STPM" --db "$DB" workflow load "$V2" >/dev/null || echo "# workflow load v2 failed" >&2
P_NEW=$(new_project MIG 新版本的项目)
is "$(sql "SELECT w.version FROM stpm.projects p JOIN stpm.workflows w ON w.id = p.workflow_id WHERE p.code = '$P_NEW'")" \
    "2" "a project created after loading version 2 is pinned to it"

# ---- refusals ----
run "$STPM" --db "$OFF" workflow migrate migrate_test --to 2 --dry-run
expect_rc 7 "an officer may not migrate, not even a dry run"
contains "$ERR" "permission denied" "and is told so"
run "$STPM" --db "$ADM" workflow migrate no_such_workflow --to 2
expect_rc 6 "an unknown workflow is not found"
contains "$ERR" "workflow no_such_workflow is not stored" "the message names it"
run "$STPM" --db "$ADM" workflow migrate migrate_test --to 9
expect_rc 6 "an unknown version is not found"
contains "$ERR" "workflow migrate_test version 9 is not stored" "the message names the version"
run "$STPM" --db "$ADM" workflow migrate migrate_test --to 2 --plan NOPE
expect_rc 6 "an unknown plan is not found"
run "$STPM" --db "$ADM" workflow migrate migrate_test
expect_rc 2 "--to is required"
run "$STPM" --db "$ADM" workflow migrate migrate_test --to two
expect_rc 2 "--to must be a version number"

# ---- dry run ----
events() { sql "SELECT count(*) FROM stpm.events WHERE kind = 'migrate'"; }
on_v1() { sql "SELECT string_agg(p.code, ' ' ORDER BY p.code) FROM stpm.projects p JOIN stpm.workflows w ON w.id = p.workflow_id WHERE w.version = 1"; }
before=$(on_v1)
run "$STPM" --db "$ADM" workflow migrate migrate_test --to 2 --dry-run
expect_rc 3 "a dry run that would strand a project exits 3"
contains "$OUT" "plan: workflow migrate_test to version 2: 6 projects, 5 move, 1 stranded" "the plan's summary"
line() { echo "$OUT" | grep -F "$1"; }
contains "$(line "$P_RESERVE")" "moves" "a project in reserve moves"
contains "$(line "$P_REJECTED")" "moves" "a project in a final state moves"
contains "$(line "$P_REVIEW")" "stranded: state reviewing does not exist in version 2" "a project in a removed state is stranded, with the reason"
contains "$(line "$P_APPLIED")" "town" "a missing field required in the state by version 2 is reported"
contains "$(line "$P_APPLIED")" "moves" "but does not block"
if line "$P_TOWN" | grep -q town; then fail "a project with the field set reports nothing missing"; else pass "a project with the field set reports nothing missing"; fi
if echo "$OUT" | grep -qF "$P_NEW"; then fail "a project already on version 2 is not listed"; else pass "a project already on version 2 is not listed"; fi
is "$(events)" "0" "the dry run wrote no event"
is "$(on_v1)" "$before" "the dry run moved nothing"

run "$STPM" --db "$ADM" workflow migrate migrate_test --to 2 --plan MIGB --dry-run
expect_rc 0 "a dry run of one plan where everything moves exits 0"
contains "$OUT" "$P_OTHER" "it lists the plan's project"
if echo "$OUT" | grep -qF "$P_RESERVE"; then fail "--plan leaves other plans out"; else pass "--plan leaves other plans out"; fi

run "$STPM" --db "$ADM" --format json workflow migrate migrate_test --to 2 --dry-run
expect_rc 3 "json dry run"
contains "$OUT" '"outcome": "stranded: state reviewing does not exist in version 2"' "json rows carry the outcome"

# ---- the real run ----
rv_before=$(sql "SELECT row_version FROM stpm.projects WHERE code = '$P_APPLIED'")
run "$STPM" --db "$ADM" workflow migrate migrate_test --to 2
expect_rc 3 "the real run exits 3 when some project is stranded"
contains "$OUT" "plan: workflow migrate_test to version 2" "the plan is printed first"
contains "$OUT" "moved 5 projects to migrate_test version 2; 1 stranded, left on its version" "and then what was done"
is "$(on_v1)" "$P_REVIEW" "only the stranded project stays pinned to version 1"
is "$(events)" "5" "one migrate event per moved project"
is "$(sql "SELECT e.from_state || ' ' || (e.data->>'from_version') || '->' || (e.data->>'to_version') || ' ' || (e.data->'missing_fields')::text FROM stpm.events e JOIN stpm.projects p ON p.id = e.project_id WHERE p.code = '$P_APPLIED' AND e.kind = 'migrate'")" \
    'applied 1->2 ["town"]' "the event records state, versions and the missing fields"
is "$(sql "SELECT e.actor FROM stpm.events e JOIN stpm.projects p ON p.id = e.project_id WHERE p.code = '$P_RESERVE' AND e.kind = 'migrate'")" \
    "mig_admin" "the event's actor is the administrator"
is "$(sql "SELECT state || ' ' || row_version FROM stpm.projects WHERE code = '$P_APPLIED'")" \
    "applied $((rv_before + 1))" "the state stays, the row version moves on"
is "$(sql "SELECT count(*) FROM stpm.events e JOIN stpm.projects p ON p.id = e.project_id WHERE p.code = '$P_REVIEW' AND e.kind = 'migrate'")" \
    "0" "the stranded project has no migrate event"
run "$STPM" --db "$DB" project history "$P_RESERVE"
contains "$OUT" "migrate" "the project's history shows the migration"
run "$STPM" --db "$DB" audit verify
expect_rc 0 "the history still verifies"

# ---- a second run ----
run "$STPM" --db "$ADM" workflow migrate migrate_test --to 2
expect_rc 3 "a second run still reports the stranded project"
contains "$OUT" "moved 0 projects" "and moves nothing"
is "$(events)" "5" "no new event"

# The moved projects follow version 2 now: approve leaves applied directly.
run "$STPM" --db "$OFF" project advance "$P_TOWN" approve
expect_rc 0 "a moved project takes a transition of version 2"
run "$STPM" --db "$OFF" project advance "$P_REVIEW" approve
expect_rc 0 "the stranded project still follows version 1"
run "$STPM" --db "$ADM" workflow migrate migrate_test --to 2
expect_rc 0 "once it left the removed state, a later run moves it and exits 0"
contains "$OUT" "moved 1 project to migrate_test version 2" "only that project moves"
is "$(on_v1)" "" "nothing is left on version 1"

drop_db "$DB"
done_testing
