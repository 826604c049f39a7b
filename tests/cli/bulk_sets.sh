#!/usr/bin/env bash
# Migrations 096-097: a bulk advance (stpm.project_advance_many) decides and writes its plainly
# allowed projects as one set, and takes every other one through stpm.transition_take one
# by one as before. Both ways must give the same answers and write the same history:
# twin databases run the same bulk calls, one with the set path off (stpm.bulk_sets=off),
# one with it on, and every answer, event, period and facts row is compared. Covered:
# the seven checks of municipal_nantong's admit (a blacklisted organisation, similar
# titles, a leader over the limit, a missing commitment), a code twice in one call, a code
# that does not exist, per-project and shared --set values, a bad value, a guard that is
# false, set: expressions, a required reason, a date before a project's last event, and a
# leader_limit that the later projects of a bulk must see (bulk_sets.yaml: the set path
# must not be taken there). The set path leaves its mark: its events of one call are
# written by one subtransaction (one xmin), the old path's by one each. Then a race: two
# bulk admits and four single admits of the same projects at once.
. "$(dirname "$0")/lib.sh"
need_db
need_source
ORG=91320682MA1MXXXX9P
ORG2=91320682120538710X
BAD=91320682MA1N0Q3BXD
TMPD=$(mktemp -d)
trap 'rm -rf "$TMPD"' EXIT
for k in application_form integrity_commitment task_book acceptance_report; do
    echo "bulk sets $k" >"$TMPD/$k.txt"
done

need_groups

titles=(海上风电智能运维平台关键技术研发 "海上风电智能运维平台关键技术研发（二期）"
        高效永磁电机控制系统研发 纺织机械智能化改造 新能源汽车电池回收利用
        家纺面料数码印花工艺 高端轴承热处理装备 智能仓储机器人调度系统 智能电网故障诊断系统
        生物医药冷链监测平台)
leaders=(甲 乙 丙 丁 丁 丁 戊 己 庚 辛)
orgs=($ORG $ORG $ORG2 $ORG $ORG $ORG $BAD $ORG2 $ORG2 $ORG)

setup() { # DB: the same projects in each twin
    local db=$1 i c
    st() { "$STPM" --db "$db" --today "$1" "${@:2}"; }
    "$STPM" --db "$db" workflow load "$SRC/workflows/municipal_nantong.yaml" >/dev/null
    "$STPM" --db "$db" workflow load "$SRC/tests/data/bulk_sets.yaml" >/dev/null
    st 2026-01-02 plan add NTKJ --name 南通市科技计划 --level municipal --workflow municipal_nantong \
        --funded >/dev/null
    st 2026-01-02 plan add BSET --name 批量测试计划 --level county --workflow bulk_sets_test >/dev/null
    st 2026-01-02 org add --uscc $ORG --name 如皋某某科技有限公司 --town 如城街道 >/dev/null
    st 2026-01-02 org add --uscc $ORG2 --name 南通某某装备有限公司 --town 崇川区 >/dev/null
    st 2026-01-02 org add --uscc $BAD --name 南通失信样例有限公司 --town 崇川区 >/dev/null
    st 2026-01-02 org blacklist $BAD --reason 失信被执行人 --from 2025-01-01 >/dev/null
    for i in 0 1 2 3 4 5 6 7 8 9; do
        c=$(st 2026-01-03 project create --plan NTKJ --org "${orgs[$i]}" --title "${titles[$i]}" \
            --leader "负责人${leaders[$i]}" --year 2026 --set amount_requested=$((50 + i)))
        st 2026-01-03 project attach "$c" application_form "$TMPD/application_form.txt" >/dev/null
        [ "$i" -eq 7 ] || st 2026-01-03 project attach "$c" integrity_commitment \
            "$TMPD/integrity_commitment.txt" >/dev/null
        [ "$i" -eq 8 ] || st 2026-01-03 project attach "$c" task_book "$TMPD/task_book.txt" >/dev/null
        st 2026-01-03 project attach "$c" acceptance_report "$TMPD/acceptance_report.txt" >/dev/null
    done
    for i in 0 1 2 3; do
        st 2026-01-03 project create --plan BSET --org $ORG --title "批量测试项目$i" \
            --leader "负责人$((i / 2))" --year 2026 --set amount_requested=100 >/dev/null
    done
}

declare -A DB
for mode in off on; do
    DB[$mode]=$(fresh_db "bsets_$mode")
    setup "${DB[$mode]}"
