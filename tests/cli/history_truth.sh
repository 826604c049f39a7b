#!/usr/bin/env bash
# Issue 9, "every figure as of any date": a dataset of 19 projects over the plan years
# 2016–2021, built through the CLI only, dated with --today, with amounts chosen to catch
# rounding (12345.6789, 0.0049 + 0.0049, 1000.0050) and with traps: county plans (left
# out by --level municipal_and_above / provincial_and_above), a municipal plan that is not
# funded (its approved money is not 争取资金), a 2020 project approved in 2021, 2020
# acceptances and terminations made in 2021, projects of 2021 beside those of 2020, a
# project rejected straight from the reserve pool (a project, not an application).
# Every expected figure is computed by hand in the comments, from docs/reports.md (what
# counts), docs/audit.md (应结未结) and docs/workflows.md (milestones).
# Then: a workflow whose approval is final (counts_as: approved on a final, closed state),
# and the JSON names of project show / project history.
. "$(dirname "$0")/lib.sh"
need_db
need_source
keep_going
WF=$SRC/tests/data/history_truth.yaml
O1=91320682MA1MXXXX9P
O2=91320682MA1N0Q3BXD

DB=$(fresh_db htruth)
S() { "$STPM" --db "$DB" "$@"; }
# at DATE CMD...: a setup step as of DATE; a failure is a failed test (the figures below
# would be wrong anyway), with the command and its message.
at() {
    local d=$1
    shift
    if ! S --today "$d" "$@" >"$TMP/at.out" 2>"$TMP/at.err"; then
        fail "setup: --today $d $*" "$(cat "$TMP/at.err")"
    fi
}
sed -e 's/^workflow: ht_a/workflow: ht_b/' -e 's/^title: .*/title: 历史真相测试计划（乙类）/' "$WF" >"$TMP/ht_b.yaml"
at 2016-01-01 workflow load "$WF"
at 2016-01-01 workflow load "$TMP/ht_b.yaml"
# Five plans, two plan kinds (ht_a: NAT PROV RG; ht_b: PINT NT). NT is not funded.
at 2016-01-01 plan add NAT --name 国家重点研发计划 --level national --workflow ht_a --funded
at 2016-01-01 plan add PROV --name 省重点研发计划 --level provincial --workflow ht_a --funded
at 2016-01-01 plan add PINT --name 省国际科技合作 --level provincial --workflow ht_b --funded
at 2016-01-01 plan add NT --name 南通市科技计划 --level municipal --workflow ht_b
at 2016-01-01 plan add RG --name 如皋市科技计划 --level county --workflow ht_a --funded
at 2016-01-01 org add --uscc $O1 --name 如皋某某科技有限公司 --town 如城街道
at 2016-01-01 org add --uscc $O2 --name 江苏如皋纺织机械有限公司 --town 长江镇

n=0
# new VAR DATE PLAN YEAR REQUESTED: create project VAR (title unique per project)
new() {
    n=$((n + 1))
    local code
    code=$(S --today "$2" project create --plan "$3" --org "$([ $((n % 2)) = 0 ] && echo $O2 || echo $O1)" \
        --title "历史测试项目$n" --leader "负责人$n" --year "$4" --set amount_requested="$5" 2>"$TMP/new.err")
    [ -n "$code" ] || fail "setup: create $1 ($3 $4)" "$(cat "$TMP/new.err")"
    printf -v "$1" '%s' "$code"
}
# approve CODE DATE AMOUNT (apply and admit on the creation day of the caller's choosing)
adv() { at "$1" project advance "${@:2}"; }

