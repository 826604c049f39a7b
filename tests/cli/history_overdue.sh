#!/usr/bin/env bash
# Issue 9, "one definition of 应结未结": on the shipped county workflow (county_rugao,
# loaded with `stpm workflow load`), the rectify loop and the two overdue paths, asked
# four ways that must give the same answer (docs/audit.md): `audit unclosed --as-of`,
# `project list --overdue --as-of`, the `overdue` figure of `report summary --as-of`, and
# the integrity check `org_no_overdue` met by another project of the same organisation
# (`project why` and its admission).
#
# The projects (plan RGKJ, county, funded), all approved 2020-03-16 (publicized 2020-03-02,
# so the 5 working days of 公示 are over), due_date = the task book's agreed date:
#   R1 (org O1): task book 2020-03-20, due 2020-12-31; sent to rectification after its due
#      date, three times (2021-01-15, 02-10, 03-05), rectified in between (02-01, 03-01):
#      overdue from 2021-01-01 on, whatever fresh rectify_due each rectify sets.
#   R2 (org O1): applies 2021-03-10; its admission fails org_no_overdue because of R1.
#   R3 (org O5): task book 2020-03-20, due 2021-03-01; sent to rectification in time
#      (2021-01-15, rectify_due 2021-04-15): not overdue while rectifying, even past
#      2021-03-01; rectified 2021-04-01, back in progress with due 2021-03-01: overdue.
#   T1 (org O2): task book not signed by task_book_due (approve + 20wd, mid-April 2020):
#      overdue in `approved` until it signs 2020-05-10 (due 2020-12-31); asks for
#      acceptance 2020-12-01, accepted 2020-12-20.
#   T2 (org O2): applies 2020-04-20; admission 2020-05-01 fails org_no_overdue (T1);
#      2020-05-11, after T1 signed, it passes.
#   A1 (org O3): due 2020-12-31, asks for acceptance late, 2021-02-01 (window to 2021-06-30):
#      overdue since 2021-01-01 until accepted 2021-06-01.
#   A3 (org O3): admission 2021-02-15 fails org_no_overdue (A1).
#   A2 (org O4): due 2020-12-31, asks for acceptance in time, 2020-12-20 (window to
#      2021-06-30): not overdue inside the window; overdue from 2021-07-01 (due 2021-06-30).
#   A4 (org O4): admission 2021-02-15 passes org_no_overdue.
#
# Expected overdue sets (code: due, days overdue):
#   2020-05-01: T1 (task_book_due)            2020-12-31: none (the due day itself is in time)
#   2021-01-20: R1 2020-12-31 20, A1 2020-12-31 20
#   2021-02-15: R1 2020-12-31 46, A1 2020-12-31 46
#   2021-03-10: R1 2020-12-31 69, A1 2020-12-31 69 (R3 rectifying in time: not overdue)
#   2021-04-05: R1 2020-12-31 95, A1 2020-12-31 95, R3 2021-03-01 35
#   2021-07-01: R1 2020-12-31 182, R3 2021-03-01 122, A2 2021-06-30 1 (A1 accepted)
. "$(dirname "$0")/lib.sh"
need_db
need_source
keep_going
O1=91320682MA1MXXXX9P
O2=91320682MA1N0Q3BXD
O3=91320682053181941N
O4=91320682MA1KK5MQ2F
O5=91320682120538710X
DB=$(fresh_db hoverdue)
S() { "$STPM" --db "$DB" "$@"; }
at() {
    local d=$1
    shift
    if ! S --today "$d" "$@" >"$TMP/at.out" 2>"$TMP/at.err"; then
        fail "setup: --today $d $*" "$(cat "$TMP/at.out")" "$(cat "$TMP/at.err")"
    fi
}
# doc NAME: a document file of its own content
doc() { printf 'document %s\n' "$1" >"$TMP/$1.pdf"; echo "$TMP/$1.pdf"; }

at 2020-01-02 workflow load "$SRC/workflows/county_rugao.yaml"
at 2020-01-02 plan add RGKJ --name 如皋市科技计划（科技创新） --level county --workflow county_rugao --funded
i=0
for o in $O1 $O2 $O3 $O4 $O5; do
    i=$((i + 1))
    at 2020-01-02 org add --uscc $o --name "测试企业$i" --town 如城街道
done
# new VAR DATE ORG YEAR TITLE LEADER: create and apply
new() {
    local code
    code=$(S --today "$2" project create --plan RGKJ --org "$3" --year "$4" --title "$5" --leader "$6" \
        --set amount_requested=20 2>"$TMP/new.err")
    [ -n "$code" ] || fail "setup: create $1" "$(cat "$TMP/new.err")"
    printf -v "$1" '%s' "$code"
    at "$2" project advance "$code" apply --set town=如城街道 --attach application_form="$(doc "app-$1")"
}
admit() { at "$1" project advance "$2" admit --attach integrity_commitment="$(doc "ic-$2")"; }
# approved VAR ORG TITLE LEADER: created 2020-03-02, admitted, publicized, approved 2020-03-16
approved() {
    new "$1" 2020-03-02 "$2" 2020 "$3" "$4"
    local c=${!1}
    admit 2020-03-02 "$c"
    at 2020-03-02 project advance "$c" publicize --set amount_approved=10
    at 2020-03-16 project advance "$c" approve
}
sign() { at "$1" project advance "$2" start --set agreed_due_date="$3" --attach task_book="$(doc "tb-$2")"; }

