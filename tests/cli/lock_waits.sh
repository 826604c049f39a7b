#!/usr/bin/env bash
# Issue 10, locks that other roles can hold (migrations/083): an auditor holds, through
# psql, each advisory lock stpm takes — the plan year, the organisation and the leader of a
# transition, the survey imports of a year and those of every year; `project advance`,
# `project create` and `survey import` then answer within lock_wait_seconds with exit 4 and a message naming
# what was waited for and who holds it (role, application name, pid), and write nothing.
# Once the holder is gone, the same commands go through.
. "$(dirname "$0")/lib.sh"
need_db
keep_going
need_source
command -v psql >/dev/null || { fail "psql is on PATH" "psql not found"; done_testing; exit 1; }
cd "$TMP"

DB=$(fresh_db locks)
OFFICER=lockw_officer ADMIN=lockw_admin AUDITOR=lockw_auditor
ORG=91320682MA1MXXXX9P
holder_pid=
cleanup() {
    if [ -n "$holder_pid" ]; then kill "$holder_pid" 2>/dev/null; fi
    drop_db "$DB"
    rm -rf "$TMP"
}
trap cleanup EXIT

q() { psql "$DB" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
st() { # ROLE ARGS...: stpm as ROLE on business date 2021-01-04
    local who=$1
    shift
    "$STPM" --db "$DB user=$who" --today 2021-01-04 "$@"
}

run "$STPM" --db "$DB" workflow load "$SRC/workflows/municipal_nantong.yaml"
expect_rc 0 "setup: the workflow loads"
for r in "$OFFICER:officer" "$ADMIN:admin" "$AUDITOR:auditor"; do
    run "$STPM" --db "$DB" user add "${r%%:*}" --role "${r#*:}"
    expect_rc 0 "setup: user add ${r%%:*} --role ${r#*:}"
done
run st "$ADMIN" plan add NTKJ --name 南通市科技计划 --level municipal --workflow municipal_nantong --funded
expect_rc 0 "setup: a plan"
run st "$ADMIN" org add --uscc $ORG --name 如皋锁等待科技有限公司 --town 如城街道
expect_rc 0 "setup: an organisation"
run st "$OFFICER" project create --plan NTKJ --org $ORG --title 高效电机控制系统研发 --leader 张三 --set amount_requested=50
expect_rc 0 "setup: a project"
CODE=$OUT
if [ "$_failed" -ne 0 ]; then done_testing; exit 1; fi
echo form >form.pdf
cat >pool.csv <<'CSV'
org_name,uscc,town,title,field,target_plan,leader,planned_investment,requested_funding,rd_spend,revenue,high_tech,partner,maturity,notes
江苏汤臣汽车零部件有限公司,91320682053181941N,城北街道,候选甲 轻量化底盘,高端装备,如皋市科技计划,张伟,500,50,300,10000,是,南通大学,5,
CSV

# the setting: default 10, an administrator changes it, nonsense refused
is "$(q "SELECT value FROM stpm.settings WHERE name = 'lock_wait_seconds'")" "10" "lock_wait_seconds is 10 by default"
run psql "$DB user=$ADMIN" -qAtX -v ON_ERROR_STOP=1 -c "SELECT stpm.setting_set('lock_wait_seconds', '0')"
if [ "$RC" -ne 0 ] && grep -q 'expected a number of seconds from 1 to 3600' <<<"$ERR"; then
    pass "lock_wait_seconds 0 is refused"
else
    fail "lock_wait_seconds 0 is refused" "rc $RC" "$ERR"
fi
run psql "$DB user=$OFFICER" -qAtX -v ON_ERROR_STOP=1 -c "SELECT stpm.setting_set('lock_wait_seconds', '1')"
if [ "$RC" -ne 0 ]; then pass "an officer may not change lock_wait_seconds"; else fail "an officer may not change lock_wait_seconds"; fi
run psql "$DB user=$ADMIN" -qAtX -v ON_ERROR_STOP=1 -c "SELECT stpm.setting_set('lock_wait_seconds', '2')"
expect_rc 0 "an administrator sets lock_wait_seconds to 2"

# hold SQL: the auditor runs SQL (taking a session advisory lock) in psql and stays
# connected; returns once the lock is granted.
hold() {
    psql "$DB user=$AUDITOR application_name=auditor_hold" -qAtX -v ON_ERROR_STOP=1 \
        -c "$1" -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
    holder_pid=$!
    local i
    for i in $(seq 100); do
        [ "$(q "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'auditor_hold'")" = 1 ] && return 0
        sleep 0.1
    done
    fail "the auditor holds the lock" "$1"
}
release() {
    q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'auditor_hold'" >/dev/null
    wait "$holder_pid" 2>/dev/null
    holder_pid=
}
apid() { q "SELECT pid FROM pg_stat_activity WHERE application_name = 'auditor_hold'"; }
ms() { date +%s%3N; }
digest() { q "SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM stpm.projects t"; }
count_events() { q "SELECT count(*) FROM stpm.events"; }

# told NAME WHAT: the last command exited 4 within the wait, naming WHAT and the holder.
told() {
    local took=$(($(ms) - t0))
    expect_rc 4 "$1: exit 4"
    contains "$ERR" "waited 2 s for the lock on $2" "$1: the message says what it waited for"
    contains "$ERR" "role $AUDITOR (auditor_hold, pid $pid" "$1: the message names the holder's role, application and pid"
    contains "$ERR" "pg_terminate_backend($pid)" "$1: the hint says how an administrator ends the holder"
    if [ "$took" -lt 8000 ]; then pass "$1: answered within the wait ($took ms)"; else fail "$1: answered within the wait" "$took ms"; fi
}

# 1. the plan year (shared by transitions), held exclusively by the auditor
hold "SELECT pg_advisory_lock(hashtext('stpm.year'), 2021)"
pid=$(apid)
before=$(digest) ev=$(count_events)
t0=$(ms)
run timeout 60 "$STPM" --db "$DB user=$OFFICER" --today 2021-01-05 project advance "$CODE" apply --attach application_form=form.pdf
told "project advance while the auditor holds the plan year" "plan year 2021"
is "$(digest) $(count_events)" "$before $ev" "the refused transition wrote nothing"
t0=$(ms)
run timeout 60 "$STPM" --db "$DB user=$OFFICER" --today 2021-01-05 project create --plan NTKJ --org $ORG --title '另一个课题 绿色工艺' --leader 李四
told "project create while the auditor holds the plan year" "plan year 2021"
is "$(digest) $(count_events)" "$before $ev" "the refused creation wrote nothing"
release

# 2. the organisation of the transition
hold "SELECT pg_advisory_lock(hashtext('stpm.org'), hashtext((SELECT id::text FROM stpm.orgs WHERE uscc = '$ORG')))"
pid=$(apid)
t0=$(ms)
run timeout 60 "$STPM" --db "$DB user=$OFFICER" --today 2021-01-05 project advance "$CODE" apply --attach application_form=form.pdf
told "project advance while the auditor holds the organisation" "organisation 如皋锁等待科技有限公司"
release

# 3. the leader of the transition, held shared: still in the way of the exclusive lock
hold "SELECT pg_advisory_lock_shared(hashtext('stpm.leader'), hashtext((SELECT id::text FROM stpm.leaders WHERE name = '张三')))"
pid=$(apid)
t0=$(ms)
run timeout 60 "$STPM" --db "$DB user=$OFFICER" --today 2021-01-05 project advance "$CODE" apply --attach application_form=form.pdf
told "project advance while the auditor holds the leader" "project leader 张三"
is "$(digest) $(count_events)" "$before $ev" "nothing was written while the locks were held"
release

run timeout 60 "$STPM" --db "$DB user=$OFFICER" --today 2021-01-05 project advance "$CODE" apply --attach application_form=form.pdf
expect_rc 0 "once the holder is gone, the transition goes through"

# 4. the year's survey imports
hold "SELECT pg_advisory_lock(1937076854, 2020)"
pid=$(apid)
entries=$(q "SELECT count(*) FROM stpm.reserve_entries")
t0=$(ms)
run timeout 60 "$STPM" --db "$DB user=$OFFICER" --today 2020-10-31 survey import pool.csv --year 2020
told "survey import while the auditor holds the year's import lock" "the survey imports of year 2020"
contains "$ERR" "cannot start the import" "survey import: the message says the import did not start"
is "$(q "SELECT count(*) FROM stpm.reserve_entries")" "$entries" "the refused import wrote nothing"
run timeout 60 "$STPM" --db "$DB user=$OFFICER" --today 2020-10-31 survey import pool.csv --year 2021
expect_rc 0 "an import of another year is not held up"
release
run timeout 60 "$STPM" --db "$DB user=$OFFICER" --today 2020-10-31 survey import pool.csv --year 2020
expect_rc 0 "once the holder is gone, the import goes through"

# 4b. the lock of every year's imports (migrations/102: two runs' chunks must not create
# the same organisations in two orders)
hold "SELECT pg_advisory_lock(1937076854, 0)"
pid=$(apid)
entries=$(q "SELECT count(*) FROM stpm.reserve_entries")
t0=$(ms)
run timeout 60 "$STPM" --db "$DB user=$OFFICER" --today 2022-10-31 survey import pool.csv --year 2022
told "survey import while the auditor holds the lock of every year's imports" "the survey imports of every year"
is "$(q "SELECT count(*) FROM stpm.reserve_entries")" "$entries" "the refused import wrote nothing"
release
run timeout 60 "$STPM" --db "$DB user=$OFFICER" --today 2022-10-31 survey import pool.csv --year 2022
expect_rc 0 "once the holder is gone, that import goes through"

# 5. the workflow's name, taken by every loader of that name
hold "SELECT pg_advisory_lock(hashtext('stpm.workflow'), hashtext('municipal_nantong'))"
pid=$(apid)
versions=$(q "SELECT count(*) || ' ' || count(*) FILTER (WHERE kind LIKE 'workflow%') FROM stpm.workflows, stpm.events")
sed 's/^version: .*/version: 99/' "$SRC/workflows/municipal_nantong.yaml" >nantong-99.yaml
t0=$(ms)
run timeout 60 "$STPM" --db "$DB user=$ADMIN" workflow load nantong-99.yaml
told "workflow load while the auditor holds the workflow's name" "workflow municipal_nantong"
is "$(q "SELECT count(*) || ' ' || count(*) FILTER (WHERE kind LIKE 'workflow%') FROM stpm.workflows, stpm.events")" "$versions" "the refused load wrote nothing"
run timeout 60 "$STPM" --db "$DB user=$ADMIN" workflow load "$SRC/workflows/county_rugao.yaml"
expect_rc 0 "a workflow of another name is not held up"
release
run timeout 60 "$STPM" --db "$DB user=$ADMIN" workflow load nantong-99.yaml
expect_rc 0 "once the holder is gone, the workflow loads"
is "$(q "SELECT count(*) FROM stpm.workflows WHERE name = 'municipal_nantong' AND version = 99")" "1" "the version is stored"
run psql "$DB user=$ADMIN" -qAtX -v ON_ERROR_STOP=1 -c "SELECT stpm.workflow_store_body('x', 1, 'x', 'x', 'x', '[]', '{}')"
if [ "$RC" -ne 0 ] && [[ "$ERR" == *"permission denied"* ]]; then pass "an administrator's psql cannot call the unbounded body"; else fail "an administrator's psql cannot call the unbounded body" "rc $RC" "$ERR"; fi

done_testing
