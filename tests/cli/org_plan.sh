#!/usr/bin/env bash
# stpm org, plan and user end to end: registration with USCC check, the blacklist with its
# windows, conflicts, plans bound to loaded workflows, users and what each role may do.
. "$(dirname "$0")/lib.sh"
need_db

DB=$(fresh_db orgplan)
trap 'drop_db "$DB"; rm -rf "$TMP"' EXIT
S() { "$STPM" --db "$DB" "$@"; }
U1=91320682MA1N0Q3BXD
U2=91320682MA1P4R7CXX
SUFFIX="$$_${RANDOM}"
AUDITOR="aud_$SUFFIX"
OFFICER="off_$SUFFIX"
ADMIN="adm_$SUFFIX"
cleanup_roles() {
    drop_db "$DB"
    for r in "$AUDITOR" "$OFFICER" "$ADMIN"; do
        psql "$STPM_TEST_DB" -qAtX -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1 || true
    done
    rm -rf "$TMP"
}
trap cleanup_roles EXIT

# --- org add -------------------------------------------------------------------------
run S org add --uscc "$U1" --name 江苏如皋纺织机械有限公司 --town 如城 --kind enterprise
expect_rc 0 "org add with a valid USCC"
contains "$OUT" "added organisation $U1" "org add reports the code"

run S org add --uscc "$(echo "$U2" | tr 'A-Z' 'a-z')" --name 如皋新能源材料有限公司 --town 长江
expect_rc 0 "org add normalises a lower-case USCC"

run S org add --uscc 91320682MA1N0Q3BX0 --name 坏代码公司 --town 如城
expect_rc 5 "org add with a bad check character exits 5"
contains "$ERR" "uscc:" "the bad field is named"
contains "$ERR" "invalid unified social credit code" "the message says what is wrong"

run S org add --uscc "$U1" --name 重复 --town 如城
expect_rc 4 "a duplicate USCC exits 4"
contains "$ERR" "already exists" "the duplicate is explained"

run S org add --uscc "$U1" --town 如城
expect_rc 2 "org add without --name is a usage error"

# --- org list / show -----------------------------------------------------------------
run S org list
expect_rc 0 "org list"
contains "$OUT" "江苏如皋纺织机械有限公司" "org list shows the organisation"
contains "$OUT" "(2 rows)" "org list counts both"

run S org list --town 长江
contains "$OUT" "(1 row)" "org list --town filters"
contains "$OUT" "$U2" "org list --town keeps the town's organisation"

run S --format json org list
expect_rc 0 "org list as json"
is "$(echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d), d[0]["projects"], d[0]["blacklisted"])')" \
    "2 0 False" "json has typed numbers and booleans"

run S org show 91320682MA1N0Q3BXF
expect_rc 6 "org show of an unknown code exits 6"

# --- blacklist -----------------------------------------------------------------------
run S --today 2021-06-01 org blacklist "$U1" --reason 虚假申报 --from 2020-05-01 --until 2023-04-30
expect_rc 0 "org blacklist"
run S --today 2021-06-01 org show "$U1"
contains "$OUT" "blacklisted: yes" "active on a day inside the window"
contains "$OUT" "虚假申报" "the entry's reason is shown"
run S --today 2023-05-01 org show "$U1"
contains "$OUT" "blacklisted: no" "not active after the window"
run S --today 2020-04-30 org show "$U1"
contains "$OUT" "blacklisted: no" "not active before the window"

run S org blacklist "$U1" --reason x --from 2021-05-01 --until 2021-04-01
expect_rc 5 "an entry ending before it starts exits 5"
contains "$ERR" "until:" "and names --until"
run S org blacklist "$U1" --from 2021-05-01
expect_rc 2 "org blacklist without --reason is a usage error"
run S org blacklist 91320682MA1N0Q3BXF --reason x
expect_rc 6 "blacklisting an unknown organisation exits 6"

run S --today 2021-07-01 org unblacklist "$U1" --reason 已整改
expect_rc 0 "org unblacklist"
contains "$OUT" "lifted 1 blacklist entry" "one entry lifted"
run S --today 2021-07-01 org show "$U1"
contains "$OUT" "blacklisted: no" "lifted: not active from that day"
contains "$OUT" "已整改" "the lifting's reason is kept"
run S --today 2021-06-15 org show "$U1"
contains "$OUT" "blacklisted: yes" "as of before the lifting it was still active"
run S --today 2021-07-02 org unblacklist "$U1"
contains "$OUT" "no blacklist entry to lift" "nothing left to lift"

