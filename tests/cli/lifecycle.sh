#!/usr/bin/env bash
# The project lifecycle end to end: workflow versions in the database, projects, transitions
# with every kind of rule, the exit codes of DESIGN §7, the hash chain, concurrency, timers
# and bulk advance. Each part uses a fresh database.
. "$(dirname "$0")/lib.sh"
need_db
set -e
SRC=$STPM_SOURCE_ROOT
WF=$SRC/tests/data/lifecycle_test.yaml
export STPM_TODAY=2021-03-01

# Login roles shared by the cluster (roles are cluster-wide; creation tolerates a race).
need_logins lc_officer:officer lc_officer2:officer lc_auditor:auditor lc_expert:expert
set +e

ORG=91320682MA1MXXXX9P
# setup DB: migrate (first connection, as the cluster owner), load the test workflow, a plan
# and an organisation.
DB=
setup() {
    [ -n "$DB" ] && drop_db "$DB"
    DB=$(fresh_db lifecycle)
    "$STPM" --db "$DB" workflow load "$WF" >/dev/null || echo "# workflow load failed" >&2
    psql "$DB" -qAtX -v ON_ERROR_STOP=1 \
        -c "INSERT INTO stpm.plans (code, name, level, workflow_name) VALUES ('TEST', '测试计划', 'county', 'lifecycle_test')" \
        -c "INSERT INTO stpm.orgs (uscc, name, town) VALUES ('$ORG', '如皋某某科技有限公司', '如城街道')" >/dev/null
    OFF="$DB user=lc_officer"
}
sql() { psql "$DB" -qAtX -c "$1"; }
new_project() { # TITLE AMOUNT → prints the code
    "$STPM" --db "$OFF" project create --plan TEST --org $ORG --title "$1" --leader 张三 --set amount_requested="$2"
}
echo x > "$TMP/form.pdf"
echo commitment > "$TMP/commitment.pdf"
# to_admitted CODE: apply and admit with the documents.
to_admitted() {
    "$STPM" --db "$OFF" project advance "$1" apply --attach application_form="$TMP/form.pdf" >/dev/null &&
        "$STPM" --db "$OFF" project advance "$1" admit --attach integrity_commitment="$TMP/commitment.pdf" >/dev/null
}

# ---- workflow versions ----
setup
run "$STPM" --db "$DB" workflow load "$WF"
expect_rc 0 "loading the same version again succeeds"
contains "$OUT" "unchanged" "and says it changed nothing"
sed 's/title: 测试计划/title: 改过的/' "$WF" > "$TMP/changed.yaml"
run "$STPM" --db "$DB" workflow load "$TMP/changed.yaml"
expect_rc 5 "the same version with another digest is refused"
old=$(sql "SELECT digest FROM stpm.workflows WHERE name = 'lifecycle_test'")
new=$(sha256sum "$TMP/changed.yaml" | cut -d' ' -f1)
contains "$ERR" "$old" "the message names the stored digest"
contains "$ERR" "$new" "the message names the new digest"
run "$STPM" --db "$DB" workflow list
contains "$OUT" "lifecycle_test" "workflow list shows the stored version"
run "$STPM" --db "$DB" workflow show lifecycle_test@1
expect_rc 0 "workflow show NAME@V"
contains "$OUT" "publicized" "show lists the states from the stored source"
run "$STPM" --db "$DB" workflow show lifecycle_test@7
expect_rc 6 "an unknown version is not found"
run "$STPM" --db "$DB" workflow graph lifecycle_test --as mermaid
expect_rc 0 "graph of a stored workflow"
contains "$OUT" "publicized" "the graph has the states"
run "$STPM" --db "$DB user=lc_officer" workflow load "$TMP/changed.yaml"
is "$RC" "7" "an officer loading a changed version: refused, loading needs stpm_admin"
sed 's/^version: 1/version: 2/' "$WF" > "$TMP/v2.yaml"
run "$STPM" --db "$DB user=lc_officer" workflow load "$TMP/v2.yaml"
expect_rc 7 "an officer may not load a workflow"

