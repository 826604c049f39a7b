#!/usr/bin/env bash
# Scheduled checks (中期检查, DESIGN §3): the workflow's `checks:` block validated and
# stored, `project checks` scheduled / overdue / done as of a date, the outcomes recorded
# from the events (pass with who and date and report document, the rectify loop, fail),
# `audit checks`, the shipped national workflow's mid-term check.
. "$(dirname "$0")/lib.sh"
need_db
need_source
keep_going
WF=$SRC/tests/data/midterm_test.yaml
ORG=91320682MA1MXXXX9P

need_logins mt_officer:officer mt_expert:expert mt_auditor:auditor

# ---- the checks block is validated ----------------------------------------------------
run "$STPM" workflow check "$WF"
expect_rc 0 "the test workflow with two checks is valid"
bad() { # SED-SCRIPT → $TMP/bad.yaml
    sed "$1" "$WF" > "$TMP/bad.yaml"
    run "$STPM" workflow check "$TMP/bad.yaml"
}
bad 's/after: 13mo/after: 13q/'
expect_rc 5 "a bad duration is refused"
contains "$ERR" 'bad.yaml:42:12: bad duration "13q"' "at its line and column"
bad '0,/of: start_date/s//of: rectify_duee/'
contains "$ERR" 'bad.yaml:43:9: unknown field "rectify_duee" in of' "an unknown of field"
bad '0,/of: start_date/s//of: title/'
contains "$ERR" 'check field "title" is not a date (it is text)' "a non-date of field"
bad '0,/of: start_date/s//of: state_since/'
contains "$ERR" 'check field "state_since" is not a field transitions set' "state_since is not counted from"
bad 's/in: \[in_progress\]/in: [in_progress, terminated, nowhere]/'
contains "$ERR" 'applies in final state "terminated"' "a final state in in"
contains "$ERR" 'unknown state "nowhere" in in' "an unknown state in in"
bad 's/pass: check_pass/pass: check_passed/'
contains "$ERR" 'bad.yaml:45:11: unknown transition "check_passed" in pass' "an unknown pass transition"
bad 's/fail: terminate/fail: rectify/'
contains "$ERR" 'transition "rectify" is both the rectify and the fail outcome of check "midterm"' \
    "one transition for two outcomes"
bad 's/pass: check_pass/pass: accept/'
contains "$ERR" 'pass transition "accept" of check "midterm" does not leave any state the check applies in' \
    "an outcome transition that leaves none of the check's states"
bad 's/    label: 年度报告/    label: 年度报告\n    when: today > start_date/'
contains "$ERR" 'unknown key "when" in a check' "an unknown key in a check"
bad '0,/    after: 13mo/s///'
contains "$ERR" 'check has no "after"' "after is required"
bad 's/^  annual:/  midterm:/'
contains "$ERR" 'duplicate key "midterm" in checks' "a check declared twice"

# ---- stored, scheduled, overdue ----------------------------------------------------------
DB=$(fresh_db midterm)
OFF="$DB user=mt_officer"
EXP="$DB user=mt_expert"
AUD="$DB user=mt_auditor"
run "$STPM" --db "$DB" workflow load "$WF"
expect_rc 0 "workflow load"
psql "$DB" -qAtX -v ON_ERROR_STOP=1 \
    -c "INSERT INTO stpm.plans (code, name, level, workflow_name) VALUES ('MID', '中期检查测试', 'county', 'midterm_test')" \
    -c "INSERT INTO stpm.orgs (uscc, name, town) VALUES ('$ORG', '如皋某某科技有限公司', '如城街道')" >/dev/null
sql() { psql "$DB" -qAtX -c "$1"; }
is "$(sql "SELECT string_agg(name || ' ' || after_n || after_unit || ' ' || of_field || ' ' || array_to_string(in_states, '|') || ' ' || pass || ' ' || coalesce(rectify, '-') || ' ' || coalesce(fail, '-'), '; ' ORDER BY ord) FROM stpm.workflow_checks")" \
    "midterm 13mo start_date in_progress check_pass rectify terminate; annual 1y start_date in_progress|checked annual_report - -" \
    "workflow load stores the checks (in: defaults to where pass is taken from)"
