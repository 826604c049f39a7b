#!/usr/bin/env bash
# stpm survey import into the database: counts, idempotence, edits, all or nothing (bad
# rows, kill -9 half way), the import record and its event, UTF-8 = GB18030 = YAML.
. "$(dirname "$0")/lib.sh"
need_db
ex="$STPM_SOURCE_ROOT/docs/examples"
gen="$STPM_BUILD_ROOT/tests/bench/gen_survey"
cd "$TMP"
q() { psql "$1" -qAtX -v ON_ERROR_STOP=1 -c "$2"; }
# What the pool holds, independent of ids and times.
pool() {
    q "$1" "SELECT string_agg(concat_ws('|', r.survey_year, o.uscc, o.name, o.town, r.title,
        r.title_norm, r.field, r.target_plan, r.leader, r.planned_investment,
        r.requested_funding, r.rd_spend, r.revenue, r.high_tech, r.partner, r.maturity,
        r.notes, r.row_digest), E'\n' ORDER BY o.uscc, r.title_norm)
        FROM stpm.reserve_entries r JOIN stpm.orgs o ON o.id = r.org_id"
}
counts() {
    q "$1" "SELECT (SELECT count(*) FROM stpm.orgs) || ' ' || (SELECT count(*) FROM stpm.org_figures)
        || ' ' || (SELECT count(*) FROM stpm.reserve_entries) || ' ' ||
        (SELECT count(*) FROM stpm.survey_imports) || ' ' || (SELECT count(*) FROM stpm.events)"
}

# -- the shipped examples: UTF-8, GB18030 and YAML give the same pool
db1=$(fresh_db imp1)
run "$STPM" --db "$db1" survey import "$ex/survey-2020.csv" --year 2020
expect_rc 0 "import of the UTF-8 example exits 0"
contains "$OUT" "51 candidates for 2020: 51 new, 0 updated, 0 unchanged" "51 new candidates"
contains "$OUT" "organisations: 29 new, 0 updated" "29 organisations added"
is "$(counts "$db1")" "29 29 51 1 1" "orgs, figures, entries, one import record, one event"
is "$(q "$db1" "SELECT count(DISTINCT title_norm) FROM stpm.reserve_entries WHERE survey_year = 2020")" "51" \
    "entries are keyed by the normalised title"
utf8=$(pool "$db1")
for f in survey-2020-gb18030.csv survey-2020.yaml; do
    dbx=$(fresh_db impx)
    run "$STPM" --db "$dbx" survey import "$ex/$f" --year 2020
    expect_rc 0 "import of $f exits 0"
    is "$(pool "$dbx")" "$utf8" "$f gives the same pool as the UTF-8 file"
    is "$(q "$dbx" "SELECT file_digest FROM stpm.survey_imports")" "$(sha256sum "$ex/$f" | cut -d' ' -f1)" \
        "the import of $f records the SHA-256 of the file's bytes (hashed while it is read)"
    drop_db "$dbx"
done

# -- the same file again changes nothing and says so
before=$(q "$db1" "SELECT string_agg(concat_ws('|', id, updated_at, import_id), ',' ORDER BY id) FROM stpm.reserve_entries")
orgs_before=$(q "$db1" "SELECT string_agg(concat_ws('|', id, updated_at), ',' ORDER BY id) FROM stpm.orgs")
run "$STPM" --db "$db1" survey import "$ex/survey-2020.csv" --year 2020
expect_rc 0 "the second import exits 0"
contains "$OUT" "0 new, 0 updated, 51 unchanged" "the second import: 0 new, 0 updated, 51 unchanged"
contains "$OUT" "nothing changed" "and says that nothing changed"
is "$(q "$db1" "SELECT string_agg(concat_ws('|', id, updated_at, import_id), ',' ORDER BY id) FROM stpm.reserve_entries")" \
    "$before" "no candidate was written again"
is "$(q "$db1" "SELECT string_agg(concat_ws('|', id, updated_at), ',' ORDER BY id) FROM stpm.orgs")" \
    "$orgs_before" "no organisation was written again"
