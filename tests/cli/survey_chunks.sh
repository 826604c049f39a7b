#!/usr/bin/env bash
# A survey merged chunk by chunk while the client reads on (stpm.survey_import_chunk, 102):
#   - the same files imported with a merge after every row, every 5 rows, by default and
#     once at the end (STPM_SURVEY_MERGE_EVERY=0) write the same rows and print the same
#     counts, an organisation renamed in one chunk and named back in a later one included;
#   - a bad row after the first merge, and a caller the server refuses at the first merge,
#     leave nothing behind (exit 5, exit 7); two years imported at once do not deadlock;
#     STPM_SURVEY_MERGE_EVERY that is not a number of rows is exit 2;
#   - with psql, as an officer: a run that is not ended cannot commit (DISCARD TEMP
#     included); the run's own tables are not the caller's to read, change or drop; a table
#     of the caller's in their way, a chunk of another year, rows staged where the merge
#     does not look and a key repeated in a later chunk are refused.
. "$(dirname "$0")/lib.sh"
need_db
need_source
need_logins sc_officer:officer
EX=$SRC/docs/examples/survey-2020.csv
GEN=$STPM_BUILD_ROOT/tests/bench/gen_survey
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# F2: the example with two organisations renamed. The first organisation's name changes in
# its first row only (its last row keeps the old name: in one merge nothing changes; merged
# row by row it is renamed, then named back); the second organisation's in its last row
# (it is renamed).
first=$(sed -n 2p "$EX" | cut -d, -f2)
second=$(awk -F, 'NR > 2 && $2 ~ /^9132/ && $2 != "'"$first"'" { print $2; exit }' "$EX")
awk -F, -v OFS=, -v a="$first" -v b="$second" '
    FNR == NR { if ($2 == b) last_b = FNR; next }
    $2 == a && !done_a { $1 = $1 "（更名）"; done_a = 1 }
    FNR == last_b { $1 = $1 "（新名）" }
    { print }' "$EX" "$EX" >"$TMP/f2.csv"
is "$(grep -c '（更名）' "$TMP/f2.csv"):$(grep -c '（新名）' "$TMP/f2.csv")" "1:1" \
    "the changed file renames one organisation in its first row and one in its last"
is "$(grep -c "$first" "$EX" | awk '{ print ($1 > 1) }')" "1" \
    "the first organisation has more than one row, so its rows fall in different chunks"
"$GEN" 20000 7 >"$TMP/big.csv"

dump() { # DB: what an import wrote, without ids and times
    psql "$1" -qAtX -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'org', uscc, name, coalesce(town, '-') FROM stpm.orgs ORDER BY uscc;
SELECT 'fig', o.uscc, f.survey_year, f.rd_spend, f.revenue, f.high_tech
  FROM stpm.org_figures f JOIN stpm.orgs o ON o.id = f.org_id ORDER BY 2, 3;
SELECT 'entry', r.survey_year, o.uscc, r.title_norm, r.title, r.row_digest, r.maturity,
       r.requested_funding, i.file_digest
  FROM stpm.reserve_entries r JOIN stpm.orgs o ON o.id = r.org_id
  JOIN stpm.survey_imports i ON i.id = r.import_id ORDER BY 2, 3, 4;
SELECT 'import', survey_year, file_name, file_digest, rows, new, updated, unchanged
  FROM stpm.survey_imports ORDER BY imported_at, file_name;
SELECT 'event', on_date, data - 'import_id' FROM stpm.events WHERE chain LIKE 'survey:%' ORDER BY seq;
SQL
}

ways=(0 1 5 default 3000)
declare -A db out
for w in "${ways[@]}"; do
    db[$w]=$(fresh_db "sch$w")
    "$STPM" --db "${db[$w]}" db migrate >/dev/null
