#!/usr/bin/env bash
# Workbooks: survey import from .xlsx (tests/data/xlsx, docs/examples/survey-2020.xlsx) and
# from .xls (tests/data/xls, written by xlwt) with every error as FILE:SHEET!CELL and nothing
# imported, and --format xlsx / --bom written and read back (the XML of the workbook, and
# the project's own reader).
. "$(dirname "$0")/lib.sh"
need_source
X=$SRC/tests/data/xlsx
cd "$TMP"

# ---- the reader, without a database ----
for f in shared:3:2 inline:2:1 title:4:2 dates:4:2; do
    IFS=: read -r name rows orgs <<<"$f"
    run "$STPM" --format json survey import "$X/$name.xlsx" --year 2020 --dry-run
    expect_rc 0 "$name.xlsx reads"
    contains "$OUT" "\"format\": \"xlsx\", \"sheet\": " "$name.xlsx: the format and the sheet"
    contains "$OUT" "\"rows\": $rows, \"organisations\": $orgs" "$name.xlsx: $rows rows of $orgs organisations"
done
run "$STPM" survey import "$X/title.xlsx" --year 2020 --dry-run
contains "$OUT" "(xlsx, sheet 调研表, year 2020" "the title rows are skipped: the header is row 4"

# the example in the bureau's layout holds the same survey as the CSV
run "$STPM" --format json survey import "$SRC/docs/examples/survey-2020.xlsx" --year 2020 --dry-run
expect_rc 0 "the example workbook reads"
a=$(printf '%s\n' "$OUT" | sed -n 's/.*"rows"/"rows"/p;/by_/p')
run "$STPM" --format json survey import "$SRC/docs/examples/survey-2020.csv" --year 2020 --dry-run
b=$(printf '%s\n' "$OUT" | sed -n 's/.*"rows"/"rows"/p;/by_/p')
is "$a" "$b" "the workbook and the CSV: the same 51 rows, towns and fields"

# found by content, not by name
cp "$X/shared.xlsx" survey.csv
run "$STPM" survey import survey.csv --year 2020 --dry-run
contains "$OUT" "(xlsx, sheet Sheet1" "a workbook named .csv is read as a workbook"

# --sheet
run "$STPM" survey import "$X/shared.xlsx" --sheet 2021 --year 2020 --dry-run
contains "$OUT" "1 candidate from 1 organisation" "--sheet NAME reads that sheet"
run "$STPM" survey import "$X/shared.xlsx" --sheet 2022 --dry-run
expect_rc 6 "a sheet that is not there: not found"
contains "$ERR" 'no sheet "2022" in the workbook (its sheets: Sheet1, 2021)' "the sheets there are are named"
run "$STPM" survey import "$SRC/docs/examples/survey-2020.csv" --sheet x --dry-run
expect_rc 2 "--sheet on a CSV file: usage"
run sh -c "\"$STPM\" survey import - --dry-run < \"$X/shared.xlsx\""
expect_rc 2 "a workbook on standard input: usage"

# errors: FILE:SHEET!CELL, the same checks as CSV
run "$STPM" survey import "$X/bad.xlsx" --year 2020 --dry-run
expect_rc 5 "bad.xlsx: bad input"
contains "$ERR" "bad.xlsx:Sheet1!H7: 预计总投入（万元）: negative amount \"-5\": amounts cannot be below zero" "the negative amount in H7"
contains "$ERR" "bad.xlsx:Sheet1!B4: 统一社会信用代码: invalid unified social credit code \"91320682MA1KK5MQ2X\"" "the bad credit code in B4"
contains "$ERR" "bad.xlsx:Sheet1!L6: 是否高新技术企业: invalid yes/no value \"也许\"" "the yes/no in L6"
contains "$ERR" "3 errors in $X/bad.xlsx" "three errors"

# a broken workbook: a located error, never a crash or libxml2's own output
cp "$X/shared.xlsx" broken.xlsx
python3 - broken.xlsx <<'PY'
import sys, zipfile
src = zipfile.ZipFile(sys.argv[1]).infolist()
data = {i.filename: zipfile.ZipFile(sys.argv[1]).read(i) for i in src}
data['xl/worksheets/sheet1.xml'] = data['xl/worksheets/sheet1.xml'][:-200]
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    for n, d in data.items():
        z.writestr(n, d)
