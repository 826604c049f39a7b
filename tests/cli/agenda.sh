#!/usr/bin/env bash
# The officer's agenda (issue 13, docs/agenda.md): deadlines ahead within the window with
# the days and working days left, overdue ones (应结未结) first and marked, timers tick will
# fire, `--mine` through `project assign` (an event), JSON/CSV, the iCalendar export (CRLF,
# folding, stable UIDs), and the warning of a count across a provisional calendar year.
. "$(dirname "$0")/lib.sh"
need_db
need_source
keep_going
ORG=91320682MA1MXXXX9P

need_logins ag_officer:officer ag_officer2:officer ag_auditor:auditor

DB=$(fresh_db agenda)
OFF="$DB user=ag_officer"
OFF2="$DB user=ag_officer2"
"$STPM" --db "$DB" workflow load "$SRC/workflows/county_rugao.yaml" >/dev/null
psql "$DB" -qAtX -v ON_ERROR_STOP=1 \
    -c "INSERT INTO stpm.plans (code, name, level, workflow_name) VALUES ('RG', '如皋市科技计划', 'county', 'county_rugao')" \
    -c "INSERT INTO stpm.orgs (uscc, name, town) VALUES ('$ORG', '如皋某某科技有限公司', '如城街道')" >/dev/null
sql() { psql "$DB" -qAtX -c "$1"; }
echo form > "$TMP/form.pdf"
st() { "$STPM" --db "$OFF" --today "$@"; }

# Four projects: three publicized on 2026-09-03 (the 5wd timer fires on 09-10), one on 09-10.
for i in 1 2 3 4; do
    st 2026-09-01 project create --plan RG --org $ORG --title "项目$i" --leader "负责人$i" \
        --set amount_requested=10 --year 2026 >/dev/null
    st 2026-09-01 project advance 2026-RG-000$i apply --set town=如城街道 \
        --attach application_form="$TMP/form.pdf" >/dev/null
    st 2026-09-02 project advance 2026-RG-000$i admit \
        --attach integrity_commitment="$TMP/form.pdf" >/dev/null
done
for i in 1 2 3; do st 2026-09-03 project advance 2026-RG-000$i publicize --set amount_approved=8 >/dev/null; done

run st 2026-09-04 agenda
expect_rc 0 "agenda"
contains "$OUT" "ahead   2026-09-10     6   4  2026-RG-0001  RG    公示中  公示中 → 立项  approve" \
    "a timer tick will fire: the day, 6 days and 4 working days left, the transition"
contains "$OUT" "agenda as of 2026-09-04: 3 deadlines up to 2026-10-09, 0 overdue" \
    "the default window is 20 working days (over the National Day holidays)"
run st 2026-09-04 agenda --within 3d
contains "$OUT" "0 deadlines up to 2026-09-07" "--within narrows the window"

run st 2026-09-10 tick
contains "$OUT" "3 fired" "tick fires the three timers"
st 2026-09-10 project advance 2026-RG-0004 publicize --set amount_approved=8 >/dev/null
st 2026-09-11 project advance 2026-RG-0001 start --set agreed_due_date=2026-12-31 \
    --attach task_book="$TMP/form.pdf" >/dev/null

run st 2026-09-11 agenda
expect_rc 0 "agenda after tick"
is "$(printf '%s\n' "$OUT" | sed -n '3,5p' | awk '{print $2, $3, $4, $5}')" \
"2026-09-17 6 4 2026-RG-0004
2026-10-14 33 19 2026-RG-0002
2026-10-14 33 19 2026-RG-0003" "soonest first; the task books (20wd after approval) with days and working days"
contains "$OUT" "已立项（待签任务书）  任务书签订期限  start" "the deadline named by its field's label, met by start"
run st 2026-09-11 agenda --within 4mo
contains "$OUT" "2026-12-31   111  75  2026-RG-0001  RG    在研" "the completion date of a project in progress"
contains "$OUT" "应结日期        extend, submit_acceptance" "met by submitting for acceptance or an extension"

