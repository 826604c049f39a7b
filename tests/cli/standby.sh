#!/usr/bin/env bash
# Reads on a hot standby: a primary and a streaming standby (pg_basebackup -R) in temporary
# directories; every read-only command answers on the standby as on the primary after
# replay; a command that writes exits 8 ("the server is a read-only standby") and writes
# nothing; pending migrations on a standby exit 8; db status says primary or standby;
# failover by pg_ctl promote while an auditor's multi-host conninfo keeps working.
. "$(dirname "$0")/lib.sh"
need_db
. "$(dirname "$0")/lib_cluster.sh"
keep_going
trap 'stop_clusters; rm -rf "$TMP"' EXIT
SRC=$STPM_SOURCE_ROOT
ORG=91320682MA1MXXXX9P

new_primary p || { fail "a primary starts"; done_testing; exit 1; }
P=$(ci p stpm)
psql "$(ci p)" -qAtX -c "CREATE DATABASE stpm" -c "CREATE ROLE sb_auditor LOGIN" >/dev/null
st() { "$STPM" --db "$1" --today 2020-04-01 "${@:2}"; }
st "$P" workflow load "$SRC/tests/data/audit_test.yaml" >/dev/null
psql "$P" -qAtX -c "GRANT stpm_auditor TO sb_auditor" \
    -c "INSERT INTO stpm.plans (code, name, level, funded, workflow_name) VALUES ('AUD', '省级测试计划', 'provincial', true, 'audit_test')" \
    -c "INSERT INTO stpm.orgs (uscc, name, town) VALUES ('$ORG', '如皋某某科技有限公司', '如城街道')" >/dev/null
codes=()
for t in 高效电机控制系统研发 纺织机械智能化改造 新能源汽车电池回收; do
    codes+=("$(st "$P" project create --plan AUD --org $ORG --title "$t" --leader 张三 --year 2020 --set amount_requested=50)")
done
st "$P" project advance --where "state=reserve" apply >/dev/null
st "$P" project advance "${codes[0]}" admit >/dev/null

new_standby s p || { fail "a standby starts"; done_testing; exit 1; }
S=$(ci s stpm)
wait_replay p s
is "$(psql "$S" -qAtX -c "SELECT pg_is_in_recovery()")" t "the standby is in recovery"

# ---- every read-only command: the same answer on the standby as on the primary ----
reads=(
    "audit verify" "audit unclosed --as-of 2021-06-01" "audit closed" "audit trail ${codes[0]}"
    "audit checks" "report summary" "report targets" "project list" "project show ${codes[0]}"
    "project why ${codes[0]}" "project history ${codes[0]}" "reserve list" "reserve rank --year 2020"
    "workflow list" "workflow show audit_test" "workflow graph audit_test"
)
for r in "${reads[@]}"; do
    # shellcheck disable=SC2086 # each read is a command line split into words
    run st "$P" --format json $r
    want_rc=$RC want=$(printf '%s' "$OUT" | sed -E 's/"seconds": [0-9.]+|"events_per_second": [0-9]+//g')
    # shellcheck disable=SC2086
    run st "$S" --format json $r
    got=$(printf '%s' "$OUT" | sed -E 's/"seconds": [0-9.]+|"events_per_second": [0-9]+//g')
    if [ "$RC" -eq "$want_rc" ] && [ "$got" = "$want" ] && [ -n "$got" ]; then
        pass "on the standby \"$r\" answers as on the primary (exit $RC)"
    else
        fail "on the standby \"$r\" answers as on the primary" "primary exit $want_rc: $want" "standby exit $RC: $got" "stderr: $ERR"
    fi
done
run st "$S" --db "$S user=sb_auditor" audit verify
expect_rc 0 "an auditor verifies on the standby"

