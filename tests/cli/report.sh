#!/usr/bin/env bash
# stpm report on a small hand-made data set; every expected figure is computed by hand
# in the comments (docs/reports.md says what counts).
. "$(dirname "$0")/lib.sh"
need_db
WF=$STPM_SOURCE_ROOT/tests/data/audit_test.yaml
O1=91320682MA1MXXXX9P
O2=91320682MA1N0Q3BXD
need_logins au_auditor:auditor
DB=$(fresh_db report)
sql() { psql "$DB" -qAtX -c "$1"; }
st() { "$STPM" --db "$DB" --today "$1" "${@:2}" >/dev/null || echo "# failed: ${*:2}" >&2; }
"$STPM" --db "$DB" workflow load "$WF" >/dev/null
sql "INSERT INTO stpm.plans (code, name, level, funded, workflow_name) VALUES
  ('PROV', '省重点研发计划', 'provincial', true, 'audit_test'),
  ('CNTY', '如皋市科技计划', 'county', false, 'audit_test')"
sql "INSERT INTO stpm.orgs (uscc, name, town) VALUES ('$O1', '如皋某某科技有限公司', '如城街道'),
  ('$O2', '江苏如皋纺织机械有限公司', '长江镇')"
new() { # PLAN ORG TITLE AMOUNT YEAR
    "$STPM" --db "$DB" --today 2020-03-01 project create --plan "$1" --org "$2" --title "$3" \
        --leader 张三 --year "$5" --set amount_requested="$4"
}
to_admitted() { st 2020-03-01 project advance "$1" apply; st 2020-03-01 project advance "$1" admit; }
# A: provincial, 如城街道, 100.125 requested, approved with 80 → applied admitted approved funded, overdue
A=$(new PROV $O1 智能电机 100.125 2020); to_admitted "$A"; st 2020-04-01 project advance "$A" approve --set amount_approved=80
# B: provincial, 长江镇, 50, applied and admitted, then rejected → applied admitted
B=$(new PROV $O2 纺机改造 50 2020); to_admitted "$B"; st 2020-04-01 project advance "$B" reject --reason 公示异议
# C: provincial, 如城街道, 30, rejected from the reserve → counted as a project only
C=$(new PROV $O1 储备项目 30 2020); st 2020-03-01 project advance "$C" reject --reason 不成熟
# D: county (not funded), 长江镇, 20, approved with 10, accepted → applied admitted approved accepted
D=$(new CNTY $O2 县级项目 20 2020); to_admitted "$D"; st 2020-04-01 project advance "$D" approve --set amount_approved=10
st 2021-01-10 project advance "$D" submit; st 2021-01-20 project advance "$D" accept
# E: provincial, 如城街道, 40, approved with 0, terminated → applied admitted approved terminated
E=$(new PROV $O1 终止项目 40 2020); to_admitted "$E"; st 2020-04-01 project advance "$E" approve --set amount_approved=0
st 2020-12-01 project advance "$E" terminate --reason 企业停产
# F: provincial 2021, 如城街道, 60, applied only
F=$(new PROV $O1 次年项目 60 2021); st 2021-03-01 project advance "$F" apply
export STPM_TODAY=2021-08-01

