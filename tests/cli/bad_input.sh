#!/usr/bin/env bash
# Bad input of issue 10 (DESIGN §7, §10), checked in the client: text that is not UTF-8 in
# an argument or a file, amounts beyond numeric(18,4), FIFOs, directories and devices as
# files, YAML nested too deep, control characters from data on a terminal, an empty
# --where, NAME=VALUE without '=', and loading a workflow without stpm_admin. Each gets its
# exit status and a message naming the argument, FILE:LINE or FILE:ROW:COLUMN, never a
# hang, and the database is unchanged (compared before and after).
. "$(dirname "$0")/lib.sh"
need_db
need_source
keep_going
cd "$TMP" || exit 1
DB=$(fresh_db bad_input)
trap 'drop_db "$DB"; rm -rf "$TMP"' EXIT
export STPM_DB="$DB"
sql() { psql "$DB" -qAtX -c "$1"; }
run "$STPM" demo
expect_rc 0 "the tour's data is prepared"
CODE=2021-PKRD-0001
ORG=91320682053181941N

# What the database holds: events, projects, documents, organisations, calendar days,
# workflows, survey imports.
state() {
    sql "SELECT (SELECT count(*) FROM stpm.events) || ' ' || (SELECT count(*) FROM stpm.projects)
        || ' ' || (SELECT count(*) FROM stpm.documents) || ' ' || (SELECT count(*) FROM stpm.orgs)
        || ' ' || (SELECT count(*) FROM stpm.calendar_days) || ' ' || (SELECT count(*) FROM stpm.workflows)
        || ' ' || (SELECT count(*) FROM stpm.survey_imports)
        || ' ' || (SELECT string_agg(code || state || row_version, ',' ORDER BY code) FROM stpm.projects)"
}
BEFORE=$(state)
[ -n "$BEFORE" ] && pass "the state can be read" || fail "the state can be read" "$BEFORE"

# check RC NEEDLE NAME CMD...: the exit status, the message on stderr, no crash, no hang
# (every command runs under a 20 s timeout: a hang exits 124).
check() {
    local rc=$1 needle=$2 name=$3
    shift 3
    run timeout 20 "$@"
    expect_rc "$rc" "$name: exit $rc"
    contains "$ERR" "$needle" "$name: the message names it"
}

# ---- text arguments that are not UTF-8: exit 5, naming the argument ----
B=$'\xff'
check 5 '--title is not valid UTF-8' "a title" \
    "$STPM" project create --plan RGSP --org $ORG --title "标题$B" --leader 张三
contains "$ERR" '\xff' "the bad byte is shown escaped"
check 5 '--leader is not valid UTF-8' "a leader" \
    "$STPM" project create --plan RGSP --org $ORG --title 标题 --leader "张$B"
check 5 '--reason is not valid UTF-8' "a reason" "$STPM" project advance $CODE withdraw --reason "r$B"
check 5 '--set town is not valid UTF-8' "a --set value names its field" \
    "$STPM" project advance $CODE withdraw --set "town=如$B"
check 5 '--where state is not valid UTF-8' "a --where names its key" "$STPM" project advance --where "state=$B" withdraw
check 5 '--name is not valid UTF-8' "an organisation's name" \
    "$STPM" org add --uscc 91320682MA1N0Q3BXD --name "公司$B" --town 如城
check 5 '--note is not valid UTF-8' "a calendar note" "$STPM" calendar set 2030-10-08 --holiday --note "n$B"
check 5 'argument FILE is not valid UTF-8' "a file name" "$STPM" project attach $CODE task_book "f$B.pdf"
check 5 'argument CODE is not valid UTF-8' "a code" "$STPM" project show "C$B"
check 5 '--db is not valid UTF-8' "a global option" "$STPM" --db "dbname=$B" project list

# ---- file contents that are not UTF-8: FILE:LINE:COL ----
printf 'workflow: x\ntitle: "ab\xffc"\n' >bad8.yaml
check 5 'bad8.yaml:2:11: invalid UTF-8' "a workflow file" "$STPM" workflow check bad8.yaml
check 5 'bad8.yaml:2:11: invalid UTF-8' "a workflow file to load" "$STPM" workflow load bad8.yaml
printf '2030:\n  holidays:\n    - {date: 2030-10-08, note: "\xfe"}\n' >cal8.yaml
check 5 'cal8.yaml:3:33: invalid UTF-8' "a calendar file" "$STPM" calendar load cal8.yaml
printf 'scoring: reserve\nversion: 1\ntitle: "\xff"\n' >score8.yaml
check 5 'score8.yaml:3:9: invalid UTF-8' "a scoring file" "$STPM" reserve rank --year 2020 --weights score8.yaml
printf '企业名称,统一社会信用代码,所属板块,项目名称,项目负责人\r\n甲,91320682MA1KK5MQ2F,城南街道,项目\xff,张三\r\n' >sv8.csv
check 5 'sv8.csv:2:' "a survey file (UTF-8 forced)" "$STPM" survey import sv8.csv --year 2020 --encoding utf-8 --dry-run

