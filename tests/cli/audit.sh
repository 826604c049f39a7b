#!/usr/bin/env bash
# stpm audit end to end: 应结未结 as of dates (before and after the due date, after an
# extension, after closing), closed in a period, the trail, verify on a clean history and
# on every kind of tampering (done as the superuser with the triggers off), checkpoints
# and their signatures, and what an auditor may do.
. "$(dirname "$0")/lib.sh"
need_db
SRC=$STPM_SOURCE_ROOT
WF=$SRC/tests/data/audit_test.yaml
ORG=91320682MA1MXXXX9P

need_logins au_auditor:auditor

DB=$(fresh_db audit)
sql() { psql "$DB" -qAtX -c "$1"; }
st() { "$STPM" --db "$DB" --today "$1" "${@:2}"; }
"$STPM" --db "$DB" workflow load "$WF" >/dev/null
sql "INSERT INTO stpm.plans (code, name, level, funded, workflow_name) VALUES ('AUD', '省级测试计划', 'provincial', true, 'audit_test')"
sql "INSERT INTO stpm.orgs (uscc, name, town) VALUES ('$ORG', '如皋某某科技有限公司', '如城街道')"
new() { st 2020-03-01 project create --plan AUD --org $ORG --title "$1" --leader 张三 --year 2020 --set amount_requested=50; }
approve() { # CODE DATE
    st 2020-03-01 project advance "$1" apply >/dev/null && st 2020-03-01 project advance "$1" admit >/dev/null &&
        st "$2" project advance "$1" approve >/dev/null
}
P1=$(new 高效电机控制系统研发)
P2=$(new 纺织机械智能化改造)
P3=$(new 新能源汽车电池回收)
approve "$P1" 2020-04-01
approve "$P2" 2020-04-01
approve "$P3" 2020-04-01
is "$(sql "SELECT string_agg(due_date::text, ',' ORDER BY code) FROM stpm.projects")" \
    "2021-04-01,2021-04-01,2021-04-01" "three projects approved, due 2021-04-01"

# ---- 应结未结 as of dates ----
run "$STPM" --db "$DB" audit unclosed --as-of 2021-04-01
expect_rc 0 "unclosed on the due date itself"
contains "$OUT" "无应结未结项目" "nothing is overdue on its due date"
run "$STPM" --db "$DB" audit unclosed --as-of 2020-03-15
contains "$OUT" "无应结未结项目" "before approval nothing is due"
run "$STPM" --db "$DB" --format csv audit unclosed --as-of 2021-04-03
expect_rc 0 "unclosed is a query: exit 0 even when not empty"
is "$(printf '%s\n' "$OUT" | tr -d '\r' | sed 1d | cut -d, -f1,7,8,9 | sort | tr '\n' ' ')" \
    "$P1,approved,2021-04-01,2 $P2,approved,2021-04-01,2 $P3,approved,2021-04-01,2 " \
    "the day after: all three, state as of the date, due date, days overdue"
run "$STPM" --db "$DB" audit unclosed --as-of 2021-04-03 --fail-if-any
expect_rc 3 "--fail-if-any exits 3 when any"
run "$STPM" --db "$DB" audit unclosed --as-of 2021-04-01 --fail-if-any
expect_rc 0 "--fail-if-any exits 0 when none"
run "$STPM" --db "$DB" audit unclosed --as-of 2021-13-01
expect_rc 2 "a bad date is a usage error"

# An extension (延期) moves the due date from the day it was granted.
st 2021-03-15 project advance "$P1" extend --set requested_due_date=2021-06-30 --reason 疫情延误 >/dev/null
run "$STPM" --db "$DB" --format csv audit unclosed --as-of 2021-04-03
is "$(printf '%s\n' "$OUT" | tr -d '\r' | sed 1d | cut -d, -f1 | sort | tr '\n' ' ')" "$P2 $P3 " \
    "after the extension P1 is no longer overdue on 2021-04-03"