done
step() { # FILE YEAR DATE WHAT [WAY...]: import FILE in each way (all of them by default);
    # the outputs must agree
    local w first_out="" these=("${@:5}")
    [ ${#these[@]} -gt 0 ] || these=("${ways[@]}")
    for w in "${these[@]}"; do
        if [ "$w" = default ]; then
            run env -u STPM_SURVEY_MERGE_EVERY "$STPM" --db "${db[$w]}" --today "$3" survey import "$1" --year "$2"
        else
            run env STPM_SURVEY_MERGE_EVERY="$w" "$STPM" --db "${db[$w]}" --today "$3" survey import "$1" --year "$2"
        fi
        expect_rc 0 "$4: merged every ${w} rows, exit 0"
        out[$w]=$(printf '%s\n' "$OUT" | grep -v '^import ')
        [ -z "$first_out" ] && first_out=${out[$w]}
        is "${out[$w]}" "$first_out" "$4: merged every ${w} rows, the same counts as merged once"
    done
}
# (the test's connection is the cluster's superuser: it may count the calls of functions)
export PGOPTIONS="-c track_functions=pl"
step "$EX" 2020 2020-10-31 "a fresh year"
chunks() { # DB: the calls of stpm.survey_import_chunk so far
    psql "$1" -qAtX -c "SELECT pg_stat_clear_snapshot(); SELECT coalesce(sum(calls), 0)
        FROM pg_stat_user_functions WHERE schemaname = 'stpm' AND funcname = 'survey_import_chunk'" | tail -n 1
}
is "$(chunks "${db[0]}") $(chunks "${db[5]}") $(chunks "${db[1]}") $(chunks "${db[default]}")" "0 10 51 0" \
    "the rows were merged once, every 5 rows (10 chunks and the end), every row, and once by default (51 rows)"
contains "${out[0]}" "51 new, 0 updated, 0 unchanged" "the fresh year's candidates are all new"
step "$TMP/f2.csv" 2020 2020-11-02 "a re-import with changes"
contains "${out[0]}" "0 new, 0 updated, 51 unchanged" "the candidates are unchanged"
contains "${out[0]}" "organisations: 0 new, 1 updated" \
    "one organisation is updated: the one renamed and named back within the file is not"
step "$EX" 2021 2021-10-31 "another year, every organisation known"
# (merged every row or every 5 rows, 20,000 rows would take a minute: those two get the
# big survey in one merge, so that the five databases still hold the same)
step "$TMP/big.csv" 2022 2022-10-31 "20,000 rows (two merges by default, seven of 3,000)" 0 default 3000
for w in 1 5; do
    STPM_SURVEY_MERGE_EVERY=0 "$STPM" --db "${db[$w]}" --today 2022-10-31 survey import "$TMP/big.csv" --year 2022 >/dev/null
done
contains "${out[0]}" "20000 new" "the big survey's candidates are new"
is "$(chunks "${db[default]}") $(chunks "${db[3000]}")" "1 6" \
    "20,000 rows are merged by default in two (a chunk and the end), every 3,000 rows in seven"
unset PGOPTIONS
ref=$(dump "${db[0]}")
is "$(printf '%s\n' "$ref" | grep -c '^entry|')" "20102" "the reference holds every candidate (51 + 51 + 20,000)"
for w in 1 5 default 3000; do
    is "$(dump "${db[$w]}")" "$ref" "merged every $w rows: the same organisations, figures, candidates, records and events"
    run "$STPM" --db "${db[$w]}" audit verify
    expect_rc 0 "merged every $w rows: audit verify passes"
done
# A bad row after the first chunk was merged: nothing stays, every error is named.
awk -F, -v OFS=, 'NR == 20001 { $2 = "91320682XXXXXXXXXX" } { print }' "$TMP/big.csv" >"$TMP/big-bad.csv"
before=$(dump "${db[default]}")
run env -u STPM_SURVEY_MERGE_EVERY "$STPM" --db "${db[default]}" --today 2023-10-31 survey import "$TMP/big-bad.csv" --year 2023
expect_rc 5 "a bad row after the first merge: exit 5"
contains "$ERR" "big-bad.csv:20001:" "the bad row is named by its file, row and column"
is "$(dump "${db[default]}")" "$before" "and nothing of the file stayed: the merged chunk was rolled back"
# Refused by the server at the first chunk: exit 7, nothing written.
need_logins sc_auditor:auditor
run env -u STPM_SURVEY_MERGE_EVERY "$STPM" --db "${db[default]} user=sc_auditor" --today 2023-10-31 survey import "$TMP/big.csv" --year 2023
expect_rc 7 "an auditor importing a survey of 20,000 rows is refused at the first merge: exit 7"
contains "$ERR" "permission denied" "and told why"
is "$(dump "${db[default]}")" "$before" "and nothing was written"
for w in "${ways[@]}"; do drop_db "${db[$w]}"; done

# Two years imported at the same moment, their organisations (new to both) in opposite
# orders, merged every 2,000 rows: the runs queue (the lock of every year's imports) and
# neither deadlocks.
DB=$(fresh_db schpair)
"$STPM" --db "$DB" db migrate >/dev/null
(head -n 1 "$TMP/big.csv"; tail -n +2 "$TMP/big.csv" | tac) >"$TMP/big-rev.csv"
STPM_SURVEY_MERGE_EVERY=2000 "$STPM" --db "$DB" --today 2024-10-31 survey import "$TMP/big.csv" --year 2024 >"$TMP/p1.out" 2>&1 &
p1=$!
STPM_SURVEY_MERGE_EVERY=2000 "$STPM" --db "$DB" --today 2025-10-31 survey import "$TMP/big-rev.csv" --year 2025 >"$TMP/p2.out" 2>&1 &
p2=$!
rc1=0 rc2=0
wait "$p1" || rc1=$?
wait "$p2" || rc2=$?
is "$rc1 $rc2" "0 0" "two years imported at once, organisations in opposite orders: both exit 0"
case "$(cat "$TMP/p1.out" "$TMP/p2.out")" in
*deadlock*) fail "no deadlock" "$(cat "$TMP/p1.out" "$TMP/p2.out")" ;;
*) pass "no deadlock" ;;
esac
is "$(psql "$DB" -qAtX -c "SELECT count(*) FROM stpm.reserve_entries") $(psql "$DB" -qAtX -c "SELECT count(DISTINCT uscc) FROM stpm.orgs")" \
    "40000 $(tail -n +2 "$TMP/big.csv" | cut -d, -f2 | sort -u | wc -l)" \
    "every candidate of both years is in the pool, every organisation once"