# GB18030 is the same data: also unchanged
run "$STPM" --db "$db1" survey import "$ex/survey-2020-gb18030.csv" --year 2020
contains "$OUT" "0 new, 0 updated, 51 unchanged" "the GB18030 file finds the same 51 unchanged"

# -- the import record and the event
is "$(q "$db1" "SELECT rows || ' ' || new || ' ' || updated || ' ' || unchanged FROM stpm.survey_imports ORDER BY imported_at LIMIT 1")" \
    "51 51 0 0" "the first import's record holds its counts"
digest=$(sha256sum "$ex/survey-2020.csv" | cut -d' ' -f1)
is "$(q "$db1" "SELECT count(*) FROM stpm.survey_imports WHERE file_digest = '$digest'")" "2" \
    "survey_imports records the file's SHA-256"
is "$(q "$db1" "SELECT string_agg(seq || ':' || kind || ':' || (data->>'new') || '/' || (data->>'unchanged'), ' ' ORDER BY seq) FROM stpm.events WHERE chain = 'survey:2020'")" \
    "1:import:51/0 2:import:0/51 3:import:0/51" "each import wrote one event on the chain survey:2020"
is "$(q "$db1" "SELECT data->>'file_digest' FROM stpm.events WHERE chain = 'survey:2020' AND seq = 1")" \
    "$digest" "the event names the file's digest"
is "$(q "$db1" "SELECT count(*) FROM stpm.events e JOIN stpm.survey_imports i ON i.id = (e.data->>'import_id')::uuid")" \
    "3" "each event names its import record"

# -- an edited file: one amount changed, one row added
db2=$(fresh_db imp2)
"$gen" 30 7 >s30.csv
"$gen" 31 7 >s31.csv
head -n 31 s31.csv | cmp -s - s30.csv || fail "the generator's first rows are stable" "s30 is not a prefix of s31"
run "$STPM" --db "$db2" survey import s30.csv --year 2021
contains "$OUT" "30 new, 0 updated, 0 unchanged" "30 generated candidates imported"
# change the requested funding (申请资助, 9th column) of data row 3
python3 - s31.csv <<'PY'
import csv, sys, io
p = sys.argv[1]
rows = list(csv.reader(open(p, encoding='utf-8', newline='')))
rows[3][8] = '%.1f' % (float(rows[3][8]) + 1)
with open(p, 'w', encoding='utf-8', newline='') as f:
    csv.writer(f, lineterminator='\r\n').writerows(rows)
PY
run "$STPM" --db "$db2" survey import s31.csv --year 2021
expect_rc 0 "the edited file imports"
contains "$OUT" "31 candidates for 2021: 1 new, 1 updated, 29 unchanged" "edited file: 1 new, 1 updated, 29 unchanged"
is "$(q "$db2" "SELECT count(DISTINCT import_id) FROM stpm.reserve_entries")" "2" \
    "the new and the updated candidate point at the second import"
run "$STPM" --db "$db2" --format json survey import s31.csv --year 2021
run python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["rows"], d["new"], d["updated"], d["unchanged"])' <<<"$OUT"
is "$OUT" "31 0 0 31" "--format json: one document with the counts"

# -- a bad row: every error listed, exit 5, nothing written
before=$(counts "$db2")
pool_before=$(pool "$db2")
python3 - s31.csv bad.csv <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding='utf-8', newline='')))
rows[2][1] = rows[2][1][:-1] + ('0' if rows[2][1][-1] != '0' else '1')   # USCC check digit
rows[5][8] = 'abc'                                                       # 申请资助
rows.append(list(rows[4]))
rows[-1][3] = 'a brand new title'                                      # a valid new row
with open(sys.argv[2], 'w', encoding='utf-8', newline='') as f:
    csv.writer(f, lineterminator='\r\n').writerows(rows)
