#!/usr/bin/env bash
# Issue 9, deliverable 5: `audit verify` checks everything the history vouches for. Each
# tampering below is done by whoever owns the database (psql as the table owner
# stpm_owner, or as the superuser with the triggers off), on a copy of one clean
# database; verify must exit 3 and name the project by its code (or the workflow / the
# system chain), also when a signed checkpoint made before the change is given.
. "$(dirname "$0")/lib.sh"
need_db
need_source
keep_going
O1=91320682MA1MXXXX9P
O2=91320682MA1N0Q3BXD
BASE=$(fresh_db htamper)
S() { "$STPM" --db "$BASE" "$@"; }
at() {
    local d=$1
    shift
    S --today "$d" "$@" >"$TMP/at.out" 2>"$TMP/at.err" || fail "setup: --today $d $*" "$(cat "$TMP/at.err")"
}
doc() { printf 'document %s\n' "$1" >"$TMP/$1.pdf"; echo "$TMP/$1.pdf"; }
at 2020-01-02 workflow load "$SRC/workflows/county_rugao.yaml"
at 2020-01-02 plan add RGKJ --name 如皋市科技计划 --level county --workflow county_rugao --funded
at 2020-01-02 org add --uscc $O1 --name 测试企业一 --town 如城街道
at 2020-01-02 org add --uscc $O2 --name 测试企业二 --town 长江镇
# P: approved 2020-03-16, task book 2020-03-20 (due 2020-12-31), accepted 2020-12-20.
# Q: approved 2020-03-16, in progress (due 2020-12-31).
mk() { # CODE-VAR ORG TITLE LEADER
    local c
    c=$(S --today 2020-03-02 project create --plan RGKJ --org "$2" --year 2020 --title "$3" --leader "$4" --set amount_requested=20)
    printf -v "$1" '%s' "$c"
    at 2020-03-02 project advance "$c" apply --set town=如城街道 --attach application_form="$(doc "app-$1")"
    at 2020-03-02 project advance "$c" admit --attach integrity_commitment="$(doc "ic-$1")"
    at 2020-03-02 project advance "$c" publicize --set amount_approved=10
    at 2020-03-16 project advance "$c" approve
    at 2020-03-20 project advance "$c" start --set agreed_due_date=2020-12-31 --attach task_book="$(doc "tb-$1")"
}
mk P $O1 高效电机控制系统研发 张一
mk Q $O2 纺织机械智能化改造 张二
at 2020-12-01 project advance "$P" submit_acceptance --attach acceptance_report="$(doc ar-P)"
at 2020-12-20 project advance "$P" accept
run S audit verify
expect_rc 0 "the clean history verifies"
run S audit checkpoint --generate-key --key "$TMP/k.pem" --out "$TMP/cp"
expect_rc 0 "a signed checkpoint of the clean history"
run S audit verify --checkpoint "$TMP/cp" --pubkey "$TMP/k.pem.pub"
expect_rc 0 "verify with the checkpoint"

# tamper NAME WHO SQL WANT: on a copy of BASE, run SQL (WHO: owner = SET ROLE stpm_owner,
# triggers on; replica = the superuser with the triggers off), then verify must exit 3
# with WANT in its output, with and without the checkpoint.
tamper() {
    local name=t_htc_$$_$RANDOM c pre
    psql "$STPM_TEST_DB" -qAtX -c "CREATE DATABASE $name TEMPLATE ${BASE##*dbname=}" >/dev/null
    c="$STPM_TEST_DB dbname=$name"
    case $2 in
    owner) pre="SET ROLE stpm_owner" ;;
    replica) pre="SET session_replication_role = replica" ;;
    esac
    if ! psql "$c" -qAtX -v ON_ERROR_STOP=1 -c "$pre" -c "$3" >"$TMP/t.out" 2>&1; then
        fail "$1: the tampering itself" "$(cat "$TMP/t.out")"
        drop_db "$c"
        return
    fi
    run "$STPM" --db "$c" audit verify
    expect_rc 3 "$1: verify exits 3"
    contains "$OUT$ERR" "$4" "$1: verify names $4"
    [ -z "${SHOW:-}" ] || printf '%s\n' "$OUT" "$ERR" | sed 's/^/#   /'
    run "$STPM" --db "$c" audit verify --checkpoint "$TMP/cp" --pubkey "$TMP/k.pem.pub"
    expect_rc 3 "$1: verify --checkpoint exits 3 too"
    drop_db "$c"
}
pid() { psql "$BASE" -qAtX -c "SELECT id FROM stpm.projects WHERE code = '$1'"; }
PI=$(pid "$P")
QI=$(pid "$Q")
tamper "state changed without an event (owner)" owner \
    "UPDATE stpm.projects SET state = 'accepted', closed_date = '2020-12-01' WHERE id = '$QI'" "project $Q"
