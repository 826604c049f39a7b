#!/usr/bin/env bash
# stpm demo, the guided tour: on a fresh database given with --db, twice (on two fresh
# databases: the same story each time), refused on a database that is not empty; then on
# the embedded cluster of a temporary home, twice (its own database stpm_demo is dropped
# and created again). Checks the key lines of each step and the final state.
. "$(dirname "$0")/lib.sh"
need_db
unset STPM_TODAY
# The tours' working directories go to a TMPDIR of this test's own, so that the check that
# none is left behind does not count those of other tests running at the same time.
export TMPDIR="$TMP/tmpdir"
mkdir -p "$TMPDIR"

# key_lines OUT: the lines every tour prints, in this order of steps.
check_tour() { # OUT LABEL
    local out=$1 l=$2
    contains "$out" "== 1. Workflows (流程定义)" "$l: step 1 heading"
    contains "$out" "stored workflow provincial_key_rd_industry version 2" "$l: the six workflows load"
    contains "$out" "added plan RGSP 如皋市科技计划 (county, funded, workflow county_rugao)" "$l: the plans are added"
    contains "$out" "== 3. Users and roles (用户与角色)" "$l: the users step"
    contains "$out" "user wang_officer to stpm_officer" "$l: the officer is added"
    contains "$out" "user li_auditor to stpm_auditor" "$l: the auditor is added"
    # other tests of the same cluster add roles of their own: the columns may be wider
    if printf '%s\n' "$out" | grep -Eq '^wang_officer +officer +yes'; then
        pass "$l: user list shows the officer"
    else
        fail "$l: user list shows the officer" "no line 'wang_officer  officer  yes' in user list"
    fi
    contains "$out" "wang_officer\$ stpm --today 2020-10-31 survey import survey-2020.xlsx" "$l: the officer imports the survey's workbook"
    contains "$out" "  1  2020-11-16  wang_officer  create" "$l: history names the officer as actor"
    contains "$out" " 12  2022-06-20  wang_officer  transition  accept" "$l: of every transition"
    contains "$out" "\$ stpm org blacklist 91320682887426300L" "$l: the administrator keeps the blacklist"
    contains "$out" "li_auditor\$ stpm project advance 2021-RGSP-0001 submit_acceptance" "$l: the auditor tries to advance"
    contains "$out" "permission denied: the role may not change projects" "$l: and is refused (exit 7)"
    contains "$out" "li_auditor\$ stpm audit verify --checkpoint" "$l: the auditor verifies"
    contains "$out" "survey-2020.xlsx: 51 candidates for 2020: 51 new, 0 updated, 0 unchanged" "$l: the survey imports from the workbook"
    contains "$out" "survey-2020.csv: 51 candidates for 2020: 0 new, 0 updated, 51 unchanged" "$l: the same survey as CSV holds the same rows"
    contains "$out" "nothing changed: the reserve pool already holds this survey" "$l: and importing it changes nothing"
    contains "$out" "储备项目好中选优评分" "$l: the ranking with its scheme"
    contains "$out" "into project 2021-PKRD-0001" "$l: the best candidate is promoted"
    contains "$out" "into project 2021-RGSP-0001" "$l: and the best for the county plan"
    contains "$out" "document integrity_commitment is not attached" "$l: why names the missing commitment"
    contains "$out" "attached integrity_commitment 廉政承诺书-2021-PKRD-0001.txt" "$l: commitments are attached"
    contains "$out" "blacklisted 91320682887426300L from 2020-05-01 until 2023-04-30" "$l: an org is blacklisted"
    contains "$out" "2021-PKRD-0001: admit applied → admitted" "$l: integrity admission"
    contains "$out" "transition admit of project 2021-PKRD-0003 is refused" "$l: the blacklisted org is refused"
    contains "$out" "is on the credit blacklist: 虚假申报 (2020-05-01 – 2023-04-30)" "$l: with credit_clean's evidence"
    contains "$out" "2021-PKRD-0003: reject applied → rejected" "$l: and rejected"
    contains "$out" '"amount_approved": 320.0000' "$l: approved amounts are set"
    contains "$out" "tick: 0 timers due" "$l: no timer before five working days"
    contains "$out" "tick: 4 timers due, 4 fired" "$l: the timers fire on the make-up Saturday"
    contains "$out" "tick: 1 timers due, 1 fired" "$l: the national programme's after seven"
    contains "$out" "2021-RGSP-0001: start approved → in_progress" "$l: task books start the work"
    contains "$out" '"due_date": "2021-12-31"' "$l: a task book sets a due date"
    contains "$out" "2021-PKRD-0001: check_pass in_progress → checked" "$l: a mid-term check"
    contains "$out" "2021-NTSP-0001: accept accepting → accepted" "$l: an acceptance"
    contains "$out" "2021-RGSP-0001  协作机器人力控打磨工作站" "$l: the overdue project is listed"
    contains "$out" "audit unclosed --as-of 2022-06-30" "$l: the auditor asks what is due but unclosed"
    contains "$out" "verified 74 events in 15 chains" "$l: audit verify passes"
    contains "$out" "15 chain heads checked" "$l: against the signed checkpoint"
    contains "$out" "\$ stpm report summary --year 2021 --by level --format xlsx --output report-2021.xlsx" "$l: the year's report as a workbook"
    if grep -Eq "^It is in the tour's directory: .*/stpm-demo\.[A-Za-z0-9]+/report-2021\.xlsx\$" <<<"$out"; then
        pass "$l: the tour says where the workbook is"
    else
        fail "$l: the tour says where the workbook is"
    fi
    contains "$out" "target 2021 funding (municipal_and_above): 3000" "$l: the year's targets"
    contains "$out" "funding       municipal_and_above   3000.00  1360.00  45.3%" "$l: with their completion"
    contains "$out" "== The end of the tour" "$l: the tour ends"
}

