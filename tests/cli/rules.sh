#!/usr/bin/env bash
# Issue 8: the server enforces the workflow. Through the CLI and, bypassing the C client,
# through psql calling the server's function that takes a transition (found in the catalog
# at run time: stpm.project_advance per DOOR-PLAN.md):
#   --set only of the transition's inputs (exit 5 naming the field and the inputs);
#   undeclared document kinds (exit 5 listing the declared ones); a blank reason (exit 3);
#   business dates bounded by the chain's last event and the server's date (exit 5 naming
#   both, nothing written); the 公示 period of every shipped workflow (approve by hand is
#   refused before its working days, across the Spring Festival of 2021); a refused
#   integrity admission writes a `refused` event (no state change) while `project why` and
#   --dry-run write nothing; `project history` / `audit trail` show the business date, the
#   server's clock time and mark an event entered late (> 3 days after its business date).
. "$(dirname "$0")/lib.sh"
need_db
keep_going
need_source
python3 -c 'import yaml' 2>/dev/null || { fail "python3 with the yaml module (reads the shipped workflows)" "not found"; done_testing; exit 1; }
cd "$TMP"
OFFICER=rules_officer ADMIN=rules_admin AUDITOR=rules_auditor
ORG=91320682MA1MXXXX9P ORG_BL=91320682120538710X
q() { psql "$DB" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
echo form >form.pdf
echo commitment >commitment.pdf

cat >rules_test.yaml <<'YAML'
# The test workflow: inputs and document kinds declared (issue 8, DOOR-PLAN "Workflow format").
workflow: rules_test
version: 1
title: 规则测试
initial: reserve
documents:
  application_form: {label: 申报书}
  integrity_commitment: {label: 廉政承诺书}
states:
  reserve: {label: 储备}
  applied: {label: 已申报}
  admitted: {label: 廉政准入通过}
  approved: {label: 已立项, due: due_date}
  accepted: {label: 验收通过, final: true, closed: true}
  rejected: {label: 未立项, final: true}
fields:
  budget_note: {type: text, label: 预算说明}
transitions:
  apply:
    from: reserve
    to: applied
    roles: [officer]
    input: [amount_requested, budget_note]
    require:
      fields: [amount_requested]
      documents: [application_form]
  admit:
    from: applied
    to: admitted
    roles: [officer]
    checks:
      - integrity_commitment
      - credit_clean
  approve:
    from: admitted
    to: approved
    roles: [officer]
    input: [amount_approved]
    set:
      start_date: today
      due_date: today + 1y
  accept:
    from: approved
    to: accepted
    roles: [officer]
    set:
      closed_date: today
  reject:
    from: [reserve, applied, admitted]
    to: rejected
    roles: [officer]
    require:
      reason: true
YAML

DB=$(fresh_db rules)
run "$STPM" --db "$DB" workflow load rules_test.yaml
expect_rc 0 "the test workflow with input: and documents: loads"
if [ "$RC" -ne 0 ]; then
    echo "# loading a copy without input: and documents: so that the rest of the test runs"
    python3 -c '
import sys, yaml
w = yaml.safe_load(open("rules_test.yaml"))
w.pop("documents", None)
for t in w["transitions"].values(): t.pop("input", None)
yaml.safe_dump(w, open("rules_old.yaml", "w"), allow_unicode=True, sort_keys=False)'
    run "$STPM" --db "$DB" workflow load rules_old.yaml
    expect_rc 0 "(fallback) the test workflow without input: and documents: loads"
fi
for f in "$SRC"/workflows/*.yaml; do
    case $f in */scoring.yaml) continue ;; esac
    run "$STPM" --db "$DB" workflow load "$f"
    expect_rc 0 "setup: the shipped workflow $(basename "$f") loads"
done
for r in "$OFFICER:officer" "$ADMIN:admin" "$AUDITOR:auditor"; do
    run "$STPM" --db "$DB" user add "${r%%:*}" --role "${r#*:}"
    expect_rc 0 "setup: user add ${r%%:*}"