# ---- create, list, show, attach ----
run new_project "高效电机控制系统研发" 50
expect_rc 0 "project create"
is "$OUT" "2021-TEST-0001" "the code is year-plan-serial"
P1=$OUT
run new_project "第二个项目" 60
is "$OUT" "2021-TEST-0002" "the serial counts up"
is "$(sql "SELECT count(*) FROM stpm.leaders")" "1" "the leader is upserted once"
# The serial has four digits at least, not at most: the 10,000th project of a plan's year
# is 2022-TEST-10000 (not a second 2022-TEST-1000).
sql "INSERT INTO stpm.project_codes (year, plan_id, last) SELECT 2022, id, 9999 FROM stpm.plans WHERE code = 'TEST'" >/dev/null
run "$STPM" --db "$OFF" project create --plan TEST --org $ORG --title 第一万个项目 --leader 李四 --year 2022
is "$OUT" "2022-TEST-10000" "the 10,000th project of a plan's year gets a five-digit serial"
run new_project "坏金额" abc
expect_rc 5 "a bad --set value exits 5"
contains "$ERR" 'invalid value "abc" for field "amount_requested"' "and names the field"
run "$STPM" --db "$OFF" project create --plan NOPE --org $ORG --title t --leader l
expect_rc 6 "an unknown plan exits 6"
run "$STPM" --db "$OFF" project show 2021-TEST-9999
expect_rc 6 "an unknown project code exits 6"
run "$STPM" --db "$OFF" project advance 2021-TEST-9999 apply
expect_rc 6 "advancing an unknown project exits 6"
run "$STPM" --db "$OFF" project show "$P1"
contains "$OUT" "reserve" "show has the state"
contains "$OUT" "planned_investment" "show has the workflow fields (with defaults)"
run "$STPM" --db "$OFF" --format json project show "$P1"
expect_rc 0 "show --format json"
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["state"], d["org"]["uscc"], d["workflow"]["name"])')" \
    "reserve $ORG lifecycle_test" "the JSON document parses and holds the project"
run "$STPM" --db "$OFF" project attach "$P1" application_form "$TMP/form.pdf"
expect_rc 0 "attach"
run "$STPM" --db "$OFF" project attach "$P1" application_form "$TMP/form.pdf"
expect_rc 0 "attaching the same file again"
contains "$OUT" "already" "says it is attached already"
is "$(sql "SELECT count(*) FROM stpm.documents")" "1" "the same file twice is one document"
is "$(sql "SELECT count(*) FROM stpm.events WHERE kind = 'attach'")" "1" "and one attach event"
truncate -s 33M "$TMP/big.bin"
run "$STPM" --db "$OFF" project attach "$P1" application_form "$TMP/big.bin"
expect_rc 5 "a document over 32 MiB exits 5"
contains "$ERR" "too large" "with a clear message"

# ---- transitions and reasons ----
P2=2021-TEST-0002
run "$STPM" --db "$OFF" project advance "$P2" apply
expect_rc 3 "a missing document refuses the transition (exit 3)"
contains "$ERR" "application_form" "the reason names the document"
run "$STPM" --db "$OFF" project advance "$P2" reject
expect_rc 3 "reject without a reason is refused"
contains "$ERR" "reason" "the reason says a reason is required"
run "$STPM" --db "$OFF" project advance "$P2" nosuch
expect_rc 6 "an unknown transition exits 6"
P4=$("$STPM" --db "$OFF" project create --plan TEST --org $ORG --title 无金额 --leader 王五)
run "$STPM" --db "$OFF" project advance "$P4" apply --attach application_form="$TMP/form.pdf"
expect_rc 3 "a required field not set refuses the transition"
contains "$ERR" "amount_requested" "the reason names the field"
run "$STPM" --db "$OFF" project advance "$P4" apply --set amount_requested=x
expect_rc 5 "a bad --set value in advance exits 5"
contains "$ERR" 'invalid value "x" for field "amount_requested"' "and names the field"
# --set takes the transition's inputs only (apply: amount_requested)
for a in amount_approved=10 due_date=2030-01-01 extensions=0 closed_date=2021-03-01 start_date=2021-03-01 state_since=2021-01-01 planned_investment=5; do
    run "$STPM" --db "$OFF" project advance "$P4" apply --set "$a" --attach application_form="$TMP/form.pdf"
    expect_rc 5 "--set ${a%%=*} on apply (not an input) exits 5"
    contains "$ERR" "field \"${a%%=*}\" is not an input of transition apply" "and names the field and the transition"
    contains "$ERR" "The inputs of apply are: amount_requested." "and lists the transition's inputs"
