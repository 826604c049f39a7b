#!/usr/bin/env bash
# stpm survey import --dry-run: the shipped examples validate; a broken file lists every
# error as FILE:ROW:COLUMN and exits 5; options and missing files give their exit codes.
. "$(dirname "$0")/lib.sh"
ex="$STPM_SOURCE_ROOT/docs/examples"
cd "$TMP"

for f in survey-2020.csv survey-2020-gb18030.csv survey-2020.yaml; do
    run "$STPM" survey import "$ex/$f" --year 2020 --dry-run
    expect_rc 0 "$f validates"
    contains "$OUT" "51 candidates from 29 organisations, no errors" "$f has 51 rows, 29 organisations"
    is "$ERR" "" "$f: nothing on stderr (no progress bar off a terminal, no warnings)"
done
run "$STPM" survey import "$ex/survey-2020.csv" --year 2020 --dry-run
contains "$OUT" "csv, utf-8, year 2020" "the UTF-8 file is read as UTF-8"
run "$STPM" survey import "$ex/survey-2020-gb18030.csv" --year 2020 --dry-run
contains "$OUT" "csv, gb18030" "the GB18030 file is detected"
run "$STPM" survey import "$ex/survey-2020-gb18030.csv" --year 2020 --encoding gb18030 --dry-run
expect_rc 0 "--encoding gb18030 reads the GB18030 file"
run "$STPM" survey import "$ex/survey-2020.yaml" --year 2020 --dry-run
contains "$OUT" "yaml, utf-8" "the YAML file is read as YAML"
contains "$OUT" "如皋高新区" "the summary counts by town"

run "$STPM" --format json survey import "$ex/survey-2020.csv" --year 2020 --dry-run
expect_rc 0 "--format json exits 0"
run python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["rows"], d["organisations"], sum(d["by_town"].values()))' /dev/stdin <<<"$OUT"
is "$OUT" "51 29 51" "the JSON summary is one valid document with the counts"

# forcing UTF-8 on the GB18030 file names the row and line of the first bad byte
run "$STPM" survey import "$ex/survey-2020-gb18030.csv" --encoding utf-8 --dry-run
expect_rc 5 "GB18030 bytes read as UTF-8 exit 5"
contains "$ERR" "survey-2020-gb18030.csv:1:A: invalid UTF-8 byte sequence (byte 0xC6 at offset 0) on line 1" "the bad bytes are located at row 1"

# a broken file: every error, exactly, in order
printf '%s\r\n' \
    '企业名称,统一社会信用代码,所属板块,项目名称,项目负责人,申请资助(万元),是否高新技术企业,技术成熟度,联系电话' \
    '南通力威机械有限公司,91320682MA1KK5MQ2F,如皋经济技术开发区,全海深地质绞车系统研制,张建华,800,是,7,0513-1' \
    '江苏力星通用钢球股份有限公司,91320682MA1KK5MQ2G,城南街道,高端轴承钢球,,-3,也许,12,' \
    '南通力威机械有限公司,91320682MA1KK5MQ2F,如皋经济技术开发区,"全海深地质绞车系统研制 ",李敏,"1,200",否,5,' \
    > bad.csv
run "$STPM" survey import bad.csv --year 2020 --dry-run
expect_rc 5 "a file with bad rows exits 5"
is "$ERR" "bad.csv:1:联系电话: warning: unknown column (I) ignored
bad.csv:3:统一社会信用代码: invalid unified social credit code \"91320682MA1KK5MQ2G\": check character (18) is 'G', expected 'F'
bad.csv:3:项目负责人: required value is empty
bad.csv:3:申请资助(万元): negative amount \"-3\": amounts cannot be below zero
bad.csv:3:是否高新技术企业: invalid yes/no value \"也许\": expected 是 or 否 (yes or no)
bad.csv:3:技术成熟度: technology maturity \"12\" is not a whole number from 1 to 9
bad.csv:4:项目名称: duplicate of row 2: the same unified social credit code and project title
stpm: error: 6 errors in bad.csv
HINT: Correct the file and run the import again; nothing was imported." "every error is listed as FILE:ROW:COLUMN"
is "$OUT" "" "nothing is printed on stdout for a bad file"

printf '企业名称,所属板块\r\n甲,如城街道\r\n' >missing.csv
run "$STPM" survey import missing.csv --dry-run
expect_rc 5 "missing required columns exit 5"
contains "$ERR" "missing.csv:1:统一社会信用代码: missing required column 统一社会信用代码 (uscc)" "the missing column is named"

printf '企业名称,统一社会信用代码,所属板块,项目名称,项目负责人\r\n"never closed,1\r\n' >quote.csv
run "$STPM" survey import quote.csv --dry-run
expect_rc 5 "an unterminated quote exits 5"
contains "$ERR" "quote.csv:2:企业名称: unterminated quoted field (the quote opens on line 2)" "the unterminated quote is located"

run "$STPM" --db "host=$TMP/no-such-socket-dir" survey import "$ex/survey-2020.csv" --year 2020
expect_rc 8 "without --dry-run the import needs the database (exit 8 when it is unavailable)"
contains "$ERR" "database" "the reason is clear"
run "$STPM" survey import "$ex/survey-2020.csv" --encoding latin1 --dry-run
expect_rc 2 "an unknown encoding is a usage error"
run "$STPM" survey import "$ex/survey-2020.csv" --year 20 --dry-run
expect_rc 2 "an impossible year is a usage error"
run "$STPM" survey import --dry-run
expect_rc 2 "no file is a usage error"
run "$STPM" survey import no-such-file.csv --dry-run
expect_rc 6 "a missing file exits 6"
contains "$ERR" "cannot open survey file \"no-such-file.csv\"" "the missing file is named"
run "$STPM" survey import --help
expect_rc 0 "survey import --help exits 0"
contains "$OUT" "--encoding ENC" "the help lists --encoding"

done_testing