approved R1 $O1 高效电机控制系统研发 张一
approved R3 $O5 新能源汽车电池回收利用 张五
approved T1 $O2 纺织机械智能化改造 张二
approved A1 $O3 光伏组件封装材料开发 张三
approved A2 $O4 生物医药缓释制剂工艺 张四
sign 2020-03-20 "$R1" 2020-12-31
sign 2020-03-20 "$R3" 2021-03-01
sign 2020-03-20 "$A1" 2020-12-31
sign 2020-03-20 "$A2" 2020-12-31
tbd=$(S --format json project show "$T1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["fields"]["task_book_due"])')
case "$tbd" in 2020-04-1*) pass "T1's task book is due mid-April 2020 ($tbd)" ;; *) fail "T1's task_book_due" "got $tbd" ;; esac

# four ways to ask: each prints "CODE:DUE:DAYS ..." sorted, or "CODE ..." where days are not shown
# (a failing command answers "failed", never an empty list)
unclosed() {
    S --format csv audit unclosed --as-of "$1" >"$TMP/q" 2>&1 || { echo failed; return; }
    tr -d '\r' <"$TMP/q" | sed 1d | awk -F, '{print $1":"$8":"$9}' | sort | tr '\n' ' '
}
listed() {
    S --format csv project list --overdue --as-of "$1" >"$TMP/q" 2>&1 || { echo failed; return; }
    tr -d '\r' <"$TMP/q" | sed 1d | cut -d, -f1 | sort | tr '\n' ' '
}
figure() { S --format csv report summary --from 2020 --to 2021 --plan RGKJ --as-of "$1" | tr -d '\r' | sed -n 2p | cut -d, -f9; }
codes() { printf '%s\n' "$@" | sed '/^$/d' | sort | tr '\n' ' '; }
# same_answer DATE "CODE:DUE:DAYS ..." NAME
same_answer() {
    local want=$2 wcodes wn
    wcodes=$(codes $(for w in $want; do echo "${w%%:*}"; done))
    wn=$(for w in $want; do echo x; done | wc -l | tr -d ' ')
    is "$(unclosed "$1")" "$(codes $want)" "$3: audit unclosed --as-of $1"
    is "$(listed "$1")" "$wcodes" "$3: project list --overdue --as-of $1"
    is "$(figure "$1")" "$wn" "$3: report summary --as-of $1, overdue figure"
}
# check_of CODE DATE: org_no_overdue's verdict in `project why` for admit (true/false)
check_of() {
    S --today "$2" --format json project why "$1" | python3 -c '
import json,sys
d=json.load(sys.stdin)
t=[t for t in d["transitions"] if t["transition"]=="admit"][0]
c=[c for c in t["checks"] if c["check"]=="org_no_overdue"]
print(c[0]["passed"] if c else "absent")' 2>&1
}

# ---- path 1: overdue in `approved` (the task book not signed by task_book_due) ----
new T2 2020-04-20 $O2 2020 数控机床远程运维平台 李二
same_answer 2020-05-01 "$T1:$tbd:$(( ($(date -d 2020-05-01 +%s) - $(date -d "$tbd" +%s)) / 86400 ))" "task book unsigned"
is "$(check_of "$T2" 2020-05-01)" "False" "project why: org_no_overdue fails for another project of T1's org"
run S --today 2020-05-01 project advance "$T2" admit --attach integrity_commitment="$(doc ic-T2)"
expect_rc 3 "T2's admission is refused while T1 is overdue"
contains "$OUT$ERR" "org_no_overdue" "the refusal names org_no_overdue"
sign 2020-05-10 "$T1" 2020-12-31
same_answer 2020-05-10 "" "signed on 2020-05-10 (due 2020-12-31 now)"
is "$(check_of "$T2" 2020-05-11)" "True" "after signing, org_no_overdue passes"
run S --today 2020-05-11 project advance "$T2" admit --attach integrity_commitment="$(doc ic-T2)"
expect_rc 0 "T2 is admitted once T1 has signed"
at 2020-12-01 project advance "$T1" submit_acceptance --attach acceptance_report="$(doc ar-T1)"
at 2020-12-20 project advance "$T1" accept

# ---- path 2 and 3: acceptance asked after / before the due date ----
at 2020-12-20 project advance "$A2" submit_acceptance --attach acceptance_report="$(doc ar-A2)"
same_answer 2020-12-31 "" "the due day itself is in time"
at 2021-02-01 project advance "$A1" submit_acceptance --attach acceptance_report="$(doc ar-A1)"