# ---- plan year 2016 ----
# P1 PROV: 12345.6789 requested, approved 2016-06-01 with 1000.0050 (due 2018-06-01),
#   running 2016-06-10, submitted 2018-05-01 (window to 2018-12-01), accepted 2018-06-01.
new P1 2016-03-01 PROV 2016 12345.6789
adv 2016-03-01 "$P1" apply; adv 2016-03-10 "$P1" admit; adv 2016-06-01 "$P1" approve --set amount_approved=1000.0050
adv 2016-06-10 "$P1" start; adv 2018-05-01 "$P1" submit; adv 2018-06-01 "$P1" accept
# P2 RG (county): 500, approved 300, running, accepted 2017-06-01.
new P2 2016-03-01 RG 2016 500
adv 2016-03-01 "$P2" apply; adv 2016-03-10 "$P2" admit; adv 2016-06-01 "$P2" approve --set amount_approved=300
adv 2016-06-10 "$P2" start; adv 2017-05-01 "$P2" submit; adv 2017-06-01 "$P2" accept
# P3 NT: 0.01 applied, rejected 2016-05-01.
new P3 2016-03-01 NT 2016 0.01
adv 2016-03-01 "$P3" apply; adv 2016-05-01 "$P3" reject --reason 材料不全
# ---- 2017 ----
# P4 NAT: 2000.5, approved 2017-07-01 with 1500.25 (due 2019-07-01), running, terminated 2018-03-01.
new P4 2017-03-01 NAT 2017 2000.5
adv 2017-03-01 "$P4" apply; adv 2017-03-10 "$P4" admit; adv 2017-07-01 "$P4" approve --set amount_approved=1500.25
adv 2017-07-10 "$P4" start; adv 2018-03-01 "$P4" terminate --reason 企业停产
# P5 PINT: 0.0049, approved 2017-07-01 with 0.0049 (due 2019-07-01), never started:
#   overdue from 2019-07-02 (granted is due by due_date) until terminated 2022-03-01.
new P5 2017-03-01 PINT 2017 0.0049
adv 2017-03-01 "$P5" apply; adv 2017-03-10 "$P5" admit; adv 2017-07-01 "$P5" approve --set amount_approved=0.0049
# P6 PINT: 0.0049, approved with 0.0049, running, accepted 2018-06-01.
new P6 2017-03-01 PINT 2017 0.0049
adv 2017-03-01 "$P6" apply; adv 2017-03-10 "$P6" admit; adv 2017-07-01 "$P6" approve --set amount_approved=0.0049
adv 2017-07-10 "$P6" start; adv 2018-05-01 "$P6" submit; adv 2018-06-01 "$P6" accept
# ---- 2018 ----
# P7 NT (not funded): 88.8888, approved 2018-06-01 with 66.6666, accepted 2019-05-01.
new P7 2018-03-01 NT 2018 88.8888
adv 2018-03-01 "$P7" apply; adv 2018-03-10 "$P7" admit; adv 2018-06-01 "$P7" approve --set amount_approved=66.6666
adv 2018-06-10 "$P7" start; adv 2019-04-01 "$P7" submit; adv 2019-05-01 "$P7" accept
# P8 PROV: 45.6789 in the reserve pool, rejected from it 2018-04-01 (never applied).
new P8 2018-03-01 PROV 2018 45.6789
adv 2018-04-01 "$P8" reject --reason 不成熟
# ---- 2019 ----
# P9 PROV: 1200, approved 2019-07-01 with 1134.51 (due 2021-07-01), running 07-10,
#   submitted 2020-07-01, accepted 2020-08-01.
new P9 2019-03-01 PROV 2019 1200
adv 2019-03-01 "$P9" apply; adv 2019-03-10 "$P9" admit; adv 2019-07-01 "$P9" approve --set amount_approved=1134.51
adv 2019-07-10 "$P9" start; adv 2020-07-01 "$P9" submit; adv 2020-08-01 "$P9" accept
# P10 RG: 100, approved with 50, running, accepted 2020-07-01.
new P10 2019-03-01 RG 2019 100
adv 2019-03-01 "$P10" apply; adv 2019-03-10 "$P10" admit; adv 2019-07-01 "$P10" approve --set amount_approved=50
adv 2019-07-10 "$P10" start; adv 2020-06-01 "$P10" submit; adv 2020-07-01 "$P10" accept
# P11 NT: 33.3333 applied 2019-03-01, left there.
new P11 2019-03-01 NT 2019 33.3333
adv 2019-03-01 "$P11" apply
# ---- 2020 ----
# P12 PROV: 2000, approved 2020-07-01 with 2952 (due 2022-07-01), running 07-10,
#   submitted 2021-05-01, accepted 2021-06-15 (an acceptance of 2021).
new P12 2020-03-01 PROV 2020 2000
adv 2020-03-01 "$P12" apply; adv 2020-03-10 "$P12" admit; adv 2020-07-01 "$P12" approve --set amount_approved=2952
adv 2020-07-10 "$P12" start; adv 2021-05-01 "$P12" submit; adv 2021-06-15 "$P12" accept
# P13 NAT: 500.5, applied 2020-04-01, admitted 2020-05-01, approved only 2021-03-01 with
#   400.4 (due 2023-03-01), running 2021-03-10 (the next-year approval).
new P13 2020-03-01 NAT 2020 500.5
adv 2020-04-01 "$P13" apply; adv 2020-05-01 "$P13" admit; adv 2021-03-01 "$P13" approve --set amount_approved=400.4
adv 2021-03-10 "$P13" start
# P14 PINT: 77.7777, approved 2020-09-01 with 0 (approved, not funded), terminated 2021-02-01.
new P14 2020-03-01 PINT 2020 77.7777
adv 2020-04-01 "$P14" apply; adv 2020-04-10 "$P14" admit; adv 2020-09-01 "$P14" approve --set amount_approved=0
adv 2021-02-01 "$P14" terminate --reason 合作方退出
# P15 RG (county): 1000, approved 2020-06-01 with 999.99, accepted 2020-12-15.
new P15 2020-03-01 RG 2020 1000
adv 2020-03-01 "$P15" apply; adv 2020-03-10 "$P15" admit; adv 2020-06-01 "$P15" approve --set amount_approved=999.99
adv 2020-06-10 "$P15" start; adv 2020-11-01 "$P15" submit; adv 2020-12-15 "$P15" accept
# P16 NT (not funded): 12.3456, approved 2020-10-01 with 10.005 (due 2022-10-01), running
#   2020-10-10, never closed: overdue from 2022-10-02.
new P16 2020-03-01 NT 2020 12.3456
adv 2020-05-01 "$P16" apply; adv 2020-05-10 "$P16" admit; adv 2020-10-01 "$P16" approve --set amount_approved=10.005
adv 2020-10-10 "$P16" start
# P17 NT: 5, applied 2020-05-01, rejected 2020-06-01.
new P17 2020-03-01 NT 2020 5
adv 2020-05-01 "$P17" apply; adv 2020-06-01 "$P17" reject --reason 不符合指南
# ---- 2021 ----
# P18 PROV: 300, approved 2021-07-01 with 250 (due 2023-07-01), running 2021-07-10.
new P18 2021-03-01 PROV 2021 300
adv 2021-03-01 "$P18" apply; adv 2021-03-10 "$P18" admit; adv 2021-07-01 "$P18" approve --set amount_approved=250
adv 2021-07-10 "$P18" start
# P19 RG: 10, applied 2021-03-01.
new P19 2021-03-01 RG 2021 10
adv 2021-03-01 "$P19" apply
# P5 is terminated late, 2022-03-01 (due 2019-07-01).
adv 2022-03-01 "$P5" terminate --reason 长期未启动