# Overdue: the task books not signed by 10-14 are 应结未结 on 10-20, first and marked.
run st 2026-10-20 agenda
is "$(printf '%s\n' "$OUT" | sed -n '3,5p' | awk '{print $1, $2, $3, $4, $5}')" \
"OVERDUE 2026-10-14 -6 -4 2026-RG-0002
OVERDUE 2026-10-14 -6 -4 2026-RG-0003
fires now 2026-09-17 -33 -19" "overdue first and marked, with the days and working days missed by"
contains "$OUT" "2 overdue" "the summary counts them"
overdue_sql=$(sql "SELECT string_agg(p.code, ' ' ORDER BY p.code) FROM stpm.overdue_as_of('2026-10-20') o JOIN stpm.projects p ON p.id = o.project_id")
json_overdue=$(st 2026-10-20 --format json agenda | python3 -c 'import json,sys; print(" ".join(sorted(r["code"] for r in json.load(sys.stdin) if r["status"] == "overdue")))')
is "$json_overdue" "$overdue_sql" "the overdue items are those of stpm.overdue_as_of"
run st 2026-10-20 --format csv agenda --within 1d
contains "$OUT" "status,due,days,workdays,code,plan,state,deadline,do,kind,title,what,state_label,command" "CSV header"
contains "$OUT" "overdue,2026-10-14,-6,-4,2026-RG-0002,RG,approved,任务书签订期限,start,overdue,项目2,task_book_due,已立项（待签任务书）,stpm project advance 2026-RG-0002 start" \
    "CSV row with the command to run"