run "$STPM" --db "$DB" workflow show midterm_test
contains "$OUT" "midterm      中期检查  after 13mo of start_date  in in_progress  pass: check_pass  rectify: rectify  fail: terminate" \
    "workflow show lists the checks"

new() { "$STPM" --db "$OFF" --today 2021-01-05 project create --plan MID --org $ORG --title "$1" --leader 张三; }
P1=$(new 项目一)
P2=$(new 项目二)
P3=$(new 项目三)
run "$STPM" --db "$OFF" --today 2021-01-20 project checks "$P1"
expect_rc 0 "project checks before the project started"
contains "$OUT" "no check scheduled or held" "lists nothing before the check applies"
for p in "$P1" "$P2" "$P3"; do
    "$STPM" --db "$OFF" --today 2021-01-31 project advance "$p" start >/dev/null
done
row() { # CODE AS-OF CHECK → "due status outcome date by" of the check's last row
    "$STPM" --db "$AUD" --format csv project checks "$1" --as-of "$2" |
        awk -F, -v c="$3" '$1 == c { r = $3 " " $4 " " $5 " " $6 " " $7 } END { print r }'
}
is "$(row "$P1" 2021-02-01 midterm)" "2022-02-28 scheduled   " \
    "started 2021-01-31: the 13-month check is due 2022-02-28 (the month's last day)"
is "$(row "$P1" 2021-02-01 annual)" "2022-01-31 scheduled   " "the 1-year check on 2022-01-31"
is "$(row "$P1" 2022-02-28 midterm)" "2022-02-28 scheduled   " "on its due date it is not yet overdue"
is "$(row "$P1" 2022-03-01 midterm)" "2022-02-28 overdue   " "the day after it is overdue"
run env STPM_TODAY=2022-03-01 "$STPM" --db "$AUD" --format csv project checks "$P1"
contains "$OUT" "midterm,中期检查,2022-02-28,overdue" "--today is the default as-of date"

# ---- outcomes recorded ------------------------------------------------------------------
echo 中期检查报告 > "$TMP/report.pdf"
run "$STPM" --db "$EXP" --today 2022-03-10 project advance "$P1" check_pass --attach midterm_report="$TMP/report.pdf"
expect_rc 0 "an expert takes check_pass with the report attached"
sha=$(sha256sum "$TMP/report.pdf" | cut -d' ' -f1)
run "$STPM" --db "$AUD" --format json project checks "$P1" --as-of 2022-03-10
expect_rc 0 "project checks --format json"
is "$(printf '%s' "$OUT" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
print(sorted(rows[0].keys()))
r = [x for x in rows if x["check"] == "midterm"][0]
print(r["label"], r["due"], r["status"], r["outcome"], r["date"], r["by"], r["report"], r["report_sha256"], type(r["seq"]).__name__)')" \
    "['by', 'check', 'date', 'due', 'label', 'outcome', 'reason', 'report', 'report_sha256', 'seq', 'status']