# ---- amounts beyond numeric(18,4): the parser refuses them with the field ----
check 5 'field "amount_requested": the amount is too large' "--set of 10^14" \
    "$STPM" project create --plan RGSP --org $ORG --title 大额 --leader 张三 --set amount_requested=100000000000000
contains "$ERR" "at most 14 digits" "the limit is stated"
check 5 'field "amount_requested": the amount is too large' "--set of 10^20" \
    "$STPM" project create --plan RGSP --org $ORG --title 大额 --leader 张三 --set amount_requested=100000000000000000000.5
run "$STPM" project create --plan RGSP --org $ORG --title 最大额 --leader 张三 --set amount_requested=99999999999999.9999 --dry-run
case "$ERR" in *"too large"*) fail "99999999999999.9999 is not too large" "$ERR" ;; *) pass "99999999999999.9999 is not too large" ;; esac
printf '%s\r\n' '企业名称,统一社会信用代码,所属板块,项目名称,项目负责人,申请资助(万元)' \
    '南通力威机械有限公司,91320682MA1KK5MQ2F,如皋经济技术开发区,全海深地质绞车系统研制,张建华,100000000000000' >big.csv
check 5 'big.csv:2:申请资助(万元): amount "100000000000000" is too large' "a survey amount at --dry-run" \
    "$STPM" survey import big.csv --year 2020 --dry-run
check 5 'big.csv:2:申请资助(万元): amount "100000000000000" is too large' "and at the import" \
    "$STPM" survey import big.csv --year 2020

# ---- non-regular files: refused before reading, a FIFO without a writer never waits ----
mkfifo fifo
mkdir adir
check 5 'not a regular file (a named pipe)' "a FIFO as a workflow" "$STPM" workflow check fifo
check 5 'not a regular file (a named pipe)' "a FIFO to load" "$STPM" workflow load fifo
check 5 'not a regular file (a named pipe)' "a FIFO as a survey" "$STPM" survey import fifo --year 2020 --dry-run
check 5 'not a regular file (a named pipe)' "a FIFO as a calendar" "$STPM" calendar load fifo
check 5 'not a regular file (a named pipe)' "a FIFO as a document" "$STPM" project attach $CODE task_book fifo
check 5 'not a regular file (a named pipe)' "a FIFO as --attach" \
    "$STPM" project advance $CODE withdraw --reason x --attach task_book=fifo
check 5 'not a regular file (a named pipe)' "a FIFO as a checkpoint" "$STPM" audit verify --checkpoint fifo
check 5 'not a regular file (a named pipe)' "a FIFO as a key" "$STPM" audit checkpoint --key fifo --out cp.txt
check 5 'not a regular file (a named pipe)' "a FIFO as a public key" \
    "$STPM" audit verify --checkpoint fifo --pubkey fifo
check 5 'not a regular file (a named pipe)' "a FIFO as scoring weights" "$STPM" reserve rank --year 2020 --weights fifo
check 5 'it is a directory' "a directory as a document" "$STPM" project attach $CODE task_book adir
check 5 'not a regular file (a character device)' "a device as a calendar" "$STPM" calendar load /dev/zero
check 5 'not a regular file (a character device)' "a device as a survey" "$STPM" survey import /dev/zero --year 2020 --dry-run

# ---- YAML nested 100,000 deep: refused at once ----
python3 -c "print('[' * 100000 + ']' * 100000)" >deep.yaml
python3 -c "print('- a: ' + '[' * 100000 + ']' * 100000)" >deep-survey.yaml
for c in "workflow check deep.yaml" "calendar load deep.yaml" "reserve rank --year 2020 --weights deep.yaml" \
    "survey import deep-survey.yaml --year 2020 --dry-run"; do
    start=$(date +%s%N)
    # shellcheck disable=SC2086
    check 5 'nesting deeper than 64 levels' "100,000-deep YAML: $c" "$STPM" $c
    ms=$((($(date +%s%N) - start) / 1000000))
    if [ "$ms" -lt 3000 ]; then pass "$c answers at once (${ms} ms)"; else fail "$c answers at once" "${ms} ms"; fi