PY
run "$STPM" --db "$db2" survey import bad.csv --year 2021
expect_rc 5 "a file with bad rows exits 5"
contains "$ERR" "bad.csv:3:统一社会信用代码:" "the bad USCC is named FILE:ROW:COLUMN"
contains "$ERR" "bad.csv:6:申请资助（万元）:" "the bad amount is named FILE:ROW:COLUMN too"
contains "$ERR" "2 errors" "both errors are counted"
is "$(counts "$db2")" "$before" "nothing was written (orgs, figures, entries, imports, events)"
is "$(pool "$db2")" "$pool_before" "the pool is unchanged"

# -- usage and missing files
run "$STPM" --db "$db2" survey import nonexistent.csv --year 2021
expect_rc 6 "a missing file exits 6"
run "$STPM" --db "$db2" survey import s31.csv --year 1700
expect_rc 2 "an impossible year exits 2"

# -- kill -9 half way: the transaction is gone, nothing is left
db3=$(fresh_db imp3)
"$gen" 400000 3 >big.csv
"$STPM" --db "$db3" db migrate >/dev/null 2>&1 || true   # migrate first, so the import is what runs
name="${db3##*dbname=}"
"$STPM" --db "$db3" survey import big.csv --year 2022 >kill.out 2>&1 &
pid=$!
seen=0
for _ in $(seq 1 600); do
    n=$(q "$STPM_TEST_DB" "SELECT count(*) FROM pg_stat_activity WHERE datname = '$name' AND query LIKE 'COPY stpm_survey_stage%'")
    if [ "$n" -gt 0 ]; then seen=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
sleep 0.3
if [ "$seen" -eq 1 ] && kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    pass "the import was killed while it was streaming rows"
    for _ in $(seq 1 100); do
        n=$(q "$STPM_TEST_DB" "SELECT count(*) FROM pg_stat_activity WHERE datname = '$name' AND state <> 'idle' AND pid <> pg_backend_pid()")
        [ "$n" -eq 0 ] && break
        sleep 0.1
    done
    is "$(counts "$db3")" "0 0 0 0 0" "after kill -9 nothing is there: no org, figure, entry, import or event"
else
    wait "$pid" 2>/dev/null || true
    fail "the import was killed while it was streaming rows" "it was not seen streaming (seen=$seen)" "$(cat kill.out)"
fi
run "$STPM" --db "$db3" survey import s30.csv --year 2022
contains "$OUT" "30 new" "the database takes an import after the killed one"

# -- the pool's references (migration 060: checked once per statement, as foreign keys)
err_of() { psql "$1" -qAtX -v VERBOSITY=verbose -c "$2" 2>&1 >/dev/null | head -n 2 | tr '\n' ' '; }
is "$(q "$db1" "SELECT count(*) FROM stpm.reserve_entries r
        WHERE NOT EXISTS (SELECT FROM stpm.orgs o WHERE o.id = r.org_id)
           OR NOT EXISTS (SELECT FROM stpm.survey_imports i WHERE i.id = r.import_id)")" "0" \
    "every imported candidate points at an existing organisation and import"
