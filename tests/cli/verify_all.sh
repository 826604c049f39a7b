#!/usr/bin/env bash
# audit verify checks everything the history vouches for (docs/audit.md, migration 080):
# each project row against its chain, the derived tables the reports read, each document
# against its attach event, each stored workflow version against its load event, and the
# canonical text of an event is unambiguous (recipe 2). Each tampering is done on a copy of
# the database as the cluster's superuser behind the triggers' back, and must be detected,
# named (project code and event seq) and exit 3. A database migrated to 080 with events of
# recipe 1 (and a pre-070 workflow_load event holding the title as its digest) verifies.
. "$(dirname "$0")/lib.sh"
need_db
need_source
ORG=91320682MA1MXXXX9P
US=$'\x1f'

need_logins va_auditor:auditor

# The audit test workflow with documents, as verify_test versions 1 and 2.
WF=$TMP/verify_test.yaml
sed -e 's/^workflow: audit_test/workflow: verify_test/' \
    -e 's/^documents:/documents:\n  task_book: {label: 任务书}/' \
    "$SRC/tests/data/audit_test.yaml" >"$WF"
sed -e 's/^version: 1/version: 2/' "$WF" >"$TMP/verify_test2.yaml"

DB=$(fresh_db verify)
sql() { psql "$DB" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
st() { "$STPM" --db "$DB" --today "$1" "${@:2}"; }
"$STPM" --db "$DB" workflow load "$WF" >/dev/null
sql "INSERT INTO stpm.plans (code, name, level, funded, workflow_name) VALUES ('VER', '省级测试计划', 'provincial', true, 'verify_test')"
sql "INSERT INTO stpm.orgs (uscc, name, town) VALUES ('$ORG', '如皋某某科技有限公司', '如城街道')"
new() { st 2020-03-01 project create --plan VER --org $ORG --title "$1" --leader 张三 --year 2020 --set amount_requested=50; }
P1=$(new 高效电机控制系统研发)
P2=$(new 纺织机械智能化改造)
P3=$(new 新能源汽车电池回收)
for p in "$P1" "$P2" "$P3"; do
    st 2020-03-01 project advance "$p" apply >/dev/null
    st 2020-03-01 project advance "$p" admit >/dev/null
    st 2020-04-01 project advance "$p" approve --set amount_approved=30 >/dev/null
done
printf '任务书正文\n' >"$TMP/task.txt"
st 2020-04-02 project attach "$P1" task_book "$TMP/task.txt" >/dev/null
st 2021-03-15 project advance "$P1" extend --set requested_due_date=2021-06-30 --reason 疫情延误 >/dev/null
st 2021-04-20 project advance "$P3" terminate --reason "企业停产${US}按期完成" >/dev/null
"$STPM" --db "$DB" workflow load "$TMP/verify_test2.yaml" >/dev/null

id_of() { sql "SELECT id FROM stpm.projects WHERE code = '$1'"; }
seq_of() { # CODE KIND [TRANSITION]: the seq of the project's last such event
    sql "SELECT max(e.seq) FROM stpm.events e JOIN stpm.projects p ON p.id = e.project_id
         WHERE p.code = '$1' AND e.kind = '$2' AND ('${3:-}' = '' OR e.transition = '${3:-}')"
}

run "$STPM" --db "$DB" audit verify
expect_rc 0 "a clean history verifies: rows, derived tables, documents and workflows agree"
is "$(sql "SELECT count(*) FROM stpm.events WHERE canon <> 2")" "0" "every event of a new database is of recipe 2"
run "$STPM" --db "$DB user=va_auditor" audit verify
expect_rc 0 "the auditor may run the whole verification"
for f in "project_problems()" "derived_problems()" "document_problems()" "workflow_problems()"; do
    run psql "$DB user=va_auditor" -qAtX -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM stpm.$f"
    is "$RC:$OUT" "0:0" "the auditor may call stpm.$f and it finds nothing"
done
run "$STPM" --db "$DB" audit checkpoint --generate-key --key "$TMP/k.pem" --out "$TMP/cp"
expect_rc 0 "a checkpoint of the clean history"
run "$STPM" --db "$DB" audit verify --checkpoint "$TMP/cp" --pubkey "$TMP/k.pem.pub"
expect_rc 0 "the checkpoint verifies with recipe 2 events"

# ---- tampering, each on a copy ----
tamper() { # SQL... → a copy of DB with the SQL applied behind the triggers' back; prints its conninfo
    local name="t_verify_tamper_$$_${RANDOM}"
    psql "$STPM_TEST_DB" -qAtX -c "CREATE DATABASE $name TEMPLATE ${DB##*dbname=}" >/dev/null
    local c="$STPM_TEST_DB dbname=$name"
    psql "$c" -qAtX -v ON_ERROR_STOP=1 -c "SET session_replication_role = replica" "${@/#/-c}" >/dev/null ||
        echo "# tampering failed: $*" >&2
    echo "$c"
}
detected() { # NAME EXPECTED-TEXT SQL...
    local name=$1 want=$2
    shift 2
    local c
    c=$(tamper "$@")
    run "$STPM" --db "$c" audit verify
    expect_rc 3 "$name: exit 3"
    contains "$OUT" "$want" "$name: named"
    drop_db "$c"
}
S2=$(seq_of "$P2" transition approve)
detected "state changed without an event" \
    "project $P2 seq $S2: state is accepted in the projects table, but the event that set it last says approved" \
    "UPDATE stpm.projects SET state = 'accepted' WHERE code = '$P2'"
V2=$(sql "SELECT id FROM stpm.workflows WHERE name = 'verify_test' AND version = 2")
detected "pinned version changed" \
    "project $P2 seq $S2: workflow version is verify_test@2 in the projects table, but the event that set it last says verify_test@1" \
    "UPDATE stpm.projects SET workflow_id = '$V2' WHERE code = '$P2'"
detected "due_date changed" \
    "project $P2 seq $S2: due_date is 2022-04-01 in the projects table, but the event that set it last says 2021-04-01" \
    "UPDATE stpm.projects SET due_date = '2022-04-01' WHERE code = '$P2'"
detected "amount changed" \
    "project $P2 seq $S2: amount_approved is 300.0000 in the projects table, but the event that set it last says 30" \
    "UPDATE stpm.projects SET amount_approved = 300 WHERE code = '$P2'"
S1=$(seq_of "$P1" transition extend)
detected "a custom field changed" \
    "project $P1 seq $S1: field requested_due_date is \"2021-12-31\" in the projects table, but the event that set it last says \"2021-06-30\"" \
    "UPDATE stpm.projects SET fields = jsonb_set(fields, '{requested_due_date}', '\"2021-12-31\"') WHERE code = '$P1'"
detected "a custom field added" \
    "project $P1 seq $S1: field acceptance_due is \"2030-01-01\" in the projects table, but no event of its chain set it" \
    "UPDATE stpm.projects SET fields = fields || '{\"acceptance_due\": \"2030-01-01\"}' WHERE code = '$P1'"
detected "a project_states row changed" \
    "project $P2: project_states seq $S2: due 2030-01-01, the events say 2021-04-01" \
    "UPDATE stpm.project_states SET due = '2030-01-01' WHERE project_id = '$(id_of "$P2")' AND seq = $S2"
detected "a project_states row deleted" \
    "project $P2: project_states seq $S2: its row is missing" \
    "DELETE FROM stpm.project_states WHERE project_id = '$(id_of "$P2")' AND seq = $S2"
detected "project_facts changed" \
    "project $P2: project_facts: closed_on 2021-05-01, the events say none; closed_state accepted, the events say none; state accepted, the events say approved" \
    "UPDATE stpm.project_facts SET state = 'accepted', closed_state = 'accepted', closed_on = '2021-05-01' WHERE project_id = '$(id_of "$P2")'"
detected "report_counts changed" \
    "report_counts: report_counts + report_deltas of VER 2020 provincial" \
    "SELECT stpm.report_compact()" \
    "UPDATE stpm.report_counts SET approved_amount = approved_amount + 100 WHERE state = 'approved'"
detected "a report_deltas row added" "the events give" \
    "INSERT INTO stpm.report_deltas SELECT * FROM stpm.report_deltas LIMIT 1"
SA=$(seq_of "$P1" attach)
detected "document content replaced together with its digest" \
    "project $P1 seq $SA: document task_book (task.txt, " \
    "UPDATE stpm.documents SET content = convert_to('伪造', 'UTF8'), size = 6, sha256 = encode(sha256(convert_to('伪造', 'UTF8')), 'hex') WHERE kind = 'task_book'"
SW=$(sql "SELECT max(seq) FROM stpm.events WHERE chain = 'system' AND kind = 'workflow_load' AND data ->> 'workflow' = 'verify_test' AND data ->> 'version' = '1'")
detected "workflow source and digest rewritten" \
    "system seq $SW: workflow verify_test@1: the stored source hashes to" \
    "UPDATE stpm.workflows SET source = source || E'\n# changed', digest = encode(sha256(convert_to(source || E'\n# changed', 'UTF8')), 'hex') WHERE name = 'verify_test' AND version = 1"

# U+001F in a reason: under recipe 1 the same text as another split of the same characters,
# under recipe 2 not; moving the separator keeps recipe 1's text but is caught.
S3=$(seq_of "$P3" transition terminate)
E3="(SELECT e FROM stpm.events e WHERE e.project_id = '$(id_of "$P3")' AND e.seq = $S3)"
is "$(sql "SELECT reason = '企业停产${US}按期完成' AND canon = 2 FROM stpm.events WHERE project_id = '$(id_of "$P3")' AND seq = $S3")" \
    "t" "a reason holding U+001F is stored and hashed with recipe 2"
is "$(sql "WITH a AS (SELECT ($E3).*), b AS (SELECT (ROW(a.id, a.chain, a.seq, a.project_id, a.at, a.on_date, a.actor, a.kind, a.transition, a.from_state,
            a.to_state || E'\x1f' || '企业停产', '按期完成', a.data, a.prev_hash, a.hash, a.canon)::stpm.events).* FROM a)
       SELECT (SELECT stpm.event_canonical((a.id, a.chain, a.seq, a.project_id, a.at, a.on_date, a.actor, a.kind, a.transition, a.from_state, a.to_state, a.reason, a.data, a.prev_hash, a.hash, 1)::stpm.events) FROM a)
            = (SELECT stpm.event_canonical((b.id, b.chain, b.seq, b.project_id, b.at, b.on_date, b.actor, b.kind, b.transition, b.from_state, b.to_state, b.reason, b.data, b.prev_hash, b.hash, 1)::stpm.events) FROM b),
              (SELECT stpm.event_canonical(a::stpm.events) FROM a) = (SELECT stpm.event_canonical(b::stpm.events) FROM b)")" \
    "t|f" "the two splits collide under recipe 1, not under recipe 2"
detected "the U+001F moved from the reason into to_state" \
    "project $P3 seq $S3: hash mismatch" \
    "UPDATE stpm.events SET to_state = to_state || E'\x1f' || '企业停产', reason = '按期完成' WHERE project_id = '$(id_of "$P3")' AND seq = $S3"
detected "an event of recipe 2 relabelled recipe 1" \
    "project $P3 seq $S3: hashed with recipe 1 after seq 1 was hashed with recipe 2" \
    "UPDATE stpm.events SET canon = 1 WHERE project_id = '$(id_of "$P3")' AND seq = $S3"

# ---- a database of before 080: events of recipe 1, a pre-070 workflow_load event ----
OLD=$(fresh_db verify_old)
osql() { psql "$OLD" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
osql "CREATE SCHEMA IF NOT EXISTS stpm; CREATE TABLE IF NOT EXISTS stpm.schema_migrations (name text PRIMARY KEY, sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}\$'), applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL DEFAULT current_user)"
for f in "$SRC"/migrations/0[0-7]*.sql; do
    PGOPTIONS='-c client_min_messages=warning' psql "$OLD" -qAtX -v ON_ERROR_STOP=1 -1 -f "$f" -c "INSERT INTO stpm.schema_migrations (name, sha256) VALUES ('$(basename "$f")', '$(sha256sum "$f" | cut -d' ' -f1)')" >/dev/null ||
        fail "migration $(basename "$f") applied by psql"
done
is "$(osql "SELECT count(*) FROM stpm.schema_migrations")" "15" "the old database has the migrations up to 079"
# The workflow as libstpm compiled it (read from the new database), stored by workflow_store.
states=$(sql "SELECT jsonb_agg(jsonb_build_object('name', s.name, 'label', s.label, 'final', s.final, 'closed', s.closed, 'due', s.due_field) ORDER BY s.ord)
              FROM stpm.workflow_states s JOIN stpm.workflows w ON w.id = s.workflow_id WHERE w.name = 'verify_test' AND w.version = 1")
rules=$(sql "SELECT r.rules FROM stpm.workflow_rules r JOIN stpm.workflows w ON w.id = r.workflow_id WHERE w.name = 'verify_test' AND w.version = 1")
psql "$OLD" -qAtX -v ON_ERROR_STOP=1 -v src="$(cat "$WF")" -v st="$states" -v ru="$rules" >/dev/null <<'SQL' || fail "the old database's data"
SELECT stpm.workflow_store('verify_test', 1, '审计测试计划', encode(sha256(convert_to(:'src', 'UTF8')), 'hex'), :'src', :'st'::jsonb, :'ru'::jsonb);
-- What stpm before 070 wrote: the row by hand, the event with the title as its digest.
INSERT INTO stpm.workflows (name, version, title, digest, source)
VALUES ('old_wf', 1, '旧流程', encode(sha256(convert_to('workflow: old_wf', 'UTF8')), 'hex'), 'workflow: old_wf');
INSERT INTO stpm.events (chain, kind, data) VALUES ('system', 'workflow_load', '{"workflow": "old_wf", "version": 1, "digest": "旧流程"}');
INSERT INTO stpm.plans (code, name, level, funded, workflow_name) VALUES ('VER', '省级测试计划', 'provincial', true, 'verify_test');
INSERT INTO stpm.orgs (uscc, name, town) VALUES ('91320682MA1MXXXX9P', '如皋某某科技有限公司', '如城街道');
SELECT stpm.project_create('VER', '91320682MA1MXXXX9P', (SELECT id FROM stpm.workflows WHERE name = 'verify_test'), '旧项目' || i, '张三', 2020, NULL, 'reserve', '{}', '{"amount_requested": 40}', '2020-03-01')
  FROM generate_series(1, 2) i;
SELECT stpm.project_advance('2020-VER-0001', 'apply', '2020-03-01');
SELECT stpm.project_advance('2020-VER-0001', 'admit', '2020-03-01');
SELECT stpm.project_advance('2020-VER-0001', 'approve', '2020-04-01', '{"amount_approved": 20}');
SELECT stpm.document_attach('2020-VER-0001', 'task_book', 'task.txt', convert_to('旧任务书', 'UTF8'), '2020-04-02');
SELECT stpm.project_advance('2020-VER-0001', 'extend', '2021-03-01', '{"requested_due_date": "2021-09-30"}', E'旧\x1f理由');
SELECT stpm.project_advance('2020-VER-0002', 'reject', '2020-03-05', p_reason => '不符合条件');
SQL
run "$STPM" --db "$OLD" audit verify
expect_rc 0 "a database with events of before 080 verifies once 080 is applied"
is "$(osql "SELECT count(*) FROM stpm.schema_migrations WHERE name = '080_verify_all.sql'")" "1" "stpm applied 080 to it"
# 11 + the event of 081 that records the milestones assumed for the version stored before it
is "$(osql "SELECT count(*) FILTER (WHERE canon = 1) || ' ' || count(*) FILTER (WHERE canon = 2 AND kind = 'correction') || ' ' || count(*) FILTER (WHERE kind = 'milestones_assumed') || ' ' || count(*) FROM stpm.events")" \
    "10 1 1 12" "its older events are of recipe 1, the corrections of 080 and 081 of recipe 2"
is "$(osql "SELECT data ->> 'workflow' || '@' || (data ->> 'version') || ' ' || (data ->> 'recorded') || ' ' || (data ->> 'digest' = encode(sha256(convert_to('workflow: old_wf', 'UTF8')), 'hex'))::text FROM stpm.events WHERE kind = 'correction'")" \
    "old_wf@1 旧流程 true" "one correction event: the pre-070 load event recorded the title, the real digest is recorded"
"$STPM" --db "$OLD" --today 2021-03-20 project advance 2020-VER-0001 submit >/dev/null
run "$STPM" --db "$OLD" audit verify
expect_rc 0 "a chain of recipe 1 events continued with a recipe 2 event verifies"
is "$(osql "SELECT string_agg(canon::text, '' ORDER BY seq) FROM stpm.events e JOIN stpm.projects p ON p.id = e.project_id WHERE p.code = '2020-VER-0001'")" \
    "1111112" "the chain: six events of recipe 1, then one of recipe 2"
OC="t_verify_old_$$_${RANDOM}"
psql "$STPM_TEST_DB" -qAtX -c "CREATE DATABASE $OC TEMPLATE ${OLD##*dbname=}" >/dev/null
psql "$STPM_TEST_DB dbname=$OC" -qAtX -c "SET session_replication_role = replica" \
    -c "UPDATE stpm.events SET data = jsonb_set(data, '{digest}', '\"0000\"') WHERE kind = 'correction'" >/dev/null
run "$STPM" --db "$STPM_TEST_DB dbname=$OC" audit verify
expect_rc 3 "a changed correction event: exit 3"
contains "$OUT" "workflow old_wf@1: the stored source hashes to" "the corrected version no longer matches what its correction records"
drop_db "$STPM_TEST_DB dbname=$OC"

drop_db "$OLD"
drop_db "$DB"
done_testing
