#!/usr/bin/env bash
# Issue 8, no write skew: the integrity checks and the write are one transaction, with the
# locks the checks need. Background `stpm` processes are released together (each waits for
# a file to appear, then execs) with 2, 10 and 20 processes:
#   - N officers admitting N different projects of one leader with leader_limit {max: 1}:
#     exactly one admitted, the others exit 3 (refused by the rule) or 4 (conflict) with a
#     sentence, never a constraint name, 'duplicate key' or 'violates';
#   - one bulk `project advance --where ... admit` over three projects of one leader: one;
#   - a bulk and single advances at the same moment: one;
#   - N concurrent `reserve promote` of one entry: exactly one project, losers exit 4 (or 3
#     when they find it promoted already), with a sentence;
#   - no_duplicate: N similar titles of one year admitted at once: exactly one.
# The workflow is written here: `admit` from the initial state checks leader_limit {max: 1}
# (the initial state `reserve` does not count as active, docs/integrity.md), `admit_unique`
# checks no_duplicate from a waiting state `withdrawn` (no milestone, `active: false`), which
# no_duplicate does not count (so that the similar projects do not see each other before one
# is admitted).
. "$(dirname "$0")/lib.sh"
need_db
keep_going
cd "$TMP"
ORG=91320682MA1MXXXX9P
q() { psql "$DB" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
export STPM_TODAY=2021-03-01

cat >race_test.yaml <<'YAML'
workflow: race_test
version: 1
title: 并发测试
initial: reserve
states:
  reserve: {label: 储备}
  withdrawn: {label: 待查重, active: false}
  admitted: {label: 廉政准入通过}
  rejected: {label: 未立项, final: true}
transitions:
  admit:
    from: reserve
    to: admitted
    roles: [officer]
    checks:
      - leader_limit: {max: 1}
  hold:
    from: reserve
    to: withdrawn
    roles: [officer]
  admit_unique:
    from: withdrawn
    to: admitted
    roles: [officer]
    checks:
      - no_duplicate: {similarity: 0.6}
  reject:
    from: [reserve, withdrawn, admitted]
    to: rejected
    roles: [officer]
    require:
      reason: true
YAML

DB=$(fresh_db races)
run "$STPM" --db "$DB" workflow load race_test.yaml
expect_rc 0 "setup: the race workflow loads"
run "$STPM" --db "$DB" workflow load "$STPM_SOURCE_ROOT/workflows/county_rugao.yaml"
expect_rc 0 "setup: county_rugao loads (for reserve promote)"
run "$STPM" --db "$DB" user add race_admin --role admin
expect_rc 0 "setup: an administrator"
for i in $(seq 1 20); do
    "$STPM" --db "$DB" user add race_o$i --role officer >/dev/null || fail "setup: user add race_o$i"
done
run "$STPM" --db "$DB user=race_admin" plan add RC --name 并发测试计划 --level county --workflow race_test
expect_rc 0 "setup: a plan"
run "$STPM" --db "$DB user=race_admin" plan add RGKJ --name 如皋市科技计划 --level county --workflow county_rugao
expect_rc 0 "setup: the county plan"
run "$STPM" --db "$DB user=race_admin" org add --uscc $ORG --name 如皋某某科技有限公司 --town 如城街道
expect_rc 0 "setup: an organisation"

# race NAME CMDFILE...: each CMDFILE holds one command line (run by bash); all wait for
# "$TMP/go" and start together. Results: $TMP/NAME.K.{rc,out,err}; RCS the sorted exit codes.
race() {
    local name=$1 k=0 pids=() f
    shift
    rm -f "$TMP/go"
    for f in "$@"; do
        k=$((k + 1))
        (
            while [ ! -e "$TMP/go" ]; do sleep 0.01; done
            bash "$f" >"$TMP/$name.$k.out" 2>"$TMP/$name.$k.err"
            echo $? >"$TMP/$name.$k.rc"
        ) &
        pids+=($!)
    done
    sleep 0.5 # every process is waiting
    touch "$TMP/go"
    wait "${pids[@]}"
    RCS=$(cat "$TMP/$name".*.rc | sort | tr '\n' ' ')
}
# losers_say_a_sentence NAME ALLOWED_RCS LABEL: every non-zero exit is one of ALLOWED and
# its message is a sentence, not the database's raw constraint text.
losers_say_a_sentence() {
    local name=$1 allowed=$2 label=$3 bad= raw= f rc msg
    for f in "$TMP/$name".*.rc; do
        rc=$(cat "$f")
        [ "$rc" -eq 0 ] && continue
        case " $allowed " in *" $rc "*) ;; *) bad="$bad $rc" ;; esac
        # a bulk reports its refusals on stdout, a single advance on stderr
        msg=$(cat "${f%.rc}.err" "${f%.rc}.out")
        if grep -qiE 'duplicate key|violates|constraint|_pkey|_key\b|sqlstate|deadlock' <<<"$msg" || [ -z "$msg" ]; then
            raw="$raw [$(tr '\n' ' ' <<<"$msg")]"
        fi
    done
    is "${bad# }" "" "$label: the losers exit $allowed"
    is "${raw# }" "" "$label: the losers' messages are sentences (no constraint name, duplicate key, violates)"
}
admitted_of() { q "SELECT count(*) FROM stpm.projects p JOIN stpm.leaders l ON l.id = p.leader_id WHERE l.name = '$1' AND p.state = 'admitted'"; }

