#!/usr/bin/env bash
# stpm calendar: the shipped working-day calendar and the administrator's additions (调休),
# which count where working days do (stpm tick's timers); permissions, events, bad files.
. "$(dirname "$0")/lib.sh"
need_db
set -e
SRC=$STPM_SOURCE_ROOT
WF=$SRC/tests/data/lifecycle_test.yaml
export STPM_TODAY=2021-03-01

need_logins cal_officer:officer cal_admin:admin
set +e

DB=$(fresh_db calendar)
trap 'drop_db "$DB"; rm -rf "$TMP"' EXIT
sql() { psql "$DB" -qAtX -c "$1"; }
ADM="$DB user=cal_admin"
OFF="$DB user=cal_officer"
"$STPM" --db "$DB" workflow load "$WF" >/dev/null || echo "# workflow load failed" >&2
ORG=91320682MA1MXXXX9P
psql "$DB" -qAtX -v ON_ERROR_STOP=1 \
    -c "INSERT INTO stpm.plans (code, name, level, workflow_name) VALUES ('TEST', '测试计划', 'county', 'lifecycle_test')" \
    -c "INSERT INTO stpm.orgs (uscc, name, town) VALUES ('$ORG', '如皋某某科技有限公司', '如城街道')" >/dev/null

# ---- list ----
run "$STPM" --db "$OFF" calendar list --year 2021
expect_rc 0 "calendar list --year"
contains "$OUT" "2021-02-11  Thu      holiday  shipped" "lists a shipped holiday with its weekday"
contains "$OUT" "2021-02-07  Sun      workday  shipped" "and a shipped make-up day"
case "$OUT" in *2020-*|*2022-*) fail "only the year asked for" "$OUT" ;; *) pass "only the year asked for" ;; esac
run "$STPM" --db "$OFF" calendar list --year 20x1
expect_rc 2 "a bad --year is a usage error"
contains "$ERR" 'invalid --year "20x1"' "naming the value"

# ---- set: administrators only ----
run "$STPM" --db "$OFF" calendar set 2021-03-04 --holiday
expect_rc 7 "an officer may not set a day (exit 7)"
contains "$ERR" "permission denied" "the message says so"
is "$(sql "SELECT count(*) FROM stpm.calendar_days")" "0" "nothing was stored"
run "$STPM" --db "$OFF" calendar unset 2021-03-04
expect_rc 7 "nor unset one"
run "$STPM" --db "$ADM" calendar set 2021-03-04
expect_rc 2 "set needs --workday or --holiday"
run "$STPM" --db "$ADM" calendar set 2021-03-04 --holiday --workday
expect_rc 2 "but not both"
run "$STPM" --db "$ADM" calendar set 2021-02-30 --holiday
expect_rc 2 "an impossible date is a usage error"
contains "$ERR" 'invalid date "2021-02-30"' "naming the date"
run "$STPM" --db "$ADM" calendar set --holiday
expect_rc 2 "a missing DATE is a usage error"
run "$STPM" --db "$ADM" calendar frobnicate
expect_rc 2 "an unknown subcommand is a usage error"

# ---- the timer moves by the added holiday ----
"$STPM" --db "$OFF" project create --plan TEST --org $ORG --title 定时 --leader 张三 --set amount_requested=10 >/dev/null
P=2021-TEST-0001
echo x >"$TMP/form.pdf"
"$STPM" --db "$OFF" project advance $P apply --attach application_form="$TMP/form.pdf" >/dev/null
"$STPM" --db "$OFF" project advance $P admit --attach integrity_commitment="$TMP/form.pdf" >/dev/null
"$STPM" --db "$OFF" project advance $P publicize >/dev/null
is "$(sql "SELECT state FROM stpm.projects WHERE code = '$P'")" "publicized" "the project waits in publicity (5wd timer)"
# Without additions 5 working days after Monday 2021-03-01 is Monday 2021-03-08.
run "$STPM" --db "$OFF" --today 2021-03-08 tick --dry-run
contains "$OUT" "$P" "with the shipped calendar the timer is due on 03-08"
run "$STPM" --db "$ADM" calendar set 2021-03-04 --holiday --note 县庆
expect_rc 0 "an administrator sets a holiday"
is "$(sql "SELECT workday || ' ' || note FROM stpm.calendar_days WHERE day = '2021-03-04'")" "false 县庆" "it is stored with its note"
ev=$(sql "SELECT actor || ' ' || (data->>'action') || ' ' || (data->>'day') FROM stpm.events WHERE chain = 'system' AND data->>'action' LIKE 'calendar%'")
is "$ev" "cal_admin calendar_set 2021-03-04" "an event on chain system names the administrator"
run "$STPM" --db "$OFF" calendar list --year 2021
contains "$OUT" "2021-03-04  Thu      holiday  added" "list shows the added day"
contains "$OUT" "县庆" "with its note"
run "$STPM" --db "$OFF" --today 2021-03-08 tick
expect_rc 0 "tick on 03-08"
contains "$OUT" "0 timers due" "the added holiday moves the timer: not due on 03-08"
is "$(sql "SELECT state FROM stpm.projects WHERE code = '$P'")" "publicized" "the project still waits"
run "$STPM" --db "$OFF" --today 2021-03-09 tick
contains "$OUT" "1 fired" "it fires one working day later, on 03-09"
is "$(sql "SELECT state FROM stpm.projects WHERE code = '$P'")" "approved" "and the project is approved"

