#!/usr/bin/env bash
# tests/cli/lib.sh itself: a failing check must keep the TAP stream valid, i.e. every
# diagnostic line (also the later lines of a multi-line stdout or stderr) starts with '# '.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

# A child that sources lib.sh and fails on purpose with multi-line diagnostics.
child=$(bash -c '
    . "$1/lib.sh"
    RC=1 OUT=$'"'"'line one\nline two'"'"' ERR=$'"'"'err one\n\nerr three'"'"'
    expect_rc 0 "exit status"
    is $'"'"'a\nb'"'"' $'"'"'a\nc'"'"' "multi-line values"
    contains $'"'"'x\ny'"'"' z "multi-line haystack"
    pass "a passing one"
    done_testing
' child "$here") && crc=0 || crc=$?

is "$crc" 1 "the child reports failure through its exit status"
bad=$(printf '%s\n' "$child" | grep -vE '^(ok [0-9]+ - |not ok [0-9]+ - |# |#$|1\.\.[0-9]+$)' || true)
is "$bad" "" "every line of the child's output is TAP"
contains "$child" "# stdout: line one" "the first stdout line is a comment"
contains "$child" "# line two" "the second stdout line is a comment too"
contains "$child" "# err three" "a line after an empty one is a comment too"
contains "$child" "# want: a" "is: the wanted value is shown"
contains "$child" "# c" "is: its second line is a comment"
contains "$child" "# y" "contains: the haystack's second line is a comment"
is "$(printf '%s\n' "$child" | grep -c '^not ok')" 3 "three checks failed"
is "$(printf '%s\n' "$child" | tail -n 1)" "1..4" "the plan counts all four"
done_testing
