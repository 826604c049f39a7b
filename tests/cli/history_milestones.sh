#!/usr/bin/env bash
# Issue 9, deliverable 1: `workflow check` (and `workflow load`) refuse a workflow whose
# milestones contradict its states, with FILE:LINE:COL and exit 5 (DESIGN §5, §7: bad
# input data), and accept consistent ones (docs/workflows.md "Milestones"). No database
# is needed for check; load is tried on a throwaway database when there is one.
. "$(dirname "$0")/lib.sh"
need_source
keep_going

# wf NAME STATE_LINES...: a small workflow; line 7 is the first line of the given states
# (so the Nth given line is line 6+N), the rest is fixed and consistent.
wf() {
    local f=$TMP/$1.yaml
    shift
    {
        echo "workflow: ms_test"
        echo "version: 1"
        echo "title: 里程碑测试"
        echo "initial: pool"
        echo "states:"
        echo "  pool: {label: 储备}"
        printf '%s\n' "$@"
        cat <<'EOF'
  refused: {label: 未立项, final: true, counts_as: rejected}
transitions:
  apply: {from: pool, to: filed, roles: [officer]}
  approve: {from: filed, to: granted, roles: [officer]}
  finish: {from: granted, to: done, roles: [officer]}
  reject: {from: [pool, filed], to: refused, roles: [officer], require: {reason: true}}
EOF
    } >"$f"
    echo "$f"
}
# refused NAME FILE LINE WHAT: check exits 5 with FILE:LINE:COL: ... naming WHAT
refused() {
    run "$STPM" workflow check "$2"
    expect_rc 5 "$1: workflow check exits 5"
    if printf '%s\n' "$ERR" | grep -qE "^$2:$3:[0-9]+: .*$4"; then
        pass "$1: the message is FILE:$3:COL and names $4"
    else
        fail "$1: the message is FILE:$3:COL and names $4" "stderr: $ERR"
    fi
}

OKF=$(wf ok \
    "  filed: {label: 已申报, counts_as: applied}" \
    "  granted: {label: 在研, counts_as: in_progress, active: true}" \
    "  done: {label: 验收通过, final: true, closed: true, counts_as: accepted}")
run "$STPM" workflow check "$OKF"
expect_rc 0 "a consistent workflow is accepted"
contains "$OUT" "ok (workflow ms_test version 1" "and says ok"

# a closed state that is not final (line 9: done)
F=$(wf closed_not_final \
    "  filed: {label: 已申报, counts_as: applied}" \
    "  granted: {label: 在研, counts_as: in_progress}" \
    "  done: {label: 验收中, closed: true, counts_as: in_progress}")
# done is not final and has no way out either: the closed error must be among the messages
refused "closed, not final" "$F" 9 "closed"

# a state counting as accepted that is not final (line 8: granted)
F=$(wf accepted_not_final \
    "  filed: {label: 已申报, counts_as: applied}" \
    "  granted: {label: 已验收, counts_as: accepted}" \
    "  done: {label: 归档, final: true, closed: true, counts_as: accepted}")
refused "counts as accepted, not final" "$F" 8 "accepted"

# terminated, rejected, withdrawn on a state that is not final
for m in terminated rejected withdrawn; do
    F=$(wf "${m}_not_final" \
        "  filed: {label: 已申报, counts_as: $m}" \
        "  granted: {label: 在研, counts_as: in_progress}" \
        "  done: {label: 验收通过, final: true, closed: true, counts_as: accepted}")
    refused "counts as $m, not final" "$F" 7 "$m"
done

# an unknown milestone (line 8)
F=$(wf unknown_milestone \
    "  filed: {label: 已申报, counts_as: applied}" \
    "  granted: {label: 在研, counts_as: finished}" \
    "  done: {label: 验收通过, final: true, closed: true, counts_as: accepted}")
refused "an unknown milestone" "$F" 8 "finished"

# a final state that counts as applied, admitted or in_progress (line 9)
for m in applied admitted in_progress; do
    F=$(wf "final_$m" \
        "  filed: {label: 已申报, counts_as: applied}" \
        "  granted: {label: 在研, counts_as: in_progress}" \
        "  done: {label: 结束, final: true, counts_as: $m}")
    refused "a final state counting as $m" "$F" 9 "$m"
done

# a closed state that counts as rejected (line 9)
F=$(wf closed_rejected \
    "  filed: {label: 已申报, counts_as: applied}" \
    "  granted: {label: 在研, counts_as: in_progress}" \
    "  done: {label: 未立项, final: true, closed: true, counts_as: rejected}")
refused "a closed state counting as rejected" "$F" 9 "rejected"

# active: true on a final state (line 9)
F=$(wf active_final \
    "  filed: {label: 已申报, counts_as: applied}" \
    "  granted: {label: 在研, counts_as: in_progress}" \
    "  done: {label: 验收通过, final: true, closed: true, counts_as: accepted, active: true}")
refused "active on a final state" "$F" 9 "active"

# consistent: a final, closed approval; a final, closed termination; a final state without
# milestone only warns
F=$(wf final_approval \
    "  filed: {label: 已申报, counts_as: applied}" \
    "  granted: {label: 在研, counts_as: in_progress}" \
    "  done: {label: 已奖补, final: true, closed: true, counts_as: approved}")
run "$STPM" workflow check "$F"
expect_rc 0 "a final, closed state counting as approved is consistent"
F=$(wf no_milestone_final \
    "  filed: {label: 已申报, counts_as: applied}" \
    "  granted: {label: 在研, counts_as: in_progress}" \
    "  done: {label: 归档, final: true}")
run "$STPM" workflow check "$F"
expect_rc 0 "a final state without a milestone only warns"
contains "$ERR" "warning" "and the warning is said"

# every shipped workflow is consistent
run "$STPM" workflow check "$SRC"/workflows/*.yaml
expect_rc 0 "the shipped workflows pass workflow check"

# load refuses the same, with the same exit, and stores nothing
if [ -n "${STPM_TEST_DB:-}" ]; then
    DB=$(fresh_db hmiles)
    run "$STPM" --db "$DB" workflow load "$TMP/accepted_not_final.yaml"
    expect_rc 5 "workflow load refuses inconsistent milestones"
    run "$STPM" --db "$DB" --format csv workflow list
    is "$(printf '%s\n' "$OUT" | grep -c ms_test)" "0" "and stores nothing"
    run "$STPM" --db "$DB" workflow load "$OKF"
    expect_rc 0 "workflow load takes the consistent one"
    drop_db "$DB"
else
    skip "workflow load" "no test cluster"
fi
done_testing