drop_db "$DB"

# ---- with psql, as an officer ----
DB=$(fresh_db schdoor)
"$STPM" --db "$DB" db migrate >/dev/null
OFF="$DB user=sc_officer"
STAGE="CREATE TEMP TABLE stpm_survey_stage (rownum integer NOT NULL, id uuid NOT NULL,
    org_new_id uuid NOT NULL, uscc char(18) NOT NULL, org_name text NOT NULL, town text,
    title text NOT NULL, title_norm text COLLATE \"C\" NOT NULL, field text, target_plan text,
    leader text, planned_investment numeric(18,4), requested_funding numeric(18,4),
    rd_spend numeric(18,4), revenue numeric(18,4), high_tech boolean, partner text,
    maturity integer, notes text, row_digest char(64) NOT NULL)"
rows() { # FROM TO: staged rows numbered FROM..TO, one organisation each
    echo "INSERT INTO stpm_survey_stage (rownum, id, org_new_id, uscc, org_name, title, title_norm, row_digest)
          SELECT g, gen_random_uuid(), gen_random_uuid(), '91320682MA1MXXXX9P', '样例企业',
                 '项目' || g, '项目' || g, repeat('a', 64) FROM generate_series($1, $2) g;"
}
as_off() { run psql "$OFF" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
count() { psql "$DB" -qAtX -c "$1"; }

as_off "BEGIN; $STAGE ON COMMIT DROP; GRANT SELECT ON pg_temp.stpm_survey_stage TO stpm_owner;
        $(rows 1 3) SELECT stpm.survey_import_chunk(2021, 'x.csv'); COMMIT;"
is "$RC" "1" "a run begun with survey_import_chunk and not ended cannot commit (psql exit 1)"
contains "$ERR" "the survey import of x.csv for 2021 was not ended" "and says why"
is "$(count "SELECT count(*) FROM stpm.survey_imports") $(count "SELECT count(*) FROM stpm.reserve_entries")" \
    "0 0" "no record and no candidate stayed"

# DISCARD TEMP drops the run's tables with the caller's: the record still has no event.
as_off "BEGIN; $STAGE ON COMMIT DROP; GRANT SELECT ON pg_temp.stpm_survey_stage TO stpm_owner;
        $(rows 1 3) SELECT stpm.survey_import_chunk(2021, 'x.csv'); DISCARD TEMP; COMMIT;"
contains "$ERR" "the survey import of x.csv for 2021 was not ended" \
    "a run whose tables DISCARD TEMP dropped cannot commit either"
is "$(count "SELECT count(*) FROM stpm.survey_imports") $(count "SELECT count(*) FROM stpm.reserve_entries") $(count "SELECT count(*) FROM stpm.orgs")" \
    "0 0 0" "no record, no candidate and no organisation stayed"

for s in "SELECT count(*) FROM pg_temp.stpm_survey_run" \
         "UPDATE pg_temp.stpm_survey_run SET rows = 0" \
         "DELETE FROM pg_temp.stpm_survey_run_orgs" \
         "DROP TABLE pg_temp.stpm_survey_run"; do
    as_off "BEGIN; $STAGE ON COMMIT DROP; GRANT SELECT ON pg_temp.stpm_survey_stage TO stpm_owner;
            $(rows 1 3) SELECT stpm.survey_import_chunk(2021, 'x.csv'); $s"
    case "$ERR" in
    *"permission denied"* | *"must be owner"*) pass "the run's tables are not the caller's: $s" ;;
    *) fail "the run's tables are not the caller's: $s" "$ERR" ;;
    esac