# The agenda as a workbook: typed cells (dates as dates, days as numbers, codes as text),
# the header frozen, the filters used in the first row; refused on a terminal without a file.
run st 2026-10-20 agenda --within 1d --format xlsx --output "$TMP/agenda.xlsx"
expect_rc 0 "agenda --format xlsx --output FILE"
python3 - "$TMP/agenda.xlsx" > "$TMP/xlsx.txt" <<'PY'
import re, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
x = lambda n: z.read(n).decode('utf-8')
strings = [re.sub(r'<[^>]+>', '', si) for si in re.findall(r'<si>(.*?)</si>', x('xl/sharedStrings.xml'), re.S)]
styles = x('xl/styles.xml')
fmts = dict(re.findall(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"', styles))
xfs = re.findall(r'<xf [^>]*?numFmtId="(\d+)"', styles.split('<cellXfs')[1])
sheet = x('xl/worksheets/sheet1.xml')
print('sheet', re.search(r'<sheet name="([^"]*)"', x('xl/workbook.xml')).group(1))
print('pane', re.search(r'<pane [^>]*/>', sheet).group(0))
for ref, attrs, v in re.findall(r'<c r="([A-Z]+[0-9]+)"([^>]*)><v>([^<]*)</v>', sheet):
    s = re.search(r' s="(\d+)"', attrs)
    fmt = fmts.get(xfs[int(s.group(1))], 'general') if s else 'general'
    if ' t="s"' in attrs:
        print(ref, 'text', fmt, strings[int(v)])
    else:
        print(ref, 'number', fmt, v)
PY
xl=$(cat "$TMP/xlsx.txt")
contains "$xl" "sheet agenda" "the sheet is named after the command"
contains "$xl" "A1 text general stpm agenda --within 1d" "the first row: the command and the filters used"
contains "$xl" "A2 text general agenda as of 2026-10-20: 3 deadlines up to 2026-10-21, 2 overdue" \
    "the second row: the day and the window it was made for"
contains "$xl" 'pane ySplit="3" topLeftCell="A4" activePane="bottomLeft" state="frozen"' "the header (row 3) is frozen"
contains "$xl" "A3 text general status" "the header row"
contains "$xl" "N3 text general command" "every column of JSON and CSV"
contains "$xl" "B4 number yyyy-mm-dd 46309" "the due date is a date (2026-10-14)"
contains "$xl" "C4 number 0 -6" "the days left are a number"
contains "$xl" "D4 number 0 -4" "the working days left are a number"
contains "$xl" "E4 text @ 2026-RG-0002" "the code is text"
contains "$xl" "A4 text @ overdue" "the overdue come first, marked"
contains "$xl" "N4 text @ stpm project advance 2026-RG-0002 start" "the command to run"
is "$(grep -c '^[A-N]6 ' "$TMP/xlsx.txt")" "14" "three deadlines, one row each"
run script -qec "\"$STPM\" --db \"$OFF\" --today 2026-10-20 agenda --format xlsx" /dev/null
contains "$OUT" "--format xlsx writes a workbook: give --output FILE.xlsx" "xlsx on a terminal without --output: refused"
"$STPM" --db "$OFF" --today 2026-10-20 agenda --within 1d --format xlsx > "$TMP/piped.xlsx"
is "$(unzip -p "$TMP/piped.xlsx" xl/worksheets/sheet1.xml | cmp -s - <(unzip -p "$TMP/agenda.xlsx" xl/worksheets/sheet1.xml) && echo same)" "same" \
    "without --output, to a file: the same workbook on standard output"
run st 2026-10-20 agenda --plan NOPE --format xlsx --output "$TMP/none.xlsx"
expect_rc 6 "an unknown plan as a workbook: exit 6"
[ -e "$TMP/none.xlsx" ] && fail "a failed agenda writes no workbook" || pass "a failed agenda writes no workbook"
run st 2026-10-20 --format xlsx agenda --format ics --output "$TMP/both.xlsx"
expect_rc 2 "xlsx and ics at once: usage"
[ -e "$TMP/both.xlsx" ] && fail "and no file is written" || pass "and no file is written"

run st 2026-09-11 agenda --as-of 2026-09-04
contains "$OUT" "agenda as of 2026-09-04" "--as-of"
contains "$OUT" "ahead   2026-09-10     6   4  2026-RG-0003" "as of a past day: the timers pending then"

# --mine: acted on (events.actor) or assigned.
run "$STPM" --db "$OFF2" --today 2026-10-20 agenda --mine
contains "$OUT" "0 deadlines" "an officer who did nothing has nothing of --mine"
run st 2026-10-20 project assign 2026-RG-0003 --officer ag_officer2
expect_rc 0 "project assign"
contains "$OUT" "2026-RG-0003: assigned to ag_officer2" "says so"
run st 2026-10-20 project assign 2026-RG-0003 --officer ag_officer2
contains "$OUT" "already assigned to ag_officer2, nothing changed" "assigning again changes nothing"
is "$(sql "SELECT e.kind || ' ' || e.actor || ' ' || (e.data ->> 'officer') || ' ' || (a.seq = e.seq) FROM stpm.events e JOIN stpm.project_assignments a ON a.project_id = e.project_id WHERE e.kind = 'assign'")" \
    "assign ag_officer ag_officer2 true" "one assign event, the row points at it"
run "$STPM" --db "$OFF2" --today 2026-10-20 agenda --mine
contains "$OUT" "2026-RG-0003" "--mine lists the project assigned"
case "$OUT" in *2026-RG-0002*) fail "--mine leaves out the others" "$OUT" ;; *) pass "--mine leaves out the others" ;; esac
run "$STPM" --db "$OFF" --today 2026-10-20 agenda --mine
contains "$OUT" "3 deadlines" "--mine of the officer who acted on all of them"
run st 2026-10-20 project assign 2026-RG-0003 --officer ag_auditor
expect_rc 5 "assigning to a role that is not an officer exits 5"
contains "$ERR" 'role "ag_auditor" is not an officer' "and says so"
run st 2026-10-20 project assign 2026-RG-0099 --officer ag_officer
expect_rc 6 "an unknown project exits 6"
run st 2026-10-20 project assign 2026-RG-0001 --officer nobody
expect_rc 6 "an unknown role exits 6"
run "$STPM" --db "$DB user=ag_auditor" project assign 2026-RG-0001 --officer ag_officer
expect_rc 7 "an auditor may not assign (exit 7)"
run st 2026-10-20 project assign 2026-RG-0001
expect_rc 2 "--officer is required"
is "$(sql "SELECT count(*) FROM stpm.events WHERE kind = 'assign'")" "1" "refused assignments wrote nothing"
run "$STPM" --db "$DB" audit verify
expect_rc 0 "audit verify after the assignment"

# project todo: what the role can take now, in bulk, and what blocks the rest.
events_before=$(sql "SELECT count(*) FROM stpm.events")
run st 2026-10-20 project todo
expect_rc 0 "project todo"
OUT=$(printf '%s\n' "$OUT" | tr -s ' ')
contains "$OUT" "start approved in_progress blocked 2 document task_book is not attached" "two task books not signable: counted per reason"
contains "$OUT" "object publicized rejected blocked 1 a reason is required" "the reason, as the server says it"
contains "$OUT" "approve publicized approved ready 1 stpm project advance --where 'state=publicized' approve" \
    "the timer's transition is ready for one project, with the bulk command"
