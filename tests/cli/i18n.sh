#!/usr/bin/env bash
# The Chinese interface (gettext, po/zh_CN.po): under zh_CN.UTF-8 the message of every exit
# status's path (DESIGN §7: 1 error .. 8 database unavailable) is Chinese, the server's
# common refusals too (a transition refused with its reasons, a business date before the
# last event, a lock wait); the exit statuses stay the same; help and table headers are
# Chinese (a workbook's too); JSON keys and CSV headers stay English (CSV in Chinese with
# --headers zh); under LANG=C, or with no locale at all, everything stays English.
. "$(dirname "$0")/lib.sh"
need_db
keep_going
need_source
command -v psql >/dev/null || { fail "psql is on PATH" "psql not found"; done_testing; exit 1; }
cd "$TMP" || exit 1

# The zh_CN.UTF-8 locale: the system's (scripts/setup generates it), else one compiled
# into the build tree with localedef and found through LOCPATH.
ZH=(env -u LANGUAGE LC_ALL=zh_CN.UTF-8)
if ! locale -a 2>/dev/null | grep -qix 'zh_CN\.utf-\?8'; then
    loc="${STPM_BUILD_ROOT:-$TMP}/locale"
    if [ ! -f "$loc/zh_CN.UTF-8/LC_CTYPE" ]; then
        mkdir -p "$loc"
        localedef -i zh_CN -f UTF-8 "$loc/zh_CN.UTF-8" >/dev/null 2>&1 || rm -rf "$loc/zh_CN.UTF-8"
    fi
    if [ ! -f "$loc/zh_CN.UTF-8/LC_CTYPE" ]; then
        echo "1..0 # SKIP the zh_CN.UTF-8 locale is missing and localedef cannot make it (scripts/setup)"
        exit 0
    fi
    ZH=(env -u LANGUAGE LOCPATH="$loc" LC_ALL=zh_CN.UTF-8)
fi
EN=(env -u LANGUAGE -u LC_ALL LANG=C)
zh() { run "${ZH[@]}" "$STPM" "$@"; }
en() { run "${EN[@]}" "$STPM" "$@"; }

# says RC NEEDLE NAME: the last run exited with RC and said NEEDLE on standard error.
says() {
    expect_rc "$1" "$3: exit $1"
    contains "$ERR" "$2" "$3: in Chinese"
}