H=level,projects,applied,admitted,approved,funded,accepted,terminated,rejected,overdue,requested,approved_amount,plans,plan_kinds,implemented
HN=projects,applied,admitted,approved,funded,accepted,terminated,rejected,overdue,requested,approved_amount,plans,plan_kinds,implemented
csv() { run S --format csv "$@"; OUT=$(printf '%s\n' "$OUT" | tr -d '\r'); }
# none WHAT: the last csv command succeeded and gave its header and no row
none() {
    if [ "$RC" -eq 0 ] && [ -n "$(printf '%s\n' "$OUT" | head -n 1)" ] && [ "$(printf '%s\n' "$OUT" | sed 1d | grep -c .)" = 0 ]; then
        pass "$1"
    else
        fail "$1" "rc $RC" "$OUT" "$ERR"
    fi
}
# row KEY: the CSV line of group KEY of the last output
row() { printf '%s\n' "$OUT" | grep -m1 "^$1," || echo "(no row $1)"; }

# ==== 2020 as of 2020-12-31 ====
# P12 running, approved & funded (2952); P13 only admitted (approved 2021); P14 approved
# with 0 (not funded); P15 county, accepted 2020-12-15; P16 NT (not funded) running;
# P17 rejected. Implemented in 2020 (any plan year, by its own plan): P12, P16, P15, and
# P9 (2019 PROV, running/accepting until 2020-08-01), P10 (2019 RG, until 2020-07-01).
#   national  P13:     1 1 1 0 0 0 0 0 0  500.50    0.00 1 1 0
#   provincial P12 P14: 2 2 2 2 1 0 0 0 0 2077.78 (2000+77.7777) 2952.00 2 2 2 (P12 P9)
#   municipal P16 P17: 2 2 1 1 0 0 0 1 0   17.35 (12.3456+5)    0.00 1 1 1 (P16)
#   county    P15:     1 1 1 1 1 1 0 0 0 1000.00  999.99 1 1 2 (P15 P10)
#   total:             6 6 5 4 2 1 0 1 0 3595.62 (3595.6233) 3951.99 5 2 5
csv report summary --year 2020 --as-of 2020-12-31 --by level
expect_rc 0 "summary --year 2020 --as-of 2020-12-31 --by level"
is "$(printf '%s\n' "$OUT" | head -1)" "$H" "the columns of report summary --by level"
is "$(row national)" "national,1,1,1,0,0,0,0,0,0,500.50,0.00,1,1,0" "2020 as of 2020-12-31, national: the 2021 approval is not counted"
is "$(row provincial)" "provincial,2,2,2,2,1,0,0,0,0,2077.78,2952.00,2,2,2" "2020 as of 2020-12-31, provincial"
is "$(row municipal)" "municipal,2,2,1,1,0,0,0,1,0,17.35,0.00,1,1,1" "2020 as of 2020-12-31, municipal: approved, not funded"
is "$(row county)" "county,1,1,1,1,1,1,0,0,0,1000.00,999.99,1,1,2" "2020 as of 2020-12-31, county"
is "$(row total)" "total,6,6,5,4,2,1,0,1,0,3595.62,3951.99,5,2,5" "2020 as of 2020-12-31, total: no 2021 project, no 2021 acceptance"
is "$(printf '%s\n' "$OUT" | tail -1 | cut -d, -f1)" "total" "the total row is last"