done
OFF="$DB user=$OFFICER"
S() { "$STPM" --db "$OFF" "$@"; }
"$STPM" --db "$DB user=$ADMIN" plan add RT --name 规则测试计划 --level county --workflow rules_test >/dev/null
"$STPM" --db "$DB user=$ADMIN" org add --uscc $ORG --name 如皋某某科技有限公司 --town 如城街道 >/dev/null
"$STPM" --db "$DB user=$ADMIN" org add --uscc $ORG_BL --name 南通华泰化工有限公司 --town 长江镇 >/dev/null
new() { # DATE TITLE [ORG] → code
    S --today "$1" project create --plan RT --org "${3:-$ORG}" --title "$2" --leader "负责人$RANDOM" --set amount_requested=50
}
nev() { q "SELECT count(*) FROM stpm.events"; }
row() { q "SELECT p::text FROM stpm.projects p WHERE code = '$1'"; }
# unchanged NAME CODE EVENTS_BEFORE ROW_BEFORE: nothing was written.
unchanged() {
    is "$(nev)" "$3" "$1: no event written"
    is "$(row "$2")" "$4" "$1: the project is unchanged"
}

# The server's function that takes a transition, from the catalog (DOOR-PLAN: stpm.project_advance).
ADV=$(q "SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'stpm' AND p.proname ~ 'advance' ORDER BY (p.proname = 'project_advance') DESC, p.pronargs LIMIT 1")
if [ -n "$ADV" ]; then pass "the server has a function that takes a transition: $ADV"; else fail "the server has a function that takes a transition (\\df stpm.*advance*)" "none in schema stpm"; fi
ARGS=$(q "SELECT coalesce(string_agg(coalesce(n, '') || ':' || format_type(t, NULL) || ':' || (i > p.pronargs - p.pronargdefaults), ' ' ORDER BY i), '')
          FROM pg_proc p, unnest(p.proargnames, p.proargtypes::oid[]) WITH ORDINALITY a(n, t, i)
          WHERE p.oid = '${ADV:-0}'::regprocedure AND (p.proargmodes IS NULL OR p.proargmodes[i] IN ('i', 'b'))" 2>/dev/null)
echo "# arguments of ${ADV:-(none)}: $ARGS"
# adv_sql CODE TRANSITION DATE REASON SETJSON: SQL calling the server function by named
# arguments, matched on their names (project/code, transition, today/date/on, reason,
# set/fields/values/input, attach/documents, dry). A project argument of type uuid gets the id.
adv_sql() {
    local code=$1 tr=$2 d=$3 reason=$4 set=$5 a name type opt parts=() miss=
    for a in $ARGS; do
        IFS=: read -r name type opt <<<"$a"
        case "$name" in
        *dry*) parts+=("$name => false") ;;
        *transition*) parts+=("$name => '$tr'") ;;
        *reason*) [ -n "$reason" ] && parts+=("$name => \$r\$$reason\$r\$") || { [ "$opt" = true ] || parts+=("$name => NULL"); } ;;
        *set* | *field* | *value* | *input*) parts+=("$name => '$set'::$type") ;;
        *attach* | *doc*) [ "$opt" = true ] || parts+=("$name => '[]'::$type") ;;
        *today* | *date* | *on*) parts+=("$name => '$d'::date") ;;
        *project* | *code*)
            if [ "$type" = uuid ]; then parts+=("$name => (SELECT id FROM stpm.projects WHERE code = '$code')"); else parts+=("$name => '$code'"); fi ;;
        *) [ "$opt" = true ] || miss="$miss $name" ;;
        esac
    done
    if [ -n "$miss" ]; then echo "SELECT 'cannot map the argument(s)$miss of $ADV' WHERE false"; return; fi
    local IFS=,
    echo "SELECT ${ADV%%(*}(${parts[*]})"
}
# padv NAME WANT_SQLSTATE CODE TRANSITION DATE REASON SETJSON: psql as the officer.
padv() {
    local name=$1 want=$2
    shift 2
    if [ -z "$ADV" ]; then fail "psql: $name (SQLSTATE $want)" "no server function that takes a transition"; return; fi
    run psql "$OFF" -qAtX -v ON_ERROR_STOP=1 -c '\set VERBOSITY verbose' -c "$(adv_sql "$@")"
    if [ "$RC" -ne 0 ] && grep -q "ERROR:  $want" <<<"$ERR"; then pass "psql: $name (SQLSTATE $want)"; else fail "psql: $name (SQLSTATE $want)" "rc=$RC" "stdout: $OUT" "stderr: $ERR"; fi
}

# ---- --set only of the transition's inputs ----
P=$(new 2021-03-01 高效电机控制系统研发)
is "$P" "2021-RT-0001" "setup: a project of the test workflow"
for f in extensions=0 due_date=2030-01-01 closed_date=2021-03-02 start_date=2021-03-02 state_since=2021-03-02 amount_approved=10; do
    e=$(nev) r=$(row "$P")
    run S --today 2021-03-02 project advance "$P" apply --set "$f" --attach application_form=form.pdf
    expect_rc 5 "advance apply --set $f exits 5 (not an input of apply)"
    contains "$ERR" "${f%%=*}" "the message names the field ${f%%=*}"
    contains "$ERR" "amount_requested" "and the transition's inputs (amount_requested ...)"
    contains "$ERR" "budget_note" "(... budget_note)"
    unchanged "--set $f" "$P" "$e" "$r"