csv() { run "$STPM" --db "$DB" --format csv report "$@"; OUT=$(printf '%s\n' "$OUT" | tr -d '\r'); }
csv summary --from 2020 --to 2020 --by level
expect_rc 0 "summary by level"
# provincial: A B C E = 4; applied A B E = 3; admitted 3; approved A E = 2; funded A = 1;
#   accepted 0; terminated E = 1; overdue A = 1 (due 2021-04-01); requested 100.125+50+40 =
#   190.125 → 190.13; approved amount of funded: 80.00
#   rejected B C = 2; plans PROV, plan kinds audit_test = 1 1; implemented 0 (nothing was in
#   progress in 2020: A and E stayed approved)
# county: D: 1 1 1 1 0 1 0 0 0 20.00 0.00 1 1 0 (D was accepting only in 2021)
# total: 5 4 4 3 1 1 1 2 1 210.13 80.00 2 1 0
is "$OUT" "level,projects,applied,admitted,approved,funded,accepted,terminated,rejected,overdue,requested,approved_amount,plans,plan_kinds,implemented
provincial,4,3,3,2,1,0,1,2,1,190.13,80.00,1,1,0
county,1,1,1,1,0,1,0,0,0,20.00,0.00,1,1,0
total,5,4,4,3,1,1,1,2,1,210.13,80.00,2,1,0" "the figures by level, computed by hand"
csv summary --year 2020 --by town
# 如城街道: A C E: 3 2 2 2 1 0 1 1 1 140.13 80.00 1 1 0; 长江镇: B D: 2 2 2 1 0 1 0 1 0 70.00 0.00 2 1 0
is "$(printf '%s\n' "$OUT" | sed -n '2,3p')" "如城街道,3,2,2,2,1,0,1,1,1,140.13,80.00,1,1,0
长江镇,2,2,2,1,0,1,0,1,0,70.00,0.00,2,1,0" "by town (所属板块)"
csv summary
# all years, the period open: D in acceptance (in progress) in January 2021 is implemented
is "$(printf '%s\n' "$OUT" | sed -n 2p)" "6,5,4,3,1,1,1,2,1,270.13,80.00,2,1,1" "all years: F adds one project and one application"
csv summary --by year
is "$(printf '%s\n' "$OUT" | sed -n 3p)" "2021,1,1,0,0,0,0,0,0,0,60.00,0.00,1,1,0" "by year"
csv summary --by state --year 2020
contains "$OUT" "rejected,2,1,1,0,0,0,0,2,0,50.00,0.00,1,1,0" "by state: B and C rejected, only B applied"
csv summary --by plan --year 2020
contains "$OUT" "CNTY,1,1,1,1,0,1,0,0,0,20.00,0.00,1,1,0" "by plan"
run "$STPM" --db "$DB" --today 2021-03-01 --format csv report summary --year 2020
is "$(printf '%s\n' "$OUT" | tr -d '\r' | sed -n 2p | cut -d, -f9)" "0" "nothing overdue as of an earlier today"
run "$STPM" --db "$DB" --format json report summary --by level
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[-1]["level"], d[-1]["requested"])')" \
    "total 270.13" "JSON output parses, amounts are numbers"
run "$STPM" --db "$DB" report summary --by colour
expect_rc 2 "an unknown --by is a usage error"

# As of a day no project's event is later than, the figures come from the pre-aggregated
# counts; as of an earlier day, from the facts and periods (report_rows, migration 081). The
# last event here is a document attached to F on 2021-07-31, which changes no figure: as of
# 2021-07-31 (counts) and as of 2021-07-30 (facts) the figures are the same, for every
# grouping.
printf 'notes\n' >"$TMP/notes.txt"
"$STPM" --db "$DB" --today 2021-07-31 project attach "$F" notes "$TMP/notes.txt" >/dev/null
now=2021-07-31 yesterday=2021-07-30
is "$(sql "SELECT stpm.latest_event_date()")" "$now" "the last event is of $now: as of it, the counts answer"
for by in none level plan year town field state; do
    b=(); [ "$by" = none ] || b=(--by "$by")
    fast=$("$STPM" --db "$DB" --format csv report summary "${b[@]}" --as-of "$now")
    slow=$("$STPM" --db "$DB" --format csv report summary "${b[@]}" --as-of "$yesterday")
    if [ "$(printf '%s\n' "$fast" | wc -l)" -ge 2 ]; then
        is "$fast" "$slow" "report summary ${b[*]}: the counts (as of now) = the facts (as of yesterday)"
    else
        fail "report summary ${b[*]}: the counts (as of now) = the facts (as of yesterday)" "no figures: $fast"
    fi
done