# ==== 2020 as of 2021-12-31 ====
# P13 approved 2021-03-01 (funded, 400.4), P12 accepted 2021-06-15, P14 terminated 2021-02-01.
# Implemented in 2020 does not change (P13 started in 2021).
#   national  1 1 1 1 1 0 0 0 0  500.50  400.40 1 1 0
#   provincial 2 2 2 2 1 1 1 0 0 2077.78 2952.00 2 2 2
#   municipal 2 2 1 1 0 0 0 1 0   17.35    0.00 1 1 1
#   county    1 1 1 1 1 1 0 0 0 1000.00  999.99 1 1 2
#   total     6 6 5 5 3 2 1 1 0 3595.62 4352.39 (2952+400.4+999.99) 5 2 5
csv report summary --year 2020 --as-of 2021-12-31 --by level
is "$(row national)" "national,1,1,1,1,1,0,0,0,0,500.50,400.40,1,1,0" "2020 as of 2021-12-31, national: the next-year approval counts"
is "$(row provincial)" "provincial,2,2,2,2,1,1,1,0,0,2077.78,2952.00,2,2,2" "2020 as of 2021-12-31, provincial: the 2021 acceptance and termination count"
is "$(row total)" "total,6,6,5,5,3,2,1,1,0,3595.62,4352.39,5,2,5" "2020 as of 2021-12-31, total"
# --today is the default as-of
csv --today 2021-12-31 report summary --year 2020 --by level
is "$(row total)" "total,6,6,5,5,3,2,1,1,0,3595.62,4352.39,5,2,5" "--today 2021-12-31 answers as --as-of 2021-12-31"

# ==== --level filters, 2020 as of 2020-12-31 ====
# municipal_and_above drops P15 (county): 5 5 4 3 1 0 0 1 0 2595.62 (3595.6233-1000) 2952.00
#   plans PROV NAT PINT NT = 4, kinds 2, implemented P12 P9 P16 = 3
csv report summary --year 2020 --as-of 2020-12-31 --level municipal_and_above
expect_rc 0 "summary --level municipal_and_above"
is "$OUT" "$HN
5,5,4,3,1,0,0,1,0,2595.62,2952.00,4,2,3" "2020 municipal and above as of 2020-12-31 (county left out)"
# provincial_and_above: P12 P13 P14: 3 3 3 2 1 0 0 0 0 2578.28 (2000+500.5+77.7777) 2952.00 3 2 2
csv report summary --year 2020 --as-of 2020-12-31 --level provincial_and_above
is "$(printf '%s\n' "$OUT" | sed -n 2p)" "3,3,3,2,1,0,0,0,0,2578.28,2952.00,3,2,2" "2020 provincial and above as of 2020-12-31"
csv report summary --year 2020 --as-of 2020-12-31 --level county
is "$(printf '%s\n' "$OUT" | sed -n 2p)" "1,1,1,1,1,1,0,0,0,1000.00,999.99,1,1,2" "--level county"
csv report summary --year 2020 --as-of 2020-12-31 --level municipal_and_above --by level
is "$(printf '%s\n' "$OUT" | cut -d, -f1 | tr '\n' ' ')" "level national provincial municipal total " \
    "--level municipal_and_above --by level: no county row"
csv report summary --year 2020 --level regional
expect_rc 2 "an unknown --level is a usage error"

# ==== by state, 2020 as of 2020-12-31 (the state as of the day; implemented left out:
# it counts projects of other plan years by their own state) ====
#   cleared P13 1 1 1 0 0 0 0 0 0 500.50 0.00 1 1; granted P14 1 1 1 1 0 0 0 0 0 77.78 0.00 1 1
#   passed P15 1 1 1 1 1 1 0 0 0 1000.00 999.99 1 1; refused P17 1 1 0 0 0 0 0 1 0 5.00 0.00 1 1
#   running P12 P16 2 2 2 2 1 0 0 0 0 2012.35 (2000+12.3456) 2952.00 2 2
csv report summary --year 2020 --as-of 2020-12-31 --by state
by_state=$(printf '%s\n' "$OUT" | grep -v '^state,' | grep -v '^total,' | cut -d, -f1-14 | sort | tr '\n' ' ')
is "$by_state" "cleared,1,1,1,0,0,0,0,0,0,500.50,0.00,1,1 granted,1,1,1,1,0,0,0,0,0,77.78,0.00,1,1 passed,1,1,1,1,1,1,0,0,0,1000.00,999.99,1,1 refused,1,1,0,0,0,0,0,1,0,5.00,0.00,1,1 running,2,2,2,2,1,0,0,0,0,2012.35,2952.00,2,2 " \
    "2020 by state as of 2020-12-31"
# as of 2021-12-31: passed P12 P15, running P13 P16, stopped P14, refused P17
csv report summary --year 2020 --as-of 2021-12-31 --by state
is "$(printf '%s\n' "$OUT" | grep -v '^state,' | grep -v '^total,' | cut -d, -f1-2 | sort | tr '\n' ' ')" \
    "passed,2 refused,1 running,2 stopped,1 " "2020 by state as of 2021-12-31: the states moved on"