done
run "$STPM" --db "$OFF" project advance "$P4" reject --reason x --set budget_note=y
expect_rc 5 "--set on a transition without inputs exits 5"
contains "$ERR" "Transition reject has no inputs" "and says it has none"
is "$(sql "SELECT state || ' ' || row_version FROM stpm.projects WHERE code = '$P4'")" "reserve 1" "a refused --set writes nothing"
is "$(sql "SELECT count(*) FROM stpm.documents d JOIN stpm.projects p ON p.id = d.project_id WHERE p.code = '$P4'")" "0" "nor attaches anything"
for a in due_date=2030-01-01 extensions=3 closed_date=2021-03-01 amount_approved=5 state_since=2020-01-01; do
    run "$STPM" --db "$OFF" project create --plan TEST --org $ORG --title 建时乱设 --leader 王五 --set "$a"
    expect_rc 5 "project create --set ${a%%=*} exits 5"
    contains "$ERR" "field \"${a%%=*}\" cannot be set when a project is created" "and names the field"
done
run "$STPM" --db "$OFF" project create --plan TEST --org $ORG --title 建时设字段 --leader 王五 --set budget_note=说明 --set amount_requested=5
expect_rc 0 "project create takes the workflow's fields and amount_requested"
# attaching a kind the workflow does not declare
run "$STPM" --db "$OFF" project attach "$P4" photo "$TMP/form.pdf"
expect_rc 5 "attaching an undeclared document kind exits 5"
contains "$ERR" 'document kind "photo" is not declared by workflow lifecycle_test' "and names the kind"
contains "$ERR" "application_form (申报书), integrity_commitment (廉政承诺书)" "and lists the declared kinds"
run "$STPM" --db "$OFF" project advance "$P4" apply --set amount_requested=5 --attach photo="$TMP/form.pdf"
expect_rc 5 "--attach of an undeclared kind exits 5"
is "$(sql "SELECT state FROM stpm.projects WHERE code = '$P4'")" "reserve" "and the transition is not taken"
v=$(sql "SELECT row_version FROM stpm.projects WHERE code = '$P1'")
run "$STPM" --db "$OFF" project advance "$P1" apply --dry-run
expect_rc 0 "dry run of an allowed transition"
contains "$OUT" "dry run" "says it was a dry run"
is "$(sql "SELECT row_version || state FROM stpm.projects WHERE code = '$P1'")" "${v}reserve" "a dry run writes nothing"
run "$STPM" --db "$OFF" project advance "$P1" apply
expect_rc 0 "apply with the form attached"
is "$(sql "SELECT state FROM stpm.projects WHERE code = '$P1'")" "applied" "the state moved"
run "$STPM" --db "$OFF" project why "$P1"
contains "$OUT" "integrity_commitment" "why names the failing check"
contains "$OUT" "evidence" "with its evidence"
psql "$DB" -qAtX -c "INSERT INTO stpm.blacklist (uscc, reason, valid_from) VALUES ('$ORG', '虚假申报', '2020-01-01')"
run "$STPM" --db "$OFF" project advance "$P1" admit --attach integrity_commitment="$TMP/commitment.pdf"
expect_rc 3 "a blacklisted organisation fails credit_clean"
contains "$ERR" "credit_clean" "the reason names the check"
contains "$ERR" "虚假申报" "the evidence shows the blacklist entry"
is "$(sql "SELECT count(*) FROM stpm.documents WHERE kind = 'integrity_commitment'")" "0" "a refused transition attaches nothing"
psql "$DB" -qAtX -c "UPDATE stpm.blacklist SET lifted_at = now(), lifted_on = '2021-02-01'"
run "$STPM" --db "$OFF" project advance "$P1" admit --attach integrity_commitment="$TMP/commitment.pdf"
expect_rc 0 "admit once the entry is lifted"
ev=$(sql "SELECT data FROM stpm.events e JOIN stpm.projects p ON p.id = e.project_id WHERE p.code = '$P1' AND transition = 'admit' AND kind = 'transition'")
contains "$ev" '"check": "credit_clean"' "the event holds each check's evidence"
contains "$ev" "$(sha256sum "$TMP/commitment.pdf" | cut -d' ' -f1)" "and the digest of the attached document"
run new_project "大项目" 150
P3=$OUT
to_admitted "$P3"
run "$STPM" --db "$OFF" project advance "$P3" publicize
expect_rc 3 "the guard refuses an amount over 100"
contains "$ERR" "amount_requested <= 100" "the reason quotes the guard expression"

