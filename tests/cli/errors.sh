#!/usr/bin/env bash
# Bad input of every kind (DESIGN §7, §10): wrong option values, missing operands, unknown
# commands and codes, bad dates, files that do not exist, directories, empty and binary
# files. Each gets a clear lower-case message naming the thing, the right exit code, no
# crash, and nothing written.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
: >empty.yaml
: >empty.csv
printf '\x00\xff\xfe\x01binary\x00\x80\x81' >binary.dat
mkdir adir

# check RC NEEDLE NAME CMD...: run, expect the exit status and a message on stderr; no
# crash (a signal is an exit status above 128), no sanitizer report.
check() {
    local rc=$1 needle=$2 name=$3
    shift 3
    run "$@"
    expect_rc "$rc" "$name: exit $rc"
    contains "$ERR" "$needle" "$name: the message names it"
    case "$ERR" in
    *AddressSanitizer* | *"runtime error"* | *"Segmentation"*) fail "$name: no crash" "$ERR" ;;
    *) pass "$name: no crash" ;;
    esac
}

# ---- the command line itself (no database needed) ----
check 2 'unknown format "xml"' "--format xml" "$STPM" --format xml workflow check empty.yaml
check 2 'invalid --today "2021-02-30"' "an impossible --today" "$STPM" --today 2021-02-30 workflow check empty.yaml
check 2 'unknown command "frobnicate"' "an unknown command" "$STPM" frobnicate
check 2 'unknown subcommand "workflow nope"' "an unknown subcommand" "$STPM" workflow nope
check 2 'needs at least one FILE' "workflow check without a file" "$STPM" workflow check
check 2 'Try "stpm workflow check --help"' "an unknown option names the whole command" "$STPM" workflow check --nope empty.yaml
check 2 'Try "stpm calendar list --help"' "and for a short one too" "$STPM" calendar list -q
check 2 'unknown graph format "png"' "a bad --as" "$STPM" workflow graph empty.yaml --as png
check 2 'option --format needs a value' "a global option without its value" "$STPM" workflow check empty.yaml --format

# ---- files ----
check 6 '"nofile.yaml"' "a workflow file that does not exist" "$STPM" workflow check nofile.yaml
check 5 'it is a directory' "a directory as a workflow file" "$STPM" workflow check adir
check 5 'empty.yaml:1:1: the file is empty' "an empty workflow file" "$STPM" workflow check empty.yaml
check 5 'binary.dat:1:1:' "a binary workflow file" "$STPM" workflow check binary.dat
check 6 'nofile.csv' "a survey file that does not exist" "$STPM" survey import nofile.csv --dry-run --year 2020
check 5 'it is a directory' "a directory as a survey file" "$STPM" survey import adir --dry-run --year 2020
check 5 'binary.dat:1:' "a binary survey file" "$STPM" survey import binary.dat --dry-run --year 2020
check 2 'invalid --year "20x0"' "a bad --year" "$STPM" survey import empty.csv --dry-run --year 20x0
check 5 'empty.csv:1: the file is empty: expected a header row' "an empty survey file" "$STPM" survey import empty.csv --dry-run --year 2020
check 5 'empty.yaml:1: the file is empty' "an empty YAML survey file" "$STPM" survey import empty.yaml --dry-run --year 2020
check 2 'unknown encoding "latin1"' "a bad --encoding" "$STPM" survey import empty.csv --dry-run --encoding latin1

# ---- with a database ----
if [ -z "${STPM_TEST_DB:-}" ]; then
    skip "database cases" "no test cluster"
    done_testing
    exit $?
fi
DB=$(fresh_db errors)
trap 'drop_db "$DB"; rm -rf "$TMP"' EXIT
sql() { psql "$DB" -qAtX -c "$1"; }
"$STPM" --db "$DB" calendar list >/dev/null # migrates
before=$(sql "SELECT (SELECT count(*) FROM stpm.events) || '/' || (SELECT count(*) FROM stpm.survey_imports) || '/' || (SELECT count(*) FROM stpm.calendar_days)")

check 6 'plan NOPE does not exist' "an unknown plan code" "$STPM" --db "$DB" plan show NOPE
check 6 'organisation 123 does not exist' "an unknown organisation" "$STPM" --db "$DB" org show 123
check 6 'project 2021-X-0001 does not exist' "an unknown project" "$STPM" --db "$DB" project show 2021-X-0001
check 6 'workflow nosuch is not stored' "an unknown workflow" "$STPM" --db "$DB" workflow show nosuch
check 5 'invalid unified social credit code "123"' "a bad USCC" "$STPM" --db "$DB" org add --uscc 123 --name x --town y
check 2 'invalid date "2021-13-01"' "a bad date operand" "$STPM" --db "$DB" calendar set 2021-13-01 --holiday
check 2 'invalid --top "-1"' "a bad --top" "$STPM" --db "$DB" reserve rank --year 2020 --top -1
check 6 'nofile.yaml' "a weights file that does not exist" "$STPM" --db "$DB" reserve rank --year 2020 --weights nofile.yaml
check 5 'it is a directory' "a directory as the weights file" "$STPM" --db "$DB" reserve rank --year 2020 --weights adir
check 5 'binary.dat:1:1:' "a binary weights file" "$STPM" --db "$DB" reserve rank --year 2020 --weights binary.dat
check 5 'it is a directory' "a directory to import" "$STPM" --db "$DB" survey import adir --year 2020
check 5 'binary.dat:1:' "a binary file to import" "$STPM" --db "$DB" survey import binary.dat --year 2020
check 5 'it is a directory' "a directory as a calendar file" "$STPM" --db "$DB" calendar load adir
check 5 'binary.dat:' "a binary calendar file" "$STPM" --db "$DB" calendar load binary.dat
check 6 'nofile.yaml' "a calendar file that does not exist" "$STPM" --db "$DB" calendar load nofile.yaml
check 5 'it is a directory' "a directory as a workflow to load" "$STPM" --db "$DB" workflow load adir
check 5 'empty.yaml:1:1' "an empty workflow to load" "$STPM" --db "$DB" workflow load empty.yaml
after=$(sql "SELECT (SELECT count(*) FROM stpm.events) || '/' || (SELECT count(*) FROM stpm.survey_imports) || '/' || (SELECT count(*) FROM stpm.calendar_days)")
is "$after" "$before" "nothing was written by any of the refused commands"
done_testing