# normalise: the tour's output without what differs from run to run: the database's
# name, the temporary directory, ids (UUIDs, entry prefixes), digests, timestamps and
# timings; and whether a user was created or (roles being the cluster's) found and granted.
normalise() {
    sed -E 's/t_demo_[0-9_]+/DB/g
            s/^(created|added) user /ADDED user /
            s/stpm-demo\.[A-Za-z0-9]+/stpm-demo.X/g
            s/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/UUID/g
            s/[0-9a-f]{8,64}/HEX/g
            s/[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}Z?/TIMESTAMP/g
            s/in [0-9.]+ s \([0-9]+ events\/s\)/in TIME/' |
        # `user list` shows the cluster's roles: those of tests running beside this one too
        awk '/^\$ stpm user list/ { users = 1 }
             users && /^\([0-9]+ rows?\)$/ { print "(N rows)"; users = 0; next }
             users && /^[a-z]/ && !/^(user|li_auditor|wang_officer) / { next }
             { print }'
}

db1=$(fresh_db demo)
run "$STPM" --db "$db1" demo
expect_rc 0 "demo --db on an empty database exits 0"
check_tour "$OUT$ERR" "--db"
overdue=$(psql "$db1" -qAtX -c "SELECT string_agg(code, ' ' ORDER BY code) FROM stpm.projects WHERE state NOT IN ('accepted', 'terminated', 'rejected') AND due_date < '2022-06-30'")
is "$overdue" "2021-RGSP-0001" "one project is left overdue (应结未结) as of 2022-06-30"
is "$(psql "$db1" -qAtX -c "SELECT string_agg(code || ':' || state, ' ' ORDER BY code) FROM stpm.projects")" \
    "2021-NKRD-0001:in_progress 2021-NTSP-0001:accepted 2021-PKRD-0001:checked 2021-PKRD-0002:in_progress 2021-PKRD-0003:rejected 2021-RGSP-0001:in_progress" \
    "the projects end in the states the tour tells"
is "$(psql "$db1" -qAtX -c "SELECT count(*) FROM stpm.documents WHERE kind = 'integrity_commitment'")" "6" \
    "six integrity commitments are stored"