# ---- permissions and immutability ----
run "$STPM" --db "$DB user=lc_auditor" project advance "$P1" publicize
expect_rc 7 "an auditor may not advance (exit 7)"
run psql "$DB user=lc_auditor" -qAtX -c "UPDATE stpm.projects SET state = 'accepted'"
contains "$ERR" "permission denied" "an auditor's UPDATE through psql is refused"
run psql "$DB user=lc_officer" -qAtX -c "UPDATE stpm.events SET reason = 'x'"
contains "$ERR" "permission denied" "an officer cannot UPDATE events"
run psql "$DB user=lc_officer" -qAtX -c "DELETE FROM stpm.events"
contains "$ERR" "permission denied" "an officer cannot DELETE events"
run psql "$DB" -qAtX -c "DELETE FROM stpm.events"
contains "$ERR" "append-only" "not even the owner can DELETE events"
run psql "$DB" -qAtX -c "UPDATE stpm.events SET reason = 'x'"
contains "$ERR" "append-only" "nor UPDATE them"
run "$STPM" --db "$DB user=lc_expert" project advance "$P1" publicize
expect_rc 3 "an expert lacking the transition's role is refused"
contains "$ERR" "role" "the reason is the role"
actor=$(sql "SELECT actor FROM stpm.events e JOIN stpm.projects p ON p.id = e.project_id WHERE p.code = '$P1' AND transition = 'admit' AND kind = 'transition'")
is "$actor" "lc_officer" "the actor is the connected database role"

# ---- the hash chain ----
breaks=$(sql "SELECT count(*) FROM (SELECT prev_hash, lag(hash) OVER (PARTITION BY chain ORDER BY seq) AS prev, seq, lag(seq) OVER (PARTITION BY chain ORDER BY seq) AS pseq FROM stpm.events) x WHERE (pseq IS NULL AND (seq <> 1 OR prev_hash <> repeat('0', 64))) OR (pseq IS NOT NULL AND (prev_hash <> prev OR seq <> pseq + 1))")
is "$breaks" "0" "every chain is continuous: each prev_hash is the previous hash"
run "$STPM" --db "$OFF" project history "$P1"
contains "$OUT" "admit" "history lists the transitions"
contains "$OUT" "applied → admitted" "with from → to"

# ---- concurrency: two officers at once ----
# The example of docs/architecture.md: a transition taken from psql, by the server.
run psql "$OFF" -qAtX -v ON_ERROR_STOP=1 -c "SELECT stpm.project_advance('2021-TEST-0001', 'publicize', '2021-03-01') ->> 'to'"
expect_rc 0 "publicize from psql (docs/architecture.md)"
is "$OUT" "publicized" "the server took it"
v=$(sql "SELECT row_version FROM stpm.projects WHERE code = '$P1'")
# Hold the row so that both commands read it, then queue behind the lock.
psql "$DB" -qAtX -c "BEGIN; SELECT 1 FROM stpm.projects WHERE code = '$P1' FOR UPDATE; SELECT pg_sleep(2); COMMIT;" >/dev/null &
holder=$!
sleep 0.5
"$STPM" --db "$OFF" project advance "$P1" approve >"$TMP/a.out" 2>"$TMP/a.err" &
a=$!
"$STPM" --db "$DB user=lc_officer2" project advance "$P1" approve >"$TMP/b.out" 2>"$TMP/b.err" &
b=$!
ra=0; wait $a || ra=$?
rb=0; wait $b || rb=$?
wait $holder || true
is "$(printf '%s\n' $ra $rb | sort | tr '\n' ' ')" "0 4 " "two advances at once: one wins (0), the other conflicts (4)"
contains "$(cat "$TMP/a.err" "$TMP/b.err")" "changed" "the loser is told the project changed"
is "$(sql "SELECT row_version FROM stpm.projects WHERE code = '$P1'")" "$((v + 1))" "exactly one change was written"
is "$(sql "SELECT count(*) FROM stpm.events WHERE transition = 'approve'")" "1" "exactly one approve event"
forks=$(sql "SELECT count(*) FROM (SELECT chain, prev_hash FROM stpm.events GROUP BY chain, prev_hash HAVING count(*) > 1) x")
is "$forks" "0" "the chain has no fork"