run "$STPM" --db "$DB" --format csv audit unclosed --as-of 2021-03-10
is "$(printf '%s\n' "$OUT" | tr -d '\r' | sed 1d | wc -l)" "0" "before anything was due: none"
run "$STPM" --db "$DB" --format csv audit unclosed --as-of 2021-07-02
contains "$OUT" "$P1,高效电机控制系统研发,$ORG,如皋某某科技有限公司,AUD,provincial,approved,2021-06-30,2" \
    "past the extended date P1 is overdue again, by 2 days"

# Closing: P2 submitted late-ish and accepted; P3 terminated.
st 2021-04-10 project advance "$P2" submit >/dev/null     # acceptance_due 2021-05-10
st 2021-05-20 project advance "$P2" accept >/dev/null
st 2021-04-20 project advance "$P3" terminate --reason 企业停产 >/dev/null
run "$STPM" --db "$DB" --format csv audit unclosed --as-of 2021-04-15
# P2 asked for acceptance on 2021-04-10, after its due date 2021-04-01: it stays 应结未结
# (since 2021-04-01) until it is accepted, whatever its acceptance window (docs/audit.md).
is "$(printf '%s\n' "$OUT" | tr -d '\r' | sed 1d | cut -d, -f1,7,8,9 | sort | tr '\n' ' ')" \
    "$P2,accepting,2021-04-01,14 $P3,approved,2021-04-01,14 " \
    "on 2021-04-15: P2, accepting after its due date, is still overdue; so is P3, still approved"
run "$STPM" --db "$DB" --format csv audit unclosed --as-of 2021-05-15
is "$(printf '%s\n' "$OUT" | tr -d '\r' | sed 1d | cut -d, -f1,7,8,9 | tr '\n' ' ')" "$P2,accepting,2021-04-01,44 " \
    "on 2021-05-15: P2 is overdue since its own due date; P3 is closed (terminated)"
run "$STPM" --db "$DB" --format csv audit unclosed --as-of 2021-05-20
is "$(printf '%s\n' "$OUT" | tr -d '\r' | sed 1d | wc -l)" "0" "on the day P2 was accepted it is closed"
run "$STPM" --db "$DB" --format json audit unclosed --as-of 2021-07-02
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d), d[0]["code"], d[0]["days_overdue"])')" \
    "1 $P1 2" "JSON output parses"

# ---- closed in a period ----
run "$STPM" --db "$DB" --format csv audit closed --from 2021-01-01 --to 2021-12-31
expect_rc 0 "audit closed"
is "$(printf '%s\n' "$OUT" | tr -d '\r' | sed 1d | cut -d, -f1,6,7,8,9 | tr '\n' ' ')" \
    "$P3,terminated,2021-04-20,2021-04-01,false $P2,accepted,2021-05-20,2021-05-10,false " \
    "closed in 2021: state, date, the deadline it had, whether on time"
run "$STPM" --db "$DB" --format csv audit closed --from 2021-05-01
is "$(printf '%s\n' "$OUT" | tr -d '\r' | sed 1d | cut -d, -f1 | tr '\n' ' ')" "$P2 " "--from alone"
run "$STPM" --db "$DB" --format csv audit closed --to 2021-04-30
is "$(printf '%s\n' "$OUT" | tr -d '\r' | sed 1d | cut -d, -f1 | tr '\n' ' ')" "$P3 " "--to alone"

# ---- trail ----
run "$STPM" --db "$DB" audit trail "$P1"
expect_rc 0 "trail of a clean chain"
contains "$OUT" "chain verifies: 5 events" "the chain verifies"
h=$(sql "SELECT e.hash FROM stpm.events e JOIN stpm.projects p ON e.project_id = p.id WHERE p.code = '$P1' AND e.seq = 5")
contains "$OUT" "$h" "the full hash is shown"
contains "$OUT" "疫情延误" "with the reason"
run "$STPM" --db "$DB" --format json audit trail "$P1"
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["verified"], len(d["events"]), d["events"][4]["check"])')" \
    "True 5 ok" "trail as JSON"
run "$STPM" --db "$DB" audit trail 2020-AUD-9999
expect_rc 6 "trail of an unknown project exits 6"