PY
run "$STPM" survey import broken.xlsx --year 2020 --dry-run
expect_rc 5 "a truncated sheet: bad input"
contains "$ERR" "broken.xlsx:Sheet1!" "the truncated sheet's place is named"
printf 'PK\003\004 not a zip' >fake.xlsx
run "$STPM" survey import fake.xlsx --dry-run
expect_rc 5 "a file that only starts like a zip: bad input"
contains "$ERR" "fake.xlsx: not a readable workbook" "it says so"

# ---- .xls (Excel 97-2003) through libfreexl: tests/data/xls, written by xlwt ----
XL=$SRC/tests/data/xls
run "$STPM" --format json survey import "$XL/survey.xls" --year 2020 --dry-run
expect_rc 0 "survey.xls reads"
contains "$OUT" '"format": "xls", "sheet": "调研表"' "survey.xls: the format and the first sheet"
contains "$OUT" '"rows": 4, "organisations": 2, "errors": 0' \
    "survey.xls: the header found in row 4, below the merged title, a subtitle and a blank row"
run "$STPM" survey import "$XL/survey.xls" --sheet 2021 --year 2020 --dry-run
contains "$OUT" "1 candidate from 1 organisation, no errors (xls, sheet 2021" "survey.xls: --sheet NAME"
run "$STPM" survey import "$XL/survey.xls" --sheet 2022 --dry-run
expect_rc 6 "survey.xls: a sheet that is not there: not found"
contains "$ERR" 'no sheet "2022" in the workbook (its sheets: 调研表, 2021)' "survey.xls: the sheets there are are named"
cp "$XL/survey.xls" survey-xls.csv
run "$STPM" survey import survey-xls.csv --year 2020 --dry-run
contains "$OUT" "(xls, sheet 调研表" "an .xls named .csv is read as a workbook (by its content)"
run "$STPM" survey import "$XL/bad.xls" --year 2020 --dry-run
expect_rc 5 "bad.xls: bad input"
contains "$ERR" "bad.xls:Sheet1!H7: 预计总投入（万元）: negative amount \"-5\": amounts cannot be below zero" "bad.xls: the negative amount in H7"
contains "$ERR" "bad.xls:Sheet1!B4: 统一社会信用代码: invalid unified social credit code \"91320682MA1KK5MQ2X\"" "bad.xls: the bad credit code in B4"
contains "$ERR" "bad.xls:Sheet1!L6: 是否高新技术企业: invalid yes/no value \"也许\"" "bad.xls: the yes/no in L6"
contains "$ERR" "3 errors in $XL/bad.xls" "bad.xls: three errors"
head -c 2048 "$XL/survey.xls" >cut.xls
run "$STPM" survey import cut.xls --dry-run
expect_rc 5 "a cut .xls: bad input"
contains "$ERR" "cut.xls: not a readable Excel 97-2003 workbook" "a cut .xls: it says so"

# --format xlsx needs a file: refused on a terminal
run script -qec "\"$STPM\" --format xlsx survey import \"$X/shared.xlsx\" --dry-run --year 2020" /dev/null
contains "$OUT" "--format xlsx writes a workbook: give --output FILE.xlsx" "xlsx on a terminal: refused"
run sh -c "script -qec '\"$STPM\" --format xlsx survey import \"$X/shared.xlsx\" --dry-run --year 2020' /dev/null >/dev/null; echo \$?"
is "$OUT" "2" "xlsx on a terminal: exit 2"

# the dry run's summary as a workbook (without a database)
run "$STPM" survey import "$X/shared.xlsx" --dry-run --year 2020 --format xlsx --output s.xlsx
expect_rc 0 "the dry run as a workbook"
run unzip -p s.xlsx xl/worksheets/sheet1.xml
contains "$OUT" '<pane ySplit="3" topLeftCell="A4" activePane="bottomLeft" state="frozen"/>' "the header (row 3) is frozen"
run unzip -p s.xlsx xl/sharedStrings.xml
contains "$OUT" "stpm survey import $X/shared.xlsx --dry-run --year 2020" "the first row: the command and its filters"