# ---- N officers admit N projects of one leader (leader_limit max 1) ----
for n in 2 10 20; do
    leader="限项$n"
    files=()
    for i in $(seq 1 "$n"); do
        c=$("$STPM" --db "$DB user=race_o$i" project create --plan RC --org $ORG --title "课题$n-$i-$RANDOM 方向$i" --leader "$leader")
        echo "exec \"$STPM\" --db \"$DB user=race_o$i\" project advance $c admit" >"$TMP/cmd.$n.$i"
        files+=("$TMP/cmd.$n.$i")
    done
    is "$(q "SELECT count(*) FROM stpm.projects p JOIN stpm.leaders l ON l.id = p.leader_id WHERE l.name = '$leader' AND p.state = 'reserve'")" \
        "$n" "leader_limit x$n: setup: $n projects of one leader in the reserve"
    race "ll$n" "${files[@]}"
    is "$(wc -w <<<"$RCS")" "$n" "leader_limit x$n: all $n processes ran"
    is "$(tr ' ' '\n' <<<"$RCS" | grep -c '^0$')" "1" "leader_limit x$n: exactly one admission exits 0 (exits: $RCS)"
    is "$(admitted_of "$leader")" "1" "leader_limit x$n: exactly one project of the leader is admitted"
    losers_say_a_sentence "ll$n" "3 4" "leader_limit x$n"
done

# ---- one bulk over three projects of one leader ----
for i in 1 2 3; do
    "$STPM" --db "$DB user=race_o1" project create --plan RC --org $ORG --title "批量课题$i 第$i方向" --leader 批量 --year 2022 >/dev/null
done
run "$STPM" --db "$DB user=race_o1" project advance --where 'state=reserve plan=RC year=2022' admit
is "$(admitted_of 批量)" "1" "bulk: one bulk admit over three projects of one leader (max 1) admits exactly one"
expect_rc 3 "bulk: the bulk exits 3 (two refused by leader_limit)"
contains "$OUT$ERR" "leader_limit" "bulk: the refused ones name leader_limit"

# ---- a bulk and single advances at the same moment ----
for n in 2 10 20; do
    leader="混合$n" year=$((2022 + n))
    files=()
    for i in $(seq 1 "$n"); do
        c=$("$STPM" --db "$DB user=race_o$i" project create --plan RC --org $ORG --title "混合课题$n-$i-$RANDOM 路线$i" --leader "$leader" --year $year)
        echo "exec \"$STPM\" --db \"$DB user=race_o$i\" project advance $c admit" >"$TMP/mix.$n.$i"
        files+=("$TMP/mix.$n.$i")
    done
    echo "exec \"$STPM\" --db \"$DB user=race_o1\" project advance --where 'state=reserve plan=RC year=$year' admit" >"$TMP/mix.$n.bulk"
    race "mix$n" "$TMP/mix.$n.bulk" "${files[@]}"
    is "$(admitted_of "$leader")" "1" "bulk and $n singles at once: exactly one project of the leader is admitted (exits: $RCS)"
    losers_say_a_sentence "mix$n" "3 4" "bulk and $n singles"
