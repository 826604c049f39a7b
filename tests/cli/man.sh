#!/usr/bin/env bash
# The manual page docs/stpm.1 agrees with the program: every command of `stpm --help` has
# its section, every subcommand its entry, every option of every subcommand's --help (the
# option tables of cli/cmd_*.c) appears in its command's section, and the section names no
# option the command does not have. And it renders without a warning, as man(1) renders
# it (groff with preconv for the UTF-8 text).
. "$(dirname "$0")/lib.sh"
MAN="$STPM_SOURCE_ROOT/docs/stpm.1"

if ! command -v groff >/dev/null; then
    echo "1..0 # SKIP groff is not installed (scripts/setup installs groff-base)"
    exit 0
fi

# Warnings: -ww enables them all; -k runs preconv, as man does for a UTF-8 page.
run groff -k -man -Tutf8 -ww -z "$MAN"
expect_rc 0 "groff renders the page"
is "$ERR" "" "groff gives no warning"
if command -v man >/dev/null; then
    run env MANWIDTH=80 man --warnings=w -l "$MAN"
    expect_rc 0 "man -l renders the page"
    is "$ERR" "" "man -l gives no warning"
    contains "$OUT" "stpm - science-and-technology project lifecycle manager" "the NAME line"
else
    skip "man -l renders the page" "man is not installed"
fi
if command -v mandoc >/dev/null; then
    run mandoc -Tlint -Wwarning "$MAN"
    is "$OUT$ERR" "" "mandoc -Tlint finds nothing"
fi

# The rendered text, one line per paragraph as far as possible, no bold or underline.
TEXT=$(groff -k -man -Tutf8 -rLL=400n -P-cbou "$MAN" 2>/dev/null)
for sec in NAME SYNOPSIS DESCRIPTION "GLOBAL OPTIONS" COMMANDS ENVIRONMENT FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
    if grep -qx "$sec" <<<"$TEXT"; then pass "section $sec"; else fail "section $sec"; fi
done
for v in STPM_DB STPM_HOME STPM_TODAY PGHOST XDG_DATA_HOME STPM_PG_BINDIR NO_COLOR; do
    contains "$(sed -n '/^ENVIRONMENT$/,/^FILES$/p' <<<"$TEXT")" "$v" "ENVIRONMENT names $v"
done
for code in 0 1 2 3 4 5 6 7 8; do
    if sed -n '/^EXIT STATUS$/,/^EXAMPLES$/p' <<<"$TEXT" | grep -qE "^ +$code +[A-Z]"; then
        pass "EXIT STATUS explains $code"
    else
        fail "EXIT STATUS explains $code"
    fi
done
for doc in "$STPM_SOURCE_ROOT"/docs/*.md; do
    contains "$(sed -n '/^SEE ALSO$/,$p' <<<"$TEXT")" "docs/$(basename "$doc")" "SEE ALSO names docs/$(basename "$doc")"
done

# section CMD: the text of the command's section ("   CMD — ..." to the next one).
section() {
    awk -v c="$1" '
        /^   [a-z]+ — / { on = ($1 == c) }
        /^[A-Z]/ && !/^COMMANDS/ { on = 0 }
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

done_testing