need_db
DB=$(fresh_db xlsx)
q() { psql "$DB" -qAtX -c "$1"; }
counts() { q "SELECT (SELECT count(*) FROM stpm.orgs) || ' ' || (SELECT count(*) FROM stpm.reserve_entries)"; }
"$STPM" --db "$DB" db status >/dev/null 2>&1 || true
run "$STPM" --db "$DB" survey import "$X/bad.xlsx" --year 2020
expect_rc 5 "importing bad.xlsx fails"
contains "$ERR" "bad.xlsx:Sheet1!H7: " "the import names the cell too"
is "$(counts)" "0 0" "nothing imported"
run "$STPM" --db "$DB" --today 2020-10-31 survey import "$SRC/docs/examples/survey-2020.xlsx" --year 2020
expect_rc 0 "the example workbook imports"
contains "$OUT" "51 candidates for 2020: 51 new, 0 updated, 0 unchanged" "51 new candidates"
run "$STPM" --db "$DB" --today 2020-10-31 survey import "$SRC/docs/examples/survey-2020.csv" --year 2020
contains "$OUT" "0 new, 0 updated, 51 unchanged" "the CSV of the same survey changes nothing"
is "$(q "SELECT count(*) FROM stpm.survey_imports WHERE file_digest = '$(sha256sum "$SRC/docs/examples/survey-2020.xlsx" | cut -c1-64)'")" "1" \
    "the workbook's import record holds the file's sha256"

# a listing as a workbook, read back
run "$STPM" --db "$DB" --format xlsx reserve list --year 2020 --output r.xlsx
expect_rc 0 "reserve list as a workbook"
sheet=$(unzip -p r.xlsx xl/worksheets/sheet1.xml)
strings=$(unzip -p r.xlsx xl/sharedStrings.xml)
contains "$(unzip -p r.xlsx xl/workbook.xml)" '<sheet name="reserve list"' "the sheet is named after the command"
contains "$strings" "<t>91320682MA1QY40L0Q</t>" "a credit code is text"
contains "$sheet" '<c r="C4" s="' "the year is a number"
row4=$(printf '%s' "$sheet" | grep -o '<row r="4".*</row>' | sed 's,</row>.*,,')
contains "$row4" '<c r="K4" s="' "requested_funding is written"
if printf '%s' "$row4" | grep -q '<c r="K4" s="[0-9]*" t="s"'; then fail "requested_funding is a number"; else pass "requested_funding is a number"; fi
styles=$(unzip -p r.xlsx xl/styles.xml)
contains "$styles" 'formatCode="#,##0.00"' "amounts have two decimals"
# the project's own reader finds the header below the first row and names what is missing
run "$STPM" survey import r.xlsx --dry-run --year 2020
contains "$ERR" "r.xlsx:'reserve list'!3:3: org_name: missing required column 企业名称 (org_name)" "the reader reads the writer's workbook"
# no workbook when the command fails
run "$STPM" --db "$DB" --format xlsx reserve list --year 1800 --output none.xlsx
if [ "$RC" -ne 0 ] && [ -n "$ERR" ]; then pass "reserve list --year 1800 fails (rc $RC)"; else fail "reserve list --year 1800 fails" "rc $RC" "$ERR"; fi
[ -e none.xlsx ] && fail "a failed command writes no workbook" || pass "a failed command writes no workbook"
printf 'kept\n' >kept.xlsx
run "$STPM" --db "$DB" --format xlsx reserve list --year 1800 --output kept.xlsx
is "$(cat kept.xlsx)" "kept" "a failed command leaves an existing file as it was"
# standard output that is a file
"$STPM" --db "$DB" --format xlsx reserve list --year 2020 >piped.xlsx
is "$(head -c 4 piped.xlsx | od -An -c | tr -d ' ')" 'PK003004' "without --output the workbook goes to standard output"