# ---- db status: primary or standby, the replay lag ----
run st "$S" --format json db status
expect_rc 0 "db status on the standby"
contains "$OUT" '"server": "standby (read-only)"' "db status says standby"
contains "$OUT" '"replay_lag": ' "db status gives the standby's replay lag"
run st "$P" --format json db status
contains "$OUT" '"server": "primary"' "db status says primary"
contains "$OUT" '"standbys": "1"' "the primary counts its standby"

# ---- writes on the standby: exit 8, a sentence, a hint, nothing written ----
events() { psql "$1" -qAtX -c "SELECT count(*) FROM stpm.events"; }
before=$(events "$S")
check_refused() { # NAME
    if [ "$RC" -eq 8 ] && [[ "$ERR" == *"the server is a read-only standby"* ]] &&
        [[ "$ERR" == *"target_session_attrs=read-write"* ]] && [[ "$ERR" != *"25006"* ]]; then
        pass "$1: exit 8, the server is a read-only standby, with the hint"
    else
        fail "$1: exit 8, the server is a read-only standby, with the hint" "exit $RC" "stderr: $ERR"
    fi
}
run st "$S" project advance "${codes[1]}" admit
check_refused "project advance on the standby"
run st "$S" project advance --where "state=applied" admit
check_refused "a bulk advance on the standby"
run st "$S" project create --plan AUD --org $ORG --title 不应写入 --leader 李四 --year 2020 --set amount_requested=5
check_refused "project create on the standby"
run st "$S" workflow load "$SRC/tests/data/lifecycle_test.yaml"
check_refused "workflow load on the standby"
run st "$S" db migrate
expect_rc 0 "db migrate on a current standby has nothing to do"
is "$(events "$S")" "$before" "the standby's history is unchanged"
is "$(events "$P")" "$before" "nothing reached the primary either"

# ---- pending migrations on a standby: exit 8, not migrated ----
# (the primary forgets its newest migration: the standby replays that, so it looks behind)
last=$(psql "$P" -qAtX -c "SELECT max(name) FROM stpm.schema_migrations")
psql "$P" -qAtX -c "ALTER TABLE stpm.schema_migrations DISABLE TRIGGER ALL" \
    -c "CREATE TABLE public.saved_migration AS SELECT * FROM stpm.schema_migrations WHERE name = '$last'" \
    -c "DELETE FROM stpm.schema_migrations WHERE name = '$last'" >/dev/null
wait_replay p s
run st "$S" project list
expect_rc 8 "a standby whose schema is behind: exit 8"
contains "$ERR" "the schema of the standby is not current: 1 migration is pending" "it says the schema is not current"
contains "$ERR" "HINT:" "with a hint"
psql "$P" -qAtX -c "INSERT INTO stpm.schema_migrations SELECT * FROM public.saved_migration" \
    -c "DROP TABLE public.saved_migration" >/dev/null
wait_replay p s
run st "$S" project list
expect_rc 0 "once the primary is current again the standby reads"

# ---- failover: promote the standby; the auditor's multi-host string keeps working ----
AUD="host=$TMP/s/sock,$TMP/p/sock user=sb_auditor dbname=stpm target_session_attrs=prefer-standby"
OFF="host=$TMP/s/sock,$TMP/p/sock user=stpm_test dbname=stpm target_session_attrs=read-write"
run st "$AUD" --format json db status
contains "$OUT" '"server": "standby (read-only)"' "prefer-standby picks the standby"
run st "$OFF" project advance "${codes[1]}" admit
expect_rc 0 "read-write picks the primary for an officer"
pg pg_ctl -D "$TMP/p/data" -m fast stop >/dev/null
run st "$AUD" audit verify
expect_rc 0 "the primary is down: the auditor still verifies on the standby"
pg pg_ctl -D "$TMP/s/data" -w promote >/dev/null
run st "$AUD" --format json db status
contains "$OUT" '"server": "primary"' "after promote the auditor's string reaches the new primary"
run st "$AUD" audit verify
expect_rc 0 "and verify passes there"
run st "$OFF" project advance "${codes[2]}" admit
expect_rc 0 "the officer's read-write string writes to the promoted standby"
done_testing