done
contains "$ERR" "deep-survey.yaml:1:" "the survey's message names FILE:LINE"

# ---- NAME=VALUE and --where: usage errors (exit 2) naming the option ----
check 2 'invalid --set "town": expected FIELD=VALUE' "--set without =" "$STPM" project advance $CODE withdraw --set town
check 2 'invalid --attach "application_form": expected KIND=FILE' "--attach without =" \
    "$STPM" project advance $CODE withdraw --attach application_form
check 2 '--where needs at least one condition' "an empty --where" "$STPM" project advance --where "" withdraw
check 2 '--where needs at least one condition' "an all-blank --where" "$STPM" project advance --where "  " withdraw --dry-run

is "$(state)" "$BEFORE" "nothing was written by any of the refused commands above"

# ---- loading a workflow needs stpm_admin, also when the file is unchanged ----
OFFICER="bad_input_off_$$"
run "$STPM" user add "$OFFICER" --role officer
expect_rc 0 "an officer is added"
BEFORE=$(state) # the user's event
check 7 'permission denied' "an officer loading an unchanged workflow" \
    "$STPM" --db "$DB user=$OFFICER" workflow load "$SRC/workflows/county_rugao.yaml"
check 7 'permission denied' "an officer loading a new workflow" \
    "$STPM" --db "$DB user=$OFFICER" workflow load "$SRC/tests/data/workflows/migrate_v1.yaml"

is "$(state)" "$BEFORE" "nothing was written by the officer's loads"

# ---- the scoring file beside the workflows is skipped with a note ----
run "$STPM" workflow check "$SRC"/workflows/*.yaml
expect_rc 0 "workflow check workflows/*.yaml exits 0"
contains "$ERR" "scoring.yaml is a scoring file (docs/scoring.md), not a workflow: skipped" "the scoring file is skipped with a note"
run "$STPM" workflow load "$SRC"/workflows/*.yaml
expect_rc 0 "workflow load workflows/*.yaml exits 0"

# ---- control characters from data: escaped in tables and show, raw only where escaped ----
run "$STPM" --today 2021-03-01 project create --plan RGSP --org $ORG --title $'坏\e[2K\r标题\n第二行\t尾' --leader 张三
expect_rc 0 "a title with control characters is stored as given"
NEW=$OUT
run "$STPM" project list --org $ORG
expect_rc 0 "project list"
case "$OUT" in *$'\e'* | *$'\r'*) fail "project list writes no raw ESC or CR" "$OUT" ;; *) pass "project list writes no raw ESC or CR" ;; esac
contains "$OUT" '坏\x1b[2K\r标题\n第二行\t尾' "project list shows them escaped"
lines=$(grep -c "$NEW" <<<"$OUT")
is "$lines" "1" "the project stays on one line of the table"
run "$STPM" project show "$NEW"
contains "$OUT" '坏\x1b[2K\r标题\n第二行\t尾' "project show shows them escaped"
case "$OUT" in *$'\e'*) fail "project show writes no raw ESC" ;; *) pass "project show writes no raw ESC" ;; esac
run "$STPM" --format csv project list --org $ORG
expect_rc 0 "project list as CSV"
contains "$OUT" $'坏\e[2K\r标题\n第二行\t尾' "CSV carries the title exactly, for a spreadsheet or a pipe"
run "$STPM" --format json project list --org $ORG
run python3 -c 'import json,sys; d=json.load(sys.stdin); print([p["title"] for p in d if p["code"]==sys.argv[1]][0] == "坏\x1b[2K\r标题\n第二行\t尾")' "$NEW" <<<"$OUT"
is "$OUT" "True" "JSON carries the title exactly (escaped by JSON)"
run "$STPM" project show $'X\e[2K'
expect_rc 6 "an unknown code with ESC"
case "$ERR" in *$'\e'*) fail "the message echoes it escaped" "$ERR" ;; *) contains "$ERR" 'X\x1b[2K' "the message echoes it escaped" ;; esac

# ---- the names of JSON and CSV listings (issue 9, item 6) ----
run "$STPM" --format csv project show $CODE
contains "$(head -1 <<<"$OUT")" "amount_requested,amount_approved" "project show in CSV names both amounts"
run "$STPM" --format json project history $CODE
run python3 -c 'import json,sys; d=json.load(sys.stdin); print(all(isinstance(e["data"], dict) for e in d), len(d) > 0)' <<<"$OUT"
is "$OUT" "True True" "project history's data is a JSON object"
done_testing