# --- plans ---------------------------------------------------------------------------
run S plan add PKRD --name 如皋市科技计划 --level county --workflow county_plan --funded
expect_rc 6 "plan add with a workflow not loaded exits 6"
contains "$ERR" 'workflow "county_plan" is not loaded' "the missing workflow is named"
psql "$DB" -qAtX -v ON_ERROR_STOP=1 -c "INSERT INTO stpm.workflows (name, version, title, digest, source) VALUES ('county_plan', 1, '县级', repeat('0', 64), '')" >/dev/null
run S plan add PKRD --name 如皋市科技计划 --level county --workflow county_plan --funded
expect_rc 0 "plan add"
run S plan add NTSF --name 南通市科技计划 --level city --workflow county_plan
expect_rc 5 "an unknown level exits 5"
contains "$ERR" "level:" "the level is named"
run S plan add pk --name x --level county --workflow county_plan
expect_rc 5 "a malformed plan code exits 5"
run S plan add PKRD --name again --level county --workflow county_plan
expect_rc 4 "a duplicate plan code exits 4"
run S plan list
expect_rc 0 "plan list"
contains "$OUT" "如皋市科技计划" "plan list shows the plan"
run S plan show PKRD
contains "$OUT" "county_plan (version 1)" "plan show names the workflow version"
contains "$OUT" "funded:    yes" "plan show says it is funded"
run S plan show NOPE
expect_rc 6 "plan show of an unknown plan exits 6"

# --- users and what each may do ------------------------------------------------------
run S user add "$AUDITOR" --role auditor
expect_rc 0 "user add auditor"
run S user add "$OFFICER" --role officer
expect_rc 0 "user add officer"
echo "s3cret-pw" | run S user add "$ADMIN" --role admin --password-stdin
expect_rc 0 "user add admin with a password from stdin"
run S user add "$OFFICER" --role boss
expect_rc 5 "an unknown role exits 5"
run S user list
contains "$OUT" "$AUDITOR" "user list shows the auditor"
contains "$(echo "$OUT" | grep "$OFFICER")" "officer" "user list shows the officer's group"
run psql "$DB" -qAtX -c "SELECT count(*) FROM stpm.events WHERE data::text LIKE '%s3cret%'"
is "$OUT" "0" "the password is not in the history"

DB_AUD="$DB user=$AUDITOR"
DB_OFF="$DB user=$OFFICER"
run "$STPM" --db "$DB_AUD" org add --uscc 91320682MA1T5U8D1U --name 审计 --town 白蒲
expect_rc 7 "an auditor cannot add an organisation (exit 7)"
contains "$ERR" "permission denied" "the refusal says so"
run "$STPM" --db "$DB_AUD" org list
expect_rc 0 "an auditor can list organisations"
run "$STPM" --db "$DB_OFF" org blacklist "$U2" --reason x
expect_rc 7 "an officer cannot keep the blacklist"
run "$STPM" --db "$DB_OFF" user add someone_else --role admin
expect_rc 7 "an officer cannot add users"
run "$STPM" --db "$DB_OFF" org add --uscc 91320682MA1T5U8D1U --name 如皋某某科技有限公司 --town 白蒲
expect_rc 0 "an officer can add an organisation"

# --- conflicts -----------------------------------------------------------------------
run "$STPM" --db "$DB_OFF" org conflict "$U2" --officer "$OFFICER" --reason 亲属任职
expect_rc 0 "an officer declares a conflict of interest"
run S org conflict "$U2" --officer "$OFFICER" --reason again
expect_rc 4 "declaring it twice exits 4"
run S org conflict "$U2" --officer no_such_role_x --reason x
expect_rc 6 "an unknown role exits 6"
run S --format json org show "$U2"
contains "$OUT" "\"officer\": \"$OFFICER\"" "org show lists the conflict"
contains "$OUT" "亲属任职" "with its reason"

# --- the history ---------------------------------------------------------------------
run psql "$DB" -qAtX -c "SELECT string_agg(data->>'action', ',' ORDER BY seq) FROM stpm.events WHERE chain = 'org:$U1'"
is "$OUT" "org_add,blacklist,unblacklist" "every change to the organisation wrote its event"
run psql "$DB" -qAtX -c "SELECT actor FROM stpm.events WHERE chain = 'org:$U2' AND data->>'action' = 'conflict'"
is "$OUT" "$OFFICER" "the event's actor is the connected role"
run psql "$DB" -qAtX -c "SELECT count(*) FROM stpm.events WHERE chain = 'plan:PKRD'"
is "$OUT" "1" "plan add wrote its event"

done_testing