entry_cols="survey_year, org_id, title, title_norm, row_digest, import_id"
e=$(err_of "$db1" "INSERT INTO stpm.reserve_entries ($entry_cols)
    SELECT 2030, gen_random_uuid(), 't', 't', repeat('0', 64), id FROM stpm.survey_imports LIMIT 1")
contains "$e" "ERROR:  23503: insert or update on table \"reserve_entries\" violates foreign key constraint \"reserve_entries_org_id_fkey\"" \
    "a candidate of a missing organisation is refused (23503)"
contains "$e" "is not present in table \"orgs\"" "and the detail names the missing key"
e=$(err_of "$db1" "INSERT INTO stpm.reserve_entries ($entry_cols)
    SELECT 2030, o.id, 't' || g, 't' || g, repeat('0', 64), CASE WHEN g = 3 THEN gen_random_uuid() ELSE i.id END
    FROM (SELECT id FROM stpm.orgs LIMIT 1) o, (SELECT id FROM stpm.survey_imports LIMIT 1) i,
        generate_series(1, 5) g")
contains "$e" "ERROR:  23503: insert or update on table \"reserve_entries\" violates foreign key constraint \"reserve_entries_import_id_fkey\"" \
    "one orphan among several rows of a statement is refused (a missing import)"
e=$(err_of "$db1" "UPDATE stpm.reserve_entries SET org_id = gen_random_uuid()
    WHERE id = (SELECT id FROM stpm.reserve_entries ORDER BY id LIMIT 1)")
contains "$e" "ERROR:  23503:" "moving a candidate to a missing organisation is refused"
e=$(err_of "$db1" "INSERT INTO stpm.org_figures (org_id, survey_year, rd_spend) VALUES (gen_random_uuid(), 2030, 1)")
contains "$e" "ERROR:  23503: insert or update on table \"org_figures\" violates foreign key constraint \"org_figures_org_id_fkey\"" \
    "figures of a missing organisation are refused (23503)"
e=$(err_of "$db1" "UPDATE stpm.org_figures SET org_id = gen_random_uuid()
    WHERE org_id = (SELECT org_id FROM stpm.org_figures ORDER BY org_id LIMIT 1)")
contains "$e" "ERROR:  23503:" "moving figures to a missing organisation is refused"
e=$(err_of "$db1" "BEGIN; CREATE TEMP TABLE y AS SELECT org_id FROM stpm.org_figures ORDER BY org_id LIMIT 1;
    DELETE FROM stpm.reserve_entries WHERE org_id = (SELECT org_id FROM y);
    DELETE FROM stpm.orgs WHERE id = (SELECT org_id FROM y); ROLLBACK")
contains "$e" "ERROR:  23503: update or delete on table \"orgs\" violates foreign key constraint \"org_figures_org_id_fkey\"" \
    "deleting an organisation that figures point at is refused"
e=$(err_of "$db1" "DELETE FROM stpm.survey_imports")
contains "$e" "ERROR:  23503: update or delete on table \"survey_imports\" violates foreign key constraint \"reserve_entries_import_id_fkey\"" \
    "deleting an import that candidates point at is refused"
e=$(err_of "$db1" "BEGIN; CREATE TEMP TABLE x AS SELECT org_id FROM stpm.reserve_entries ORDER BY id LIMIT 1;
    DELETE FROM stpm.org_figures WHERE org_id = (SELECT org_id FROM x);
    UPDATE stpm.orgs SET id = gen_random_uuid() WHERE id = (SELECT org_id FROM x); ROLLBACK")
contains "$e" "ERROR:  23503: update or delete on table \"orgs\" violates foreign key constraint \"reserve_entries_org_id_fkey\"" \
    "changing the id of an organisation that candidates point at is refused"
e=$(err_of "$db1" "TRUNCATE stpm.survey_imports")
contains "$e" "ERROR:  0A000:" "truncating the imports under the pool is refused"
e=$(err_of "$db1" "BEGIN ISOLATION LEVEL REPEATABLE READ; DELETE FROM stpm.survey_imports WHERE false; COMMIT")
contains "$e" "ERROR:  40001:" "deleting imports under a transaction snapshot is refused"
is "$(err_of "$db1" "BEGIN; INSERT INTO stpm.survey_imports (id, survey_year, file_name, file_digest, rows, new, updated, unchanged)
        VALUES ('00000000-0000-4000-8000-000000000001', 2030, 'x', repeat('0', 64), 0, 0, 0, 0);
    DELETE FROM stpm.survey_imports WHERE id = '00000000-0000-4000-8000-000000000001'; ROLLBACK")" "" \
    "an import no candidate points at can still be deleted"
is "$(q "$db1" "UPDATE stpm.reserve_entries SET leader = leader
        WHERE id = (SELECT id FROM stpm.reserve_entries ORDER BY id LIMIT 1) RETURNING 'ok'")" "ok" \
    "an update that keeps the references passes"

drop_db "$db1"
drop_db "$db2"
drop_db "$db3"
done_testing