# ==== 2016–2021 by year as of 2021-12-31 (period 2016-01-01..2021-12-31) ====
# 2016 P1 P2 P3: 3 3 2 2 2 2 0 1 0 12845.69 (12345.6789+500+0.01) 1300.01 (1000.005+300) 3 2 2
# 2017 P4 P5 P6: 3 3 3 3 3 1 1 0 1 (P5 granted, due 2019-07-01) 2000.51 (2000.5+0.0098)
#      1500.26 (1500.25+0.0098) 2 2 2 (P4 P6; P5 never started)
# 2018 P7 P8: 2 1 1 1 0 (NT not funded) 1 0 1 0 88.89 (P8 never applied) 0.00 1 1 1
# 2019 P9 P10 P11: 3 3 2 2 2 2 0 0 0 1333.33 (1200+100+33.3333) 1184.51 3 2 2
# 2020: 6 6 5 5 3 2 1 1 0 3595.62 4352.39 5 2 4 (P12 P13 P15 P16)
# 2021 P18 P19: 2 2 1 1 1 0 0 0 0 310.00 250.00 2 1 1
# total: 19 18 14 14 11 8 2 3 1, requested 20174.0441 → 20174.04, approved amount
#   1300.005+1500.2598+1184.51+4352.39+250 = 8587.1648 → 8587.16 (the rounded rows add
#   up to 8587.17: the total is the sum rounded, not the sum of rounded rows), plans 5,
#   kinds 2, implemented 12
csv report summary --from 2016 --to 2021 --as-of 2021-12-31 --by year
is "$OUT" "year,$HN
2016,3,3,2,2,2,2,0,1,0,12845.69,1300.01,3,2,2
2017,3,3,3,3,3,1,1,0,1,2000.51,1500.26,2,2,2
2018,2,1,1,1,0,1,0,1,0,88.89,0.00,1,1,1
2019,3,3,2,2,2,2,0,0,0,1333.33,1184.51,3,2,2
2020,6,6,5,5,3,2,1,1,0,3595.62,4352.39,5,2,4
2021,2,2,1,1,1,0,0,0,0,310.00,250.00,2,1,1
total,19,18,14,14,11,8,2,3,1,20174.04,8587.16,5,2,12" "2016–2021 by year as of 2021-12-31, exact to the cent"

# ==== 2016–2020 as of 2020-12-31 (no 2021 project, no event of 2021) ====
# 2016 3 3 2 2 2 2 0 1 0 | 2017 3 3 3 3 3 1 1 0 1 | 2018 2 1 1 1 0 1 0 1 0 |
# 2019 3 3 2 2 2 2 0 0 0 (P9 P10 accepted in 2020) | 2020 6 6 5 4 2 1 0 1 0
# total 17 16 13 12 9 7 1 3 1, requested 19864.0441 → 19864.04, approved amount
#   1300.005+1500.2598+1184.51+3951.99 = 7936.7648 → 7936.76, plans 5, kinds 2,
#   implemented P1 P2 P4 P6 P7 P9 P10 P12 P15 P16 = 10
csv report summary --from 2016 --to 2020 --as-of 2020-12-31
is "$OUT" "$HN
17,16,13,12,9,7,1,3,1,19864.04,7936.76,5,2,10" "2016–2020 as of 2020-12-31"

# ==== as of 2022-12-31: P5 terminated (no longer overdue), P16 overdue (due 2022-10-01) ====
# 2017: 3 3 3 3 3 1 2 0 0; 2020: 6 6 5 5 3 2 1 1 1
csv report summary --from 2016 --to 2021 --as-of 2022-12-31 --by year
is "$(row 2017 | cut -d, -f1-10)" "2017,3,3,3,3,3,1,2,0,0" "2017 as of 2022-12-31: P5 terminated, not overdue"
is "$(row 2020 | cut -d, -f1-10)" "2020,6,6,5,5,3,2,1,1,1" "2020 as of 2022-12-31: P16 overdue"

# ==== --plan ====
# PINT 2016–2021 as of 2021-12-31: P5 P6 P14: 3 3 3 3 2 (P14 with 0) 1 1 0 1 (P5)
#   77.79 (0.0049+0.0049+77.7777 = 77.7875) 0.01 (0.0098) 1 1 1 (P6)
csv report summary --from 2016 --to 2021 --as-of 2021-12-31 --plan PINT
is "$(printf '%s\n' "$OUT" | sed -n 2p)" "3,3,3,3,2,1,1,0,1,77.79,0.01,1,1,1" "--plan PINT: 0.0049 + 0.0049 is 0.01, not 0.00"
csv report summary --year 2017 --as-of 2021-12-31 --by plan
# NAT P4: 1 1 1 1 1 0 1 0 0 2000.50 1500.25 1 1 1; PINT P5 P6: 2 2 2 2 2 1 0 0 1 0.01 0.01 1 1 1
# implemented in 2017 counts projects of any plan year by their own plan: P1 (2016 PROV,
# running until 2018) and P2 (2016 RG, accepting until 2017-06-01): PROV and RG rows with
# nothing but implemented 1; total implemented P4 P6 P1 P2 = 4
is "$(row NAT)|$(row PINT)|$(row PROV)|$(row RG)|$(row total)" \
    "NAT,1,1,1,1,1,0,1,0,0,2000.50,1500.25,1,1,1|PINT,2,2,2,2,2,1,0,0,1,0.01,0.01,1,1,1|PROV,0,0,0,0,0,0,0,0,0,0.00,0.00,0,0,1|RG,0,0,0,0,0,0,0,0,0,0.00,0.00,0,0,1|total,3,3,3,3,3,1,1,0,1,2000.51,1500.26,2,2,4" \
    "2017 by plan as of 2021-12-31: the sums of 4 decimals are rounded once"