is "$(sql "SELECT count(*) FROM stpm.events")" "$events_before" "todo writes nothing"
run "$STPM" --db "$OFF2" --today 2026-10-20 project todo --mine
case "$OUT" in *publicized*) fail "todo --mine leaves out the projects of others" "$OUT" ;; *) pass "todo --mine leaves out the projects of others" ;; esac
contains "$(printf '%s\n' "$OUT" | tr -s ' ')" "start approved in_progress blocked 1 document task_book" "todo --mine counts the assigned project"
case "$OUT" in *"does not leave"*) fail "each transition is decided from the state as it is" "$OUT" ;; *) pass "each transition is decided from the state as it is" ;; esac

# Bad input.
run st 2026-10-20 agenda --plan NOPE
expect_rc 6 "an unknown plan exits 6"
run st 2026-10-20 agenda --within 3q
expect_rc 2 "a bad window exits 2"
contains "$ERR" 'invalid --within "3q"' "naming it"
run st 2026-10-20 agenda --format xml
expect_rc 2 "an unknown format exits 2"
run st 2026-10-20 agenda --alarm -1 --format ics
expect_rc 2 "a bad --alarm exits 2"

# iCalendar.
st 2026-10-20 agenda --within 1y --format ics --alarm 5 > "$TMP/a.ics" 2> "$TMP/a.err"
st 2026-10-20 agenda --within 1y --format ics --alarm 5 > "$TMP/b.ics" 2>/dev/null
python3 - "$TMP/a.ics" > "$TMP/ics.txt" <<'PY'
import sys
raw = open(sys.argv[1], 'rb').read()
lines = raw.split(b'\r\n')
print('crlf', raw.endswith(b'\r\n') and b'\n' not in raw.replace(b'\r\n', b''))
print('max', max(len(l) for l in lines))
text = raw.decode('utf-8')  # folding never split a character
unfolded = text.replace('\r\n ', '')
print('vevents', unfolded.count('BEGIN:VEVENT'), unfolded.count('BEGIN:VALARM'))
for l in unfolded.split('\r\n'):
    if l.startswith(('UID:', 'DTSTART', 'TRIGGER')) or l.startswith('DESCRIPTION:项目 2026-RG-0002'):
        print(l)
PY
ics=$(cat "$TMP/ics.txt")
contains "$ics" "crlf True" "CRLF line endings only"
contains "$ics" "max 75" "lines folded at 75 octets"
contains "$ics" "vevents 4 4" "one VEVENT with a VALARM per deadline"
contains "$ics" "UID:2026-RG-0002.due.approved.task_book_due@stpm" "the UID names project and deadline"
contains "$ics" "DTSTART;VALUE=DATE:20261014" "DTSTART as a date"
contains "$ics" "TRIGGER:-P5D" "the alarm --alarm days before"
contains "$ics" '办理：start\n命令：stpm project advance 2026-RG-0002 start' "DESCRIPTION: what to do and the command"
is "$(grep -c '^UID' "$TMP/a.ics")" "4" "four UIDs"
is "$(cmp -s "$TMP/a.ics" "$TMP/b.ics" && echo same)" "same" "re-exporting gives the same file (the same UIDs)"
contains "$(cat "$TMP/a.err")" "working days are counted across 2027, whose calendar is provisional" \
    "a count across 2027 warns on stderr naming the year"
st 2026-10-20 agenda --within 1y --format xlsx --output "$TMP/y.xlsx" 2>/dev/null
contains "$(unzip -p "$TMP/y.xlsx" xl/sharedStrings.xml)" "; warning: the calendar of 2027 is provisional (statutory holidays only)" \
    "the workbook carries the warning in its second row"
uid_before=$(grep '^UID:2026-RG-0001' "$TMP/a.ics")
st 2026-10-21 project advance 2026-RG-0001 extend --set requested_due_date=2027-03-31 --reason 设备延迟 >/dev/null
uid_after=$(st 2026-10-21 agenda --within 1y --format ics 2>/dev/null | grep '^UID:2026-RG-0001')
is "$uid_after" "$uid_before" "an extended deadline keeps its UID (the calendar updates the event)"

# The calendar warnings.
run st 2026-10-20 agenda
is "$ERR" "" "no warning within 2026"
run "$STPM" --db "$OFF" calendar list --year 2027
contains "$OUT" "2027 is provisional" "calendar list marks the provisional year"
run "$STPM" --db "$OFF" calendar list --year 2026
case "$OUT" in *provisional*) fail "2026 is not provisional" "$OUT" ;; *) pass "2026 is not provisional" ;; esac
run st 2026-10-20 agenda --within 30y
contains "$ERR" "across 2030, for which the calendar has no data" "a year without data warns too"

drop_db "$DB"
done_testing