done

# ---- no_duplicate: similar titles of one year admitted at once ----
for n in 2 10 20; do
    files=()
    for i in $(seq 1 "$n"); do
        c=$("$STPM" --db "$DB user=race_o$i" project create --plan RC --org $ORG --title "新能源汽车动力电池梯次利用关键技术研究$n" --leader "查重$n-$i" --year $((2040 + n)))
        "$STPM" --db "$DB user=race_o$i" project advance "$c" hold >/dev/null || fail "no_duplicate x$n: setup: hold $c"
        echo "exec \"$STPM\" --db \"$DB user=race_o$i\" project advance $c admit_unique" >"$TMP/dup.$n.$i"
        files+=("$TMP/dup.$n.$i")
    done
    race "dup$n" "${files[@]}"
    is "$(q "SELECT count(*) FROM stpm.projects WHERE year = $((2040 + n)) AND state = 'admitted' AND title LIKE '新能源汽车动力电池梯次利用%'")" "1" \
        "no_duplicate x$n: of $n similar titles admitted at once exactly one is admitted (exits: $RCS)"
    losers_say_a_sentence "dup$n" "3 4" "no_duplicate x$n"
done

# ---- N concurrent promotions of one reserve entry ----
cat >pool.csv <<'CSV'
org_name,uscc,town,title,field,target_plan,leader,planned_investment,requested_funding,rd_spend,revenue,high_tech,partner,maturity,notes
江苏汤臣汽车零部件有限公司,91320682053181941N,城北街道,候选甲 轻量化底盘,高端装备,如皋市科技计划,张伟,500,50,300,10000,是,南通大学,5,
南通华泰化工有限公司,91320682120538710X,长江镇,候选乙 绿色催化工艺,新材料,如皋市科技计划,李娜,1200,400,100,3000,否,,9,
如皋市华宇光电科技有限公司,91320682251976788G,如皋经济技术开发区,候选丙 高精度光电模组,电子信息,如皋市科技计划,王强,200,100,600,10000,是,东南大学,3,
CSV
run "$STPM" --db "$DB user=race_o1" --today 2020-10-31 survey import pool.csv --year 2020
expect_rc 0 "setup: a survey with three candidates"
k=0
for n in 2 10 20; do
    k=$((k + 1))
    title=$(sed -n "$((k + 1))p" pool.csv | cut -d, -f4)
    entry=$(q "SELECT left(id::text, 8) FROM stpm.reserve_entries WHERE title = '$title'")
    files=()
    for i in $(seq 1 "$n"); do
        echo "exec \"$STPM\" --db \"$DB user=race_o$i\" --today 2020-11-02 reserve promote $entry --plan RGKJ" >"$TMP/pro.$n.$i"
        files+=("$TMP/pro.$n.$i")
    done
    race "pro$n" "${files[@]}"
    is "$(tr ' ' '\n' <<<"$RCS" | grep -c '^0$')" "1" "reserve promote x$n: exactly one promotion exits 0 (exits: $RCS)"
    is "$(q "SELECT count(*) FROM stpm.projects WHERE reserve_entry_id IN (SELECT id FROM stpm.reserve_entries WHERE title = '$title')")" "1" \
        "reserve promote x$n: exactly one project of the entry"
    # A loser that finds the entry promoted already is refused by the one-promotion rule
    # (3); one that raced the winner is a conflict (4) (issue 8 item 6).
    losers_say_a_sentence "pro$n" "3 4" "reserve promote x$n"
done

run "$STPM" --db "$DB user=race_o1" audit verify
expect_rc 0 "after the races the history verifies (no forked chain)"
drop_db "$DB"
done_testing