# ---- timers ----
setup
T1=$(new_project "定时一" 10); to_admitted "$T1"
T2=$(new_project "定时二" 10); to_admitted "$T2"
"$STPM" --db "$OFF" project advance "$T1" publicize >/dev/null
"$STPM" --db "$OFF" --today 2021-03-03 project advance "$T2" publicize >/dev/null
# 5 working days after Monday 2021-03-01 is Monday 2021-03-08.
run "$STPM" --db "$OFF" --today 2021-03-05 tick
expect_rc 0 "tick before the timer is due"
contains "$OUT" "0 timers due" "fires nothing"
run "$STPM" --db "$OFF" --today 2021-03-08 tick --dry-run
contains "$OUT" "$T1" "a dry-run tick names the due project"
is "$(sql "SELECT state FROM stpm.projects WHERE code = '$T1'")" "publicized" "a dry-run tick writes nothing"
run "$STPM" --db "$OFF" --today 2021-03-08 tick
expect_rc 0 "tick"
contains "$OUT" "$T1" "the due project is named"
contains "$OUT" "1 fired" "one timer fired"
is "$(sql "SELECT state || ' ' || start_date FROM stpm.projects WHERE code = '$T1'")" "approved 2021-03-08" "the timer's transition and its set: were applied"
is "$(sql "SELECT state FROM stpm.projects WHERE code = '$T2'")" "publicized" "the project entered later waits"
run "$STPM" --db "$OFF" --today 2021-03-08 tick
contains "$OUT" "0 timers due" "a second tick does nothing"
is "$(sql "SELECT count(*) FROM stpm.events WHERE transition = 'approve'")" "1" "one approve event only"
ev=$(sql "SELECT data FROM stpm.events WHERE transition = 'approve'")
contains "$ev" '"by_timer": true' "the event says a timer took it"
run "$STPM" --db "$OFF" --today 2022-03-09 project list --overdue
contains "$OUT" "$T1" "after its due date the project is overdue"
run "$STPM" --db "$OFF" --today 2022-03-08 project list --overdue
is "$(printf '%s' "$OUT" | grep -c "$T1")" "0" "not on its due date"

# ---- bulk ----
setup
for i in 1 2 3 4; do c=$(new_project "批量$i" $((i * 40))); to_admitted "$c"; done
run "$STPM" --db "$OFF" project advance --where 'state=admitted plan=TEST year=2021' publicize --dry-run
expect_rc 3 "a bulk dry run with a refusal exits 3"
is "$(sql "SELECT count(*) FROM stpm.projects WHERE state = 'publicized'")" "0" "a bulk dry run writes nothing"
run "$STPM" --db "$OFF" --format csv project advance --where 'state=admitted plan=TEST year=2021' publicize
expect_rc 3 "bulk advance with one refusal exits 3"
contains "$OUT" "2021-TEST-0001,publicize,admitted,publicized,ok" "each project has its outcome"
contains "$OUT" "2021-TEST-0003,publicize,admitted,,refused" "the refused one is reported"
contains "$OUT" "amount_requested <= 100" "with its reason"
is "$(sql "SELECT count(*) FROM stpm.projects WHERE state = 'publicized'")" "2" "the allowed ones moved"
run "$STPM" --db "$OFF" project advance --where 'state=admitted plan=TEST' publicize
is "$(printf '%s' "$OUT" | grep -c ' ok ')" "0" "a second bulk finds only the refused ones"
run "$STPM" --db "$OFF" project advance --where 'colour=red' publicize
expect_rc 2 "an unknown --where key is a usage error"