run S report summary --plan NOPE
expect_rc 6 "an unknown --plan exits 6"

# ==== year on year: 2020 as of 2021-01-20 against 2019 as of 2020-01-20, provincial and above ====
# current P12 (approved, 2952), P13 (admitted), P14 (approved with 0, not yet terminated):
#   projects 3, applied 3, approved 2, funded 1, terminated 0, requested 2578.28, approved amount 2952.00
# previous P9 (approved 2019-07-01, 1134.51, running on 2020-01-20): 1 1 1 1 0, 1200.00, 1134.51
# growth: approved_amount (2952 − 1134.51) / 1134.51 = 160.2004 % → 160.2% (the bureau's
#   "同比增幅160.2%"); projects 200.0; approved 100.0; funded 0.0; requested
#   (2578.2777 − 1200) / 1200 = 114.856 % → 114.9; accepted 0 and 0: no growth (empty)
csv report summary --year 2020 --level provincial_and_above --as-of 2021-01-20 --compare-previous
expect_rc 0 "summary --compare-previous"
is "$(printf '%s\n' "$OUT" | head -1)" "figure,current,previous,growth" "the columns of --compare-previous"
is "$(row approved_amount)" "approved_amount,2952.00,1134.51,160.2%" "省级以上资助 2952 万元, 同比增幅 160.2%"
is "$(row projects)|$(row approved)|$(row funded)|$(row requested)|$(row accepted)" \
    "projects,3,1,200.0%|approved,2,1,100.0%|funded,1,1,0.0%|requested,2578.28,1200.00,114.9%|accepted,0,0," \
    "year on year: growth in % with one decimal, empty when the previous figure is 0"
csv report summary --year 2020 --level provincial_and_above --as-of 2021-01-20 --compare-previous --by level
is "$(row 'provincial,approved_amount')" "provincial,approved_amount,2952.00,1134.51,160.2%" "--compare-previous --by level: provincial"
is "$(row 'national,requested')" "national,requested,500.50,0.00," "--compare-previous --by level: a group with nothing the year before (amounts with two decimals)"

# 2021 as of 2021-12-31 against 2020 as of 2020-12-31 (all levels), growth below zero:
# current P18 P19: projects 2, applied 2, admitted 1, approved 1, funded 1, accepted 0,
#   rejected 0, requested 310.00, approved 250.00, plans 2, kinds 1, implemented in 2021
#   P12 P13 P16 P18 = 4
# previous (as computed above): 6 6 5 4 2, accepted 1, rejected 1, 3595.62, 3951.99, 5 2 5
# growth: projects (2−6)/6 = −66.67 → -66.7%; admitted −80.0%; approved −75.0%; funded
#   −50.0%; accepted −100.0%; requested (310 − 3595.6233)/3595.6233 = −91.38 → -91.4%;
#   approved_amount (250 − 3951.99)/3951.99 = −93.67 → -93.7%; plans −60.0%; kinds −50.0%;
#   implemented −20.0%; terminated 0 and 0: empty
csv report summary --year 2021 --as-of 2021-12-31 --compare-previous
is "$(printf '%s\n' "$OUT" | sed 1d | tr '\n' ' ')" "projects,2,6,-66.7% applied,2,6,-66.7% admitted,1,5,-80.0% approved,1,4,-75.0% funded,1,2,-50.0% accepted,0,1,-100.0% terminated,0,0, rejected,0,1,-100.0% overdue,0,0, requested,310.00,3595.62,-91.4% approved_amount,250.00,3951.99,-93.7% plans,2,5,-60.0% plan_kinds,1,2,-50.0% implemented,4,5,-20.0% " \
    "2021 against 2020: every figure, negative growth"

# ==== report targets --as-of ====
at 2022-12-31 report target set --year 2020 --metric applications --value 6
at 2022-12-31 report target set --year 2020 --metric approvals --level municipal_and_above --value 3
at 2022-12-31 report target set --year 2020 --metric funded --value 4
at 2022-12-31 report target set --year 2020 --metric funding --level provincial_and_above --value 2000
# as of 2020-12-31: applications 6/6 100.0%; approvals m&a P12 P14 P16 3/3 100.0%;
#   funded P12 P15 2/4 50.0%; funding p&a 2952.00/2000 147.6%
csv report targets --year 2020 --as-of 2020-12-31
is "$OUT" "metric,level,target,actual,completion
applications,all,6,6,100.0%
approvals,municipal_and_above,3,3,100.0%
funded,all,4,2,50.0%
funding,provincial_and_above,2000.00,2952.00,147.6%" "targets as of 2020-12-31"
# as of 2021-12-31: approvals +P13 4/3 133.3%; funded +P13 3/4 75.0%; funding 3352.40/2000 167.6%
csv report targets --year 2020 --as-of 2021-12-31
is "$(printf '%s\n' "$OUT" | sed 1d | cut -d, -f1,4,5 | tr '\n' ' ')" \
    "applications,6,100.0% approvals,4,133.3% funded,3,75.0% funding,3352.40,167.6% " "targets as of 2021-12-31: the next-year approval counts"