first=$(normalise <<<"$OUT")
# the tour's workbook is removed with its directory: the same command on its database
run env -C "$TMP" "$STPM" --db "$db1" --today 2022-06-30 report summary --year 2021 --by level --format xlsx --output report-2021.xlsx
expect_rc 0 "the tour's report command writes the workbook"
contains "$(unzip -l "$TMP/report-2021.xlsx")" "xl/charts/chart1.xml" "with its chart"
contains "$(unzip -p "$TMP/report-2021.xlsx" xl/charts/chart1.xml)" "<c:f>'report summary'!\$A\$4:\$A\$7</c:f>" "bars for the four levels"
contains "$(unzip -p "$TMP/report-2021.xlsx" xl/sharedStrings.xml)" "<t>national</t>" "the levels are in the sheet"

run "$STPM" --db "$db1" demo
expect_rc 4 "demo on a database that is not empty is refused (exit 4)"
contains "$ERR" "the database is not empty" "and says why"
contains "$ERR" "stpm_demo" "the hint names the tour's own database"

db2=$(fresh_db demo)
run "$STPM" --db "$db2" demo
expect_rc 0 "demo on a second fresh database exits 0"
second=$(normalise <<<"$OUT")
if [ "$first" = "$second" ]; then
    pass "the second tour tells the same story (but for ids, digests and paths)"
else
    fail "the second tour tells the same story" "$(diff <(echo "$first") <(echo "$second") | head -20 | tr '\n' '|')"
fi
# A step that does not go as the story needs stops the tour with that step's status: with
# Saturday 2021-02-20 made a holiday, the timers do not fire and the task books are refused.
db3=$(fresh_db demo)
"$STPM" --db "$db3" calendar set 2021-02-20 --holiday --note 测试 >/dev/null
run "$STPM" --db "$db3" demo
expect_rc 3 "a step refused half-way stops the tour with its exit status"
contains "$ERR" "the tour stops at step 13" "and names the step"
contains "$ERR" "is refused" "after the command's own message"
if grep -q "== 14\." <<<"$OUT"; then fail "no step runs after the failing one"; else pass "no step runs after the failing one"; fi
drop_db "$db3"
is "$(psql "$db1" -qAtX -c "SELECT string_agg(DISTINCT actor, ' ' ORDER BY actor) FROM stpm.events e JOIN stpm.projects p ON p.id = e.project_id WHERE p.code = '2021-NTSP-0001'")" \
    "wang_officer" "every event of a project was made by the officer (the actor is the role connected)"

run "$STPM" --db "$db2" demo --help
contains "$OUT" "usage: stpm demo" "demo --help"
run "$STPM" --db "$db2" demo extra
expect_rc 2 "demo takes no operands"
drop_db "$db1"
drop_db "$db2"

# The embedded cluster of a temporary home: stpm_demo, dropped and created again.
export STPM_EMBEDDED_NOSYNC=1
unset STPM_DB PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE
H="$TMP/home"
cleanup() {
    "$STPM" --home "$H" db stop >/dev/null 2>&1 || true
    if [ -L "$H/cluster" ]; then rm -rf "$(readlink -f "$H/cluster")"; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
run "$STPM" --home "$H" demo
expect_rc 0 "demo on the embedded cluster of a new home exits 0"
contains "$OUT" "its own database, stpm_demo, of the embedded cluster in $H" "it names its own database"
check_tour "$OUT$ERR" "embedded"
run "$STPM" --home "$H" demo
expect_rc 0 "a second demo on the same home exits 0 (repeatable)"
check_tour "$OUT$ERR" "embedded again"
run "$STPM" --home "$H" --format csv project list
is "$(tr -d "\r" <<<"$OUT")" "code,title,org_name,town,plan,level,year,field,state,state_since,leader,due,overdue" \
    "the home's own database stpm holds none of the tour's projects"
is "$(ls -d "$TMPDIR"/stpm-demo.* 2>/dev/null | wc -l)" "0" "the tours leave no temporary directory behind"

done_testing