中期检查 2022-02-28 done pass 2022-03-10 mt_expert midterm_report report.pdf $sha int" \
    "check_pass records pass: date, who (the expert's role), the report and its digest"
is "$(row "$P1" 2022-03-09 midterm)" "2022-02-28 overdue   " "as of the day before the pass it was overdue"
is "$(row "$P1" 2022-12-31 annual)" "2022-01-31 overdue   " "the other check stays open in state checked"
run "$STPM" --db "$AUD" audit checks --as-of 2022-12-31
contains "$OUT" "$P1" "audit checks lists the overdue annual check"
contains "$(grep "$P1" <<<"$OUT")" "annual" "naming the check"
contains "$(grep "$P1" <<<"$OUT")" "334" "and the days late"
run "$STPM" --db "$OFF" --today 2023-01-05 project advance "$P1" annual_report
is "$(row "$P1" 2023-01-05 annual)" "2022-01-31 done pass 2023-01-05 mt_officer" \
    "a pass transition that stays in the state records pass too"

# the rectify loop: rectify, rectified, check_pass
"$STPM" --db "$EXP" --today 2022-02-20 project advance "$P2" rectify --reason 进度滞后 >/dev/null
"$STPM" --db "$OFF" --today 2022-04-01 project advance "$P2" rectified >/dev/null
run "$STPM" --db "$AUD" --format csv project checks "$P2" --as-of 2022-04-01
contains "$OUT" "midterm,中期检查,2022-02-28,done,rectify,2022-02-20,mt_expert" "rectify is recorded"
contains "$OUT" "进度滞后" "with its reason"
contains "$OUT" "midterm,中期检查,2022-02-28,overdue" "and the check stays open: overdue back in in_progress"
is "$(row "$P2" 2022-03-15 midterm)" "2022-02-28 scheduled   " "while rectifying it is not overdue"
"$STPM" --db "$EXP" --today 2022-04-15 project advance "$P2" check_pass >/dev/null
is "$("$STPM" --db "$AUD" --format csv project checks "$P2" --as-of 2022-05-01 | awk -F, '$1 == "midterm" { print $4, $5, $6 }' | tr '\n' ';')" \
    "done rectify 2022-02-20;done pass 2022-04-15;" "the loop records rectify, then pass"
"$STPM" --db "$EXP" --today 2022-05-01 project advance "$P2" rectify --reason 验收前整改 >/dev/null
is "$(sql "SELECT count(*) FROM stpm.checks c JOIN stpm.projects p ON p.id = c.project_id WHERE p.code = '$P2' AND c.kind = 'midterm'")" \
    "2" "rectify after the check passed (from checked) records nothing more"

# fail, and what an open check becomes when the project closes
"$STPM" --db "$OFF" --today 2022-03-05 project advance "$P3" terminate --reason 资金未到位 >/dev/null
is "$(row "$P3" 2022-03-05 midterm)" "2022-02-28 done fail 2022-03-05 mt_officer" "terminate records fail"
is "$(row "$P3" 2022-03-05 annual)" "2022-01-31 missed   " "the annual check left open is missed"
run "$STPM" --db "$AUD" --format csv audit checks --as-of 2022-03-06
expect_rc 0 "audit checks --as-of 2022-03-06"
is "$(grep -c "$P3" <<<"$OUT")" "0" "a closed project's checks are not overdue"

# the records are derived from the events
is "$(sql "SELECT count(*) FROM (SELECT project_id, seq, kind, outcome, scheduled_on, done_on, recorded_by, notes, documents FROM stpm.checks
           EXCEPT SELECT o.project_id, o.seq, o.kind, o.outcome, o.due, o.done_on, o.done_by, o.reason, o.documents
           FROM stpm.projects p, stpm.check_outcomes(p.id, NULL) o) x")" "0" \
    "every recorded outcome is recomputed from the events alone"
is "$(sql "SELECT count(*) FROM stpm.checks")" "$(sql "SELECT count(*) FROM stpm.projects p, stpm.check_outcomes(p.id, NULL) o")" \
    "and nothing more"
run psql "$DB user=mt_officer" -qAtX -c "UPDATE stpm.checks SET outcome = 'pass'"
contains "$ERR" "permission denied" "no role may edit a recorded outcome"

# errors
run "$STPM" --db "$AUD" project checks 2021-MID-9999
expect_rc 6 "an unknown code exits 6"
contains "$ERR" "project 2021-MID-9999 does not exist" "and says so"
run "$STPM" --db "$AUD" project checks "$P1" --as-of 2022-13-01
expect_rc 2 "a bad --as-of is a usage error"
run "$STPM" --db "$AUD" audit checks --as-of 2022-12-31 --fail-if-any
expect_rc 3 "audit checks --fail-if-any exits 3 when any is overdue"
run "$STPM" --db "$AUD" audit checks --as-of 2021-06-01 --fail-if-any
expect_rc 0 "and 0 when none is"
contains "$OUT" "no scheduled check was overdue on 2021-06-01" "saying so"
drop_db "$DB"

# ---- the shipped national workflow --------------------------------------------------------
DB=$(fresh_db midterm_nat)
run "$STPM" --db "$DB" workflow load "$SRC/workflows/national_key_rd.yaml"
expect_rc 0 "the shipped national workflow loads"
is "$(psql "$DB" -qAtX -c "SELECT name || ' ' || after_n || after_unit || ' ' || pass FROM stpm.workflow_checks")" \
    "midterm 18mo check_pass" "and declares its mid-term check"
drop_db "$DB"

done_testing