# ==== audit closed --as-of ====
# closed 2020-01-01..2021-12-31, as of 2020-12-31: P10 2020-07-01, P9 2020-08-01, P15 2020-12-15
#   (each accepted from reviewing inside its window: on time)
csv audit closed --from 2020-01-01 --to 2021-12-31 --as-of 2020-12-31
expect_rc 0 "audit closed --as-of"
is "$(printf '%s\n' "$OUT" | sed 1d | cut -d, -f1,7 | sort | tr '\n' ' ')" \
    "$P9,2020-08-01 $P10,2020-07-01 $P15,2020-12-15 " "closed in 2020–2021 as of 2020-12-31: none of 2021"
# as of 2021-12-31: + P14 terminated 2021-02-01, P12 accepted 2021-06-15
csv audit closed --from 2020-01-01 --to 2021-12-31 --as-of 2021-12-31
is "$(printf '%s\n' "$OUT" | sed 1d | cut -d, -f1 | sort | tr '\n' ' ')" \
    "$(printf '%s\n' "$P9" "$P10" "$P12" "$P14" "$P15" | sort | tr '\n' ' ')" "closed in 2020–2021 as of 2021-12-31"
# P5 terminated 2022-03-01 from granted, due 2019-07-01: late
csv audit closed --from 2022-01-01 --as-of 2022-12-31
is "$(printf '%s\n' "$OUT" | sed 1d | cut -d, -f1,6,7,8,9 | tr '\n' ' ')" "$P5,stopped,2022-03-01,2019-07-01,false " \
    "a late termination: closed_on, the deadline it missed, not on time"
csv audit closed --from 2022-01-01 --as-of 2021-12-31
none "as of 2021-12-31 the 2022 termination is not there"

# ==== project list --as-of and --overdue ====
csv project list --year 2020 --as-of 2020-12-31
is "$(printf '%s\n' "$OUT" | sed 1d | cut -d, -f1,9 | sort | tr '\n' ' ')" \
    "$(printf '%s\n' "$P12,running" "$P13,cleared" "$P14,granted" "$P15,passed" "$P16,running" "$P17,refused" | sort | tr '\n' ' ')" "project list --year 2020 --as-of 2020-12-31: the states then"
csv project list --as-of 2018-12-31
is "$(printf '%s\n' "$OUT" | sed 1d | wc -l | tr -d ' ')" "8" "project list --as-of 2018-12-31: the 8 projects that existed then"
csv project list --overdue --as-of 2019-07-01
none "nothing overdue on P5's due day"
csv project list --overdue --as-of 2019-07-02
is "$(printf '%s\n' "$OUT" | sed 1d | cut -d, -f1 | tr '\n' ' ')" "$P5 " "P5 overdue the day after"
csv audit unclosed --as-of 2019-07-02
is "$(printf '%s\n' "$OUT" | sed 1d | cut -d, -f1,7,8,9 | tr '\n' ' ')" "$P5,granted,2019-07-01,1 " "audit unclosed agrees, 1 day overdue"
csv project list --overdue --as-of 2022-12-31
is "$(printf '%s\n' "$OUT" | sed 1d | cut -d, -f1 | tr '\n' ' ')" "$P16 " "as of 2022-12-31: P16, not the terminated P5"
csv audit unclosed --as-of 2022-12-31
is "$(printf '%s\n' "$OUT" | sed 1d | cut -d, -f1,7,8,9 | tr '\n' ' ')" "$P16,running,2022-10-01,91 " "audit unclosed as of 2022-12-31 (2022-10-01 + 91 days)"

# --today alone is the as-of date of every listing (the issue: "project list --overdue
# --today D uses the current state"; "--year 2019 --today 2019-02-15 shows approvals and
# acceptances made after that date")
csv --today 2019-07-02 project list --overdue
is "$(printf '%s\n' "$OUT" | sed 1d | cut -d, -f1 | tr '\n' ' ')" "$P5 " "project list --overdue --today 2019-07-02 (P5 was terminated in 2022)"
csv --today 2020-12-31 project list --year 2020
is "$(printf '%s\n' "$OUT" | sed 1d | cut -d, -f1,9 | sort | tr '\n' ' ')" \
    "$(printf '%s\n' "$P12,running" "$P13,cleared" "$P14,granted" "$P15,passed" "$P16,running" "$P17,refused" | sort | tr '\n' ' ')" "project list --today 2020-12-31: the states then"
csv --today 2020-12-31 audit closed --from 2020-01-01
is "$(printf '%s\n' "$OUT" | sed 1d | cut -d, -f1 | sort | tr '\n' ' ')" "$(printf '%s\n' "$P9" "$P10" "$P15" | sort | tr '\n' ' ')" \
    "audit closed --today 2020-12-31: no closure of 2021 or 2022"