done
N=$(psql "${DB[on]}" -qAtX -c "SELECT string_agg(code, ' ' ORDER BY code) FROM stpm.projects
                              WHERE code LIKE '%-NTKJ-%'")
read -r -a NT <<<"$N"
B=$(psql "${DB[on]}" -qAtX -c "SELECT string_agg(code, ' ' ORDER BY code) FROM stpm.projects
                              WHERE code LIKE '%-BSET-%'")
read -r -a BS <<<"$B"
is "${#NT[@]} ${#BS[@]}" "10 4" "the twins hold 10 projects of NTKJ and 4 of BSET"

no_clock() { # the server's clock of the twins' attachments and their random ids put aside
    sed -E -e 's/"attached_at": "[^"]*"/"attached_at": "T"/g' \
        -e 's/"(entry|id)": "[0-9a-f-]{36}"/"\1": "U"/g'
}
many() { # MODE CODES TRANSITION DATE SETS REASON: the answers, hashes put aside
    PGOPTIONS="-c stpm.bulk_sets=$1" psql "${DB[$1]}" -qAtX -v ON_ERROR_STOP=1 -c "
        SELECT (j - 'hash' - 'refused')::text || CASE WHEN j ? 'refused' THEN ' +refused' ELSE '' END
          FROM stpm.project_advance_many(string_to_array('$2', ' '), '$3', DATE '$4',
                                         '$5'::jsonb, nullif('$6', '')) j" | no_clock
}
both() { # NAME CODES TRANSITION DATE SETS REASON: the same answers with the set path on and off
    local a b
    a=$(many off "${@:2}")
    b=$(many on "${@:2}")
    if [ -n "$a" ] && [ "$a" = "$b" ]; then
        pass "$1"
    else
        fail "$1" "off (<) and on (>) differ:" "$(diff <(echo "$a") <(echo "$b") | cut -c1-600)"
    fi
    LAST=$b
}
xmins() { # MODE TRANSITION PLAN: how many (sub)transactions wrote the transition's events
    psql "${DB[$1]}" -qAtX -c "SELECT count(DISTINCT e.xmin::text) FROM stpm.events e
                              JOIN stpm.projects p ON p.id = e.project_id
                              WHERE e.kind = 'transition' AND e.transition = '$2'
                                AND p.code LIKE '%-$3-%'"
}

sets='[{"amount_requested": 60, "town": "如城街道"}, {"amount_requested": "61.5"}, {}, {}, {}, {}, {}, {}, {}, {}, {}]'
both "apply: per-project --set values, a code twice and a code that does not exist" \
    "${NT[*]} ${NT[0]} NTKJ-NOPE" apply 2026-01-05 "$sets" ""
contains "$LAST" '"error": {"hint"' "apply: the unknown code is an error"
is "$(grep -c '"allowed": true' <<<"$LAST")" "10" "apply: the 10 projects are applied, the repeated code is not"
is "$(xmins on apply NTKJ) $(xmins off apply NTKJ)" "1 10" \
    "apply: the set path wrote its 10 events at once, the old path one by one"
is "$(psql "${DB[on]}" -qAtX -c "SELECT amount_requested, fields ->> 'town' FROM stpm.projects
                                 WHERE code = '${NT[0]}'")" "60.0000|如城街道" "apply: the --set values are written"

both "admit: the seven checks, with refusals (blacklist, similar titles, leader limit, no commitment)" \
    "${NT[*]}" admit 2026-01-06 '{}' ""
is "$(grep -c '"allowed": true' <<<"$LAST")" "3" "admit: three projects pass every check"
is "$(grep -c '+refused' <<<"$LAST")" "7" "admit: seven failed checks are recorded as refusals"
is "$(xmins on admit NTKJ) $(xmins off admit NTKJ)" "1 3" "admit: the set path took the three at once"
admitted=$(psql "${DB[on]}" -qAtX -c "SELECT string_agg(code, ' ' ORDER BY code) FROM stpm.projects
                                      WHERE state = 'admitted'")
both "publicize: a bad value in one --set undoes the set path, the old path names the field" \
    "$admitted" publicize 2026-01-07 '[{"amount_approved": -3}, {"amount_approved": 40}, {"amount_approved": 50}]' ""
contains "$LAST" 'amounts are not negative' "publicize: the bad value is that project's error"
is "$(xmins on publicize NTKJ) $(xmins off publicize NTKJ)" "2 2" \
    "publicize: the other two are written one by one on both sides"
both "publicize: the other one with a shared value" "$admitted" publicize 2026-01-07 \
    '{"amount_approved": 30}' ""
both "approve: the guard (5 working days of 公示) is false for both" "$admitted" approve 2026-01-08 '{}' ""
contains "$LAST" 'guard is false' "approve: the guard's reason is given"
both "approve: after the 公示, set: start_date, due_date, task_book_due" "$admitted" approve \
    2026-01-19 '{}' ""
both "start: a date before the projects' last event is each one's error" "$admitted" start \
    2026-01-18 '{}' ""
contains "$LAST" 'is earlier than 2026-01-19' "start: the date error names the last event's date"
both "start: then on a later date, one project without its task book" "$admitted" start \
    2026-01-26 '{}' ""
contains "$LAST" 'document task_book is not attached' "start: the missing task book is named"
both "submit_acceptance: set: acceptance_due" "$admitted" submit_acceptance 2026-06-01 '{}' ""
both "accept: set: closed_date" "$admitted" accept 2026-07-01 '{}' ""
both "reject: a reason of blanks only is no reason" "${NT[5]} ${NT[6]}" reject 2026-07-02 '{}' '　 '
contains "$LAST" 'a reason is required' "reject: the reason is required"
both "reject: with a reason" "${NT[5]} ${NT[6]}" reject 2026-07-02 '{}' '不符合申报条件'

both "bulk_sets_test apply: a leader's second project sees the first (leader_limit max 1)" \
    "${BS[*]}" apply 2026-01-05 '{}' ""
is "$(grep -c '"allowed": true' <<<"$LAST")" "2" "apply: one project per leader"
is "$(xmins on apply BSET)" "2" "apply: leader_limit out of an inactive state is not taken as a set"
applied=$(psql "${DB[on]}" -qAtX -c "SELECT string_agg(code, ' ' ORDER BY code) FROM stpm.projects
                                     WHERE code LIKE '%-BSET-%' AND state = 'applied'")
both "bulk_sets_test approve: an input beyond the request fails the guard, the other passes" \
    "$applied" approve 2026-01-06 '[{"amount_approved": 500}, {"amount_approved": 80, "note": "批量"}]' ""
contains "$LAST" 'guard is false: amount_approved <= amount_requested' "approve: the guard names itself"

twin() { # MODE: every event, period and facts row, the server's clock and hashes put aside
    psql "${DB[$1]}" -qAtX -v ON_ERROR_STOP=1 -c "SELECT string_agg(x, E'\n' ORDER BY x) FROM (
         SELECT concat_ws('|', 'e', e.chain LIKE 'project:%', p.code, e.seq, e.on_date, e.kind,
                          e.transition, e.from_state, e.to_state, e.reason, e.canon,
                          e.data - 'digest') x
           FROM stpm.events e LEFT JOIN stpm.projects p ON p.id = e.project_id
          WHERE e.kind NOT IN ('workflow_load', 'attach')
         UNION ALL
         SELECT concat_ws('|', 'p', p.code, p.state, p.state_since, p.amount_requested,
                          p.amount_approved, p.start_date, p.due_date, p.closed_date,
                          p.extensions, p.fields, p.row_version)
           FROM stpm.projects p
         UNION ALL
         SELECT concat_ws('|', 's', p.code, s.seq, s.state, s.from_date, s.to_date, s.due,
                          s.closed, s.final, s.counts_as, s.active, s.missed_due,
                          s.amount_requested, s.amount_approved)
           FROM stpm.project_states s JOIN stpm.projects p ON p.id = s.project_id
         UNION ALL
         SELECT concat_ws('|', 'f', p.code, f.year, f.level, f.funded_plan, f.town, f.field,
                          f.initial, f.state, f.created_on, f.applied_on, f.admitted_on,
                          f.approved_on, f.started_on, f.final_on, f.final_as, f.closed_on,
                          f.closed_state, f.amount_requested, f.amount_approved)
           FROM stpm.project_facts f JOIN stpm.projects p ON p.id = f.project_id) t" | no_clock
}
off=$(twin off)
on=$(twin on)
is "$([ "$(wc -l <<<"$on")" -gt 100 ] && echo many)" "many" "the twins' histories are not empty"
if [ "$on" = "$off" ]; then
    pass "both ways write the same events, projects, periods and facts"
else
    fail "both ways write the same events, projects, periods and facts" \
        "$(diff <(echo "$off") <(echo "$on") | head -20)"
fi
for mode in off on; do
    is "$(psql "${DB[$mode]}" -qAtX -c "SELECT count(*) FROM stpm.derived_problems()")" "0" \
        "set path $mode: the derived tables and report counts equal their rebuild from the events"
    run "$STPM" --db "${DB[$mode]}" audit verify
    expect_rc 0 "set path $mode: audit verify passes"
done

# Under contention: two bulk admits of the same projects and single admits of some of
# them, all at once (the set path tries its locks without waiting and leaves a chunk whose
# locks are held to the old path, which waits for them). Every project is admitted once,
# the losers exit 3 or 4 with a sentence, and the history verifies.
words=(风电 轴承 纺织 电池 印花 仓储 电网 冷链 机器人 传感器 激光 涂层 芯片 光伏 氢能 船舶)
RACE_ORG=91320682053181941N # (an organisation of its own: ORG2 has an overdue project by now)
"$STPM" --db "${DB[on]}" --today 2026-08-01 org add --uscc $RACE_ORG --name 如皋并发样例有限公司 \
    --town 如城街道 >/dev/null
for i in $(seq 0 15); do
    c=$("$STPM" --db "${DB[on]}" --today 2026-08-01 project create --plan NTKJ --org $RACE_ORG \
        --title "${words[$i]}${words[$(((i * 7 + 3) % 16))]}并发测试项目第${i}号关键技术研究" \
        --leader "并发负责人$i" --year 2026 --set amount_requested=20)
    "$STPM" --db "${DB[on]}" --today 2026-08-01 project attach "$c" application_form \
        "$TMPD/application_form.txt" >/dev/null
    "$STPM" --db "${DB[on]}" --today 2026-08-01 project attach "$c" integrity_commitment \
        "$TMPD/integrity_commitment.txt" >/dev/null
done
"$STPM" --db "${DB[on]}" --today 2026-08-02 project advance --where "plan=NTKJ state=reserve" apply \
    >/dev/null 2>&1 || true
racers=$(psql "${DB[on]}" -qAtX -c "SELECT string_agg(code, ' ' ORDER BY code) FROM stpm.projects
                                   WHERE state = 'applied' AND title LIKE '%并发测试项目%'")
read -r -a RC_CODES <<<"$racers"
is "${#RC_CODES[@]}" "16" "16 projects applied for the race"
rm -f "$TMPD/go"
pids=()
for k in 1 2 3 4 5 6; do
    (
        set +e # (an exit 3 or 4 is an answer here)
        while [ ! -e "$TMPD/go" ]; do sleep 0.01; done
        if [ "$k" -le 2 ]; then
            "$STPM" --db "${DB[on]}" --today 2026-08-03 project advance --where "plan=NTKJ state=applied" admit
        else
            "$STPM" --db "${DB[on]}" --today 2026-08-03 project advance "${RC_CODES[$(((k - 3) * 4 + 1))]}" admit
        fi >"$TMPD/race.$k.out" 2>"$TMPD/race.$k.err"
        echo $? >"$TMPD/race.$k.rc"
    ) &
    pids+=($!)
done
sleep 0.5
touch "$TMPD/go"
wait "${pids[@]}" || true
is "$(psql "${DB[on]}" -qAtX -c "SELECT count(*) FILTER (WHERE state = 'admitted'), count(*)
                                 FROM stpm.projects WHERE title LIKE '%并发测试项目%'")" "16|16" \
    "the race: every project admitted"
is "$(psql "${DB[on]}" -qAtX -c "SELECT count(*) FROM stpm.events e JOIN stpm.projects p ON p.id = e.project_id
                                 WHERE p.title LIKE '%并发测试项目%' AND e.transition = 'admit'
                                   AND e.kind = 'transition'")" "16" "the race: each admitted once"
bad=
for k in 1 2 3 4 5 6; do
    rc=$(cat "$TMPD/race.$k.rc")
    case "$rc" in 0 | 3 | 4) ;; *) bad="$bad $k:rc=$rc" ;; esac
    if grep -qiE 'duplicate key|violates|constraint|_pkey|sqlstate|deadlock' "$TMPD/race.$k.out" \
        "$TMPD/race.$k.err"; then
        bad="$bad $k:$(tr '\n' ' ' <"$TMPD/race.$k.err")"
    fi
done
is "${bad# }" "" "the race: the losers exit 3 or 4 with a sentence"
is "$(psql "${DB[on]}" -qAtX -c "SELECT count(*) FROM stpm.derived_problems()")" "0" \
    "the race: the derived tables equal their rebuild"
run "$STPM" --db "${DB[on]}" audit verify
expect_rc 0 "the race: audit verify passes"

# Migration 098: one statement that inserts two state changes of one project (as a
# migration might) is tracked event by event; the periods and facts equal their rebuild.
psql "${DB[on]}" -qAtX -v ON_ERROR_STOP=1 -c "
    INSERT INTO stpm.events (chain, project_id, on_date, kind, transition, from_state, to_state, data)
    SELECT 'project:' || p.id, p.id, DATE '2026-07-03', 'transition', t.tr, t.f, t.t,
           jsonb_build_object('workflow', 'bulk_sets_test', 'version', 1, 'set', '{}'::jsonb)
      FROM stpm.projects p,
           (VALUES (1, 'close', 'approved', 'rejected'), (2, 'close', 'rejected', 'rejected')) t(n, tr, f, t)
     WHERE p.code = '${BS[0]}' ORDER BY t.n" >/dev/null
is "$(psql "${DB[on]}" -qAtX -c "SELECT count(*) FROM stpm.project_states s
                                 JOIN stpm.projects p ON p.id = s.project_id
                                 WHERE p.code = '${BS[0]}' AND s.state = 'rejected'")" "2" \
    "two events of one project in one statement: two periods"
is "$(psql "${DB[on]}" -qAtX -c "SELECT count(*) FROM stpm.derived_problems()")" "0" \
    "two events of one project in one statement: the derived tables equal their rebuild"

# stpm.checks_run_set (096) gives every project the outcomes stpm.checks_run gives it, on
# days when each of the seven checks fails for some of them: a declared conflict and an
# invalid USCC are added (after the twins were compared), the later days find projects
# past their deadlines.
"$STPM" --db "${DB[on]}" --today 2026-07-02 org conflict $ORG2 --officer "$(psql "${DB[on]}" -qAtX \
    -c 'SELECT session_user')" --reason 亲属关系 >/dev/null
psql "${DB[on]}" -qAtX -v ON_ERROR_STOP=1 -c "
    INSERT INTO stpm.orgs (uscc, name, town) VALUES ('91320682MA1MXXXX9Q', '校验码错误样例', '如城街道');
    UPDATE stpm.projects SET org_id = (SELECT id FROM stpm.orgs WHERE uscc = '91320682MA1MXXXX9Q')
     WHERE code = '${NT[9]}'" >/dev/null
checks_vs() { # DATE: projects, how many differ, the failed checks' names
    psql "${DB[on]}" -qAtX -v ON_ERROR_STOP=1 -c "
        WITH c AS (SELECT tr.rule -> 'checks' AS l FROM stpm.workflow_transition_rules tr
                     JOIN stpm.workflows w ON w.id = tr.workflow_id
                    WHERE w.name = 'municipal_nantong' AND tr.name = 'admit'),
             s AS (SELECT x.* FROM c, stpm.checks_run_set(c.l, (SELECT array_agg(id)
                                                                  FROM stpm.projects), DATE '$1') x)
        SELECT count(*) || ' ' || count(*) FILTER (WHERE s.outcomes IS DISTINCT FROM
                                                 stpm.checks_run(c.l, s.project_id, DATE '$1'))
               || ' ' || (SELECT string_agg(DISTINCT o ->> 'name', ',' ORDER BY o ->> 'name')
                            FROM s s2, jsonb_array_elements(s2.outcomes) o
                           WHERE NOT (o ->> 'passed')::boolean)
          FROM s, c"
}
is "$(checks_vs 2026-01-06)" \
    "30 0 credit_clean,integrity_commitment,leader_limit,no_conflict,no_duplicate,uscc_valid" \
    "checks_run_set gives every project checks_run's outcomes, six checks failing"
is "$(checks_vs 2029-06-01)" \
    "30 0 credit_clean,integrity_commitment,leader_limit,no_conflict,no_duplicate,org_no_overdue,uscc_valid" \
    "checks_run_set equals checks_run years later, org_no_overdue failing too"

for mode in off on; do drop_db "${DB[$mode]}"; done
done_testing
