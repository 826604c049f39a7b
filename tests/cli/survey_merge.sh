#!/usr/bin/env bash
# The survey's merge (stpm.survey_import_apply, 095) and its counts:
#   - a fresh import and re-imports count new, updated and unchanged organisations and
#     figures, and put back what was changed by hand;
#   - an organisation of the file that another session inserts (uncommitted) while the
#     import runs: the import waits for it, then takes it as an existing organisation
#     (updated to the file's name), exit 0 — never a unique violation on the terminal.
. "$(dirname "$0")/lib.sh"
need_db
need_source
EX=$SRC/docs/examples/survey-2020.csv

DB=$(fresh_db smerge)
sql() { psql "$DB" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
"$STPM" --db "$DB" db migrate >/dev/null
run "$STPM" --db "$DB" --today 2020-10-31 survey import "$EX" --year 2020
expect_rc 0 "a fresh import"
orgs=$(sql "SELECT count(*) FROM stpm.orgs")
figs=$(sql "SELECT count(*) FROM stpm.org_figures WHERE survey_year = 2020")
contains "$OUT" "organisations: $orgs new, 0 updated" "the new organisations are counted"
contains "$OUT" "figures of 2020: $figs changed" "the year's figures are counted"
is "$([ "$orgs" -gt 5 ] && [ "$figs" -gt 5 ] && echo yes)" "yes" "the example has organisations and figures"

run "$STPM" --db "$DB" --today 2020-11-01 survey import "$EX" --year 2020
expect_rc 0 "the same file again"
contains "$OUT" "organisations: 0 new, 0 updated" "nothing new, nothing changed"
contains "$OUT" "figures of 2020: 0 changed" "no figure changed"

# One organisation renamed and one figure changed by hand: the re-import puts them back.
uscc=$(sql "SELECT o.uscc FROM stpm.orgs o JOIN stpm.org_figures f ON f.org_id = o.id
           WHERE f.survey_year = 2020 AND f.revenue IS NOT NULL ORDER BY o.uscc LIMIT 1")
sql "UPDATE stpm.orgs SET name = '改名样例有限公司' WHERE uscc = '$uscc'"
sql "UPDATE stpm.org_figures SET revenue = revenue + 1
      WHERE org_id = (SELECT id FROM stpm.orgs WHERE uscc = '$uscc') AND survey_year = 2020"
run "$STPM" --db "$DB" --today 2020-11-02 survey import "$EX" --year 2020
expect_rc 0 "a re-import after changes by hand"
contains "$OUT" "organisations: 0 new, 1 updated" "the renamed organisation is updated"
contains "$OUT" "figures of 2020: 1 changed" "the changed figure is written back"

# Another year, while another session holds a new row of one of the file's organisations.
DB2=$(fresh_db smerge2)
"$STPM" --db "$DB2" db migrate >/dev/null
uscc=$(sed -n 2p "$EX" | cut -d, -f2)
psql "$DB2" -qAtX -v ON_ERROR_STOP=1 -c "BEGIN;
    INSERT INTO stpm.orgs (uscc, name, town) VALUES ('$uscc', '别的会话先加的企业', '如城街道');
    SELECT pg_sleep(3); COMMIT;" >/dev/null &
holder=$!
for _ in $(seq 1 50); do
    [ "$(psql "$DB2" -qAtX -c "SELECT count(*) FROM pg_stat_activity
                              WHERE query LIKE '%别的会话先加的企业%' AND state = 'active'")" = 1 ] && break
    sleep 0.1
done
run "$STPM" --db "$DB2" --today 2021-10-31 survey import "$EX" --year 2021
wait "$holder"
expect_rc 0 "an import meeting another session's new organisation succeeds"
contains "$OUT" "organisations: $((orgs - 1)) new, 1 updated" \
    "that organisation is taken as an existing one and updated"
is "$(psql "$DB2" -qAtX -c "SELECT name <> '别的会话先加的企业' FROM stpm.orgs WHERE uscc = '$uscc'")" \
    "t" "it has the file's name"
case "$ERR" in
*duplicate* | *unique* | *violates* | *orgs_uscc_key*) fail "no constraint on the terminal" "$ERR" ;;
*) pass "no constraint on the terminal" ;;
esac
run "$STPM" --db "$DB2" audit verify
expect_rc 0 "audit verify passes"

drop_db "$DB"
drop_db "$DB2"
done_testing