# 2019 as of 2019-12-31: P9 P10 running (approved, funded 1134.51 + 50), P11 applied; none
# accepted yet (2020); implemented in 2019: P9 P10 and P7 (2018 NT, accepting until 2019-05-01)
csv --today 2019-12-31 report summary --year 2019
is "$(printf '%s\n' "$OUT" | sed -n 2p)" "3,3,2,2,2,0,0,0,0,1333.33,1184.51,3,2,3" "2019 as of --today 2019-12-31: the 2020 acceptances are not there"
csv --today 2019-12-31 report targets --year 2020
contains "$OUT" "applications,all,6,0," "targets of 2020 as of 2019-12-31: no application yet"

# The history verifies after all this.
run S audit verify
expect_rc 0 "audit verify on the dataset"

# ==== JSON names (issue 9, deliverable 6) ====
run S --format json project show "$P9"
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["amount_requested"] == 1200, d["amount_approved"] == 1134.51, "round" in d)' 2>&1)" \
    "True True False" "project show JSON: amount_requested and amount_approved, no key 'round'"
run S --format json project history "$P9"
is "$(printf '%s' "$OUT" | python3 -c '
import json,sys
ev=json.load(sys.stdin)
print(all(isinstance(e["data"], dict) for e in ev if e["data"] is not None), [e["data"]["set"]["amount_approved"] for e in ev if e.get("transition")=="approve"])' 2>&1)" \
    "True [1134.51]" "project history JSON: data is an object"
[ -n "${KEEP:-}" ] && echo "# kept $DB" || drop_db "$DB"

# ==== a workflow whose approval is final ====
# granted: final, closed, counts_as approved. Q1 granted with 12.34, Q2 refused from filed.
# 2021 as of 2021-12-31: projects 2, applied 2, admitted 1 (approved implies admitted),
# approved 1, funded 1, accepted 0, terminated 0 (closed but not terminated), rejected 1,
# overdue 0, requested 20.50 (8.16+12.34), approved amount 12.34, plans 1, kinds 1,
# implemented 0 (never in progress).
DB=$(fresh_db htfinal)
cat >"$TMP/final.yaml" <<'EOF'
workflow: ht_final
version: 1
title: 一次性奖补计划
initial: pool
states:
  pool: {label: 储备}
  filed: {label: 已申报, counts_as: applied}
  granted: {label: 已奖补, final: true, closed: true, counts_as: approved}
  refused: {label: 未立项, final: true, counts_as: rejected}
transitions:
  apply:
    from: pool
    to: filed
    roles: [officer]
    input: [amount_requested]
  grant:
    from: filed
    to: granted
    roles: [officer]
    input: [amount_approved]
    require: {fields: [amount_approved]}
    set: {closed_date: today}
  refuse:
    from: [pool, filed]
    to: refused
    roles: [officer]
    require: {reason: true}
EOF
run S workflow check "$TMP/final.yaml"
expect_rc 0 "a final, closed state counting as approved is consistent"
at 2021-01-01 workflow load "$TMP/final.yaml"
at 2021-01-01 plan add JB --name 高企奖补 --level provincial --workflow ht_final --funded
at 2021-01-01 org add --uscc $O1 --name 如皋某某科技有限公司 --town 如城街道
Q1=$(S --today 2021-03-01 project create --plan JB --org $O1 --title 奖补一 --leader 甲 --year 2021 --set amount_requested=12.34)
Q2=$(S --today 2021-03-01 project create --plan JB --org $O1 --title 奖补二 --leader 乙 --year 2021 --set amount_requested=8.16)
adv 2021-03-01 "$Q1" apply; adv 2021-04-01 "$Q1" grant --set amount_approved=12.34
adv 2021-03-01 "$Q2" apply; adv 2021-04-01 "$Q2" refuse --reason 不符合条件
csv report summary --year 2021 --as-of 2021-12-31 --by state
is "$(row granted)" "granted,1,1,1,1,1,0,0,0,0,12.34,12.34,1,1,0" "final approval: approved and funded, neither accepted nor terminated"
is "$(row total)" "total,2,2,1,1,1,0,0,1,0,20.50,12.34,1,1,0" "final approval: the total"
csv report summary --year 2021 --as-of 2021-03-31
is "$(printf '%s\n' "$OUT" | sed -n 2p)" "2,2,0,0,0,0,0,0,0,20.50,0.00,1,1,0" "as of 2021-03-31 nothing approved yet"
csv audit closed --as-of 2021-12-31
is "$(printf '%s\n' "$OUT" | sed 1d | cut -d, -f1,6,7 | tr '\n' ' ')" "$Q1,granted,2021-04-01 " "audit closed lists the final approval (closed), not the rejection"
csv audit unclosed --as-of 2026-11-30
none "nothing is 应结未结 in a plan whose approval is final"
[ -n "${KEEP:-}" ] && echo "# kept $DB" || drop_db "$DB"
done_testing
