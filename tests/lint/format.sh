#!/usr/bin/env bash
# Every C file is formatted with the checked-in .clang-format. Prints TAP (one point).
set -u
root=${STPM_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 1
if ! command -v clang-format >/dev/null; then
    echo "1..0 # SKIP clang-format is not installed"
    exit 0
fi
bad=$(git ls-files '*.c' '*.h' 2>/dev/null | while read -r f; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"
done)
if [ -z "$bad" ]; then
    echo "ok 1 - clang-format clean"
else
    echo "not ok 1 - clang-format clean"
    printf '# needs clang-format -i: %s\n' $bad
fi
echo "1..1"
[ -z "$bad" ]