DB=$(fresh_db i18n)
# Everything runs as the cluster's superuser: a login role of the test's own would show in
# the cluster-wide "user list" of the tests that run meanwhile (demo.sh compares two tours).
ORG=91320682MA1MXXXX9P
holder_pid=
cleanup() {
    if [ -n "$holder_pid" ]; then kill "$holder_pid" 2>/dev/null; fi
    drop_db "$DB"
    rm -rf "$TMP"
}
trap cleanup EXIT
q() { psql "$DB" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

run "$STPM" --db "$DB" workflow load "$SRC/workflows/municipal_nantong.yaml"
expect_rc 0 "setup: the workflow loads"
run "$STPM" --db "$DB" plan add NTKJ --name 南通市科技计划 --level municipal --workflow municipal_nantong --funded
expect_rc 0 "setup: a plan"
run "$STPM" --db "$DB" org add --uscc $ORG --name 如皋译文科技有限公司 --town 如城街道
expect_rc 0 "setup: an organisation"
run "$STPM" --db "$DB" --today 2021-01-04 project create --plan NTKJ --org $ORG --title 高效电机控制系统研发 --leader 张三 --set amount_requested=50
expect_rc 0 "setup: a project"
CODE=$OUT
if [ "$_failed" -ne 0 ]; then done_testing; exit 1; fi

# ---- every exit status's path, in Chinese ----
# 1 error: a backup into a directory that does not exist
zh --db "$DB" db backup "$TMP/nodir/x.dump"
says 1 "stpm: 错误：无法把数据库备份到 $TMP/nodir/x.dump" "an error (exit 1)"
# 2 usage
zh --format xml plan list
says 2 "stpm: 用法：未知的格式“xml”：应为 table、json、csv 或 xlsx" "a usage error (exit 2)"
zh plan show
says 2 "应给出一个计划编号 CODE" "a missing operand (exit 2)"
# 3 refused by a rule: the server's refusal and every reason
zh --db "$DB" --today 2021-01-05 project advance "$CODE" apply
says 3 "项目 $CODE 的转换 apply 被拒绝" "a transition refused by a rule (exit 3)"
contains "$ERR" "未附加" "a refusal: its reasons in Chinese"
zh --db "$DB" --today 2021-01-05 project why "$CODE"
expect_rc 0 "project why: exit 0"
contains "$OUT" "受阻" "project why: blocked, in Chinese"
# 4 conflict: a lock wait
run q "SELECT stpm.setting_set('lock_wait_seconds', '1')"
expect_rc 0 "setup: lock_wait_seconds 1"
psql "$DB application_name=i18n_hold" -qAtX -c "SELECT pg_advisory_lock(hashtext('stpm.year'), 2021)" \
    -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
holder_pid=$!
for _ in $(seq 100); do
    [ "$(q "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'i18n_hold'")" = 1 ] && break
    sleep 0.1
done
echo form >form.pdf
zh --db "$DB" --today 2021-01-05 project advance "$CODE" apply --attach application_form=form.pdf
says 4 "等待 计划年度 2021 上的锁 1 秒，锁由 角色 " "a lock wait (exit 4)"
contains "$ERR" "请在锁释放后重试" "a lock wait: the hint in Chinese"
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'i18n_hold'" >/dev/null
wait "$holder_pid" 2>/dev/null
holder_pid=
# 5 bad input data: a bad credit code; a business date before the last event
zh --db "$DB" org add --uscc 123 --name x --town y
says 5 "无效的统一社会信用代码“123”" "bad input data (exit 5)"
zh --db "$DB" --today 2020-12-01 project advance "$CODE" apply --attach application_form=form.pdf
says 5 "业务日期 2020-12-01 早于项目 $CODE 最后一个事件的日期 2021-01-04" "a date before the last event (exit 5)"
contains "$ERR" "详细信息：项目的历史只能向前推进" "a date before the last event: the detail in Chinese"
contains "$ERR" "提示：请使用 --today 2021-01-04 或更晚的日期。" "a date before the last event: the hint in Chinese"
# 6 not found
zh --db "$DB" project show 2021-X-0001
says 6 "stpm: 错误：项目 2021-X-0001 不存在" "not found (exit 6)"
contains "$ERR" "提示：“stpm project list”会列出项目。" "not found: the hint in Chinese"
# 7 permission denied: a role that does not exist
zh --db "$DB user=i18n_nobody" plan list
says 7 "权限不足，无法以角色 i18n_nobody 连接数据库" "permission denied (exit 7)"
# 8 database unavailable
zh --db "host=$TMP/nosocket dbname=x" plan list
says 8 "套接字上没有正在运行的数据库服务器" "database unavailable (exit 8)"

# ---- the same paths in English under LANG=C ----
en --format xml plan list
expect_rc 2 "LANG=C: a usage error: exit 2"
contains "$ERR" 'stpm: usage: unknown format "xml": expected table, json, csv or xlsx' "LANG=C: a usage error in English"
en --db "$DB" project show 2021-X-0001
expect_rc 6 "LANG=C: not found: exit 6"
contains "$ERR" "stpm: error: project 2021-X-0001 does not exist" "LANG=C: not found in English"
en --db "$DB" --today 2021-01-05 project advance "$CODE" apply
expect_rc 3 "LANG=C: refused: exit 3"
contains "$ERR" "transition apply of project $CODE is refused" "LANG=C: the refusal in English"
run env -u LANGUAGE -u LC_ALL -u LANG -u LC_MESSAGES "$STPM" --db "$DB" project show 2021-X-0001
contains "$ERR" "project 2021-X-0001 does not exist" "no locale at all: English"

# ---- help, headers, JSON and CSV ----
zh --help
expect_rc 0 "stpm --help under zh_CN: exit 0"
contains "$OUT" "退出状态：0 成功，1 错误，2 用法错误，3 被规则拒绝" "stpm --help in Chinese"
zh project advance --help
contains "$OUT" "执行一次流程转换" "a command's --help in Chinese"
zh --db "$DB" plan list
contains "$OUT" "编号" "a table's headers in Chinese"
contains "$OUT" "（1 行）" "a table's footer in Chinese"
zh --db "$DB" --format json plan list
contains "$OUT" '"code": "NTKJ", "name": "南通市科技计划", "level": "municipal"' "JSON keys stay English under zh_CN"
zh --db "$DB" --format csv plan list
is "$(head -n 1 <<<"$OUT" | tr -d '\r')" "code,name,level,funded,workflow,version,projects" "CSV headers stay English under zh_CN"
en --db "$DB" --format csv --headers zh plan list
is "$(head -n 1 <<<"$OUT" | tr -d '\r')" "编号,名称,级别,资金类,流程,版本,项目数" "--headers zh: CSV headers in Chinese, whatever the locale"
if command -v unzip >/dev/null; then
    zh --db "$DB" --format xlsx --output plans.xlsx plan list
    contains "$(unzip -p plans.xlsx xl/sharedStrings.xml)" "<t>编号</t>" "an xlsx sheet's headers in Chinese under zh_CN"
fi
en --headers fr plan list
expect_rc 2 "--headers fr: exit 2"

done_testing
