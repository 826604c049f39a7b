#!/usr/bin/env bash
# A bulk of more than one chunk (500 projects) runs on two connections at once
# (core/project/bulk_chunks.c): its projects split by organisation, each organisation's
# taken in the order given, the server's locks keeping every rule across the two. Twin
# databases of 1,200 projects (tests/bench/bench_pipeline setup, plus three projects of one
# leader, over municipal_nantong's limit of 2 active ones) take the same bulk apply and admit through
# `stpm project advance --where`, one with STPM_BULK_LANES=1 (one connection, in order), one
# by default: the same answers line for line, the same states, the same refusals, every
# chain verified. The default's chunks ran side by side (their transactions overlap in
# time), STPM_BULK_LANES=1's one after the other.
. "$(dirname "$0")/lib.sh"
need_db
need_source
BENCH="$STPM_BUILD_ROOT/tests/bench/bench_pipeline"
ORG=91320682MA1MXXXX9P
N=1200
TMPD=$(mktemp -d)
trap 'rm -rf "$TMPD"' EXIT
for k in application_form integrity_commitment task_book acceptance_report; do
    echo "bulk lanes $k" >"$TMPD/$k.txt"
done

need_groups

declare -A DB
for mode in one two; do
    DB[$mode]=$(fresh_db "lanes_$mode")
    BENCH_TITLES=bureau "$BENCH" setup "${DB[$mode]} options=-csynchronous_commit=off" "$N" \
        "$SRC/workflows/municipal_nantong.yaml" "$TMPD" NTKJ >"$TMPD/setup-$mode.log" 2>&1 &
done
wait
for mode in one two; do
    st() { "$STPM" --db "${DB[$mode]}" --today 2026-01-03 "$@"; }
    st org add --uscc $ORG --name 如皋某某科技有限公司 --town 如城街道 >/dev/null
    for t in 智能纺纱装备研发 海洋工程防腐涂料 农村污水一体化处理设备; do
        c=$(st project create --plan NTKJ --org $ORG --title "$t" \
            --leader 负责人甲 --year 2026 --set amount_requested=80)
        for k in application_form integrity_commitment task_book acceptance_report; do
            st project attach "$c" $k "$TMPD/$k.txt" >/dev/null
        done
    done
done
q() { psql "${DB[$1]}" -qAtX -v ON_ERROR_STOP=1 -c "$2"; }
is "$(q one "SELECT count(*) FROM stpm.projects WHERE state = 'reserve'") \
$(q two "SELECT count(*) FROM stpm.projects WHERE state = 'reserve'")" "$((N + 3)) $((N + 3))" \
    "the twins hold $((N + 3)) projects in reserve"

adv() { # MODE DATE STATE TRANSITION: the answers as CSV in a file; prints the exit status
    local rc=0 lanes=(env -u STPM_BULK_LANES)
    [ "$1" = one ] && lanes=(env STPM_BULK_LANES=1)
    "${lanes[@]}" "$STPM" --db "${DB[$1]}" --today "$2" --format csv \
        project advance --where "state=$3" "$4" >"$TMPD/$1-$4.csv" 2>"$TMPD/$1-$4.err" || rc=$?
    echo "$rc"
}
for step in "2026-01-05 reserve apply 0" "2026-01-06 applied admit 3"; do
    set -- $step
    rc1=$(adv one "$1" "$2" "$3")
    rc2=$(adv two "$1" "$2" "$3")
    is "$rc1 $rc2" "$4 $4" "bulk $3 of $((N + 3)): exit $4 on one connection and on two"
    if cmp -s "$TMPD/one-$3.csv" "$TMPD/two-$3.csv"; then
        pass "bulk $3: the same answers, line for line, on one connection and on two"
    else
        fail "bulk $3: the answers differ" "$(diff "$TMPD/one-$3.csv" "$TMPD/two-$3.csv" | head -5)"
    fi
done
is "$(grep -c ',ok,' "$TMPD/two-admit.csv") $(grep -c ',refused,' "$TMPD/two-admit.csv")" \
    "$N 3" "admit: $N ok, 3 refused (a leader with 3 active projects, over the limit of 2)"
contains "$(grep ',refused,' "$TMPD/two-admit.csv")" "leader 负责人甲 of org $ORG already has 2" \
    "the refusals name the leader over the limit"

states="SELECT string_agg(code || ' ' || state, ',' ORDER BY code) FROM stpm.projects"
is "$(q two "$states" | md5sum)" "$(q one "$states" | md5sum)" "the same state for every project"
hist="SELECT string_agg(p.code || ' ' || e.seq || ' ' || e.kind || ' ' || coalesce(e.to_state, '')
             || ' ' || e.on_date, ',' ORDER BY p.code, e.seq)
        FROM stpm.events e JOIN stpm.projects p ON p.id = e.project_id"
is "$(q two "$hist" | md5sum)" "$(q one "$hist" | md5sum)" \
    "the same events, refusals included, in every project's chain"
for mode in one two; do
    run "$STPM" --db "${DB[$mode]}" audit verify
    is "$RC" 0 "audit verify of the twin run on $mode connection(s)"
done

# Each chunk's transaction: from its start (now(), the projects' updated_at) to its last
# event; on two connections some two of them overlap, on one never.
overlaps="WITH c AS (SELECT p.xmin::text AS x, min(p.updated_at) AS t0, max(e.at) AS t1
                     FROM stpm.projects p JOIN stpm.events e ON e.project_id = p.id
                      AND e.kind = 'transition' AND e.transition = 'admit'
                    WHERE p.state = 'admitted' GROUP BY p.xmin::text)
          SELECT count(*) FILTER (WHERE a.t0 < b.t1 AND b.t0 < a.t1), count(*)
            FROM c a JOIN c b ON a.x < b.x"
read -r ov_one pairs_one <<<"$(q one "$overlaps" | tr '|' ' ')"
read -r ov_two pairs_two <<<"$(q two "$overlaps" | tr '|' ' ')"
is "$ov_one $pairs_one" "0 3" \
    "STPM_BULK_LANES=1: the 3 chunks (500, 500, 203) ran one after the other"
if [ "${ov_two:-0}" -ge 1 ]; then
    pass "by default: chunks of the bulk ran side by side ($ov_two overlapping of $pairs_two)"
else
    fail "by default: chunks of the bulk ran side by side" "overlapping: ${ov_two:-none}"
fi

for mode in one two; do drop_db "${DB[$mode]}"; done
done_testing