# ---- the pre-aggregated counts (051) agree with the facts they are kept from ----
counts_diff() {
    sql "WITH c AS (SELECT year, plan_id, level, town, field, state, applied, admitted, approved,
              started, funded, final_as, sum(projects)::bigint AS n,
              sum(requested)::numeric(20,4) AS r, sum(approved_amount)::numeric(20,4) AS a
         FROM (SELECT * FROM stpm.report_counts UNION ALL SELECT * FROM stpm.report_deltas) u
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 HAVING sum(projects) <> 0),
      f AS (SELECT year, plan_id, level, town, field, state, applied_on IS NOT NULL,
              admitted_on IS NOT NULL, approved_on IS NOT NULL, started_on IS NOT NULL,
              coalesce(approved_on IS NOT NULL AND funded_plan AND amount_approved > 0, false),
              final_as, count(*)::bigint, coalesce(sum(amount_requested), 0)::numeric(20,4),
              coalesce(sum(amount_approved), 0)::numeric(20,4)
         FROM stpm.project_facts GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
      SELECT count(*) FROM ((TABLE c EXCEPT TABLE f) UNION ALL (TABLE f EXCEPT TABLE c)) d"
}
is "$(counts_diff)" "0" "report_counts = the facts grouped, after the transitions"
sql "UPDATE stpm.orgs SET town = '白蒲镇' WHERE uscc = '$O1'"
is "$(counts_diff)" "0" "report_counts follow a town change"
csv summary --year 2020 --by town
is "$(printf '%s\n' "$OUT" | sed -n '2,3p')" "白蒲镇,3,2,2,2,1,0,1,1,1,140.13,80.00,1,1,0
长江镇,2,2,2,1,0,1,0,1,0,70.00,0.00,2,1,0" "by town after the organisation moved (as it is now)"
sql "UPDATE stpm.orgs SET town = '如城街道' WHERE uscc = '$O1'"
is "$(sql "SELECT count(*) > 0 FROM stpm.report_deltas")" "t" "writers append deltas"
sql "SELECT stpm.report_compact()" >/dev/null
is "$(sql "SELECT count(*) FROM stpm.report_deltas")|$(counts_diff)" "0|0" "folding the deltas into the counts changes no figure"
csv summary --year 2020 --by level
is "$(printf '%s\n' "$OUT" | sed -n 4p)" "total,5,4,4,3,1,1,1,2,1,210.13,80.00,2,1,0" "the same figures after folding"
sql "SELECT setval('stpm.report_deltas_written', 4094)" >/dev/null
sql "UPDATE stpm.orgs SET town = '长江镇' WHERE uscc = '$O1'"
# three projects move: six deltas, the 4096th folds those written before it
is "$(sql "SELECT count(*) < 6 FROM stpm.report_deltas")|$(counts_diff)" "t|0" "every 4096th delta the writer folds them"
sql "UPDATE stpm.orgs SET town = '如城街道' WHERE uscc = '$O1'"
is "$(counts_diff)" "0" "and goes on appending"
run psql "$DB user=au_auditor" -qAtX -c "INSERT INTO stpm.report_deltas SELECT (stpm.report_counts_row(f, 100)).* FROM stpm.project_facts f LIMIT 1"
expect_rc 1 "nobody but the trigger adds to the counts"
run psql "$DB user=au_auditor" -qAtX -c "SELECT stpm.report_compact()"
expect_rc 1 "nor folds them"

# ---- targets ----
set_t() { run "$STPM" --db "$DB" report target set --year 2020 "$@"; }
set_t --metric applications --value 4
expect_rc 0 "target set"
set_t --metric approvals --level provincial --value 3
set_t --metric funded --level municipal_and_above --value 1
set_t --metric funding --level provincial_and_above --value 65.63
set_t --metric funding --level provincial_and_above --value 65.63
is "$(sql "SELECT count(*) FROM stpm.targets")" "4" "setting a target again replaces it"
is "$(sql "SELECT count(*) FROM stpm.events WHERE chain = 'system' AND data->>'action' = 'target_set'")" "5" \
    "each setting writes an event"
csv targets --year 2020
# applications all: 4 of 4 = 100.0%; approvals provincial: A E = 2 of 3 = 66.7%;
# funded municipal_and_above: A = 1 of 1 = 100.0%; funding provincial_and_above: 80 / 65.63 = 121.9%
is "$OUT" "metric,level,target,actual,completion
applications,all,4,4,100.0%
approvals,provincial,3,2,66.7%
funded,municipal_and_above,1,1,100.0%
funding,provincial_and_above,65.63,80.00,121.9%" "targets against actuals with the completion rate"
set_t --metric speed --value 1
expect_rc 5 "an unknown metric exits 5"
set_t --metric funding --value -3
expect_rc 5 "a negative value exits 5"
run "$STPM" --db "$DB user=au_auditor" report target set --year 2020 --metric applications --value 9
expect_rc 7 "an auditor may not set targets"
run "$STPM" --db "$DB user=au_auditor" report summary --by level
expect_rc 0 "an auditor reads the reports"
run "$STPM" --db "$DB" report targets --year 2019
contains "$OUT" "no targets for 2019" "a year without targets says so"

drop_db "$DB"
done_testing