# ---- the rectify loop ----
at 2021-01-15 project advance "$R1" rectify --reason 经费使用不规范
at 2021-01-15 project advance "$R3" rectify --reason 进度滞后
same_answer 2021-01-20 "$R1:2020-12-31:20 $A1:2020-12-31:20" "rectified after the due date; acceptance not asked yet"
at 2021-02-01 project advance "$R1" rectified --attach rectification_report="$(doc rr1-R1)"
at 2021-02-10 project advance "$R1" rectify --reason 整改不到位
new A3 2021-02-10 $O3 2021 特种纤维纺丝工艺 李三
new A4 2021-02-10 $O4 2021 智能仓储调度系统 李四
same_answer 2021-02-15 "$R1:2020-12-31:46 $A1:2020-12-31:46" "second rectification; A1 accepting late, A2 in its window"
is "$(check_of "$A3" 2021-02-15)" "False" "A1 asked for acceptance late: org_no_overdue fails for A3"
run S --today 2021-02-15 project advance "$A3" admit --attach integrity_commitment="$(doc ic-A3)"
expect_rc 3 "A3's admission is refused"
is "$(check_of "$A4" 2021-02-15)" "True" "A2 is inside its acceptance window: org_no_overdue passes for A4"
admit 2021-02-15 "$A4"
is "$(S --format csv project list --as-of 2021-02-15 --org $O4 | tr -d '\r' | grep "^$A4," | cut -d, -f9)" "admitted" "A4 admitted"
at 2021-03-01 project advance "$R1" rectified --attach rectification_report="$(doc rr2-R1)"
at 2021-03-05 project advance "$R1" rectify --reason 第三次整改
new R2 2021-03-10 $O1 2021 工业互联网标识解析应用 李一
same_answer 2021-03-10 "$R1:2020-12-31:69 $A1:2020-12-31:69" "third rectification; R3 rectifying in time past its due date"
is "$(S --format csv project list --as-of 2021-03-10 | tr -d '\r' | grep "^$R1," | cut -d, -f9)" "rectifying" "R1 is rectifying as of 2021-03-10"
is "$(check_of "$R2" 2021-03-10)" "False" "the rectify loop: org_no_overdue fails for R2"
run S --today 2021-03-10 project advance "$R2" admit --attach integrity_commitment="$(doc ic-R2)"
expect_rc 3 "R2's admission is refused"
contains "$OUT$ERR" "org_no_overdue" "the refusal names org_no_overdue"
# project advance --where overdue selects by the same definition (a dry run writes nothing)
run S --today 2021-03-10 --format csv project advance --where 'plan=RGKJ overdue' terminate --reason 应结未结清理 --dry-run
is "$(printf '%s\n' "$OUT" | tr -d '\r' | sed 1d | cut -d, -f1 | sort | tr '\n' ' ')" "$(codes "$R1" "$A1")" \
    "project advance --where overdue on 2021-03-10 takes R1 and A1"
at 2021-04-01 project advance "$R3" rectified --attach rectification_report="$(doc rr-R3)"
same_answer 2021-04-05 "$R1:2020-12-31:95 $A1:2020-12-31:95 $R3:2021-03-01:35" "R3 back in progress after its due date"
at 2021-06-01 project advance "$A1" accept
same_answer 2021-07-01 "$R1:2020-12-31:182 $R3:2021-03-01:122 $A2:2021-06-30:1" "A1 accepted; A2's window is over"
# The overdue flag of project show and of project list is 应结未结 too (R1's last event is
# 2021-03-05, R3's 2021-04-01: as of 2021-05-01 the rows are the states then). R1 is
# rectifying with rectify_due 2021-06-05, but it missed 2020-12-31: overdue.
for c in "$R1" "$R3"; do
    is "$(S --today 2021-05-01 --format json project show "$c" | python3 -c 'import json,sys; print(json.load(sys.stdin)["overdue"])' 2>&1)" "True" \
        "project show $c --today 2021-05-01: overdue, as audit unclosed says"
    is "$(S --today 2021-05-01 --format csv project list | tr -d '\r' | grep "^$c," | awk -F, '{print $NF}')" "true" \
        "project list --today 2021-05-01: $c overdue"
done
same_answer 2021-06-30 "$R1:2020-12-31:181 $R3:2021-03-01:121" "the last day of A2's window is in time"
# Later events do not change the past.
same_answer 2020-05-01 "$T1:$tbd:$(( ($(date -d 2020-05-01 +%s) - $(date -d "$tbd" +%s)) / 86400 ))" "as of 2020-05-01, asked again at the end"
same_answer 2021-02-15 "$R1:2020-12-31:46 $A1:2020-12-31:46" "as of 2021-02-15, asked again at the end"
run S audit verify
expect_rc 0 "the history verifies"
[ -n "${KEEP:-}" ] && echo "# kept $DB" || drop_db "$DB"
done_testing
