#!/usr/bin/env bash
# The manual page docs/stpm.1 agrees with the program: every command of `stpm --help` has
# its section, every subcommand its entry, every option of every subcommand's --help (the
# option tables of cli/cmd_*.c) appears in its command's section, and the section names no
# option the command does not have. And it renders without a warning, as man(1) renders
# it (groff with preconv for the UTF-8 text). The same for the Chinese page docs/zh_CN/stpm.1
# (written by scripts/man_zh.py from the program's Chinese help), with its sections' names in
# Chinese.
. "$(dirname "$0")/lib.sh"

if ! command -v groff >/dev/null; then
    echo "1..0 # SKIP groff is not installed (scripts/setup installs groff-base)"
    exit 0
fi

# check_page PAGE NAME_LINE COMMANDS ENVIRONMENT FILES "EXIT STATUS" EXAMPLES "SEE ALSO"
# [SECTION...]: the page's checks, the sections named in the page's language.
check_page() {
local MAN=$1 name_line=$2 s_commands=$3 s_env=$4 s_files=$5 s_exit=$6 s_examples=$7 s_see=$8
shift 8
local sections=("$@")
# Warnings: -ww enables them all; -k runs preconv, as man does for a UTF-8 page.
run groff -k -man -Tutf8 -ww -z "$MAN"
expect_rc 0 "groff renders the page"
is "$ERR" "" "groff gives no warning"
if command -v man >/dev/null; then
    run env MANWIDTH=80 man --warnings=w -l "$MAN"
    expect_rc 0 "man -l renders the page"
    is "$ERR" "" "man -l gives no warning"
    contains "$OUT" "$name_line" "the NAME line"
else
    skip "man -l renders the page" "man is not installed"
fi
if command -v mandoc >/dev/null; then
    run mandoc -Tlint -Wwarning "$MAN"
    is "$OUT$ERR" "" "mandoc -Tlint finds nothing"
fi

# The rendered text, one line per paragraph as far as possible, no bold or underline.
TEXT=$(groff -k -man -Tutf8 -rLL=400n -P-cbou "$MAN" 2>/dev/null)
for sec in "${sections[@]}"; do
    if grep -qx "$sec" <<<"$TEXT"; then pass "section $sec"; else fail "section $sec"; fi
done
for v in STPM_DB STPM_HOME STPM_TODAY PGHOST XDG_DATA_HOME STPM_PG_BINDIR NO_COLOR; do
    contains "$(sed -n "/^$s_env\$/,/^$s_files\$/p" <<<"$TEXT")" "$v" "ENVIRONMENT names $v"
done
for code in 0 1 2 3 4 5 6 7 8; do
    if sed -n "/^$s_exit\$/,/^$s_examples\$/p" <<<"$TEXT" | grep -qE "^ +$code +[^ ]"; then
        pass "EXIT STATUS explains $code"
    else
        fail "EXIT STATUS explains $code"
    fi
done
for doc in "$STPM_SOURCE_ROOT"/docs/*.md; do
    contains "$(sed -n "/^$s_see\$/,\$p" <<<"$TEXT")" "docs/$(basename "$doc")" "SEE ALSO names docs/$(basename "$doc")"
done

# section CMD: the text of the command's section ("   CMD — ..." to the next one).
section() {
    awk -v c="$1" -v h="$s_commands" '
        /^   [a-z]+ — / { on = ($1 == c) }
        /^[^ ]/ && $0 != h { on = 0 }
        on' <<<"$TEXT"
}
global=" --db --home --format --today --help --version "
commands=$("$STPM" --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
[ -n "$commands" ] || fail "stpm --help lists the commands"
for cmd in $commands; do
    sec=$(section "$cmd")
    if [ -z "$sec" ]; then
        fail "the page has a section for command $cmd"
        continue
    fi
    pass "the page has a section for command $cmd"
    # subcommands: the summary's "a | b | c" and the "  name   text" lines of CMD --help
    summary=$("$STPM" --help | awk -v c="$cmd" '$1 == c { $1 = ""; print }')
    subs=$(
        { [[ "$summary" == *"|"* ]] && sed 's/.*: //; s/([^)]*)//g' <<<"$summary" | tr '|' '\n' | awk '{ print $1 }'
          "$STPM" "$cmd" --help 2>/dev/null | grep -E '^  [a-z]+  ' | awk '{ print $1 }'
        } | sort -u)
    known=" "
    for sub in "" $subs; do
        if [ -n "$sub" ]; then
            help=$("$STPM" "$cmd" "$sub" --help 2>&1)
            contains "$sec" "stpm $cmd $sub" "the page has an entry for stpm $cmd $sub"
        else
            help=$("$STPM" "$cmd" --help 2>&1)
        fi
        opts=$(sed -n '/^options:/,/^$/p' <<<"$help" | grep -oE -- '--[a-z][a-z-]*' | sort -u)
        for o in $opts; do
            known="$known$o "
            if grep -qE -- "$o([^a-z-]|$)" <<<"$sec"; then
                pass "stpm $cmd ${sub:+$sub }$o is in the page"
            else
                fail "stpm $cmd ${sub:+$sub }$o is in the page"
            fi
        done
    done
    for o in $(grep -oE -- '--[a-z][a-z-]*' <<<"$sec" | sort -u); do
        case "$known$global" in
        *" $o "*) ;;
        *) fail "the page's $cmd section names $o, which stpm $cmd does not have" ;;
        esac
    done
done
}

check_page "$STPM_SOURCE_ROOT/docs/stpm.1" "stpm - science-and-technology project lifecycle manager" \
    COMMANDS ENVIRONMENT FILES "EXIT STATUS" EXAMPLES "SEE ALSO" \
    NAME SYNOPSIS DESCRIPTION "GLOBAL OPTIONS" COMMANDS ENVIRONMENT FILES "EXIT STATUS" EXAMPLES "SEE ALSO"
check_page "$STPM_SOURCE_ROOT/docs/zh_CN/stpm.1" "stpm - 科技项目全周期管理" \
    命令 环境变量 文件 退出状态 示例 参见 \
    名称 概要 描述 语言 全局选项 命令 环境变量 文件 退出状态 示例 参见
# The Chinese page says what the program says: written again from the help, it is the same.
if command -v localedef >/dev/null || locale -a 2>/dev/null | grep -qix 'zh_CN\.utf-\?8'; then
    run python3 "$STPM_SOURCE_ROOT/scripts/man_zh.py" "$STPM"
    if [ "$RC" -eq 0 ] && [ "$OUT" = "$(cat "$STPM_SOURCE_ROOT/docs/zh_CN/stpm.1")" ]; then
        pass "docs/zh_CN/stpm.1 is what scripts/man_zh.py writes from the Chinese help"
    else
        fail "docs/zh_CN/stpm.1 is what scripts/man_zh.py writes from the Chinese help" \
            "run: scripts/man_zh.py build/cli/stpm > docs/zh_CN/stpm.1" "$ERR"
    fi
fi

done_testing