tamper "state changed without an event (triggers off)" replica \
    "UPDATE stpm.projects SET state = 'terminated' WHERE id = '$QI'" "project $Q"
tamper "state_since changed" replica \
    "UPDATE stpm.projects SET state_since = '2020-04-01' WHERE id = '$QI'" "project $Q"
tamper "amount approved changed" replica \
    "UPDATE stpm.projects SET amount_approved = 100 WHERE id = '$QI'" "project $Q"
tamper "a workflow field changed" replica \
    "UPDATE stpm.projects SET fields = fields || '{\"task_book_due\": \"2020-12-31\"}' WHERE id = '$QI'" "project $Q"
tamper "project_facts: an approval erased" replica \
    "UPDATE stpm.project_facts SET approved_on = NULL WHERE project_id = '$QI'" "project $Q"
tamper "project_facts: amount changed" owner \
    "UPDATE stpm.project_facts SET amount_approved = 999.99 WHERE project_id = '$PI'" "project $P"
tamper "project_facts: an acceptance invented" replica \
    "UPDATE stpm.project_facts SET final_on = '2020-12-20', final_as = 'accepted', closed_on = '2020-12-20', closed_state = 'accepted' WHERE project_id = '$QI'" "project $Q"
tamper "project_states: a due date moved" replica \
    "UPDATE stpm.project_states SET due = '2030-01-01' WHERE project_id = '$QI' AND due IS NOT NULL" "project $Q"
tamper "project_states: a period deleted" replica \
    "DELETE FROM stpm.project_states WHERE project_id = '$PI' AND state = 'accepting'" "project $P"
tamper "document content replaced with its digest" replica \
    "UPDATE stpm.documents SET content = convert_to('forged', 'UTF8'), sha256 = encode(sha256(convert_to('forged', 'UTF8')), 'hex'), size = 6 WHERE project_id = '$PI' AND kind = 'task_book'" "project $P"
tamper "document content replaced (owner, digest and size kept)" owner \
    "UPDATE stpm.documents SET content = convert_to('document XX-P', 'UTF8') WHERE project_id = '$PI' AND kind = 'acceptance_report'" "project $P"
tamper "document deleted" replica \
    "DELETE FROM stpm.documents WHERE project_id = '$QI' AND kind = 'task_book'" "project $Q"
tamper "workflow source and digest rewritten" replica \
    "UPDATE stpm.workflows SET source = replace(source, 'today + 20wd', 'today + 200wd'), digest = encode(sha256(convert_to(replace(source, 'today + 20wd', 'today + 200wd'), 'UTF8')), 'hex') WHERE name = 'county_rugao'" "county_rugao"
# the append-only trigger stops the owner; the owner disables it (its own table) and goes on
run psql "$BASE" -qAtX -c "SET ROLE stpm_owner" -c "UPDATE stpm.workflows SET source = source || E'\n# edited' WHERE name = 'county_rugao'"
is "$RC" "1" "stored workflows are append-only, even for the owner, while the trigger is on"
tamper "workflow source rewritten (owner, its trigger disabled)" owner \
    "ALTER TABLE stpm.workflows DISABLE TRIGGER USER; UPDATE stpm.workflows SET source = source || E'\n# edited' WHERE name = 'county_rugao'" "county_rugao"

# the JSON form names the project by its code
name=t_htc_$$_$RANDOM
psql "$STPM_TEST_DB" -qAtX -c "CREATE DATABASE $name TEMPLATE ${BASE##*dbname=}" >/dev/null
C="$STPM_TEST_DB dbname=$name"
psql "$C" -qAtX -c "SET session_replication_role = replica" -c "UPDATE stpm.projects SET due_date = '2022-04-01' WHERE id = '$QI'" >/dev/null
run "$STPM" --db "$C" --format json audit verify
expect_rc 3 "verify --format json exits 3"
is "$(printf '%s' "$OUT" | python3 -c '
import json,sys
d=json.load(sys.stdin)
print(sorted(set(p["code"] for p in d["problems"] if p["code"])), all(isinstance(p["seq"], int) for p in d["problems"] if p["code"]))' 2>&1)" \
    "['$Q'] True" "JSON problems name the code and the seq"
drop_db "$C"
# the auditor's figures on an untampered copy are unchanged: audit unclosed and the report
run S --format csv audit unclosed --as-of 2021-01-05
is "$(printf '%s\n' "$OUT" | tr -d '\r' | sed 1d | cut -d, -f1,8,9)" "$Q,2020-12-31,5" "Q is overdue as of 2021-01-05 (the base is untouched)"
[ -n "${KEEP:-}" ] && echo "# kept $BASE" || drop_db "$BASE"
done_testing
