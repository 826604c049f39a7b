#!/usr/bin/env bash
# The build as the foundation promises it: every C file compiled as C11 with -Wall -Wextra
# -Werror, and libstpm exporting its public API (stpm_*) and nothing else. Prints TAP.
set -u
build=${STPM_BUILD_ROOT:?STPM_BUILD_ROOT is not set}
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do printf '# %s\n' "$l"; done; }

cc_json="$build/compile_commands.json"
if [ ! -f "$cc_json" ]; then
    notok "compile_commands.json exists" "$cc_json is missing"
else
    ok "compile_commands.json exists"
    for flag in -std=c11 -Wall -Wextra -Werror; do
        missing=$(python3 - "$cc_json" "$flag" <<'PY'
import json, sys
cmds = json.load(open(sys.argv[1]))
flag = sys.argv[2]
for c in cmds:
    if c['file'].endswith('.c') and flag not in c['command'].split():
        print(c['file'])
PY
)
        if [ -z "$missing" ]; then ok "every C file is compiled with $flag"; else notok "every C file is compiled with $flag" $missing; fi
    done
fi

lib=$(ls "$build"/core/libstpm.so.* 2>/dev/null | head -n 1)
if [ -z "$lib" ]; then
    notok "libstpm.so is built" "no $build/core/libstpm.so.*"
else
    ok "libstpm.so is built"
    exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}')
    others=$(printf '%s\n' "$exported" | grep -v '^stpm_' | grep -vE '^(_init|_fini|_edata|_end|__bss_start)$' || true)
    if [ -z "$others" ]; then ok "libstpm exports only stpm_* symbols"; else notok "libstpm exports only stpm_* symbols" $others; fi
    for sym in stpm_db_open stpm_error_clear stpm_workflow_load_file stpm_project_advance stpm_survey_import; do
        if printf '%s\n' "$exported" | grep -qx "$sym"; then ok "libstpm exports $sym"; else notok "libstpm exports $sym"; fi
    done
    internal=$(printf '%s\n' "$exported" | grep -E '^stpm_(px_|pg_error|strbuf_|read_file)' || true)
    if [ -z "$internal" ]; then ok "internal helpers stay hidden"; else notok "internal helpers stay hidden" $internal; fi
fi

pc="$build/meson-private/stpm.pc"
if [ -f "$pc" ] && grep -q '^Name: stpm' "$pc"; then ok "a pkg-config file is generated"; else notok "a pkg-config file is generated" "$pc"; fi

echo "1..$n"
[ "$failed" -eq 0 ]
