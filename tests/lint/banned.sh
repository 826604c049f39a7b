#!/usr/bin/env bash
# No banned functions in the tree (curl's habit): sprintf, vsprintf, strcpy, strcat,
# strtok, gets, and no printing or exiting inside core/ (the library never prints).
# A line may carry a comment `lint-ok: WHY` where the rule does not apply (a forked
# child between fork and exec, say).
# Prints TAP.
set -u
root=${STPM_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
n=0
failed=0
check() { # NAME PATTERN DIRS...
    local name=$1 pattern=$2
    shift 2
    n=$((n + 1))
    local hits
    hits=$(cd "$root" && grep -rnE --include='*.c' --include='*.h' "$pattern" "$@" 2>/dev/null |
        grep -vE '^\S+:[0-9]+:\s*(/\*|\*|//)' | grep -v 'lint-ok:' || true)
    if [ -z "$hits" ]; then
        echo "ok $n - $name"
    else
        failed=$((failed + 1))
        echo "not ok $n - $name"
        printf '%s\n' "$hits" | sed 's/^/# /'
    fi
}
check "no sprintf/vsprintf" '(^|[^a-z_n])v?sprintf\s*\(' core cli tests
check "no strcpy/strcat" '(^|[^a-z_])str(cpy|cat)\s*\(' core cli tests
check "no strtok" '(^|[^a-z_])strtok\s*\(' core cli tests
check "no gets" '(^|[^a-z_f])gets\s*\(' core cli tests
check "core/ never prints" '(^|[^a-z_])(printf|puts|perror|putchar)\s*\(|f(printf|puts)\s*\((stdout|stderr)|,\s*(stdout|stderr)\s*\)' core
check "core/ never exits" '(^|[^a-z_])(exit|_exit|abort)\s*\(' core
check "cli/ holds no SQL" '"\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|BEGIN|COMMIT)\s' cli
echo "1..$n"
[ "$failed" -eq 0 ]