done

as_off "BEGIN; $STAGE ON COMMIT DROP; GRANT SELECT ON pg_temp.stpm_survey_stage TO stpm_owner;
        CREATE TEMP TABLE stpm_survey_run (x int); $(rows 1 3)
        SELECT stpm.survey_import_chunk(2021, 'x.csv')"
contains "$ERR" "a temporary table of yours named stpm_survey_run is in the way" \
    "a table of the caller's named as the run's is in the way, and refused"

as_off "BEGIN; $STAGE ON COMMIT DROP; GRANT SELECT ON pg_temp.stpm_survey_stage TO stpm_owner;
        $(rows 1 3) SELECT stpm.survey_import_chunk(2021, 'x.csv');
        SELECT * FROM stpm.survey_import_apply(2022, 'x.csv', repeat('0', 64), 'utf-8', '2021-11-01')"
contains "$ERR" "the survey import of x.csv for 2021 is under way in this transaction, not one of x.csv for 2022" \
    "the end of a run of another year is refused"

# Rows put where COPY does not put them (into room freed in a table of an earlier
# transaction) come before the rows merged: the end of the run finds them left out.
run psql "$OFF" -qAtX -v ON_ERROR_STOP=1 <<SQL
$STAGE;
GRANT SELECT ON pg_temp.stpm_survey_stage TO stpm_owner;
$(rows 1 300)
DELETE FROM stpm_survey_stage WHERE rownum <= 100;
VACUUM stpm_survey_stage;
BEGIN;
SELECT stpm.survey_import_chunk(2021, 'x.csv');
$(rows 301 310)
SELECT * FROM stpm.survey_import_apply(2021, 'x.csv', repeat('0', 64), 'utf-8', '2021-11-01');
COMMIT;
SQL
contains "$ERR" "some staged survey rows were not merged" \
    "rows staged before the rows merged are found left out at the end, and refused"
is "$(count "SELECT count(*) FROM stpm.survey_imports") $(count "SELECT count(*) FROM stpm.reserve_entries")" \
    "0 0" "and nothing stayed"

as_off "BEGIN; $STAGE ON COMMIT DROP; GRANT SELECT ON pg_temp.stpm_survey_stage TO stpm_owner;
        $(rows 1 3) SELECT stpm.survey_import_chunk(2021, 'x.csv'); $(rows 4 5)
        SELECT stpm.survey_import_chunk(2021, 'x.csv');
        SELECT rows, new FROM stpm.survey_import_apply(2021, 'x.csv', repeat('0', 64), 'utf-8', '2021-11-01');
        COMMIT;"
expect_rc 0 "two chunks and the end, by hand, commit"
is "$OUT" $'3\n2\n5|5' "each chunk says how many rows it merged; the end counts them all"
is "$(count "SELECT count(*) FROM stpm.reserve_entries WHERE survey_year = 2021")" "5" "the five candidates are in the pool"
# A key twice in the rows of a year that has candidates, in two chunks: refused, as one
# merge refuses it.
as_off "BEGIN; $STAGE ON COMMIT DROP; GRANT SELECT ON pg_temp.stpm_survey_stage TO stpm_owner;
        $(rows 6 7) SELECT stpm.survey_import_chunk(2021, 'y.csv'); $(rows 7 7)
        SELECT * FROM stpm.survey_import_apply(2021, 'y.csv', repeat('0', 64), 'utf-8', '2021-11-01')"
contains "$ERR" "staged survey row 7 repeats the key of a row merged before" \
    "a key of an earlier chunk again in a later one is refused"
run "$STPM" --db "$DB" audit verify
expect_rc 0 "audit verify passes"
drop_db "$DB"

run env STPM_SURVEY_MERGE_EVERY=lots "$STPM" --db "$STPM_TEST_DB" survey import "$EX" --year 2020
expect_rc 2 "STPM_SURVEY_MERGE_EVERY that is not a number: exit 2"
contains "$ERR" "STPM_SURVEY_MERGE_EVERY must be a number of rows from 0 to 65536" "and says what it must be"
run env STPM_SURVEY_MERGE_EVERY=100000 "$STPM" --db "$STPM_TEST_DB" survey import "$EX" --year 2020
expect_rc 2 "STPM_SURVEY_MERGE_EVERY above 65,536 rows (held in memory): exit 2"
done_testing