done
e=$(nev) r=$(row "$P")
padv "project_advance with extensions in the fields is invalid input" 22023 "$P" apply 2021-03-02 "" '{"extensions": 0}'
padv "project_advance with due_date in the fields is invalid input" 22023 "$P" apply 2021-03-02 "" '{"due_date": "2030-01-01"}'
padv "project_advance with closed_date in the fields is invalid input" 22023 "$P" apply 2021-03-02 "" '{"closed_date": "2021-03-02"}'
unchanged "the psql calls" "$P" "$e" "$r"

# ---- document kinds ----
e=$(nev)
run S --today 2021-03-02 project attach "$P" nosuch_kind form.pdf
expect_rc 5 "attaching an undeclared document kind exits 5"
contains "$ERR" "nosuch_kind" "the message names the kind"
contains "$ERR" "application_form" "and lists the declared kinds (application_form"
contains "$ERR" "integrity_commitment" "... integrity_commitment)"
run S --today 2021-03-02 project advance "$P" apply --attach task_book=form.pdf
expect_rc 5 "advance --attach of an undeclared kind exits 5"
contains "$ERR" "application_form" "and lists the declared kinds"
is "$(nev)" "$e" "no event written by the undeclared kinds"
is "$(q "SELECT count(*) FROM stpm.documents")" "0" "no document stored"
run S --today 2021-03-02 project advance "$P" apply --set budget_note=自筹 --attach application_form=form.pdf
expect_rc 0 "apply with a declared input and a declared kind goes through"

# ---- a reason of blanks only is no reason ----
# applied TITLE: a new project created 2021-03-01 and applied 2021-03-02 (its last event).
applied() {
    local c
    c=$(new 2021-03-01 "$1") && S --today 2021-03-02 project advance "$c" apply --attach application_form=form.pdf >/dev/null && echo "$c"
}
k=0
for reason in ' ' '   ' $'\t' $' \n ' '　'; do
    k=$((k + 1))
    P=$(applied "空白理由$k")
    e=$(nev) r=$(row "$P")
    run S --today 2021-03-03 project advance "$P" reject --reason "$reason"
    expect_rc 3 "reject with the reason [$(printf '%q' "$reason")] is refused (exit 3)"
    contains "$ERR" "reason" "the refusal says a reason is required"
    unchanged "blank reason" "$P" "$e" "$r"
done
padv "project_advance with a blank reason is refused" SR001 "$P" reject 2021-03-03 "   " '{}'

# ---- business dates ----
P=$(applied 日期一)
e=$(nev) r=$(row "$P")
run S --today 2021-03-01 project advance "$P" reject --reason 材料不全
expect_rc 5 "a date before the chain's last event exits 5"
contains "$ERR" "2021-03-01" "the message names the date given"
contains "$ERR" "2021-03-02" "and the last event's date"
unchanged "a date before the last event" "$P" "$e" "$r"
P=$(applied 日期二)
e=$(nev) r=$(row "$P")
run S --today 2020-12-31 project advance "$P" reject --reason 材料不全
expect_rc 5 "a date before the project's creation exits 5"
contains "$ERR" "2020-12-31" "the message names the date given"
unchanged "a date before creation" "$P" "$e" "$r"
SERVER_TODAY=$(q "SELECT current_date")
FUTURE=$(q "SELECT current_date + 7")
P=$(applied 日期三)
e=$(nev) r=$(row "$P")
run S --today "$FUTURE" project advance "$P" reject --reason 材料不全
expect_rc 5 "a date after the server's date exits 5"
contains "$ERR" "$FUTURE" "the message names the date given"
contains "$ERR" "$SERVER_TODAY" "and the server's date"
unchanged "a date after the server's date" "$P" "$e" "$r"
run S --today "$FUTURE" project create --plan RT --org $ORG --title 未来项目 --leader 未来 --set amount_requested=1
expect_rc 5 "creating a project dated after the server's date exits 5"
is "$(nev)" "$e" "nothing written by the future creation"
P=$(applied 日期四)
e=$(nev) r=$(row "$P")
padv "project_advance dated before the last event is invalid input" 22023 "$P" reject 2021-03-01 "材料不全" '{}'
padv "project_advance dated after the server's date is invalid input" 22023 "$P" reject "$FUTURE" "材料不全" '{}'
unchanged "the psql calls with bad dates" "$P" "$e" "$r"