# ---- verify and checkpoints on the clean history ----
run "$STPM" --db "$DB" audit verify
expect_rc 0 "verify passes on a clean history"
contains "$OUT" "verified 17 events in 4 chains" "every event of every chain (3 projects and the system chain)"
run "$STPM" --db "$DB" audit checkpoint --generate-key --key "$TMP/k.pem" --out "$TMP/cp"
expect_rc 0 "checkpoint with a new key"
is "$(stat -c %a "$TMP/k.pem")" "600" "the private key is mode 0600"
contains "$OUT" "recorded in stpm.checkpoints" "the cluster owner's checkpoint is recorded"
is "$(sql "SELECT chains || ' ' || events FROM stpm.checkpoints")" "4 17" "the record holds the counts"
run "$STPM" --db "$DB" audit checkpoint --generate-key --key "$TMP/k.pem"
expect_rc 4 "an existing key file is never overwritten"
run "$STPM" --db "$DB" audit verify --checkpoint "$TMP/cp" --pubkey "$TMP/k.pem.pub"
expect_rc 0 "verify with the checkpoint and its key"
contains "$OUT" "4 chain heads checked" "the checkpoint's heads are checked"
"$STPM" --db "$DB" audit checkpoint --generate-key --key "$TMP/other.pem" >/dev/null
run "$STPM" --db "$DB" audit verify --checkpoint "$TMP/cp" --pubkey "$TMP/other.pem.pub"
expect_rc 3 "a checkpoint checked against another key exits 3"
contains "$ERR" "was not signed with the key" "and says so"
"$STPM" --db "$DB" audit checkpoint --key "$TMP/other.pem" --out "$TMP/cp-other" >/dev/null
run "$STPM" --db "$DB" audit verify --checkpoint "$TMP/cp-other" --pubkey "$TMP/k.pem.pub"
expect_rc 3 "a checkpoint signed with another key than the pinned one exits 3"
sed 's/^chains 4$/chains 5/' "$TMP/cp" > "$TMP/cp-edited"
run "$STPM" --db "$DB" audit verify --checkpoint "$TMP/cp-edited"
expect_rc 3 "an edited checkpoint file exits 3"
contains "$ERR" "signature does not verify" "its signature fails"
run "$STPM" --db "$DB" audit verify --checkpoint "$TMP/nothere"
expect_rc 6 "a missing checkpoint file exits 6"
echo "not a checkpoint" > "$TMP/junk"
run "$STPM" --db "$DB" audit verify --checkpoint "$TMP/junk"
expect_rc 5 "a malformed checkpoint exits 5"

# ---- the auditor: reads everything, changes nothing ----
AUD="$DB user=au_auditor"
n_cp=$(sql "SELECT count(*) FROM stpm.checkpoints")
for c in "audit unclosed --as-of 2021-07-02" "audit closed" "audit trail $P1" "audit verify" \
         "audit verify --checkpoint $TMP/cp --pubkey $TMP/k.pem.pub"; do
    run "$STPM" --db "$AUD" $c
    expect_rc 0 "the auditor may run: $c"
done
run "$STPM" --db "$AUD" audit checkpoint --key "$TMP/k.pem" --out "$TMP/cp-auditor"
expect_rc 0 "the auditor makes a checkpoint file"
contains "$OUT" "not recorded in the database" "which is not recorded (auditors write nothing)"
is "$(sql "SELECT count(*) FROM stpm.checkpoints")" "$n_cp" "no row was written by the auditor"
run "$STPM" --db "$AUD" audit verify --checkpoint "$TMP/cp-auditor"
expect_rc 0 "the auditor's checkpoint verifies"
run psql "$AUD" -qAtX -c "INSERT INTO stpm.checkpoints (chains, events, digest, public_key, signature) VALUES (0, 0, repeat('0', 64), 'k', 's')"
is "$RC" "1" "even psql cannot write a checkpoint row as the auditor"