# --bom: only when asked
run "$STPM" --db "$DB" --format csv --bom reserve list --year 2020
is "$(printf '%s' "$OUT" | head -c 3 | od -An -tx1 | tr -d ' ')" "efbbbf" "--bom: the CSV starts with a UTF-8 BOM"
run "$STPM" --db "$DB" --format csv reserve list --year 2020
is "$(printf '%s' "$OUT" | head -c 5)" "entry" "without --bom: no BOM"
run "$STPM" --db "$DB" --format csv reserve list --year 2020 --output r.csv
is "$(head -c 5 r.csv)" "entry" "--output FILE for CSV"

# reports: a chart of the groups, and of targets against actuals
"$STPM" --db "$DB" workflow load "$SRC/tests/data/audit_test.yaml" >/dev/null
q "INSERT INTO stpm.plans (code, name, level, funded, workflow_name) VALUES
  ('PROV', '省重点研发计划', 'provincial', true, 'audit_test'),
  ('CNTY', '如皋市科技计划', 'county', false, 'audit_test')"
for p in PROV CNTY; do
    id=$("$STPM" --db "$DB" --today 2020-03-01 project create --plan $p --org 91320682MA1QY40L0Q \
        --title "项目$p" --leader 张三 --year 2020 --set amount_requested=12.5)
    "$STPM" --db "$DB" --today 2020-03-01 project advance "$id" apply >/dev/null
done
run "$STPM" --db "$DB" --today 2020-12-31 --format xlsx report summary --year 2020 --by level --output s.xlsx
expect_rc 0 "report summary as a workbook"
contains "$(unzip -l s.xlsx)" "xl/charts/chart1.xml" "the summary has a chart"
chart=$(unzip -p s.xlsx xl/charts/chart1.xml)
contains "$chart" "<c:barChart>" "bars"
contains "$chart" "<c:f>'report summary'!\$A\$4:\$A\$5</c:f>" "one bar group per level, without the total"
contains "$(unzip -p s.xlsx xl/sharedStrings.xml)" "stpm report summary --year 2020 --by level" "the filters used"
"$STPM" --db "$DB" report target set --year 2020 --metric applications --value 4 >/dev/null
run "$STPM" --db "$DB" --today 2020-12-31 --format xlsx report targets --year 2020 --output t.xlsx
expect_rc 0 "report targets as a workbook"
chart=$(unzip -p t.xlsx xl/charts/chart1.xml)
contains "$chart" "<c:f>'report targets'!\$C\$3</c:f>" "the target series"
contains "$chart" "<c:f>'report targets'!\$D\$3</c:f>" "against the actual"

drop_db "$DB"

# .xls into the database: the rows as the sheet holds them (booleans, dates, numbers)
DB=$(fresh_db xls)
run "$STPM" --db "$DB" survey import "$XL/bad.xls" --year 2020
expect_rc 5 "importing bad.xls fails"
is "$(counts)" "0 0" "nothing of bad.xls imported"
run "$STPM" --db "$DB" --today 2020-10-31 survey import "$XL/survey.xls" --year 2020
expect_rc 0 "survey.xls imports"
contains "$OUT" "survey.xls: 4 candidates for 2020: 4 new, 0 updated, 0 unchanged" "4 new candidates"
is "$(q "SELECT string_agg(left(title, 6) || ' ' || coalesce(high_tech::text, '-') || ' ' || planned_investment::float8 || ' ' || coalesce(left(notes, 10), '-'), '|' ORDER BY title) FROM stpm.reserve_entries")" \
    "全海深地质绞 true 3200 国家重点研发计划“深|新能源汽车轮 true 4200 -|深海液压绞车 false 1500 -|高端轴承用G true 2600 2020-10-30" \
    "booleans (TRUE, FALSE over the CSV's 是), amounts as numbers, a date cell as YYYY-MM-DD"
run "$STPM" --db "$DB" --today 2020-10-31 survey import "$XL/survey.xls" --year 2020
contains "$OUT" "nothing changed: the reserve pool already holds this survey" "importing survey.xls again changes nothing"
drop_db "$DB"
done_testing