# ---- a refused integrity admission is recorded; why and --dry-run write nothing ----
"$STPM" --db "$DB user=$ADMIN" --today 2021-03-01 org blacklist $ORG_BL --reason 虚假申报 --from 2020-05-01 --until 2023-04-30 >/dev/null
B=$(new 2021-03-01 纺织机械智能化改造 $ORG_BL)
S --today 2021-03-02 project advance "$B" apply --attach application_form=form.pdf >/dev/null
e=$(nev) r=$(row "$B")
run S --today 2021-03-03 project why "$B"
expect_rc 0 "project why"
contains "$OUT" "credit_clean" "why names the failing check"
run S --today 2021-03-03 project advance "$B" admit --dry-run
expect_rc 3 "a dry run of the refused admission exits 3"
unchanged "why and --dry-run" "$B" "$e" "$r"
run S --today 2021-03-03 project advance "$B" admit
expect_rc 3 "the admission of a blacklisted organisation's project is refused (exit 3)"
is "$(row "$B")" "$r" "the refused admission changes nothing in the project (state, row version)"
is "$(nev)" "$((e + 1))" "the refused admission writes exactly one event"
ev=$(q "SELECT kind || '|' || coalesce(transition, '') || '|' || coalesce(from_state, '') || '|' || coalesce(to_state, '') || '|' || on_date
        FROM stpm.events e JOIN stpm.projects p ON p.id = e.project_id WHERE p.code = '$B' ORDER BY seq DESC LIMIT 1")
is "$ev" "refused|admit|applied||2021-03-03" "the event is of kind refused, for admit, from applied, to no state, on the business date"
data=$(q "SELECT data FROM stpm.events e JOIN stpm.projects p ON p.id = e.project_id WHERE p.code = '$B' ORDER BY seq DESC LIMIT 1")
contains "$data" "credit_clean" "the refused event holds the failed check"
contains "$data" "虚假申报" "with its evidence (the blacklist entry)"
contains "$data" "integrity_commitment" "and the other failed check (no commitment attached)"
run "$STPM" --db "$DB user=$AUDITOR" audit verify
expect_rc 0 "the chain with the refused event verifies"

# ---- history and trail: business date, clock time, entered late ----
# L: created 10 days before the server's date (entered late), applied today (on time).
D10=$(q "SELECT current_date - 10")
L=$(new "$D10" 迟录项目)
S --today "$SERVER_TODAY" project advance "$L" apply --attach application_form=form.pdf >/dev/null
clock=$(q "SELECT to_char(at AT TIME ZONE current_setting('TimeZone'), 'HH24:MI') FROM stpm.events e JOIN stpm.projects p ON p.id = e.project_id
           WHERE p.code = '$L' ORDER BY seq LIMIT 1")
for cmd in "project history" "audit trail"; do
    run "$STPM" --db "$OFF" $cmd "$L"
    expect_rc 0 "$cmd"
    create_line=$(grep -E '(^|[^0-9])1 .*create' <<<"$OUT" | head -n 1)
    apply_line=$(grep -E 'apply' <<<"$OUT" | grep -v attach | head -n 1)
    contains "$create_line" "$D10" "$cmd: the creation shows its business date"
    if grep -qE '[0-9]{2}:[0-9]{2}' <<<"$create_line"; then pass "$cmd: and the server's clock time"; else fail "$cmd: and the server's clock time" "line: $create_line" "(clock $clock)"; fi
    if grep -qiE 'late|补录|迟' <<<"$create_line"; then pass "$cmd: the creation entered 10 days after its date is marked late"; else fail "$cmd: the creation entered 10 days after its date is marked late" "line: $create_line"; fi
    if [ -n "$apply_line" ] && ! grep -qiE 'late|补录|迟' <<<"$apply_line"; then pass "$cmd: the apply entered on its date is not marked"; else fail "$cmd: the apply entered on its date is not marked" "line: $apply_line"; fi
done
run "$STPM" --db "$OFF" --format json project history "$L"
late=$(python3 -c 'import json,sys
d=json.load(sys.stdin); d=d.get("events", d) if isinstance(d, dict) else d
print(" ".join(str(bool(e.get("late", e.get("entered_late")))).lower() for e in d))' <<<"$OUT" 2>&1)
contains "$late" "true" "history as JSON: the late creation has late: true"

# ---- the 公示 period of every shipped workflow ----
# Spring Festival 2021: 2021-02-11..17 off, Sunday 02-07 and Saturday 02-20 make-up working
# days. Publicized on Monday 2021-02-08: 5 working days later is 2021-02-20 (02-09, 02-10,
# 02-18, 02-19, 02-20); 7 working days later 2021-02-23.
n=0
for f in "$SRC"/workflows/*.yaml; do
    info=$(python3 - "$f" <<'PY'
import sys, yaml, re
w = yaml.safe_load(open(sys.argv[1]))
if "workflow" not in w: sys.exit(0)
st = w.get("states", {}).get("publicized")
if not st or "timeout" not in st: sys.exit(0)
m = re.fullmatch(r"(\d+)wd", str(st["timeout"]["after"]))
tr = w["transitions"]
def req(t):
    r = tr[t].get("require", {}) or {}
    return r.get("fields", []) or [], r.get("documents", []) or []
types = {k: v.get("type") for k, v in (w.get("fields") or {}).items()}
val = {"text": "x", "date": "2021-12-31", "integer": "1", "amount": "10", "boolean": "true"}
out = [w["workflow"], m.group(1) if m else "?", st["timeout"]["transition"]]
for t in ("apply", "admit", "publicize"):
    f, d = req(t)
    guard = " ".join(str(tr[x].get("when", "")) for x in ("apply", "admit", "publicize"))
    if t == "apply":  # the fields the guards read are given at apply
        f = list(f) + [x for x in types if re.search(r"\\b%s\\b" % x, guard) and x not in f]
    sets = ["%s=%s" % (x, val.get(types.get(x), "10")) for x in f if x not in ("title", "amount_requested")]
    out.append(t + ";" + ",".join(sets) + ";" + ",".join(d))
print("|".join(out))
PY
)
    [ -n "$info" ] || continue
    n=$((n + 1))
    IFS='|' read -r wf days timer s_apply s_admit s_pub <<<"$info"
    code=PB$n
    "$STPM" --db "$DB user=$ADMIN" plan add $code --name "公示测试$n" --level county --workflow "$wf" >/dev/null
    p=$(S --today 2021-02-01 project create --plan $code --org $ORG --title "公示期测试项目 $wf" --leader "公示$n" --set amount_requested=10)
    ok_setup=0
    step() { # DATE SPEC: advance to the transition of SPEC "name;f=v,...;doc,..."
        local d=$1 t sets docs a=()
        IFS=';' read -r t sets docs <<<"$2"
        local IFS=,
        for x in $sets; do a+=(--set "$x"); done
        for x in $docs; do a+=(--attach "$x=form.pdf"); done
        S --today "$d" project advance "$p" "$t" "${a[@]}" >/dev/null 2>"$TMP/step.err" || { ok_setup=1; sed "s/^/# $wf: $t: /" "$TMP/step.err"; }
    }
    step 2021-02-02 "$s_apply"
    step 2021-02-03 "$s_admit"
    step 2021-02-08 "$s_pub"
    is "$(q "SELECT state FROM stpm.projects WHERE code = '$p'")" "publicized" "$wf: setup: the project is publicized on 2021-02-08"
    allowed=$(q "SELECT d::date FROM generate_series('2021-02-09'::date, '2021-03-31', '1 day') d
                 WHERE (SELECT count(*) FROM generate_series('2021-02-09'::date, d, '1 day') x
                        WHERE (extract(isodow FROM x) < 6 AND x NOT BETWEEN '2021-02-11' AND '2021-02-17')
                           OR x IN ('2021-02-07', '2021-02-20')) = $days LIMIT 1" 2>/dev/null)
    [ "$n" -eq 1 ] && padv "$wf: project_advance $timer on 2021-02-10, inside the publicity period, is refused" SR001 "$p" "$timer" 2021-02-10 "" '{}'
    for d in 2021-02-08 2021-02-10 "$(q "SELECT '$allowed'::date - 1")"; do
        e=$(nev) r=$(row "$p")
        run S --today "$d" project advance "$p" "$timer"
        expect_rc 3 "$wf: $timer by hand on $d, inside the $days working days of 公示, is refused (exit 3)"
        unchanged "$wf: $timer on $d" "$p" "$e" "$r"
    done
    run S --today "$allowed" project advance "$p" "$timer"
    expect_rc 0 "$wf: $timer by hand on $allowed, the ${days}th working day after 2021-02-08, goes through"
done
if [ "$n" -ge 6 ]; then pass "$n shipped workflows have a publicity period and were tried"; else fail "every shipped workflow with a publicity period was tried" "only $n"; fi

drop_db "$DB"
done_testing