# ---- tampering, each on a copy of the database, as the superuser with triggers off ----
drop_copies=()
tamper() { # SQL... → a copy of DB with the SQL applied behind the triggers' back; prints its conninfo
    local name="t_audit_tamper_$$_${RANDOM}"
    psql "$STPM_TEST_DB" -qAtX -c "CREATE DATABASE $name TEMPLATE ${DB##*dbname=}" >/dev/null
    local c="$STPM_TEST_DB dbname=$name"
    psql "$c" -qAtX -v ON_ERROR_STOP=1 -c "SET session_replication_role = replica" "${@/#/-c}" >/dev/null ||
        echo "# tampering failed: $*" >&2
    echo "$c"
}
chain1="project:$(sql "SELECT id FROM stpm.projects WHERE code = '$P1'")"
C=$(tamper "UPDATE stpm.events SET reason = '按期完成' WHERE chain = '$chain1' AND seq = 5")
run "$STPM" --db "$C" audit verify
expect_rc 3 "a changed event: exit 3"
contains "$OUT" "project $P1 seq 5: hash mismatch" "names the chain, the seq and the hash that differs"
contains "$ERR" "the history does not verify" "the error says the history does not verify"
run "$STPM" --db "$C" audit trail "$P1"
expect_rc 3 "the trail of the changed chain exits 3"
contains "$OUT" "chain does NOT verify" "and says the chain does not verify"
drop_db "$C"

C=$(tamper "DELETE FROM stpm.events WHERE chain = '$chain1' AND seq = 3")
run "$STPM" --db "$C" audit verify
expect_rc 3 "a deleted event: exit 3"
contains "$OUT" "project $P1 seq 4: seq 3 missing before this event" "names the missing seq"
drop_db "$C"

C=$(tamper "INSERT INTO stpm.events (chain, seq, project_id, on_date, kind, to_state, data, prev_hash, hash)
  SELECT chain, seq + 1, project_id, on_date, 'transition', 'accepted', '{}', hash, repeat('f', 64)
  FROM stpm.events WHERE chain = '$chain1' AND seq = 5")
run "$STPM" --db "$C" audit verify
expect_rc 3 "an inserted event: exit 3"
contains "$OUT" "project $P1 seq 6: hash mismatch" "the inserted event's hash does not match its content"
contains "$OUT" "chain_heads points at seq 5 but the chain goes on to seq 6" "and the head does not cover it"
drop_db "$C"

C=$(tamper "DELETE FROM stpm.events WHERE chain = '$chain1' AND seq >= 4" \
    "UPDATE stpm.chain_heads h SET seq = 3, hash = e.hash FROM stpm.events e WHERE e.chain = h.chain AND e.seq = 3 AND h.chain = '$chain1'")
run "$STPM" --db "$C" audit verify
expect_rc 3 "a truncated chain (head moved back) whose project row was left: exit 3 without a checkpoint"
contains "$OUT" "project $P1 seq 3: state is approved in the projects table, but the event that set it last says admitted" \
    "the row no longer matches what its chain says"
run "$STPM" --db "$C" audit verify --checkpoint "$TMP/cp" --pubkey "$TMP/k.pem.pub"
expect_rc 3 "a truncated chain: exit 3 with the checkpoint"
contains "$OUT" "project $P1 seq 5: the checkpoint of" "names the head the checkpoint recorded"
contains "$OUT" "truncated or deleted" "and says it is gone"
drop_db "$C"

C=$(tamper "UPDATE stpm.chain_heads SET hash = repeat('a', 64) WHERE chain = '$chain1'")
run "$STPM" --db "$C" audit verify
expect_rc 3 "a forged chain_heads: exit 3"
contains "$OUT" "the head was forged" "says the head was forged"
drop_db "$C"

C=$(tamper "UPDATE stpm.chain_heads SET seq = 9 WHERE chain = '$chain1'")
run "$STPM" --db "$C" audit verify
expect_rc 3 "a head pointing past the chain: exit 3"
contains "$OUT" "chain_heads points at seq 9, which is not in the history" "names the head"
drop_db "$C"

drop_db "$DB"
done_testing