# ---- an added day over a shipped one; unset ----
run "$STPM" --db "$ADM" calendar set 2021-10-01 --workday
expect_rc 0 "a shipped holiday can be made a working day"
run "$STPM" --db "$OFF" --format json calendar list --year 2021
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print([d["source"] + " " + d["kind"] for d in json.load(sys.stdin) if d["date"] == "2021-10-01"])')" \
    "['added (over shipped) workday']" "the added day stands in for the shipped entry (JSON)"
run "$STPM" --db "$ADM" calendar unset 2021-10-01
expect_rc 0 "unset removes the added day"
run "$STPM" --db "$OFF" calendar list --year 2021
contains "$OUT" "2021-10-01  Fri      holiday  shipped" "and the shipped entry applies again"
run "$STPM" --db "$ADM" calendar unset 2021-10-01
expect_rc 6 "unsetting a day that was not added: not found (exit 6)"
is "$(sql "SELECT count(*) FROM stpm.events WHERE data->>'action' = 'calendar_unset'")" "1" "one unset event"

# ---- load ----
cat >"$TMP/local.yaml" <<'YAML'
# local additions
2021:
  holidays: [2021-11-11..2021-11-12]
  workdays: [2021-11-13]
2028:
  holidays: [2028-01-01]
YAML
run "$STPM" --db "$OFF" calendar load "$TMP/local.yaml"
expect_rc 7 "an officer may not load a calendar file"
run "$STPM" --db "$ADM" calendar load "$TMP/local.yaml"
expect_rc 0 "an administrator loads a file"
contains "$OUT" "stored 4 days" "counting the days"
is "$(sql "SELECT string_agg(day || ':' || workday, ' ' ORDER BY day) FROM stpm.calendar_days WHERE note = 'loaded from local.yaml'")" \
    "2021-11-11:false 2021-11-12:false 2021-11-13:true 2028-01-01:false" "every day is stored with its note"
is "$(sql "SELECT data->>'holidays' || '/' || (data->>'workdays') FROM stpm.events WHERE data->>'action' = 'calendar_load'")" "3/1" "one load event with the counts"
n_before=$(sql "SELECT count(*) FROM stpm.calendar_days")
cat >"$TMP/bad.yaml" <<'YAML'
2022:
  holidays:
    - 2022-03-01
    - 2022-02-30
  workday: [2022-03-05]
YAML
run "$STPM" --db "$ADM" calendar load "$TMP/bad.yaml"
expect_rc 5 "a bad file exits 5"
contains "$ERR" "$TMP/bad.yaml:4:7:" "the error names FILE:LINE:COL of the bad date"
contains "$ERR" "2022-02-30" "and the value"
contains "$ERR" "$TMP/bad.yaml:5:3:" "and the unknown key"
is "$(sql "SELECT count(*) FROM stpm.calendar_days")" "$n_before" "nothing of a bad file is stored"
run "$STPM" --db "$ADM" calendar load "$TMP/nonexistent.yaml"
expect_rc 6 "a missing file exits 6"
contains "$ERR" "nonexistent.yaml" "naming the file"
run "$STPM" --db "$ADM" calendar load "$TMP"
expect_rc 5 "a directory is refused (exit 5)"
contains "$ERR" "it is a directory" "saying so"
: >"$TMP/empty.yaml"
run "$STPM" --db "$ADM" calendar load "$TMP/empty.yaml"
expect_rc 0 "an empty file is an empty calendar"
contains "$OUT" "stored 0 days" "and stores nothing"
head -c 300 /dev/urandom >"$TMP/binary.yaml"
printf '\0\1\2' >>"$TMP/binary.yaml"
run "$STPM" --db "$ADM" calendar load "$TMP/binary.yaml"
expect_rc 5 "a binary file exits 5"
contains "$ERR" "binary.yaml:" "with a located message"
is "$(sql "SELECT count(*) FROM stpm.calendar_days")" "$n_before" "nothing stored by the refused files"
done_testing