# ---- the shipped workflows ----
setup
run "$STPM" --db "$DB" workflow load "$SRC"/workflows/county_rugao.yaml "$SRC"/workflows/national_key_rd.yaml
expect_rc 0 "the shipped workflows load"
psql "$DB" -qAtX -c "INSERT INTO stpm.plans (code, name, level, workflow_name) VALUES ('RGKJ', '如皋市科技计划', 'county', 'county_rugao')"
run "$STPM" --db "$OFF" project create --plan RGKJ --org $ORG --title 如皋项目 --leader 李四 --set amount_requested=20
R1=$OUT
is "$R1" "2021-RGKJ-0001" "a project under the shipped county workflow"
run "$STPM" --db "$OFF" project why "$R1"
contains "$OUT" "town" "why names the missing field of the shipped workflow"
run "$STPM" --db "$OFF" project advance "$R1" apply --set town=如城街道 --attach application_form="$TMP/form.pdf"
expect_rc 0 "apply under the shipped workflow"
run "$STPM" --db "$OFF" project advance "$R1" admit --attach integrity_commitment="$TMP/commitment.pdf"
expect_rc 0 "integrity admission with all seven checks"
is "$(sql "SELECT jsonb_array_length(data->'checks') FROM stpm.events WHERE transition = 'admit'")" "7" "seven checks' evidence recorded"
for a in due_date=2030-01-01 extensions=0 closed_date=2021-03-01 state_since=2021-01-01 town=长江镇; do
    run "$STPM" --db "$OFF" project advance "$R1" publicize --set amount_approved=15 --set "$a"
    expect_rc 5 "shipped publicize --set ${a%%=*} exits 5"
    contains "$ERR" "field \"${a%%=*}\" is not an input of transition publicize" "naming the field"
    contains "$ERR" "The inputs of publicize are: amount_approved." "and the inputs"
done
run "$STPM" --db "$OFF" project advance "$R1" publicize --set amount_approved=15
expect_rc 0 "publicize with the approved amount"
# the 公示 period: five working days before approve, by hand or by the timer
run "$STPM" --db "$OFF" project advance "$R1" approve
expect_rc 3 "approving by hand the day of publicity is refused"
contains "$ERR" "today >= state_since + 5wd" "the reason is the publicity guard"
run "$STPM" --db "$OFF" --today 2021-03-05 project advance "$R1" approve
expect_rc 3 "four working days later, still refused"
run "$STPM" --db "$OFF" --today 2021-03-08 project advance "$R1" approve
expect_rc 0 "five working days later approve is taken by hand"
is "$(sql "SELECT state || ' ' || due_date FROM stpm.projects WHERE code = '$R1'")" "approved 2022-03-08" "approved, due in a year"
run "$STPM" --db "$OFF" --today 2021-03-09 project advance "$R1" start --set due_date=2021-12-31 --attach task_book="$TMP/form.pdf"
expect_rc 5 "start --set due_date exits 5"
contains "$ERR" "The inputs of start are: agreed_due_date." "the task book's date is the input"
run "$STPM" --db "$OFF" --today 2021-03-09 project advance "$R1" start --set agreed_due_date=2022-06-30 --attach task_book="$TMP/form.pdf"
expect_rc 3 "a task book may not give more time than approval"
run "$STPM" --db "$OFF" --today 2021-03-09 project advance "$R1" start --set agreed_due_date=2021-12-31 --attach task_book="$TMP/form.pdf"
expect_rc 0 "start with the task book's completion date"
is "$(sql "SELECT state || ' ' || due_date FROM stpm.projects WHERE code = '$R1'")" "in_progress 2021-12-31" "the task book fixed the due date"
run "$STPM" --db "$OFF" --today 2021-03-09 project attach "$R1" midterm_report "$TMP/form.pdf"
expect_rc 5 "a kind the county workflow does not declare"
contains "$ERR" "task_book (任务书)" "lists the declared kinds with their labels"

drop_db "$DB"
done_testing
